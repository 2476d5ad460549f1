"""A person's own channels (verified by a code sent through the channel itself) and the duty groups.

Services in the house style: they take the acting user, flush and never commit. Sending a code or a test
message happens after the caller's commit (send_code, send_test): never inside a transaction.
"""
import hashlib
import hmac
import secrets
from datetime import timedelta

from flask import current_app
from flask_babel import force_locale, gettext as _
from sqlalchemy import select

from app.audit import services as audit
from app.core import clock
from app.extensions import db
from app.notifications import channels
from app.notifications.models import Delivery, DeliveryState, DutyGroup, UserChannel

CODE_MINUTES = 10       # a code works this long
CODE_TRIES = 5          # then a new code is needed
RESEND_SECONDS = 60     # at most one code a minute
USER_LEVELS = ("high", "referral")


class ChannelError(ValueError):
    """A rule of the channel settings was broken; `code` names it for the view's message."""

    def __init__(self, code):
        super().__init__(code)
        self.code = code


def my_channels(user) -> dict:
    return {c.channel: c for c in db.session.scalars(select(UserChannel).where(UserChannel.user_id == user.id))}


def _code_hash(user_channel_id, code) -> str:
    key = current_app.config["SECRET_KEY"].encode("utf-8")
    return hmac.new(key, f"{user_channel_id}:{code}".encode("ascii"), hashlib.sha256).hexdigest()


def start_verification(user, kind, address) -> tuple[UserChannel, str]:
    """Set the address of `user`'s channel `kind` (unverified until the code comes back); returns the code to send."""
    if kind not in channels.personal_available(current_app.config):
        raise ChannelError("not_available")
    channel = my_channels(user).get(kind)
    now = clock.now()
    if channel is not None and channel.code_sent_at and (now - channel.code_sent_at).total_seconds() < RESEND_SECONDS:
        raise ChannelError("too_soon")
    if channel is None:
        channel = UserChannel(user_id=user.id, channel=kind, levels=["high"], created_at=now)
        db.session.add(channel)
    channel.address, channel.verified_at, channel.code_tries, channel.code_sent_at = address, None, 0, now
    db.session.flush()
    code = f"{secrets.randbelow(10 ** 6):06d}"
    channel.code_hash = _code_hash(channel.id, code)
    audit.record(user, "channel_address_set", "user", user.id, detail={"channel": kind})
    return channel, code


def send_code(channel: UserChannel, code: str) -> channels.Result:
    """Send the code through the channel itself (after the caller's commit)."""
    cfg = current_app.config
    sender = channels.channel_for(channel.channel, cfg)
    if sender is None:
        return channels.Result(False, "channel not configured", retry=False)
    with force_locale(cfg["BABEL_DEFAULT_LOCALE"]):
        lines = (_("XinQiao verification code: %(code)s. It works for %(minutes)s minutes.", code=code,
                   minutes=CODE_MINUTES),)
    message = channels.Message(event=f"verify:{channel.id}", kind="verify_code", title="", code=code,
                               delivery_id=0, lines=lines)
    return sender.send(message, channels.Target(address=channel.address))


def verify_code(user, kind, code) -> UserChannel:
    channel = my_channels(user).get(kind)
    now = clock.now()
    if channel is None or channel.code_hash is None or channel.verified_at is not None:
        raise ChannelError("no_code")
    if channel.code_tries >= CODE_TRIES or now - channel.code_sent_at > timedelta(minutes=CODE_MINUTES):
        raise ChannelError("code_expired")
    channel.code_tries += 1
    if not hmac.compare_digest(channel.code_hash, _code_hash(channel.id, code)):
        raise ChannelError("wrong_code")
    channel.verified_at, channel.code_hash = now, None
    audit.record(user, "channel_verified", "user", user.id, detail={"channel": kind})
    return channel


def set_levels(user, kind, levels) -> UserChannel:
    channel = my_channels(user).get(kind)
    if channel is None or channel.verified_at is None:
        raise ChannelError("no_code")
    channel.levels = [level for level in USER_LEVELS if level in levels]
    audit.record(user, "channel_levels_set", "user", user.id, detail={"channel": kind, "levels": channel.levels})
    return channel


def remove_channel(user, kind) -> None:
    channel = my_channels(user).get(kind)
    if channel is None:
        raise ChannelError("no_code")
    db.session.delete(channel)
    audit.record(user, "channel_removed", "user", user.id, detail={"channel": kind})


def masked(address: str) -> str:
    """138****0001: enough to recognise one's own number on a shared screen."""
    return address[:3] + "****" + address[-4:] if len(address) >= 8 else address[:2] + "…"


# --- duty groups ------------------------------------------------------------------------------------------------

def add_duty_group(data, *, school_id, hospital_id, by) -> DutyGroup:
    group = DutyGroup(school_id=school_id, hospital_id=hospital_id, channel=data["channel"], name=data["name"].strip(),
                      url=data["url"].strip(), secret=(data.get("secret") or "").strip() or None,
                      levels=["high"] if data.get("high") else [], active=True, created_at=clock.now(),
                      created_by_id=by.id)
    db.session.add(group)
    db.session.flush()
    audit.record(by, "duty_group_added", "duty_group", group.id, detail={"channel": group.channel})
    return group


def set_duty_group_active(group, active, *, by) -> None:
    group.active = active
    audit.record(by, "duty_group_changed", "duty_group", group.id, detail={"active": active})


def queue_test(group, *, by) -> Delivery:
    """A test message to the group, queued as a delivery (so the attempt is recorded like any other)."""
    now = clock.now()
    row = Delivery(event=f"test:{group.id}:{int(now.timestamp() * 1000)}", channel=group.channel,
                   recipient=f"group:{group.id}", duty_group_id=group.id, kind="channel_test", level="critical",
                   case_number="", link="/", state=DeliveryState.PENDING, attempts=0, next_attempt_at=now,
                   created_at=now)
    db.session.add(row)
    db.session.flush()
    audit.record(by, "duty_group_tested", "duty_group", group.id)
    return row


def last_deliveries(group_ids) -> dict:
    """group id -> its latest delivery (to show whether the group is reachable)."""
    latest = {}
    for row in db.session.scalars(select(Delivery).where(Delivery.duty_group_id.in_(list(group_ids)))
                                  .order_by(Delivery.id)):
        latest[row.duty_group_id] = row
    return latest


def host_of(url: str) -> str:
    """What the list shows of a webhook address: its host, never the key in it."""
    rest = url.split("://", 1)[-1]
    return rest.split("/", 1)[0].split("?", 1)[0]

