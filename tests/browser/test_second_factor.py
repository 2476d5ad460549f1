"""An admin's first login on a phone: the second-factor enrolment page (QR code and key), then the accounts page."""
import pyotp

from app.accounts import services as accounts
from app.accounts.models import Role
from app.extensions import db
from tests.browser.conftest import screenshot
from tests.conftest import PASSWORD


def test_admin_enrols_a_second_factor_at_first_login_on_a_phone(app, world, live_server, phone_page):
    with app.app_context():
        accounts.create_user("admin.new", "New admin", PASSWORD, Role.ADMIN)
        db.session.commit()
    page = phone_page
    page.goto(live_server + "/login")
    page.fill("#username", "admin.new")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("[data-testid=totp-qr] svg")
    screenshot(page, "second-factor-enrol-phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    secret = page.inner_text("[data-testid=totp-secret]")
    page.fill("#code", pyotp.TOTP(secret).now())
    page.click("form button[type=submit].primary")
    page.wait_for_url(live_server + "/admin")
    page.goto(live_server + "/admin/accounts")
    page.wait_for_selector("[data-testid=accounts]")
    screenshot(page, "staff-accounts-phone")
    assert page.locator("tr[data-username='teacher']").count() == 1
