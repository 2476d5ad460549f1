"""The admin's export of a student's access log: who opened or changed the file, when, with what outcome."""
from flask import Blueprint, Response
from flask_login import current_user
from sqlalchemy import select

from app.accounts.models import Role, User
from app.audit import services as audit
from app.audit.models import AuditEvent
from app.auth import policy
from app.core.spreadsheets import csv_bytes
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
    rows = db.session.execute(
        select(AuditEvent, User.username).outerjoin(User, User.id == AuditEvent.actor_id)
        .where(AuditEvent.student_id == student.id).order_by(AuditEvent.id)).all()
    audit.record(current_user, "access_log_exported", "student", student.id, student.id, detail={"rows": len(rows)})
    db.session.commit()
    body = csv_bytes([COLUMNS, *([event.at.isoformat(), username or event.actor_role, event.actor_role, event.action,
                                  event.object_type, event.object_id or "", event.outcome] for event, username in rows)])
    filename = f"access-log-{student.id}.csv"
    return Response(body, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
