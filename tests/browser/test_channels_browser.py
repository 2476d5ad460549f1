"""Done means (issue 18), in a real browser: with the providers' fake servers running, a teacher verifies a
mobile number on the profile page, the admin adds a duty group, a student's critical answer on a phone produces
a WeCom, a DingTalk, an SMS and a webhook request within seconds, each validly signed; the DingTalk robot
failing once is shown on the alert page and retried by the sweep; acknowledging from the SMS link stops the
escalation. Every page is photographed on a phone (390×844) and a desktop."""
import json
import re
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.core import clock
from app.extensions import db
from app.notifications.models import DutyGroup, UserChannel
from app.risk.models import Alert, AlertStatus
from tests.browser.conftest import login, screenshot
from tests.browser.test_student_journey import _answer, _join
from tests.conftest import login_as
from tests.helpers import launch_campaign
from tests.notifications.conftest import start_providers

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def fakes(app, live_server):
    fakes, restore = start_providers(app)
    app.config["XINQIAO_BASE_URL"] = live_server
    yield fakes
    restore()


@pytest.fixture
def phone(chromium):
    context = chromium.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-CN")
    yield context.new_page()
    context.close()


def _no_sideways_scroll(page):
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} scrolls sideways on a phone ({width}px)"


def test_a_critical_answer_reaches_wecom_dingtalk_sms_and_a_webhook_and_the_link_acknowledges_it(
        app, world, client_factory, live_server, fakes, phone, desktop_page):
    # The teacher verifies a mobile number with the code the SMS brought (on the phone).
    login(phone, live_server, "teacher")
    phone.goto(live_server + "/account/channels")
    screenshot(phone, "channels-profile-empty-phone")
    phone.fill("#sms-address", "13800000001")
    phone.click("[data-testid=address-sms] button[type=submit]")
    phone.wait_for_selector("[data-testid=verify-sms]")
    code = json.loads(fakes.aliyun.valid[-1]["params"]["TemplateParam"])["code"]
    phone.fill("#sms-c-code", code)
    phone.click("[data-testid=verify-sms] button[type=submit]")
    phone.wait_for_selector("[data-testid=levels-sms]")
    assert "已验证" in phone.inner_text("[data-testid=channel-sms]")
    screenshot(phone, "channels-profile-verified-phone")
    _no_sideways_scroll(phone)

    # The admin adds the hospital's DingTalk robot in the interface; the school's WeCom robot and the hospital's
    # webhook are set up the same way (here directly, to keep the journey short).
    desktop = desktop_page
    login(desktop, live_server, "admin", app=app)
    desktop.goto(live_server + "/duty-groups")
    desktop.select_option("#owner", f"hospital:{world.hospital_id}")
    desktop.select_option("#channel", "dingtalk_robot")
    desktop.fill("#name", "市精神卫生中心值班群")
    desktop.fill("#url", f"{fakes.dingtalk.base}/robot/send?access_token=ding-token")
    desktop.fill("#secret", "SEC-ding-secret")
    desktop.click("[data-testid=duty-group-form] button[type=submit]")
    desktop.wait_for_selector("[data-testid=duty-groups]")
    with app.app_context():
        db.session.add_all([
            DutyGroup(school_id=world.school_id, channel="wecom_robot", name="初二心理值班群", levels=["high"],
                      url=f"{fakes.wecom.base}/cgi-bin/webhook/send?key=robot-key-1"),
            DutyGroup(hospital_id=world.hospital_id, channel="webhook", name="医院信息系统", levels=[],
                      url=f"{fakes.webhook.base}/xinqiao", secret="hospital-webhook-secret")])
        db.session.commit()
        db.session.remove()
    desktop.goto(live_server + "/duty-groups")
    desktop.locator("li[data-group]", has_text="初二心理值班群").locator("button", has_text="发送测试消息").click()
    desktop.wait_for_load_state()
    assert "测试消息已送达" in desktop.inner_text(".flash")
    screenshot(desktop, "duty-groups-desktop")
    phone_admin = phone.context.browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True,
                                                    has_touch=True, locale="zh-CN").new_page()
    login(phone_admin, live_server, "admin", app=app)
    phone_admin.goto(live_server + "/duty-groups")
    screenshot(phone_admin, "duty-groups-phone")
    _no_sideways_scroll(phone_admin)
    phone_admin.context.close()
    sent_before = {name: len(getattr(fakes, name).requests) for name in ("wecom", "dingtalk", "aliyun", "webhook")}

    # A student answers PHQ-9 item 9 on a phone; DingTalk refuses the first message.
    fakes.dingtalk.fail_next(1, "error")
    teacher = login_as(client_factory, "teacher")
    _, session_code = launch_campaign(teacher, world.class_id)
    student = phone.context.browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="zh-CN").new_page()
    _join(student, live_server, session_code, world.students[0])
    _answer(student, [1, 1, 1, 0, 0, 0, 0, 0, 1])
    answered_at = time.monotonic()
    student.click("#q-submit")
    student.wait_for_selector("#crisis:not([hidden])")
    student.context.close()

    for name, extra in (("wecom", 1), ("dingtalk", 1), ("aliyun", 1), ("webhook", 1)):
        fake = getattr(fakes, name)
        arrived = fake.wait_for(sent_before[name] + extra, timeout=10)
        new = arrived[sent_before[name]:]
        assert new and all(r["valid"] for r in new), (name, [r["problem"] for r in new])
    assert time.monotonic() - answered_at < 10
    with app.app_context():
        alert_id = db.session.scalar(select(Alert.id))
        db.session.remove()
    case = f"A{alert_id:06d}"
    assert case in fakes.wecom.robot_messages()[-1].text and case in fakes.dingtalk.requests[-1].text
    assert json.loads(fakes.webhook.requests[-1]["body"])["case_number"] == case

    # The alert page shows how each message went, Chinese first: DingTalk failed and will be retried.
    desktop.context.close()
    desktop = phone.context.browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN").new_page()
    login(desktop, live_server, "teacher2")
    for page, name in ((phone, "phone"), (desktop, "desktop")):
        page.goto(live_server + f"/alerts/{alert_id}")
        status = page.locator("[data-testid=delivery-status]")
        assert "已发送 · 已送达" in status.locator("[data-channel=\"sms\"]").inner_text()
        assert "失败：将于" in status.locator("[data-channel=\"dingtalk_robot\"]").inner_text()
        screenshot(page, f"alert-delivery-retrying-{name}")
    _no_sideways_scroll(phone)

    # The sweep retries it once it is due; the page then shows it delivered.
    clock.freeze(clock.now() + timedelta(seconds=31))
    assert "messages sent: 1" in app.test_cli_runner().invoke(args=["alerts", "sweep"]).output
    assert fakes.dingtalk.requests[-1]["valid"]
    desktop.reload()
    assert "已送达" in desktop.locator("[data-testid=delivery-status] [data-channel=\"dingtalk_robot\"]").inner_text()
    screenshot(desktop, "alert-delivery-delivered-desktop")

    # One tap on the SMS's link acknowledges the alert (no sign-in, nothing shown); the escalation stops.
    link = json.loads(next(r["params"]["TemplateParam"] for r in reversed(fakes.aliyun.valid)
                           if r["params"]["TemplateCode"] == "SMS_1"))["link"]
    assert re.match(re.escape(live_server) + r"/ack/", link)
    tap = phone.context.browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="zh-CN").new_page()
    tap.goto(link)
    assert case not in tap.content() and "Student 0" not in tap.content()
    screenshot(tap, "ack-link-phone")
    tap.click("[data-testid=ack-button]")
    tap.wait_for_selector("text=已确认")
    screenshot(tap, "ack-done-phone")
    tap.context.close()
    with app.app_context():
        assert db.session.get(Alert, alert_id).status == AlertStatus.ACKNOWLEDGED
        assert db.session.scalar(select(UserChannel.verified_at)) is not None
        db.session.remove()
    clock.freeze(clock.now() + timedelta(minutes=61))
    assert "alerts escalated: 0" in app.test_cli_runner().invoke(args=["alerts", "sweep"]).output
