"""A student in danger on a phone sees the city's own crisis line first, and can dial it."""
from tests.browser.conftest import screenshot
from tests.browser.test_student_journey import _answer, _join
from tests.conftest import login_as
from tests.helpers import launch_campaign


def test_the_crisis_screen_lists_the_local_line_first(app, world, client_factory, live_server, phone_page):
    saved = app.config["LOCAL_CRISIS_LINES"]
    app.config["LOCAL_CRISIS_LINES"] = "010-82951332=北京心理危机研究与干预中心 24小时热线"
    try:
        _, code = launch_campaign(login_as(client_factory, "teacher"), world.class_id, scales=("PHQ-9",))
        page = phone_page
        _join(page, live_server, code, world.students[0])
        _answer(page, [1, 1, 1, 0, 0, 0, 0, 0, 1])
        page.click("#q-submit")
        page.wait_for_selector("#crisis:not([hidden])")
        hotlines = page.locator("#crisis a.hotline")
        assert hotlines.first.get_attribute("href") == "tel:01082951332"
        assert [hotlines.nth(i).locator(".num").inner_text() for i in range(hotlines.count())] == [
            "010-82951332", "12355", "12356", "120"]
        screenshot(page, "student-crisis-local-line-phone")
    finally:
        app.config["LOCAL_CRISIS_LINES"] = saved
