"""阿里云短信 (Alibaba Cloud SMS) through Alibaba's own SDK (alibabacloud-dysmsapi20170525): SendSms.

The SDK signs each request (ACS3-HMAC-SHA256, Alibaba's V3 signature) with the AccessKey; we never sign by hand.
A message is a pre-approved template (ALIYUN_SMS_TEMPLATE_ALERT with ${case} ${level} ${school} ${link},
ALIYUN_SMS_TEMPLATE_CODE with ${code}) and its parameters as JSON. Alibaba answers {"Code": "OK", "BizId": …}
when it took the message; any other Code is its refusal (e.g. isv.BUSINESS_LIMIT_CONTROL, isv.MOBILE_NUMBER_ILLEGAL).
ALIYUN_SMS_ENDPOINT and ALIYUN_SMS_PROTOCOL point the SDK elsewhere (the tests' local server).
"""
import json

from alibabacloud_dysmsapi20170525.client import Client
from alibabacloud_dysmsapi20170525.models import SendSmsRequest
from alibabacloud_tea_openapi.exceptions import AlibabaCloudException
from alibabacloud_tea_openapi.models import Config

from app.notifications.channels.base import Channel, Result

# Codes where sending again cannot help: a wrong number, a template or signature the account may not use.
PERMANENT_CODES = {"isv.MOBILE_NUMBER_ILLEGAL", "isv.TEMPLATE_MISSING_PARAMETERS", "isv.SMS_TEMPLATE_ILLEGAL",
                   "isv.SMS_SIGNATURE_ILLEGAL", "isv.INVALID_PARAMETERS", "isv.MOBILE_COUNT_OVER_LIMIT",
                   "InvalidAccessKeyId.NotFound", "SignatureDoesNotMatch"}


class AliyunSms(Channel):
    kind = "sms"
    personal = True

    def __init__(self, config):
        super().__init__(config)
        self.key_id, self.key_secret = config.get("ALIYUN_SMS_ACCESS_KEY_ID"), config.get("ALIYUN_SMS_ACCESS_KEY_SECRET")
        self.sign_name = config.get("ALIYUN_SMS_SIGN_NAME")
        self.templates = {"alert": config.get("ALIYUN_SMS_TEMPLATE_ALERT"), "code": config.get("ALIYUN_SMS_TEMPLATE_CODE")}
        self.endpoint = config.get("ALIYUN_SMS_ENDPOINT") or "dysmsapi.aliyuncs.com"
        self.protocol = config.get("ALIYUN_SMS_PROTOCOL") or "https"


    def _client(self):
        milliseconds = int(self.timeout * 1000)
        return Client(Config(access_key_id=self.key_id, access_key_secret=self.key_secret, endpoint=self.endpoint,
                             protocol=self.protocol, connect_timeout=milliseconds, read_timeout=milliseconds))

    def send(self, message, target):
        template = self.templates["code" if message.kind == "verify_code" else "alert"]
        request = SendSmsRequest(phone_numbers=target.address, sign_name=self.sign_name, template_code=template,
                                 template_param=json.dumps(message.template_params(), ensure_ascii=False),
                                 out_id=str(message.delivery_id))
        try:
            answer = self._client().send_sms(request).body
        except AlibabaCloudException as exc:  # the provider answered with an HTTP error
            code = str(exc.code or "")
            return Result(False, f"HTTP {exc.status_code} {code}"[:200], retry=code not in PERMANENT_CODES)
        except Exception as exc:  # no answer: the SDK raises its own wrappers of the transport's errors
            return Result(False, _transport_failure(exc, self.timeout))
        if answer.code == "OK":
            return Result(True, f"Code OK BizId {answer.biz_id}"[:200])
        return Result(False, f"Code {answer.code} {answer.message or ''}"[:200], retry=answer.code not in PERMANENT_CODES)


def _transport_failure(exc, timeout):
    name = exc.__class__.__name__
    described = f"{name} {exc}".lower()
    if "timeout" in described or "timed out" in described:
        return f"timeout after {timeout:g} s"
    return f"no answer ({name})"
