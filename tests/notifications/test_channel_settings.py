"""A person's own channels (a number verified by a code sent through the channel itself, the levels chosen) and
the admin's duty groups (secrets encrypted at rest, a test message), through the real HTTP stack."""
import json
import re
from datetime import timedelta

from sqlalchemy import select, text

from app.core import clock
from app.extensions import db
from app.notifications.models import Delivery, DeliveryAttempt, DutyGroup, UserChannel
from tests.conftest import login_as


def _sms_code(fakes):
    """The code in the last SMS the (Alibaba) fake received: template SMS_2 with {"code": …}."""
    params = fakes.aliyun.valid[-1]["params"]
    assert params["TemplateCode"] == "SMS_2"
    return json.loads(params["TemplateParam"])["code"]


def _channel(app, username, kind="sms"):
    from app.accounts.models import User

    with app.app_context():
        row = db.session.scalar(select(UserChannel).join(User, User.id == UserChannel.user_id)
                                .where(User.username == username, UserChannel.channel == kind))
        result = None if row is None else dict(address=row.address, verified=row.verified_at is not None,
                                               levels=row.levels, tries=row.code_tries)
        db.session.remove()
    return result


def test_a_teacher_verifies_a_mobile_number_by_a_code_sent_by_sms(app, world, client_factory, providers):
    teacher = login_as(client_factory, "teacher")
    page = teacher.get("/account/channels").get_data(as_text=True)
    assert 'data-testid="channel-sms"' in page and 'data-testid="channel-wecom_app"' in page
    bad = teacher.post("/account/channels/sms/address", {"sms-address": "12345"})
    assert bad.status_code == 400 and "11 digits" in bad.get_data(as_text=True)
    assert _channel(app, "teacher") is None and providers.aliyun.requests == []
    assert teacher.post("/account/channels/sms/address", {"sms-address": "+86 138-0000-0001"}).status_code == 302
    assert providers.aliyun.valid[-1]["params"]["PhoneNumbers"] == "13800000001"
    code = _sms_code(providers)
    assert _channel(app, "teacher") == dict(address="13800000001", verified=False, levels=["high"], tries=0)
    with app.app_context():  # a staff member's mobile number is encrypted at rest like clinical text
        assert "13800000001" not in db.session.execute(text("SELECT address FROM user_channels")).scalar()
        db.session.remove()
    wrong = "000000" if code != "000000" else "111111"
    teacher.post("/account/channels/sms/verify", {"sms-c-code": wrong})
    assert _channel(app, "teacher")["verified"] is False and _channel(app, "teacher")["tries"] == 1
    teacher.post("/account/channels/sms/verify", {"sms-c-code": code})
    assert _channel(app, "teacher")["verified"] is True
    page = teacher.get("/account/channels").get_data(as_text=True)
    assert "138****0001" in page and "13800000001" not in page
    teacher.post("/account/channels/sms/levels", {"sms-l-referral": "y"})
    assert _channel(app, "teacher")["levels"] == ["referral"]
    assert teacher.post("/account/channels/sms/remove").status_code == 302
    assert _channel(app, "teacher") is None


def test_a_wecom_user_id_is_verified_by_a_wecom_message(app, world, client_factory, providers):
    providers.wecom.users.add("li.laoshi")
    teacher = login_as(client_factory, "teacher2")
    teacher.post("/account/channels/wecom_app/address", {"wecom_app-address": "li.laoshi"})
    message = providers.wecom.app_messages()[-1]
    body = json.loads(message["body"])
    assert body["touser"] == "li.laoshi"
    code = re.search(r"\d{6}", body["text"]["content"]).group(0)
    teacher.post("/account/channels/wecom_app/verify", {"wecom_app-c-code": code})
    assert _channel(app, "teacher2", "wecom_app")["verified"] is True


def test_codes_expire_are_tried_five_times_and_are_not_resent_within_a_minute(app, world, client_factory, providers):
    start = clock.now().replace(microsecond=0)
    clock.freeze(start)
    teacher = login_as(client_factory, "teacher")
    teacher.post("/account/channels/sms/address", {"sms-address": "13800000002"})
    code = _sms_code(providers)
    page = teacher.post("/account/channels/sms/address", {"sms-address": "13800000002"}, follow_redirects=True)
    assert "less than a minute" in page.get_data(as_text=True) and len(providers.aliyun.requests) == 1
    clock.freeze(start + timedelta(minutes=11))
    teacher.post("/account/channels/sms/verify", {"sms-c-code": code})
    assert _channel(app, "teacher")["verified"] is False  # expired
    teacher.post("/account/channels/sms/address", {"sms-address": "13800000002"})
    code = _sms_code(providers)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        teacher.post("/account/channels/sms/verify", {"sms-c-code": wrong})
    teacher.post("/account/channels/sms/verify", {"sms-c-code": code})
    assert _channel(app, "teacher")["verified"] is False  # five tries used: a new code is needed


def test_an_sms_the_provider_refuses_is_said_and_changes_nothing_verified(app, world, client_factory, providers):
    providers.aliyun.fail_next(1, "error")
    teacher = login_as(client_factory, "teacher")
    page = teacher.post("/account/channels/sms/address", {"sms-address": "13800000003"}, follow_redirects=True)
    assert "could not be sent" in page.get_data(as_text=True) and "BUSINESS_LIMIT_CONTROL" in page.get_data(as_text=True)
    assert _channel(app, "teacher")["verified"] is False


def test_channels_not_set_up_are_not_offered(app, world, client_factory):
    teacher = login_as(client_factory, "teacher")
    assert 'data-testid="no-channels"' in teacher.get("/account/channels").get_data(as_text=True)
    for path, data in (("address", {"sms-address": "13800000001"}), ("verify", {"sms-c-code": "123456"}),
                       ("levels", {}), ("remove", {})):
        assert teacher.post(f"/account/channels/sms/{path}", data).status_code == 404
    assert client_factory().post("/account/channels/sms/remove").status_code in (302, 400)  # anonymous: nothing


def test_the_admin_adds_a_duty_group_whose_address_and_secret_are_encrypted_at_rest(app, world, client_factory, providers):
    admin = login_as(client_factory, "admin")
    url = f"{providers.dingtalk.base}/robot/send?access_token=ding-token"
    missing = admin.post("/duty-groups", {"owner": f"hospital:{world.hospital_id}", "channel": "dingtalk_robot",
                                          "name": "Hospital duty", "url": url})
    assert missing.status_code == 400 and "secret" in missing.get_data(as_text=True)
    assert admin.post("/duty-groups", {"owner": f"hospital:{world.hospital_id}", "channel": "dingtalk_robot",
                                       "name": "Hospital duty", "url": url, "secret": "SEC-ding-secret"}).status_code == 302
    with app.app_context():
        group_id = db.session.scalar(select(DutyGroup.id))
        raw = db.session.execute(text("SELECT url, secret FROM duty_groups")).one()
        db.session.remove()
    assert "ding-token" not in raw.url and "SEC-ding-secret" not in raw.secret  # Fernet tokens, not the values
    page = admin.get("/duty-groups").get_data(as_text=True)
    assert "Hospital duty" in page and "ding-token" not in page and "SEC-ding-secret" not in page
    done = admin.post(f"/duty-groups/{group_id}/test", follow_redirects=True).get_data(as_text=True)
    assert "errcode 0 ok" in done and providers.dingtalk.requests[-1]["valid"]
    with app.app_context():
        assert db.session.scalar(select(DeliveryAttempt.ok)) is True
        assert db.session.scalar(select(Delivery.kind)) == "channel_test"
        db.session.remove()
    admin.post(f"/duty-groups/{group_id}/active")
    with app.app_context():
        assert db.session.get(DutyGroup, group_id).active is False
        db.session.remove()
    for user in ("teacher", "doctor", "homeroom"):
        c = login_as(client_factory, user)
        assert c.get("/duty-groups").status_code == 404
        assert c.post(f"/duty-groups/{group_id}/active").status_code == 404
