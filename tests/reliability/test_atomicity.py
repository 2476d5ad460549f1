"""A response, its score and its alert land in one transaction, or none of them does."""
import pytest
from sqlalchemy import func, select

from app.audit import services as audit
from app.audit.models import AuditEvent
from app.extensions import db
from app.risk.models import Alert
from app.screening.models import Response, Score
from tests.conftest import login_as, new_key
from tests.helpers import PHQ9_CRITICAL, join, launch_campaign, submit


def counts(app):
    with app.app_context():
        return tuple(db.session.scalar(select(func.count(m.id))) for m in (Response, Score, Alert))


def test_a_failure_after_the_response_is_written_stores_nothing_and_a_retry_stores_all(app, world, client_factory,
                                                                                       monkeypatch):
    teacher = login_as(client_factory, "teacher")
    _, code = launch_campaign(teacher, world.class_id)
    http = app.test_client()
    data = join(http, code, world.students[0]).get_json()
    with app.app_context():
        events_before = db.session.scalar(select(func.count(AuditEvent.id)))

    real_record_many = audit.record_many

    def failing_record_many(events):
        if any(e["action"] == "alert_opened" for e in events):  # response, score and alert are flushed by now
            raise RuntimeError("simulated crash between the alert and its audit rows")
        return real_record_many(events)

    monkeypatch.setattr(audit, "record_many", failing_record_many)
    key = new_key()
    with pytest.raises(RuntimeError):
        submit(http, data["token"], data["questionnaires"][0], PHQ9_CRITICAL, key=key)
    assert counts(app) == (0, 0, 0)  # never a response without its score, never a critical score without its alert
    with app.app_context():
        assert db.session.scalar(select(func.count(AuditEvent.id))) == events_before

    monkeypatch.setattr(audit, "record_many", real_record_many)
    retry = submit(http, data["token"], data["questionnaires"][0], PHQ9_CRITICAL, key=key)
    assert retry.status_code == 201 and retry.get_json()["show_crisis_resources"] is True
    assert counts(app) == (1, 1, 1)
    with app.app_context():
        alert = db.session.scalar(select(Alert))
        response = db.session.scalar(select(Response))
        assert alert.response_id == response.id and alert.level == "critical"
        assert audit.verify() == []
