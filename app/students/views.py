"""The student's page: join with the session code, answer, submit (it talks to /api/v1)."""
import re

from flask import Blueprint, render_template, request

from app.auth import policy
from app.screening import crisis

bp = Blueprint("student", __name__, template_folder="templates")
_CODE = re.compile(r"[A-Za-z0-9]{1,12}")


def join_code(value) -> str:
    """The session code from the projector's QR link (/s?code=…), prefilled; anything else is ignored."""
    value = (value or "").strip()
    return value.upper() if _CODE.fullmatch(value) else ""


@bp.get("/s")
@policy.public
def start():
    return render_template("student/session.html", crisis_lines=crisis.lines(),
                           join_code=join_code(request.args.get("code")))
