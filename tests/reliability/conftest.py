"""Reliability fixtures: a whole class in one open session, tokens, and the real server as a subprocess."""
import uuid
from datetime import date, timedelta
from types import SimpleNamespace

import pytest

from app.accounts.models import User
from app.api import tokens
from app.core import clock
from app.extensions import db
from app.orgs.models import ClassGroup, School
from app.screening import services as screening
from app.students.models import Consent, ConsentKind, Enrollment, EnrollmentReason, Sex, Student
from tests.reliability.server import LiveGunicorn

CLASS_SIZE = 50
PHQ9_CRITICAL = [1, 1, 1, 0, 0, 0, 0, 0, 1]
PHQ9_LOW = [0, 1, 0, 0, 1, 0, 0, 0, 0]
GAD7_LOW = [0, 0, 1, 0, 0, 0, 0]


@pytest.fixture
def whole_class(app, world):
    """50 students in one class of the world's school, an open PHQ-9 + GAD-7 session, a token each."""
    with app.app_context():
        school = db.session.get(School, world.school_id)
        teacher = db.session.scalar(db.select(User).where(User.username == "teacher"))
        cls = ClassGroup(school_id=school.id, academic_year=world.academic_year, grade=8, name="Class 8-9")
        db.session.add(cls)
        db.session.flush()
        student_ids = []
        for i in range(CLASS_SIZE):
            st = Student(student_number=f"R{i:04d}", name=f"Burst {i}", sex=Sex.FEMALE if i % 2 else Sex.MALE,
                         birth_date=date(2012, 1 + i % 12, 1 + i % 28))
            db.session.add(st)
            db.session.flush()
            db.session.add(Enrollment(student_id=st.id, school_id=school.id, class_group_id=cls.id,
                                      start_date=clock.today() - timedelta(days=30), reason=EnrollmentReason.ADMISSION))
            db.session.add(Consent(student_id=st.id, kind=ConsentKind.SCREENING, granted=True,
                                   recorded_by_id=teacher.id, recorded_at=clock.now(), note="burst class"))
            student_ids.append(st.id)
        campaign = screening.launch_campaign(school, [cls], ["PHQ-9", "GAD-7"], "Burst", clock.now() + timedelta(hours=2),
                                             by=teacher)
        db.session.commit()
        registry = screening.registry()
        versions = {code: registry.get(code).version for code in ("PHQ-9", "GAD-7")}
        with app.test_request_context():
            toks = [tokens.issue(campaign.id, sid) for sid in student_ids]
        campaign_id = campaign.id
        db.session.remove()
    return SimpleNamespace(campaign_id=campaign_id, student_ids=student_ids, tokens=toks, versions=versions)


def submission(whole_class, scale, answers, key=None):
    return {"scale": scale, "version": whole_class.versions[scale], "answers": answers,
            "idempotency_key": key or str(uuid.uuid4()), "started_at": "2026-11-22T01:00:00Z"}


@pytest.fixture
def live_gunicorn(app, tmp_path):
    """Start with `.start()`; always stopped (SIGTERM, then SIGKILL) at the end of the test."""
    server = LiveGunicorn(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path / "instance", tmp_path / "gunicorn.log")
    yield server
    server.stop()
