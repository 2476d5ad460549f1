"""Re-authentication before every file that leaves the system and before break-glass (policy.require_recent_auth).

The next export must not be forgotten: one test walks the URL map for routes that serve files, another
requests every GET route of the access matrix as an actor allowed to read it and collects every answer that
is a file rather than a page. Each one found must ask for the password again once the sign-in is older than
policy.RECENT_AUTH_MINUTES, serve nothing until then, and serve the file right after.
"""
import re
from datetime import timedelta

from flask import url_for
from sqlalchemy import select

from app.auth import policy
from app.core import clock
from app.extensions import db
from app.files.models import BreakGlassAccess
from tests.conftest import PASSWORD, login_as, totp_code
from tests.security import matrix
from tests.security.conftest import CLINICAL_TEXT

# Actions that open clinical text to someone who may not normally read it.
SENSITIVE_ACTIONS = {"files.break_glass"}
FILE_SUFFIX = re.compile(r"\.(pdf|csv|xlsx|xls|zip|docx|<fmt>)$")
PAGE_TYPES = {"text/html", "application/json"}
# Answers for machines, not files for people: /metrics holds counters about the service and nothing about a
# person (tests/integration/test_monitoring.py checks that no name or student number is in it); the network address decides.
MACHINE_ENDPOINTS = {"monitoring.metrics"}
# Relations whose actor exists without anything happening first (no transfer): enough to reach every route.
PLAIN_RELATIONS = ("own", "any", "none", "same")


def _marked(app, endpoint):
    return getattr(app.view_functions[endpoint], "_xinqiao_recent_auth", None)


def test_every_route_that_serves_a_file_asks_for_recent_authentication(app):
    routes = {rule.endpoint for rule in app.url_map.iter_rules()
              if FILE_SUFFIX.search(rule.rule) or rule.endpoint in SENSITIVE_ACTIONS}
    assert {"dashboards.export_table", "dashboards.student_report_pdf", "dashboards.class_report_pdf",
            "dashboards.monthly_report_pdf", "care.certificate", "audit.student_access_log",
            "files.break_glass"} <= routes
    unmarked = sorted(endpoint for endpoint in routes if _marked(app, endpoint) != policy.RECENT_AUTH_MINUTES)
    assert not unmarked, f"add @policy.require_recent_auth() to these views: {unmarked}"


def _url(app, case, route):
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == route.endpoint)
    values = {arg: getattr(case, route.args.get(arg, matrix.URL_ARGS[arg])) for arg in rule.arguments}
    with app.test_request_context():
        return url_for(route.endpoint, **values, **(route.query(case) if route.query else {}))


def _reader(route):
    """A (role, relation) the matrix says may read this route, without a transfer first."""
    for role, relations in matrix.ROLES.items():
        for relation in relations:
            if relation in PLAIN_RELATIONS and route.outcome(role, relation) == matrix.OK:
                return role, relation
    return None


def _is_file(response, endpoint):
    if endpoint == "static" or endpoint in MACHINE_ENDPOINTS:
        return False
    return ("Content-Disposition" in response.headers or response.mimetype not in PAGE_TYPES)


def _reauthenticate(client, app, username, location):
    page = client.get(location).get_data(as_text=True)
    data = {"password": PASSWORD}
    if 'name="code"' in page:
        data["code"] = totp_code(app, username)
    back = client.post(location, data)
    assert back.status_code == 302, location
    return back.headers["Location"]


def test_every_file_a_reader_can_download_asks_for_recent_authentication(app, client_factory, case, monkeypatch):
    from tests.security.conftest import ACTORS

    # The walk below moves the clock past the recent-auth window once per file: with a dozen files a reader would be
    # signed out as idle before their turn (the idle sign-out has its own tests).
    monkeypatch.setitem(app.config, "STAFF_IDLE_TIMEOUT", timedelta(days=1))

    clients, files = {}, []
    for route in matrix.ROUTES:
        reader = None if route.method != "GET" or route.covered_by else _reader(route)
        if reader is None:
            continue
        username = ACTORS[reader][0]
        if username is not None and username not in clients:
            clients[username] = login_as(client_factory, username)
        client = clients.get(username) or client_factory()
        headers = {"Authorization": f"Bearer {case.student_token}"} if reader[0] == "student" else {}
        url = _url(app, case, route)
        response = client.get(url, headers=headers)
        assert response.status_code == 200, f"{url} as {reader}: {response.status_code}"
        if _is_file(response, route.endpoint):
            files.append((route.endpoint, url, username))
    found = {endpoint for endpoint, _url_, _u in files}
    assert {"dashboards.export_table", "dashboards.student_report_pdf", "dashboards.class_report_pdf",
            "dashboards.monthly_report_pdf", "care.certificate", "audit.student_access_log"} <= found
    unmarked = sorted(endpoint for endpoint in found if _marked(app, endpoint) != policy.RECENT_AUTH_MINUTES)
    assert not unmarked, f"these views serve files without asking for recent authentication: {unmarked}"

    # Each one, a while after the sign-in: the password (and code) first, nothing served before; then the file.
    clock.freeze(clock.now() + timedelta(minutes=policy.RECENT_AUTH_MINUTES + 1))
    for endpoint, url, username in files:
        client = clients[username]
        asked = client.get(url)
        assert asked.status_code == 302 and asked.headers["Location"].startswith("/reauth?next="), (endpoint, url)
        assert _reauthenticate(client, app, username, asked.headers["Location"]) == url
        served = client.get(url)
        assert served.status_code == 200 and _is_file(served, endpoint), (endpoint, url)
        clock.freeze(clock.now() + timedelta(minutes=policy.RECENT_AUTH_MINUTES + 1))


def test_break_glass_long_after_sign_in_asks_for_the_password_and_code_first(app, world, client_factory, case):
    admin = login_as(client_factory, "admin")
    url = f"/students/{case.student}/break-glass"
    clock.freeze(clock.now() + timedelta(minutes=7))
    reason = "The guardian called the hotline: the student is missing tonight."
    opened = admin.post(url, {"reason": reason}, headers={"Referer": f"http://localhost{url}"})
    assert opened.status_code == 302 and opened.headers["Location"].startswith("/reauth?next=")
    with app.app_context():
        assert db.session.scalar(select(BreakGlassAccess.id)) is None
    assert not any(text in admin.get(f"/students/{case.student}").get_data(as_text=True) for text in CLINICAL_TEXT)
    form = admin.get(url)
    assert form.status_code == 302 and form.headers["Location"].startswith("/reauth?next=")
    # after the password and code, the form and then the access
    assert _reauthenticate(admin, app, "admin", form.headers["Location"]) == url
    assert admin.get(url).status_code == 200
    assert admin.post(url, {"reason": reason}).status_code == 302
    assert "findings 0" in admin.get(f"/students/{case.student}").get_data(as_text=True)
