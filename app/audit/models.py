"""AuditEvent: one row per read or change; each row's keyed hash chains to the previous row."""
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, event
from sqlalchemy.orm import Mapped, mapped_column

from app.core import clock
from app.core.types import UTCDateTime
from app.extensions import db


class AuditEvent(db.Model):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    actor_role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(48))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[int | None] = mapped_column()
    student_id: Mapped[int | None] = mapped_column(ForeignKey("students.id"), index=True)
    outcome: Mapped[str] = mapped_column(String(16), default="ok")
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The audit key whose HMAC `hash` is (app/audit/chain.py); NULL for events written before keys (plain SHA-256).
    key_id: Mapped[str | None] = mapped_column(String(16))

    def __repr__(self):
        return f"<AuditEvent id={self.id} action={self.action}>"


class AppendOnlyError(RuntimeError):
    """Audit events are never changed or deleted by the application."""


@event.listens_for(AuditEvent, "before_update")
def _refuse_update(_mapper, _connection, target):
    raise AppendOnlyError(f"audit event {target.id} is append-only")


@event.listens_for(AuditEvent, "before_delete")
def _refuse_delete(_mapper, _connection, target):
    raise AppendOnlyError(f"audit event {target.id} is append-only")
