"""Without a proxy configured (TRUSTED_PROXIES=0, the default), X-Forwarded-For is a header like any other: a client
cannot choose the address its rate limits count. Behind nginx: tests/deploy/test_nginx.py."""
import http.client
import json

from tests.reliability.server import LiveGunicorn


def test_a_forged_forwarded_address_is_ignored_without_a_trusted_proxy(app, tmp_path):
    server = LiveGunicorn(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path / "instance", tmp_path / "gunicorn.log",
                          workers=1)
    try:
        server.start()
        statuses = []
        for n in range(7):
            forged = {"X-Forwarded-For": f"10.0.0.{n}", "X-Real-IP": f"10.0.1.{n}"}  # a new "address" each time
            statuses.append(_join(server.port, "F1", forged))
    finally:
        server.stop()
    assert statuses == [401] * 5 + [429, 429]  # one client's guesses at one number (join_guard.py)


def _join(port, number, headers):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        conn.request("POST", "/api/v1/student-sessions", body=json.dumps(
            {"session_code": "NOSUCH", "student_number": number, "birth_date": "2012-01-01"}),
            headers={"Content-Type": "application/json", **headers})
        return conn.getresponse().status
    finally:
        conn.close()
