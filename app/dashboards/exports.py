"""Downloads behind the dashboards: every chart's numbers as CSV/XLSX, the drill-down list, and the PDF reports.

Every export is audited (action "export"); the drill-down is a read of identifiable data, audited per student.
"""
import io

from flask import Response, abort, render_template, request, send_file
from flask_login import current_user

from app.accounts.models import Role
from app.audit import services as audit
from app.auth import policy
from app.core import clock
from app.core.args import id_arg, int_arg, month_arg
from app.dashboards.district_panels import district_dashboard
from app.dashboards.doctor import doctor_dashboard
from app.dashboards import tables
from app.dashboards.suppress import every_count_shown
from app.dashboards.teacher import drilldown, teacher_dashboard
from app.dashboards.views import bp
from app.extensions import db
from app.orgs.models import ClassGroup
from app.screening.models import Campaign
from app.students.models import Student

VIEW_ROLES = {"teacher": Role.TEACHER, "doctor": Role.DOCTOR, "district": Role.ADMIN}
MIMETYPES = {"csv": "text/csv; charset=utf-8",
             "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def _tables_for(view):
    if view == "teacher":
        return teacher_dashboard(current_user, campaign_id=id_arg(request.args, "campaign"), with_worklist=False,
                                 grade=int_arg(request.args, "grade", high=16)).tables()
    if view == "doctor":
        return doctor_dashboard(current_user).tables()
    return district_dashboard(month_arg(request.args), id_arg(request.args, "school")).tables()


@bp.get("/dashboards/<view>/<key>.<fmt>")
@policy.require_recent_auth()
def export_table(view, key, fmt):
    if VIEW_ROLES.get(view) != current_user.role or fmt not in MIMETYPES:
        abort(404)
    table = _tables_for(view).get(key)
    if table is None:
        abort(404)
    audit.record(current_user, "export", "dashboard_table", None, detail={"view": view, "table": key, "format": fmt})
    db.session.commit()
    return Response(tables.stream(table, fmt), mimetype=MIMETYPES[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{key}.{fmt}"'})


@bp.get("/teacher/students")
@policy.allow_roles(Role.TEACHER)
def teacher_drilldown():
    found = drilldown(current_user, request.args)
    if found is None:
        abort(404)
    campaign, rows = found
    for student, response, _score, _cls in rows:
        audit.record(current_user, "drilldown_viewed", "student", student.id, student.id,
                     detail={"campaign_id": campaign.id, "scale": response.scale_code})
    db.session.commit()
    return render_template("dashboards/drilldown.html", campaign=campaign, rows=rows, args=request.args)


def _pdf(body, name):
    return send_file(io.BytesIO(body), mimetype="application/pdf", as_attachment=False, download_name=name)


@bp.get("/students/<int:student_id>/report.pdf")
@policy.allow_roles(Role.TEACHER, Role.DOCTOR)
@policy.require_recent_auth()
def student_report_pdf(student_id):
    from app.files import handover
    from app.reports.pdf.student import student_report

    student = policy.get_visible_or_404(current_user, Student, student_id)
    policy.require(current_user, "view_file", student)
    # The entries of the file page, no more: earlier schools' entries only under the guardian's hand-over consent.
    file_view = handover.file_for(current_user, student)
    audit.record(current_user, "export", "student_report", student.id, student.id,
                 detail={"format": "pdf", "entries": len(file_view.entries), "withheld": file_view.hidden_count})
    body = student_report(student, file_view, show_clinical=policy.can(current_user, "read_clinical_text", student))
    db.session.commit()
    return _pdf(body, f"student-{student.student_number}.pdf")


@bp.get("/campaigns/<int:campaign_id>/classes/<int:class_id>/report.pdf")
@policy.allow_roles(Role.TEACHER)
@policy.require_recent_auth()
def class_report_pdf(campaign_id, class_id):
    from app.reports.pdf.class_report import class_report

    campaign = policy.get_visible_or_404(current_user, Campaign, campaign_id)
    class_group = policy.get_visible_or_404(current_user, ClassGroup, class_id)
    if class_group not in campaign.classes:
        abort(404)
    audit.record(current_user, "export", "class_report", class_group.id, detail={"campaign_id": campaign.id, "format": "pdf"})
    with every_count_shown(policy.sees_every_student_counted(current_user, class_group.school_id)):
        body = class_report(campaign, class_group)
    db.session.commit()
    return _pdf(body, f"class-{class_group.id}-{campaign.id}.pdf")


@bp.get("/district/monthly.pdf")
@policy.allow_roles(Role.ADMIN)
@policy.require_recent_auth()
def monthly_report_pdf():
    from app.reports.pdf.monthly import monthly_report

    month = month_arg(request.args)
    dashboard = district_dashboard(month)
    audit.record(current_user, "export", "monthly_report", None, detail={"month": f"{month:%Y-%m}", "format": "pdf"})
    body = monthly_report(dashboard, generated_at=clock.now())
    db.session.commit()
    return _pdf(body, f"monthly-report-{month:%Y-%m}.pdf")
