"""企业微信群机器人 (WeCom group robot): a school's or a hospital's duty group.

The admin pastes the robot's webhook address as WeCom shows it
(https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…); the key in it is the credential, so it is stored
encrypted. WeCom takes {"msgtype": "text", "text": {"content": …}} and answers {"errcode": 0, "errmsg": "ok"}.
"""
from app.notifications.channels.base import Channel, Result, errcode_result, post_json

# 45009: the robot's limit (20 messages a minute) was hit: worth another try later. 93000: the key is wrong.
PERMANENT_ERRCODES = {93000, 93004, 93008}


class WeComRobot(Channel):
    kind = "wecom_robot"

    def send(self, message, target):
        response, failure = post_json(target.url, {"msgtype": "text", "text": {"content": message.text}},
                                      timeout=self.timeout)
        if failure:
            return failure
        result = errcode_result(response)
        if not result.ok and _errcode(response) in PERMANENT_ERRCODES:
            return Result(False, result.answer, retry=False)
        return result


def _errcode(response):
    try:
        return response.json().get("errcode")
    except ValueError:
        return None
