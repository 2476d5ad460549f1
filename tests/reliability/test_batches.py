"""The submission writer stores what queued meanwhile in one transaction, and decides each submission alone
when a batch breaks a unique rule (another process stored the same key first)."""
import threading
import time
import uuid

from sqlalchemy import func, select

from app.accounts.models import User
from app.audit import services as audit
from app.extensions import db
from app.notifications import services as notifications
from app.notifications.models import Notification
from app.risk.models import Alert, AlertJoin
from app.screening import intake, services as screening
from app.screening.models import Campaign, Response, Score
from tests.reliability.conftest import CLASS_SIZE, GAD7_LOW, PHQ9_CRITICAL, PHQ9_LOW, submission

PHQ9_MODERATE = [2, 2, 1, 1, 1, 1, 1, 1, 0]  # total 10: moderate, an alert without item 9


def _sub(app, whole_class, i, scale, answers, key=None):
    with app.app_context():
        return intake.prepare(app.extensions["scales"], whole_class.campaign_id, whole_class.student_ids[i], scale,
                              whole_class.versions[scale], answers, key or str(uuid.uuid4()), None)


def test_a_class_at_once_is_stored_in_batches_each_submission_once(app, whole_class, monkeypatch):
    writer = app.extensions["submission_writer"]
    real_store, sizes = intake.store, []

    def store_after_the_class_queued(subs, facts=None):
        # The first transaction waits until most of the class is queued: the next one must take them together.
        if not sizes:
            deadline = time.monotonic() + 20
            while writer.queue.qsize() < CLASS_SIZE - 10 and time.monotonic() < deadline:
                time.sleep(0.01)
        sizes.append(len(subs))
        return real_store(subs, facts)

    monkeypatch.setattr(intake, "store", store_after_the_class_queued)
    statuses = [None] * CLASS_SIZE

    def student(i):
        body = submission(whole_class, "PHQ-9", PHQ9_CRITICAL if i % 10 == 0 else PHQ9_LOW)
        r = app.test_client().post("/api/v1/responses", json=body,
                                   headers={"Authorization": f"Bearer {whole_class.tokens[i]}"})
        statuses[i] = (r.status_code, r.get_json()["show_crisis_resources"])

    threads = [threading.Thread(target=student, args=(i,)) for i in range(CLASS_SIZE)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert statuses == [(201, i % 10 == 0) for i in range(CLASS_SIZE)]
    assert max(sizes) >= CLASS_SIZE - 10 and sum(sizes) == CLASS_SIZE
    with app.app_context():
        assert db.session.scalar(select(func.count(Response.id))) == CLASS_SIZE
        assert db.session.scalar(select(func.count(Score.id))) == CLASS_SIZE
        # every score and alert belongs to the response it was computed from (ids come back by key, not order)
        scored = db.session.execute(select(Response.answers, Score.total).join(Score, Score.response_id == Response.id))
        assert all(sum(answers) == total for answers, total in scored)
        alerted = db.session.scalars(select(Response.answers).join(Alert, Alert.response_id == Response.id)).all()
        assert alerted and all(answers == PHQ9_CRITICAL for answers in alerted)
        assert db.session.scalar(select(func.count(Alert.id)).where(Alert.level == "critical")) == CLASS_SIZE // 10
        assert audit.verify() == []
        # Each critical alert of the batch paged the same people, with the same notice, as one alert alone does.
        alerts = db.session.scalars(select(Alert)).all()
        staff = {u.id for u in notifications.alert_recipients(alerts[0])}
        assert len(staff) >= 2
        notices = db.session.execute(select(Notification.user_id, Notification.kind, Notification.case_number,
                                            Notification.link, Notification.dedup_key)).all()
        assert sorted(notices) == sorted(
            (user_id, "alert_critical_opened", alert.case_number, f"/alerts/{alert.id}", f"alert:{alert.id}:opened")
            for alert in alerts for user_id in staff)


def test_one_batch_applies_every_rule_to_each_submission(app, whole_class):
    key = str(uuid.uuid4())
    first = _sub(app, whole_class, 0, "PHQ-9", PHQ9_MODERATE, key)
    same_key = _sub(app, whole_class, 0, "PHQ-9", PHQ9_MODERATE, key)
    same_scale_new_key = _sub(app, whole_class, 0, "PHQ-9", PHQ9_LOW)
    bad_answers = _sub(app, whole_class, 1, "PHQ-9", [0, 0, 0, 7, 0, 0, 0, 0, 0])
    other_scale = _sub(app, whole_class, 0, "GAD-7", GAD7_LOW)
    stranger = _sub(app, whole_class, 2, "PHQ-9", PHQ9_LOW, key)  # another student's key
    second_moderate = _sub(app, whole_class, 3, "PHQ-9", PHQ9_MODERATE)
    batch = [first, same_key, same_scale_new_key, bad_answers, other_scale, stranger, second_moderate]
    with app.app_context():
        intake.store(batch)
        db.session.commit()
        assert first.outcome.created and not same_key.outcome.created
        assert same_key.outcome.response_id == first.outcome.response_id
        assert same_scale_new_key.outcome.code == "already_submitted"
        assert (bad_answers.outcome.code, bad_answers.outcome.item) == ("invalid_answers", 4)
        assert other_scale.outcome.created
        assert stranger.outcome.code == "idempotency_key_reused"
        assert db.session.scalar(select(func.count(Response.id))) == 3
        # two students at moderate risk: two alerts; nothing else alerts
        assert db.session.scalar(select(func.count(Alert.id))) == 2
        assert audit.verify() == []
    # the student's next moderate result joins the open alert instead of opening another
    with app.app_context():
        campaign = db.session.get(Campaign, whole_class.campaign_id)
        teacher = db.session.scalar(select(User).where(User.username == "teacher"))
        again = screening.launch_campaign(campaign.school, list(campaign.classes), ["PHQ-9"], "Again",
                                          campaign.closes_at, by=teacher)
        db.session.commit()
        whole_class.campaign_id = again.id
    later = _sub(app, whole_class, 0, "PHQ-9", PHQ9_MODERATE)
    with app.app_context():
        intake.store([later])
        db.session.commit()
        assert later.outcome.created
        assert db.session.scalar(select(func.count(Alert.id))) == 2
        assert db.session.scalar(select(AlertJoin.response_id)) == later.outcome.response_id
        assert audit.verify() == []


def test_a_batch_that_breaks_a_unique_rule_is_decided_again_one_by_one(app, whole_class, monkeypatch):
    """Another process stored the same key between this batch's checks (read before the write transaction)
    and its insert."""
    key = str(uuid.uuid4())
    stored_first = _sub(app, whole_class, 0, "PHQ-9", PHQ9_LOW, key)
    with app.app_context():
        intake.store([stored_first])
        db.session.commit()
    real_facts, calls = intake.read_facts, []

    def stale_first_look(connection, subs):
        calls.append(len(subs))
        facts = real_facts(connection, subs)
        if len(calls) == 1:  # what the checks saw before the other process committed
            facts.stored, facts.submitted = {}, set()
        return facts

    monkeypatch.setattr(intake, "read_facts", stale_first_look)
    retry = _sub(app, whole_class, 0, "PHQ-9", PHQ9_LOW, key)
    other = _sub(app, whole_class, 1, "PHQ-9", PHQ9_LOW)
    writer = app.extensions["submission_writer"]
    with app.app_context():
        writer._write([retry, other])
    assert calls[0] == 2 and calls[1:] == [1, 1]
    assert retry.done.is_set() and other.done.is_set()
    assert (retry.outcome.response_id, retry.outcome.created) == (stored_first.outcome.response_id, False)
    assert other.outcome.created
    with app.app_context():
        assert db.session.scalar(select(func.count(Response.id))) == 2
        assert audit.verify() == []


def test_a_submission_that_fails_does_not_take_the_classmates_with_it(app, whole_class, monkeypatch):
    real_store = intake.store

    def store_failing_for_student_1(subs, facts=None):
        if any(sub.student_id == whole_class.student_ids[1] for sub in subs):
            raise RuntimeError("simulated bug for one submission")
        return real_store(subs, facts)

    monkeypatch.setattr(intake, "store", store_failing_for_student_1)
    batch = [_sub(app, whole_class, i, "PHQ-9", PHQ9_LOW) for i in range(3)]
    with app.app_context():
        app.extensions["submission_writer"]._write(batch)
    assert isinstance(batch[1].outcome, RuntimeError)
    assert batch[0].outcome.created and batch[2].outcome.created
    with app.app_context():
        assert db.session.scalar(select(func.count(Response.id))) == 2
        assert audit.verify() == []


def test_a_slow_writer_answers_503_and_the_retry_gets_the_stored_row(app, whole_class, monkeypatch):
    real_store, stored = intake.store, threading.Event()

    def slow_store(subs, facts=None):
        time.sleep(0.5)
        real_store(subs, facts)
        stored.set()

    monkeypatch.setattr(intake, "store", slow_store)
    monkeypatch.setitem(app.config, "SUBMISSION_WAIT_SECONDS", 0.05)
    body = submission(whole_class, "PHQ-9", PHQ9_CRITICAL)
    headers = {"Authorization": f"Bearer {whole_class.tokens[0]}"}
    first = app.test_client().post("/api/v1/responses", json=body, headers=headers)
    assert first.status_code == 503 and first.headers["Retry-After"] == "2"
    assert first.get_json()["error"]["code"] == "try_again"
    assert stored.wait(10)
    monkeypatch.setattr(intake, "store", real_store)
    retry = app.test_client().post("/api/v1/responses", json=body, headers=headers)
    assert retry.status_code == 200 and retry.get_json()["show_crisis_resources"] is True
    with app.app_context():
        assert db.session.scalar(select(func.count(Response.id))) == 1
        assert db.session.scalar(select(Response.id)) == retry.get_json()["response_id"]


def test_the_writer_reads_a_batchs_facts_while_another_writer_holds_the_write_lock(app, whole_class):
    """The facts are read before the write transaction: on SQLite the two workers' writers overlap instead of
    taking turns for the reading as well (bench/README.md). PostgreSQL has no such lock: they are read inside the
    write transaction there (store() reads them), which saves each batch a connection's round trips."""
    batch = [_sub(app, whole_class, i, "PHQ-9", PHQ9_LOW) for i in range(3)]
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        assert _read_in_context(app, batch) is None
        return
    holding, release = threading.Event(), threading.Event()

    def other_writer():
        with app.app_context():
            db.session.execute(select(func.count(Response.id)))  # BEGIN IMMEDIATE under the writer lock
            holding.set()
            release.wait(10)
            db.session.rollback()

    thread = threading.Thread(target=other_writer)
    thread.start()
    try:
        assert holding.wait(10)
        read = {}
        reader = threading.Thread(target=lambda: read.update(facts=_read_in_context(app, batch)))
        reader.start()
        reader.join(5)
        assert not reader.is_alive(), "reading the facts waited for the other writer"
        assert read["facts"].consenting == {whole_class.student_ids[i] for i in range(3)}
        assert read["facts"].stored == {}
    finally:
        release.set()
        thread.join(10)


def _read_in_context(app, batch):
    with app.app_context():
        return intake.Writer._read_facts(batch)
