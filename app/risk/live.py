"""Live alerts on every open staff page (issue 17, item 2): one small JSON answer that the pages poll.

A whole school's teachers (and the partner hospitals' doctors) hold it open all day, so it is cheap by design:
two indexed queries inside the caller's policy scope, no student name or clinical text in the body (the banner
may be seen over a shoulder: a case number, a level and a link, as in a notification), and an ETag so that an
unchanged answer is a bodyless 304. bench/bench_live_alerts.py measures it.
"""
import hashlib
import json

from flask import Blueprint, Response, request, url_for
from flask_login import current_user
from sqlalchemy import select

from app.accounts.models import Role
from app.auth import policy
from app.core import clock
from app.extensions import db
from app.notifications import services as notifications
from app.risk.models import Alert, AlertStatus, alert_case_number
from app.web import REASON_LABELS, RISK_LABELS, label

bp = Blueprint("live_alerts", __name__)
policy.guard_blueprint(bp, roles=policy.STAFF_ROLES)

LIVE_LEVELS = ("critical", "high")
# Who hears of new alerts on their open pages: the people who act on them. Homeroom teachers see no alert, and
# the district admin supervises rather than responds.
LIVE_ROLES = frozenset({Role.TEACHER, Role.DOCTOR})
BANNER_LIMIT = 5


# The scoped statement of each signed-in user, built once a day: building the policy's SQL expression costs more
# than running it (bench/results/live_alerts.json), and it depends only on the user's role, organisations and
# today's date (every other fact, e.g. a partnership or a consent, is a subquery evaluated at each run).
_STATEMENTS: dict = {}
_STATEMENTS_MAX = 10_000
COUNT_LIMIT = 100  # more open urgent alerts than this show as "100"


def _urgent_statement(user):
    key = (user.id, user.role, user.school_id, user.class_group_id, user.hospital_id, clock.today())
    statement = _STATEMENTS.get(key)
    if statement is None:
        if len(_STATEMENTS) >= _STATEMENTS_MAX:
            _STATEMENTS.clear()
        statement = (select(Alert.id, Alert.level, Alert.reason)
                     .where(policy.scope(user, Alert), Alert.status == AlertStatus.OPEN, Alert.level.in_(LIVE_LEVELS))
                     .order_by(Alert.id.desc()).limit(COUNT_LIMIT))
        _STATEMENTS[key] = statement
    return statement


def open_urgent_alerts(user):
    """(count, newest few) of the open, unacknowledged critical and high alerts the user may see: one query."""
    if user.role not in LIVE_ROLES:
        return 0, []
    rows = db.session.execute(_urgent_statement(user)).all()
    return len(rows), rows[:BANNER_LIMIT]


def live_payload(user) -> dict:
    count, rows = open_urgent_alerts(user)
    return {
        "inbox_unread": notifications.unread_count(user),
        "open_urgent": count,
        "alerts": [{"id": alert_id, "case_number": alert_case_number(alert_id), "level": level,
                    "level_label": str(label(RISK_LABELS, level)), "reason_label": str(label(REASON_LABELS, reason)),
                    "url": url_for("risk.alert_page", alert_id=alert_id)} for alert_id, level, reason in rows],
    }


@bp.get("/live/alerts.json")
@policy.passive  # polling all day must not keep an unattended session from its idle timeout
def feed():
    """The open urgent alerts and the inbox count; 304 when nothing changed since the page's last answer."""
    body = json.dumps(live_payload(current_user), ensure_ascii=False, separators=(",", ":")).encode()
    etag = hashlib.blake2b(body, digest_size=12).hexdigest()
    headers = {"ETag": f'"{etag}"', "Cache-Control": "private, no-cache", "Vary": "Cookie"}
    if request.if_none_match.contains(etag):
        return Response(status=304, headers=headers)
    return Response(body, mimetype="application/json", headers=headers)
