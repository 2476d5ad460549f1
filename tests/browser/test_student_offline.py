"""School Wi-Fi drops mid-questionnaire: answers survive a reload, the page says it is offline, and the
submission goes through exactly once when the connection returns."""
from sqlalchemy import func, select

from app.extensions import db
from app.screening.models import Response
from tests.browser.conftest import ARTIFACTS, screenshot
from tests.browser.test_student_journey import _answer, _join
from tests.conftest import login_as
from tests.helpers import launch_campaign

PHQ9 = [0, 1, 0, 0, 1, 0, 0, 0, 0]


def _responses(app):
    with app.app_context():
        return db.session.scalar(select(func.count(Response.id)))


def _checked(page):
    return page.eval_on_selector_all(
        "#q-items > li", "items => items.map(li => { const c = li.querySelector('input:checked'); return c ? +c.value : null; })")


def test_answers_survive_reload_and_a_dropped_connection(app, world, client_factory, live_server, phone_page):
    teacher = login_as(client_factory, "teacher")
    _, code = launch_campaign(teacher, world.class_id)
    page = phone_page
    _join(page, live_server, code, world.students[2])

    # autosave: half the answers, then a reload restores them on the same questionnaire
    _answer(page, PHQ9[:5])
    page.reload()
    page.wait_for_selector("#questionnaire:not([hidden])")
    assert "PHQ-9" in page.inner_text("#q-title")
    assert _checked(page) == PHQ9[:5] + [None] * 4

    # the connection drops: the page says so, keeps the answers and stores nothing yet
    page.context.set_offline(True)
    _answer(page, [None] * 5 + PHQ9[5:])
    page.click("#q-submit")
    page.wait_for_selector("#offline:not([hidden])")
    assert "No connection" in page.inner_text("#offline") or "连接" in page.inner_text("#offline")
    screenshot(page, "student-offline-phone")
    page.screenshot(path=str(ARTIFACTS / "student-offline-phone-viewport.png"))  # what the phone shows
    assert _responses(app) == 0
    assert _checked(page) == PHQ9

    # back online: the pending submission is sent by itself, once, and the next questionnaire opens
    page.context.set_offline(False)
    page.wait_for_selector("#q-title:has-text('GAD-7')", timeout=15000)
    assert page.is_hidden("#offline")
    screenshot(page, "student-back-online-phone")
    assert _responses(app) == 1
    with app.app_context():
        assert db.session.scalar(select(Response)).answers == PHQ9

    # a reload after the acknowledgement does not send it again
    page.reload()
    page.wait_for_selector("#q-title:has-text('GAD-7')")
    page.wait_for_timeout(500)
    assert _responses(app) == 1


def test_a_gateway_that_says_too_many_or_too_slow_loses_no_answers(app, world, client_factory, live_server,
                                                                   phone_page):
    """A school's proxy may answer 429 (too many) or 408 (too slow) for the server: the page dropped the answers
    as if they were refused. Now it keeps them and sends again with the same key, and the response is stored once."""
    _, code = launch_campaign(login_as(client_factory, "teacher"), world.class_id)
    page, seen = phone_page, []

    def gateway(route):
        seen.append(route.request.post_data_json["idempotency_key"])
        if len(seen) == 1:
            route.fulfill(status=429, headers={"Retry-After": "1", "Content-Type": "text/html"}, body="<h1>429</h1>")
        elif len(seen) == 2:
            route.fulfill(status=408, headers={"Content-Type": "text/html"}, body="<h1>408 Request Time-out</h1>")
        else:
            route.continue_()

    page.route("**/api/v1/responses", gateway)
    _join(page, live_server, code, world.students[4])
    _answer(page, PHQ9)
    page.click("#q-submit")
    page.wait_for_selector("#q-title:has-text('GAD-7')", timeout=20000)
    assert len(seen) == 3 and len(set(seen)) == 1  # one key, sent until acknowledged
    assert _responses(app) == 1
    with app.app_context():
        assert db.session.scalar(select(Response)).answers == PHQ9
