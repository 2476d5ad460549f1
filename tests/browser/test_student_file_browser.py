"""Roster import preview → apply in a real browser, and a transferred student's hand-over summary on a phone."""
from sqlalchemy import func, select

from app.core import clock
from app.extensions import db
from app.students.models import Student
from app.orgs.school_year import import_years
from tests.browser.conftest import login, screenshot
from tests.conftest import login_as
from tests.helpers import GAD7_LOW, PHQ9_CRITICAL, answer_all, launch_campaign

ROSTER = ("学校,班级,年级,学籍号,姓名,性别,出生日期,监护人,监护人电话\n"
          "Middle School A,初二（5）班,8,N20260001,李小红,女,2012-04-05,李母,13900001111\n"
          "Middle School A,初二（5）班,8,N20260002,张小刚,男,2012-06-07,张父,13900002222\n"
          "High School B,高一（2）班,10,S0003,Student 3,F,2012-01-04,Guardian,13900000000\n")




def test_admin_previews_then_applies_a_roster(app, world, live_server, desktop_page, tmp_path):
    page = desktop_page
    login(page, live_server, "admin", app=app)
    page.click("a[href='/rosters']")
    screenshot(page, "roster-upload-desktop")
    path = tmp_path / "roster.csv"
    path.write_text(ROSTER, encoding="utf-8")
    page.set_input_files("input[type=file]", str(path))
    page.click("form[enctype] button[type=submit]")
    page.wait_for_selector("[data-testid=roster-counts]")
    assert page.inner_text("[data-testid=count-new]") == "2"
    assert page.inner_text("[data-testid=count-elsewhere]") == "1"
    with app.app_context():
        assert db.session.scalar(select(func.count(Student.id))) == 7  # the preview wrote nothing
    screenshot(page, "roster-preview-desktop")
    page.click("[data-testid=apply]")
    page.wait_for_selector("[data-testid=roster-applied]")
    assert "2" in page.inner_text(".flash")
    screenshot(page, "roster-applied-desktop")
    with app.app_context():
        assert db.session.scalar(select(func.count(Student.id))) == 9


def test_teacher_imports_next_years_roster_on_a_phone_and_the_admin_admits_it(app, world, live_server, phone_page,
                                                                             desktop_page, tmp_path):
    """A school's new numbers wait for the district admin (app/students/roster.py says why); the school follows the
    decision on its import's page."""
    this_year, next_year = import_years(clock.today())
    page = phone_page
    login(page, live_server, "teacher")
    page.goto(f"{live_server}/rosters")
    assert page.input_value("select[name=academic_year]") == this_year  # this year unless the school picks the next
    assert page.evaluate("document.documentElement.scrollWidth") <= 375 + 1
    screenshot(page, "roster-upload-phone")
    path = tmp_path / "roster.csv"
    path.write_text("学校,班级,年级,学籍号,姓名,性别,出生日期\n"
                    "Middle School A,初三（1）班,9,N20270001,李小红,女,2012-04-05\n", encoding="utf-8")
    page.select_option("select[name=academic_year]", next_year)
    page.set_input_files("input[type=file]", str(path))
    page.click("form[enctype] button[type=submit]")
    page.wait_for_selector("[data-testid=roster-counts]")
    assert page.inner_text("[data-testid=roster-year]") == f"学年：{next_year}"
    assert page.evaluate("document.documentElement.scrollWidth") <= 375 + 1
    assert page.inner_text("[data-testid=count-requests]") == "1"
    screenshot(page, "roster-preview-next-year-phone")
    page.click("[data-testid=apply]")
    page.wait_for_selector("[data-testid=roster-applied]")
    assert "等待区管理员审核" in page.inner_text("[data-testid=admission-N20270001]")
    screenshot(page, "roster-applied-waiting-phone")
    with app.app_context():
        assert db.session.scalar(select(Student).where(Student.student_number == "N20270001")) is None
    import_url = page.url

    admin = desktop_page
    login(admin, live_server, "admin", app=app)
    admin.goto(f"{live_server}/rosters")
    assert "各校花名册中有 1 行等待您审核" in admin.inner_text("[data-testid=admissions-waiting]")
    admin.click("[data-testid=admissions-waiting] a")
    admin.wait_for_selector("[data-testid^=admission-batch-]")
    assert "新学籍号" in admin.inner_text("[data-testid^=admission-batch-]")
    screenshot(admin, "admission-requests-desktop")
    admin.click("[data-testid^=approve-import-]")
    admin.wait_for_selector("[data-testid=no-admissions]")
    with app.app_context():
        student = db.session.scalar(select(Student).where(Student.student_number == "N20270001"))
        assert student.current_enrollment().class_group.academic_year == next_year
    page.goto(import_url)
    assert "已准予入学" in page.inner_text("[data-testid=admission-N20270001]")
    screenshot(page, "roster-applied-admitted-phone")


def test_receiving_school_sees_the_hand_over_summary_on_a_phone(app, world, client_factory, live_server, phone_page):
    teacher = login_as(client_factory, "teacher")
    _, code = launch_campaign(teacher, world.class_id)
    student = world.students[0]
    answer_all(app.test_client(), code, student, {"PHQ-9": PHQ9_CRITICAL, "GAD-7": GAD7_LOW})
    teacher.post(f"/students/{student['id']}/consent", {"kind": "handover_school", "granted": "yes", "confirm": "y"})
    admin = login_as(client_factory, "admin")
    assert admin.post(f"/admin/students/{student['id']}/transfer", {"class_group_id": world.other_class_id}).status_code == 302

    page = phone_page
    login(page, live_server, "other_teacher")
    page.goto(f"{live_server}/students/{student['id']}")
    summary = page.inner_text("[data-testid=handover-summary]")
    assert "Middle School A" in summary and "PHQ-9" in summary and "GAD-7" in summary
    assert page.evaluate("document.documentElement.scrollWidth") <= 375 + 1  # no sideways scrolling
    screenshot(page, "handover-summary-phone")


def test_teacher_records_a_consent_withdrawal_on_a_phone(app, world, live_server, phone_page):
    page = phone_page
    login(page, live_server, "teacher")
    student_id = world.students[1]["id"]
    page.goto(f"{live_server}/students/{student_id}")
    page.click(f"a[href='/students/{student_id}/consent']")
    page.select_option("select[name=kind]", "screening")
    page.select_option("select[name=granted]", "no")
    page.fill("input[name=note]", "电话确认")
    page.check("input[name=confirm]")
    page.click("main form button[type=submit]")
    page.wait_for_selector(".flash")
    state = page.inner_text("[data-testid=consent-state]")
    assert "心理筛查" in state and "已撤回" in state
    assert page.evaluate("document.documentElement.scrollWidth") <= 375 + 1
    screenshot(page, "consent-withdrawn-phone")


def test_admin_decides_a_transfer_request_one_by_one_on_a_phone(app, world, client_factory, live_server, phone_page):
    """The high school's roster names the middle school's Student 0: the admin sees where the student is enrolled
    and the contradicting row beside it, refuses one and admits the other; only then does the student move."""
    intruder = login_as(client_factory, "other_teacher")
    import io

    from app.orgs.school_year import academic_year

    s0, s2 = world.students[0], world.students[2]
    data = ("school,class,grade,student_number,name,sex,birth_date\n"
            f"High School B,Class 10-1,10,{s0['number']},Student 0,M,{s0['birth_date']}\n"
            f"High School B,Class 10-1,10,{s2['number']},Student 2,M,2012-12-12\n").encode()
    r = intruder.post("/rosters", {"file": (io.BytesIO(data), "transfer.csv"), "academic_year": academic_year(clock.today())},
                      content_type="multipart/form-data")
    import_id = int(r.headers["Location"].rstrip("/").split("/")[-1])
    assert intruder.post(f"/rosters/{import_id}/apply").status_code == 302

    page = phone_page
    login(page, live_server, "admin", app=app)
    page.goto(f"{live_server}/admin/admissions")
    batch = page.inner_text(f"[data-testid=admission-batch-{import_id}]")
    assert "在Middle School A就读" in batch and "出生日期与登记不符" in batch
    assert page.evaluate("document.documentElement.scrollWidth") <= 375 + 1
    screenshot(page, "admission-requests-phone")
    page.locator("tr", has_text=s2["number"]).locator("input[name=note]").fill("请核对学籍号")
    page.locator("tr", has_text=s2["number"]).locator("[data-testid^=refuse-]").click()
    page.wait_for_load_state()
    page.locator("tr", has_text=s0["number"]).locator("[data-testid^=approve-]").click()
    page.wait_for_selector("[data-testid=no-admissions]")
    assert intruder.get(f"/students/{s0['id']}").status_code == 200
    assert login_as(client_factory, "teacher").get(f"/students/{s0['id']}").status_code == 404


def test_a_declined_referral_page_keeps_no_identity_for_the_doctor(app, world, client_factory, live_server,
                                                                    desktop_page):
    teacher = login_as(client_factory, "teacher")
    student = world.students[4]
    r = teacher.post(f"/students/{student['id']}/refer", {"hospital_id": world.hospital_id, "urgency": "moderate",
                                                          "reason": "low mood", "alert_id": 0})
    assert r.status_code == 302
    with app.app_context():
        from app.care.models import Referral

        referral_id = db.session.scalar(select(Referral.id))
    doctor = login_as(client_factory, "doctor")
    assert doctor.post(f"/referrals/{referral_id}/decline", {"x-reason": "本院暂无床位"}).status_code == 302
    page = desktop_page
    login(page, live_server, "doctor")
    page.goto(f"{live_server}/referrals/{referral_id}")
    assert page.locator("[data-testid=referral-deidentified]").count() == 1
    assert "Student 4" not in page.content() and "本院暂无床位" in page.content()
    screenshot(page, "referral-declined-deidentified-desktop")
