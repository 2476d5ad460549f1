"""Every provider's fake server running, and the app configured to use them (restored afterwards)."""
from types import SimpleNamespace

import pytest

from app.notifications.channels import wecom_app
from tests.notifications.fakes import FakeAliyunSms, FakeDingTalk, FakeTencentSms, FakeWebhook, FakeWeCom

SETTINGS = ("SMS_PROVIDER", "ALIYUN_SMS_ACCESS_KEY_ID", "ALIYUN_SMS_ACCESS_KEY_SECRET", "ALIYUN_SMS_SIGN_NAME",
            "ALIYUN_SMS_TEMPLATE_ALERT", "ALIYUN_SMS_TEMPLATE_CODE", "ALIYUN_SMS_ENDPOINT", "ALIYUN_SMS_PROTOCOL",
            "TENCENT_SMS_SECRET_ID", "TENCENT_SMS_SECRET_KEY", "TENCENT_SMS_SDK_APP_ID", "TENCENT_SMS_SIGN_NAME",
            "TENCENT_SMS_TEMPLATE_ALERT", "TENCENT_SMS_TEMPLATE_CODE", "TENCENT_SMS_ENDPOINT", "TENCENT_SMS_SCHEME",
            "WECOM_CORP_ID", "WECOM_AGENT_ID", "WECOM_APP_SECRET", "WECOM_API_BASE", "CHANNEL_TIMEOUT_SECONDS",
            "CHANNEL_RETRY_SECONDS", "XINQIAO_BASE_URL")


def start_providers(app, sms="aliyun"):
    """Start the fakes and point the app at them; returns (namespace of fakes, restore function)."""
    fakes = SimpleNamespace(wecom=FakeWeCom(), dingtalk=FakeDingTalk(), aliyun=FakeAliyunSms(),
                            tencent=FakeTencentSms(), webhook=FakeWebhook())
    saved = {k: app.config.get(k) for k in SETTINGS}
    app.config.update(
        SMS_PROVIDER=sms, ALIYUN_SMS_ACCESS_KEY_ID="LTAI-test", ALIYUN_SMS_ACCESS_KEY_SECRET="aliyun-secret",
        ALIYUN_SMS_SIGN_NAME="心桥", ALIYUN_SMS_TEMPLATE_ALERT="SMS_1", ALIYUN_SMS_TEMPLATE_CODE="SMS_2",
        ALIYUN_SMS_ENDPOINT=f"127.0.0.1:{fakes.aliyun.port}", ALIYUN_SMS_PROTOCOL="http",
        TENCENT_SMS_SECRET_ID="AKID-test", TENCENT_SMS_SECRET_KEY="tencent-secret", TENCENT_SMS_SDK_APP_ID="1400000001",
        TENCENT_SMS_SIGN_NAME="心桥", TENCENT_SMS_TEMPLATE_ALERT="1001", TENCENT_SMS_TEMPLATE_CODE="1002",
        TENCENT_SMS_ENDPOINT=f"127.0.0.1:{fakes.tencent.port}", TENCENT_SMS_SCHEME="http",
        WECOM_CORP_ID="ww-corp", WECOM_AGENT_ID="1000002", WECOM_APP_SECRET="corp-secret", WECOM_API_BASE=fakes.wecom.base,
        CHANNEL_TIMEOUT_SECONDS=1, CHANNEL_RETRY_SECONDS=30, XINQIAO_BASE_URL="https://xinqiao.example.edu.cn")
    wecom_app._tokens.clear()

    def restore():
        app.config.update(saved)
        wecom_app._tokens.clear()
        for fake in vars(fakes).values():
            fake.stop()

    return fakes, restore


@pytest.fixture
def providers(app):
    fakes, restore = start_providers(app)
    yield fakes
    restore()
