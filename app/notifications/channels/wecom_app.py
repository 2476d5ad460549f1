"""企业微信应用消息 (WeCom application message) to one person, where the centre has a WeCom app.

WeCom's server API: GET /cgi-bin/gettoken?corpid=…&corpsecret=… gives an access_token valid for
`expires_in` seconds (7200), kept per process and fetched again when WeCom says it expired (42001) or is
invalid (40014); POST /cgi-bin/message/send?access_token=… with {"touser": <WeCom user id>, "msgtype": "text",
"agentid": …, "text": {"content": …}} sends it. A user id WeCom does not know comes back in `invaliduser`.
"""
import threading
import time

import requests

from app.notifications.channels.base import Channel, Result, errcode_result, post_json

TOKEN_EXPIRED = {40014, 42001}
_tokens: dict = {}  # (api base, corp id, agent id) -> (token, monotonic expiry)
_lock = threading.Lock()


class WeComApp(Channel):
    kind = "wecom_app"
    personal = True

    def __init__(self, config):
        super().__init__(config)
        self.base = (config.get("WECOM_API_BASE") or "https://qyapi.weixin.qq.com").rstrip("/")
        self.corp_id, self.secret = config.get("WECOM_CORP_ID"), config.get("WECOM_APP_SECRET")
        self.agent_id = config.get("WECOM_AGENT_ID")

    def send(self, message, target):
        for fresh in (False, True):
            token, failure = self._token(fresh)
            if failure:
                return failure
            body = {"touser": target.address, "msgtype": "text", "agentid": int(self.agent_id),
                    "text": {"content": message.text}, "safe": 0}
            response, failure = post_json(f"{self.base}/cgi-bin/message/send?access_token={token}", body,
                                          timeout=self.timeout)
            if failure:
                return failure
            result = errcode_result(response)
            code, invalid = _answer(response)
            if code in TOKEN_EXPIRED and not fresh:
                continue
            if result.ok and invalid:
                return Result(False, f"errcode 0, unknown user id {invalid[:40]}", retry=False)
            return result
        return result

    def _token(self, fresh):
        key = (self.base, self.corp_id, self.agent_id)
        with _lock:
            known = _tokens.get(key)
            if known and not fresh and known[1] > time.monotonic():
                return known[0], None
            try:
                response = requests.get(f"{self.base}/cgi-bin/gettoken",
                                        params={"corpid": self.corp_id, "corpsecret": self.secret}, timeout=self.timeout)
            except requests.Timeout:
                return None, Result(False, f"gettoken: timeout after {self.timeout:g} s")
            except requests.RequestException as exc:
                return None, Result(False, f"gettoken: no answer ({exc.__class__.__name__})")
            result = errcode_result(response)
            if not result.ok:
                return None, Result(False, "gettoken: " + result.answer)
            answer = response.json()
            # Ask again a few minutes before WeCom says it expires.
            _tokens[key] = (answer["access_token"], time.monotonic() + int(answer.get("expires_in", 7200)) - 300)
            return answer["access_token"], None


def _answer(response):
    try:
        answer = response.json()
    except ValueError:
        return None, ""
    return answer.get("errcode"), str(answer.get("invaliduser") or "")
