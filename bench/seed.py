"""Seed a benchmark database (migrations, one school, students, open campaigns) and prepare the requests."""
import json
import os
import random
import uuid
from datetime import date, timedelta
from pathlib import Path

SCALES = ["PHQ-9", "GAD-7", "PHQ-2", "GAD-2", "K6", "WHO-5"]


def checkpoint_dir(database_url) -> str:
    """The audit checkpoints of one benchmark database: each engine's chain is checked against its own (a shared
    directory made every engine after the first report the first one's checkpoints as events gone)."""
    import hashlib

    instance = Path(os.environ.get("XINQIAO_INSTANCE_DIR", "instance"))
    return str(instance / f"audit-checkpoints-{hashlib.sha256(database_url.encode()).hexdigest()[:12]}")


def _app(database_url):
    from app import create_app

    return create_app("production", SQLALCHEMY_DATABASE_URI=database_url,
                      AUDIT_CHECKPOINT_DIR=checkpoint_dir(database_url))


def seed_database(database_url, students=250, campaigns=6):
    """Migrate an empty database and add a school with one large class and `campaigns` open sessions."""
    from flask_migrate import upgrade

    from app.accounts import services as accounts
    from app.accounts.models import Role
    from app.core import clock
    from app.extensions import db
    from app.orgs.models import ClassGroup, School, SchoolLevel
    from app.screening import services as screening
    from app.students.models import Consent, ConsentKind, Enrollment, EnrollmentReason, Sex, Student

    app = _app(database_url)
    with app.app_context():
        upgrade()
        today = clock.today()
        school = School(name="Bench Middle School", level=SchoolLevel.MIDDLE, district="B")
        db.session.add(school)
        db.session.flush()
        cls = ClassGroup(school_id=school.id, academic_year="2026-2027", grade=8, name="Bench class")
        db.session.add(cls)
        db.session.flush()
        teacher = accounts.create_user("bench.teacher", "Bench Teacher", "Bench-password-2026", Role.TEACHER, school=school)
        ids = []
        for i in range(students):
            st = Student(student_number=f"B{i:05d}", name=f"学生{i}", sex=Sex.FEMALE if i % 2 else Sex.MALE,
                         birth_date=date(2012, 1 + i % 12, 1 + i % 28))
            db.session.add(st)
            db.session.flush()
            db.session.add(Enrollment(student_id=st.id, school_id=school.id, class_group_id=cls.id,
                                      start_date=today - timedelta(days=30), reason=EnrollmentReason.ADMISSION))
            db.session.add(Consent(student_id=st.id, kind=ConsentKind.SCREENING, granted=True,
                                   recorded_by_id=teacher.id, recorded_at=clock.now(), note="bench"))
            ids.append(st.id)
        # A centre using Chinese cut-offs (the submission path re-bands these results; README: cut-off profiles).
        from app.scales import services as scale_settings

        for code, profile in (("PHQ-9", "cn_primary_care_chen2013"), ("GAD-7", "cn_general_hospital_he2010"),
                              ("PHQ-2", "cn_school_students")):
            scale_settings.choose_profile(code, "all", profile, by=teacher)
        campaign_ids = []
        for c in range(campaigns):
            campaign = screening.launch_campaign(school, [cls], SCALES, f"Bench {c}", clock.now() + timedelta(days=1), by=teacher)
            campaign_ids.append(campaign.id)
        db.session.commit()
        return {"student_ids": ids, "campaign_ids": campaign_ids}
    

def _answers(rng, scale):
    values = []
    for item in scale.items:
        options = [o.value for o in item.options]
        values.append(options[0] if rng.random() < 0.6 else rng.choice(options))
    if scale.code == "PHQ-9" and rng.random() < 0.05:
        values[8] = 1  # about one student in twenty answers item 9: a critical alert
    return values


def submission_requests(database_url, plan, seed=0):
    """One prepared POST /api/v1/responses per (campaign, student, scale), interleaved by student."""
    from app.api import tokens
    from app.screening import services as screening
    from bench.loadgen import build_request

    rng = random.Random(seed)
    app = _app(database_url)
    out = []
    with app.test_request_context():
        registry = screening.registry()
        for campaign_id in plan["campaign_ids"]:
            for scale_code in SCALES:
                scale = registry.get(scale_code)
                for student_id in plan["student_ids"]:
                    body = json.dumps({"scale": scale.code, "version": scale.version, "answers": _answers(rng, scale),
                                       "idempotency_key": str(uuid.uuid4()),
                                       "started_at": "2026-11-22T01:00:00Z"}).encode()
                    out.append(build_request("POST", "/api/v1/responses", body,
                                             {"Authorization": "Bearer " + tokens.issue(campaign_id, student_id)}))
    return out


def check_stored(database_url, plan):
    """Rows stored, responses without a score, critical scores without an alert, and the audit chain."""
    from sqlalchemy import func, select

    from app.audit import services as audit
    from app.extensions import db
    from app.risk.models import Alert
    from app.screening.models import Response, Score

    app = _app(database_url)
    with app.app_context():
        responses = db.session.scalar(select(func.count(Response.id)))
        unscored = db.session.scalar(select(func.count(Response.id)).outerjoin(Score).where(Score.id.is_(None)))
        critical_students = set(db.session.scalars(
            select(Response.student_id).join(Score).where(Score.risk == "critical")))
        alerted = set(db.session.scalars(select(Alert.student_id).where(Alert.level == "critical")))
        problems = audit.verify()
        return {"responses": responses, "responses_without_score": unscored,
                "critical_students_without_alert": len(critical_students - alerted),
                "audit_chain_problems": len(problems)}
