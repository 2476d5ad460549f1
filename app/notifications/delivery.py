"""Delivery of notices by SMS, WeCom, DingTalk and webhooks: queued with the notice, sent after its commit.

queue_* write Delivery rows in the caller's transaction (the alert, its inbox rows and its deliveries land
together, or none does). Nothing is sent there: deliver_due() runs after the response of the request that made
them (the same hook as e-mail) and from every `flask alerts sweep`. Each delivery is claimed before it is sent,
so two runs never send it twice, and one row per event, channel and recipient means none is queued twice.
A failed attempt is tried again later with backoff (CHANNEL_RETRY_SECONDS doubled each time) until
CHANNEL_MAX_ATTEMPTS; every attempt is kept with the provider's answer.
"""
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from flask import current_app
from flask_babel import force_locale, gettext as _
from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import exists, func, or_, select, update

from app.accounts.models import Role, User
from app.auth import policy
from app.core import clock
from app.extensions import db
from app.notifications import channels
from app.notifications.kinds import kind_label
from app.notifications.models import Delivery, DeliveryAttempt, DeliveryState, DutyGroup, UserChannel
from app.orgs.models import Partnership, School
from app.risk.models import Alert, AlertStatus
from app.web import RISK_LABELS

logger = logging.getLogger(__name__)

STALE_CLAIM = timedelta(minutes=15)  # a run that died mid-send: its claims are released after this
ALERT_KINDS = ("alert_critical_opened", "alert_high_opened", "alert_escalated")
ACK_SALT = "xinqiao-alert-ack"
ACK_PATH = "/ack/"


def notice_level(kind, alert_level=None) -> str:
    """What a recipient chooses channels for: critical (always every channel), high, or referral changes."""
    if kind == "alert_critical_opened" or (kind == "alert_escalated" and alert_level == "critical"):
        return "critical"
    if kind in ALERT_KINDS:
        return "high"
    return "referral"


def _wants(levels, level) -> bool:
    return level == "critical" or level in (levels or ())


# --- queueing (in the caller's transaction) ---------------------------------------------------------------------

def queue_for_users(notices) -> int:
    """Deliveries for notices [(user_id, event, kind, level, case_number, link, alert_id, school_id)] to each
    user's verified channels that want the level. One query for the channels, one insert. Returns the count."""
    notices = list(notices)
    if not notices:
        return 0
    available = set(channels.personal_available(current_app.config))
    if not available:
        return 0
    by_user = {}
    for user_id, channel, levels in db.session.execute(
            select(UserChannel.user_id, UserChannel.channel, UserChannel.levels)
            .join(User, User.id == UserChannel.user_id)
            .where(UserChannel.user_id.in_({n[0] for n in notices}), UserChannel.verified_at.is_not(None),
                   User.active.is_(True))):
        if channel in available:
            by_user.setdefault(user_id, []).append((channel, levels))
    rows = [_row(event, channel, f"user:{user_id}", kind, level, case, link, alert_id, school_id, user_id=user_id)
            for user_id, event, kind, level, case, link, alert_id, school_id in notices
            for channel, levels in by_user.get(user_id, ()) if _wants(levels, level)]
    return _insert(rows)


def queue_for_duty_groups(alerts) -> int:
    """Deliveries of alert notices [(event, kind, level, case_number, link, alert_id, school_id)] to the duty
    groups of the school and, for what its doctors hear (critical alerts, escalations), of its partner hospitals."""
    alerts = list(alerts)
    if not alerts:
        return 0
    today = clock.today()
    groups_of = {}
    for school_id in {a[6] for a in alerts}:
        hospitals = select(Partnership.hospital_id).where(Partnership.school_id == school_id,
                                                          Partnership.signed_on <= today, Partnership.expires_on >= today)
        groups_of[school_id] = db.session.execute(
            select(DutyGroup.id, DutyGroup.channel, DutyGroup.levels, DutyGroup.hospital_id)
            .where(DutyGroup.active.is_(True),
                   or_(DutyGroup.school_id == school_id, DutyGroup.hospital_id.in_(hospitals)))
            .order_by(DutyGroup.id)).all()
    rows = []
    for event, kind, level, case, link, alert_id, school_id in alerts:
        for group_id, channel, levels, hospital_id in groups_of[school_id]:
            if hospital_id is not None and kind == "alert_high_opened":
                continue  # a high alert's opening pages the school's teachers only, as the inbox does
            if _wants(levels, level):
                rows.append(_row(event, channel, f"group:{group_id}", kind, level, case, link, alert_id, school_id,
                                 duty_group_id=group_id))
    return _insert(rows)


def _row(event, channel, recipient, kind, level, case_number, link, alert_id, school_id, **who):
    now = clock.now()
    return dict(event=event, channel=channel, recipient=recipient, kind=kind, level=level, case_number=case_number,
                link=link, alert_id=alert_id, school_id=school_id, state=DeliveryState.PENDING, attempts=0,
                next_attempt_at=now, created_at=now, user_id=who.get("user_id"), duty_group_id=who.get("duty_group_id"))


def _insert(rows) -> int:
    if not rows:
        return 0
    existing = set(db.session.execute(select(Delivery.event, Delivery.channel, Delivery.recipient).where(
        Delivery.event.in_({r["event"] for r in rows}))).tuples())
    rows = [r for r in rows if (r["event"], r["channel"], r["recipient"]) not in existing]
    if rows:
        db.session.connection().execute(Delivery.__table__.insert(), rows)
    return len(rows)


# --- sending (outside any request transaction) --------------------------------------------------------------------

def deliver_due(limit=200, only=None) -> tuple[int, int]:
    """Send every delivery that is due (or those of `only`, ids); returns (sent, failed attempts). Commits its own
    claims and results: call it after the request's commit. Safe to run from several processes at once."""
    cfg = current_app.config
    now = clock.now()
    db.session.execute(update(Delivery).where(Delivery.state == DeliveryState.SENDING,
                                              Delivery.claimed_at < now - STALE_CLAIM)
                       .values(state=DeliveryState.PENDING).execution_options(synchronize_session=False))
    db.session.commit()
    query = select(Delivery.id).where(Delivery.state == DeliveryState.PENDING, Delivery.next_attempt_at <= now)
    if only is not None:
        query = query.where(Delivery.id.in_(list(only)))
    due = db.session.scalars(query.order_by(Delivery.id).limit(limit)).all()
    jobs = []
    for delivery_id in due:
        if not _claim(delivery_id, now):
            continue
        delivery = db.session.get(Delivery, delivery_id)
        job = _prepare(delivery, cfg)
        if isinstance(job, channels.Result):  # cannot be sent at all (channel switched off, address removed)
            _record(delivery, job, cfg)
        else:
            jobs.append((delivery, *job))
    db.session.commit()
    if not jobs:
        return 0, 0
    # The providers are called in parallel: one slow provider must not hold the others' critical alerts.
    with ThreadPoolExecutor(max_workers=min(len(jobs), int(cfg["CHANNEL_PARALLEL_SENDS"]))) as pool:
        results = list(pool.map(_send, [(channel, message, target) for _d, channel, message, target in jobs]))
    sent = failed = 0
    for (delivery, _channel, _message, _target), result in zip(jobs, results):
        _record(delivery, result, cfg)
        sent, failed = sent + result.ok, failed + (not result.ok)
    db.session.commit()
    return sent, failed


def _claim(delivery_id, now) -> bool:
    claimed = db.session.execute(
        update(Delivery).where(Delivery.id == delivery_id, Delivery.state == DeliveryState.PENDING)
        .values(state=DeliveryState.SENDING, claimed_at=now, attempts=Delivery.attempts + 1)
        .execution_options(synchronize_session=False))
    db.session.commit()
    return claimed.rowcount == 1


def _send(job):
    channel, message, target = job
    try:
        return channel.send(message, target)
    except Exception as exc:  # an adapter's bug must not lose the record of the attempt
        logger.exception("channel %s failed", channel.kind)
        return channels.Result(False, f"error ({exc.__class__.__name__})")


def _record(delivery, result, cfg):
    now = clock.now()
    db.session.refresh(delivery)
    db.session.add(DeliveryAttempt(delivery_id=delivery.id, at=now, ok=result.ok, answer=result.answer[:200]))
    delivery.last_answer = result.answer[:200]
    if result.ok:
        delivery.state, delivery.sent_at = DeliveryState.SENT, now
    elif not result.retry or delivery.attempts >= int(cfg["CHANNEL_MAX_ATTEMPTS"]):
        delivery.state = DeliveryState.FAILED
        logger.warning("delivery %s by %s given up after %s attempts", delivery.id, delivery.channel, delivery.attempts)
    else:
        delivery.state = DeliveryState.PENDING
        delivery.next_attempt_at = now + retry_delay(delivery.attempts, cfg)


def retry_delay(attempts, cfg) -> timedelta:
    """Backoff: CHANNEL_RETRY_SECONDS after the first failure, doubling, at most an hour."""
    return timedelta(seconds=min(3600, int(cfg["CHANNEL_RETRY_SECONDS"]) * 2 ** max(0, attempts - 1)))


def _prepare(delivery, cfg):
    """(channel, message, target) for a claimed delivery, or the Result that says why it cannot be sent."""
    channel = channels.channel_for(delivery.channel, cfg)
    if channel is None:
        return channels.Result(False, "channel not configured", retry=False)
    if delivery.user_id is not None:
        address = db.session.scalar(select(UserChannel.address).where(
            UserChannel.user_id == delivery.user_id, UserChannel.channel == delivery.channel,
            UserChannel.verified_at.is_not(None)))
        if address is None or not delivery.user.active:
            return channels.Result(False, "the person has no verified address any more", retry=False)
        target = channels.Target(address=address)
    else:
        group = delivery.duty_group
        if group is None or not group.active:
            return channels.Result(False, "duty group removed or switched off", retry=False)
        target = channels.Target(url=group.url, secret=group.secret or "")
    return channel, compose(delivery, cfg), target


def compose(delivery, cfg) -> channels.Message:
    """The message: kind, case number, level, school and links, in the deployment's language. Nothing else."""
    base = cfg["XINQIAO_BASE_URL"].rstrip("/")
    school = db.session.scalar(select(School.name).where(School.id == delivery.school_id)) if delivery.school_id else ""
    ack = base + ACK_PATH + ack_token(delivery.id) if _may_ack_from_message(delivery) else ""
    with force_locale(cfg["BABEL_DEFAULT_LOCALE"]):
        title = str(kind_label(delivery.kind))
        level = str(RISK_LABELS[delivery.level]) if delivery.level in RISK_LABELS else ""
        lines = [_("XinQiao: %(what)s, case %(case)s", what=title, case=delivery.case_number)]
        if level or school:
            lines.append(" · ".join(part for part in (level, school or "") if part))
        lines.append(_("Open it in XinQiao (sign-in required): %(url)s", url=base + delivery.link))
        if ack:
            lines.append(_("Acknowledge in one tap: %(url)s", url=ack))
        lines.append(_("This message carries no student details on purpose. Do not forward it."))
    return channels.Message(event=delivery.event, kind=delivery.kind, title=title, case_number=delivery.case_number,
                            level=delivery.level, level_label=level, school=school or "", link=base + delivery.link,
                            ack_link=ack, delivery_id=delivery.id, occurred_at=delivery.created_at.isoformat(),
                            lines=tuple(lines))


# --- acknowledging from the message -------------------------------------------------------------------------------

def _may_ack_from_message(delivery) -> bool:
    """Only a personal message about an open alert, to a person who may acknowledge it, carries the link."""
    if delivery.user_id is None or delivery.alert_id is None or delivery.kind not in ALERT_KINDS:
        return False
    alert = db.session.get(Alert, delivery.alert_id)
    return alert is not None and alert.status == AlertStatus.OPEN and policy.can(delivery.user, "acknowledge_alert", alert)


class _ClockSigner(TimestampSigner):
    """Links age by the application's clock (app/core/clock.py), as every other deadline does."""

    def get_timestamp(self) -> int:
        return int(clock.now().timestamp())


def _serializer():
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=ACK_SALT, signer=_ClockSigner)


def ack_token(delivery_id) -> str:
    return _serializer().dumps(delivery_id)


def delivery_for_ack(token):
    """The delivery whose one-tap link this is, while the link is fresh, unused and still allowed; else None."""
    try:
        delivery_id = _serializer().loads(token, max_age=int(current_app.config["ACK_LINK_MINUTES"]) * 60)
    except BadSignature:  # wrong, forged or expired (SignatureExpired is a BadSignature)
        return None
    delivery = db.session.get(Delivery, delivery_id) if isinstance(delivery_id, int) else None
    if delivery is None or delivery.ack_used_at is not None or delivery.user is None or not delivery.user.active:
        return None
    if not _may_ack_from_message(delivery):
        return None
    return delivery


def use_ack_link(delivery) -> bool:
    """Mark the link used (once: a conditional update, so two taps at the same moment acknowledge once)."""
    used = db.session.execute(update(Delivery).where(Delivery.id == delivery.id, Delivery.ack_used_at.is_(None))
                              .values(ack_used_at=clock.now()).execution_options(synchronize_session=False))
    return used.rowcount == 1


# --- what the pages show --------------------------------------------------------------------------------------------

def alert_deliveries(alert_id):
    """Every delivery of an alert's notices, the earliest first, with their people and groups loaded."""
    return db.session.scalars(select(Delivery).where(Delivery.alert_id == alert_id).order_by(Delivery.id)).all()


def _unreached():
    """Open critical alerts that have deliveries, every one of which has been tried and none of which went out."""
    reached_or_trying = exists().where(
        Delivery.alert_id == Alert.id,
        or_(Delivery.state.in_((DeliveryState.SENT, DeliveryState.SENDING)), Delivery.attempts == 0))
    return (Alert.level == "critical", Alert.status == AlertStatus.OPEN,
            exists().where(Delivery.alert_id == Alert.id), ~reached_or_trying)


def unreached_critical_alerts(user, limit=20):
    """The critical alerts `user` may see that no channel could deliver: a problem on the dashboards."""
    return db.session.scalars(policy.scoped(user, Alert).where(*_unreached()).order_by(Alert.opened_at)
                              .limit(limit)).all()


def count_unreached_critical_alerts(connection=None) -> int:
    """How many open critical alerts no channel could deliver, across the deployment (for /metrics, which passes
    its read-only connection: a scrape must answer while the database takes no writes)."""
    query = select(func.count(Alert.id)).where(*_unreached())
    return (connection.execute(query).scalar() if connection is not None else db.session.scalar(query)) or 0
