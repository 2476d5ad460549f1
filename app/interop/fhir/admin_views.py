"""The district admin's pages: hospitals' API clients, and the FHIR Bulk Data export (kick-off, status, files)."""
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.accounts.forms import EmptyForm
from app.accounts.models import Role
from app.audit import services as audit
from app.auth import policy
from app.core import clock
from app.extensions import db
from app.interop.fhir import bulk, clients
from app.interop.fhir.forms import BulkExportForm, FhirClientForm
from app.interop.fhir.models import ExportStatus, FhirClient, FhirExportJob
from app.interop.fhir.views import fhir_json, outcome
from app.orgs.models import Hospital

bp = Blueprint("fhir_admin", __name__, template_folder="templates", url_prefix="/admin/fhir")
policy.guard_blueprint(bp, roles={Role.ADMIN})


def _require(action):
    if not policy.can_manage_fhir(current_user, action):
        abort(404)


def _client_form():
    form = FhirClientForm()
    form.hospital_id.choices = [(h.id, h.name) for h in db.session.scalars(select(Hospital).order_by(Hospital.name))]
    return form


def _clients_page(form, status=200):
    rows = db.session.scalars(select(FhirClient).order_by(FhirClient.revoked_at.is_not(None), FhirClient.id.desc())).all()
    return render_template("fhir/clients.html", clients=rows, form=form, revoke_form=EmptyForm()), status


@bp.route("/clients", methods=["GET", "POST"])
def client_list():
    _require("manage_fhir_clients")
    form = _client_form()
    if request.method == "GET" or not form.validate_on_submit():
        return _clients_page(form, 400 if request.method == "POST" else 200)
    try:
        client, token = clients.create_client(form.hospital_id.data, form.name.data, by=current_user)
    except clients.ClientError:
        db.session.rollback()
        flash(_("Choose a hospital and give the system a name."), "error")
        return _clients_page(form, 400)
    db.session.commit()
    return render_template("fhir/client_created.html", client=client, token=token,
                           base_url=request.url_root.rstrip("/") + "/fhir/R4")


@bp.post("/clients/<int:client_id>/revoke")
def revoke_client(client_id):
    _require("manage_fhir_clients")
    client = db.session.get(FhirClient, client_id)
    if client is None:
        abort(404)
    if EmptyForm().validate_on_submit():
        clients.revoke_client(client, by=current_user)
        db.session.commit()
        flash(_("The client of %(hospital)s is revoked: its token no longer works.", hospital=client.hospital.name),
              "success")
    return redirect(url_for("fhir_admin.client_list"))


# --- bulk export ------------------------------------------------------------------------------------------------

def _job_or_404(job_id):
    job = db.session.get(FhirExportJob, job_id)
    if job is None:
        abort(404)
    return job


@bp.route("/exports", methods=["GET", "POST"])
def exports():
    """The page (GET), and the kick-off (POST): 202 with Content-Location for a Bulk Data client
    (Prefer: respond-async), back to the page for the browser."""
    _require("export_fhir_bulk")
    if bulk.purge_expired():
        db.session.commit()
    form = BulkExportForm()
    if request.method == "POST":
        asynchronous = "respond-async" in request.headers.get("Prefer", "")
        error = None
        if form.validate_on_submit():
            try:
                year = bulk.check_school_year(form.school_year.data)
                types = bulk.parse_types(request.args.get("_type"))
            except bulk.ExportError:
                error = _("Give the school year as 2026-2027, or leave it empty.")
        else:
            error = _("The request could not be understood. Go back and try again.")
        if error:
            if asynchronous:
                return outcome(400, "invalid", error)
            flash(error, "error")
            return _exports_page(form, 400)
        job = bulk.kick_off(by=current_user, types=types, school_year=year, request_url=request.url)
        db.session.commit()
        if current_app.config["FHIR_EXPORT_THREADS"]:
            bulk.start_in_thread(current_app._get_current_object(), job.id)
        status_url = url_for("fhir_admin.export_status", job_id=job.id, _external=True)
        if asynchronous:
            return "", 202, {"Content-Location": status_url}
        flash(_("Export %(number)s started. This page shows when its files are ready.", number=job.id), "success")
        return redirect(url_for("fhir_admin.exports"))
    return _exports_page(form)


def _exports_page(form, status=200):
    jobs = db.session.scalars(select(FhirExportJob).order_by(FhirExportJob.id.desc()).limit(50)).all()
    return render_template("fhir/exports.html", jobs=jobs, form=form, now=clock.now(),
                           keep_hours=current_app.config["FHIR_EXPORT_KEEP_HOURS"]), status


@bp.get("/exports/<int:job_id>/status")
def export_status(job_id):
    """Bulk Data status: 202 and X-Progress while queued or running, 200 and the manifest once complete,
    500 with an OperationOutcome when it failed, 404 once its files are removed."""
    _require("export_fhir_bulk")
    if bulk.purge_expired():
        db.session.commit()
    job = _job_or_404(job_id)
    if job.removed_at is not None:
        return outcome(404, "not-found", "The files of this export were removed")
    if job.status in (ExportStatus.QUEUED, ExportStatus.RUNNING):
        return "", 202, {"X-Progress": job.status.value, "Retry-After": "5"}
    if job.status == ExportStatus.FAILED:
        return outcome(500, "exception", "The export failed; start a new one")
    body = bulk.manifest(job, lambda name: url_for("fhir_admin.export_file", job_id=job.id, file_name=name,
                                                   _external=True))
    response = fhir_json(body)
    response.mimetype = "application/json"
    response.headers["Expires"] = job.expires_at.strftime("%a, %d %b %Y %H:%M:%S GMT")
    return response


@bp.get("/exports/<int:job_id>/files/<file_name>")
@policy.require_recent_auth()
def export_file(job_id, file_name):
    _require("export_fhir_bulk")
    job = _job_or_404(job_id)
    path = bulk.output_path(job, file_name)
    if path is None:
        abort(404)
    audit.record(current_user, "export", "fhir_export_job", job.id, detail={"file": file_name})
    db.session.commit()
    return send_file(path, mimetype="application/fhir+ndjson", as_attachment=True,
                     download_name=f"xinqiao-{job.id}-{file_name}")
