"""ASQ question 5 is asked only after a yes to questions 1-4, as the NIMH toolkit prescribes."""
from sqlalchemy import select

from app.extensions import db
from app.screening.models import Response
from tests.browser.conftest import screenshot
from tests.browser.test_student_journey import _answer, _join
from tests.conftest import login_as
from tests.helpers import launch_campaign


def test_q5_hidden_after_four_noes_and_required_after_a_yes(app, world, client_factory, live_server, phone_page):
    teacher = login_as(client_factory, "teacher")
    _, code = launch_campaign(teacher, world.class_id, scales=("ASQ",))
    page = phone_page

    _join(page, live_server, code, world.students[0])
    items = page.locator("#q-items > li")
    _answer(page, [0, 0, 0, 0])
    assert not items.nth(4).is_visible()
    page.click("#q-submit")
    page.wait_for_selector("#done:not([hidden])")
    assert not page.is_visible("#done-crisis")

    _join(page, live_server, code, world.students[1])
    _answer(page, [0, 1, 0, 0])
    assert items.nth(4).is_visible()
    page.click("#q-submit")
    assert page.is_visible("#q-error") and "5" in page.inner_text("#q-error")
    screenshot(page, "student-asq-q5-phone")
    _answer(page, [None, None, None, None, 0])
    page.click("#q-submit")
    page.wait_for_selector("#crisis:not([hidden])")  # a non-acute positive still shows help at once

    with app.app_context():
        stored = {r.student_id: (r.answers, r.score.band) for r in db.session.scalars(select(Response))}
    assert stored[world.students[0]["id"]] == ([0, 0, 0, 0, None], "negative")
    assert stored[world.students[1]["id"]] == ([0, 1, 0, 0, 0], "non_acute_positive")
