"""Issue 17, items 1-5 in Chromium, on a 390×844 phone and a desktop: the projector view, live alerts on any open
staff page, the crisis screen that survives a reload, a dropped connection and a re-join, "I want to talk to
someone now", and the student's words."""
import pytest
from sqlalchemy import select

from app.extensions import db
from app.risk.models import Alert
from tests.browser.conftest import login, screenshot
from tests.browser.test_student_journey import _answer
from tests.conftest import login_as
from tests.helpers import GAD7_LOW, PHQ9_CRITICAL, answer_all, join, launch_campaign

expect = pytest.importorskip("playwright.sync_api").expect  # skipped like the others where Playwright is missing
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture
def contexts(chromium):
    """New browser contexts (a phone or a desktop), closed at the end; each is a separate device."""
    made = []

    def make(kind="phone"):
        if kind == "phone":
            context = chromium.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
                                           locale="zh-CN")
        else:
            context = chromium.new_context(viewport=DESKTOP, locale="zh-CN")
        made.append(context)
        return context.new_page()

    yield make
    for context in made:
        context.close()


def _join_by_link(page, base, code, student):
    """Open the join link as the projector's QR code gives it: the code is already filled in."""
    page.goto(f"{base}/s?code={code}")
    assert page.input_value("#session_code") == code
    page.fill("#student_number", student["number"])
    page.fill("#birth_date", student["birth_date"])
    page.click("#join-form button[type=submit]")
    page.wait_for_selector("#questionnaire:not([hidden]), #crisis:not([hidden])")


# --- 1. the projector view ---------------------------------------------------------------------------

def test_projector_view_shows_the_code_qr_and_live_counts_only(app, world, client_factory, live_server, contexts):
    teacher = login_as(client_factory, "teacher")
    campaign_id, code = launch_campaign(teacher, world.class_id)
    answer_all(app.test_client(), code, world.students[0], {"PHQ-9": PHQ9_CRITICAL, "GAD-7": GAD7_LOW})

    for kind in ("desktop", "phone"):
        page = contexts(kind)
        login(page, live_server, "teacher")
        page.goto(f"{live_server}/campaigns/{campaign_id}")
        with page.context.expect_page() as opened:
            page.click("[data-testid=projector-open]")
        projector = opened.value
        projector.wait_for_load_state()
        assert projector.inner_text("[data-testid=projector-code]") == code
        qr = projector.locator("[data-testid=projector-qr] svg")
        assert qr.is_visible() and qr.bounding_box()["width"] >= 200
        text = projector.inner_text("body")
        for forbidden in ("Student 0", "Teacher A", "危急", "收件箱"):
            assert forbidden not in text, forbidden
        assert projector.locator("#live-alerts").count() == 0
        assert projector.inner_text("[data-testid=projector-submitted]") == "1"
        screenshot(projector, f"classroom-projector-{kind}")

    # A student joins: the count on the projector moves without a reload.
    join(app.test_client(), code, world.students[1])
    expect(projector.locator("[data-testid=projector-joined]")).to_have_text("2", timeout=15000)

    # The QR code's link opens the student page with the code filled in.
    student = contexts("phone")
    _join_by_link(student, live_server, code, world.students[2])
    assert "PHQ-9" in student.inner_text("#q-title")


# --- 2. live alerts on any open staff page -------------------------------------------------------------

def test_a_new_critical_alert_reaches_an_open_page_without_a_reload(app, world, client_factory, live_server,
                                                                    contexts):
    teacher = login_as(client_factory, "teacher")
    campaign_id, code = launch_campaign(teacher, world.class_id)
    pages = {}
    for kind, path in (("desktop", f"/campaigns/{campaign_id}"), ("phone", "/alerts")):
        page = contexts(kind)
        login(page, live_server, "teacher")
        page.goto(live_server + path)
        assert page.locator("[data-testid=live-alert]").count() == 0
        pages[kind] = page
    projector = contexts("desktop")
    login(projector, live_server, "teacher2")
    projector.goto(f"{live_server}/campaigns/{campaign_id}/projector")

    answer_all(app.test_client(), code, world.students[0], {"PHQ-9": PHQ9_CRITICAL, "GAD-7": GAD7_LOW})
    with app.app_context():
        alert_id = db.session.scalar(select(Alert.id))
    for kind, page in pages.items():
        banner = page.locator(f"[data-testid=live-alert][data-alert-id='{alert_id}']")
        banner.wait_for(timeout=20000)
        assert "危急" in banner.inner_text() and "Student 0" not in banner.inner_text()
        page.locator("[data-testid=inbox-unread]").wait_for()
        assert int(page.inner_text("[data-testid=inbox-unread]")) >= 1
        screenshot(page, f"classroom-live-alert-{kind}")
    desktop = pages["desktop"]
    # The session page itself says that new results came in (its table was rendered with the page).
    expect(desktop.locator("[data-testid=results-stale]")).to_be_visible(timeout=15000)
    screenshot(desktop, "classroom-live-alert-campaign-desktop")
    expect(desktop.locator("#live-alerts")).to_have_attribute("data-sounded", str(alert_id))
    assert projector.locator("#live-alerts, [data-testid=live-alert]").count() == 0

    # The sound can be turned off, and stays off on the next page; the banner stays until acknowledged.
    desktop.click("[data-testid=live-sound]")
    assert "关" in desktop.inner_text("[data-testid=live-sound]")
    desktop.goto(live_server + "/inbox")
    desktop.locator("[data-testid=live-alert]").wait_for()
    assert "关" in desktop.inner_text("[data-testid=live-sound]")
    desktop.click("[data-testid=live-alert] a.button")
    desktop.wait_for_url(f"**/alerts/{alert_id}")
    assert teacher.post(f"/alerts/{alert_id}/acknowledge").status_code == 302
    desktop.reload()
    expect(desktop.locator("#live-alerts")).to_have_attribute("data-polled", "1")
    assert desktop.locator("[data-testid=live-alert]").count() == 0


# --- 3. and 4. the crisis screen survives; "your teacher has been told"; "I want to talk to someone now" ---

def test_the_crisis_screen_survives_reload_dropped_connection_and_rejoin(app, world, client_factory, live_server,
                                                                         contexts):
    _, code = launch_campaign(login_as(client_factory, "teacher"), world.class_id)
    student = world.students[0]
    page = contexts("phone")
    _join_by_link(page, live_server, code, student)
    _answer(page, PHQ9_CRITICAL)
    page.click("#q-submit")
    page.wait_for_selector("#crisis:not([hidden])")
    assert page.is_visible("[data-testid=crisis-told]")
    screenshot(page, "classroom-crisis-phone")

    page.reload()
    page.wait_for_selector("#crisis:not([hidden])")
    assert page.is_visible("#crisis a.hotline[href='tel:12355']") and page.is_hidden("#questionnaire")

    # The connection drops and the page is reloaded: the hotlines stay.
    page.route("**/api/v1/**", lambda route: route.abort())
    page.reload()
    page.wait_for_selector("#crisis:not([hidden])")
    assert page.is_visible("#crisis a.hotline[href='tel:12356']")
    page.unroute("**/api/v1/**")

    # Re-joined on another device (a desktop in the computer room): still the crisis screen first.
    other = contexts("desktop")
    _join_by_link(other, live_server, code, student)
    assert other.is_visible("#crisis") and other.is_visible("[data-testid=crisis-told]")
    screenshot(other, "classroom-crisis-rejoin-desktop")

    # The student chose to go on: from now on a reload shows the next questionnaire.
    # Going on is recorded on the server without holding the student up: wait for it before reloading (until it
    # lands a reload shows the hotlines again, the safe side).
    with other.expect_response(lambda r: "/student-session/crisis-seen" in r.url):
        other.click("#crisis-continue")
    other.wait_for_selector("#questionnaire:not([hidden])")
    other.reload()
    other.wait_for_selector("#questionnaire:not([hidden])")
    assert "GAD-7" in other.inner_text("#q-title")
    _answer(other, GAD7_LOW)
    other.click("#q-submit")
    other.wait_for_selector("#done:not([hidden])")
    hotlines = other.locator("[data-testid=done-hotlines] a.hotline")
    assert hotlines.count() >= 3 and hotlines.first.get_attribute("href").startswith("tel:")
    screenshot(other, "classroom-done-crisis-desktop")


def test_i_want_to_talk_to_someone_now_at_the_end_of_a_screening(app, world, client_factory, live_server, contexts):
    _, code = launch_campaign(login_as(client_factory, "teacher"), world.class_id)
    page = contexts("phone")
    _join_by_link(page, live_server, code, world.students[3])
    _answer(page, [0, 1, 0, 0, 1, 0, 0, 0, 0])
    page.click("#q-submit")
    page.wait_for_selector("#q-title:has-text('GAD-7')")
    _answer(page, [0, 0, 0, 0, 0, 0, 0])
    page.click("#q-submit")
    page.wait_for_selector("#done:not([hidden])")
    assert page.is_hidden("#done-crisis")
    button = page.locator("#done [data-testid=talk-now]")
    button.click()
    status = page.locator("#done .talk-status")
    status.wait_for()
    assert "心理老师" in status.inner_text() and button.is_disabled()
    button.dispatch_event("click")  # a second tap (the button is disabled; the server would refuse it anyway)
    screenshot(page, "classroom-talk-now-phone")
    with app.app_context():
        assert db.session.execute(select(Alert.level, Alert.reason).where(
            Alert.student_id == world.student_ids[3])).all() == [("high", "student_request")]


# --- 5. the student's words ----------------------------------------------------------------------------

def test_student_pages_say_ni_and_a_school_title(app, world, client_factory, live_server, contexts):
    _, code = launch_campaign(login_as(client_factory, "teacher"), world.class_id)
    for kind in ("phone", "desktop"):
        page = contexts(kind)
        page.goto(live_server + "/s")
        assert "您" not in page.inner_text("body") and "患者" not in page.inner_text("body")
    _join_by_link(page, live_server, code, world.students[4])
    assert page.inner_text("#q-title") == "我最近的心情（PHQ-9）"
    text = page.inner_text("body")
    assert "您" not in text and "患者" not in text and "你" in page.inner_text("#q-instructions")
    screenshot(page, "classroom-student-title-desktop")
