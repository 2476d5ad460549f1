"""Data protection: clinical text encrypted at rest (canary), key rotation, tamper-evident audit trail,
retention purge, security headers on every response, no student data in logs."""
import logging
import re
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from flask import abort
from sqlalchemy import func, select, text

from app import create_app
from app.audit import services as audit
from app.audit.models import AppendOnlyError, AuditEvent
from app.auth import policy
from app.care.models import Assessment, Referral, ReturnDecision
from app.core import clock, crypto
from app.extensions import db
from app.students.models import Enrollment, Student
from tests.conftest import login_as
from tests.security.conftest import case  # noqa: F401  (fixture)

CANARY = "CANARY-7f3e-心桥-findings"


def _record_canaries(client_factory, case):
    doctor = login_as(client_factory, "doctor")
    r = doctor.post(f"/referrals/{case.referral}/assessment", {
        "a-assessed_on": "2026-11-23", "a-setting": "clinic", "a-findings": CANARY + "-assessment",
        "a-risk_level": "high", "a-plan": "outpatient"})
    assert r.status_code == 302
    r = doctor.post(f"/referrals/{case.referral}/decision", {"d-outcome": "cleared_with_conditions",
                                                             "d-conditions": CANARY + "-conditions"})
    assert r.status_code == 302
    teacher = login_as(client_factory, "teacher")
    r = teacher.post(f"/students/{case.student2}/refer", {"hospital_id": case.hospital_id, "urgency": "high",
                                                          "reason": CANARY + "-referral", "alert_id": 0})
    assert r.status_code == 302
    admin = login_as(client_factory, "admin")  # break-glass: the reason is clinical text too, audit trail included
    r = admin.post(f"/students/{case.student}/break-glass", {"reason": CANARY + "-break-glass, the hotline called"})
    assert r.status_code == 302
    return doctor


def test_canary_in_clinical_text_is_in_no_database_file(app, client_factory, case):
    doctor = _record_canaries(client_factory, case)
    assert CANARY + "-assessment" in doctor.get(f"/students/{case.student}").get_data(as_text=True)  # readable in the app
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    with app.app_context():
        raw = db.session.execute(text("SELECT findings FROM assessments")).scalars().all() + \
            db.session.execute(text("SELECT conditions FROM return_decisions")).scalars().all() + \
            db.session.execute(text("SELECT reason FROM referrals")).scalars().all() + \
            db.session.execute(text("SELECT reason FROM break_glass_accesses")).scalars().all()
        db.session.remove()
    assert raw and all(value.startswith("gAAAAA") and "CANARY" not in value for value in raw if value)
    if url.startswith("sqlite:///"):
        base = Path(url[len("sqlite:///"):])
        files = [p for p in (base, Path(f"{base}-wal"), Path(f"{base}-shm")) if p.exists()]
        assert Path(f"{base}-wal").exists(), "the test expects WAL mode (uncheckpointed pages live in -wal)"
        for path in files:
            data = path.read_bytes()
            for needle in (CANARY.encode(), CANARY.encode("utf-16-le"), "CANARY-7f3e".encode()):
                assert needle not in data, f"clinical text in plain text in {path.name}"


def test_keys_rotate_re_encrypts_every_row(app, client_factory, case):
    _record_canaries(client_factory, case)
    old_key = app.config["CLINICAL_DATA_KEYS"]
    new_key = Fernet.generate_key().decode()
    try:
        crypto.configure(f"{new_key},{old_key}")
        result = app.test_cli_runner().invoke(args=["keys", "rotate"])
        assert result.exit_code == 0, result.output
        assert "assessments.findings: 2 re-encrypted" in result.output  # the skeleton's and the canary
        crypto.configure(new_key)  # the old key is gone: everything must still read
        with app.app_context():
            findings = db.session.scalars(select(Assessment.findings)).all()
            assert CANARY + "-assessment" in findings
            assert CANARY + "-conditions" in db.session.scalars(select(ReturnDecision.conditions)).all()
            assert ("keys_rotated", "ok") in db.session.execute(select(AuditEvent.action, AuditEvent.outcome)).all()
            db.session.remove()
    finally:
        crypto.configure(old_key)


def test_a_value_encrypted_with_an_unknown_key_is_refused_not_returned(app, case):
    with app.app_context():
        foreign = Fernet(Fernet.generate_key()).encrypt(b"tampered").decode()
        db.session.execute(text("UPDATE assessments SET findings = :v"), {"v": foreign})
        db.session.commit()
        with pytest.raises(crypto.KeyError_):
            db.session.scalar(select(Assessment.findings))
        db.session.rollback()
        db.session.remove()


# --- audit trail -------------------------------------------------------------------------------------

def test_audit_verify_passes_then_finds_a_changed_and_a_deleted_row(app, case):
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["audit", "verify"])
    assert ok.exit_code == 0 and "audit trail intact" in ok.output
    with app.app_context():
        ids = db.session.scalars(select(AuditEvent.id).order_by(AuditEvent.id)).all()
        db.session.execute(text("UPDATE audit_events SET outcome = 'denied' WHERE id = :i"), {"i": ids[2]})
        db.session.commit()
    changed = runner.invoke(args=["audit", "verify"])
    assert changed.exit_code != 0 and f"event {ids[2]}: content does not match" in changed.output
    with app.app_context():
        db.session.execute(text("UPDATE audit_events SET outcome = 'ok' WHERE id = :i"), {"i": ids[2]})
        db.session.execute(text("DELETE FROM audit_events WHERE id = :i"), {"i": ids[4]})
        db.session.commit()
    deleted = runner.invoke(args=["audit", "verify"])
    assert deleted.exit_code != 0 and f"event {ids[5]}: previous hash does not match" in deleted.output


def test_the_application_cannot_change_or_delete_audit_events(app, case):
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).limit(1))
        event.outcome = "denied"
        with pytest.raises(AppendOnlyError):
            db.session.flush()
        db.session.rollback()
        with pytest.raises(AppendOnlyError):
            db.session.delete(db.session.scalar(select(AuditEvent).limit(1)))
            db.session.flush()
        db.session.rollback()
        db.session.remove()


def test_reads_and_clinical_changes_are_audited_with_who_what_when_student_and_outcome(app, client_factory, case):
    _record_canaries(client_factory, case)
    login_as(client_factory, "teacher").get(f"/students/{case.student}")
    with app.app_context():
        rows = db.session.scalars(select(AuditEvent).where(AuditEvent.student_id == case.student)).all()
        by_action = {r.action: r for r in rows}
        for action in ("file_viewed", "assessment_recorded", "return_decided", "referral_sent"):
            event = by_action[action]
            assert event.actor_id and event.actor_role and event.at and event.outcome == "ok", action
        details = " ".join(str(r.detail) for r in db.session.scalars(select(AuditEvent)))
        assert "CANARY" not in details and "Student 0" not in details
        db.session.remove()


def test_no_student_name_or_answer_in_application_logs(app, client_factory, case, caplog):
    caplog.set_level(logging.DEBUG)
    _record_canaries(client_factory, case)
    teacher = login_as(client_factory, "teacher")
    for url in (f"/students/{case.student}", "/alerts", f"/campaigns/{case.campaign}", "/no-such-page"):
        teacher.get(url)
    for _ in range(6):
        client_factory().login("teacher", "wrong-password-123")
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for secret in ("Student 0", "Student 2", "CANARY", "S0000", "2012-01-01"):
        assert secret not in logged


# --- retention -----------------------------------------------------------------------------------------

def test_retention_dry_run_lists_and_purge_deletes_in_one_transaction_and_audits(app, client_factory, case):
    _record_canaries(client_factory, case)
    runner = app.test_cli_runner()
    left_on = clock.today() - timedelta(days=365 * 11)
    with app.app_context():
        for enrollment in db.session.scalars(select(Enrollment).where(Enrollment.student_id == case.student)):
            enrollment.start_date, enrollment.end_date = left_on - timedelta(days=700), left_on
        db.session.commit()
        before = {t: db.session.scalar(text(f"SELECT count(*) FROM {t}")) for t in ("assessments", "referrals", "alerts")}
        audit_before = db.session.scalar(select(func.count(AuditEvent.id)))
        db.session.remove()
    dry = runner.invoke(args=["retention", "purge", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert f"student id {case.student} left {left_on.isoformat()}" in dry.output and "dry run" in dry.output
    assert re.search(r"assessments 2", dry.output) and "Student 0" not in dry.output
    with app.app_context():
        assert {t: db.session.scalar(text(f"SELECT count(*) FROM {t}")) for t in before} == before
        db.session.remove()
    real = runner.invoke(args=["retention", "purge"])
    assert real.exit_code == 0, real.output
    with app.app_context():
        assert db.session.scalar(select(func.count(Assessment.id))) == 0
        assert db.session.scalar(select(func.count(Referral.id)).where(Referral.student_id == case.student)) == 0
        assert db.session.scalar(select(func.count(Enrollment.id)).where(Enrollment.student_id == case.student)) == 0
        tombstone = db.session.get(Student, case.student)
        assert tombstone.name == "" and tombstone.student_number.startswith("purged-")
        # other students untouched, the audit trail kept and still intact
        assert db.session.scalar(select(func.count(Referral.id))) == 3  # students 1, 2 and 4 keep theirs
        assert db.session.scalar(select(func.count(AuditEvent.id))) > audit_before
        assert audit.verify() == []
        db.session.remove()
    again = runner.invoke(args=["retention", "purge", "--dry-run"])
    assert "who left before" in again.output and ": 0" in again.output.splitlines()[0]


def test_retention_keeps_students_still_enrolled_or_recently_left(app, case):
    from app.retention import services as retention

    with app.app_context():
        for enrollment in db.session.scalars(select(Enrollment).where(Enrollment.student_id == case.student)):
            enrollment.end_date = clock.today() - timedelta(days=30)
        db.session.commit()
        assert retention.candidates(retention.cutoff_date(10)) == []
        assert [sid for sid, _ in retention.candidates(retention.cutoff_date(0))] == [case.student]
        db.session.remove()


# --- headers -------------------------------------------------------------------------------------

def _assert_headers(response, where):
    csp = response.headers.get("Content-Security-Policy", "")
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp and "frame-ancestors 'none'" in csp, where
    assert response.headers.get("X-Content-Type-Options") == "nosniff", where
    assert response.headers.get("Referrer-Policy") == "no-referrer", where


def test_security_headers_on_error_pages_too(app, world, client_factory):
    boom_app = create_app("testing", SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                          PROPAGATE_EXCEPTIONS=False)

    @policy.public
    def boom():
        raise RuntimeError("boom")

    @policy.public
    def teapot():
        abort(429)

    boom_app.add_url_rule("/boom", "boom", boom)
    boom_app.add_url_rule("/many", "many", teapot)
    http = boom_app.test_client()
    for url, status in (("/boom", 500), ("/many", 429), ("/nope", 404), ("/logout", 405)):  # a wrong method: 405 with Allow
        response = http.get(url)
        assert response.status_code == status, url
        _assert_headers(response, url)
        assert response.headers["Cache-Control"] == "no-store"
    c = client_factory()
    bad = c.post("/login", {"username": "x"}, csrf=False)
    assert bad.status_code == 400
    _assert_headers(bad, "csrf error")


def test_no_inline_script_or_style_in_any_template():
    root = Path(__file__).resolve().parents[2] / "app"
    for template in root.rglob("*.html"):
        source = template.read_text(encoding="utf-8")
        for tag in re.findall(r"<script\b[^>]*>", source):
            assert "src=" in tag or 'type="application/json"' in tag, f"{template}: inline script {tag}"
        assert not re.search(r"\son[a-z]+\s*=", source), f"{template}: inline event handler"
        assert not re.search(r"\sstyle\s*=", source), f"{template}: inline style attribute"
