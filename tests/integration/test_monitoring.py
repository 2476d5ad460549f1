"""What an operator is woken for: /healthz says "degraded" when the alert sweep stopped, /metrics (Prometheus text
format) counts overdue alerts, the sweep's age, the mail queue and submissions, and answers only configured
addresses, never a request that came through a proxy."""
import uuid
from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update

from app import create_app
from app.core import clock
from app.extensions import db
from app.notifications.models import MailState, Notification
from tests.conftest import login_as
from tests.helpers import GAD7_LOW, PHQ9_CRITICAL, PHQ9_LOW, answer_all, join, launch_campaign, submit


def _sweep(app):
    result = app.test_cli_runner().invoke(args=["alerts", "sweep"])
    assert result.exit_code == 0, result.output


def _samples(response) -> dict:
    """{(name, ((label, value), ...)): value} of a /metrics answer."""
    assert response.status_code == 200, response.status_code
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.get_data(as_text=True)) for s in family.samples}


def _metric(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def t0():
    moment = clock.now().replace(hour=2, minute=0, second=0, microsecond=0)
    clock.freeze(moment)
    return moment


# --- /healthz -------------------------------------------------------------------------------------------------

def test_healthz_is_degraded_but_200_until_the_scheduled_sweep_runs_and_again_when_it_stops(app, world, client_factory,
                                                                                             t0):
    health = app.test_client()
    first = health.get("/healthz")
    assert first.status_code == 200
    assert first.get_json() == {"status": "degraded", "database": "ok",
                                "reasons": ["the alert sweep (flask alerts sweep) has never run"]}

    # A dashboard load sweeps too, but only while someone looks: it does not make the server healthy.
    teacher = login_as(client_factory, "teacher")
    assert teacher.get("/teacher").status_code == 200
    assert health.get("/healthz").get_json()["status"] == "degraded"

    _sweep(app)
    assert health.get("/healthz").get_json() == {"status": "ok", "database": "ok"}
    clock.freeze(t0 + timedelta(minutes=5))
    assert health.get("/healthz").get_json()["status"] == "ok"
    clock.freeze(t0 + timedelta(minutes=6, seconds=1))
    stale = health.get("/healthz")
    assert stale.status_code == 200
    assert stale.get_json()["reasons"] == ["the alert sweep (flask alerts sweep) last ran 6 minutes ago"]
    _sweep(app)
    assert health.get("/healthz").get_json()["status"] == "ok"


# --- /metrics: what it tells ----------------------------------------------------------------------------------

def test_metrics_count_overdue_critical_alerts_the_sweeps_age_and_the_mail_queue(app, world, client_factory, t0):
    scraper = app.test_client()
    before = _samples(scraper.get("/metrics"))
    assert _metric(before, "xinqiao_alerts_overdue", level="critical") == 0
    assert _metric(before, "xinqiao_alert_sweep_age_minutes", source="scheduled") == float("inf")

    teacher = login_as(client_factory, "teacher")
    _, code = launch_campaign(teacher, world.class_id, scales=("PHQ-9", "GAD-7"))
    answer_all(app.test_client(), code, world.students[0], {"PHQ-9": PHQ9_CRITICAL, "GAD-7": GAD7_LOW})
    _sweep(app)
    clock.freeze(t0 + timedelta(minutes=59))
    samples = _samples(scraper.get("/metrics"))
    assert _metric(samples, "xinqiao_alerts_overdue", level="critical") == 0  # within its hour
    assert _metric(samples, "xinqiao_alert_sweep_age_minutes", source="scheduled") == 59

    clock.freeze(t0 + timedelta(minutes=75))
    samples = _samples(scraper.get("/metrics"))
    assert _metric(samples, "xinqiao_alerts_overdue", level="critical") == 1
    assert _metric(samples, "xinqiao_alerts_overdue_oldest_minutes", level="critical") == 15
    assert _metric(samples, "xinqiao_alerts_overdue", level="high") == 0

    # Mail that cannot go out: queued, retried, given up.
    with app.app_context():
        ids = [n.id for n in db.session.scalars(db.select(Notification).order_by(Notification.id))]
        assert len(ids) >= 3
        db.session.execute(update(Notification).where(Notification.id == ids[0])
                           .values(mail_state=MailState.PENDING, mail_attempts=0))
        db.session.execute(update(Notification).where(Notification.id == ids[1])
                           .values(mail_state=MailState.PENDING, mail_attempts=2))
        db.session.execute(update(Notification).where(Notification.id == ids[2])
                           .values(mail_state=MailState.FAILED, mail_attempts=5))
        db.session.commit()
    samples = _samples(scraper.get("/metrics"))
    assert _metric(samples, "xinqiao_mail_queue", state="pending") == 2
    assert _metric(samples, "xinqiao_mail_queue", state="retrying") == 1
    assert _metric(samples, "xinqiao_mail_queue", state="failed") == 1
    assert _metric(samples, "xinqiao_mail_oldest_pending_minutes") == 75

    # Acknowledged: nobody needs waking any more.
    with app.app_context():
        alert_id = db.session.scalar(db.text("SELECT id FROM alerts WHERE level = 'critical'"))
    teacher = login_as(client_factory, "teacher")  # the first session timed out while the clock moved
    assert teacher.post(f"/alerts/{alert_id}/acknowledge").status_code == 302
    assert _metric(_samples(scraper.get("/metrics")), "xinqiao_alerts_overdue", level="critical") == 0
    # No identifiable data in it: counts and ages only.
    text = scraper.get("/metrics").get_data(as_text=True)
    assert "Student 0" not in text and world.students[0]["number"] not in text


def test_metrics_count_submissions_stored_resent_and_refused(app, world, client_factory):
    scraper = app.test_client()
    before = _samples(scraper.get("/metrics"))
    teacher = login_as(client_factory, "teacher")
    _, code = launch_campaign(teacher, world.class_id, scales=("PHQ-9", "GAD-7"))
    student = app.test_client()
    session = join(student, code, world.students[1]).get_json()
    phq9 = next(q for q in session["questionnaires"] if q["scale"] == "PHQ-9")
    key = str(uuid.uuid4())
    assert submit(student, session["token"], phq9, PHQ9_LOW, key=key).status_code == 201
    assert submit(student, session["token"], phq9, PHQ9_LOW, key=key).status_code == 200  # the page resent it
    gad7 = next(q for q in session["questionnaires"] if q["scale"] == "GAD-7")
    assert submit(student, session["token"], gad7, [0, 1, 9], key=str(uuid.uuid4())).status_code == 422
    after = _samples(scraper.get("/metrics"))

    def grew(name, **labels):
        return _metric(after, name, **labels) - _metric(before, name, **labels)

    assert grew("xinqiao_submissions_stored_total", kind="new") == 1
    assert grew("xinqiao_submissions_stored_total", kind="duplicate") == 1
    assert sum(value for (name, _labels), value in after.items() if name == "xinqiao_submissions_refused_total") - \
        sum(value for (name, _labels), value in before.items() if name == "xinqiao_submissions_refused_total") == 1


# --- /metrics: who may read it --------------------------------------------------------------------------------

def test_metrics_answer_only_configured_addresses_and_never_a_forwarded_request(app, world):
    client = app.test_client()
    assert client.get("/metrics").status_code == 200  # the test client is 127.0.0.1
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.20.0.7"}).status_code == 404
    # Through a proxy (nginx connects from loopback): refused whatever the forwarded address says.
    for header in ("X-Forwarded-For", "X-Real-IP", "Forwarded"):
        assert client.get("/metrics", headers={header: "127.0.0.1"}).status_code == 404, header

    scrapers = create_app("testing", SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                          METRICS_ALLOWED_IPS="10.20.0.0/24, 192.0.2.9")
    client = scrapers.test_client()
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.20.0.7"}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "192.0.2.9"}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "192.0.2.10"}).status_code == 404
    assert client.get("/metrics").status_code == 404  # loopback is no longer on the list


def test_a_malformed_metrics_allowlist_stops_the_start_up():
    with pytest.raises(RuntimeError, match="METRICS_ALLOWED_IPS"):
        create_app("testing", METRICS_ALLOWED_IPS="127.0.0.1, intranet")


def test_make_run_sweeps_beside_its_server_so_its_healthz_is_ok(tmp_path):
    """`make run` served a demo whose /healthz said "degraded" for ever: nothing ran the scheduled sweep. The run
    recipe starts `flask alerts sweep --every 60` beside gunicorn; the loop records a scheduled sweep at once and
    keeps running."""
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path

    from sqlalchemy import create_engine, text

    from tests.helpers import flask_command

    root = Path(__file__).resolve().parents[2]
    recipe = subprocess.run(["make", "-n", "run", "PYTHON=python3"], cwd=root, capture_output=True, text=True).stdout
    server_line = next(line for line in recipe.replace("\\\n", " ").splitlines() if "gunicorn" in line)
    assert "alerts sweep --every 60 &" in server_line and "trap" in server_line, server_line

    url = f"sqlite:///{tmp_path / 'run.sqlite'}"
    env = dict(os.environ, DATABASE_URL=url, XINQIAO_INSTANCE_DIR=str(tmp_path / "instance"))
    env.pop("XINQIAO_CONFIG", None)
    assert flask_command("db", "upgrade", env=env).returncode == 0
    loop = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "alerts", "sweep", "--every", "10"],
                            cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        engine = create_engine(url)
        deadline = time.monotonic() + 120
        runs = 0
        while time.monotonic() < deadline and not runs:
            time.sleep(1)
            with engine.connect() as connection:
                runs = connection.execute(text("SELECT count(*) FROM sweep_runs WHERE source = 'scheduled'")).scalar()
        assert runs, "the loop recorded no scheduled sweep"
        assert loop.poll() is None, "the loop stopped after one sweep"
        health = create_app("testing", SQLALCHEMY_DATABASE_URI=url).test_client().get("/healthz")
        assert health.get_json() == {"status": "ok", "database": "ok"}
    finally:
        loop.terminate()
        loop.wait(timeout=30)
