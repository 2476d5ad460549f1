"""`flask demo` (what `make run` loads): every role finds something to work on, every state of the loop shows."""
import json
import os

from sqlalchemy import create_engine, text

from tests.helpers import flask_command


def test_the_demo_loads_into_an_empty_database_and_describes_itself(tmp_path):
    url = f"sqlite:///{tmp_path / 'demo.sqlite'}"
    env = dict(os.environ, DATABASE_URL=url, XINQIAO_INSTANCE_DIR=str(tmp_path / "instance"))
    env.pop("XINQIAO_CONFIG", None)
    assert flask_command("db", "upgrade", env=env).returncode == 0
    loaded = flask_command("demo", "--json", env=env)
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    info = json.loads(loaded.stdout)
    assert {s["username"] for s in info["staff"]} == {
        "teacher.middle", "teacher.high", "homeroom.middle", "doctor.chen", "doctor.liu", "admin"}
    [session] = info["campaigns"]  # one open session for the students' part of the demo
    assert len(session["session_code"]) >= 6 and len(session["students"]) == 30
    assert len(info["committee_members"]) == 2  # one 班级心理委员 per middle-school class, to walk their page
    # run again (make run on a database that has data): nothing loaded twice, the same description
    again = flask_command("demo", "--if-empty", "--json", env=env)
    assert again.returncode == 0 and json.loads(again.stdout) == info

    with create_engine(url).connect() as db:
        def one(sql):
            return db.execute(text(sql)).scalar()

        assert one("SELECT count(*) FROM alerts WHERE level = 'critical' AND status = 'open'") == 1
        referrals = dict(db.execute(text("SELECT status, count(*) FROM referrals GROUP BY status")).all())
        assert referrals == {"sent": 1, "declined": 1, "closed": 1}  # the doctor's queue, a refusal, a closed loop
        assert one("SELECT count(*) FROM return_decisions WHERE outcome = 'cleared_with_conditions'") == 1
        assert one("SELECT count(*) FROM follow_ups WHERE done_at IS NULL") == 2  # one per condition line
        assert one("SELECT count(*) FROM notifications") > 0
        assert one("SELECT count(*) FROM responses") == 27 * 2 + 28 * 2
