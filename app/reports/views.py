"""Term reports: the school's summary (一校一总结) and the district's analysis (一县一分析), as PDF and XLSX."""
import io

from flask import Blueprint, abort, render_template, request, send_file
from flask_login import current_user

from app.accounts.models import Role
from app.audit import services as audit
from app.auth import policy
from app.core import clock
from app.extensions import db
from app.orgs.models import School
from app.orgs.school_year import parse_term
from app.reports.term import Term
from app.reports.term_documents import district_analysis, school_summary, term_xlsx

bp = Blueprint("reports", __name__, template_folder="templates")
policy.guard_blueprint(bp, roles={Role.TEACHER, Role.ADMIN})

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _term():
    """The term the query names (?term=2026-2027-1), or the current one; never a term that has not begun."""
    parsed = parse_term(request.args.get("term"))
    term = Term(*parsed) if parsed else Term.current()
    return term if term.start <= clock.today() else Term.current()


def _own_school():
    school = db.session.get(School, current_user.school_id) if current_user.school_id else None
    if school is None:
        abort(404)
    policy.require(current_user, "download_school_summary", school)
    return school


@bp.get("/reports")
def index():
    current = Term.current()
    terms = [current, current.previous(), current.previous().previous()]
    return render_template("reports/index.html", terms=terms,
                           school_summary=current_user.role == Role.TEACHER, district=current_user.role == Role.ADMIN)


def _send(body, mimetype, name):
    return send_file(io.BytesIO(body), mimetype=mimetype, as_attachment=mimetype == XLSX, download_name=name)


def _school_document(fmt):
    from app.reports.pdf.term import term_pdf

    school, term, now = _own_school(), _term(), clock.now()
    document = school_summary(school, term, now)
    audit.record(current_user, "export", "school_term_summary", school.id, detail={"term": term.key, "format": fmt})
    body = term_pdf(document, now) if fmt == "pdf" else term_xlsx(document, now)
    db.session.commit()
    return _send(body, "application/pdf" if fmt == "pdf" else XLSX, f"term-summary-{school.id}-{term.key}.{fmt}")


def _district_document(fmt):
    from app.reports.pdf.term import term_pdf

    policy.require(current_user, "download_district_analysis")
    term, now = _term(), clock.now()
    document = district_analysis(term, now)
    audit.record(current_user, "export", "district_term_analysis", None, detail={"term": term.key, "format": fmt})
    body = term_pdf(document, now) if fmt == "pdf" else term_xlsx(document, now)
    db.session.commit()
    return _send(body, "application/pdf" if fmt == "pdf" else XLSX, f"district-analysis-{term.key}.{fmt}")


@bp.get("/reports/term-summary.pdf")
@policy.require_recent_auth()
def school_summary_pdf():
    return _school_document("pdf")


@bp.get("/reports/term-summary.xlsx")
@policy.require_recent_auth()
def school_summary_xlsx():
    return _school_document("xlsx")


@bp.get("/reports/district-analysis.pdf")
@policy.require_recent_auth()
def district_analysis_pdf():
    return _district_document("pdf")


@bp.get("/reports/district-analysis.xlsx")
@policy.require_recent_auth()
def district_analysis_xlsx():
    return _district_document("xlsx")
