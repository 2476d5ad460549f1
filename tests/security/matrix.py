"""THE ACCESS MATRIX: every endpoint × role × object relation → expected outcome.

Adding an endpoint? Add one `Route(...)` to ROUTES below (test_every_endpoint_is_in_the_matrix fails until
you do). Pick the outcome for every role; a role given one outcome means "for every relation".

Roles and relations (the actors are built in tests/security/conftest.py):
    anonymous  none       no session at all
    student    own        a student's bearer token (Student 3, joined the open campaign)
    homeroom   same       homeroom teacher of the class of the case students
               other      homeroom teacher of a class at the other school
               moved_out  the same homeroom teacher after students 0-2 transferred to the other school
    teacher    own        psychology teacher who created the case objects (campaign, alerts, referrals)
               same       a colleague at the same school
               other      psychology teacher at the other school
               moved_out  the creator after students 0-2 transferred away
               moved_in   the other school's teacher after students 0-2 transferred in
               moved_in_consented   the same, and their guardians' hand-over consent recorded at the new school
    doctor     own        doctor at the hospital the students were referred to
               same       a colleague at that hospital
               other      doctor at a hospital without referral or partnership
               moved      the first doctor after the students transferred
    admin      any        district admin

Case objects (URL arguments resolve to these by name, see URL_ARGS): student = Student 0 (critical alert,
referral accepted and assessed), referral_sent = Student 1's referral waiting to be accepted,
student2 = Student 2 (no referral), campaign/class = the middle school's, user = teacher2's account.

Who sees whom (issue 15): every request whose outcome changes the database is followed by conftest.who_sees_whom,
which says for each viewer (both schools' psychology and homeroom teachers, both hospitals' doctors) and each case
student whether the viewer can open the student, which schools' entries the file shows, and which alerts show the
student. What changed must be exactly the route's `moves` for that actor (nothing, unless declared): a roster
import, a consent, a concern or a referral that hands another school's student or entries to someone fails here.

Outcomes: OK 200 · DONE 302 and the database changed · CREATED 201 and changed · SHOWN 200 and changed · REDIRECT 302 elsewhere,
nothing changed · LOGIN 302 to /login · NOT_FOUND 404 · BAD 400 · UNAUTHORIZED 401 (the JSON API).
Except DONE and CREATED, every outcome must leave every table unchanged (audit rows aside).
Every response must not contain the name of a student outside the actor's scope, and every 200 that
shows a student's name must have written an audit event naming that student. Nor may it show the case entries'
clinical free text, or their case numbers, to an actor not given them in conftest.ACTORS.
"""
from dataclasses import dataclass, field
from typing import Callable


@dataclass(frozen=True)
class Outcome:
    name: str
    status: int
    changes: bool = False
    location: str | None = None  # for 302: "login" or "elsewhere"


OK = Outcome("OK", 200)
DONE = Outcome("DONE", 302, changes=True, location="elsewhere")
CREATED = Outcome("CREATED", 201, changes=True)
# 200 and the database changed: a page that shows a one-time password is the answer to the POST that made it
# (never stored, so never shown again by a redirect).
SHOWN = Outcome("SHOWN", 200, changes=True)
REDIRECT = Outcome("REDIRECT", 302, location="elsewhere")
LOGIN = Outcome("LOGIN", 302, location="login")
NOT_FOUND = Outcome("NOT_FOUND", 404)
BAD = Outcome("BAD", 400)
UNAUTHORIZED = Outcome("UNAUTHORIZED", 401)

ROLES = {
    "anonymous": ("none",),
    "student": ("own",),
    "homeroom": ("same", "other", "moved_out"),
    "teacher": ("own", "same", "other", "moved_out", "moved_in", "moved_in_consented"),
    "doctor": ("own", "same", "other", "moved"),
    "admin": ("any",),
}
VERBS = ("read", "create", "update", "delete", "export")

# URL argument name → case object (tests/security/conftest.py `case`). Add new argument names here.
URL_ARGS = {
    "student_id": "student",
    "referral_id": "referral",
    "alert_id": "alert",
    "campaign_id": "campaign",
    "class_id": "class_id",
    "user_id": "user",
    "code": "lang",
    "filename": "static_file",
    "decision_id": "decision",
    "assessment_id": "assessment",
    "follow_up_id": "follow_up",
    "notification_id": "notification",
    "import_id": "roster_import",
    "school_id": "school",
    "view": "export_view",
    "key": "export_key",
    "fmt": "export_fmt",
    "kind": "channel_kind",
    "group_id": "duty_group",
    "token": "ack_token",
    "hospital_id": "hospital_id",
    "agreement_id": "agreement",
    "staff_import_id": "staff_import",
    "scale_code": "scale_code",
    "text_id": "text_id",
    "admission_id": "admission",
    # FHIR (app/interop/fhir): every session actor is refused before any id is looked up, so any case id will do;
    # the export jobs, their files and the API clients are covered by tests/interop.
    "resource_id": "student",
    "questionnaire_id": "scale_code",
    "job_id": "student",
    "client_id": "student",
    "file_name": "static_file",
    "member_id": "committee_member",
    "task_id": "plan_task",
}


@dataclass
class Route:
    endpoint: str
    method: str
    verb: str
    expect: dict
    args: dict = field(default_factory=dict)  # overrides of URL_ARGS for this route
    data: Callable | None = None              # case → form fields (CSRF token added by the client)
    json: Callable | None = None              # case → JSON body
    query: Callable | None = None             # case → query-string arguments
    check_identity: bool = True               # False only where a student sees their own name
    covered_by: str | None = None             # instead of expect: the test module that proves this route
    # role → (viewer, student name) pairs whose visibility the request changes, or role → relation → pairs
    moves: dict = field(default_factory=dict)

    def outcome(self, role, relation):
        value = self.expect[role]
        if isinstance(value, Outcome):
            return value
        return value.get(relation, value.get("*"))

    def moved(self, role, relation) -> frozenset:
        value = self.moves.get(role, frozenset())
        if isinstance(value, dict):
            value = value.get(relation, frozenset())
        return frozenset(value)


def everyone(outcome):
    return {role: outcome for role in ROLES}


def staff(*, homeroom, teacher, doctor, admin):
    """Staff-only route: anonymous and student sessions are sent to the login page."""
    return {"anonymous": LOGIN, "student": LOGIN, "homeroom": homeroom, "teacher": teacher, "doctor": doctor,
            "admin": admin}


# Relation shorthands for objects of the middle school's students 0-2 (they move in the "moved" relations).
# School objects (campaigns, classes, roster imports) stay with the school: hand-over consent moves the file, not them.
SCHOOL_OBJECT = {"own": OK, "same": OK, "other": NOT_FOUND, "moved_out": OK, "moved_in": NOT_FOUND,
                 "moved_in_consented": NOT_FOUND}
STUDENT_OBJECT = {"own": OK, "same": OK, "other": NOT_FOUND, "moved_out": NOT_FOUND, "moved_in": OK,
                  "moved_in_consented": OK}
STUDENT_WRITE = {"own": DONE, "same": DONE, "other": NOT_FOUND, "moved_out": NOT_FOUND, "moved_in": DONE,
                 "moved_in_consented": DONE}
SCHOOL_WRITE = {"own": DONE, "same": DONE, "other": NOT_FOUND, "moved_out": DONE, "moved_in": NOT_FOUND,
                "moved_in_consented": NOT_FOUND}
# Entries made at the old school (alerts, referrals, assessments, decisions, follow-ups) follow a moved student to the
# new school only with the guardian's hand-over consent: without it the new school's teacher gets 404 ("moved_in");
# with it the teacher takes the file over as the student's current school (moved_in_consented: as STUDENT_OBJECT).
OLD_SCHOOL_ENTRY = dict(STUDENT_OBJECT, moved_in=NOT_FOUND)
OLD_SCHOOL_ENTRY_WRITE = dict(STUDENT_WRITE, moved_in=NOT_FOUND)
# A school's own warning-register line (issue 19): only the school that holds it acts on it, and only while the
# student is enrolled there; a new school, even with the hand-over consent, interviews the student to open its own.
OWN_LINE = {"own": OK, "same": OK, "other": NOT_FOUND, "moved_out": NOT_FOUND, "moved_in": NOT_FOUND,
            "moved_in_consented": NOT_FOUND}
OWN_LINE_WRITE = {key: DONE if value is OK else value for key, value in OWN_LINE.items()}
REFERRED = {"own": OK, "same": OK, "other": NOT_FOUND, "moved": OK}
REFERRED_WRITE = {"own": DONE, "same": DONE, "other": NOT_FOUND, "moved": DONE}

# --- who sees whom (issue 15): the changes that actions make by design (conftest.who_sees_whom) ------------------
# Objects of Student 4, who never moves: referred by the middle school and declined by the hospital.
STAYING = {"own": OK, "same": OK, "other": NOT_FOUND, "moved_out": OK, "moved_in": NOT_FOUND, "moved_in_consented": NOT_FOUND}
# The hospital keeps its declined referral, without the student's identity (the identity check proves it).
DECLINED_BY_HOSPITAL = {"own": OK, "same": OK, "other": NOT_FOUND, "moved": OK}


def _moved_school(student):
    """A student moving from the middle school's class to the high school's, or back: all four teachers' view changes."""
    return frozenset((viewer, student) for viewer in ("teacher", "homeroom", "other_teacher", "other_homeroom"))


REFERRAL_OPENS_THE_FILE = frozenset({("doctor", "Student 2")})    # a school refers its own student
DECLINE_CLOSES_THE_FILE = frozenset({("doctor", "Student 1")})    # the hospital declines
HAND_OVER_CONSENT = frozenset({("other_teacher", "Student 0")})   # the guardian's consent, recorded at the new school
PROMOTED_OUT_OF_THE_CLASS = frozenset(("homeroom", f"Student {i}") for i in range(6))  # year-end: class 8-1 → 9-1


def _campaign_form(case):
    return {"title": "Matrix screening", "class_ids": [case.class_id], "scale_codes": ["PHQ-9"], "open_hours": 2}


def _referral_form(case):
    return {"hospital_id": case.hospital_id, "urgency": "high", "reason": "matrix referral", "alert_id": 0}


def _assessment_form(case):
    return {"a-assessed_on": "2026-11-23", "a-setting": "clinic", "a-findings": "matrix findings",
            "a-risk_level": "high", "a-plan": "outpatient"}


def _decision_form(case):
    return {"d-outcome": "cleared_with_conditions", "d-conditions": "matrix conditions"}


def _correction_form(case):
    return dict(_assessment_form(case), **{"a-findings": "corrected findings"})


def _follow_up_form(case):
    return {f"f{case.follow_up}-note": "matrix contact"}


def _concern_form(case):
    return {"student_number": case.world.students[0]["number"], "level": "high", "category": "classmate_worry",
            "note": "matrix concern"}


def _guardian_contact_form(case):
    from app.core import clock

    return {"g-direction": "outgoing", "g-person": "Matrix Guardian", "g-outcome": "reached", "g-note": "matrix call",
            "g-contacted_at": clock.now().astimezone(clock.LOCAL_TZ).strftime("%Y-%m-%dT%H:%M")}


def _consent_form(case):
    return {"kind": "handover_school", "granted": "yes", "note": "matrix form 1", "confirm": "y"}


def _roster_upload(case):
    from io import BytesIO

    from app.core import clock
    from app.orgs.school_year import academic_year
    from tests.security.conftest import ROSTER_CSV

    return {"file": (BytesIO(ROSTER_CSV.replace(b"N0901", b"N0902")), "roster.csv"),
            "academic_year": academic_year(clock.today())}


def _password_form(case):
    from tests.conftest import PASSWORD

    return {"current_password": PASSWORD, "new_password": "a-new-long-passphrase-77",
            "confirm": "a-new-long-passphrase-77"}


def _days_from_today(days):
    from datetime import timedelta

    from app.core import clock

    return (clock.today() + timedelta(days=days)).isoformat()


def _school_form(case):
    return {"name": "Matrix School", "code": "M0001", "level": "middle", "district": "D1"}


def _agreement_form(case):
    return {"school_id": case.school, "hospital_id": case.world.other_hospital_id, "signed_on": _days_from_today(0),
            "expires_on": _days_from_today(365)}


def _class_form(case):
    from app.core import clock
    from app.orgs.school_year import academic_year

    return {"academic_year": academic_year(clock.today()), "grade": 8, "name": "Class 8-9"}


def _account_form(case):
    """A homeroom teacher of the case class (a psychology teacher's form has only the name, address and class)."""
    return {"username": "matrix.new", "display_name": "Matrix New", "email": "", "role": "homeroom",
            "school_id": case.school, "hospital_id": 0, "class_group_id": case.class_id}


def _reason_form(case):
    return {"reason": "asked in person at the district centre"}


def _staff_upload(case):
    from io import BytesIO

    from tests.security.conftest import STAFF_CSV

    return {"file": (BytesIO(STAFF_CSV.replace(b"matrix.homeroom", b"matrix.homeroom2")), "staff.csv")}


# Psychology teachers by relation to the middle school (whose homeroom teachers and class the case objects are).
def _interview_form(case):
    return {"interviewed_on": _days_from_today(0), "suicidal_thoughts": "none", "suicide_plan": "none",
            "disposition": "no_further", "judgement": "matrix judgement", "level": "yellow", "level_reason": "matrix"}


def _review_form(case):
    return {"reviewed_on": _days_from_today(0), "note": "matrix review", "level": "orange", "reason": "matrix"}


def _plan_form(case):
    return {"goals": "matrix goals", "review_1": _days_from_today(7), "tasks-0-owner": "guardian",
            "tasks-0-action": "matrix task"}


def _settings_form(case):
    return {"interview_days": 5, "red_review_days": 7, "orange_review_days": 14, "yellow_review_days": 28}


_BY_SCHOOL = {"other": NOT_FOUND, "moved_in": NOT_FOUND, "moved_in_consented": NOT_FOUND}
_SCHOOL_SHOWN = {"own": SHOWN, "same": SHOWN, "moved_out": SHOWN}


ROUTES = [
    # --- public ------------------------------------------------------------------------------------
    Route("static", "GET", "read", everyone(OK)),
    Route("health.healthz", "GET", "read", everyone(OK)),
    # --- ops: /metrics answers loopback (the test client's address) and METRICS_ALLOWED_IPS only; the address
    # and proxy rules are proven in tests/integration/test_monitoring.py and tests/deploy/test_nginx.py.
    Route("monitoring.metrics", "GET", "read", everyone(OK)),
    Route("student.start", "GET", "read", everyone(OK)),
    Route("api.openapi", "GET", "read", everyone(OK)),
    Route("accounts.set_language", "GET", "update", everyone(REDIRECT)),
    Route("accounts.index", "GET", "read", dict(everyone(REDIRECT), anonymous=LOGIN, student=LOGIN)),
    Route("accounts.login", "GET", "read", everyone(OK)),
    Route("accounts.login", "POST", "create", {}, covered_by="tests/security/test_accounts.py"),
    Route("accounts.login_code", "GET", "read", everyone(LOGIN)),  # no password step pending
    Route("accounts.login_code", "POST", "create", {}, covered_by="tests/security/test_accounts.py"),

    # --- the student API (a bearer token, no cookies) ----------------------------------------------
    Route("api.create_student_session", "POST", "create", everyone(CREATED), check_identity=False,
          json=lambda case: {"session_code": case.session_code, "student_number": case.join_as["number"],
                             "birth_date": case.join_as["birth_date"]}),
    Route("api.current_student_session", "GET", "read", dict(everyone(UNAUTHORIZED), student=OK), check_identity=False),
    Route("api.submit_response", "POST", "create", dict(everyone(UNAUTHORIZED), student=CREATED), check_identity=False,
          json=lambda case: case.response_body()),

    # --- own account -----------------------------------------------------------------------------------
    Route("accounts.logout", "POST", "update", {}, covered_by="tests/security/test_accounts.py"),
    Route("accounts.reauth", "GET", "read", staff(homeroom=OK, teacher=OK, doctor=OK, admin=OK)),
    Route("accounts.reauth", "POST", "update", {}, covered_by="tests/security/test_accounts.py"),
    Route("accounts.second_factor", "GET", "read", staff(homeroom=OK, teacher=OK, doctor=OK, admin=OK)),
    Route("accounts.second_factor", "POST", "create", {}, covered_by="tests/security/test_accounts.py"),
    Route("accounts.change_password", "GET", "read", staff(homeroom=OK, teacher=OK, doctor=OK, admin=OK)),
    Route("accounts.change_password", "POST", "update", staff(homeroom=DONE, teacher=DONE, doctor=DONE, admin=DONE),
          data=_password_form),

    # --- home pages ----------------------------------------------------------------------------------
    Route("dashboards.teacher_home", "GET", "read", staff(homeroom=NOT_FOUND, teacher=OK, doctor=NOT_FOUND, admin=NOT_FOUND)),
    Route("dashboards.homeroom_home", "GET", "read", staff(homeroom=OK, teacher=NOT_FOUND, doctor=NOT_FOUND, admin=NOT_FOUND)),
    Route("dashboards.doctor_home", "GET", "read", staff(homeroom=NOT_FOUND, teacher=NOT_FOUND, doctor=OK, admin=NOT_FOUND)),
    Route("dashboards.admin_home", "GET", "read", staff(homeroom=NOT_FOUND, teacher=NOT_FOUND, doctor=NOT_FOUND, admin=OK)),

    # --- screening ----------------------------------------------------------------------------------
    Route("screening.class_page", "GET", "read", staff(homeroom=NOT_FOUND, teacher=SCHOOL_OBJECT, doctor=NOT_FOUND, admin=NOT_FOUND)),
    Route("screening.new_campaign", "GET", "read", staff(homeroom=NOT_FOUND, teacher=OK, doctor=NOT_FOUND, admin=NOT_FOUND)),
    Route("screening.new_campaign", "POST", "create",
          staff(homeroom=NOT_FOUND, doctor=NOT_FOUND, admin=NOT_FOUND,
                teacher={"own": DONE, "same": DONE, "other": BAD, "moved_out": DONE, "moved_in": BAD,
                         "moved_in_consented": BAD}),
          data=_campaign_form),
    Route("screening.campaign_page", "GET", "read", staff(homeroom=NOT_FOUND, teacher=SCHOOL_OBJECT, doctor=NOT_FOUND, admin=NOT_FOUND)),
    Route("screening.campaign_progress", "GET", "read", staff(homeroom=NOT_FOUND, teacher=SCHOOL_OBJECT, doctor=NOT_FOUND, admin=NOT_FOUND)),
    Route("screening.close_campaign", "POST", "update", staff(homeroom=NOT_FOUND, teacher=SCHOOL_WRITE, doctor=NOT_FOUND, admin=NOT_FOUND)),
    # authedge: ending a student's session (student 3 joined the case campaign); the student must be visible too.
    Route("screening.end_student_session", "POST", "update",
          staff(homeroom=NOT_FOUND, teacher=SCHOOL_WRITE, doctor=NOT_FOUND, admin=NOT_FOUND),
          args={"student_id": "joined_student"}),

    # --- risk ----------------------------------------------------------------------------------------
    Route("risk.alert_list", "GET", "read", staff(homeroom=NOT_FOUND, teacher=OK, doctor=OK, admin=OK)),
    Route("risk.acknowledge", "POST", "update", staff(homeroom=NOT_FOUND, teacher=OLD_SCHOOL_ENTRY_WRITE, doctor=NOT_FOUND, admin=NOT_FOUND)),

    # --- the student's file and care -----------------------------------------------------------------
    Route("files.student_file", "GET", "read", staff(homeroom=NOT_FOUND, teacher=STUDENT_OBJECT, doctor=REFERRED, admin=OK)),
    Route("care.refer", "GET", "read", staff(homeroom=NOT_FOUND, teacher=STUDENT_OBJECT, doctor=NOT_FOUND, admin=NOT_FOUND),
          args={"student_id": "student2"}),
    # Student 0's form offers the student's open alerts to link: the old school's only with hand-over consent.
    Route("care.refer", "GET", "read", staff(homeroom=NOT_FOUND, teacher=STUDENT_OBJECT, doctor=NOT_FOUND, admin=NOT_FOUND)),
    Route("care.refer", "POST", "create", staff(homeroom=NOT_FOUND, teacher=STUDENT_WRITE, doctor=NOT_FOUND, admin=NOT_FOUND),
          args={"student_id": "student2"}, data=_referral_form, moves={"teacher": REFERRAL_OPENS_THE_FILE}),
    Route("care.referral_page", "GET", "read", staff(homeroom=NOT_FOUND, teacher=OLD_SCHOOL_ENTRY, doctor=REFERRED, admin=NOT_FOUND)),
    Route("care.accept", "POST", "update", staff(homeroom=NOT_FOUND, teacher=NOT_FOUND, doctor=REFERRED_WRITE, admin=NOT_FOUND),
          args={"referral_id": "referral_sent"}),
    Route("care.record_assessment", "POST", "create",
          staff(homeroom=NOT_FOUND, teacher=NOT_FOUND, doctor=REFERRED_WRITE, admin=NOT_FOUND), data=_assessment_form),
    Route("care.decide", "POST", "create", staff(homeroom=NOT_FOUND, teacher=NOT_FOUND, doctor=REFERRED_WRITE, admin=NOT_FOUND),
          data=_decision_form),

    Route("care.decline", "POST", "update", staff(homeroom=NOT_FOUND, teacher=NOT_FOUND, doctor=REFERRED_WRITE, admin=NOT_FOUND),
          args={"referral_id": "referral_sent"}, data=lambda case: {"x-reason": "matrix: no capacity"},
          moves={"doctor": DECLINE_CLOSES_THE_FILE}),
    Route("care.correct_assessment", "GET", "read",
          staff(homeroom=NOT_FOUND, teacher=NOT_FOUND, doctor=REFERRED, admin=NOT_FOUND)),
    Route("care.correct_assessment", "POST", "create",
          staff(homeroom=NOT_FOUND, teacher=NOT_FOUND, doctor=REFERRED_WRITE, admin=NOT_FOUND), data=_correction_form),
    # The certificate: the deciding hospital's doctors and the student's current school's teachers.
    Route("care.certificate", "GET", "export", staff(homeroom=NOT_FOUND, teacher=OLD_SCHOOL_ENTRY, doctor=REFERRED, admin=NOT_FOUND)),
    # A follow-up task is the student's current school's: the old school loses it with the student, and the open task
    # follows the student to the new school with the file, i.e. only with the guardian's hand-over consent.
    Route("care.record_follow_up", "POST", "update",
          staff(homeroom=NOT_FOUND, doctor=NOT_FOUND, admin=NOT_FOUND, teacher=OLD_SCHOOL_ENTRY_WRITE),
          data=_follow_up_form),
    Route("files.break_glass", "GET", "read", staff(homeroom=NOT_FOUND, teacher=NOT_FOUND, doctor=NOT_FOUND, admin=OK)),
    Route("files.break_glass", "POST", "create", staff(homeroom=NOT_FOUND, teacher=NOT_FOUND, doctor=NOT_FOUND, admin=DONE),
          data=lambda case: {"reason": "Matrix: the guardian called the hotline about an acute crisis tonight."}),

    # --- risk: an alert's page and concerns ------------------------------------------------------------
    Route("risk.alert_page", "GET", "read", staff(homeroom=NOT_FOUND, teacher=OLD_SCHOOL_ENTRY, doctor=REFERRED, admin=OK)),
    Route("risk.resolve", "POST", "update", staff(homeroom=NOT_FOUND, teacher=OLD_SCHOOL_ENTRY_WRITE, doctor=NOT_FOUND, admin=NOT_FOUND),
          data=lambda case: {"outcome": "monitored_at_school", "note": "matrix resolution"}),
    Route("concerns.new_concern", "GET", "read",
          staff(homeroom={"same": OK, "other": NOT_FOUND, "moved_out": NOT_FOUND}, teacher=STUDENT_OBJECT,
                doctor=NOT_FOUND, admin=NOT_FOUND),
          query=lambda case: {"student": case.student}),
    # A student outside the actor's school or class is a form error (400), never a concern about a stranger.
    Route("concerns.new_concern", "POST", "create",
          staff(homeroom={"same": DONE, "other": BAD, "moved_out": BAD},
                teacher={"own": DONE, "same": DONE, "other": BAD, "moved_out": BAD, "moved_in": DONE,
                         "moved_in_consented": DONE},
                doctor=NOT_FOUND, admin=NOT_FOUND),
          data=_concern_form),

    # --- dashboards' exports and PDFs ------------------------------------------------------------------
    Route("dashboards.export_table", "GET", "export", staff(homeroom=NOT_FOUND, teacher=SCHOOL_OBJECT, doctor=NOT_FOUND, admin=NOT_FOUND)),
    Route("dashboards.export_table", "GET", "export", staff(homeroom=NOT_FOUND, teacher=NOT_FOUND, doctor=OK, admin=NOT_FOUND),
          args={"view": "export_doctor_view", "key": "export_doctor_key"}),
    Route("dashboards.export_table", "GET", "export", staff(homeroom=NOT_FOUND, teacher=NOT_FOUND, doctor=NOT_FOUND, admin=OK),
          args={"view": "export_district_view", "key": "export_district_key"}),
    Route("dashboards.teacher_drilldown", "GET", "read",
          staff(homeroom=NOT_FOUND, teacher=SCHOOL_OBJECT, doctor=NOT_FOUND, admin=NOT_FOUND),
          query=lambda case: {"campaign": case.campaign}),
    Route("dashboards.student_report_pdf", "GET", "export",
          staff(homeroom=NOT_FOUND, teacher=STUDENT_OBJECT, doctor=REFERRED, admin=NOT_FOUND)),
    Route("dashboards.class_report_pdf", "GET", "export",
          staff(homeroom=NOT_FOUND, teacher=SCHOOL_OBJECT, doctor=NOT_FOUND, admin=NOT_FOUND)),
    Route("dashboards.monthly_report_pdf", "GET", "export",
          staff(homeroom=NOT_FOUND, teacher=NOT_FOUND, doctor=NOT_FOUND, admin=OK)),

    # --- inbox and duty roster -----------------------------------------------------------------------
    Route("notifications.inbox", "GET", "read", staff(homeroom=OK, teacher=OK, doctor=OK, admin=OK)),
    # The case notification is the creating teacher's: nobody else's inbox holds it.
    Route("notifications.open_notification", "POST", "update",
          staff(homeroom=NOT_FOUND, doctor=NOT_FOUND, admin=NOT_FOUND,
                teacher={"own": DONE, "same": NOT_FOUND, "other": NOT_FOUND, "moved_out": DONE, "moved_in": NOT_FOUND,
                         "moved_in_consented": NOT_FOUND})),
    # Only the middle school's teachers and the partner hospital's doctors have unread items.
    Route("notifications.read_all", "POST", "update",
          staff(homeroom=REDIRECT, admin=REDIRECT,
                teacher={"own": DONE, "same": DONE, "other": REDIRECT, "moved_out": DONE, "moved_in": REDIRECT,
                         "moved_in_consented": REDIRECT},
                doctor={"own": DONE, "same": DONE, "other": REDIRECT, "moved": DONE})),
    Route("notifications.duty_roster", "GET", "read", staff(homeroom=NOT_FOUND, teacher=NOT_FOUND, doctor=NOT_FOUND, admin=OK)),
    Route("notifications.toggle_duty", "POST", "update",
          staff(homeroom=NOT_FOUND, teacher=NOT_FOUND, doctor=NOT_FOUND, admin=DONE), args={"user_id": "doctor_user"}),

    # --- notification channels: one's own channels, the admin's duty groups, the one-tap acknowledgement link ---
    Route("channels.my_channels", "GET", "read", staff(homeroom=OK, teacher=OK, doctor=OK, admin=OK)),
    # A person's own channel only (no object of anyone else's in the URL); they need a configured provider.
    Route("channels.set_address", "POST", "create", {}, covered_by="tests/notifications/test_channel_settings.py"),
    Route("channels.verify", "POST", "update", {}, covered_by="tests/notifications/test_channel_settings.py"),
    Route("channels.set_levels", "POST", "update", {}, covered_by="tests/notifications/test_channel_settings.py"),
    Route("channels.remove", "POST", "delete", {}, covered_by="tests/notifications/test_channel_settings.py"),
    Route("channels.duty_groups", "GET", "read", staff(homeroom=NOT_FOUND, teacher=NOT_FOUND, doctor=NOT_FOUND, admin=OK)),
    Route("channels.add_duty_group", "POST", "create",
          staff(homeroom=NOT_FOUND, teacher=NOT_FOUND, doctor=NOT_FOUND, admin=DONE),
          data=lambda case: {"owner": f"school:{case.world.school_id}", "channel": "wecom_robot", "name": "Matrix group",
                             "url": "http://127.0.0.1:9/cgi-bin/webhook/send?key=matrix"}),
    Route("channels.toggle_duty_group", "POST", "update",
          staff(homeroom=NOT_FOUND, teacher=NOT_FOUND, doctor=NOT_FOUND, admin=DONE)),
    Route("channels.test_duty_group", "POST", "create",
          staff(homeroom=NOT_FOUND, teacher=NOT_FOUND, doctor=NOT_FOUND, admin=DONE)),
    # The link was sent to the psychology teacher "teacher" about Student 0's critical alert: whoever holds it may use it
    # once (that is its point), but only while that teacher may still acknowledge the alert (not after the transfer).
    Route("channels.ack_link", "GET", "read", {
        "anonymous": OK, "student": OK, "homeroom": {"same": OK, "other": OK, "moved_out": NOT_FOUND},
        "teacher": {"own": OK, "same": OK, "other": OK, "moved_out": NOT_FOUND, "moved_in": NOT_FOUND,
                    "moved_in_consented": NOT_FOUND},
        "doctor": {"own": OK, "same": OK, "other": OK, "moved": NOT_FOUND}, "admin": OK}),
    Route("channels.use_ack_link", "POST", "update", {
        "anonymous": DONE, "student": DONE, "homeroom": {"same": DONE, "other": DONE, "moved_out": NOT_FOUND},
        "teacher": {"own": DONE, "same": DONE, "other": DONE, "moved_out": NOT_FOUND, "moved_in": NOT_FOUND,
                    "moved_in_consented": NOT_FOUND},
        "doctor": {"own": DONE, "same": DONE, "other": DONE, "moved": NOT_FOUND}, "admin": DONE}),
    Route("channels.ack_done", "GET", "read", everyone(OK)),

    # --- rosters, consent, year end and transfers ------------------------------------------------------
    Route("rosters.roster_home", "GET", "read", staff(homeroom=NOT_FOUND, teacher=OK, doctor=NOT_FOUND, admin=OK)),
    Route("rosters.upload_roster", "POST", "create", staff(homeroom=NOT_FOUND, teacher=DONE, doctor=NOT_FOUND, admin=DONE),
          data=_roster_upload),
    Route("rosters.roster_preview", "GET", "read", staff(homeroom=NOT_FOUND, teacher=SCHOOL_OBJECT, doctor=NOT_FOUND, admin=OK)),
    Route("rosters.apply_roster", "POST", "update", staff(homeroom=NOT_FOUND, teacher=SCHOOL_WRITE, doctor=NOT_FOUND, admin=DONE)),
    Route("rosters.consent_page", "GET", "read", staff(homeroom=NOT_FOUND, teacher=STUDENT_OBJECT, doctor=NOT_FOUND, admin=OK)),
    Route("rosters.consent_page", "POST", "create", staff(homeroom=NOT_FOUND, teacher=STUDENT_WRITE, doctor=NOT_FOUND, admin=DONE),
          data=_consent_form, moves={"teacher": {"moved_in": HAND_OVER_CONSENT}}),
    Route("rosters.year_end", "GET", "read", staff(homeroom=NOT_FOUND, teacher=NOT_FOUND, doctor=NOT_FOUND, admin=OK)),
    Route("rosters.year_end", "POST", "update", staff(homeroom=NOT_FOUND, teacher=NOT_FOUND, doctor=NOT_FOUND, admin=DONE),
          moves={"admin": PROMOTED_OUT_OF_THE_CLASS}),

    # --- paths that change who sees a student (issue 15) ----------------------------------------------------------
    # The middle school's roster naming the high school's student with a guessed name and birth date: the preview shows
    # nothing of the record (the identity check looks for the name and the birth date); the school's Apply only asks
    # the district admin; the admin's Apply refuses the contradicting birth date.
    Route("rosters.roster_preview", "GET", "read", staff(homeroom=NOT_FOUND, teacher=SCHOOL_OBJECT, doctor=NOT_FOUND, admin=OK),
          args={"import_id": "roster_import_foreign"}),
    Route("rosters.apply_roster", "POST", "update",
          staff(homeroom=NOT_FOUND, teacher=SCHOOL_WRITE, doctor=NOT_FOUND, admin=REDIRECT),
          args={"import_id": "roster_import_foreign"}),
    # With the right birth date the school's Apply still moves no one (an admission request); the admin's moves them.
    Route("rosters.apply_roster", "POST", "update", staff(homeroom=NOT_FOUND, teacher=SCHOOL_WRITE, doctor=NOT_FOUND, admin=DONE),
          args={"import_id": "roster_import_exact"}, moves={"admin": _moved_school("Other Student")}),
    # The applied roster: the school follows its admission requests (its own rows and the admin's decisions).
    Route("rosters.roster_preview", "GET", "read", staff(homeroom=NOT_FOUND, teacher=SCHOOL_OBJECT, doctor=NOT_FOUND, admin=OK),
          args={"import_id": "roster_import_requested"}),
    Route("admissions.pending", "GET", "read", staff(homeroom=NOT_FOUND, teacher=NOT_FOUND, doctor=NOT_FOUND, admin=OK)),
    # Only the district admin moves the high school's student into the middle school.
    Route("admissions.approve", "POST", "update", staff(homeroom=NOT_FOUND, teacher=NOT_FOUND, doctor=NOT_FOUND, admin=DONE),
          moves={"admin": _moved_school("Other Student")}),
    Route("admissions.refuse", "POST", "update", staff(homeroom=NOT_FOUND, teacher=NOT_FOUND, doctor=NOT_FOUND, admin=DONE),
          data=lambda case: {"note": "matrix: not your student"}),
    # "Admit all" admits the new pupil and leaves the student enrolled at another school waiting: nobody moves.
    Route("admissions.approve_import", "POST", "update",
          staff(homeroom=NOT_FOUND, teacher=NOT_FOUND, doctor=NOT_FOUND, admin=DONE), args={"import_id": "roster_import_requested"}),
    Route("admissions.refuse_import", "POST", "update",
          staff(homeroom=NOT_FOUND, teacher=NOT_FOUND, doctor=NOT_FOUND, admin=DONE), args={"import_id": "roster_import_requested"},
          data=lambda case: {"note": "matrix: check the file"}),
    # The guardian withdraws the hand-over consent: the new school loses the earlier school's entries again.
    Route("rosters.consent_page", "POST", "create", staff(homeroom=NOT_FOUND, teacher=STUDENT_WRITE, doctor=NOT_FOUND, admin=DONE),
          data=lambda case: dict(_consent_form(case), granted="no", note="matrix withdrawal"),
          moves={"teacher": {"moved_in_consented": HAND_OVER_CONSENT}}),
    # Student 4's referral, declined: the hospital keeps the record without identity and loses the file.
    Route("care.referral_page", "GET", "read", staff(homeroom=NOT_FOUND, teacher=STAYING, doctor=DECLINED_BY_HOSPITAL, admin=NOT_FOUND),
          args={"referral_id": "referral_declined"}),
    Route("files.student_file", "GET", "read", staff(homeroom=NOT_FOUND, teacher=STAYING, doctor=NOT_FOUND, admin=OK),
          args={"student_id": "student_declined"}),
    Route("dashboards.student_report_pdf", "GET", "export",
          staff(homeroom=NOT_FOUND, teacher=STAYING, doctor=NOT_FOUND, admin=NOT_FOUND), args={"student_id": "student_declined"}),
    # Every download in both formats (the CSV rows are above).
    Route("dashboards.export_table", "GET", "export", staff(homeroom=NOT_FOUND, teacher=SCHOOL_OBJECT, doctor=NOT_FOUND, admin=NOT_FOUND),
          args={"fmt": "export_fmt_xlsx"}),
    Route("dashboards.export_table", "GET", "export", staff(homeroom=NOT_FOUND, teacher=NOT_FOUND, doctor=OK, admin=NOT_FOUND),
          args={"view": "export_doctor_view", "key": "export_doctor_key", "fmt": "export_fmt_xlsx"}),
    Route("dashboards.export_table", "GET", "export", staff(homeroom=NOT_FOUND, teacher=NOT_FOUND, doctor=NOT_FOUND, admin=OK),
          args={"view": "export_district_view", "key": "export_district_key", "fmt": "export_fmt_xlsx"}),

    # --- district admin ------------------------------------------------------------------------------
    Route("rosters.find_student", "GET", "read", staff(homeroom=NOT_FOUND, teacher=NOT_FOUND, doctor=NOT_FOUND, admin=REDIRECT),
          query=lambda case: {"number": case.world.students[0]["number"]}),
    Route("rosters.admin_student", "GET", "read", staff(homeroom=NOT_FOUND, teacher=NOT_FOUND, doctor=NOT_FOUND, admin=OK)),
    Route("rosters.access_log", "GET", "read", staff(homeroom=NOT_FOUND, teacher=NOT_FOUND, doctor=NOT_FOUND, admin=OK)),
    Route("rosters.transfer", "POST", "update", staff(homeroom=NOT_FOUND, teacher=NOT_FOUND, doctor=NOT_FOUND, admin=DONE),
          data=lambda case: {"class_group_id": case.other_class_id}, moves={"admin": _moved_school("Student 0")}),
    Route("audit.student_access_log", "GET", "export", staff(homeroom=NOT_FOUND, teacher=NOT_FOUND, doctor=NOT_FOUND, admin=OK)),
    # The case `user` is teacher2, a psychology teacher: only the admin manages that account.
    Route("account_admin.require_second_factor", "POST", "update",
          staff(homeroom=NOT_FOUND, teacher=NOT_FOUND, doctor=NOT_FOUND, admin=DONE), data=lambda case: {"required": "1"}),
    Route("account_admin.set_active", "POST", "update",
          staff(homeroom=NOT_FOUND, teacher=NOT_FOUND, doctor=NOT_FOUND, admin=DONE), data=lambda case: {"active": "0"}),
    Route("account_admin.unlock", "POST", "update", staff(homeroom=NOT_FOUND, teacher=NOT_FOUND, doctor=NOT_FOUND, admin=DONE)),

    # --- setting up (issue 16): organisations, classes, staff accounts, imports, password recovery ------------
    Route("orgs.schools", "GET", "read", staff(homeroom=NOT_FOUND, teacher=NOT_FOUND, doctor=NOT_FOUND, admin=OK)),
    Route("orgs.schools", "POST", "create", staff(homeroom=NOT_FOUND, teacher=NOT_FOUND, doctor=NOT_FOUND, admin=DONE),
          data=_school_form),
    Route("orgs.school_page", "GET", "read", staff(homeroom=NOT_FOUND, teacher=NOT_FOUND, doctor=NOT_FOUND, admin=OK)),
    Route("orgs.school_page", "POST", "update", staff(homeroom=NOT_FOUND, teacher=NOT_FOUND, doctor=NOT_FOUND, admin=DONE),
          data=lambda case: dict(_school_form(case), name="Middle School A", code="4300000001")),
    Route("orgs.close_school", "POST", "update", staff(homeroom=NOT_FOUND, teacher=NOT_FOUND, doctor=NOT_FOUND, admin=DONE),
          data=lambda case: {"close-reason": "merged into another school"}),
    Route("orgs.reopen_school", "POST", "update", staff(homeroom=NOT_FOUND, teacher=NOT_FOUND, doctor=NOT_FOUND, admin=DONE),
          args={"school_id": "closed_school"}),
    Route("orgs.hospitals", "GET", "read", staff(homeroom=NOT_FOUND, teacher=NOT_FOUND, doctor=NOT_FOUND, admin=OK)),
    Route("orgs.hospitals", "POST", "create", staff(homeroom=NOT_FOUND, teacher=NOT_FOUND, doctor=NOT_FOUND, admin=DONE),
          data=lambda case: {"name": "Matrix Hospital"}),
    Route("orgs.hospital_page", "GET", "read", staff(homeroom=NOT_FOUND, teacher=NOT_FOUND, doctor=NOT_FOUND, admin=OK)),
    Route("orgs.hospital_page", "POST", "update", staff(homeroom=NOT_FOUND, teacher=NOT_FOUND, doctor=NOT_FOUND, admin=DONE),
          data=lambda case: {"name": "Partner Hospital (renamed)"}),
    Route("orgs.agreements", "GET", "read", staff(homeroom=NOT_FOUND, teacher=NOT_FOUND, doctor=NOT_FOUND, admin=OK)),
    Route("orgs.agreements", "POST", "create", staff(homeroom=NOT_FOUND, teacher=NOT_FOUND, doctor=NOT_FOUND, admin=DONE),
          data=_agreement_form),
    Route("orgs.renew_agreement", "POST", "update",
          staff(homeroom=NOT_FOUND, teacher=NOT_FOUND, doctor=NOT_FOUND, admin=DONE),
          data=lambda case: {"renew-expires_on": _days_from_today(700)}),
    Route("orgs.end_agreement", "POST", "update", staff(homeroom=NOT_FOUND, teacher=NOT_FOUND, doctor=NOT_FOUND, admin=DONE),
          data=lambda case: {"end-reason": "the hospital closed its youth clinic"}),
    # Classes: the admin for any school, a psychology teacher for their own (the case school is the middle school).
    Route("orgs.school_classes", "GET", "read", staff(homeroom=NOT_FOUND, teacher=SCHOOL_OBJECT, doctor=NOT_FOUND, admin=OK)),
    Route("orgs.school_classes", "POST", "create",
          staff(homeroom=NOT_FOUND, teacher=SCHOOL_WRITE, doctor=NOT_FOUND, admin=DONE), data=_class_form),

    # Staff accounts: a psychology teacher manages the homeroom teachers of their own school, and no other account
    # (another school's homeroom teacher answers 404); the admin manages every account.
    Route("account_admin.account_list", "GET", "read", staff(homeroom=NOT_FOUND, teacher=OK, doctor=NOT_FOUND, admin=OK)),
    Route("account_admin.new_account", "GET", "read", staff(homeroom=NOT_FOUND, teacher=OK, doctor=NOT_FOUND, admin=OK)),
    # The form names the middle school's class: another school's teacher cannot give it (400).
    Route("account_admin.new_account", "POST", "create",
          staff(homeroom=NOT_FOUND, doctor=NOT_FOUND, admin=SHOWN, teacher=dict(_BY_SCHOOL, **_SCHOOL_SHOWN, other=BAD,
                                                                                 moved_in=BAD, moved_in_consented=BAD)),
          data=_account_form),
    Route("account_admin.account_page", "GET", "read", staff(homeroom=NOT_FOUND, teacher=NOT_FOUND, doctor=NOT_FOUND, admin=OK)),
    Route("account_admin.account_page", "GET", "read", staff(homeroom=NOT_FOUND, teacher=SCHOOL_OBJECT, doctor=NOT_FOUND, admin=OK),
          args={"user_id": "homeroom_user"}),
    Route("account_admin.account_page", "POST", "update",
          staff(homeroom=NOT_FOUND, teacher=NOT_FOUND, doctor=NOT_FOUND, admin=DONE),
          data=lambda case: {"display_name": "Teacher A2 (renamed)", "email": "t2@school.test", "role": "teacher",
                             "school_id": case.school, "hospital_id": 0, "class_group_id": 0}),
    Route("account_admin.account_page", "POST", "update",
          staff(homeroom=NOT_FOUND, teacher=SCHOOL_WRITE, doctor=NOT_FOUND, admin=DONE), args={"user_id": "homeroom_user"},
          data=lambda case: dict(_account_form(case), display_name="Homeroom A (renamed)")),
    Route("account_admin.reset_password", "POST", "update",
          staff(homeroom=NOT_FOUND, teacher=NOT_FOUND, doctor=NOT_FOUND, admin=SHOWN), data=_reason_form),
    Route("account_admin.reset_password", "POST", "update",
          staff(homeroom=NOT_FOUND, teacher=dict(_BY_SCHOOL, **_SCHOOL_SHOWN), doctor=NOT_FOUND, admin=SHOWN),
          args={"user_id": "homeroom_user"}, data=_reason_form),
    Route("account_admin.set_active", "POST", "update",
          staff(homeroom=NOT_FOUND, teacher=SCHOOL_WRITE, doctor=NOT_FOUND, admin=DONE), args={"user_id": "homeroom_user"},
          data=lambda case: {"active": "0"}),
    # A lost second factor is reset by the admin alone, with a reason.
    Route("account_admin.reset_second_factor", "POST", "update",
          staff(homeroom=NOT_FOUND, teacher=NOT_FOUND, doctor=NOT_FOUND, admin=DONE), data=_reason_form),
    Route("staff_imports.import_home", "GET", "read", staff(homeroom=NOT_FOUND, teacher=OK, doctor=NOT_FOUND, admin=OK)),
    Route("staff_imports.upload", "POST", "create", staff(homeroom=NOT_FOUND, teacher=DONE, doctor=NOT_FOUND, admin=DONE),
          data=_staff_upload),
    Route("staff_imports.preview", "GET", "read", staff(homeroom=NOT_FOUND, teacher=SCHOOL_OBJECT, doctor=NOT_FOUND, admin=OK)),
    Route("staff_imports.apply", "POST", "create",
          staff(homeroom=NOT_FOUND, teacher=dict(_BY_SCHOOL, **_SCHOOL_SHOWN), doctor=NOT_FOUND, admin=SHOWN)),
    # Mail is off in the matrix: the page says whom to ask. Asking for and following a link: test_password_reset.py.
    Route("recovery.forgot", "GET", "read", everyone(OK)),
    Route("recovery.forgot", "POST", "create", {}, covered_by="tests/integration/test_password_reset.py"),
    Route("recovery.follow_link", "GET", "read", {}, args={"token": "reset_token"},
          covered_by="tests/integration/test_password_reset.py"),
    Route("recovery.new_password", "GET", "read", {}, covered_by="tests/integration/test_password_reset.py"),
    Route("recovery.new_password", "POST", "update", {}, covered_by="tests/integration/test_password_reset.py"),

    # --- questionnaire settings (app/scales): texts and cut-off profiles of the whole deployment --------------
    # No student data: every psychology teacher, doctor and the admin reads them; any doctor reviews a centre's
    # text (a clinical judgement); only the admin chooses a profile.
    Route("scales.text_list", "GET", "read", staff(homeroom=NOT_FOUND, teacher=OK, doctor=OK, admin=OK)),
    Route("scales.text_page", "GET", "read", staff(homeroom=NOT_FOUND, teacher=OK, doctor=OK, admin=OK)),
    Route("scales.review_text", "POST", "create", staff(homeroom=NOT_FOUND, teacher=NOT_FOUND, doctor=DONE, admin=NOT_FOUND),
          data=lambda case: {"decision": "approved", "compared_with": "matrix source", "confirm": "y"}),
    Route("scales.cutoff_profiles", "GET", "read", staff(homeroom=NOT_FOUND, teacher=OK, doctor=OK, admin=OK)),
    Route("scales.choose_profile", "POST", "update", staff(homeroom=NOT_FOUND, teacher=NOT_FOUND, doctor=NOT_FOUND, admin=DONE),
          data=lambda case: {"scale_code": "GAD-7", "school_level": "high", "profile": "hk_youth_2022"}),

    # --- an alert from first sight to closure (issue 17) ------------------------------------------------------------
    # The crisis checklist and the calls with the guardian are the work of whoever may close the alert (the case
    # alert is Student 0's critical alert, an entry of the middle school's file).
    Route("risk.record_crisis_step", "POST", "update",
          staff(homeroom=NOT_FOUND, teacher=OLD_SCHOOL_ENTRY_WRITE, doctor=NOT_FOUND, admin=NOT_FOUND),
          data=lambda case: {"step": "not_alone"}),
    Route("risk.record_guardian_contact", "POST", "create",
          staff(homeroom=NOT_FOUND, teacher=OLD_SCHOOL_ENTRY_WRITE, doctor=NOT_FOUND, admin=NOT_FOUND),
          data=_guardian_contact_form),
    # The school's referrals: a psychology teacher's list, scoped like the referral page (the doctor has the queue).
    Route("care.referral_list", "GET", "read", staff(homeroom=NOT_FOUND, teacher=OK, doctor=NOT_FOUND, admin=NOT_FOUND),
          query=lambda case: {"state": "all"}),
    # Student search: scoped to the students the user may open (the admin finds a student by number on its own page).
    Route("files.find_student", "GET", "read", staff(homeroom=NOT_FOUND, teacher=OK, doctor=OK, admin=NOT_FOUND),
          query=lambda case: {"q": "Student"}),
    # --- FHIR (issue 21): the partner hospital's read-only API and the district's bulk export -------------------
    # The API answers only a hospital API client's bearer token: no staff session (no cookie is even read under
    # /fhir/) and no student token gets in. What a client reads is proved in tests/interop/test_fhir_api.py.
    Route("fhir.capability_statement", "GET", "read", everyone(OK)),
    *[Route(f"fhir.{endpoint}", "GET", "read", everyone(UNAUTHORIZED))
      for endpoint in ("search_patients", "read_patient", "patient_everything", "read_questionnaire",
                       "read_questionnaire_response", "read_observation", "read_service_request",
                       "read_document_reference", "read_certificate")],
    Route("fhir_admin.client_list", "GET", "read", staff(homeroom=NOT_FOUND, teacher=NOT_FOUND, doctor=NOT_FOUND, admin=OK)),
    Route("fhir_admin.client_list", "POST", "create",
          staff(homeroom=NOT_FOUND, teacher=NOT_FOUND, doctor=NOT_FOUND, admin=SHOWN),
          data=lambda case: {"hospital_id": case.hospital_id, "name": "Matrix HIS"}),
    Route("fhir_admin.revoke_client", "POST", "update", {}, covered_by="tests/interop/test_fhir_api.py"),
    Route("fhir_admin.exports", "GET", "read", staff(homeroom=NOT_FOUND, teacher=NOT_FOUND, doctor=NOT_FOUND, admin=OK)),
    Route("fhir_admin.exports", "POST", "export", {}, covered_by="tests/interop/test_fhir_bulk.py"),
    Route("fhir_admin.export_status", "GET", "export", {}, covered_by="tests/interop/test_fhir_bulk.py"),
    Route("fhir_admin.export_file", "GET", "export", {}, covered_by="tests/interop/test_fhir_bulk.py"),
    # --- class committee members (班级心理委员, issue 19 item 4) --------------------------------------------------------
    # The member's pages take no staff session: without a committee sign-in every actor is sent to the sign-in page.
    # Signing in, reporting, "nothing to report" and signing out as a member (and as a non-member, with a wrong birth
    # date, about a stranger) are proven in tests/committee/test_committee.py.
    Route("committee.sign_in_page", "GET", "read", everyone(OK)),
    Route("committee.sign_in", "POST", "create", {}, covered_by="tests/committee/test_committee.py"),
    Route("committee.report_page", "GET", "read", everyone(REDIRECT)),
    Route("committee.sent", "GET", "read", everyone(REDIRECT)),
    Route("committee.send_concern", "POST", "create", {}, covered_by="tests/committee/test_committee.py"),
    Route("committee.send_nothing", "POST", "create", {}, covered_by="tests/committee/test_committee.py"),
    Route("committee.sign_out", "POST", "update", {}, covered_by="tests/committee/test_committee.py"),
    # The psychology teacher: the own school's week and members (Student 5 is the case class's member); another school's
    # teacher sees their own school's (empty) week and cannot name the middle school's Student 4 (400).
    Route("committee.week", "GET", "read", staff(homeroom=NOT_FOUND, teacher=OK, doctor=NOT_FOUND, admin=NOT_FOUND)),
    Route("committee.appoint", "POST", "create",
          staff(homeroom=NOT_FOUND, doctor=NOT_FOUND, admin=NOT_FOUND,
                teacher={"own": DONE, "same": DONE, "other": BAD, "moved_out": DONE, "moved_in": BAD,
                         "moved_in_consented": BAD}),
          data=lambda case: {"student_number": case.world.students[4]["number"]}),
    Route("committee.end_member", "POST", "update",
          staff(homeroom=NOT_FOUND, teacher=SCHOOL_WRITE, doctor=NOT_FOUND, admin=NOT_FOUND)),

    # --- term reports (issue 19 item 7): a psychology teacher downloads the own school's summary (every teacher has one:
    # the other school's teacher gets the other school's); the district admin the district's analysis. No names.
    Route("reports.index", "GET", "read", staff(homeroom=NOT_FOUND, teacher=OK, doctor=NOT_FOUND, admin=OK)),
    Route("reports.school_summary_pdf", "GET", "export", staff(homeroom=NOT_FOUND, teacher=OK, doctor=NOT_FOUND, admin=NOT_FOUND)),
    Route("reports.school_summary_xlsx", "GET", "export", staff(homeroom=NOT_FOUND, teacher=OK, doctor=NOT_FOUND, admin=NOT_FOUND)),
    Route("reports.district_analysis_pdf", "GET", "export",
          staff(homeroom=NOT_FOUND, teacher=NOT_FOUND, doctor=NOT_FOUND, admin=OK)),
    Route("reports.district_analysis_xlsx", "GET", "export",
          staff(homeroom=NOT_FOUND, teacher=NOT_FOUND, doctor=NOT_FOUND, admin=OK)),
    # --- classroom (issue 17) ----------------------------------------------------------------------------
    # The projector view and its counts: the campaign page's access, and nothing about any student in either.
    Route("screening.projector", "GET", "read", staff(homeroom=NOT_FOUND, teacher=SCHOOL_OBJECT, doctor=NOT_FOUND, admin=NOT_FOUND)),
    Route("screening.projector_counts", "GET", "read", staff(homeroom=NOT_FOUND, teacher=SCHOOL_OBJECT, doctor=NOT_FOUND, admin=NOT_FOUND)),
    # Live alerts: every staff user may poll; the answer is scoped to what the caller may see (and empty for the
    # homeroom teacher and the admin): tests/integration/test_live_alerts.py.
    Route("live_alerts.feed", "GET", "read", staff(homeroom=OK, teacher=OK, doctor=OK, admin=OK)),
    # The student's own crisis screen state and "I want to talk to someone now" (a concern about the student).
    Route("api.crisis_seen", "POST", "update", dict(everyone(UNAUTHORIZED), student=SHOWN), check_identity=False),
    Route("api.talk_now", "POST", "create", dict(everyone(UNAUTHORIZED), student=SHOWN), check_identity=False),
    # --- the second stage, the warning register and plans (issue 19, app/register) ------------------------------
    # The psychology teacher interviews the school's current students; a moved-in student is interviewed afresh
    # (the new school's own line). Reviews, duties and plans act on the school's own line only: an earlier school's
    # line is read-only history, shown with the hand-over consent. The homeroom teacher sees and completes only the
    # homeroom's tasks of the current plan; the admin sees counts.
    Route("register.interview_list", "GET", "read", staff(homeroom=NOT_FOUND, teacher=OK, doctor=NOT_FOUND, admin=NOT_FOUND)),
    Route("register.register_list", "GET", "read", staff(homeroom=NOT_FOUND, teacher=OK, doctor=NOT_FOUND, admin=NOT_FOUND)),
    Route("register.interview", "GET", "read",
          staff(homeroom=NOT_FOUND, teacher=STUDENT_OBJECT, doctor=NOT_FOUND, admin=NOT_FOUND)),
    Route("register.interview", "POST", "create",
          staff(homeroom=NOT_FOUND, teacher=STUDENT_WRITE, doctor=NOT_FOUND, admin=NOT_FOUND), data=_interview_form),
    Route("register.entry_page", "GET", "read",
          staff(homeroom=NOT_FOUND, teacher=STUDENT_OBJECT, doctor=NOT_FOUND, admin=NOT_FOUND)),
    Route("register.review", "POST", "update",
          staff(homeroom=NOT_FOUND, teacher=OWN_LINE_WRITE, doctor=NOT_FOUND, admin=NOT_FOUND), data=_review_form),
    Route("register.duties", "POST", "update",
          staff(homeroom=NOT_FOUND, teacher=OWN_LINE_WRITE, doctor=NOT_FOUND, admin=NOT_FOUND),
          data=lambda case: {"guardian_informed_on": _days_from_today(0)}),
    Route("register.plan", "GET", "read",
          staff(homeroom=NOT_FOUND, teacher=OWN_LINE, doctor=NOT_FOUND, admin=NOT_FOUND)),
    Route("register.plan", "POST", "create",
          staff(homeroom=NOT_FOUND, teacher=OWN_LINE_WRITE, doctor=NOT_FOUND, admin=NOT_FOUND), data=_plan_form),
    Route("register.my_tasks", "GET", "read", staff(homeroom=OK, teacher=NOT_FOUND, doctor=NOT_FOUND, admin=NOT_FOUND)),
    Route("register.task_done", "POST", "update",
          staff(homeroom={"same": DONE, "other": NOT_FOUND, "moved_out": NOT_FOUND}, teacher=OWN_LINE_WRITE,
                doctor=NOT_FOUND, admin=NOT_FOUND)),
    Route("register.settings", "GET", "read", staff(homeroom=NOT_FOUND, teacher=OK, doctor=NOT_FOUND, admin=NOT_FOUND)),
    Route("register.settings", "POST", "update",
          staff(homeroom=NOT_FOUND, teacher=DONE, doctor=NOT_FOUND, admin=NOT_FOUND), data=_settings_form),
    Route("register.district", "GET", "read", staff(homeroom=NOT_FOUND, teacher=NOT_FOUND, doctor=NOT_FOUND, admin=OK)),
    # --- the district's exports (app/exports, issue 21): only the admin -------------------------------------------
    Route("exports.export_home", "GET", "read", staff(homeroom=NOT_FOUND, teacher=NOT_FOUND, doctor=NOT_FOUND, admin=OK)),
    Route("exports.responses_csv", "GET", "export", staff(homeroom=NOT_FOUND, teacher=NOT_FOUND, doctor=NOT_FOUND, admin=OK)),
    # Small enough to be written at once (EXPORT_XLSX_DIRECT_ROWS); the job path: tests/exports/test_response_export.py.
    # A small district's XLSX is served at once (nothing stored); a large one becomes a job: tests/exports.
    Route("exports.responses_xlsx", "POST", "export", staff(homeroom=NOT_FOUND, teacher=NOT_FOUND, doctor=NOT_FOUND, admin=OK),
          covered_by="tests/exports/test_response_export.py"),
    # A job runs in a thread and writes a file: proven with every role in the exports' own tests.
    Route("exports.request_research", "POST", "export", {}, covered_by="tests/exports/test_research_export.py"),
    Route("exports.export_job", "GET", "read", {}, covered_by="tests/exports/test_research_export.py"),
    Route("exports.download_export", "GET", "export", {}, covered_by="tests/exports/test_research_export.py"),
]


def cells():
    """(route, role, relation) for every expectation in the table."""
    for route in ROUTES:
        if route.covered_by:
            continue
        for role, relations in ROLES.items():
            for relation in relations:
                yield route, role, relation
