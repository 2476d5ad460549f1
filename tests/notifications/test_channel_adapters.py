"""Each channel adapter against its provider's local fake server: a valid, signed request that the fake accepts,
the provider's refusal, a server error and a timeout each reported as the provider's answer. No network."""
import pytest

from app.notifications.channels import Message, Target, channel_for
from app.notifications.channels.aliyun_sms import AliyunSms
from app.notifications.channels.tencent_sms import TencentSms
from tests.notifications.fakes import FakeAliyunSms, FakeDingTalk, FakeTencentSms, FakeWebhook, FakeWeCom

MESSAGE = Message(event="alert:7:opened", kind="alert_critical_opened", title="紧急预警", case_number="A000007",
                  level="critical", level_label="紧急", school="Middle School A",
                  link="https://xinqiao.example.edu.cn/alerts/7", ack_link="https://xinqiao.example.edu.cn/ack/x",
                  delivery_id=42, occurred_at="2026-12-07T01:00:00+00:00",
                  lines=("【心桥】紧急预警 A000007", "https://xinqiao.example.edu.cn/alerts/7"))
TIMEOUT = {"CHANNEL_TIMEOUT_SECONDS": 1}


@pytest.fixture
def fake(request):
    servers = []

    def start(cls, **kw):
        server = cls(**kw)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def test_wecom_group_robot(fake):
    wecom = fake(FakeWeCom)
    robot = channel_for("wecom_robot", TIMEOUT)
    target = Target(url=f"{wecom.base}/cgi-bin/webhook/send?key=robot-key-1")
    result = robot.send(MESSAGE, target)
    assert result.ok and result.answer == "errcode 0 ok"
    assert len(wecom.robot_messages()) == 1 and "A000007" in wecom.robot_messages()[0].text
    wrong = robot.send(MESSAGE, Target(url=f"{wecom.base}/cgi-bin/webhook/send?key=wrong"))
    assert not wrong.ok and not wrong.retry and wrong.answer.startswith("errcode 93000")
    wecom.fail_next(1, "error")
    limited = robot.send(MESSAGE, target)
    assert not limited.ok and limited.retry and limited.answer.startswith("errcode 45009")
    wecom.fail_next(1, "slow")
    slow = robot.send(MESSAGE, target)
    assert slow == slow.__class__(False, "timeout after 1 s")


def test_wecom_application_message_fetches_and_renews_its_token(fake):
    wecom = fake(FakeWeCom)
    config = dict(TIMEOUT, WECOM_API_BASE=wecom.base, WECOM_CORP_ID="ww-corp", WECOM_APP_SECRET="corp-secret",
                  WECOM_AGENT_ID="1000002")
    app_channel = channel_for("wecom_app", config)
    assert app_channel.send(MESSAGE, Target(address="zhang.laoshi")).ok
    assert app_channel.send(MESSAGE, Target(address="zhang.laoshi")).ok
    paths = [r["path"] for r in wecom.requests]
    assert paths == ["/cgi-bin/gettoken", "/cgi-bin/message/send", "/cgi-bin/message/send"]  # the token is kept
    assert all(r["valid"] for r in wecom.requests)
    wecom.tokens.clear()  # WeCom expired it: one new token, then the message
    assert app_channel.send(MESSAGE, Target(address="zhang.laoshi")).ok
    assert [r["path"] for r in wecom.requests[3:]] == ["/cgi-bin/message/send", "/cgi-bin/gettoken", "/cgi-bin/message/send"]
    unknown = app_channel.send(MESSAGE, Target(address="nobody"))
    assert not unknown.ok and not unknown.retry
    wrong = channel_for("wecom_app", dict(config, WECOM_APP_SECRET="wrong", WECOM_API_BASE=wecom.base + "/"))
    from app.notifications.channels import wecom_app
    wecom_app._tokens.clear()
    refused = wrong.send(MESSAGE, Target(address="zhang.laoshi"))
    assert not refused.ok and refused.answer.startswith("gettoken: errcode 40001")


def test_dingtalk_robot_in_signed_mode(fake):
    ding = fake(FakeDingTalk)
    robot = channel_for("dingtalk_robot", TIMEOUT)
    target = Target(url=f"{ding.base}/robot/send?access_token=ding-token", secret="SEC-ding-secret")
    result = robot.send(MESSAGE, target)
    assert result.ok, result
    assert ding.requests[-1]["valid"] and {"timestamp", "sign"} <= set(ding.requests[-1]["query"])
    bad = robot.send(MESSAGE, Target(url=target.url, secret="SEC-someone-else"))
    assert not bad.ok and not bad.retry and bad.answer.startswith("errcode 310000")
    assert ding.requests[-1]["problem"] == "310000 sign not match"
    ding.fail_next(1, "error")
    assert robot.send(MESSAGE, target).retry


def test_the_generic_webhook_signs_its_json(fake):
    hook = fake(FakeWebhook)
    channel = channel_for("webhook", TIMEOUT)
    target = Target(url=f"{hook.base}/xinqiao/events", secret="hospital-webhook-secret")
    assert channel.send(MESSAGE, target).ok
    request = hook.requests[-1]
    assert request["valid"] and request["headers"]["x-xinqiao-event"] == "alert:7:opened"
    assert set(__import__("json").loads(request["body"])) == {
        "event", "kind", "case_number", "level", "school", "link", "occurred_at", "delivery_id"}
    forged = channel.send(MESSAGE, Target(url=target.url, secret="guess"))
    assert not forged.ok and not forged.retry and forged.answer == "HTTP 401"
    hook.fail_next(1, "http500")
    down = channel.send(MESSAGE, target)
    assert not down.ok and down.retry and down.answer == "HTTP 500"
    hook.fail_next(1, "slow")
    assert channel.send(MESSAGE, target).answer == "timeout after 1 s"


def _aliyun_config(fake_server, **kw):
    return dict(TIMEOUT, SMS_PROVIDER="aliyun", ALIYUN_SMS_ACCESS_KEY_ID="LTAI-test",
                ALIYUN_SMS_ACCESS_KEY_SECRET="aliyun-secret", ALIYUN_SMS_SIGN_NAME="心桥",
                ALIYUN_SMS_TEMPLATE_ALERT="SMS_1", ALIYUN_SMS_TEMPLATE_CODE="SMS_2",
                ALIYUN_SMS_ENDPOINT=f"127.0.0.1:{fake_server.port}", ALIYUN_SMS_PROTOCOL="http") | kw


def test_alibaba_cloud_sms_through_its_sdk(fake):
    aliyun = fake(FakeAliyunSms)
    sms = channel_for("sms", _aliyun_config(aliyun))
    assert isinstance(sms, AliyunSms)
    result = sms.send(MESSAGE, Target(address="13800000001"))
    assert result.ok and result.answer.startswith("Code OK BizId"), (result, aliyun.requests[-1]["problem"])
    params = aliyun.requests[-1]["params"]
    assert params["PhoneNumbers"] == "13800000001" and params["TemplateCode"] == "SMS_1" and params["OutId"] == "42"
    assert __import__("json").loads(params["TemplateParam"]) == {
        "case": "A000007", "level": "紧急", "school": "Middle School A", "link": "https://xinqiao.example.edu.cn/ack/x"}
    forged = channel_for("sms", _aliyun_config(aliyun, ALIYUN_SMS_ACCESS_KEY_SECRET="wrong")).send(
        MESSAGE, Target(address="13800000001"))
    assert not forged.ok and not forged.retry and "SignatureDoesNotMatch" in forged.answer
    aliyun.fail_next(1, "error")
    limited = sms.send(MESSAGE, Target(address="13800000001"))
    assert not limited.ok and limited.retry and limited.answer.startswith("Code isv.BUSINESS_LIMIT_CONTROL")
    aliyun.fail_next(1, "slow")
    assert sms.send(MESSAGE, Target(address="13800000001")).answer == "timeout after 1 s"


def _tencent_config(fake_server, **kw):
    return dict(TIMEOUT, SMS_PROVIDER="tencent", TENCENT_SMS_SECRET_ID="AKID-test", TENCENT_SMS_SECRET_KEY="tencent-secret",
                TENCENT_SMS_SDK_APP_ID="1400000001", TENCENT_SMS_SIGN_NAME="心桥", TENCENT_SMS_TEMPLATE_ALERT="1001",
                TENCENT_SMS_TEMPLATE_CODE="1002", TENCENT_SMS_ENDPOINT=f"127.0.0.1:{fake_server.port}",
                TENCENT_SMS_SCHEME="http") | kw


def test_tencent_cloud_sms_through_its_sdk(fake):
    tencent = fake(FakeTencentSms)
    sms = channel_for("sms", _tencent_config(tencent))
    assert isinstance(sms, TencentSms)
    result = sms.send(MESSAGE, Target(address="13800000001"))
    assert result.ok and result.answer.startswith("Code Ok SerialNo"), (result, tencent.requests[-1]["problem"])
    params = tencent.requests[-1]["params"]
    assert params["PhoneNumberSet"] == ["+8613800000001"] and params["TemplateId"] == "1001"
    assert params["TemplateParamSet"] == ["A000007", "紧急", "Middle School A", "https://xinqiao.example.edu.cn/ack/x"]
    forged = channel_for("sms", _tencent_config(tencent, TENCENT_SMS_SECRET_KEY="wrong")).send(
        MESSAGE, Target(address="13800000001"))
    assert not forged.ok and not forged.retry and forged.answer == "Error AuthFailure.SignatureFailure"
    tencent.fail_next(1, "error")
    limited = sms.send(MESSAGE, Target(address="13800000001"))
    assert not limited.ok and limited.retry and "LimitExceeded.PhoneNumberDailyLimit" in limited.answer
    tencent.fail_next(1, "slow")
    assert sms.send(MESSAGE, Target(address="13800000001")).answer == "timeout after 1 s"


def test_a_channel_without_its_settings_is_not_offered():
    assert channel_for("sms", {}) is None and channel_for("sms", {"SMS_PROVIDER": "aliyun"}) is None
    assert channel_for("wecom_app", {}) is None and channel_for("carrier_pigeon", {}) is None
