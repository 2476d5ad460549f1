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

Outcomes: OK 200 · DONE 302 and the database changed · CREATED 201 and changed · REDIRECT 302 elsewhere,
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
    "admission_id": "admission",
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


ROUTES = [
    # --- public ------------------------------------------------------------------------------------
    Route("static", "GET", "read", everyone(OK)),
    Route("health.healthz", "GET", "read", everyone(OK)),
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
    Route("account_admin.account_list", "GET", "read", staff(homeroom=NOT_FOUND, teacher=NOT_FOUND, doctor=NOT_FOUND, admin=OK)),
    Route("account_admin.require_second_factor", "POST", "update",
          staff(homeroom=NOT_FOUND, teacher=NOT_FOUND, doctor=NOT_FOUND, admin=DONE), data=lambda case: {"required": "1"}),
    Route("account_admin.set_active", "POST", "update",
          staff(homeroom=NOT_FOUND, teacher=NOT_FOUND, doctor=NOT_FOUND, admin=DONE), data=lambda case: {"active": "0"}),
    Route("account_admin.unlock", "POST", "update", staff(homeroom=NOT_FOUND, teacher=NOT_FOUND, doctor=NOT_FOUND, admin=DONE)),
    Route("account_admin.reset_second_factor", "POST", "update",
          staff(homeroom=NOT_FOUND, teacher=NOT_FOUND, doctor=NOT_FOUND, admin=DONE)),
]


def cells():
    """(route, role, relation) for every expectation in the table."""
    for route in ROUTES:
        if route.covered_by:
            continue
        for role, relations in ROLES.items():
            for relation in relations:
                yield route, role, relation
