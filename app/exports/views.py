"""The district admin's exports page: every response (CSV streamed, XLSX direct or as a job) and the research
export (a job), each audited; downloads ask for the password again like every export."""
from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.accounts.forms import EmptyForm
from app.accounts.models import Role, User
from app.audit import services as audit
from app.auth import policy
from app.core.args import id_arg
from app.core.spreadsheets import copy_file_chunks, xlsx_stream
from app.exports import jobs, responses, services
from app.exports.forms import ResearchExportForm
from app.exports.models import ExportJob, ExportKind
from app.exports.research import ResearchExportUnavailable
from app.extensions import db
from app.orgs.models import School

bp = Blueprint("exports", __name__, template_folder="templates")
policy.guard_blueprint(bp, roles={Role.ADMIN})

CSV = "text/csv; charset=utf-8"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MIMETYPES = {ExportKind.RESEARCH: "application/zip", ExportKind.RESPONSES_XLSX: XLSX}


def _attachment(name):
    return {"Content-Disposition": f'attachment; filename="{name}"', "X-Accel-Buffering": "no"}


def _page(form=None, status=200):
    policy.require(current_user, "export_district_data")
    jobs.purge_expired()
    db.session.commit()
    form = form or ResearchExportForm()
    form.offer_links([j for j in services.research_exports() if j.report])
    recent = db.session.execute(select(ExportJob, User.username).join(User, User.id == ExportJob.created_by_id)
                                .order_by(ExportJob.id.desc()).limit(30)).all()
    schools = db.session.scalars(select(School).order_by(School.name)).all()
    return render_template("exports/index.html", form=form, recent=recent, schools=schools,
                           xlsx_form=EmptyForm()), status


@bp.get("/admin/exports")
def export_home():
    return _page()


def _school_id():
    school_id = id_arg(request.values, "school")
    if school_id is not None and db.session.get(School, school_id) is None:
        abort(404)
    return school_id


@bp.get("/admin/exports/responses.csv")
@policy.require_recent_auth()
def responses_csv():
    policy.require(current_user, "export_district_data")
    school_id = _school_id()
    audit.record(current_user, "export", "responses", None, detail={"format": "csv", "school_id": school_id})
    db.session.commit()
    n_items = responses.item_count(school_id)
    body = responses.csv_body(n_items, school_id, db.engine)
    return Response(body, mimetype=CSV, headers=_attachment("responses.csv"))


def _with_header(header, rows):
    yield header
    yield from rows


@bp.post("/admin/exports/responses.xlsx")
@policy.require_recent_auth()
def responses_xlsx():
    policy.require(current_user, "export_district_data")
    if not EmptyForm().validate_on_submit():
        abort(400)
    school_id = _school_id()
    total = responses.count(school_id)
    if total > current_app.config["EXPORT_XLSX_DIRECT_ROWS"]:
        job_id = services.request_responses_xlsx(current_user, school_id, rows=total).id
        db.session.commit()
        jobs.start(job_id, str(get_locale()))
        flash(_("The file is being written. This page shows when it can be downloaded."), "info")
        return redirect(url_for("exports.export_job", job_id=job_id))
    audit.record(current_user, "export", "responses", None, detail={"format": "xlsx", "school_id": school_id, "rows": total})
    db.session.commit()
    n_items = responses.item_count(school_id)
    body = xlsx_stream("responses", _with_header(responses.header(n_items), responses.rows(n_items, school_id, db.engine)))
    return Response(body, mimetype=XLSX, headers=_attachment("responses.xlsx"))


@bp.post("/admin/exports/research")
@policy.require_recent_auth()
def request_research():
    policy.require(current_user, "export_district_data")
    form = ResearchExportForm()
    form.offer_links([j for j in services.research_exports() if j.report])
    if not form.validate_on_submit():
        return _page(form, 400)
    try:
        job = services.request_research_export(current_user, form.purpose.data, form.approved_by.data,
                                               form.approval_reference.data, form.link_to.data or None)
    except ResearchExportUnavailable:
        db.session.rollback()
        flash(_("Research exports need RESEARCH_PSEUDONYM_KEY on the server (README, Exports)."), "error")
        return _page(form, 400)
    job_id = job.id
    db.session.commit()
    jobs.start(job_id, str(get_locale()))
    return redirect(url_for("exports.export_job", job_id=job_id))


def _job_or_404(job_id):
    policy.require(current_user, "export_district_data")
    job = db.session.get(ExportJob, job_id)
    if job is None:
        abort(404)
    return job


@bp.get("/admin/exports/<int:job_id>")
def export_job(job_id):
    job = _job_or_404(job_id)
    return render_template("exports/job.html", job=job, ready=services.is_ready(job),
                           creator=db.session.get(User, job.created_by_id))


@bp.get("/admin/exports/<int:job_id>/download")
@policy.require_recent_auth()
def download_export(job_id):
    job = _job_or_404(job_id)
    path = jobs.file_path(job) if services.is_ready(job) else None
    if path is None or not path.exists():
        abort(404)
    services.record_download(current_user, job)
    db.session.commit()
    name = f"research-export-{job.id}.zip" if job.kind == ExportKind.RESEARCH else f"responses-{job.id}.xlsx"
    headers = _attachment(name) | {"Content-Length": str(path.stat().st_size)}
    return Response(copy_file_chunks(path), mimetype=MIMETYPES[job.kind], headers=headers)
