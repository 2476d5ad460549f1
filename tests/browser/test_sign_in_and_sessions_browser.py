"""In a real browser: a slowed-down sign-in says how long to wait, the admin sees it and clears it, and a teacher
ends a student's session, after which the student's phone is back at the join form with nothing kept."""
from sqlalchemy import func, select

from app.core import clock
from app.extensions import db
from app.screening.models import Response
from tests.browser.conftest import PHONE, login, screenshot
from tests.browser.test_student_journey import _join
from tests.conftest import login_as
from tests.helpers import launch_campaign


def _try_password(page, base, username, password):
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("form button[type=submit]")
    page.wait_for_load_state()
    return page.inner_text(".flash-error") if page.locator(".flash-error").count() else ""


def test_a_slowed_down_sign_in_says_how_long_to_wait_and_the_admin_clears_it(app, world, live_server, phone_page,
                                                                             desktop_page):
    clock.freeze(clock.now())  # the waits must not run out while the browser types
    for _ in range(5):
        assert "用户名或密码错误" in _try_password(phone_page, live_server, "doctor", "wrong-password-123")
    message = _try_password(phone_page, live_server, "doctor", "wrong-password-123")
    assert "失败尝试过多" in message and "秒" in message
    screenshot(phone_page, "sign-in-slowed-down-phone")
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    login(desktop_page, live_server, "admin", app=app)
    desktop_page.goto(live_server + "/admin/accounts")
    row = desktop_page.locator("tr[data-username=doctor]")
    assert "登录已被减速：5 次失败尝试" in row.inner_text()
    screenshot(desktop_page, "admin-accounts-slowed-down-desktop")
    row.locator("button", has_text="重置登录失败次数").click()
    desktop_page.wait_for_selector(".flash-success")
    assert "登录已被减速" not in desktop_page.locator("tr[data-username=doctor]").inner_text()
    login(phone_page, live_server, "doctor")
    assert phone_page.url.endswith("/doctor")


def test_a_teacher_ends_a_students_session_and_the_phone_is_back_at_the_join_form(app, world, client_factory,
                                                                                 live_server, phone_page, chromium):
    campaign_id, code = launch_campaign(login_as(client_factory, "teacher"), world.class_id)
    _join(phone_page, live_server, code, world.students[0])  # a classmate, as Student 0

    for viewport, name in (({"width": 1280, "height": 900}, "desktop"), (PHONE, "phone")):
        context = chromium.new_context(viewport=viewport, locale="zh-CN")
        teacher = context.new_page()
        login(teacher, live_server, "teacher")
        teacher.goto(f"{live_server}/campaigns/{campaign_id}")
        row = teacher.locator("table.results tr", has=teacher.locator("a", has_text="Student 0"))
        assert ("已进入" if name == "desktop" else "已于") in row.inner_text()  # the phone looks after it ended
        screenshot(teacher, f"teacher-campaign-student-sessions-{name}")
        if name == "desktop":
            row.locator("button", has_text="结束答题登录").click()
            teacher.wait_for_selector(".flash-info")
            assert "Student 0 的答题登录已在所有设备上结束" in teacher.inner_text(".flash-info")
            assert "已于" in teacher.locator("table.results tr", has=teacher.locator("a", has_text="Student 0")).inner_text()
            screenshot(teacher, "teacher-campaign-session-ended-desktop")
        else:
            assert teacher.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        context.close()

    # the phone: what was typed is not stored, and nothing is kept for the next student on this device
    items = phone_page.locator("#q-items > li")
    for index in range(items.count()):
        items.nth(index).locator("input[value='0']").check()
    phone_page.click("#q-submit")
    phone_page.wait_for_selector("#join:not([hidden])")
    assert "老师已结束本次答题登录" in phone_page.inner_text("#join-error")
    assert phone_page.evaluate("window.sessionStorage.length") == 0
    assert phone_page.input_value("#student_number") == "" and phone_page.input_value("#birth_date") == ""
    screenshot(phone_page, "student-session-ended-phone")
    with app.app_context():
        assert db.session.scalar(select(func.count(Response.id))) == 0
