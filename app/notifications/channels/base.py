"""The one small interface every channel implements, and the HTTP plumbing the webhook-style ones share.

A channel turns a Message (a case number, the level, the school and links: never a student's name, answers or
clinical text) into one request to its provider and says what the provider answered. It never touches the
database: the delivery service (app/notifications/delivery.py) claims, schedules retries and records attempts.
"""
from dataclasses import dataclass, field

import requests


@dataclass(frozen=True)
class Message:
    """What is sent. Built by the delivery service from a notice; nothing else can reach a provider."""
    event: str                 # the notice's event key, e.g. "alert:12:opened" (the webhook's idempotency key)
    kind: str                  # alert_critical_opened, alert_escalated, referral_sent …, verify_code, test
    title: str                 # the kind in the deployment's language, e.g. "紧急预警"
    case_number: str = ""
    level: str = ""            # critical / high / … ("" for referral notices)
    level_label: str = ""      # the level in the deployment's language
    school: str = ""
    link: str = ""             # the page in XinQiao (sign-in required)
    ack_link: str = ""         # one-tap acknowledgement (only in messages to a teacher who may acknowledge)
    code: str = ""             # a one-time verification code (kind verify_code only)
    delivery_id: int = 0
    occurred_at: str = ""      # ISO 8601, UTC
    lines: tuple = field(default_factory=tuple)  # the text, line by line, in the deployment's language

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def template_params(self) -> dict:
        """The variables of the provider's pre-approved SMS template (README: SMS templates)."""
        if self.kind == "verify_code":
            return {"code": self.code}
        return {"case": self.case_number, "level": self.level_label or self.title, "school": self.school,
                "link": self.ack_link or self.link}


@dataclass(frozen=True)
class Target:
    """Where to send: a person's address (phone number, WeCom user id) or a group's webhook and secret."""
    address: str = ""
    url: str = ""
    secret: str = ""


@dataclass(frozen=True)
class Result:
    ok: bool
    answer: str                # the provider's answer, short, never a secret (no URL, key or token)
    retry: bool = True         # False when sending again cannot help (a wrong number, a refused request)


class Channel:
    """A provider. `kind` names it in the database; `personal` ones reach one person at an address."""
    kind = ""
    personal = False

    def __init__(self, config):
        self.config = config
        self.timeout = float(config.get("CHANNEL_TIMEOUT_SECONDS", 5))

    def send(self, message: Message, target: Target) -> Result:
        raise NotImplementedError


def post_json(url, body, *, timeout, headers=None, data=None):
    """POST `body` as JSON; (response, None) or (None, Result) when no answer came (timeout, refused)."""
    try:
        if data is None:
            response = requests.post(url, json=body, headers=headers, timeout=timeout)
        else:
            response = requests.post(url, data=data, headers=headers, timeout=timeout)
        return response, None
    except requests.Timeout:
        return None, Result(False, f"timeout after {timeout:g} s")
    except requests.RequestException as exc:  # the message of a requests error names the URL: never stored
        return None, Result(False, f"no answer ({exc.__class__.__name__})")


def errcode_result(response) -> Result:
    """WeCom and DingTalk answer HTTP 200 with {"errcode": 0, "errmsg": "ok"} when they took the message."""
    if response.status_code != 200:
        return Result(False, f"HTTP {response.status_code}")
    try:
        answer = response.json()
    except ValueError:
        return Result(False, "HTTP 200, not JSON")
    code, text = answer.get("errcode"), str(answer.get("errmsg", ""))[:120]
    return Result(code == 0, f"errcode {code} {text}".strip())
