"""Hostile input on every form and API endpoint: a clear 4xx that changes nothing, or accepted and escaped;
never a 5xx. Generic over the access matrix, so routes added to it later are covered too."""
import re

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from tests.security import matrix
from tests.security.conftest import ALL_NAMES, actor_client, snapshot
from tests.security.test_matrix import _text_of, _url

HOSTILE = [
    "", " ", "x" * 100_000, "<script>alert(1)</script>", "\"><img src=x onerror=alert(1)>", "'; DROP TABLE students; --",
    "1 OR 1=1", "1' OR '1'='1", "\x00", "\u202e\u0041", "𝕏" * 60, "０１２", "-1", "0", "99999999999999999999", "1e309",
    "NaN", "2026-02-30", "[]", "{}", "../../etc/passwd", "%00", "\r\nSet-Cookie: x=1",
]
SCRIPT = "<script>alert(1)</script>"
hostile_values = (st.sampled_from(HOSTILE)
                  | st.text(st.characters(blacklist_categories=("Cs",)), max_size=200)
                  | st.integers(min_value=-2**70, max_value=2**70).map(str))


@pytest.fixture
def actor(app, client_factory, case):
    """One signed-in client per actor for the whole test (hypothesis runs many examples on it)."""
    cache = {}

    def get(role, relation):
        if (role, relation) not in cache:
            cache[(role, relation)] = actor_client(app, client_factory, case, role, relation)
        return cache[(role, relation)]

    return get


def _allowed_actor(route, outcomes=(matrix.OK, matrix.DONE, matrix.CREATED, matrix.SHOWN)):
    for role, relations in matrix.ROLES.items():
        for relation in relations:
            if "moved" not in relation and route.outcome(role, relation) in outcomes:
                return role, relation
    return None


FORM_ROUTES = [r for r in matrix.ROUTES if r.method == "POST" and not r.covered_by and r.json is None and _allowed_actor(r)]
JSON_ROUTES = [r for r in matrix.ROUTES if r.method == "POST" and r.json is not None]
GET_ROUTES = [r for r in matrix.ROUTES if r.method == "GET" and not r.covered_by and _allowed_actor(r)
              and r.endpoint != "static"]


def _form_fields(client, url, headers):
    """Field names of the forms on the GET page of the same URL, if there is one."""
    page = client.get(url, headers=headers)
    if page.status_code != 200:
        return set()
    return set(re.findall(r'<(?:input|select|textarea)[^>]*\bname="([^"]+)"', page.get_data(as_text=True))) - {"csrf_token"}


def _other_ids(case):
    w = case.world
    return [str(w.other_class_id), str(w.other_hospital_id), str(w.other_student_id), str(w.other_school_id), "999999"]


def _check(app, client, response, before, where):
    assert response.status_code < 500, f"{where}: {response.status_code}"
    if response.status_code >= 400:
        assert snapshot(app, without_lock_bookkeeping=True) == before, f"{where}: rejected with {response.status_code} but the database changed"
    elif response.status_code == 302:
        follow = client.get(response.headers["Location"])
        assert follow.status_code < 500 and SCRIPT not in follow.get_data(as_text=True), f"{where}: not escaped"


@pytest.mark.parametrize("route", FORM_ROUTES, ids=[f"{r.endpoint}-{r.method}" for r in FORM_ROUTES])
def test_hand_written_hostile_values_in_every_field(app, client_factory, case, route):
    role, relation = _allowed_actor(route)
    client, headers, _visible = actor_client(app, client_factory, case, role, relation)
    url = _url(app, case, route)
    valid = route.data(case) if route.data else {}
    fields = set(valid) | _form_fields(client, url, headers) or {"unexpected"}
    for field in sorted(fields):
        for value in HOSTILE + _other_ids(case) + [[str(case.world.other_class_id), "x"]]:
            # Fresh valid fields for every request: an uploaded file's stream is read (and closed) by the one before.
            data = dict(route.data(case) if route.data else {}, **{field: value})
            before = snapshot(app, without_lock_bookkeeping=True)
            response = client.post(url, data, headers=headers)
            _check(app, client, response, before, f"{route.endpoint} {field}={str(value)[:40]!r}")
            if response.status_code == 302 and response.headers["Location"] == "/login":
                # Five wrong current passwords locked the account (the lock rule): unlock it, sign in again.
                _unlock_everyone(app)
                client, headers, _visible = actor_client(app, client_factory, case, role, relation)


def _unlock_everyone(app):
    from sqlalchemy import select

    from app.accounts import lockout
    from app.accounts.models import User
    from app.extensions import db

    with app.app_context():
        for user in db.session.scalars(select(User)):
            lockout.clear(user)
        db.session.commit()
        db.session.remove()


@pytest.mark.parametrize("route", FORM_ROUTES, ids=[f"{r.endpoint}-{r.method}" for r in FORM_ROUTES])
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.dictionaries(st.sampled_from(["title", "reason", "a-findings", "d-conditions", "hospital_id", "class_ids",
                                               "urgency", "a-assessed_on", "d-outcome", "required", "active",
                                               "new_password", "open_hours", "alert_id", "extra"]),
                              hostile_values, max_size=4))
def test_generated_hostile_forms(app, actor, case, route, values):
    client, headers, _visible = actor(*_allowed_actor(route))
    url = _url(app, case, route)
    data = dict(route.data(case) if route.data else {}, **values)
    before = snapshot(app, without_lock_bookkeeping=True)
    _check(app, client, client.post(url, data, headers=headers), before, f"{route.endpoint} {values!r:.200}")


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | hostile_values,
                           lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=20), inner, max_size=5),
                           max_leaves=20)


@pytest.mark.parametrize("route", JSON_ROUTES, ids=[r.endpoint for r in JSON_ROUTES])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(json_values, st.dictionaries(st.sampled_from(
    ["session_code", "student_number", "birth_date", "scale", "version", "answers", "idempotency_key", "started_at"]),
    json_values, max_size=8)))
def test_generated_hostile_json(app, actor, case, route, body):
    client, headers, _ = actor("student", "own")
    url = _url(app, case, route)
    valid = route.json(case)
    if isinstance(body, dict):
        body = dict(valid, **body)
    before = snapshot(app, without_lock_bookkeeping=True)
    response = client.http.post(url, json=body, headers=headers)
    assert response.status_code < 500, (body, response.status_code)
    if response.status_code >= 400:
        assert snapshot(app, without_lock_bookkeeping=True) == before
        assert response.is_json and "error" in response.get_json()


def _split(url):
    """A matrix URL with its own query arguments (e.g. ?campaign=) → (path, those arguments)."""
    from urllib.parse import parse_qsl

    path, _, query = url.partition("?")
    return path, dict(parse_qsl(query))


def test_malformed_json_bodies(app, client_factory, case):
    client, headers, _ = actor_client(app, client_factory, case, "student", "own")
    for url in ("/api/v1/student-sessions", "/api/v1/responses"):
        for raw in (b"{", b"\xff\xfe", b"[1,2", b"null", b'{"answers": ' + b"[" * 5000 + b"]" * 5000 + b"}"):
            response = client.http.post(url, data=raw, content_type="application/json", headers=headers)
            assert 400 <= response.status_code < 500, (url, raw[:20], response.status_code)


@pytest.mark.parametrize("route", GET_ROUTES, ids=[r.endpoint for r in GET_ROUTES])
def test_hostile_query_parameters_on_every_page(app, client_factory, case, route):
    """Sort and filter parameters are allowlisted: hostile ones are ignored, never a 5xx, never a foreign row."""
    role, relation = _allowed_actor(route)
    client, headers, visible = actor_client(app, client_factory, case, role, relation)
    url, base = _split(_url(app, case, route))
    for name in ("status", "sort", "order", "q", "page", "limit", "school_id", "class_id", "next", "format"):
        for value in ("<script>alert(1)</script>", "id; DROP TABLE students", "-1", "99999999999999999999",
                      str(case.world.other_school_id), "name desc", "../../"):
            response = client.get(url, query_string={**base, name: value}, headers=headers)
            assert response.status_code < 500, (url, name, value)
            body = _text_of(response)
            assert SCRIPT not in body, (url, name)
            if route.check_identity:
                assert not [n for n in ALL_NAMES - visible if n in body], (url, name, value)


def test_no_user_value_reaches_sql_except_as_a_bound_parameter():
    """Static check: no f-string, % or + builds SQL text from a request value anywhere in app/."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "app"
    # table and column names from the schema (security_cli) or a fixed tuple (the bench seeder), values bound
    allowed = {"app/security_cli.py", "app/dashboards/benchseed.py"}
    for path in root.rglob("*.py"):
        rel = str(path.relative_to(root.parent))
        source = path.read_text(encoding="utf-8")
        for match in re.finditer(r"text\(\s*f[\"']", source):
            assert rel in allowed, f"{rel}: SQL text built with an f-string"
        assert not re.search(r"execute\(\s*[\"'][^\"']*[\"']\s*%", source), f"{rel}: SQL built with %"


@pytest.mark.parametrize("route", [r for r in matrix.ROUTES if not r.covered_by and _allowed_actor(r)],
                         ids=lambda r: f"{r.endpoint}-{r.method}")
def test_impossible_ids_and_nul_characters_in_the_url(app, client_factory, case, route):
    """Ids past the integer range answer 404 (PostgreSQL would refuse to compare them); NUL is a 400."""
    from flask import url_for

    role, relation = _allowed_actor(route)
    client, headers, _visible = actor_client(app, client_factory, case, role, relation)
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == route.endpoint)
    int_args = [a for a in rule.arguments if a.endswith("_id")]
    if int_args:
        values = {a: getattr(case, route.args.get(a, matrix.URL_ARGS[a])) for a in rule.arguments}
        values.update({a: 10**20 for a in int_args})
        with app.test_request_context():
            url = url_for(route.endpoint, **values)
        before = snapshot(app, without_lock_bookkeeping=True)
        response = client.get(url, headers=headers) if route.method == "GET" else client.post(url, {}, headers=headers)
        assert response.status_code == 404, url
        assert snapshot(app, without_lock_bookkeeping=True) == before
    url = _url(app, case, route)
    if route.method == "GET":
        path, base = _split(url)
        response = client.get(path, query_string={**base, "q": "a\x00b"}, headers=headers)
    else:
        response = client.post(url + "?q=a%00b", {}, headers=headers)
    assert response.status_code == 400, url


# --- impossible numbers, dates, line breaks and surrogates: the class of 500s a penetration test found ----------

def _query_names():
    """Every query argument the application reads (a static scan of app/), so that a new one is probed too."""
    from pathlib import Path

    names = {"next"}
    for path in (Path(__file__).resolve().parents[2] / "app").rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        names |= set(re.findall(r'args(?:\.get\(|\[)\s*"([a-z_]+)"', source))
        names |= set(re.findall(r'(?:id_arg|int_arg|month_arg)\(\s*(?:request\.)?args,\s*"([a-z_]+)"', source))
        if re.search(r"month_arg\((?:request\.)?args\)", source):
            names.add("month")
    return sorted(names)


QUERY_NAMES = _query_names()
# 20 digits overflow SQLite's and PostgreSQL's integers, 2**31 PostgreSQL's integer; "²".isdigit() is true but
# int("²") fails; year 9999 has no next month; CR/LF would split a Location header.
IMPOSSIBLE = ("99999999999999999999", str(2**31), "²", "9999-12", "0000-00", "/x\r\nLocation: //evil")
RAW_IMPOSSIBLE = ("%ED%A0%80", "%0D%0ASet-Cookie:%20x=1")  # half a surrogate pair in UTF-8; CR/LF
PROBED_GET_ROUTES = [r for r in matrix.ROUTES if r.method == "GET" and not r.covered_by and r.endpoint != "static"
                     and _allowed_actor(r, (matrix.OK, matrix.REDIRECT))]


def test_the_probe_reads_the_arguments_the_pages_read():
    assert {"campaign", "class", "grade", "student", "month", "school", "next", "class_id"} <= set(QUERY_NAMES)


@pytest.mark.parametrize("route", PROBED_GET_ROUTES, ids=[r.endpoint for r in PROBED_GET_ROUTES])
def test_impossible_numbers_dates_and_line_breaks_in_every_query_argument(app, client_factory, case, route):
    """Every query argument the application reads, with numbers past any integer, impossible months, CR/LF and
    undecodable bytes, on every page: a page or a redirect (never with a line break in its Location), never a 5xx."""
    from urllib.parse import urlencode

    role, relation = _allowed_actor(route, (matrix.OK, matrix.REDIRECT))
    client, headers, _visible = actor_client(app, client_factory, case, role, relation)
    url, base = _split(_url(app, case, route))
    for name in QUERY_NAMES:
        others = {k: v for k, v in base.items() if k != name}
        queries = [urlencode({**others, name: value}) for value in IMPOSSIBLE]
        queries += [urlencode(others) + ("&" if others else "") + f"{name}={raw}" for raw in RAW_IMPOSSIBLE]
        for query in queries:
            response = client.get(f"{url}?{query}", headers=headers)
            assert response.status_code < 500, (url, query, response.status_code)
            location = response.headers.get("Location", "")
            assert "\r" not in location and "\n" not in location and "//evil" not in location, (url, query, location)


LONE_SURROGATES = ('"\\ud800"', '"x\\udfff"', '["\\udc00"]', '{"k\\ud834": 1}')


@pytest.mark.parametrize("route", JSON_ROUTES, ids=[r.endpoint for r in JSON_ROUTES])
def test_lone_surrogates_in_every_json_field(app, client_factory, case, route):
    """Half a UTF-16 surrogate pair cannot be stored by any database: a 400 that changes nothing, in every field;
    a whole pair (an emoji written as two escapes) is an ordinary character."""
    import json

    client, headers, _ = actor_client(app, client_factory, case, "student", "own")
    url = _url(app, case, route)
    valid = route.json(case)
    for field in sorted(valid):
        for raw in LONE_SURROGATES:
            body = json.dumps({k: v for k, v in valid.items() if k != field})[:-1] + f', "{field}": {raw}}}'
            before = snapshot(app)
            response = client.http.post(url, data=body, content_type="application/json", headers=headers)
            assert response.status_code == 400, (url, field, raw, response.status_code)
            assert response.is_json and "error" in response.get_json()
            assert snapshot(app) == before
    pair = json.dumps(dict(valid, student_number="\\ud83d\\ude00"))
    assert client.http.post(url, data=pair.replace("\\\\", "\\"), content_type="application/json",
                            headers=headers).status_code < 500
