"""The audit chain holds against someone with the database but without the audit key: its hashes are HMACs under a
key outside the database, and checkpoints of its head are kept outside it too. Deleting the last event, emptying the
table, or deleting events and recomputing the hashes after them (with the app's old unkeyed SHA-256, or any key
but ours) all fail `flask audit verify`; earlier unkeyed chains keep verifying, and the key can be rotated."""
import json
import os
import subprocess
import sys

import pytest
from sqlalchemy import event, select, text

from app.audit import chain, checkpoints
from app.audit.chain import AuditKeyring, payload, unkeyed_digest
from app.audit.services import verify_chain
from app.audit.models import AuditEvent
from app.extensions import db
from tests.conftest import login_as
from tests.helpers import ROOT

TEST_KEY = "test-audit-key-not-for-production-0123456789"
NEW_KEY = "a-newer-audit-key-for-the-rotation-test-000000"


@pytest.fixture
def anchored(app, world, client_factory, tmp_path, monkeypatch):
    """Checkpoints after every commit into a directory of this test; 30 or so events made through the pages."""
    monkeypatch.setitem(app.config, "AUDIT_CHECKPOINT_DIR", str(tmp_path / "checkpoints"))
    monkeypatch.setitem(app.config, "AUDIT_CHECKPOINT_EVERY", 1)
    teacher = login_as(client_factory, "teacher")
    for _round in range(4):
        for student_id in world.student_ids:
            assert teacher.get(f"/students/{student_id}").status_code == 200
    return tmp_path / "checkpoints"


def _verify(app):
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    return result.exit_code, result.output


def _ids(app):
    with app.app_context():
        ids = db.session.scalars(select(AuditEvent.id).order_by(AuditEvent.id)).all()
        db.session.remove()
    return ids


def _sql(app, statement, **params):
    with app.app_context():
        db.session.execute(text(statement), params)
        db.session.commit()
        db.session.remove()


def _rechain(app, digest, key_id, after_id=0):
    """What an insider with the database does after deleting events: hash every event after `after_id` again, in
    order, so that each previous hash matches, with `digest` (the app's old SHA-256, or an HMAC under a key of
    their own)."""
    with app.app_context():
        rows = db.session.execute(select(*chain.COLUMNS).where(AuditEvent.id > after_id).order_by(AuditEvent.id)).all()
        prev = db.session.scalar(select(AuditEvent.hash).where(AuditEvent.id == after_id)) or chain.GENESIS
        for row in rows:
            event = dict(row._mapping, prev_hash=prev)
            new_hash = digest(payload(prev, event))
            db.session.execute(text("UPDATE audit_events SET prev_hash = :p, hash = :h, key_id = :k WHERE id = :i"),
                               {"p": prev, "h": new_hash, "k": key_id, "i": row.id})
            prev = new_hash
        db.session.commit()
        db.session.remove()


def test_an_intact_chain_verifies_against_its_checkpoints(app, anchored):
    code, output = _verify(app)
    assert code == 0, output
    assert "audit trail intact" in output and f"checkpoints in {anchored}" in output
    lines = (anchored / checkpoints.FILE_NAME).read_text().splitlines()
    assert len(lines) >= 24 and all(set(json.loads(line)) == {"at", "hash", "key", "mac"} for line in lines)
    with app.app_context():
        keyed = db.session.scalars(select(AuditEvent.key_id).distinct()).all()
        db.session.remove()
    assert keyed == [chain.key_id(TEST_KEY)]


def test_deleting_the_last_event_fails_verification(app, anchored):
    _sql(app, "DELETE FROM audit_events WHERE id = :i", i=_ids(app)[-1])
    code, output = _verify(app)
    assert code == 1 and "is not in the chain" in output, output


def test_emptying_the_table_fails_verification(app, anchored):
    _sql(app, "DELETE FROM audit_events")
    code, output = _verify(app)
    assert code == 1 and "is not in the chain" in output and "audit trail broken" in output, output


def test_deleting_seven_events_and_recomputing_with_the_old_sha256_fails(app, anchored):
    ids = _ids(app)
    for event_id in ids[5:12]:
        _sql(app, "DELETE FROM audit_events WHERE id = :i", i=event_id)
    _rechain(app, unkeyed_digest, chain.key_id(TEST_KEY))  # keeping the key id: every HMAC is wrong
    code, output = _verify(app)
    assert code == 1 and "computed without the audit key" in output, output
    _rechain(app, unkeyed_digest, None)  # passing the events off as written before keys: the checkpoints disagree
    code, output = _verify(app)
    assert code == 1 and "is not in the chain" in output, output


def test_passing_the_end_of_a_keyed_chain_off_as_unkeyed_fails_even_without_checkpoints(app, anchored, monkeypatch):
    monkeypatch.setitem(app.config, "AUDIT_CHECKPOINT_DIR", None)
    ids = _ids(app)
    _sql(app, "DELETE FROM audit_events WHERE id = :i", i=ids[10])
    _rechain(app, unkeyed_digest, None, after_id=ids[9])
    code, output = _verify(app)
    assert code == 1 and f"event {ids[11]}: unkeyed after keyed events" in output, output


def test_recomputing_with_a_key_of_ones_own_fails(app, anchored):
    _sql(app, "DELETE FROM audit_events WHERE id = :i", i=_ids(app)[3])
    forged = AuditKeyring("an-insiders-own-key-that-is-long-enough-000")
    _rechain(app, forged.sign, chain.key_id(TEST_KEY))
    assert "computed without the audit key" in _verify(app)[1]
    _rechain(app, forged.sign, forged.signing_id)
    code, output = _verify(app)
    assert code == 1 and "not in AUDIT_KEYS" in output, output


def test_an_edited_checkpoint_file_fails_verification(app, anchored):
    path = anchored / checkpoints.FILE_NAME
    lines = path.read_text().splitlines()
    forged = dict(json.loads(lines[-1]), hash="f" * 64)
    path.write_text("\n".join(lines[:-1] + [json.dumps(forged)]) + "\n")
    code, output = _verify(app)
    assert code == 1 and "not a checkpoint signed by an audit key" in output, output


def test_the_checkpoint_command_anchors_the_head_and_refuses_a_forged_one(app, anchored):
    runner = app.test_cli_runner()
    before = len((anchored / checkpoints.FILE_NAME).read_text().splitlines())
    result = runner.invoke(args=["audit", "checkpoint"])
    assert result.exit_code == 0 and "checkpoint written" in result.output, result.output
    assert len((anchored / checkpoints.FILE_NAME).read_text().splitlines()) == before + 1
    _sql(app, "UPDATE audit_events SET outcome = 'denied' WHERE id = :i", i=_ids(app)[-1])
    refused = runner.invoke(args=["audit", "checkpoint"])
    assert refused.exit_code == 1 and "does not match its hash" in refused.output
    assert len((anchored / checkpoints.FILE_NAME).read_text().splitlines()) == before + 1


def test_checkpoints_are_written_by_the_batched_submissions_too(app, world, client_factory, tmp_path, monkeypatch):
    """The student API's writer appends audit events in batches (record_many): its commits are anchored as well."""
    from tests.helpers import GAD7_LOW, PHQ9_LOW, answer_all, launch_campaign

    directory = tmp_path / "checkpoints"
    monkeypatch.setitem(app.config, "AUDIT_CHECKPOINT_DIR", str(directory))
    monkeypatch.setitem(app.config, "AUDIT_CHECKPOINT_EVERY", 1)
    teacher = login_as(client_factory, "teacher")
    _campaign, code = launch_campaign(teacher, world.class_id)
    answer_all(app.test_client(), code, world.students[0], {"PHQ-9": PHQ9_LOW, "GAD-7": GAD7_LOW})
    with app.app_context():
        head = db.session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1))
        assert db.session.scalar(select(AuditEvent.action).order_by(AuditEvent.id.desc()).limit(1)) == "response_submitted"
        db.session.remove()
    assert head in (directory / checkpoints.FILE_NAME).read_text()
    assert _verify(app)[0] == 0


def test_a_commit_anchors_the_last_event_it_appended_without_asking_the_database(app, tmp_path, monkeypatch):
    """The automatic checkpoint names the committing transaction's own last event (committed by then, and the
    chain's head when it was appended); events rolled back are never anchored."""
    from app.audit import services as audit

    directory = tmp_path / "checkpoints"
    monkeypatch.setitem(app.config, "AUDIT_CHECKPOINT_DIR", str(directory))
    monkeypatch.setitem(app.config, "AUDIT_CHECKPOINT_EVERY", 1)

    with app.app_context():
        audit.record(None, "first_of_two", "test")
        last = audit.record(None, "second_of_two", "test").hash
        statements = []

        def note(_conn, _cursor, statement, *_args):
            statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", note)
        try:
            db.session.commit()  # the events are flushed already: any statement here reads the head
        finally:
            event.remove(db.engine, "before_cursor_execute", note)
        assert statements == []
        lines = [json.loads(line) for line in (directory / checkpoints.FILE_NAME).read_text().splitlines()]
        assert [line["hash"] for line in lines] == [last]

        audit.record(None, "rolled_back", "test")
        db.session.rollback()
        db.session.commit()  # nothing appended in this transaction: nothing to anchor
        assert len((directory / checkpoints.FILE_NAME).read_text().splitlines()) == 1
        db.session.remove()
    assert _verify(app)[0] == 0


def test_a_chain_from_before_the_key_keeps_verifying_and_cannot_be_rewritten(app, world, client_factory, tmp_path,
                                                                             monkeypatch):
    """An install upgraded from the unkeyed chain: its old events (no key id, SHA-256) verify as before, the keyed
    ones follow them; rewriting the old ones breaks the first keyed event's link."""
    teacher = login_as(client_factory, "teacher")
    for student_id in world.student_ids:
        teacher.get(f"/students/{student_id}")
    _rechain(app, unkeyed_digest, None)  # what the previous version wrote
    old = len(_ids(app))
    monkeypatch.setitem(app.config, "AUDIT_CHECKPOINT_DIR", str(tmp_path / "checkpoints"))
    for student_id in world.student_ids:  # the upgraded application goes on
        teacher.get(f"/students/{student_id}")
    code, output = _verify(app)
    assert code == 0 and f"{old} events written before the audit key" in output, output
    _sql(app, "UPDATE audit_events SET outcome = 'denied' WHERE id = :i", i=_ids(app)[1])
    with app.app_context():
        rows = db.session.execute(select(*chain.COLUMNS).where(AuditEvent.key_id.is_(None))
                                  .order_by(AuditEvent.id)).all()
        prev = chain.GENESIS
        for row in rows:  # the insider hashes the old part again; the first keyed event still names the old head
            new_hash = unkeyed_digest(payload(prev, dict(row._mapping)))
            db.session.execute(text("UPDATE audit_events SET prev_hash = :p, hash = :h WHERE id = :i"),
                               {"p": prev, "h": new_hash, "i": row.id})
            prev = new_hash
        db.session.commit()
        db.session.remove()
    first_keyed = _ids(app)[old]  # ids come from a sequence that other tests have moved on (PostgreSQL)
    code, output = _verify(app)
    assert code == 1 and f"event {first_keyed}: previous hash does not match" in output, output


def test_the_audit_key_rotates_without_rewriting_any_event(app, world, client_factory, monkeypatch):
    teacher = login_as(client_factory, "teacher")
    teacher.get(f"/students/{world.student_ids[0]}")
    monkeypatch.setitem(app.extensions, "audit_keyring", AuditKeyring(f"{NEW_KEY},{TEST_KEY}"))
    teacher.get(f"/students/{world.student_ids[1]}")
    with app.app_context():
        kids = db.session.scalars(select(AuditEvent.key_id).order_by(AuditEvent.id)).all()
        db.session.remove()
    assert kids[0] == chain.key_id(TEST_KEY) and kids[-1] == chain.key_id(NEW_KEY)
    assert _verify(app)[0] == 0
    monkeypatch.setitem(app.extensions, "audit_keyring", AuditKeyring(NEW_KEY))  # the old key dropped too early
    code, output = _verify(app)
    assert code == 1 and "not in AUDIT_KEYS" in output
    monkeypatch.setitem(app.extensions, "audit_keyring", AuditKeyring(f"{TEST_KEY},{NEW_KEY}"))  # order swapped back
    teacher.get(f"/students/{world.student_ids[2]}")  # signed with the older key after events of the newer one
    code, output = _verify(app)
    assert code == 1 and "older key after a newer one" in output, output


def test_verify_chain_is_callable_for_a_backup(app, anchored):
    """A backup taken at a moment holds no later event: only the checkpoints before it must be found."""
    from datetime import datetime, timezone

    lines = [json.loads(line) for line in (anchored / checkpoints.FILE_NAME).read_text().splitlines()]
    events = len(_ids(app))
    with app.app_context():
        report = verify_chain()
        assert report.ok and report.events == events and report.checkpoints == len(lines)
        assert report.checkpoints_confirmed == len(lines) and report.head_hash == lines[-1]["hash"]
        db.session.remove()
    _sql(app, "DELETE FROM audit_events WHERE id = :i", i=_ids(app)[-1])  # "the backup": one event short
    with app.app_context():
        assert not verify_chain().ok
        cutoff = datetime.fromisoformat(lines[-1]["at"])
        backup = verify_chain(checkpoints_before=cutoff)
        assert backup.ok, backup.problems
        assert backup.checkpoints == len([line for line in lines if datetime.fromisoformat(line["at"]) < cutoff])
        assert verify_chain(checkpoint_dir=None).warnings[0].startswith("no checkpoint directory")
        db.session.remove()
    assert cutoff.tzinfo == timezone.utc


def test_production_refuses_to_start_without_an_audit_key(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "AUDIT_KEYS"}
    env.update(XINQIAO_CONFIG="production", SECRET_KEY="x" * 40, DATABASE_URL=f"sqlite:///{tmp_path}/p.sqlite",
               CLINICAL_DATA_KEYS="bmOFb3_4Txc1ZTyuBDqJjoxy4O8V5dhhCQOyFbVUZ5M=",
               XINQIAO_INSTANCE_DIR=str(tmp_path / "instance"))
    probe = "from app import create_app; create_app()"
    refused = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True)
    assert refused.returncode != 0 and "AUDIT_KEYS" in refused.stderr
    short = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=dict(env, AUDIT_KEYS="short"),
                           capture_output=True, text=True)
    assert short.returncode != 0 and "at least 32 characters" in short.stderr
    started = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=dict(env, AUDIT_KEYS=NEW_KEY),
                             capture_output=True, text=True)
    assert started.returncode == 0, started.stderr
