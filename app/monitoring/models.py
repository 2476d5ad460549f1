"""SweepRun: when the alert escalation sweep last ran, per source (an alert never escalated fails silently)."""
from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from app.core import clock
from app.core.types import UTCDateTime
from app.extensions import db


class SweepRun(db.Model):
    """One row per source: "scheduled" (`flask alerts sweep`, from cron or the systemd timer) or "page" (the
    sweep that runs when a risk list or dashboard is loaded)."""

    __tablename__ = "sweep_runs"

    source: Mapped[str] = mapped_column(String(16), primary_key=True)
    last_run_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    def __repr__(self):
        return f"<SweepRun source={self.source} last_run_at={self.last_run_at:%Y-%m-%dT%H:%M:%SZ}>"


class HealthProbe(db.Model):
    """One row per process-independent probe name: /healthz writes it now and then, so that a database that
    answers reads but takes no writes (read-only, a full disk) is reported as unwritable."""

    __tablename__ = "health_probes"

    name: Mapped[str] = mapped_column(String(16), primary_key=True)
    probed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    def __repr__(self):
        return f"<HealthProbe name={self.name}>"
