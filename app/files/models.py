"""Break-glass access: a district admin reads a student's clinical text for a short time, with a reason."""
from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core import clock
from app.core.types import EncryptedText, UTCDateTime
from app.extensions import db


class BreakGlassAccess(db.Model):
    """One emergency opening of a student's clinical text; shown to the student's school."""

    __tablename__ = "break_glass_accesses"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id"), index=True)
    reason: Mapped[str] = mapped_column(EncryptedText)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)

    user = relationship("User")

    def is_active(self, at: datetime) -> bool:
        return self.opened_at <= at < self.expires_at

    def __repr__(self):
        return f"<BreakGlassAccess id={self.id} user={self.user_id} student={self.student_id}>"
