"""ExportJob: an export too large to wait for, written to a file by a background job and downloaded once ready."""
import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core import clock
from app.core.types import UTCDateTime, str_enum
from app.extensions import db


class ExportKind(str, enum.Enum):
    RESEARCH = "research"            # de-identified ZIP: data, dictionary (CSV, PDF), report
    RESPONSES_XLSX = "responses_xlsx"  # every response of the district, XLSX


class ExportStatus(str, enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    EXPIRED = "expired"  # the file was removed after EXPORT_KEEP_HOURS


class ExportJob(db.Model):
    """One export job. The file lives in EXPORT_DIR (outside the database) until `expires_at`."""

    __tablename__ = "export_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ExportKind] = mapped_column(str_enum(ExportKind))
    status: Mapped[ExportStatus] = mapped_column(str_enum(ExportStatus), default=ExportStatus.QUEUED, index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Research exports: why, and who approved it under which reference (an ethics or data-release approval).
    purpose: Mapped[str] = mapped_column(Text, default="")
    approved_by: Mapped[str] = mapped_column(String(120), default="")
    approval_reference: Mapped[str] = mapped_column(String(120), default="")
    # The pseudonyms' per-export salt (the HMAC key itself is never in the database); an export linked to an
    # earlier one reuses that one's salt, so that the same student has the same pseudonym in both.
    pseudonym_salt: Mapped[str | None] = mapped_column(String(64))
    linked_export_id: Mapped[int | None] = mapped_column(ForeignKey("export_jobs.id"))
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    file_name: Mapped[str | None] = mapped_column(String(200))
    rows: Mapped[int | None] = mapped_column(Integer)
    report: Mapped[dict] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(String(200))

    def __repr__(self):
        return f"<ExportJob {self.id} {self.kind.value} {self.status.value}>"
