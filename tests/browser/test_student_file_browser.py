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


def test_teacher_imports_next_years_roster_on_a_phone(app, world, live_server, phone_page, tmp_path):
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
    screenshot(page, "roster-preview-next-year-phone")
    page.click("[data-testid=apply]")
    page.wait_for_selector("[data-testid=roster-applied]")
    with app.app_context():
        student = db.session.scalar(select(Student).where(Student.student_number == "N20270001"))
        assert student.current_enrollment().class_group.academic_year == next_year


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
