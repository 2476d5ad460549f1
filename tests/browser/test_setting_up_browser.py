"""Done means (issue 16): from an EMPTY database (no demo) to a centre's own school, hospital, agreement, class and
staff, and a first screening, entirely through the interface: `flask setup` makes the admin, who enrols a second
factor and sets up the organisations and a psychology teacher; the teacher signs in with the one-time password,
must change it, imports a roster (the district admin admits its new students), records a guardian's consent and starts a screening; a student joins on a phone
and submits. Every new page is then looked at on a phone (390×844) and a desktop."""
import re
from datetime import timedelta

import pyotp
from sqlalchemy import func, select

from app.accounts.models import User
from app.core import clock
from app.extensions import db
from app.orgs.models import School
from app.orgs.school_year import academic_year
from app.screening.models import Response
from tests.browser.conftest import screenshot
from tests.conftest import totp_code

ADMIN_PASSWORD = "district-centre-keys-2026"
TEACHER_PASSWORD = "li-jing-chose-this-phrase-8"
PHONE = {"width": 390, "height": 844}
SCHOOL, HOSPITAL, CLASS = "星城第五中学", "星城市心理卫生中心", "初一（1）班"


def _submit(page, selector="form button[type=submit].primary"):
    page.click(selector)
    page.wait_for_load_state()


def _fits(page, width):
    assert page.evaluate("document.documentElement.scrollWidth") <= width, page.url


def _admin_sets_up(page, base, app):
    page.goto(base + "/login")
    page.fill("#username", "admin")
    page.fill("#password", ADMIN_PASSWORD)
    _submit(page)
    page.wait_for_selector("[data-testid=totp-secret]")  # the first sign-in: the second factor comes first
    secret = page.inner_text("[data-testid=totp-secret]").replace(" ", "")
    page.fill("#code", pyotp.TOTP(secret).now())
    _submit(page)
    page.wait_for_url(base + "/admin")
    assert page.is_visible("[data-testid=getting-started]")
    screenshot(page, "setup-01-admin-empty-desktop")

    page.click("nav.mainnav >> text=学校与医院")
    page.fill("#name", SCHOOL)
    page.fill("#code", "4301020005")
    page.select_option("#level", "middle")
    page.fill("#district", "星城区")
    _submit(page)
    assert "已创建学校" in page.inner_text(".flash")
    screenshot(page, "setup-02-school-desktop")

    page.click("nav.tabs >> text=医院")
    page.fill("#name", HOSPITAL)
    _submit(page)
    screenshot(page, "setup-03-hospitals-desktop")

    page.click("nav.tabs >> text=合作协议")
    page.select_option("#school_id", label=SCHOOL)
    page.select_option("#hospital_id", label=HOSPITAL)
    today = clock.today()
    page.fill("#signed_on", today.isoformat())
    page.fill("#expires_on", (today + timedelta(days=2 * 365)).isoformat())
    _submit(page)
    assert page.locator(f"tr[data-agreement='{SCHOOL}|{HOSPITAL}'][data-state=in_force]").count() == 1
    screenshot(page, "setup-04-agreements-desktop")

    page.click("nav.tabs >> text=学校")
    page.click(f"tr[data-school='{SCHOOL}'] a")
    page.click("main a:text-is('班级')")
    page.fill("#grade", "7")
    page.fill("#name", CLASS)
    _submit(page)
    assert page.locator(f"tr[data-class='{CLASS}']").count() == 1
    screenshot(page, "setup-05-classes-desktop")

    page.click("nav.mainnav >> text=教职工账号")
    page.click("[data-testid=new-account]")
    page.fill("#username", "li.jing")
    page.fill("#display_name", "李静（心理教师）")
    page.select_option("#role", "teacher")
    page.select_option("#school_id", label=SCHOOL)
    screenshot(page, "setup-06-new-account-desktop")
    _submit(page)
    one_time = page.inner_text("[data-testid=one-time-password]")
    screenshot(page, "setup-07-one-time-password-desktop")
    page.click("header form button.link")  # sign out
    page.wait_for_load_state()
    return secret, one_time


def _admin_admits_the_new_students(browser, base, app, admin_secret):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    admin = context.new_page()
    admin.goto(base + "/login")
    admin.fill("#username", "admin")
    admin.fill("#password", ADMIN_PASSWORD)
    _submit(admin)
    admin.fill("#code", totp_code(app, "admin", admin_secret))
    _submit(admin)
    admin.goto(base + "/admin/admissions")
    admin.click("[data-testid^=approve-import-]")
    admin.wait_for_selector("[data-testid=no-admissions]")
    context.close()


def _teacher_starts_a_screening(page, base, app, admin_secret, one_time, roster_file):
    page.goto(base + "/login")
    page.fill("#username", "li.jing")
    page.fill("#password", one_time)
    _submit(page)
    page.wait_for_url(base + "/account/password")  # must be changed at first use
    assert page.is_visible("[data-testid=must-change]")
    screenshot(page, "setup-08-must-change-desktop")
    page.fill("#current_password", one_time)
    page.fill("#new_password", TEACHER_PASSWORD)
    page.fill("#confirm", TEACHER_PASSWORD)
    _submit(page)
    page.wait_for_url(base + "/teacher")

    page.click("nav.mainnav >> text=花名册")
    page.set_input_files("#file", str(roster_file))
    _submit(page)
    # New 学籍号 are admitted by the district admin (a school's import never creates or moves a student itself).
    assert page.inner_text("[data-testid=count-requests]") == "2"
    screenshot(page, "setup-09-roster-preview-desktop")
    page.click("[data-testid=apply]")
    page.wait_for_load_state()
    assert page.is_visible("[data-testid=roster-applied]")
    _admin_admits_the_new_students(page.context.browser, base, app, admin_secret)

    page.click("nav.mainnav >> text=班级")
    page.click(f"tr[data-class='{CLASS}'] a")
    page.click("text=王小明")
    page.click("text=监护人知情同意")
    page.select_option("#kind", "screening")
    page.select_option("#granted", "yes")
    page.fill("#note", "入学知情同意书")
    page.check("#confirm")
    _submit(page)
    assert "已登记" in page.inner_text(".flash") or "同意" in page.inner_text("[data-testid=consent-state]")
    page.click("nav.mainnav >> text=班主任")  # the class's homeroom teacher, made by the school's teacher
    page.click("[data-testid=new-account]")
    page.fill("#username", "zhao.qiang")
    page.fill("#display_name", "赵强（班主任）")
    page.select_option("#class_group_id", label=f"{academic_year(clock.today())} · {CLASS}")
    _submit(page)
    assert page.is_visible("[data-testid=one-time-password]")

    page.click("nav.mainnav >> text=班级")
    page.click(f"tr[data-class='{CLASS}'] a")
    page.click("text=为本班开始心理筛查")
    page.wait_for_load_state()
    _submit(page)
    code = page.inner_text("[data-testid=session-code]")
    screenshot(page, "setup-10-campaign-desktop")
    return code


def _student_answers(page, base, code):
    page.goto(base + "/s")
    page.fill("#session_code", code)
    page.fill("#student_number", "G430105070001")
    page.fill("#birth_date", "2013-05-06")
    page.click("#join-form button[type=submit]")
    page.wait_for_selector("#questionnaire:not([hidden])")
    for _ in range(2):  # PHQ-9, then GAD-7
        items = page.locator("#q-items > li")
        for index in range(items.count()):
            items.nth(index).locator("input[value='0']").check()
        page.click("#q-submit")
        page.wait_for_timeout(300)
    page.wait_for_selector("#done:not([hidden])")
    screenshot(page, "setup-11-student-done-phone")


def _look_at_every_new_page(app, chromium, base, admin_secret, size, name):
    """Every page of setting up, as the admin and as the psychology teacher, on one screen size."""
    with app.app_context():
        school_id = db.session.scalar(select(School.id).where(School.name == SCHOOL))
        teacher_id = db.session.scalar(select(User.id).where(User.username == "li.jing"))
        homeroom_id = db.session.scalar(select(User.id).where(User.username == "zhao.qiang"))
    for username, password, pages in (
            ("admin", ADMIN_PASSWORD, ["/admin", "/admin/schools", f"/admin/schools/{school_id}", "/admin/hospitals",
                                       "/admin/agreements", f"/schools/{school_id}/classes", "/admin/accounts",
                                       "/admin/accounts/new", f"/admin/accounts/{teacher_id}", "/admin/accounts/import"]),
            ("li.jing", TEACHER_PASSWORD, ["/teacher", "/admin/accounts", "/admin/accounts/new", "/admin/accounts/import",
                                           f"/admin/accounts/{homeroom_id}", f"/schools/{school_id}/classes",
                                           "/password/forgot"])):
        context = chromium.new_context(viewport=size, locale="zh-CN", **(
            {"device_scale_factor": 2, "is_mobile": True, "has_touch": True} if size["width"] < 600 else {}))
        page = context.new_page()
        page.goto(base + "/login")
        page.fill("#username", username)
        page.fill("#password", password)
        _submit(page)
        if page.locator("#code").count():
            page.fill("#code", totp_code(app, username, admin_secret))
            _submit(page)
        for path in pages:
            page.goto(base + path)
            assert page.locator("h1").count() >= 1, path
            slug = re.sub(r"\W+", "-", path.strip("/")) or "home"
            screenshot(page, f"setup-{name}-{username}-{slug}")
            if size["width"] < 600:
                _fits(page, size["width"])
        if username == "admin":
            page.goto(base + "/admin/hospitals")
            page.click(f"tr[data-hospital='{HOSPITAL}'] a")
            screenshot(page, f"setup-{name}-admin-hospital")
            if size["width"] < 600:
                _fits(page, size["width"])
        context.close()


def test_a_centre_goes_from_an_empty_database_to_its_first_screening(app, live_server, chromium, desktop_page, tmp_path):
    with app.app_context():
        assert db.session.scalar(select(func.count(School.id))) == 0  # empty: no demo, no fixtures
    result = app.test_cli_runner().invoke(args=["setup", "--username", "admin", "--name", "区心理中心管理员",
                                                "--email", "admin@centre.test"],
                                          input=f"{ADMIN_PASSWORD}\n{ADMIN_PASSWORD}\n")
    assert result.exit_code == 0, result.output

    secret, one_time = _admin_sets_up(desktop_page, live_server, app)
    roster = tmp_path / "花名册.csv"
    roster.write_text("学校,班级,年级,学籍号,姓名,性别,出生日期,监护人,监护人电话\n"
                      f"{SCHOOL},{CLASS},7,G430105070001,王小明,男,2013-05-06,王建国,13900000001\n"
                      f"{SCHOOL},{CLASS},7,G430105070002,李小红,女,2013-08-09,李华,13900000002\n", encoding="utf-8")
    code = _teacher_starts_a_screening(desktop_page, live_server, app, secret, one_time, roster)

    phone = chromium.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-CN")
    _student_answers(phone.new_page(), live_server, code)
    phone.close()
    with app.app_context():
        assert {r.scale_code for r in db.session.scalars(select(Response))} == {"PHQ-9", "GAD-7"}

    _look_at_every_new_page(app, chromium, live_server, secret, PHONE, "phone")
    _look_at_every_new_page(app, chromium, live_server, secret, {"width": 1280, "height": 900}, "desktop")
