"""The committee member's phone pages (signed in with the screening credentials, no staff account) and the
psychology teacher's page: who is named this term, which classes reported this week."""
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user

from app.accounts.forms import EmptyForm
from app.accounts.models import Role
from app.audit import services as audit
from app.auth import policy
from app.committee import services
from app.committee.forms import AppointForm, ConcernForm, SignInForm
from app.committee.models import CommitteeMember
from app.core import clock
from app.extensions import db, limiter
from app.orgs.models import School
from app.orgs.school_year import term_of
from app.screening import crisis

bp = Blueprint("committee", __name__, template_folder="templates")
policy.guard_blueprint(bp, roles={Role.TEACHER})

SESSION_KEY = "committee"
SESSION_MINUTES = 30

MESSAGES = {
    "details_do_not_match": _l("These details do not match a class committee member of this term. Check your student "
                               "number and birth date, or ask your psychology teacher."),
    "choose_classmate": _l("Choose the classmate from the list."),
    "choose_urgency": _l("Choose how urgent it is."),
    "describe": _l("Write what you noticed."),
    "not_in_school": _l("No current student of your school has this number."),
    "already_member": _l("This student is already a committee member this term."),
    "class_full": _l("This class already has four committee members this term."),
    "already_ended": _l("This membership has already ended."),
    "school_closed": _l("This school is closed."),
}


def _message(code):
    return str(MESSAGES.get(code, MESSAGES["details_do_not_match"]))


# --- the committee member's session (a signed cookie, like the staff session, but no staff identity) ---------

def _signed_in_member():
    """The membership of this browser's committee session while it is young and the membership usable."""
    data = session.get(SESSION_KEY)
    if not isinstance(data, dict) or not isinstance(data.get("m"), int) or not isinstance(data.get("t"), int):
        return None
    if clock.now().timestamp() - data["t"] > SESSION_MINUTES * 60:
        session.pop(SESSION_KEY, None)
        return None
    member = services.active_member(data["m"])
    if member is None:
        session.pop(SESSION_KEY, None)
    return member


def _member_key():
    """Per committee member (every address together): a member's session cannot flood the risk list."""
    data = session.get(SESSION_KEY)
    return "committee-member:" + (str(data.get("m")) if isinstance(data, dict) else "-")


def _number_key():
    number = request.form.get("student_number", "")
    return "committee-number:" + number.strip().upper()[:32]


def _report_limit():
    return current_app.config.get("COMMITTEE_REPORT_RATE_LIMIT", "20 per hour")


# One budget for both kinds of report (a concern, "nothing to report"), per member.
_report_budget = limiter.shared_limit(_report_limit, scope="committee-report", key_func=_member_key)


@bp.get("/committee/sign-in")
@policy.public
def sign_in_page():
    return render_template("committee/sign_in.html", form=SignInForm(), crisis_lines=crisis.lines())


@bp.post("/committee/sign-in")
@policy.public
@limiter.limit(lambda: current_app.config["STUDENT_SESSION_RATE_LIMIT"])
@limiter.limit(lambda: current_app.config["STUDENT_NUMBER_RATE_LIMIT"], key_func=lambda: _number_key())
def sign_in():
    form = SignInForm()
    if form.validate_on_submit():
        try:
            member = services.sign_in(form.student_number.data, form.birth_date.data)
        except services.CommitteeError as exc:
            # Refused attempts are audited without the number typed (it may name a student): their count shows guessing.
            audit.record("student", "committee_sign_in", "committee_member", outcome="refused")
            db.session.commit()
            form.student_number.errors.append(_message(exc.code))
        else:
            db.session.commit()
            session[SESSION_KEY] = {"m": member.id, "t": int(clock.now().timestamp())}
            return redirect(url_for("committee.report_page"))
    return render_template("committee/sign_in.html", form=form, crisis_lines=crisis.lines()), 400


def _report_page(member, form, status=200):
    form.classmate.choices = [("", _("Choose a classmate"))] + [(str(i), name) for i, name in services.classmates(member)]
    return render_template("committee/report.html", form=form, nothing_form=EmptyForm(),
                           crisis_lines=crisis.lines()), status


@bp.get("/committee/report")
@policy.public
def report_page():
    member = _signed_in_member()
    if member is None:
        return redirect(url_for("committee.sign_in_page"))
    form = ConcernForm()
    page = _report_page(member, form)
    # The class list shows classmates' names: one audit event naming them, and the member.
    audit.record_list_view("student", "committee.report_page",
                           [member.student_id] + [int(v) for v, _n in form.classmate.choices if v])
    db.session.commit()
    return page


@bp.post("/committee/report")
@policy.public
@_report_budget
def send_concern():
    member = _signed_in_member()
    if member is None:
        return redirect(url_for("committee.sign_in_page"))
    form = ConcernForm()
    if form.validate_on_submit():
        classmate = form.classmate.data
        try:
            services.report_concern(member, int(classmate) if str(classmate).isdigit() else None,
                                    form.noticed.data, form.urgency.data)
        except services.CommitteeError as exc:
            field = {"choose_classmate": form.classmate, "choose_urgency": form.urgency}.get(exc.code, form.noticed)
            field.errors = list(field.errors) + [_message(exc.code)]
        else:
            db.session.commit()
            return redirect(url_for("committee.sent"))
    return _report_page(member, form, 400)


@bp.post("/committee/nothing")
@policy.public
@_report_budget
def send_nothing():
    member = _signed_in_member()
    if member is None:
        return redirect(url_for("committee.sign_in_page"))
    if not EmptyForm().validate_on_submit():
        abort(400)
    services.report_nothing(member)
    db.session.commit()
    return redirect(url_for("committee.sent"))


@bp.get("/committee/sent")
@policy.public
def sent():
    """Only "sent": nothing about the classmate, what happens next, or earlier reports."""
    if _signed_in_member() is None:
        return redirect(url_for("committee.sign_in_page"))
    return render_template("committee/sent.html", form=EmptyForm(), crisis_lines=crisis.lines())


@bp.post("/committee/sign-out")
@policy.public
def sign_out():
    session.pop(SESSION_KEY, None)
    return redirect(url_for("committee.sign_in_page"))


# --- the psychology teacher ------------------------------------------------------------------------------

def _school():
    school = db.session.get(School, current_user.school_id) if current_user.school_id else None
    if school is None:
        abort(404)
    policy.require(current_user, "view_committee_week", school)
    return school


def _week_page(school, form, status=200):
    week = services.week_start()
    rows = services.week_overview(school.id, week)
    audit.record_list_view(current_user, "committee.week", [m.student_id for row in rows for m in row["members"]])
    db.session.commit()
    year, term = term_of(clock.today())
    return render_template("committee/week.html", rows=rows, week=week, form=form, end_form=EmptyForm(),
                           year=year, term=term,
                           reported=sum(1 for r in rows if r["reported"]),
                           with_members=sum(1 for r in rows if r["members"])), status


@bp.get("/committee")
def week():
    return _week_page(_school(), AppointForm())


@bp.post("/committee/members")
def appoint():
    school = _school()
    policy.require(current_user, "manage_committee", school)
    form = AppointForm()
    if form.validate_on_submit():
        try:
            member = services.appoint_member(school, form.student_number.data, by=current_user)
        except services.CommitteeError as exc:
            form.student_number.errors.append(_message(exc.code))
        else:
            db.session.commit()
            flash(_("%(name)s is a committee member of %(class)s this term.", name=member.student.name,
                    **{"class": member.class_group.name}), "success")
            return redirect(url_for("committee.week"))
    return _week_page(school, form, 400)


@bp.post("/committee/members/<int:member_id>/end")
def end_member(member_id):
    member = policy.get_visible_or_404(current_user, CommitteeMember, member_id)
    policy.require(current_user, "manage_committee", member)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        services.end_membership(member, by=current_user)
    except services.CommitteeError as exc:
        flash(_message(exc.code), "info")
        return redirect(url_for("committee.week"))
    db.session.commit()
    flash(_("The membership has ended; the sign-in no longer works."), "success")
    return redirect(url_for("committee.week"))
