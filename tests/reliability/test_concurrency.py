"""A whole class submits at the same moment against the real server: every submission stored once."""
import threading
import uuid

from sqlalchemy import func, select, text

from app.audit import services as audit
from app.extensions import db
from app.risk.models import Alert
from app.screening.models import Response, Score
from tests.reliability.conftest import CLASS_SIZE, PHQ9_CRITICAL, PHQ9_LOW, submission
from tests.reliability.server import request


def run_at_once(functions):
    """Start every function at the same instant (a barrier) and collect their results in order."""
    barrier = threading.Barrier(len(functions))
    results = [None] * len(functions)

    def run(i, fn):
        barrier.wait()
        try:
            results[i] = fn()
        except Exception as exc:  # noqa: BLE001 - reported as the result
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(functions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def test_fifty_students_submit_at_once_fifty_rows_no_lock_errors(app, whole_class, live_gunicorn):
    live_gunicorn.start()
    port = live_gunicorn.port
    answers = [PHQ9_CRITICAL if i % 10 == 0 else PHQ9_LOW for i in range(CLASS_SIZE)]
    calls = [lambda i=i: request(port, "POST", "/api/v1/responses", submission(whole_class, "PHQ-9", answers[i]),
                                 token=whole_class.tokens[i]) for i in range(CLASS_SIZE)]
    results = run_at_once(calls)

    assert [r[0] if isinstance(r, tuple) else r for r in results] == [201] * CLASS_SIZE
    ids = {r[1]["response_id"] for r in results}
    assert len(ids) == CLASS_SIZE
    assert [r[1]["show_crisis_resources"] for r in results] == [a is PHQ9_CRITICAL for a in answers]
    log = live_gunicorn.log().lower()
    assert "database is locked" not in log and "traceback" not in log
    with app.app_context():
        assert db.session.scalar(select(func.count(Response.id))) == CLASS_SIZE
        assert db.session.scalar(select(func.count(Score.id))) == CLASS_SIZE
        critical = db.session.scalar(select(func.count(Score.id)).where(Score.risk == "critical"))
        assert critical == CLASS_SIZE // 10
        assert db.session.scalar(select(func.count(Alert.id)).where(Alert.level == "critical")) == critical
        assert audit.verify() == []  # the hash chain did not fork under concurrent appends
        if db.engine.dialect.name == "sqlite":
            assert db.session.execute(text("PRAGMA integrity_check")).scalar() == "ok"


def test_the_same_key_at_the_same_moment_stores_one_row(app, whole_class, live_gunicorn):
    """A phone that resends while the first send is still in flight: one 201, the rest 200 with the same id.
    On PostgreSQL the second insert waits on the unique index and then fails; the view answers with the row."""
    live_gunicorn.start()
    port = live_gunicorn.port
    body = submission(whole_class, "PHQ-9", PHQ9_CRITICAL, key=str(uuid.uuid4()))
    results = run_at_once([lambda: request(port, "POST", "/api/v1/responses", body, token=whole_class.tokens[0])] * 8)

    statuses = sorted(r[0] for r in results)
    assert statuses == [200] * 7 + [201], results
    assert len({r[1]["response_id"] for r in results}) == 1
    assert all(r[1]["show_crisis_resources"] for r in results)
    with app.app_context():
        assert db.session.scalar(select(func.count(Response.id))) == 1
        assert db.session.scalar(select(func.count(Alert.id))) == 1
        assert audit.verify() == []


def test_different_keys_for_the_same_questionnaire_at_once_store_one_row(app, whole_class, live_gunicorn):
    """Two tabs of the same student: one stored, the other told it was already submitted; never two rows."""
    live_gunicorn.start()
    port = live_gunicorn.port
    calls = [lambda: request(port, "POST", "/api/v1/responses", submission(whole_class, "PHQ-9", PHQ9_LOW),
                             token=whole_class.tokens[1])] * 6
    statuses = sorted(r[0] for r in run_at_once(calls))
    assert statuses == [201] + [409] * 5
    with app.app_context():
        assert db.session.scalar(select(func.count(Response.id))) == 1
