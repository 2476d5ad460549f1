"""Who may see or do what. Every view asks here; nothing else decides access.

Scope rules (DESIGN.md, access rules):
- a psychology teacher sees a student only while the student is enrolled at the teacher's school,
  and then the whole file, including what happened at earlier schools;
- a homeroom teacher sees the students of their own class, and only whether one needs attention;
- a doctor sees high/critical alerts of partner schools (agreement active today) without identity
  (and an alert of any level once it was escalated to the hospital past its due time),
  and the whole file of a student referred to the doctor's hospital (unless the referral was declined); an alert
  shows the doctor its student and note only if it is in that file (made at a referring school, or under the
  guardian's handover_hospital consent), and a declined referral stays in the hospital's records without identity;
- a roster import by a school touches only the school's own current students (roster_right);
- an admin sees organisation data and identities, never clinical free text.
Anything outside scope answers 404 so that existence leaks nothing.
"""
from flask import abort, current_app, request
from flask_login import current_user
from sqlalchemy import and_, exists, false, literal, or_, select, true

from app.accounts.models import Role, StaffImport, User
from app.committee.models import CommitteeMember
from app.care.models import Assessment, FollowUp, Referral, ReferralStatus, ReturnDecision
from app.core import clock
from app.extensions import db
from app.files.models import BreakGlassAccess
from app.notifications.models import DutyGroup, Notification
from app.orgs.models import ClassGroup, Hospital, Partnership, School
from app.risk.models import Alert
from app.screening.models import Campaign, Response
from app.students.models import AdmissionRequest, Consent, ConsentKind, Enrollment, RosterImport, Student

STAFF_ROLES = frozenset(Role)
DOCTOR_ALERT_LEVELS = ("high", "critical")

# Endpoints reachable without the blueprint gate: filled by @public and guard_blueprint().
PUBLIC_ENDPOINTS: set[str] = set()
GUARDED_BLUEPRINTS: dict[str, frozenset] = {}


# --- declaring access on routes ---------------------------------------------------------------

def public(view):
    """Mark a view as reachable without a staff login (it must do its own checks)."""
    view._xinqiao_public = True
    return view


def passive(view):
    """Mark a view that pages poll on their own (live alerts): it is not the person's activity, so it does not
    keep a signed-in session from its idle timeout."""
    view._xinqiao_passive = True
    return view


def guard_blueprint(bp, roles):
    """Require a logged-in staff user with one of `roles` on every route of `bp` (unless @public)."""
    roles = frozenset(roles)
    GUARDED_BLUEPRINTS[bp.name] = roles

    @bp.before_request
    def _gate():
        view = current_app.view_functions.get(request.endpoint)
        if getattr(view, "_xinqiao_public", False):
            return None
        if not current_user.is_authenticated:
            return current_app.login_manager.unauthorized()
        if current_user.role not in roles:
            abort(404)
        return None

    return bp


def is_declared(endpoint: str) -> bool:
    """Deny by default: an endpoint is served only if its blueprint is guarded or it is public."""
    if endpoint == "static":
        return True
    view = current_app.view_functions.get(endpoint)
    if getattr(view, "_xinqiao_public", False):
        return True
    blueprint = endpoint.rsplit(".", 1)[0] if "." in endpoint else None
    return blueprint in GUARDED_BLUEPRINTS


# The student API under /api/v1 authenticates every request by its bearer token: staff session hooks
# (idle timeout, second-factor enrolment) do not apply to it and need not load a staff user.
BEARER_API_BLUEPRINT = "api"
FHIR_API_BLUEPRINT = "fhir"  # a partner hospital's system, by its client's bearer token (app/interop/fhir)


def is_bearer_api(req) -> bool:
    return req.blueprint in (BEARER_API_BLUEPRINT, FHIR_API_BLUEPRINT)


# --- scopes: SQL conditions, so list queries are scoped at the source ------------------------

def _enrolled_now(student_id_col, *, school_id=None, class_group_id=None):
    today = clock.today()
    conditions = [
        Enrollment.student_id == student_id_col,
        Enrollment.start_date <= today,
        or_(Enrollment.end_date.is_(None), Enrollment.end_date > today),
    ]
    if school_id is not None:
        conditions.append(Enrollment.school_id == school_id)
    if class_group_id is not None:
        conditions.append(Enrollment.class_group_id == class_group_id)
    return exists().where(*conditions)


def _referred_to(student_id_col, hospital_id):
    return exists().where(
        Referral.student_id == student_id_col,
        Referral.hospital_id == hospital_id,
        Referral.status != ReferralStatus.DECLINED,
    )


def partner_school_ids(hospital_id):
    """Schools whose agreement with the hospital is active today."""
    today = clock.today()
    return select(Partnership.school_id).where(Partnership.hospital_id == hospital_id, Partnership.in_force(today))


def student_file_scope(user, student_id_col):
    """Condition under which `user` may open the file of the student in `student_id_col`."""
    if user.role == Role.ADMIN:
        return true()
    if user.role == Role.TEACHER and user.school_id:
        return _enrolled_now(student_id_col, school_id=user.school_id)
    if user.role == Role.HOMEROOM and user.class_group_id:
        return _enrolled_now(student_id_col, class_group_id=user.class_group_id)
    if user.role == Role.DOCTOR and user.hospital_id:
        return _referred_to(student_id_col, user.hospital_id)
    return false()


def _school_entry_scope(user, school_id_col, student_id_col):
    """A teacher sees rows made at another school only while the guardian's hand-over consent is in force; a doctor
    sees rows made at a school that did not refer the student only under the hospital hand-over consent."""
    from app.students.consent import in_force

    if user.role == Role.DOCTOR:
        return hospital_entry_scope(user, school_id_col, student_id_col)
    if user.role != Role.TEACHER:
        return true()
    return or_(school_id_col == user.school_id, in_force(student_id_col, ConsentKind.HANDOVER_SCHOOL))


def _referral_school_scope(user, model):
    if user.role != Role.TEACHER:
        return true()
    return exists().where(Referral.id == model.referral_id,
                          _school_entry_scope(user, Referral.school_id, Referral.student_id))


def scope(user, model):
    """The SQL condition limiting `model` rows to what `user` may see."""
    role = user.role
    if model is Student:
        return student_file_scope(user, Student.id)
    if model is Alert:
        if role == Role.DOCTOR and user.hospital_id:
            return or_(
                and_(or_(Alert.level.in_(DOCTOR_ALERT_LEVELS), Alert.escalated_at.is_not(None)),  # escalated: any level
                     Alert.school_id.in_(partner_school_ids(user.hospital_id))),
                and_(_referred_to(Alert.student_id, user.hospital_id),
                     _school_entry_scope(user, Alert.school_id, Alert.student_id)),
            )
        if role == Role.HOMEROOM:
            return false()  # homeroom teachers see "needs attention", never alerts
        return and_(student_file_scope(user, Alert.student_id),
                    _school_entry_scope(user, Alert.school_id, Alert.student_id))
    if model is Notification:
        return Notification.user_id == user.id  # an inbox is its owner's alone
    if model is DutyGroup:
        return true() if role == Role.ADMIN else false()  # the admin sets up schools' and hospitals' duty groups
    if model is Referral:
        if role == Role.DOCTOR:
            return Referral.hospital_id == user.hospital_id if user.hospital_id else false()
        if role == Role.HOMEROOM:
            return false()
        return and_(student_file_scope(user, Referral.student_id),
                    _school_entry_scope(user, Referral.school_id, Referral.student_id))
    if model in (Response, Assessment, ReturnDecision, FollowUp):
        if role == Role.HOMEROOM:
            return false()
        if model in (Response, FollowUp):
            return and_(student_file_scope(user, model.student_id),
                        _school_entry_scope(user, model.school_id, model.student_id))
        return and_(student_file_scope(user, model.student_id), _referral_school_scope(user, model))
    if model is Consent:
        if role not in (Role.TEACHER, Role.ADMIN):
            return false()
        return student_file_scope(user, Consent.student_id)
    if model is RosterImport:
        if role == Role.ADMIN:
            return true()
        if role == Role.TEACHER and user.school_id:
            return RosterImport.school_id == user.school_id
        return false()
    if model is AdmissionRequest:  # the admin decides; a school sees the requests it made
        if role == Role.ADMIN:
            return true()
        return AdmissionRequest.school_id == user.school_id if role == Role.TEACHER and user.school_id else false()
    if model is Campaign:
        if role == Role.ADMIN:
            return true()
        return Campaign.school_id == user.school_id if role == Role.TEACHER and user.school_id else false()
    if model is ClassGroup:
        if role == Role.ADMIN:
            return true()
        if role == Role.TEACHER and user.school_id:
            return ClassGroup.school_id == user.school_id
        if role == Role.HOMEROOM and user.class_group_id:
            return ClassGroup.id == user.class_group_id
        return false()
    if model is BreakGlassAccess:
        if role == Role.ADMIN:
            return BreakGlassAccess.user_id == user.id
        if role == Role.TEACHER:
            return student_file_scope(user, BreakGlassAccess.student_id)
        return false()
    if model is School:
        if role == Role.ADMIN:
            return true()
        return School.id == user.school_id if user.school_id else false()
    if model is User:
        return true() if role == Role.ADMIN else User.id == user.id
    if model in (Hospital, Partnership):
        return true() if role == Role.ADMIN else false()
    if model is StaffImport:
        if role == Role.ADMIN:
            return true()
        return StaffImport.school_id == user.school_id if role == Role.TEACHER and user.school_id else false()
    if model is CommitteeMember:
        return committee_member_scope(user)
    if model in REGISTER_MODELS:
        return register_scope(user, model)
    raise LookupError(f"no access scope declared for {model.__name__}")


def scoped(user, model):
    """select(model) limited to what `user` may see."""
    return select(model).where(scope(user, model))


def get_visible_or_404(user, model, object_id):
    obj = db.session.scalar(select(model).where(model.id == object_id, scope(user, model)))
    if obj is None:
        abort(404)
    return obj


def student_visible(user, student_id) -> bool:
    return bool(db.session.scalar(select(student_file_scope(user, student_id))))


# --- actions ------------------------------------------------------------------------------------

def can(user, action: str, obj=None) -> bool:
    """May `user` do `action` on `obj` (already known to be visible to the user)?"""
    role = user.role
    if action == "launch_campaign":
        return role == Role.TEACHER and isinstance(obj, ClassGroup) and obj.school_id == user.school_id
    if action in ("acknowledge_alert", "resolve_alert"):
        return role == Role.TEACHER and isinstance(obj, Alert) and student_visible(user, obj.student_id)
    if action == "see_alert_identity":  # doctors see partner alerts de-identified unless the alert is in the file
        return role != Role.HOMEROOM and isinstance(obj, Alert) and alert_in_file(user, obj)
    if action == "read_alert_note":
        return role in (Role.TEACHER, Role.DOCTOR) and isinstance(obj, Alert) and alert_in_file(user, obj)
    if action == "see_referral_identity":  # a declined referral stays in the hospital's records without identity
        return role in (Role.TEACHER, Role.DOCTOR) and isinstance(obj, Referral) and student_visible(user, obj.student_id)
    if action == "read_decline_reason":  # the hospital's own words, and the school's, which was told
        if not (isinstance(obj, Referral) and obj.status == ReferralStatus.DECLINED):
            return False
        if role == Role.DOCTOR:
            return obj.hospital_id == user.hospital_id
        return role == Role.TEACHER and can(user, "read_clinical_text", obj.student)
    if action in ("set_duty", "manage_duty_groups"):
        return role == Role.ADMIN
    if action == "refer_student":
        return role == Role.TEACHER and isinstance(obj, Student) and student_visible(user, obj.id)
    if action in ("accept_referral", "decline_referral"):
        return (role == Role.DOCTOR and isinstance(obj, Referral) and obj.hospital_id == user.hospital_id
                and obj.status == ReferralStatus.SENT)
    if action in ("assess", "decide_return"):
        return (role == Role.DOCTOR and isinstance(obj, Referral) and obj.hospital_id == user.hospital_id
                and obj.status in (ReferralStatus.ACCEPTED, ReferralStatus.ASSESSED))
    if action == "read_scores":
        return role in (Role.TEACHER, Role.DOCTOR, Role.ADMIN)
    if action == "read_clinical_text" and role == Role.ADMIN:
        # Break-glass: an admin who gave a reason reads this one student's clinical text for a short time.
        return isinstance(obj, Student) and break_glass_active(user, obj.id)
    if action == "break_glass":
        return role == Role.ADMIN and isinstance(obj, Student)
    if action == "record_follow_up":
        # The psychology teacher of the student's current school: after a transfer the open task follows the
        # student (the caller has loaded it through scope(), which needs hand-over consent for old-school rows).
        return role == Role.TEACHER and isinstance(obj, FollowUp) and student_visible(user, obj.student_id)
    if action == "download_certificate":
        # The hospital's doctors (the one who decided among them) and the student's current school's teachers.
        if not isinstance(obj, ReturnDecision):
            return False
        if role == Role.DOCTOR:
            return obj.referral.hospital_id == user.hospital_id
        return role == Role.TEACHER and student_visible(user, obj.student_id)
    if action == "read_clinical_text":
        # Admins never read clinical free text in the normal course (break-glass is separate).
        return role in (Role.TEACHER, Role.DOCTOR) and isinstance(obj, Student) and student_visible(user, obj.id)
    if action == "record_consent":
        # The guardian signs on paper; the psychology teacher of the current school or the admin records it.
        return role in (Role.TEACHER, Role.ADMIN) and isinstance(obj, Student) and student_visible(user, obj.id)
    if action in ("import_roster", "apply_roster"):
        return role == Role.ADMIN or (role == Role.TEACHER and bool(user.school_id) and (
            obj is None or (isinstance(obj, RosterImport) and obj.school_id == user.school_id)))
    if action == "decide_admission":  # only the district admin moves a student into a school
        return role == Role.ADMIN and isinstance(obj, (AdmissionRequest, RosterImport))
    if action in ("run_year_end", "transfer_student", "view_access_log"):
        return role == Role.ADMIN
    if action in ("manage_account", "create_account", "manage_sign_in", "import_staff", "apply_staff_import",
                  "manage_orgs", "create_class"):
        return can_manage_setup(user, action, obj)
    if action == "export_access_log":
        return role == Role.ADMIN and isinstance(obj, Student)
    if action == "view_file":
        return role in (Role.TEACHER, Role.DOCTOR, Role.ADMIN) and isinstance(obj, Student) and student_visible(user, obj.id)
    if action in SCALE_SETTINGS_ACTIONS:
        return can_manage_scales(user, action)
    if action in ALERT_WORK_ACTIONS:
        return can_work_alert(user, action, obj)
    if action in COMMITTEE_ACTIONS:
        return can_manage_committee(user, action, obj)
    if action in TERM_REPORT_ACTIONS:
        return can_download_term_report(user, action, obj)
    if action in REGISTER_ACTIONS:
        return can_register(user, action, obj)
    if action == "export_district_data":  # every response of the district, the research export (app/exports)
        return role == Role.ADMIN
    return False


# --- setting up: organisations, classes and staff accounts ----------------------------------------

def account_scope(user):
    """The accounts `user` manages: every account for an admin; a psychology teacher, the homeroom teachers
    of their own school (other schools' accounts answer 404)."""
    if user.role == Role.ADMIN:
        return true()
    if user.role == Role.TEACHER and user.school_id:
        return and_(User.role == Role.HOMEROOM, User.school_id == user.school_id)
    return false()


def get_manageable_account_or_404(user, account_id):
    account = db.session.scalar(select(User).where(User.id == account_id, account_scope(user)))
    if account is None:
        abort(404)
    return account


def can_manage_setup(user, action, obj=None) -> bool:
    role = user.role
    if action in ("manage_orgs", "manage_sign_in"):
        # Schools, hospitals and agreements; requiring, resetting or unlocking a second factor or a login.
        return role == Role.ADMIN and (action == "manage_orgs" or isinstance(obj, User))
    if action == "manage_account":
        return isinstance(obj, User) and (role == Role.ADMIN or (
            role == Role.TEACHER and bool(user.school_id) and obj.role == Role.HOMEROOM and obj.school_id == user.school_id))
    if action in ("create_account", "import_staff"):
        return role == Role.ADMIN or (role == Role.TEACHER and bool(user.school_id))
    if action == "apply_staff_import":
        return isinstance(obj, StaffImport) and (role == Role.ADMIN or (
            role == Role.TEACHER and bool(user.school_id) and obj.school_id == user.school_id))
    if action == "create_class":
        return isinstance(obj, School) and (role == Role.ADMIN or (role == Role.TEACHER and obj.id == user.school_id))
    return False


# Questionnaire settings of the whole deployment (app/scales): no student data in them.
SCALE_SETTINGS_ACTIONS = ("view_scale_settings", "review_scale_text", "choose_cutoff_profile")


def can_manage_scales(user, action: str) -> bool:
    """Staff who screen, treat or run the district see which texts and cut-offs are in force. Whether a centre's
    Chinese text matches its source is a clinical judgement: a doctor reviews it (the admin is not a clinician).
    Which population's cut-off the district's screenings use is the district admin's setting."""
    if action == "view_scale_settings":
        return user.role in (Role.TEACHER, Role.DOCTOR, Role.ADMIN)
    if action == "review_scale_text":
        return user.role == Role.DOCTOR
    return action == "choose_cutoff_profile" and user.role == Role.ADMIN


# --- paths that change who sees a student (issue 15): roster imports, and the hospital hand-over -------

ROSTER_WRITE = "write"      # create the student, or update / enrol / move them
ROSTER_REQUEST = "request"  # only as an admission request that the district admin approves or refuses


def roster_right(user, current_school_id: int | None) -> str | None:
    """What a roster import applied by `user` may do with one row's student number: the one place that decides,
    asked by the preview and by Apply alike (app/students/roster.py explains the design).

    `current_school_id` is the school where the number's student is enrolled today; None for a number the system
    does not know and for a known student enrolled nowhere (left, graduated). The district admin writes anything.
    A school's psychology teacher writes only the school's own current students: every other number, known or not,
    becomes a request, so that a school's import moves, renames or re-identifies no one else's student and its
    preview cannot tell a number known elsewhere from an unknown one."""
    if user.role == Role.ADMIN:
        return ROSTER_WRITE
    if user.role == Role.TEACHER and user.school_id:
        return ROSTER_WRITE if current_school_id == user.school_id else ROSTER_REQUEST
    return None


def sees_every_student_counted(user, school_id) -> bool:
    """Whether small counts may be shown unsuppressed to this reader (app.dashboards.suppress): only a psychology
    teacher, on her own school's figures, whose students' names are a click away on the same page."""
    return user.role == Role.TEACHER and school_id is not None and user.school_id == school_id


def hospital_entry_scope(user, school_id_col, student_id_col):
    """A doctor sees an entry made at a school (an alert, a follow-up task) only if that school referred the student
    to the doctor's hospital (the referral is the hand-over for care) or under the guardian's handover_hospital
    consent: the file's rule (app/files/handover.py), for the pages that list entries outside the timeline."""
    from app.students.consent import in_force

    return or_(exists().where(Referral.student_id == student_id_col, Referral.hospital_id == user.hospital_id,
                              Referral.school_id == school_id_col, Referral.status != ReferralStatus.DECLINED),
               in_force(student_id_col, ConsentKind.HANDOVER_HOSPITAL))


def alert_in_file(user, alert) -> bool:
    """Is `alert` an entry of the student's file as `user` sees it (identity and note shown)?"""
    if not student_visible(user, alert.student_id):
        return False
    return bool(db.session.scalar(select(_school_entry_scope(user, literal(alert.school_id), literal(alert.student_id)))))


def break_glass_active(user, student_id) -> bool:
    now = clock.now()
    return db.session.scalar(select(BreakGlassAccess.id).where(
        BreakGlassAccess.user_id == user.id, BreakGlassAccess.student_id == student_id,
        BreakGlassAccess.opened_at <= now, BreakGlassAccess.expires_at > now).limit(1)) is not None


def require(user, action: str, obj=None):
    """Abort with 404 unless allowed: the caller learns nothing about objects it may not touch."""
    if not can(user, action, obj):
        abort(404)


def allow_roles(*roles):
    """Narrow a route of a shared blueprint to some roles; others get 404."""
    from functools import wraps

    allowed = frozenset(roles)

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if current_user.role not in allowed:
                abort(404)
            return view(*args, **kwargs)

        wrapper._xinqiao_roles = allowed
        return wrapper

    return decorator


# --- re-authentication before sensitive actions (exports, break-glass) -------------------------
# Every file that leaves the system (CSV, XLSX, PDF: a copy outside the audit trail and the access rules) and
# break-glass ask for the password, and the code when enrolled, given within RECENT_AUTH_MINUTES: a session
# left open on a staff-room computer is not enough. tests/security/test_recent_auth.py walks the URL map
# and every downloadable page, and fails on one without it.

RECENT_AUTH_SESSION_KEY = "auth_at"
RECENT_AUTH_MINUTES = 5


def mark_authenticated_now():
    """Called at login and after /reauth: the moment the user last proved who they are."""
    from flask import session

    session[RECENT_AUTH_SESSION_KEY] = int(clock.now().timestamp())


def authenticated_within(minutes: int) -> bool:
    from flask import session

    at = session.get(RECENT_AUTH_SESSION_KEY)
    return isinstance(at, int) and clock.now().timestamp() - at <= minutes * 60


def _same_site_path(url):
    from urllib.parse import urlsplit

    parts = urlsplit(url or "")
    return parts.path if parts.netloc == request.host and parts.path.startswith("/") else "/"


def require_recent_auth(minutes: int = RECENT_AUTH_MINUTES):
    """Decorator for exports and break-glass: unless the password (and second factor, when enrolled) was
    given in the last `minutes`, send the user to /reauth?next=<this page>. A POST is not replayed:
    the user comes back to the page (GET) and submits again."""
    from functools import wraps

    from flask import redirect, url_for

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not authenticated_within(minutes):
                target = request.full_path.rstrip("?") if request.method == "GET" else _same_site_path(request.referrer)
                return redirect(url_for("accounts.reauth", next=target))
            return view(*args, **kwargs)

        wrapper._xinqiao_recent_auth = minutes
        return wrapper

    return decorator


# --- an alert from first sight to closure (issue 17): why it was raised, whom to call, the crisis checklist ------

ALERT_WORK_ACTIONS = ("read_alert_answers", "read_guardian_contact", "work_crisis_checklist", "search_students",
                      "list_school_referrals")


def can_work_alert(user, action, obj=None) -> bool:
    """The answers behind an alert are scores (no free text): everyone who reads scores and sees the alert. The
    guardian's name and phone, the student's class and homeroom teacher go with the identity: the school's psychology
    teachers, a doctor whose file holds the alert, the admin (who has them on the student's page). The checklist and
    the calls are the school's work, done by whoever may close the alert; a call's note is clinical text, shown
    as the alert's note is (read_alert_note)."""
    role = user.role
    if action == "read_alert_answers":
        return can(user, "read_scores") and isinstance(obj, Alert)
    if action == "read_guardian_contact":
        return role in (Role.TEACHER, Role.DOCTOR, Role.ADMIN) and isinstance(obj, Alert) and alert_in_file(user, obj)
    if action == "work_crisis_checklist":
        return can(user, "resolve_alert", obj)
    if action == "search_students":  # the query is scoped: a school's current students, a hospital's referred ones
        return (role == Role.TEACHER and bool(user.school_id)) or (role == Role.DOCTOR and bool(user.hospital_id))
    if action == "list_school_referrals":  # the school's referrals and their states (the doctor has the queue)
        return role == Role.TEACHER and bool(user.school_id)
    return False


# --- a partner hospital's system (the FHIR API, issue 21) ----------------------------------------------

class HospitalSystem:
    """A hospital's API client, acting with exactly the rights of that hospital's doctors: every scope, action and
    consent rule above (and the file's hand-over rule, app/files/handover.py) applies to it as to a doctor of the
    hospital, so the API has no access rule of its own. It has no account: `id` is None (it owns no inbox, no
    break-glass); the audit trail names the client instead."""

    role = Role.DOCTOR
    school_id = None
    class_group_id = None
    id = None
    is_authenticated = True

    def __init__(self, client):
        self.hospital_id = client.hospital_id
        self.client_id = client.id

    def __repr__(self):
        return f"<HospitalSystem client={self.client_id} hospital={self.hospital_id}>"


def can_manage_fhir(user, action: str) -> bool:
    """The district admin makes and revokes hospitals' API clients and runs the district's bulk export."""
    return user.role == Role.ADMIN and action in ("manage_fhir_clients", "export_fhir_bulk")
# --- class committee members (班级心理委员, issue 19 item 4) -------------------------------------------------------
# A school's psychology teachers name students of their own school for a term and see the week's reports; the member
# (a student, signed in with the screening credentials, no staff account) reports only on current classmates and is
# shown nothing about any of them but their names.

COMMITTEE_ACTIONS = ("manage_committee", "view_committee_week")


def committee_member_scope(user):
    """Memberships a user sees: a psychology teacher, those of their school's current students."""
    if user.role == Role.TEACHER and user.school_id:
        return and_(CommitteeMember.school_id == user.school_id, student_file_scope(user, CommitteeMember.student_id))
    return false()


def can_manage_committee(user, action, obj=None) -> bool:
    if user.role != Role.TEACHER or not user.school_id:
        return False
    if isinstance(obj, School):
        return obj.id == user.school_id
    return isinstance(obj, CommitteeMember) and action == "manage_committee" and obj.school_id == user.school_id


def committee_may_report_on(member, student_id) -> bool:
    """A committee member reports on a current classmate of the class they were named for, never on themselves."""
    if student_id == member.student_id:
        return False
    return bool(db.session.scalar(select(_enrolled_now(literal(student_id), class_group_id=member.class_group_id))))


# --- term reports (issue 19 item 7): 一校一总结 for the school's psychology teachers, 一县一分析 for the district ------

TERM_REPORT_ACTIONS = ("download_school_summary", "download_district_analysis")


def can_download_term_report(user, action, obj=None) -> bool:
    """A school's summary is its psychology teachers' (suppressed aggregates of their own school); the district's
    analysis, with a row per school, is the district admin's."""
    if action == "download_school_summary":
        return user.role == Role.TEACHER and isinstance(obj, School) and obj.id == user.school_id
    return action == "download_district_analysis" and user.role == Role.ADMIN
# --- the second stage, the warning register and plans (issue 19, app/register) --------------------------------
# A psychology teacher interviews the students of their school, keeps the school's register line and plan; the
# earlier school's lines and plans follow a moved student only under hand-over consent (as every other entry), and
# a new school interviews the student itself to open its own line. A homeroom teacher sees only the plan tasks given
# to the homeroom teacher for students of their class (the current plan version), never interviews, levels or goals.
# The district admin sees counts on the register page and entries (never their free text) in the file.

from app.register.models import (  # noqa: E402  (kept with its block so that merges stay mechanical)
    Interview, PlanTask, SupportPlan, TaskOwner, WarningChange, WarningEntry, WarningReview,
)

REGISTER_MODELS = (Interview, WarningEntry, WarningChange, WarningReview, SupportPlan, PlanTask)
REGISTER_ACTIONS = ("interview_student", "view_register", "manage_register_entry", "complete_plan_task",
                    "register_settings", "view_district_register")


def _latest_plan_version():
    later = SupportPlan.__table__.alias("later")
    return ~exists().where(later.c.entry_id == SupportPlan.entry_id, later.c.version > SupportPlan.version)


def register_scope(user, model):
    role = user.role
    if role == Role.ADMIN:
        return true()
    if model is PlanTask and role == Role.HOMEROOM and user.class_group_id:
        return and_(PlanTask.owner == TaskOwner.HOMEROOM,
                    _enrolled_now(PlanTask.student_id, class_group_id=user.class_group_id),
                    exists().where(SupportPlan.id == PlanTask.plan_id, _latest_plan_version()))
    if role != Role.TEACHER or not user.school_id:
        return false()
    return and_(student_file_scope(user, model.student_id),
                _school_entry_scope(user, model.school_id, model.student_id))


def can_register(user, action, obj=None) -> bool:
    role = user.role
    if action in ("view_register", "register_settings"):
        return role == Role.TEACHER and bool(user.school_id)
    if action == "view_district_register":
        return role == Role.ADMIN
    if action == "interview_student":
        return role == Role.TEACHER and bool(user.school_id) and isinstance(obj, Student) and student_visible(user, obj.id)
    if action == "manage_register_entry":  # the school's own line only: another school's is read-only history
        return (role == Role.TEACHER and isinstance(obj, WarningEntry) and obj.school_id == user.school_id
                and student_visible(user, obj.student_id))
    if action == "complete_plan_task":
        if not isinstance(obj, PlanTask) or obj.done_at is not None:
            return False
        if role == Role.HOMEROOM:
            return obj.owner == TaskOwner.HOMEROOM and student_visible(user, obj.student_id)
        return role == Role.TEACHER and obj.school_id == user.school_id and student_visible(user, obj.student_id)
    return False
