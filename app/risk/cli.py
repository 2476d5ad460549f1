"""`flask alerts sweep`: escalate overdue alerts, deliver pending mail and retry SMS, WeCom, DingTalk and webhook
notices that are due. Safe to run every minute."""
import click
from flask.cli import AppGroup

from app.extensions import db
from app.monitoring import services as monitoring
from app.notifications import services as notifications
from app.risk import services


alerts_cli = AppGroup("alerts", help="Alert escalation.")


@alerts_cli.command("sweep")
def sweep_command():
    """Escalate every open alert past its due time (once each), send the mail that is waiting and every channel
    delivery that is due (first tries and retries).

    Idempotent: an alert is escalated by exactly one run, and a mail or a message is sent by exactly one run,
    even when cron, a systemd timer and dashboard loads sweep at the same minute.
    """
    escalated = services.escalate_overdue_alerts()
    monitoring.record_sweep("scheduled")  # /healthz and /metrics tell when this stops running
    db.session.commit()
    (sent, failed), (delivered, not_delivered) = notifications.deliver_pending_notices()
    click.echo(f"alerts escalated: {len(escalated)}; mail sent: {sent}; mail failed: {failed}; "
               f"messages sent: {delivered}; messages failed: {not_delivered}")
