"""`flask alerts sweep`: escalate overdue alerts, deliver pending mail and retry SMS, WeCom, DingTalk and webhook
notices that are due. Safe to run every minute."""
import logging
import time

import click
from flask.cli import AppGroup

from app.extensions import db
from app.monitoring import services as monitoring
from app.notifications import services as notifications
from app.risk import services


alerts_cli = AppGroup("alerts", help="Alert escalation.")


log = logging.getLogger(__name__)


@alerts_cli.command("sweep")
@click.option("--every", type=click.IntRange(min=10), default=None, metavar="SECONDS",
              help="Keep sweeping every SECONDS instead of once (`make run` does this; a server uses the timer).")
def sweep_command(every):
    """Escalate every open alert past its due time (once each), send the mail that is waiting and every channel
    delivery that is due (first tries and retries).

    Idempotent: an alert is escalated by exactly one run, and a mail or a message is sent by exactly one run,
    even when cron, a systemd timer and dashboard loads sweep at the same minute.
    """
    if every is None:
        _sweep_once(report=True)
        return
    while True:  # one failed run (the database restarting) must not stop the next
        try:
            _sweep_once(report=False)
        except Exception:
            db.session.rollback()
            log.exception("alert sweep failed; trying again in %s s", every)
        finally:
            db.session.remove()
        time.sleep(every)


def _sweep_once(report):
    """One sweep; `report`: say what it did even when it did nothing (a loop speaks only when something happened)."""
    escalated = services.escalate_overdue_alerts()
    monitoring.record_sweep("scheduled")  # /healthz and /metrics tell when this stops running
    db.session.commit()
    (sent, failed), (delivered, not_delivered) = notifications.deliver_pending_notices()
    if report or escalated or sent or failed or delivered or not_delivered:
        click.echo(f"alerts escalated: {len(escalated)}; mail sent: {sent}; mail failed: {failed}; "
                   f"messages sent: {delivered}; messages failed: {not_delivered}")
