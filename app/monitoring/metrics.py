"""Prometheus metrics (prometheus-client): counters kept by the processes, gauges read from the database.

Under gunicorn several processes count (the workers answer submissions, the master restarts the submission
writer process), so the counters live in prometheus-client's multiprocess files: `PROMETHEUS_MULTIPROC_DIR`
is set by the master before any worker starts (app/core/serving.py) and every scrape sums every process's
file. Without it (tests, `flask run`) they are counted in this process alone.

What an operator is woken for is computed from the database at each scrape, so that every worker answers
the same and nothing is lost on a restart: alerts past their target, minutes since the escalation sweep,
the mail queue.
"""
import math
import os

from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.multiprocess import MultiProcessCollector

from app.core import clock
from app.monitoring import services
from app.notifications import delivery

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
ALERT_LEVELS = ("critical", "high", "moderate")

# Counted in this process (and, under gunicorn, written to its multiprocess file); never in the default registry.
_LOCAL = CollectorRegistry(auto_describe=True)
SUBMISSIONS_STORED = Counter(
    "xinqiao_submissions_stored", "Student submissions stored (a resent key answered with the stored row "
    "is counted as duplicate).", ["kind"], registry=_LOCAL)
SUBMISSIONS_REFUSED = Counter(
    "xinqiao_submissions_refused", "Student submissions refused, by reason (closed session, invalid answers "
    "...): nothing stored.", ["reason"], registry=_LOCAL)
SUBMISSIONS_NOT_STORED = Counter(
    "xinqiao_submissions_not_stored", "Student submissions answered 'send it again' (the writer did not "
    "commit in time or went away, the database refused the write), by cause; the page resends them with their "
    "key.", ["cause"], registry=_LOCAL)
JOINS = Counter(
    "xinqiao_student_joins", "Student join attempts by outcome: joined, a refusal's reason (details_do_not_match, "
    "unknown_code, too_early: a client guessing has to wait ...) or unavailable (the database could not take it, "
    "503).", ["outcome"], registry=_LOCAL)
WRITER_RESTARTS = Counter(
    "xinqiao_writer_process_restarts", "Times the gunicorn master started the submission writer process again "
    "after it ended.", registry=_LOCAL)


def count_submission_stored(created: bool) -> None:
    SUBMISSIONS_STORED.labels("new" if created else "duplicate").inc()


def count_submission_refused(reason: str) -> None:
    SUBMISSIONS_REFUSED.labels(reason).inc()


def count_submission_not_stored(cause: str = "unknown") -> None:
    SUBMISSIONS_NOT_STORED.labels(cause).inc()


def count_join(outcome: str) -> None:
    JOINS.labels(outcome).inc()


def count_writer_restart() -> None:
    WRITER_RESTARTS.inc()


class DatabaseCollector:
    """Gauges read from the database at scrape time (no identifiable data: counts and ages only)."""

    def collect(self):
        with services.reading() as connection:
            overdue = services.overdue_alerts(connection)
            runs = services.last_sweeps(connection)
            queue = services.mail_queue(connection)
            unreached = delivery.count_unreached_critical_alerts(connection)
        count = GaugeMetricFamily("xinqiao_alerts_overdue", "Open (unacknowledged) alerts past their service-level "
                                  "target, by level.", labels=["level"])
        oldest = GaugeMetricFamily("xinqiao_alerts_overdue_oldest_minutes", "Minutes the oldest open alert of a "
                                   "level is past its target (0 when none).", labels=["level"])
        for level in ALERT_LEVELS:
            n, minutes = overdue.get(level, (0, 0.0))
            count.add_metric([level], n)
            oldest.add_metric([level], round(minutes, 1))
        yield count
        yield oldest

        sweep = GaugeMetricFamily("xinqiao_alert_sweep_age_minutes", "Minutes since the escalation sweep last "
                                  "ran (+Inf: never), by source: scheduled (flask alerts sweep) or page (a "
                                  "dashboard or risk list load).", labels=["source"])
        for source in services.SOURCES:
            last = runs.get(source)
            sweep.add_metric([source], round((clock.now() - last).total_seconds() / 60, 2) if last else math.inf)
        yield sweep

        mail = GaugeMetricFamily("xinqiao_mail_queue", "E-mail notifications by state: pending (waiting for the "
                                 "next sweep), sending (claimed), retrying (pending after a failed attempt), "
                                 "failed (given up after MAIL_MAX_ATTEMPTS).", labels=["state"])
        for state in ("pending", "sending", "retrying", "failed"):
            mail.add_metric([state], queue[state])
        yield mail
        yield GaugeMetricFamily("xinqiao_mail_oldest_pending_minutes", "Minutes the oldest pending e-mail has "
                                "waited (0 when none).", value=round(queue["oldest_pending_minutes"], 1))
        # The one number to page someone for: a student in danger whose alert reached nobody by any channel.
        yield GaugeMetricFamily("xinqiao_critical_alerts_unreached", "Open critical alerts whose every delivery "
                                "(SMS, WeCom, DingTalk, webhook, e-mail) was tried and none went out: phone the "
                                "school.", value=unreached)


class _LocalCounters:
    def collect(self):
        return _LOCAL.collect()


def render() -> bytes:
    """The text exposition format: the processes' counters and the database's gauges."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get(MULTIPROC_ENV):
        MultiProcessCollector(registry)
    else:
        registry.register(_LocalCounters())
    registry.register(DatabaseCollector())
    return generate_latest(registry)
