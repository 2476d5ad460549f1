"""`flask alerts sweep`: escalate overdue alerts and deliver pending mail. Safe to run every minute."""
import click
from flask.cli import AppGroup

from app.extensions import db
from app.monitoring import services as monitoring
from app.notifications import services as notifications
from app.risk import services


alerts_cli = AppGroup("alerts", help="Alert escalation.")


@alerts_cli.command("sweep")
def sweep_command():
    """Escalate every open alert past its due time (once each) and send the mail that is waiting.

    Idempotent: an alert is escalated by exactly one run, and a mail is sent by exactly one run, even when
    cron, a systemd timer and dashboard loads sweep at the same minute.
    """
    escalated = services.escalate_overdue_alerts()
    monitoring.record_sweep("scheduled")  # /healthz and /metrics tell when this stops running
    db.session.commit()
    sent, failed = notifications.deliver_pending_mail()
    click.echo(f"alerts escalated: {len(escalated)}; mail sent: {sent}; mail failed: {failed}")
