"""The teacher's risk list with an overdue, escalated critical alert and the inbox badge, on a phone and a desktop."""
from datetime import timedelta

from sqlalchemy import select

from app.core import clock
from app.extensions import db
from app.risk.models import Alert
from tests.browser.conftest import screenshot
from tests.conftest import PASSWORD, login_as
from tests.helpers import GAD7_LOW, PHQ9_CRITICAL, answer_all, launch_campaign


def _login(page, base, username):
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_load_state()


def test_overdue_critical_alert_and_inbox_badge_on_phone_and_desktop(app, world, client_factory, live_server,
                                                                     phone_page, desktop_page):
    start = clock.now().replace(microsecond=0)
    clock.freeze(start)
    teacher = login_as(client_factory, "teacher")
    _, code = launch_campaign(teacher, world.class_id)
    answer_all(app.test_client(), code, world.students[0], {"PHQ-9": PHQ9_CRITICAL, "GAD-7": GAD7_LOW})
    with app.app_context():
        alert_id = db.session.scalar(select(Alert.id))
    clock.freeze(start + timedelta(minutes=75))  # past the one-hour target: the list load escalates it

    for page, name in ((phone_page, "phone"), (desktop_page, "desktop")):
        _login(page, live_server, "teacher2")
        page.goto(live_server + "/alerts")
        row = page.locator(f"li[data-alert='{alert_id}']")
        assert row.locator(".badge.overdue").is_visible()
        assert row.locator(".badge.escalated").is_visible()
        badge = page.locator("[data-testid=inbox-unread]")
        assert badge.is_visible() and badge.inner_text() == "2"  # opened + escalated
        screenshot(page, f"risk-list-overdue-{name}")
        if name == "phone":
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 375, f"the risk list scrolls sideways on a phone ({width}px)"

    page = desktop_page
    page.click("[data-testid=inbox-link]")
    assert page.locator("[data-testid=inbox] li.unread").count() == 2
    screenshot(page, "inbox-desktop")
    page.locator("[data-testid=inbox] li").first.locator("button").click()
    page.wait_for_load_state()
    assert f"/alerts/{alert_id}" in page.url
    assert page.locator("[data-testid=alert-timeline] li").count() == 2  # opened, escalated
    assert page.locator("[data-testid=inbox-unread]").inner_text() == "1"
    screenshot(page, "alert-page-desktop")
    phone_page.goto(live_server + f"/alerts/{alert_id}")
    screenshot(phone_page, "alert-page-phone")
