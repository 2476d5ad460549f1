"""Joining a session in the real server: guessing birth dates stops with a clear 429 however the connections are
spread over the workers (the counts are in the database, app/screening/join_guard.py)."""
from tests.conftest import login_as
from tests.helpers import launch_campaign
from tests.reliability.server import LiveGunicorn, request


def test_join_guesses_past_the_free_ones_get_429_with_a_message_from_every_worker(app, world, client_factory, tmp_path):
    teacher = login_as(client_factory, "teacher")
    _, code = launch_campaign(teacher, world.class_id)
    server = LiveGunicorn(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path / "instance", tmp_path / "gunicorn.log",
                          workers=2, target="app:create_app('testing', RATELIMIT_ENABLED=True)")
    try:
        server.start()
        guess = {"session_code": code, "student_number": world.students[0]["number"], "birth_date": "2011-01-01",
                 "device": "one-phone"}
        statuses = [request(server.port, "POST", "/api/v1/student-sessions", guess) for _ in range(8)]
    finally:
        server.stop()
    assert [s for s, _ in statuses] == [401] * 5 + [429] * 3
    assert "Wait a moment" in statuses[-1][1]["error"]["message"] or "稍" in statuses[-1][1]["error"]["message"]
