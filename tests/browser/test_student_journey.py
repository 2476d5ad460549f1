"""The student's part of the loop in a real browser on a phone-sized screen, including the crisis page."""
from sqlalchemy import select

from app.extensions import db
from app.risk.models import Alert
from app.screening.models import Response
from tests.browser.conftest import screenshot
from tests.conftest import login_as
from tests.helpers import launch_campaign


def _type_and_join(page, base, code, student):
    """What the student types and taps, once; what follows is the page's."""
    page.goto(base + "/s")
    page.fill("#session_code", code.lower())  # codes are forgiving about case
    page.fill("#student_number", student["number"])
    page.fill("#birth_date", student["birth_date"])
    page.click("#join-form button[type=submit]")


def _join(page, base, code, student):
    _type_and_join(page, base, code, student)
    page.wait_for_selector("#questionnaire:not([hidden])")


def _answer(page, values):
    items = page.locator("#q-items > li")
    for index, value in enumerate(values):
        if value is not None:
            items.nth(index).locator(f"input[value='{value}']").check()


def test_student_answers_on_a_phone_and_sees_crisis_resources(app, world, client_factory, live_server, phone_page):
    teacher = login_as(client_factory, "teacher")
    _, code = launch_campaign(teacher, world.class_id)
    page = phone_page
    student = world.students[0]
    _join(page, live_server, code, student)
    screenshot(page, "student-phq9-phone")
    assert "PHQ-9" in page.inner_text("#q-title")

    # an unanswered item is pointed out, not silently scored
    _answer(page, [1, 1, 1, 0, 0, 0, None, 0, 1])
    page.click("#q-submit")
    assert page.is_visible("#q-error")
    assert "7" in page.inner_text("#q-error")
    assert "missing" in page.locator("#q-items > li").nth(6).get_attribute("class")
    with app.app_context():
        assert db.session.scalar(select(Response.id)) is None
    screenshot(page, "student-missing-item-phone")

    _answer(page, [None] * 6 + [0])
    page.click("#q-submit")
    page.wait_for_selector("#crisis:not([hidden])")
    crisis = page.inner_text("#crisis")
    assert "12355" in crisis and "12356" in crisis
    screenshot(page, "student-crisis-phone")
    with app.app_context():
        alert = db.session.scalar(select(Alert))
        assert alert is not None and alert.level == "critical"

    page.click("#crisis-continue")
    page.wait_for_selector("#questionnaire:not([hidden])")
    assert "GAD-7" in page.inner_text("#q-title")
    _answer(page, [0, 0, 1, 0, 0, 0, 0])
    page.click("#q-submit")
    page.wait_for_selector("#done:not([hidden])")
    assert page.is_visible("#done-crisis")  # the reminder stays on the last page
    screenshot(page, "student-done-phone")
    with app.app_context():
        assert {r.scale_code for r in db.session.scalars(select(Response))} == {"PHQ-9", "GAD-7"}


def test_student_without_risk_sees_a_neutral_thank_you(app, world, client_factory, live_server, phone_page):
    teacher = login_as(client_factory, "teacher")
    _, code = launch_campaign(teacher, world.class_id)
    page = phone_page
    _join(page, live_server, code, world.students[1])
    _answer(page, [0, 1, 0, 0, 1, 0, 0, 0, 0])
    page.click("#q-submit")
    page.wait_for_selector("#q-title:has-text('GAD-7')")
    _answer(page, [0, 0, 0, 0, 0, 0, 0])
    page.click("#q-submit")
    page.wait_for_selector("#done:not([hidden])")
    assert not page.is_visible("#crisis") and not page.is_visible("#done-crisis")
    body = page.inner_text("body")
    assert "12355" not in body and "分" not in page.inner_text("#done")  # no score shown


def test_wrong_details_get_a_clear_message(world, client_factory, live_server, phone_page):
    teacher = login_as(client_factory, "teacher")
    _, code = launch_campaign(teacher, world.class_id)
    page = phone_page
    page.goto(live_server + "/s")
    page.fill("#session_code", code)
    page.fill("#student_number", world.students[0]["number"])
    page.fill("#birth_date", "2011-01-01")
    page.click("#join-form button[type=submit]")
    page.wait_for_selector("#join-error:not([hidden])")
    assert "出生日期" in page.inner_text("#join-error")
    screenshot(page, "student-wrong-details-phone")


def test_a_student_who_switches_to_english_gets_the_api_in_english(app, world, client_factory, live_server,
                                                                   phone_page):
    # The API keeps no cookie (app/core/sessions.py): the page asks for its own language.
    teacher = login_as(client_factory, "teacher")
    _, code = launch_campaign(teacher, world.class_id)
    page = phone_page  # a Chinese phone
    page.goto(live_server + "/s")
    page.click("a.lang[lang=en]")
    page.wait_for_selector("html[lang=en]")
    student = world.students[2]
    page.fill("#session_code", code)
    page.fill("#student_number", student["number"])
    page.fill("#birth_date", "2000-01-01")
    page.click("#join-form button[type=submit]")
    page.wait_for_selector("#join-error:not([hidden])")
    assert "do not match" in page.inner_text("#join-error")  # the API's message
    _join(page, live_server, code, student)
    assert "Little interest or pleasure in doing things" in page.inner_text("#q-items")  # the API's texts
    screenshot(page, "student-english-phone")
