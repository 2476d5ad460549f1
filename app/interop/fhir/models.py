"""A hospital's API client (FHIR) and the district's bulk export jobs."""
import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core import clock
from app.core.types import UTCDateTime, str_enum
from app.extensions import db


class FhirClient(db.Model):
    """A partner hospital's system reading the FHIR API under the rights of the hospital's doctors.

    Only a hash of the secret is kept: the admin sees the secret once, when the client is made."""

    __tablename__ = "fhir_clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospitals.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    hospital = relationship("Hospital")
    created_by = relationship("User", foreign_keys=[created_by_id])
    revoked_by = relationship("User", foreign_keys=[revoked_by_id])

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def __repr__(self):
        return f"<FhirClient id={self.id} hospital={self.hospital_id} active={self.active}>"


class ExportStatus(str, enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETE = "complete"
    FAILED = "failed"


class FhirExportJob(db.Model):
    """One Bulk Data export: its request, its state, its NDJSON files (on disk) and when they are removed."""

    __tablename__ = "fhir_export_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    status: Mapped[ExportStatus] = mapped_column(str_enum(ExportStatus), default=ExportStatus.QUEUED, index=True)
    types: Mapped[list] = mapped_column(JSON, default=list)
    school_year: Mapped[str | None] = mapped_column(String(9))  # '2026-2027': only that school year's records
    request_url: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # [{"type": "Patient", "file": "Patient.ndjson", "count": 12}, …] once complete
    outputs: Mapped[list] = mapped_column(JSON, default=list)
    error: Mapped[str] = mapped_column(String(200), default="")

    requested_by = relationship("User")

    def __repr__(self):
        return f"<FhirExportJob id={self.id} status={self.status.value}>"
