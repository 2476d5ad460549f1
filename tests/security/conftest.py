"""The security tests' world: the case objects of the matrix and one actor per role × relation."""
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select, text

from app.accounts import services as accounts
from app.accounts.models import Role, User
from app.care import services as care
from app.care.models import FollowUp
from app.core import clock
from app.extensions import db
from app.orgs.models import ClassGroup, School
from app.risk import services as risk
from app.screening import services as screening
from app.notifications import delivery
from app.notifications.models import Delivery, DeliveryState, DutyGroup, Notification
from app.students import roster
from app.students.models import Enrollment, EnrollmentReason, Student
from tests.conftest import PASSWORD, TOTP_SECRET, login_as
from tests.helpers import join, load_centre_texts

MIDDLE = {f"Student {i}" for i in range(6)}
HIGH = {"Other Student"}
MOVED = {"Student 0", "Student 1", "Student 2"}
REFERRED = {"Student 0", "Student 1"}
ALL_NAMES = MIDDLE | HIGH
# A student's birth date is half of the screening login: a page that may not name a student may not show it either.
BIRTH_DATES = {**{f"Student {i}": f"2012-01-0{i + 1}" for i in range(6)}, "Other Student": "2010-05-05"}
# A roster upload of the middle school's teacher: one new pupil (not one of the case students).
ROSTER_CSV = ("school,class,grade,student_number,name,sex,birth_date,guardian_name,guardian_phone\n"
              "Middle School A,Class 8-1,8,N0901,Roster Pupil,F,2012-03-04,Parent,13900000001\n").encode("utf-8")

# What happens before the actor signs in: students 0-2 transfer to the high school, with or without their guardians'
# hand-over consent (recorded at the new school, as the consent page does).
TRANSFER = "transfer"
TRANSFER_WITH_HANDOVER = "transfer with hand-over consent"

# How much of the case's entries (alerts, referrals, assessments, decisions, follow-ups) the actor may be shown:
# nothing; ENTRIES: their case numbers and levels, never the clinical free text; CLINICAL: the free text too.
NOTHING, ENTRIES, CLINICAL = "nothing", "entries", "clinical"

# (role, relation) → (username or None, what happens first, names the actor may see, case entries it may see)
ACTORS = {
    ("anonymous", "none"): (None, None, set(), NOTHING),
    ("student", "own"): (None, None, {"Student 3"}, NOTHING),
    ("homeroom", "same"): ("homeroom", None, MIDDLE, NOTHING),
    ("homeroom", "other"): ("other_homeroom", None, HIGH, NOTHING),
    ("homeroom", "moved_out"): ("homeroom", TRANSFER, MIDDLE - MOVED, NOTHING),
    ("teacher", "own"): ("teacher", None, MIDDLE, CLINICAL),
    ("teacher", "same"): ("teacher2", None, MIDDLE, CLINICAL),
    ("teacher", "other"): ("other_teacher", None, HIGH, NOTHING),
    # The inbox keeps the notices received before the move: case numbers, no names.
    ("teacher", "moved_out"): ("teacher", TRANSFER, MIDDLE - MOVED, ENTRIES),
    # Without the guardians' consent the old school's entries do not follow the students (app/students/consent.py).
    ("teacher", "moved_in"): ("other_teacher", TRANSFER, HIGH | MOVED, NOTHING),
    # With it the new school sees the whole file from the first day (DESIGN.md, access rules).
    ("teacher", "moved_in_consented"): ("other_teacher", TRANSFER_WITH_HANDOVER, HIGH | MOVED, CLINICAL),
    ("doctor", "own"): ("doctor", None, REFERRED, CLINICAL),
    ("doctor", "same"): ("doctor2", None, REFERRED, CLINICAL),
    ("doctor", "other"): ("other_doctor", None, set(), NOTHING),
    ("doctor", "moved"): ("doctor", TRANSFER, REFERRED, CLINICAL),
    ("admin", "any"): ("admin", None, ALL_NAMES, ENTRIES),  # no clinical free text unless break-glass
}
# The clinical free text of the case objects (alert note, referral reasons, findings, conditions, follow-up task).
CLINICAL_TEXT = ("alert note 0", "referral reason 0", "referral reason 1", "findings 0", "decision conditions 0",
                 "follow-up condition 0", "interview judgement 0", "warning reason 0", "plan goals 0")


@pytest.fixture
def case(app, world, request):
    """Students 0 and 1 of the middle school have alerts and referrals; student 3 has joined the open
    campaign; teacher2 has a second factor and three failed logins (so the admin's actions change something);
    the centre has loaded its own PHQ-9 text, not yet reviewed."""
    request.addfinalizer(load_centre_texts(app))
    with app.app_context():
        def user(name):
            return db.session.scalar(select(User).where(User.username == name))

        school, other_class = db.session.get(School, world.school_id), db.session.get(ClassGroup, world.other_class_id)
        teacher, doctor = user("teacher"), user("doctor")
        accounts.create_user("doctor2", "Doctor P2", PASSWORD, Role.DOCTOR, hospital=doctor.hospital)
        accounts.create_user("other_homeroom", "Homeroom B", PASSWORD, Role.HOMEROOM, school=other_class.school,
                             class_group=other_class)
        teacher2 = user("teacher2")
        teacher2.totp_secret, teacher2.failed_logins = TOTP_SECRET, 3
        students = [db.session.get(Student, i) for i in world.student_ids]
        campaign = screening.launch_campaign(school, [db.session.get(ClassGroup, world.class_id)], ["PHQ-9", "GAD-7"],
                                             "Matrix", clock.now() + timedelta(hours=2), by=teacher)
        alert0 = risk.raise_alert(students[0], school.id, "critical", "concern", by=teacher, note="alert note 0")
        alert1 = risk.raise_alert(students[1], school.id, "high", "concern", by=teacher)
        referral = care.refer_student(students[0], school.id, world.hospital_id, "critical", "referral reason 0",
                                      alert=alert0, by=teacher)
        care.accept_referral(referral, by=doctor)
        care.record_assessment(referral, {"assessed_on": clock.today(), "setting": "clinic", "findings": "findings 0",
                                          "risk_level": "high", "plan": "outpatient"}, by=doctor)
        referral_sent = care.refer_student(students[1], school.id, world.hospital_id, "high", "referral reason 1",
                                           alert=alert1, by=teacher)
        # Not cleared keeps the referral assessed (so assessing and deciding again stay possible) and gives a certificate.
        decision = care.decide_return(referral, {"outcome": "not_cleared", "review_on": clock.today() + timedelta(days=30),
                                                 "conditions": "decision conditions 0"}, by=doctor)
        follow_up = FollowUp(student_id=students[0].id, school_id=school.id, decision_id=decision.id,
                             condition="follow-up condition 0", due_on=clock.today() + timedelta(days=7),
                             created_at=clock.now())
        db.session.add(follow_up)
        upload = roster.store_upload(ROSTER_CSV, "matrix.csv", by=teacher, only_school_id=school.id)
        # An SMS to the teacher about alert 0, with its one-tap acknowledgement link; a school's duty group.
        sms = Delivery(event=f"alert:{alert0.id}:opened", channel="sms", recipient=f"user:{teacher.id}", user_id=teacher.id,
                       alert_id=alert0.id, school_id=school.id, kind="alert_critical_opened", level="critical",
                       case_number=alert0.case_number, link=f"/alerts/{alert0.id}", state=DeliveryState.SENT, attempts=1,
                       next_attempt_at=clock.now(), created_at=clock.now())
        duty_group = DutyGroup(school_id=school.id, channel="wecom_robot", name="Matrix duty group", levels=[],
                               url="http://127.0.0.1:9/cgi-bin/webhook/send?key=matrix", active=True, created_at=clock.now())
        db.session.add_all([sms, duty_group])
        setting_up = _setting_up_objects(school, teacher)
        db.session.flush()
        notification = db.session.scalar(select(Notification).where(Notification.user_id == teacher.id,
                                                                    Notification.read_at.is_(None)).order_by(Notification.id))
        visibility_paths = _visibility_path_objects(world, school, students, teacher, doctor)
        committee_member = _committee_member(school, students, teacher)
        register_objects = _register_objects(school, students, teacher)
        db.session.commit()
        ns = SimpleNamespace(
            student=students[0].id, student2=students[2].id, joined_student=students[3].id, referral=referral.id, referral_sent=referral_sent.id,
            alert=alert0.id, campaign=campaign.id, class_id=world.class_id, user=teacher2.id, lang="en",
            static_file="css/app.css", session_code=campaign.session_code, hospital_id=world.hospital_id,
            join_as=world.students[4], world=world,
            decision=decision.id, assessment=referral.assessments[0].id, follow_up=follow_up.id, notification=notification.id,
            roster_import=upload.id, school=school.id, doctor_user=doctor.id, other_class_id=world.other_class_id,
            export_view="teacher", export_key=f"progress-{campaign.id}", export_fmt="csv",
            export_doctor_view="doctor", export_doctor_key="waits",
            export_district_view="district", export_district_key=f"schools-{clock.today():%Y-%m}",
            channel_kind="sms", duty_group=duty_group.id, ack_token=delivery.ack_token(sms.id),
            **setting_up,
            scale_code="PHQ-9", text_id=app.extensions["scales"].texts("PHQ-9")[1].text_id,
            case_numbers=(alert0.case_number, alert1.case_number, referral.case_number, referral_sent.case_number,
                          decision.case_number),
            **visibility_paths, **register_objects,
        )
        ns.committee_member = committee_member
        db.session.remove()
    http = app.test_client()
    joined = join(http, ns.session_code, world.students[3]).get_json()
    ns.student_token = joined["token"]
    phq = next(q for q in joined["questionnaires"] if q["scale"] == "PHQ-9")
    ns.response_body = lambda: {"scale": "PHQ-9", "version": phq["version"], "answers": [0] * 9,
                                "idempotency_key": "7f1c5a4e-0000-4000-8000-000000000001"}
    return ns


# A staff list uploaded by the middle school's teacher: one new homeroom teacher of the case class.
STAFF_CSV = ("username,name,role,school,class,email\n"
             "matrix.homeroom,Matrix Homeroom,班主任,Middle School A,Class 8-1,mh@school.test\n").encode("utf-8")


def _committee_member(school, students, teacher):
    """Student 5 (who never moves), the case class's committee member this term (班级心理委员)."""
    from app.committee import services as committee

    return committee.appoint_member(school, students[5].student_number, by=teacher).id


def _setting_up_objects(school, teacher):
    """Case objects of setting up: the school's agreement, a closed school, a staff list, the homeroom account."""
    from app.accounts import staff_import
    from app.orgs.models import Partnership, SchoolLevel

    closed = School(name="Closed School C", code="C0001", level=SchoolLevel.PRIMARY, district="D1",
                    closed_on=clock.today() - timedelta(days=30), closed_reason="merged")
    db.session.add(closed)
    db.session.flush()
    agreement = db.session.scalar(select(Partnership).where(Partnership.school_id == school.id))
    staff_list = staff_import.store_upload(STAFF_CSV, "staff.csv", by=teacher, only_school_id=school.id)
    homeroom = db.session.scalar(select(User).where(User.username == "homeroom"))
    return {"agreement": agreement.id, "closed_school": closed.id, "staff_import": staff_list.id,
            "homeroom_user": homeroom.id, "reset_token": "not-a-token"}


# --- paths that change who sees a student (issue 15) -----------------------------------------------------------

# The middle school's teacher names the high school's student (T0001) in rosters: with a guessed name and birth date
# (the preview must show nothing of the record), and with the right birth date (Apply must move no one). A third
# roster's Apply left admission requests for T0001 and a new pupil, waiting for the district admin.
ROSTER_HEADER = "school,class,grade,student_number,name,sex,birth_date,guardian_name,guardian_phone\n"
FOREIGN_ROSTER_CSV = (ROSTER_HEADER + "Middle School A,Class 8-1,8,T0001,Guessed Name,M,2010-06-06,,\n").encode("utf-8")
EXACT_ROSTER_CSV = (ROSTER_HEADER + "Middle School A,Class 8-1,8,T0001,O. Student,M,2010-05-05,,\n").encode("utf-8")
REQUESTED_ROSTER_CSV = (ROSTER_HEADER + "Middle School A,Class 8-1,8,T0001,O. Student,M,2010-05-05,,\n"
                        "Middle School A,Class 8-1,8,N0950,Requested Pupil,F,2012-07-08,,\n").encode("utf-8")


def _visibility_path_objects(world, school, students, teacher, doctor):
    """Case objects of the visibility-changing paths: roster imports naming another school's student, the admission
    requests a school's Apply leaves, and Student 4's referral, declined (the hospital keeps it, de-identified)."""
    from app.students import admissions
    from app.students.models import AdmissionRequest, RosterImportStatus

    foreign = roster.store_upload(FOREIGN_ROSTER_CSV, "foreign.csv", by=teacher, only_school_id=school.id)
    exact = roster.store_upload(EXACT_ROSTER_CSV, "exact.csv", by=teacher, only_school_id=school.id)
    # What the school's Apply leaves, made by the request service itself rather than by Apply, so that a broken
    # roster rule fails the matrix's cells, not this set-up.
    requested = roster.store_upload(REQUESTED_ROSTER_CSV, "requested.csv", by=teacher, only_school_id=school.id)
    admissions.request_admissions([dict(row, school_id=school.id) for row in requested.rows], requested, by=teacher)
    requested.status, requested.applied_at, requested.rows = RosterImportStatus.APPLIED, clock.now(), []
    requested.summary = {"new": 0, "updated": 0, "elsewhere": 0, "requests": 2, "unchanged": 0, "errors": 0,
                         "new_classes": 0}
    admission = db.session.scalar(select(AdmissionRequest).where(AdmissionRequest.student_number == "T0001"))
    declined = care.refer_student(students[4], school.id, world.hospital_id, "moderate", "referral reason 4", by=teacher)
    care.decline_referral(declined, "decline reason 4", by=doctor)
    return {"roster_import_foreign": foreign.id, "roster_import_exact": exact.id, "roster_import_requested": requested.id,
            "admission": admission.id,
            "referral_declined": declined.id, "student_declined": students[4].id, "export_fmt_xlsx": "xlsx"}


def _register_objects(school, students, teacher):
    """Issue 19: Student 0 interviewed and set red at the middle school, with a plan whose first task is the
    homeroom teacher's (the homeroom teacher may read that task, never the goals or the interview)."""
    from app.register import services as register

    register.record_interview(students[0], school.id, {
        "interviewed_on": clock.today(), "suicidal_thoughts": "past_weeks", "suicide_plan": "none",
        "disposition": "further_evaluation", "judgement": "interview judgement 0", "level": "red",
        "level_reason": "warning reason 0"}, by=teacher)
    entry = register.own_entry(students[0].id, school.id)
    plan = register.save_plan(entry, "plan goals 0", [clock.today() + timedelta(days=7)],
                              [{"owner": "homeroom", "action": "homeroom task 0"},
                               {"owner": "guardian", "action": "guardian task 0"}], by=teacher)
    return {"plan_task": plan.tasks[0].id}


VIEWERS = ("teacher", "other_teacher", "homeroom", "other_homeroom", "doctor", "other_doctor")
CASE_NUMBERS = {**{f"S{i:04d}": f"Student {i}" for i in range(6)}, "T0001": "Other Student"}  # named as in the world


def who_sees_whom(app):
    """(viewer, student's name) → None when the viewer cannot open the student, else (the other schools whose entries
    the file shows the viewer, the other schools whose alerts show the viewer the student's identity). "Other": not
    the viewer's own school (a doctor has none), so that a school's new entry about its own student is no change.

    The matrix compares it before and after every request that changes the database: a school's own action that
    changes who sees another school's student, or hands over another school's entries, shows up here."""
    from app.auth import policy
    from app.files import handover, services as files
    from app.risk.models import Alert

    with app.app_context():
        users = db.session.scalars(select(User).where(User.username.in_(VIEWERS))).all()
        students = db.session.scalars(select(Student).where(Student.student_number.in_(CASE_NUMBERS))).all()
        timelines = {student.id: files.unfiltered_timeline(student) for student in students}
        seen = {}
        for user in users:
            visible = set(db.session.scalars(select(Student.id).where(policy.scope(user, Student))))
            for student in students:
                if student.id not in visible:
                    seen[(user.username, CASE_NUMBERS[student.student_number])] = None
                    continue
                # The file page's own filter (handover.file_for), over a timeline read once per student.
                entries = handover._visible_to(user, student, timelines[student.id]).entries
                alerts = db.session.scalars(policy.scoped(user, Alert).where(Alert.student_id == student.id)).all()
                seen[(user.username, CASE_NUMBERS[student.student_number])] = (
                    frozenset(e.school_name for e in entries if e.school_id != user.school_id),
                    frozenset(a.school.name for a in alerts
                              if a.school_id != user.school_id and policy.can(user, "see_alert_identity", a)))
        db.session.remove()
    return seen


def transfer_moved_students(app, world):
    """Students 0-2 leave the middle school today and start at the high school today."""
    with app.app_context():
        today = clock.today()
        for student_id in world.student_ids[:3]:
            for enrollment in db.session.scalars(select(Enrollment).where(Enrollment.student_id == student_id)):
                enrollment.end_date = today
            db.session.add(Enrollment(student_id=student_id, school_id=world.other_school_id,
                                      class_group_id=world.other_class_id, start_date=today,
                                      reason=EnrollmentReason.TRANSFER))
        db.session.commit()
        db.session.remove()


def record_handover_consent(app, world):
    """The guardians of students 0-2 sign the hand-over form at the new school; its psychology teacher records it."""
    from app.auth import policy
    from app.students.consent import record_consent
    from app.students.models import ConsentKind

    with app.app_context():
        by = db.session.scalar(select(User).where(User.username == "other_teacher"))
        for student_id in world.student_ids[:3]:
            student = db.session.get(Student, student_id)
            assert policy.can(by, "record_consent", student), "the new school's teacher records the consent"
            record_consent(student, ConsentKind.HANDOVER_SCHOOL, True, "signed hand-over form", by=by)
        db.session.commit()
        db.session.remove()


def actor_client(app, client_factory, case, role, relation):
    """(client, extra headers, names the actor may see) for one actor of the matrix."""
    username, before, visible, _entries = ACTORS[(role, relation)]
    if before in (TRANSFER, TRANSFER_WITH_HANDOVER):
        transfer_moved_students(app, case.world)
    if before == TRANSFER_WITH_HANDOVER:
        record_handover_consent(app, case.world)
    if role == "student":
        return client_factory(), {"Authorization": f"Bearer {case.student_token}"}, visible
    if username is None:
        return client_factory(), {}, visible
    return login_as(client_factory, username), {}, visible


# The dashboards keep their counts (monthly_figures, campaign_figures) when a page or an export first computes them:
# a cache recomputable from the other tables, not a change made by the request. A risk list or dashboard load
# notes when its escalation sweep ran (sweep_runs): bookkeeping for /healthz, not a change made by the request;
# /healthz itself writes a probe row (health_probes) to learn whether the database takes writes.
SKIPPED_TABLES = {"audit_events", "alembic_version", "monthly_figures", "campaign_figures", "sweep_runs",
                  "health_probes"}


# The lock rule's bookkeeping (app/accounts/lockout.py): a refused proof of identity (a wrong current password)
# is counted, and the fifth locks the account and ends its sessions, by design. Hostile-input checks leave it out.
LOCK_BOOKKEEPING = {"sign_in_throttles": None, "users": {"failed_logins", "locked_until", "session_version"}}


def _rows(name, left_out=()):
    columns = [c.name for c in db.metadata.tables[name].columns if c.name not in left_out]
    return sorted(map(tuple, db.session.execute(text(f"SELECT {', '.join(columns)} FROM {name}")).all()), key=repr)


def snapshot(app, without_lock_bookkeeping=False):
    """Every row of every table except the audit trail, to prove that nothing changed."""
    skipped = dict(LOCK_BOOKKEEPING) if without_lock_bookkeeping else {}
    with app.app_context():
        tables = [t.name for t in db.metadata.sorted_tables if t.name not in SKIPPED_TABLES
                  and (t.name not in skipped or skipped[t.name])]
        state = {name: _rows(name, skipped.get(name) or ()) for name in tables}
        db.session.remove()
    return state


def audit_rows_after(app, last_id):
    from app.audit.models import AuditEvent

    with app.app_context():
        rows = db.session.scalars(select(AuditEvent).where(AuditEvent.id > last_id).order_by(AuditEvent.id)).all()
        out = [(r.action, r.student_id, r.detail) for r in rows]
        db.session.remove()
    return out


def last_audit_id(app):
    from sqlalchemy import func

    from app.audit.models import AuditEvent

    with app.app_context():
        value = db.session.scalar(select(func.max(AuditEvent.id))) or 0
        db.session.remove()
    return value
