"""Small helpers shared by tests: launching a campaign, answering as a student through the real API, and
running `flask` commands as a person does."""
import re
import subprocess
import sys
import uuid
from pathlib import Path

PHQ9_CRITICAL = [1, 1, 1, 0, 0, 0, 0, 0, 1]  # total 4 but item 9 = 1
PHQ9_LOW = [0, 1, 0, 0, 1, 0, 0, 0, 0]
GAD7_LOW = [0, 0, 1, 0, 0, 0, 0]


def launch_campaign(teacher, class_id, scales=("PHQ-9", "GAD-7"), hours=2):
    response = teacher.post("/campaigns/new", {"title": "Autumn screening", "class_ids": [class_id],
                                               "scale_codes": list(scales), "open_hours": hours})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    campaign_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    page = teacher.get(f"/campaigns/{campaign_id}").get_data(as_text=True)
    code = re.search(r'data-testid="session-code">([A-Z0-9]+)<', page).group(1)
    return campaign_id, code


def join(http, code, student):
    return http.post("/api/v1/student-sessions", json={
        "session_code": code, "student_number": student["number"], "birth_date": student["birth_date"]})


def submit(http, token, questionnaire, answers, key=None):
    return http.post("/api/v1/responses", headers={"Authorization": f"Bearer {token}"}, json={
        "scale": questionnaire["scale"], "version": questionnaire["version"], "answers": answers,
        "idempotency_key": key or str(uuid.uuid4()), "started_at": "2026-11-22T01:00:00Z"})


def answer_all(http, code, student, answers_by_scale):
    """Join and submit every questionnaire; returns the receipts by scale."""
    session = join(http, code, student)
    assert session.status_code == 201, session.get_json()
    data = session.get_json()
    receipts = {}
    for q in data["questionnaires"]:
        r = submit(http, data["token"], q, answers_by_scale[q["scale"]])
        assert r.status_code == 201, r.get_json()
        receipts[q["scale"]] = r.get_json()
    return receipts


ROOT = Path(__file__).resolve().parents[1]


def flask_command(*args, env, timeout=180):
    """`flask --app wsgi …` in a fresh process, as a person runs it from the repository (a CompletedProcess)."""
    return subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def empty_database_like(url, tmp_path, name):
    """A new, empty database on the same engine as `url` (SQLite: a file under tmp_path; PostgreSQL: a database
    beside it, created afresh); for restoring a backup into."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    if url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / (name + '.sqlite')}"
    base = make_url(url)
    target = f"{base.database}_{name}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{target}"'))
    admin.dispose()
    return base.set(database=target).render_as_string(hide_password=False)


def drop_database(url):
    """Drop a PostgreSQL database made by empty_database_like (a SQLite file goes with tmp_path)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    if url.startswith("postgresql"):
        base = make_url(url)
        admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{base.database}" WITH (FORCE)'))
        admin.dispose()


CENTRE_SCALES = ROOT / "tests" / "fixtures" / "centre_scales"


def load_centre_texts(app):
    """Give `app` the registry a centre with tests/fixtures/centre_scales/ in EXTRA_SCALE_DIRS has (a centre's own
    PHQ-9 text); returns a function that puts the shipped registry back."""
    import screening_scales

    shipped = app.extensions["scales"]
    app.extensions["scales"] = screening_scales.load_registry(extra_dirs=[CENTRE_SCALES])

    def restore():
        app.extensions["scales"] = shipped

    return restore
