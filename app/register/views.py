"""The interview list, the interview, the warning register (预警库), plans (一生一策), homeroom tasks, the school's
settings and the district's figures. Every view asks app/auth/policy.py."""
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user

from app.accounts.forms import EmptyForm
from app.accounts.models import Role
from app.audit import services as audit
from app.auth import policy
from app.core import clock
from app.dashboards.suppress import suppress, suppress_row
from app.extensions import db
from app.register import factors, services
from app.register.district import current_entries, district_figures
from app.register.forms import DutiesForm, InterviewForm, PlanForm, ReviewForm, SettingsForm
from app.register.labels import CHANGE_LABELS, DUTY_LABELS, LEVEL_LABELS, OWNER_LABELS
from app.register.models import ACTIVE_LEVELS, Interview, PlanTask, SupportPlan, WarningEntry
from app.students.models import Student

bp = Blueprint("register", __name__, template_folder="templates", url_prefix="/register")
policy.guard_blueprint(bp, roles={Role.TEACHER, Role.HOMEROOM, Role.ADMIN})

ERRORS = {
    "reason_required": _l("Write the reason for the warning level."),
    "judgement_required": _l("Write your judgement."),
    "interviewed_in_future": _l("The date of the interview cannot be in the future."),
    "reviewed_in_future": _l("The date of the review cannot be in the future."),
    "informed_in_future": _l("The date the guardian was informed cannot be in the future."),
    "bad_choice": _l("Choose from the list."),
    "not_on_register": _l("This student has no warning level at your school."),
    "note_required": _l("Write what the review found."),
    "nothing_recorded": _l("Give the date the guardian was informed or the reason not to refer."),
    "goals_required": _l("Write the plan's goals."),
    "review_date_required": _l("Give at least one review date."),
    "review_date_past": _l("Review dates must be today or later."),
    "task_required": _l("Give at least one task: who does what."),
    "task_done": _l("This task was already done."),
    "bad_days": _l("Days must be between 1 and 365."),
}


@bp.app_context_processor
def _register_labels():
    levels, owners = LEVEL_LABELS, OWNER_LABELS
    return {"warning_level_label": lambda k: levels.get(getattr(k, "value", k), k),
            "owner_label": lambda k: owners.get(getattr(k, "value", k), k),
            "change_label": lambda k: CHANGE_LABELS.get(getattr(k, "value", k), k),
            "duty_label": lambda k: DUTY_LABELS.get(k, k), "register_factors": factors}


def _fail(exc):
    db.session.rollback()
    flash(ERRORS[exc.code], "error")


@bp.get("/interviews")
def interview_list():
    policy.require(current_user, "view_register")
    items = services.interview_list(current_user.school_id)
    audit.record_list_view(current_user, "register.interview_list", [i["student"].id for i in items])
    db.session.commit()
    return render_template("register/interview_list.html", items=items, today=clock.today(),
                           settings=services.settings_for(current_user.school_id))


@bp.route("/students/<int:student_id>/interview", methods=["GET", "POST"])
def interview(student_id):
    student = policy.get_visible_or_404(current_user, Student, student_id)
    policy.require(current_user, "interview_student", student)
    form = InterviewForm()
    pending = services.pending_response(student.id, current_user.school_id)
    if request.method == "GET":
        form.interviewed_on.data = clock.today()
        form.level.data = pending["suggested"].value if pending else None
    if form.validate_on_submit():
        try:
            services.record_interview(student, current_user.school_id, form.data, by=current_user)
        except services.RegisterError as exc:
            _fail(exc)
        else:
            db.session.commit()
            flash(_("Interview recorded."), "success")
            return redirect(url_for("register.entry_page", student_id=student.id))
    audit.record(current_user, "interview_form_viewed", "student", student.id, student.id)
    db.session.commit()
    return render_template("register/interview.html", form=form, student=student, pending=pending), \
        400 if request.method == "POST" else 200


@bp.get("/")
def register_list():
    policy.require(current_user, "view_register")
    entries = [e for e in current_entries(current_user.school_id) if e.is_active]
    rank = {lv: i for i, lv in enumerate(ACTIVE_LEVELS)}
    entries.sort(key=lambda e: (rank[e.level], e.next_review_on or clock.today()))
    audit.record_list_view(current_user, "register.register_list", [e.student_id for e in entries])
    db.session.commit()
    return render_template("register/register_list.html", rows=services.register_rows(entries), today=clock.today())


def _entry_context(student):
    entries = db.session.scalars(policy.scoped(current_user, WarningEntry).where(
        WarningEntry.student_id == student.id).order_by(WarningEntry.id)).all()
    own = next((e for e in entries if e.school_id == current_user.school_id), None)
    interviews = db.session.scalars(policy.scoped(current_user, Interview).where(
        Interview.student_id == student.id).order_by(Interview.id.desc())).all()
    plans = db.session.scalars(policy.scoped(current_user, SupportPlan).where(
        SupportPlan.student_id == student.id).order_by(SupportPlan.id.desc())).all()
    plan_entry = next((e for e in entries if plans and e.id == plans[0].entry_id), None)
    return {"entries": entries, "own": own, "interviews": interviews, "plans": plans, "today": clock.today(),
            "plan_dates": services.plan_review_dates(plans[0], plan_entry, clock.today()) if plans else [],
            "duties": services.duties(own) if own else [],
            "red_duties_open": bool(own) and own.level.value == "red"
            and any(not met for code, met in services.duties(own) if code != "review"),
            "can_manage": own is not None and policy.can(current_user, "manage_register_entry", own),
            "can_interview": policy.can(current_user, "interview_student", student),
            "show_clinical": policy.can(current_user, "read_clinical_text", student)}


@bp.get("/students/<int:student_id>")
def entry_page(student_id, review_form=None, duties_form=None, status=200):
    student = policy.get_visible_or_404(current_user, Student, student_id)
    policy.require(current_user, "view_register")
    context = _entry_context(student)
    if review_form is None:
        review_form = ReviewForm(formdata=None, reviewed_on=clock.today(),
                                 level=context["own"].level.value if context["own"] else "none")
    audit.record(current_user, "register_entry_viewed", "student", student.id, student.id)
    db.session.commit()
    return render_template("register/entry.html", student=student, review_form=review_form,
                           duties_form=duties_form or DutiesForm(formdata=None), task_form=EmptyForm(), **context), status


def _own_entry_or_404(student_id):
    student = policy.get_visible_or_404(current_user, Student, student_id)
    entry = services.own_entry(student.id, current_user.school_id) if current_user.school_id else None
    policy.require(current_user, "manage_register_entry", entry)
    return student, entry


@bp.post("/students/<int:student_id>/review")
def review(student_id):
    student, entry = _own_entry_or_404(student_id)
    form = ReviewForm()
    if form.validate_on_submit():
        try:
            services.record_review(entry, form.data, by=current_user)
        except services.RegisterError as exc:
            _fail(exc)
        else:
            db.session.commit()
            flash(_("Review recorded."), "success")
            return redirect(url_for("register.entry_page", student_id=student.id))
    return entry_page(student.id, review_form=form, status=400)


@bp.post("/students/<int:student_id>/duties")
def duties(student_id):
    student, entry = _own_entry_or_404(student_id)
    form = DutiesForm()
    if form.validate_on_submit():
        try:
            services.record_duties(entry, form.data, by=current_user)
        except services.RegisterError as exc:
            _fail(exc)
        else:
            db.session.commit()
            flash(_("Recorded."), "success")
            return redirect(url_for("register.entry_page", student_id=student.id))
    return entry_page(student.id, duties_form=form, status=400)


@bp.route("/students/<int:student_id>/plan", methods=["GET", "POST"])
def plan(student_id):
    student, entry = _own_entry_or_404(student_id)
    current = services.current_plan(entry)
    form = PlanForm()
    if request.method == "GET" and current is not None:
        _fill_plan_form(form, current)
    if form.validate_on_submit():
        try:
            services.save_plan(entry, form.goals.data, [form.review_1.data, form.review_2.data, form.review_3.data],
                               form.tasks.data, by=current_user)
        except services.RegisterError as exc:
            _fail(exc)
        else:
            db.session.commit()
            flash(_("Plan saved."), "success")
            return redirect(url_for("register.entry_page", student_id=student.id))
    audit.record(current_user, "plan_form_viewed", "student", student.id, student.id)
    db.session.commit()
    return render_template("register/plan.html", form=form, student=student, entry=entry, current=current), \
        400 if request.method == "POST" else 200


def _fill_plan_form(form, current):
    """Start the next version from the current one."""
    from datetime import date

    form.goals.data = current.goals
    dates = [date.fromisoformat(d) for d in current.review_dates] + [None, None, None]
    form.review_1.data, form.review_2.data, form.review_3.data = dates[:3]
    for sub, task in zip(form.tasks, current.tasks):
        sub.owner.data, sub.action.data, sub.due_on.data = task.owner.value, task.action, task.due_on


@bp.get("/tasks")
@policy.allow_roles(Role.HOMEROOM)
def my_tasks():
    """The homeroom teacher's tasks in the current plans of their class's students: the task, never the plan."""
    tasks = db.session.scalars(policy.scoped(current_user, PlanTask).where(PlanTask.done_at.is_(None))
                               .order_by(PlanTask.due_on, PlanTask.id)).all()
    audit.record_list_view(current_user, "register.my_tasks", [t.student_id for t in tasks])
    db.session.commit()
    return render_template("register/tasks.html", tasks=tasks, form=EmptyForm(), today=clock.today())


@bp.post("/tasks/<int:task_id>/done")
def task_done(task_id):
    task = policy.get_visible_or_404(current_user, PlanTask, task_id)
    policy.require(current_user, "complete_plan_task", task)
    if not EmptyForm().validate_on_submit():
        flash(_("The form expired: try again."), "error")
        return redirect(request.referrer or url_for("register.my_tasks"))
    services.complete_task(task, by=current_user)
    db.session.commit()
    flash(_("Task marked done."), "success")
    if current_user.role == Role.HOMEROOM:
        return redirect(url_for("register.my_tasks"))
    return redirect(url_for("register.entry_page", student_id=task.student_id))


@bp.route("/settings", methods=["GET", "POST"])
def settings():
    policy.require(current_user, "register_settings")
    form = SettingsForm(obj=services.settings_for(current_user.school_id))
    if form.validate_on_submit():
        services.save_settings(current_user.school_id, {k: form.data[k] for k in services.DEFAULT_SETTINGS},
                               by=current_user)
        db.session.commit()
        flash(_("Settings saved."), "success")
        return redirect(url_for("register.settings"))
    return render_template("register/settings.html", form=form), 400 if request.method == "POST" else 200


@bp.get("/district")
def district():
    """Counts per level and school, the change since each school's latest round, and flagged-but-no-intervention:
    every figure under 5 students is suppressed."""
    policy.require(current_user, "view_district_register")
    rows = district_figures()
    return render_template("register/district.html", **_suppressed(rows), levels=ACTIVE_LEVELS)


DISTRICT_COLUMNS = tuple(lv.value for lv in ACTIVE_LEVELS) + ("rose", "fell", "lifted", "new", "no_intervention",
                                                              "overdue")


def _raw(row, key):
    if key in row["levels"]:
        return row["levels"][key]
    return row["change"][key] if key in row["change"] else row[key]


def _suppressed(rows):
    """Every cell under 5 becomes "<5"; a column whose total is printed hides a second cell when only one is hidden,
    so that the total cannot give it back (app/dashboards/suppress.suppress_row)."""
    cells = [{"school": r["school"]} for r in rows]
    totals = {}
    for key in DISTRICT_COLUMNS:
        column = [_raw(r, key) for r in rows]
        for cell, value in zip(cells, suppress_row(column)):
            cell[key] = value
        totals[key] = suppress(sum(column))
    return {"rows": cells, "totals": totals}
