"""Joining a session is rate limited in the real server: guessing birth dates stops with a clear 429."""
from tests.conftest import login_as
from tests.helpers import launch_campaign
from tests.reliability.server import LiveGunicorn, request


def test_join_attempts_past_the_limit_get_429_with_a_message(app, world, client_factory, tmp_path):
    teacher = login_as(client_factory, "teacher")
    _, code = launch_campaign(teacher, world.class_id)
    # one worker: Flask-Limiter's memory storage is per process
    server = LiveGunicorn(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path / "instance", tmp_path / "gunicorn.log",
                          workers=1, target="app:create_app('testing', RATELIMIT_ENABLED=True, "
                                            "STUDENT_SESSION_RATE_LIMIT='3 per minute')")
    try:
        server.start()
        guess = {"session_code": code, "student_number": world.students[0]["number"], "birth_date": "2011-01-01"}
        statuses = [request(server.port, "POST", "/api/v1/student-sessions", guess) for _ in range(4)]
    finally:
        server.stop()
    assert [s for s, _ in statuses] == [401, 401, 401, 429]
    assert "Too many attempts" in statuses[-1][1]["error"]["message"]
