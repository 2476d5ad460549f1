"""GET /healthz: the process answers and the database answers."""
import logging

from flask import Blueprint, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.auth import policy
from app.extensions import db
from app.monitoring import services as monitoring

logger = logging.getLogger(__name__)
bp = Blueprint("health", __name__)


@bp.get("/healthz")
@policy.public
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
        db.session.rollback()
    except SQLAlchemyError:
        db.session.rollback()
        logger.exception("health check: database does not answer")
        return jsonify({"status": "error", "database": "unavailable"}), 503
    # An alert that is never escalated fails silently: say so, still 200 (the process can serve).
    problem = monitoring.sweep_problem()
    if problem:
        return jsonify({"status": "degraded", "database": "ok", "reasons": [problem]})
    return jsonify({"status": "ok", "database": "ok"})
