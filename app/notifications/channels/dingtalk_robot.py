"""钉钉自定义机器人 (DingTalk custom robot) in signed mode: a school's or a hospital's duty group.

DingTalk's "加签" security setting: the request carries `timestamp` (milliseconds) and
`sign` = urlencode(base64(HMAC-SHA256(key=secret, msg=f"{timestamp}\\n{secret}"))) as query parameters, and
DingTalk refuses a timestamp more than an hour away from its clock. The admin pastes the webhook address
(https://oapi.dingtalk.com/robot/send?access_token=…) and the secret (SEC…); both are stored encrypted.
"""
import base64
import hashlib
import hmac
import time
from urllib.parse import quote_plus

from app.notifications.channels.base import Channel, Result, errcode_result, post_json

PERMANENT_ERRCODES = {300001, 310000, 400013}  # token missing or wrong, signature refused, robot disabled


def sign(secret: str, timestamp_ms: int) -> str:
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode("utf-8"), hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest).decode("ascii"))


def signed_url(url: str, secret: str, timestamp_ms: int | None = None) -> str:
    if not secret:
        return url
    timestamp_ms = timestamp_ms if timestamp_ms is not None else int(time.time() * 1000)
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}timestamp={timestamp_ms}&sign={sign(secret, timestamp_ms)}"


class DingTalkRobot(Channel):
    kind = "dingtalk_robot"

    def send(self, message, target):
        response, failure = post_json(signed_url(target.url, target.secret),
                                      {"msgtype": "text", "text": {"content": message.text}}, timeout=self.timeout)
        if failure:
            return failure
        result = errcode_result(response)
        try:
            code = response.json().get("errcode")
        except ValueError:
            code = None
        if not result.ok and code in PERMANENT_ERRCODES:
            return Result(False, result.answer, retry=False)
        return result
