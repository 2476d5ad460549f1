"""The clinical loop in a real browser: the doctor assesses (ICD code by search), decides and downloads the
certificate; the teacher records a follow-up contact on a phone."""
import shutil
import subprocess
from datetime import timedelta

from sqlalchemy import select

from app.care.models import Assessment, FollowUp, ReturnDecision
from app.core import clock
from app.extensions import db
from tests.browser.conftest import login, screenshot
from tests.conftest import login_as
from tests.integration.test_care_loop import last_referral_id, refer




def test_doctor_assesses_decides_and_teacher_follows_up_on_a_phone(app, world, client_factory, live_server,
                                                                   desktop_page, phone_page, tmp_path):
    teacher = login_as(client_factory, "teacher")
    assert refer(teacher, world.student_ids[0], world.hospital_id, urgency="critical").status_code == 302
    rid = last_referral_id(app)
    assert login_as(client_factory, "doctor").post(f"/referrals/{rid}/accept").status_code == 302

    page = desktop_page
    login(page, live_server, "doctor")
    page.goto(f"{live_server}/referrals/{rid}")
    page.select_option("#a-setting", "on_site")
    page.select_option("#a-risk_level", "high")
    page.select_option("#a-plan", "school_support")
    page.fill("#a-findings", "情绪低落两周，无自伤计划。")
    page.fill("#icd-filter", "焦虑")  # searching by words narrows the list and picks the first match
    assert page.input_value("#a-icd10_code") in ("F40", "F41")
    assert page.locator("#a-icd10_code option").count() < 6
    page.fill("#icd-filter", "F32")
    assert page.input_value("#a-icd10_code") == "F32"
    screenshot(page, "doctor-assessment-icd-search")
    page.click("#assessment-form button[type=submit]")
    page.wait_for_selector("[data-testid=assessments]")
    with app.app_context():
        assessment = db.session.scalar(select(Assessment))
        assert assessment.icd10_code == "F32" and assessment.setting.value == "on_site"

    review = str(clock.today() + timedelta(days=28))
    page.select_option("#d-outcome", "cleared_with_conditions")
    page.fill("#d-conditions", "减少课时（上午上课）\n每周与心理教师面谈一次")
    page.fill("#d-review_on", review)
    page.click("#decision-form button[type=submit]")
    page.wait_for_selector("[data-testid=decisions]")
    screenshot(page, "doctor-decision-issued")
    with page.expect_download() as download:
        page.click("[data-testid=certificate-link]")
    pdf = tmp_path / "certificate.pdf"
    download.value.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF")
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
        assert "复学评估意见书" in text and "每周与心理教师面谈一次" in text and "F32" not in text

    with app.app_context():
        tasks = db.session.scalars(select(FollowUp).order_by(FollowUp.id)).all()
        assert len(tasks) == 2
        task_id = tasks[1].id

    phone = phone_page
    login(phone, live_server, "teacher")
    phone.wait_for_selector("[data-testid=worklist]")
    screenshot(phone, "teacher-follow-up-worklist-phone")
    phone.click(f"[data-testid=worklist] a[href$='#follow-up-{task_id}']")
    phone.wait_for_selector(f"#follow-up-{task_id} textarea")
    phone.fill(f"#f{task_id}-note", "本周面谈：情绪平稳，按时上课。")
    phone.fill(f"#f{task_id}-next_due_on", str(clock.today() + timedelta(days=7)))
    screenshot(phone, "teacher-follow-up-form-phone")
    phone.click(f"#follow-up-{task_id} button[type=submit]")
    phone.wait_for_selector(".flash-success")
    screenshot(phone, "teacher-follow-up-recorded-phone")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the student page scrolls sideways on a phone ({width}px)"
    with app.app_context():
        done = db.session.get(FollowUp, task_id)
        assert done.done_at is not None and "情绪平稳" in done.note
        assert db.session.scalar(select(ReturnDecision.id)) is not None


def test_queue_decline_and_break_glass_on_a_phone(app, world, client_factory, live_server, phone_page):
    teacher = login_as(client_factory, "teacher")
    for index, urgency in ((1, "high"), (2, "critical")):
        assert refer(teacher, world.student_ids[index], world.hospital_id, urgency=urgency).status_code == 302
    rid = last_referral_id(app)
    page = phone_page
    login(page, live_server, "doctor")
    rows = page.locator("[data-testid=queue-row]")
    assert rows.count() == 2 and "Student 2" in rows.nth(0).inner_text()
    screenshot(page, "doctor-queue-phone")
    page.goto(f"{live_server}/referrals/{rid}")
    page.click("details.decline summary")
    page.fill("#x-reason", "本月青少年病房已满，建议转介至其他合作医院。")
    page.click("details.decline button[type=submit]")
    page.wait_for_selector(".flash-success")
    assert page.locator("[data-testid=queue-row]").count() == 1

    page.context.clear_cookies()
    login(page, live_server, "admin", app=app)
    page.goto(f"{live_server}/students/{world.student_ids[2]}/break-glass")
    page.fill("#reason", "学生失联，家长报警，需立即查看风险评估与处置计划。")
    screenshot(page, "admin-break-glass-phone")
    page.click("main form button[type=submit]")
    page.wait_for_selector(".flash-info")
    assert "/break-glass" not in page.url

    page.context.clear_cookies()
    login(page, live_server, "teacher")
    page.goto(f"{live_server}/students/{world.student_ids[2]}")
    assert "学生失联" in page.inner_text("[data-testid=break-glass]")
    assert "本月青少年病房已满" in page.inner_text("[data-testid=declined-referral]")
    screenshot(page, "teacher-sees-decline-and-break-glass-phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
