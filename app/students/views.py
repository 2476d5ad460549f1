"""The student's page: join with the session code, answer, submit (it talks to /api/v1)."""
from flask import Blueprint, render_template

from app.auth import policy
from app.screening import crisis

bp = Blueprint("student", __name__, template_folder="templates")


@bp.get("/s")
@policy.public
def start():
    return render_template("student/session.html", crisis_lines=crisis.lines())
