"""An alert from first sight to closure in Chromium (issue 17, items 6-11), on a 390×844 phone and a desktop:
the page says why and whom to call, the crisis checklist and a guardian call, acknowledge keeps the way to referral,
the referral shows on its alert and the hospital's decision proposes closing, the school's referral list, student
search and the report link; the doctor's decision error shows on its field at the referral's own address."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.core import clock
from app.extensions import db
from app.risk.models import Alert
from tests.browser.conftest import login, screenshot
from tests.conftest import login_as
from tests.helpers import PHQ9_CRITICAL, answer_all, launch_campaign
from tests.integration.test_care_loop import assess, last_referral_id

PHONE_390 = {"width": 390, "height": 844}
ASQ_NEGATIVE = [0, 0, 0, 0, None]


@pytest.fixture
def phone390(chromium):
    context = chromium.new_context(viewport=PHONE_390, device_scale_factor=2, is_mobile=True, has_touch=True,
                                   locale="zh-CN")
    page = context.new_page()
    yield page
    context.close()


def _no_sideways_scroll(page, what):
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_390["width"], f"{what} scrolls sideways on a phone ({width}px)"


def test_a_critical_alert_from_first_sight_to_closure(app, world, client_factory, live_server, phone390, desktop_page):
    teacher = login_as(client_factory, "teacher")
    _, code = launch_campaign(teacher, world.class_id, scales=("PHQ-9", "ASQ"))
    answer_all(app.test_client(), code, world.students[0], {"PHQ-9": PHQ9_CRITICAL, "ASQ": ASQ_NEGATIVE})
    with app.app_context():
        alert_id = db.session.scalar(select(Alert.id))
    base = live_server

    # --- the teacher on her phone: why, whom to call, acknowledge, the checklist, a call, the referral -----------
    page = phone390
    login(page, base, "teacher")
    page.goto(f"{base}/alerts/{alert_id}")
    answers = page.locator("[data-testid=alert-answers]")
    assert answers.is_visible()
    first = answers.locator("ol.answers li").first
    assert first.locator(".badge.risk-critical").is_visible()  # the risk question comes first
    assert "好几天" in first.inner_text()                      # with the option the student chose
    assert page.locator("[data-testid=guardian-phone]").get_attribute("href") == "tel:13900000000"
    assert "Class 8-1" in page.locator("[data-testid=alert-whom]").inner_text()
    assert page.locator("[data-testid=crisis-checklist] li.is-pending").count() == 4
    screenshot(page, "alertflow-alert-phone")
    _no_sideways_scroll(page, "the alert page")

    page.click("[data-testid=acknowledge]")
    page.wait_for_load_state()
    assert page.url.endswith(f"/alerts/{alert_id}")  # the next step stays on the page
    assert page.locator("[data-testid=refer-from-alert]").is_visible()
    assert page.locator("[data-testid=resolve-form]").is_visible()

    page.click("[data-testid=step-not_alone]")
    page.wait_for_load_state()
    assert page.locator("[data-testid=crisis-checklist] li[data-step=not_alone].is-done").is_visible()

    form = page.locator("[data-testid=contact-form]")
    assert form.is_visible()  # open while the guardian is not yet informed
    assert form.locator("#g-person").input_value() == "Guardian"
    form.locator("#g-outcome").select_option("reached")
    form.locator("#g-note").fill("母亲下午来校接孩子")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("[data-testid=crisis-checklist] li[data-step=guardian_informed].is-done").is_visible()
    assert "母亲下午来校接孩子" in page.locator("[data-testid=guardian-contacts]").inner_text()

    page.click("[data-testid=refer-from-alert]")
    page.wait_for_load_state()
    assert page.locator("#alert_id").input_value() == str(alert_id)
    page.fill("#reason", "PHQ-9 第9题阳性，已告知监护人")
    page.click("form button[type=submit].primary")
    page.wait_for_load_state()
    assert page.url.endswith(f"/alerts/{alert_id}")
    assert page.locator("[data-testid=linked-referral]").is_visible()
    assert page.locator("[data-testid=crisis-checklist] li[data-step=referral].is-done").is_visible()
    screenshot(page, "alertflow-alert-referred-phone")
    _no_sideways_scroll(page, "the alert page after the referral")
    rid = last_referral_id(app)

    # --- the doctor on a desktop: a decision without its conditions shows the error on the field -------------------
    doctor = login_as(client_factory, "doctor")
    assert doctor.post(f"/referrals/{rid}/accept").status_code == 302
    assert assess(doctor, rid).status_code == 302
    dpage = desktop_page
    login(dpage, base, "doctor")
    dpage.goto(f"{base}/referrals/{rid}")
    review = (clock.today() + timedelta(days=14)).isoformat()
    assert dpage.locator("#d-review_on").input_value() == review  # prefilled from the assessment's next review
    assert f"/alerts/{alert_id}" in dpage.locator("[data-testid=referral-alert] a").get_attribute("href")
    dpage.select_option("#d-outcome", "cleared_with_conditions")
    dpage.click("#decision-form button[type=submit]")
    dpage.wait_for_load_state()
    field = dpage.locator("#decision-form .field.has-error")
    assert field.count() == 1 and field.locator("#d-conditions").count() == 1
    assert dpage.url.endswith(f"/referrals/{rid}")  # not the POST address
    assert dpage.locator("#d-outcome").input_value() == "cleared_with_conditions"
    screenshot(dpage, "alertflow-decision-error-desktop")
    dpage.fill("#d-conditions", "每周与心理老师面谈一次")
    dpage.click("#decision-form button[type=submit]")
    dpage.wait_for_load_state()
    assert dpage.locator("[data-testid=decisions]").is_visible()

    # --- the teacher again: the timeline shows the hospital's states and the decision proposes closing ------------
    page.goto(f"{base}/alerts/{alert_id}")
    assert page.locator("[data-testid=hospital-proposal]").is_visible()
    timeline = page.locator("[data-testid=alert-timeline]").inner_text()
    assert "医院已接收转介" in timeline and "学生已在医院完成评估" in timeline
    assert page.locator("#outcome").input_value() == "referred"
    screenshot(page, "alertflow-alert-proposal-phone")

    tpage = desktop_page
    tpage.context.clear_cookies()
    login(tpage, base, "teacher")
    tpage.goto(f"{base}/alerts/{alert_id}")
    screenshot(tpage, "alertflow-alert-desktop")
    tpage.goto(f"{base}/alerts")
    row = tpage.locator(f"li[data-alert='{alert_id}']")
    assert row.locator("[data-testid=checklist-progress]").inner_text().endswith("3/4")
    assert row.locator("[data-testid=alert-referral]").is_visible()
    screenshot(tpage, "alertflow-risk-list-desktop")

    # the school's referrals, with their states; the student search; the report PDF link
    for p, name in ((tpage, "desktop"), (page, "phone")):
        p.goto(f"{base}/referrals")
        assert p.locator("[data-testid=referral-list] li").count() == 0  # the decision closed it
        p.goto(f"{base}/referrals?state=closed")
        assert p.locator("[data-testid=referral-list] li").count() == 1
        screenshot(p, f"alertflow-referrals-{name}")
        p.goto(f"{base}/students/find")
        p.fill("[data-testid=student-search]", "S0000")
        p.press("[data-testid=student-search]", "Enter")
        p.wait_for_load_state()
        results = p.locator("[data-testid=search-results] li")
        assert results.count() == 1 and "Student 0" in results.inner_text()
        screenshot(p, f"alertflow-search-{name}")
        if name == "phone":
            _no_sideways_scroll(p, "the student search")
        results.locator("a").click()
        p.wait_for_load_state()
        assert p.locator("[data-testid=student-report-link]").is_visible()

    # closing: the checklist is not complete (no safety assessment), so the note says why
    page.goto(f"{base}/alerts/{alert_id}#close")
    page.click("[data-testid=resolve-form] button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("[data-testid=resolve-form] .field.has-error").count() == 1
    assert page.url.endswith(f"/alerts/{alert_id}")
    page.fill("[data-testid=resolve-form] #note", "医院评估后有条件复学")
    page.click("[data-testid=resolve-form] button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("[data-testid=alert-status]").inner_text() == "已解除"
