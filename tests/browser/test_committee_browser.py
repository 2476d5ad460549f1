"""班级心理委员 in a real browser: the psychology teacher names a member; the member, on a phone (390×844), signs in
with the screening credentials, reports a concern about a classmate and sees only "sent"; the teacher's week shows
the class as reported and the risk list the concern."""
from sqlalchemy import select

from app.extensions import db
from app.risk.models import Alert
from tests.browser.conftest import login, screenshot

PHONE_390 = {"width": 390, "height": 844}


def test_committee_member_reports_on_a_phone_and_the_teacher_sees_the_week(app, world, live_server, chromium,
                                                                           desktop_page):
    page = desktop_page
    login(page, live_server, "teacher")
    page.goto(f"{live_server}/committee")
    page.fill("#student_number", world.students[0]["number"])
    page.click("form[action$='/committee/members'] button[type=submit]")
    page.wait_for_selector("[data-testid=committee-week]")
    assert "Student 0" in page.inner_text("[data-testid=committee-week]")
    assert "尚未报告" in page.inner_text("[data-testid=week-status]")

    context = chromium.new_context(viewport=PHONE_390, device_scale_factor=2, is_mobile=True, has_touch=True,
                                   locale="zh-CN")
    phone = context.new_page()
    try:
        phone.goto(f"{live_server}/committee/sign-in")
        screenshot(phone, "committee-phone-sign-in")
        phone.fill("#student_number", world.students[0]["number"])
        phone.fill("#birth_date", world.students[0]["birth_date"])
        phone.click("[data-testid=committee-sign-in] button[type=submit]")
        phone.wait_for_selector("[data-testid=committee-concern]")
        options = phone.locator("#classmate option").all_inner_texts()
        assert options[1:] == [f"Student {i}" for i in range(1, 6)]  # names only; not the member, no other school
        assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE_390["width"]
        phone.select_option("#classmate", label="Student 3")
        phone.fill("#noticed", "这周两次在课上哭，说“没人会在乎我”。")
        phone.check("input[name=urgency][value=soon]")
        screenshot(phone, "committee-phone-report")
        phone.click("[data-testid=committee-concern] button[type=submit]")
        phone.wait_for_selector("[data-testid=committee-sent]")
        sent = phone.inner_text("main")
        assert "已发送" in sent and "Student 3" not in sent and "没人会在乎我" not in sent
        screenshot(phone, "committee-phone-sent")
        phone.click("[data-testid=committee-sent] button[type=submit]")  # sign out
        phone.goto(f"{live_server}/committee/report")
        assert phone.url.endswith("/committee/sign-in")
    finally:
        context.close()

    with app.app_context():
        alert = db.session.scalar(select(Alert).where(Alert.student_id == world.student_ids[3]))
        assert alert.reason == "committee_report" and alert.level == "high"
        db.session.remove()
    page.goto(f"{live_server}/committee")
    assert "已发送 1 条关注" in page.inner_text("[data-testid=week-status]")
    assert "有心理委员的 1 个班级中，本周已有 1 个班级报告" in page.inner_text("[data-testid=committee-week]")
    screenshot(page, "committee-teacher-week")
    page.goto(f"{live_server}/alerts")
    assert "关注：班级心理委员报告" in page.inner_text("main")
    page.goto(f"{live_server}/reports")
    screenshot(page, "committee-teacher-term-reports")
