"""The in-app inbox and e-mail: who hears of an alert or a referral change, and delivery that never double-sends.

notify() writes inbox rows in the caller's transaction (so an alert and its notifications land together), and
queues the same notice for each recipient's own channels and for the duty groups (delivery.py). E-mail and
those channels go out later, outside that transaction: right after the response of the request that created
it, and from every `flask alerts sweep`. A notice is claimed before it is sent, so two delivery runs never send
the same one, and a failure leaves it pending for the next run.
"""
import logging
import smtplib
import ssl
from datetime import timedelta
from email.message import EmailMessage

from flask import current_app, g, has_request_context
from flask_babel import force_locale, gettext as _
from sqlalchemy import func, select, update

from app.accounts.models import Role, User
from app.core import clock
from app.extensions import db
from app.notifications import delivery
from app.notifications.kinds import KIND_LABELS, kind_label  # noqa: F401 (kind_label: the inbox's templates)
from app.notifications.models import MailState, Notification
from app.orgs.models import Partnership
from app.risk.models import alert_case_number

logger = logging.getLogger(__name__)

REFERRAL_KINDS = {"sent", "accepted", "declined", "assessed", "closed"}
STALE_CLAIM = timedelta(minutes=15)  # a delivery run that died mid-send: its claim is released after this


# --- who hears of what ----------------------------------------------------------------------------

def school_psychology_teachers(school_id):
    return list(db.session.scalars(select(User).where(
        User.role == Role.TEACHER, User.school_id == school_id, User.active.is_(True)).order_by(User.id)))


def hospital_doctors(hospital_id):
    return list(db.session.scalars(select(User).where(
        User.role == Role.DOCTOR, User.hospital_id == hospital_id, User.active.is_(True)).order_by(User.id)))


def duty_doctors_for_school(school_id):
    """Per partner hospital (agreement active today): its doctors on duty, or all its doctors when none is."""
    today = clock.today()
    hospital_ids = db.session.scalars(select(Partnership.hospital_id).where(
        Partnership.school_id == school_id, Partnership.in_force(today))
        .distinct().order_by(Partnership.hospital_id)).all()
    doctors = []
    for hospital_id in hospital_ids:
        staff = hospital_doctors(hospital_id)
        on_duty = [d for d in staff if d.on_duty]
        doctors.extend(on_duty or staff)
    return doctors


def alert_recipients(alert, *, exclude=None):
    """The school's psychology teachers and the partner hospitals' duty doctors."""
    return _teachers_and_duty_doctors(alert.school_id, exclude)


# --- writing notifications ------------------------------------------------------------------------

def mail_configured() -> bool:
    cfg = current_app.config
    return bool(cfg.get("MAIL_ENABLED") and cfg.get("SMTP_HOST"))


def notify(users, kind, case_number, link, *, dedup_key=None, email=False, alert=None, school_id=None):
    """One inbox row per user (skipping users who already have `dedup_key`); mail queued when wanted and possible,
    and the notice queued for each user's own channels (and, for an alert, its duty groups)."""
    users = list({u.id: u for u in users}.values())
    if dedup_key is not None and users:
        already = set(db.session.scalars(select(Notification.user_id).where(
            Notification.dedup_key == dedup_key, Notification.user_id.in_([u.id for u in users]))))
        users = [u for u in users if u.id not in already]
    mail_on = email and mail_configured()
    rows = []
    for user in users:
        rows.append(Notification(
            user_id=user.id, kind=kind, case_number=case_number, link=link, dedup_key=dedup_key,
            created_at=clock.now(),
            mail_state=_mail_state(mail_on, user),
        ))
    db.session.add_all(rows)
    db.session.flush()
    level = delivery.notice_level(kind, getattr(alert, "level", None))
    alert_id, school_id = (alert.id, alert.school_id) if alert is not None else (None, school_id)
    queued = delivery.queue_for_users(
        (row.user_id, row.dedup_key or f"notification:{row.id}", kind, level, case_number, link, alert_id, school_id)
        for row in rows)
    if alert is not None and dedup_key is not None:
        queued += delivery.queue_for_duty_groups([(dedup_key, kind, level, case_number, link, alert_id, school_id)])
    if queued or any(r.mail_state == MailState.PENDING for r in rows):
        _mail_pending()
    return rows


def _mail_state(mail_wanted, user):
    """Mail goes to users with an address, when the notice wants mail and mail is configured."""
    return MailState.PENDING if mail_wanted and user.email else MailState.NONE


def _mail_pending():
    """Ask for the notices just queued (mail and channels) to be sent once the transaction has committed."""
    if has_request_context():
        g.xinqiao_mail_pending = True
    else:  # the submission writer: it hands the flag to the request it answers
        db.session.info["mail_pending"] = True


def mail_after_response():
    """Ask for the pending mail to be sent once the current request has been answered."""
    g.xinqiao_mail_pending = True


def _teachers_and_duty_doctors(school_id, by):
    return [u for u in school_psychology_teachers(school_id) + duty_doctors_for_school(school_id)
            if u.id != getattr(by, "id", None)]


def _teachers(school_id, by):
    return [u for u in school_psychology_teachers(school_id) if u.id != getattr(by, "id", None)]


# Who is told when an alert opens, and whether by mail too. A critical alert reaches the school's psychology
# teachers and the duty doctors at once (inbox and mail); a high one the teachers' inbox; a moderate alert
# waits on the worklist and nobody is paged.
ALERT_OPENED_NOTICES = {"critical": (_teachers_and_duty_doctors, True), "high": (_teachers, False)}


def _alert_opened_notice(alert_id):
    """(case number, link, dedup key) of an alert's opening notice."""
    return alert_case_number(alert_id), f"/alerts/{alert_id}", f"alert:{alert_id}:opened"


def notify_alert_opened(alert, by=None):
    notice = ALERT_OPENED_NOTICES.get(alert.level)
    if notice is None:
        return []
    recipients, email = notice
    case_number, link, dedup_key = _alert_opened_notice(alert.id)
    return notify(recipients(alert.school_id, by), f"alert_{alert.level}_opened", case_number, link,
                  dedup_key=dedup_key, email=email, alert=alert)


_INSERT_NOTIFICATIONS = Notification.__table__.insert()


def notify_alerts_opened(alerts) -> None:
    """notify_alert_opened for the alerts a batch of submissions opened: [(alert_id, school_id, level)].

    The submission writer's form: recipients are looked up once per school and level, and every row goes in
    one insert. The alerts were opened in the caller's transaction, so nobody has been told of them yet and
    there is no earlier notice to skip (notify's dedup lookup).
    """
    recipients_of, rows, notices, user_notices, now, mail_on = {}, [], [], [], clock.now(), mail_configured()
    for alert_id, school_id, level in alerts:
        notice = ALERT_OPENED_NOTICES.get(level)
        if notice is None:
            continue
        recipients, email = notice
        if (school_id, level) not in recipients_of:
            recipients_of[school_id, level] = list({u.id: u for u in recipients(school_id, None)}.values())
        case_number, link, dedup_key = _alert_opened_notice(alert_id)
        kind = f"alert_{level}_opened"
        rows.extend(dict(user_id=user.id, kind=kind, case_number=case_number, link=link,
                         dedup_key=dedup_key, created_at=now,
                         mail_state=_mail_state(email and mail_on, user))
                    for user in recipients_of[school_id, level])
        notice_level = delivery.notice_level(kind)
        notices.append((dedup_key, kind, notice_level, case_number, link, alert_id, school_id))
        user_notices.extend((user.id, dedup_key, kind, notice_level, case_number, link, alert_id, school_id)
                            for user in recipients_of[school_id, level])
    if rows:
        db.session.connection().execute(_INSERT_NOTIFICATIONS, rows)
        queued = delivery.queue_for_users(user_notices) + delivery.queue_for_duty_groups(notices)
        if queued or any(row["mail_state"] == MailState.PENDING for row in rows):
            _mail_pending()


def notify_alert_escalated(alert):
    return notify(alert_recipients(alert), "alert_escalated", alert.case_number, f"/alerts/{alert.id}",
                  dedup_key=f"alert:{alert.id}:escalated", email=True, alert=alert)


def notify_referral_change(referral, by):
    """A referral was sent, accepted, declined, assessed or decided: tell the other side (inbox and mail).

    Hospital-side changes reach the school's psychology teachers; school-side changes the hospital's doctors.
    """
    status = getattr(referral.status, "value", referral.status)
    kind = f"referral_{status}" if status in REFERRAL_KINDS else "referral_updated"
    if getattr(by, "role", None) == Role.DOCTOR:
        recipients = school_psychology_teachers(referral.school_id)
    else:
        recipients = hospital_doctors(referral.hospital_id)
    recipients = [u for u in recipients if u.id != getattr(by, "id", None)]
    return notify(recipients, kind, referral.case_number, f"/referrals/{referral.id}", email=True,
                  school_id=referral.school_id)


# --- the inbox --------------------------------------------------------------------------------------

def unread_count(user) -> int:
    return db.session.scalar(select(func.count(Notification.id)).where(
        Notification.user_id == user.id, Notification.read_at.is_(None))) or 0


def mark_read(notification):
    if notification.read_at is None:
        notification.read_at = clock.now()


def mark_all_read(user):
    db.session.execute(update(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
                       .values(read_at=clock.now()))


# --- e-mail -------------------------------------------------------------------------------------------

def _compose(notification, user):
    cfg = current_app.config
    with force_locale(cfg["BABEL_DEFAULT_LOCALE"]):
        label = str(kind_label(notification.kind))
        url = cfg["XINQIAO_BASE_URL"].rstrip("/") + notification.link
        message = EmailMessage()
        message["Subject"] = _("XinQiao: %(what)s, case %(case)s", what=label, case=notification.case_number)
        message["From"] = cfg["SMTP_FROM"]
        message["To"] = user.email
        message.set_content("\n".join([
            label,
            _("Case number: %(case)s", case=notification.case_number),
            _("Open it in XinQiao (sign-in required): %(url)s", url=url),
            "",
            _("This message carries no student details on purpose. Do not forward it."),
        ]))
    return message


def _claim(notification_id) -> bool:
    """Atomically take one pending notification for this run; False when another run has it."""
    now = clock.now()
    result = db.session.execute(
        update(Notification)
        .where(Notification.id == notification_id, Notification.mail_state == MailState.PENDING)
        .values(mail_state=MailState.SENDING, mail_claimed_at=now, mail_attempts=Notification.mail_attempts + 1)
        .execution_options(synchronize_session=False))
    db.session.commit()
    return result.rowcount == 1


def _finish(notification_id, state, at=None):
    db.session.execute(update(Notification).where(Notification.id == notification_id)
                       .values(mail_state=state, mailed_at=at).execution_options(synchronize_session=False))
    db.session.commit()


def deliver_pending_mail(limit=200):
    """Send the mail of pending notifications; returns (sent, failed). Commits its own claims: call it outside
    any request transaction. Safe to run from several processes at once."""
    if not mail_configured():
        return 0, 0
    cfg = current_app.config
    db.session.execute(update(Notification)  # release claims of runs that died mid-send
                       .where(Notification.mail_state == MailState.SENDING,
                              Notification.mail_claimed_at < clock.now() - STALE_CLAIM)
                       .values(mail_state=MailState.PENDING).execution_options(synchronize_session=False))
    db.session.commit()
    ids = db.session.scalars(select(Notification.id).where(Notification.mail_state == MailState.PENDING)
                             .order_by(Notification.id).limit(limit)).all()
    sent = failed = 0
    smtp = None
    try:
        for notification_id in ids:
            if not _claim(notification_id):
                continue
            notification = db.session.get(Notification, notification_id)
            try:
                if smtp is None:
                    smtp = _connect(cfg)
                smtp.send_message(_compose(notification, notification.user))
            except (OSError, smtplib.SMTPException) as exc:
                logger.warning("mail for notification %s failed: %s", notification_id, exc.__class__.__name__)
                gave_up = notification.mail_attempts >= cfg["MAIL_MAX_ATTEMPTS"]
                _finish(notification_id, MailState.FAILED if gave_up else MailState.PENDING)
                failed += 1
                smtp = _quit(smtp)
                continue
            _finish(notification_id, MailState.SENT, clock.now())
            sent += 1
    finally:
        _quit(smtp)
    return sent, failed


def send_message(message):
    """Send one message at once, outside the notifications table (a password-reset link is a credential and is
    never stored). Raises OSError or SMTPException when the server refuses."""
    smtp = _connect(current_app.config)
    try:
        smtp.send_message(message)
    finally:
        _quit(smtp)


def _connect(cfg):
    # Always verify the server's certificate and host name (smtplib does not without a context);
    # SMTP_CA_FILE trusts an intranet server's private CA instead of the system's CAs.
    context = ssl.create_default_context(cafile=cfg.get("SMTP_CA_FILE") or None)
    if cfg.get("SMTP_SSL"):  # implicit TLS from the first byte (port 465), as QQ and 163 mail use
        smtp = smtplib.SMTP_SSL(cfg["SMTP_HOST"], cfg["SMTP_PORT"], timeout=cfg["SMTP_TIMEOUT"], context=context)
    else:
        smtp = smtplib.SMTP(cfg["SMTP_HOST"], cfg["SMTP_PORT"], timeout=cfg["SMTP_TIMEOUT"])
        if cfg["SMTP_STARTTLS"]:
            smtp.starttls(context=context)
    if cfg.get("SMTP_USERNAME"):
        smtp.login(cfg["SMTP_USERNAME"], cfg.get("SMTP_PASSWORD") or "")
    return smtp


def _quit(smtp):
    if smtp is not None:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            pass
    return None


def deliver_pending_notices():
    """Send what is waiting: e-mail, then SMS, WeCom, DingTalk and webhooks. (mail sent, failed), (sent, failed)."""
    return deliver_pending_mail(), delivery.deliver_due()


def init_app(app):
    """After a request that queued notices has been answered, deliver them (the request's commit is done by then)."""
    # Called by the templates that show them (the alert page's delivery list, the dashboards' problem panel).
    app.add_template_global(delivery.alert_deliveries, "alert_deliveries")
    app.add_template_global(delivery.unreached_critical_alerts, "unreached_critical_alerts")

    @app.after_request
    def _deliver_after_response(response):
        if g.pop("xinqiao_mail_pending", False) and response.status_code < 400:
            real_app = current_app._get_current_object()

            def deliver():
                with real_app.app_context():
                    try:
                        deliver_pending_notices()
                    except Exception:  # the sweep retries; never let delivery break anything
                        logger.exception("delivery after a request failed")
                    finally:
                        db.session.remove()

            response.call_on_close(deliver)
        return response
