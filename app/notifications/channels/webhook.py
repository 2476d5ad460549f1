"""A generic outgoing webhook for a hospital's (or a school's) own system: JSON, signed with HMAC-SHA256.

Headers: `X-XinQiao-Event` (the event key: the same event is never delivered as two events),
`X-XinQiao-Delivery` (this delivery's id: a retry carries the same one), `X-XinQiao-Timestamp` (Unix seconds) and
`X-XinQiao-Signature: sha256=<hex HMAC-SHA256(secret, f"{timestamp}.{body}")>`, so that the receiver can check
that the request is ours and fresh (refuse a timestamp more than five minutes old). Any 2xx answer is taken as
delivered; 408, 429 and 5xx are retried with backoff by the delivery service, other 4xx are not.
"""
import hashlib
import hmac
import json
import time

from app.notifications.channels.base import Channel, Result, post_json


def signature(secret: str, timestamp: int, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), str(timestamp).encode("ascii") + b"." + body,
                                hashlib.sha256).hexdigest()


def payload(message) -> dict:
    return {"event": message.event, "kind": message.kind, "case_number": message.case_number,
            "level": message.level, "school": message.school, "link": message.link,
            "occurred_at": message.occurred_at, "delivery_id": message.delivery_id}


class Webhook(Channel):
    kind = "webhook"

    def send(self, message, target):
        body = json.dumps(payload(message), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        timestamp = int(time.time())
        headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "XinQiao-Webhook/1",
                   "X-XinQiao-Event": message.event, "X-XinQiao-Delivery": str(message.delivery_id),
                   "X-XinQiao-Timestamp": str(timestamp),
                   "X-XinQiao-Signature": signature(target.secret, timestamp, body)}
        response, failure = post_json(target.url, None, data=body, headers=headers, timeout=self.timeout)
        if failure:
            return failure
        status = response.status_code
        if 200 <= status < 300:
            return Result(True, f"HTTP {status}")
        return Result(False, f"HTTP {status}", retry=status in (408, 429) or status >= 500)
