"""The admin, in a real browser, makes a partner hospital's API client (the token shown once) and starts a FHIR bulk
export whose files the page then lists; photographed on a phone (390×844) and a desktop."""
import re
import time

from tests.browser.conftest import login, screenshot


def _wait_for_files(page, base):
    for _ in range(200):  # the export runs in a thread: reload as the admin would (no time is asserted)
        page.goto(base + "/admin/fhir/exports")
        if page.locator("tr[data-status=complete]").count():
            return
        time.sleep(0.1)
    raise AssertionError("the export never finished")


def test_the_admin_makes_a_client_and_exports_on_a_phone_and_a_desktop(app, world, live_server, phone_page, desktop_page,
                                                                       tmp_path):
    app.config["FHIR_EXPORT_DIR"] = str(tmp_path / "exports")
    for page, size in ((phone_page, "phone"), (desktop_page, "desktop")):
        login(page, live_server, "admin", app=app)
        page.goto(live_server + "/admin/fhir/clients")
        page.select_option("#hospital_id", label="Partner Hospital")
        page.fill("#name", f"HIS {size}")
        page.click("form button.primary")
        page.wait_for_load_state()
        token = page.locator("[data-testid=fhir-token]").inner_text()
        assert re.fullmatch(r"xqh\.\d+\.[A-Za-z0-9_-]{40,}", token)
        screenshot(page, f"fhir-client-created-{size}")
        page.goto(live_server + "/admin/fhir/clients")
        assert token not in page.content() and f"HIS {size}" in page.content()
        screenshot(page, f"fhir-clients-{size}")
        page.goto(live_server + "/admin/fhir/exports")
        page.click("form button.primary")
        page.wait_for_load_state()
        _wait_for_files(page, live_server)
        assert page.locator("a", has_text="Patient.ndjson").count() >= 1
        screenshot(page, f"fhir-exports-{size}")
        page.context.clear_cookies()
