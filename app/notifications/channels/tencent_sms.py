"""腾讯云短信 (Tencent Cloud SMS) through Tencent's own SDK (tencentcloud-sdk-python-sms): SendSms, 2021-01-11.

The SDK signs each request (TC3-HMAC-SHA256) with the SecretId/SecretKey; we never sign by hand. A message is a
pre-approved template (TENCENT_SMS_TEMPLATE_ALERT with {1} case, {2} level, {3} school, {4} link;
TENCENT_SMS_TEMPLATE_CODE with {1} code) and its parameters in that order. Tencent answers with one
SendStatus per number, Code "Ok" when it took the message; an Error in the Response is a refusal of the request.
TENCENT_SMS_ENDPOINT and TENCENT_SMS_SCHEME point the SDK elsewhere (the tests' local server).
"""
from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.sms.v20210111 import models, sms_client

from app.notifications.channels.base import Channel, Result

PERMANENT_CODES = {"InvalidParameterValue.IncorrectPhoneNumber", "FailedOperation.TemplateIncorrectOrUnapproved",
                   "FailedOperation.SignatureIncorrectOrUnapproved", "InvalidParameterValue.TemplateParameterFormatError",
                   "AuthFailure.SecretIdNotFound", "AuthFailure.SignatureFailure", "UnauthorizedOperation.SmsSdkAppIdVerifyFail"}


def e164(phone: str) -> str:
    """Tencent wants +86 numbers; a Chinese mobile number written without the country code gets it."""
    return phone if phone.startswith("+") else "+86" + phone


class TencentSms(Channel):
    kind = "sms"
    personal = True

    def __init__(self, config):
        super().__init__(config)
        self.secret_id, self.secret_key = config.get("TENCENT_SMS_SECRET_ID"), config.get("TENCENT_SMS_SECRET_KEY")
        self.app_id, self.sign_name = config.get("TENCENT_SMS_SDK_APP_ID"), config.get("TENCENT_SMS_SIGN_NAME")
        self.templates = {"alert": config.get("TENCENT_SMS_TEMPLATE_ALERT"), "code": config.get("TENCENT_SMS_TEMPLATE_CODE")}
        self.region = config.get("TENCENT_SMS_REGION") or "ap-guangzhou"
        self.endpoint = config.get("TENCENT_SMS_ENDPOINT") or "sms.tencentcloudapi.com"
        self.scheme = config.get("TENCENT_SMS_SCHEME") or "https"


    def _client(self):
        http = HttpProfile(protocol=self.scheme, endpoint=self.endpoint, reqMethod="POST",
                           reqTimeout=max(1, round(self.timeout)))
        profile = ClientProfile(signMethod="TC3-HMAC-SHA256", httpProfile=http)
        return sms_client.SmsClient(credential.Credential(self.secret_id, self.secret_key), self.region, profile)

    def send(self, message, target):
        request = models.SendSmsRequest()
        request.PhoneNumberSet = [e164(target.address)]
        request.SmsSdkAppId, request.SignName = self.app_id, self.sign_name
        if message.kind == "verify_code":
            request.TemplateId, request.TemplateParamSet = self.templates["code"], [message.code]
        else:
            params = message.template_params()
            request.TemplateId = self.templates["alert"]
            request.TemplateParamSet = [params["case"], params["level"], params["school"], params["link"]]
        request.SessionContext = str(message.delivery_id)
        try:
            answer = self._client().SendSms(request)
        except TencentCloudSDKException as exc:
            code = str(exc.get_code() or "")
            if code in ("ClientNetworkError", "ServerNetworkError") or "timeout" in str(exc.get_message()).lower():
                return Result(False, _network_failure(exc, self.timeout))
            return Result(False, f"Error {code}"[:200], retry=code not in PERMANENT_CODES)
        status = (answer.SendStatusSet or [None])[0]
        if status is None:
            return Result(False, "no SendStatus in the answer")
        if status.Code == "Ok":
            return Result(True, f"Code Ok SerialNo {status.SerialNo}"[:200])
        return Result(False, f"Code {status.Code} {status.Message or ''}"[:200], retry=status.Code not in PERMANENT_CODES)


def _network_failure(exc, timeout):
    message = str(exc.get_message()).lower()
    if "timeout" in message or "timed out" in message:
        return f"timeout after {timeout:g} s"
    return f"no answer ({exc.get_code()})"
