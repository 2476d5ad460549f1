"""A whole school joins at once: when the server asks to wait (503, 429 with Retry-After) the student page waits
and tries again by itself, with a calm message, and the student is in without touching anything (issue 20 item 3)."""
import json

from tests.browser.conftest import screenshot
from tests.browser.test_student_journey import _type_and_join
from tests.conftest import login_as
from tests.helpers import launch_campaign


def test_the_page_retries_a_busy_join_by_itself(world, client_factory, live_server, phone_page):
    _, code = launch_campaign(login_as(client_factory, "teacher"), world.class_id)
    page, student, seen = phone_page, world.students[3], []

    def busy_twice(route):
        seen.append(json.loads(route.request.post_data))
        if len(seen) == 1:
            route.fulfill(status=503, headers={"Retry-After": "1", "Content-Type": "application/json"},
                          body='{"error": {"code": "try_again_join", "message": "busy"}}')
        elif len(seen) == 2:
            route.fulfill(status=429, headers={"Retry-After": "1", "Content-Type": "application/json"},
                          body='{"error": {"code": "too_many_attempts", "message": "wait"}}')
        else:
            route.continue_()  # the real server

    page.route("**/api/v1/student-sessions", busy_twice)
    _type_and_join(page, live_server, code, student)
    page.wait_for_selector("#join-error.calm:not([hidden])")
    message = page.inner_text("#join-error")
    assert "keeps trying by itself" in message or "自动" in message, message
    assert page.is_disabled("#join-form button[type=submit]")  # nothing for the student to do
    screenshot(page, "student-join-waiting-phone")
    page.wait_for_selector("#questionnaire:not([hidden])", timeout=20000)
    assert len(seen) == 3
    device = seen[0]["device"]
    assert device and all(body["device"] == device for body in seen)  # one device id, kept by the browser


def test_the_page_retries_a_join_that_found_no_connection(world, client_factory, live_server, phone_page):
    """School Wi-Fi comes and goes: a join that never reached the server is tried again by the page itself (it
    waited for the student to tap again, who did not know to)."""
    _, code = launch_campaign(login_as(client_factory, "teacher"), world.class_id)
    page, student, tries = phone_page, world.students[5], []

    def no_network_twice(route):
        tries.append(1)
        if len(tries) <= 2:
            route.abort("internetdisconnected")
        else:
            route.continue_()

    page.route("**/api/v1/student-sessions", no_network_twice)
    _type_and_join(page, live_server, code, student)
    page.wait_for_selector("#join-error.calm:not([hidden])")
    message = page.inner_text("#join-error")
    assert "Wi-Fi" in message and ("keeps trying by itself" in message or "自动" in message), message
    page.wait_for_selector("#questionnaire:not([hidden])", timeout=20000)
    assert len(tries) == 3
