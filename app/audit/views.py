"""The admin's export of a student's access log: who opened or changed the file, when, with what outcome."""
from flask import Blueprint, Response
from flask_login import current_user
from sqlalchemy import func, select

from app.accounts.models import Role, User
from app.audit import services as audit
from app.audit.models import AuditEvent
from app.auth import policy
from app.core.spreadsheets import csv_stream
from app.exports import reading
from app.extensions import db
from app.students.models import Student

bp = Blueprint("audit", __name__)
policy.guard_blueprint(bp, roles={Role.ADMIN})

COLUMNS = ("at_utc", "actor", "actor_role", "action", "object_type", "object_id", "outcome")


@bp.get("/admin/students/<int:student_id>/access-log.csv")
@policy.require_recent_auth()
def student_access_log(student_id):
    student = policy.get_visible_or_404(current_user, Student, student_id)
    policy.require(current_user, "export_access_log", student)
    student_id = student.id  # read before the commit: the stream must not begin a transaction on the session
    count = db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.student_id == student.id))
    audit.record(current_user, "access_log_exported", "student", student.id, student.id, detail={"rows": count})
    db.session.commit()
    # The events written up to the export's own: streamed from a server-side cursor, constant memory.
    query = (select(AuditEvent.at, User.username, AuditEvent.actor_role, AuditEvent.action, AuditEvent.object_type,
                    AuditEvent.object_id, AuditEvent.outcome)
             .outerjoin(User, User.id == AuditEvent.actor_id)
             .where(AuditEvent.student_id == student_id).order_by(AuditEvent.id))

    engine = db.engine

    def rows():
        yield COLUMNS
        for chunk in reading.chunks(query, 1000, engine):
            yield from ([at.isoformat(), username or role, role, action, object_type, object_id or "", outcome]
                        for at, username, role, action, object_type, object_id, outcome in chunk)

    filename = f"access-log-{student_id}.csv"
    return Response(csv_stream(rows()), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
