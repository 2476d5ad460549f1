"""A hand-computed world for the dashboards: one month of screening, alerts, referrals, assessments, follow-ups.

Middle School A (class 8-1) has 12 students; High School B has 1. Local time Asia/Shanghai.
- 2026-10-10 10:00: an October campaign (PHQ-9 only); student 5 answers, total 1.
- 2026-11-10 10:00 (T0): a November campaign (PHQ-9 + GAD-7); students 0–9 answer:
  s0–s4 PHQ-9 [1,1,1,0,0,0,0,0,1] (total 4, minimal, item 9 → critical); s5 PHQ-9 total 10 (moderate band,
  moderate risk; +9 over October: a reliable deterioration) and GAD-7 total 10 (moderate); s6–s9 PHQ-9 total 2.
  Everyone else's GAD-7 total is 1.
- Alerts: 5 critical (s0–s4), 1 moderate (s5: both moderate results join one alert).
- Acknowledged T0+1h, +2h, +3h, +4h, +10h (s0–s4) → median 3 h, P90 7.6 h (numpy linear).
- Referred (critical) at T0+10h30; accepted; assessed at T0+24h, +30h, +48h, +50h, +100h → median 48 h, P90 80 h;
  from the referral: 13.5, 19.5, 37.5, 39.5, 89.5 h → median 37.5, P90 69.5.
- Follow-ups due in November: 7 (5 done on time, 1 late, 1 not done) → 随访率 5/7 = 71.4 %.
- 管理率: students with a positive screen or alert in November: s0–s5 = 6; with an action: s0–s4 → 5/6 = 83.3 %.
"""
from datetime import date, datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from app.accounts.models import User
from app.care.models import FollowUp, Referral
from app.core import clock
from app.extensions import db
from app.risk.models import Alert
from app.students.models import Consent, ConsentKind, Enrollment, EnrollmentReason, Sex, Student
from tests.conftest import login_as
from tests.helpers import answer_all, launch_campaign

LOCAL = clock.LOCAL_TZ
T0 = datetime(2026, 11, 10, 10, 0, tzinfo=LOCAL).astimezone(timezone.utc)
OCT = datetime(2026, 10, 10, 10, 0, tzinfo=LOCAL).astimezone(timezone.utc)
PHQ_CRIT = [1, 1, 1, 0, 0, 0, 0, 0, 1]
PHQ_MOD = [2, 2, 2, 2, 2, 0, 0, 0, 0]
PHQ_LOW = [0, 1, 0, 0, 1, 0, 0, 0, 0]
PHQ_OCT = [0, 0, 0, 0, 1, 0, 0, 0, 0]
GAD_MOD = [2, 2, 2, 2, 2, 0, 0]
GAD_LOW = [0, 0, 1, 0, 0, 0, 0]
ACK_HOURS = (1, 2, 3, 4, 10)
ASSESS_HOURS = (24, 30, 48, 50, 100)


def at(moment):
    clock.freeze(moment)


@pytest.fixture
def figures_world(autumn_2026, app, world, client_factory):
    with app.app_context():
        start = db.session.scalar(select(Enrollment.start_date).where(Enrollment.school_id == world.school_id).limit(1))
        teacher_id = db.session.scalar(select(User.id).where(User.username == "teacher"))
        extra = []
        for i in range(6, 12):
            st = Student(student_number=f"S{i:04d}", name=f"Student {i}", sex=Sex.FEMALE, birth_date=date(2012, 2, i + 1))
            db.session.add(st)
            db.session.flush()
            db.session.add(Enrollment(student_id=st.id, school_id=world.school_id, class_group_id=world.class_id,
                                      start_date=start, reason=EnrollmentReason.ADMISSION))
            db.session.add(Consent(student_id=st.id, kind=ConsentKind.SCREENING, granted=True,
                                   recorded_by_id=teacher_id, recorded_at=clock.now(), note="figures world"))
            extra.append({"id": st.id, "number": st.student_number, "birth_date": st.birth_date.isoformat()})
        db.session.commit()
    students = world.students + extra

    at(OCT)
    teacher = login_as(client_factory, "teacher")
    october_id, code = launch_campaign(teacher, world.class_id, scales=("PHQ-9",), hours=3)
    answer_all(app.test_client(), code, students[5], {"PHQ-9": PHQ_OCT})

    at(T0)
    teacher = login_as(client_factory, "teacher")
    november_id, code = launch_campaign(teacher, world.class_id, hours=3)
    for i in range(10):
        phq = PHQ_CRIT if i < 5 else PHQ_MOD if i == 5 else PHQ_LOW
        answer_all(app.test_client(), code, students[i], {"PHQ-9": phq, "GAD-7": GAD_MOD if i == 5 else GAD_LOW})
    with app.app_context():
        alerts = {a.student_id: a.id for a in db.session.scalars(select(Alert).where(Alert.level == "critical"))}
    critical_alerts = [alerts[students[i]["id"]] for i in range(5)]
    for i, hours in enumerate(ACK_HOURS):
        at(T0 + timedelta(hours=hours))
        assert login_as(client_factory, "teacher").post(f"/alerts/{critical_alerts[i]}/acknowledge").status_code == 302
    at(T0 + timedelta(hours=10, minutes=30))
    teacher = login_as(client_factory, "teacher")
    referrals = []
    for i in range(5):
        r = teacher.post(f"/students/{students[i]['id']}/refer", {
            "hospital_id": world.hospital_id, "urgency": "critical", "reason": "item 9", "alert_id": critical_alerts[i]})
        assert r.status_code == 302, r.get_data(as_text=True)[:500]
        with app.app_context():  # the redirect goes to the student's page: read the referral's id from the database
            referrals.append(db.session.scalar(select(Referral.id).where(Referral.student_id == students[i]["id"])))
    doctor = login_as(client_factory, "doctor")
    for rid in referrals:
        assert doctor.post(f"/referrals/{rid}/accept").status_code == 302
    for rid, hours in zip(referrals, ASSESS_HOURS):
        at(T0 + timedelta(hours=hours))
        r = login_as(client_factory, "doctor").post(f"/referrals/{rid}/assessment", {
            "a-assessed_on": clock.today().isoformat(), "a-setting": "clinic", "a-findings": "Seen.",
            "a-risk_level": "high", "a-plan": "outpatient", "a-next_review_on": "2026-11-28"})
        assert r.status_code == 302, r.get_data(as_text=True)[:500]

    with app.app_context():
        def done(day, hour=12):
            return datetime(2026, 11, day, hour, tzinfo=LOCAL).astimezone(timezone.utc)
        follow_ups = [  # (student index, due day, done) — s5 never gets one
            (0, 12, done(12)), (1, 13, done(11)), (2, 14, done(14, 23)), (3, 15, done(15)), (6, 16, done(10)),
            (4, 17, done(19)),  # late
            (7, 18, None),       # not done
        ]
        for i, day, done_at in follow_ups:
            db.session.add(FollowUp(student_id=students[i]["id"], school_id=world.school_id,
                                    due_on=date(2026, 11, day), done_at=done_at, created_at=T0))
        # one due in December: outside the month
        db.session.add(FollowUp(student_id=students[8]["id"], school_id=world.school_id, due_on=date(2026, 12, 2),
                                created_at=T0))
        db.session.commit()
    at(datetime(2026, 11, 20, 12, 0, tzinfo=LOCAL).astimezone(timezone.utc))
    return SimpleNamespace(world=world, students=students, october_id=october_id, november_id=november_id,
                           referrals=referrals, critical_alerts=critical_alerts)
