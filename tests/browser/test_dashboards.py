"""Teacher, doctor and district dashboards in Chromium, desktop and phone, with screenshots to look at."""
import pytest

from tests.browser.conftest import login, screenshot
from tests.dashboards.conftest import figures_world  # noqa: F401  (the hand-computed world, as a fixture here too)




def _no_horizontal_scroll(page):
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_teacher_dashboard(figures_world, live_server, desktop_page, phone_page, device):
    page = desktop_page if device == "desktop" else phone_page
    login(page, live_server, "teacher")
    page.goto(f"{live_server}/teacher?campaign={figures_world.november_id}")
    assert page.locator("[data-testid=worklist]").is_visible()
    assert "Student 5" in page.inner_text("[data-testid=deterioration]")
    chart = page.locator(f"[data-testid=panel-bands-{figures_world.november_id}-PHQ-9] svg.chart")
    assert chart.count() == 1 and "PHQ-9" in chart.locator("title").first.text_content()
    # October (0 of 1 student) and November are both drawn: on her own school's figures nothing is suppressed
    # (issue 17 item 15); the district's figures are (tests/dashboards/test_figures.py)
    assert page.locator("[data-testid=panel-trend-PHQ-9] svg circle").count() == 2
    assert _no_horizontal_scroll(page)
    screenshot(page, f"dashboard-teacher-{device}")
    # drill down from the 60 % positive rate's count to the six students behind it
    page.locator("[data-testid=panel-trend-PHQ-9] td a", has_text="6").first.click()
    page.wait_for_selector("[data-testid=drilldown]")
    assert page.locator("[data-testid=drilldown] tbody tr").count() == 6
    if device == "desktop":
        screenshot(page, "dashboard-teacher-drilldown-desktop")


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_doctor_dashboard(figures_world, live_server, desktop_page, phone_page, device):
    page = desktop_page if device == "desktop" else phone_page
    login(page, live_server, "doctor")
    page.goto(f"{live_server}/doctor")
    waits = page.inner_text("[data-testid=panel-waits]")
    assert "37.5" in waits and "69.5" in waits
    assert "2026-11-28" in page.inner_text("[data-testid=reviews]")
    assert _no_horizontal_scroll(page)
    screenshot(page, f"dashboard-doctor-{device}")


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_district_dashboard(app, figures_world, live_server, desktop_page, phone_page, device):
    page = desktop_page if device == "desktop" else phone_page
    login(page, live_server, "admin", app=app)
    page.goto(f"{live_server}/admin?month=2026-11")
    kpis = page.inner_text("[data-testid=kpis]")
    assert "76.9" in kpis and "71.4" in kpis and "83.3" in kpis
    assert page.locator("svg.chart").count() >= 5
    assert _no_horizontal_scroll(page)
    screenshot(page, f"dashboard-district-{device}")
    with page.expect_download() as download:
        page.locator("[data-testid=panel-care-2026-11] a", has_text="CSV").click()
    assert download.value.suggested_filename == "care-2026-11.csv"
