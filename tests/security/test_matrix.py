"""The access matrix (tests/security/matrix.py) run cell by cell through the real HTTP stack."""
from pathlib import Path

import pytest
from flask import url_for

from tests.security import matrix
from tests.security.conftest import (ACTORS, ALL_NAMES, BIRTH_DATES, CLINICAL, CLINICAL_TEXT, NOTHING, actor_client,
                                     audit_rows_after, last_audit_id, snapshot, who_sees_whom)

ROOT = Path(__file__).resolve().parents[2]
IGNORED_METHODS = {"HEAD", "OPTIONS"}


def test_every_endpoint_is_in_the_matrix(app):
    """Deny by default, in the test suite: a route nobody declared expectations for fails here."""
    declared = {(r.endpoint, r.method) for r in matrix.ROUTES}
    served = {(rule.endpoint, method) for rule in app.url_map.iter_rules() for method in rule.methods - IGNORED_METHODS}
    missing = sorted(served - declared)
    assert not missing, (
        "These endpoints have no row in the access matrix. Add a Route(...) for each to ROUTES in "
        f"tests/security/matrix.py, with the expected outcome for every role and relation: {missing}")
    stale = sorted(declared - served)
    assert not stale, f"tests/security/matrix.py lists endpoints the app does not serve: {stale}"


def test_every_actor_is_in_the_matrix():
    assert set(ACTORS) == {(role, relation) for role, relations in matrix.ROLES.items() for relation in relations}


def test_every_row_is_complete(app):
    arg_names = {arg for rule in app.url_map.iter_rules() for arg in rule.arguments}
    assert arg_names <= set(matrix.URL_ARGS), f"add these URL arguments to URL_ARGS: {arg_names - set(matrix.URL_ARGS)}"
    for route in matrix.ROUTES:
        assert route.verb in matrix.VERBS, route
        if route.covered_by:
            assert (ROOT / route.covered_by).exists(), route
            continue
        assert set(route.expect) == set(matrix.ROLES), f"{route.endpoint} {route.method}: give every role an outcome"
        for role, relations in matrix.ROLES.items():
            for relation in relations:
                assert isinstance(route.outcome(role, relation), matrix.Outcome), (route.endpoint, role, relation)
        if route.method == "POST" and route.verb != "read":
            assert any(o.changes for o in _all_outcomes(route)) or route.covered_by, \
                f"{route.endpoint}: no role may change anything through a write route? Check its expectations."


def _all_outcomes(route):
    return [route.outcome(role, rel) for role, rels in matrix.ROLES.items() for rel in rels]


def _url(app, case, route):
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == route.endpoint)
    values = {arg: getattr(case, route.args.get(arg, matrix.URL_ARGS[arg])) for arg in rule.arguments}
    with app.test_request_context():
        return url_for(route.endpoint, **values, **(route.query(case) if route.query else {}))


def _text_of(response):
    """What a reader sees: the text of a PDF or a spreadsheet too, so that names in downloads are checked."""
    import subprocess
    from io import BytesIO

    if response.mimetype == "application/pdf":
        return subprocess.run(["pdftotext", "-q", "-", "-"], input=response.get_data(), capture_output=True,
                              check=True).stdout.decode("utf-8", "replace")
    if response.mimetype.endswith("spreadsheetml.sheet"):
        from openpyxl import load_workbook

        book = load_workbook(BytesIO(response.get_data()), read_only=True)
        return "\n".join(str(v) for sheet in book for row in sheet.iter_rows(values_only=True) for v in row if v is not None)
    return response.get_data(as_text=True)


def _names_to_ids(world):
    ids = {f"Student {i}": student_id for i, student_id in enumerate(world.student_ids)}
    ids["Other Student"] = world.other_student_id
    return ids


@pytest.mark.parametrize(
    "route,role,relation", list(matrix.cells()),
    ids=[f"{r.endpoint}-{r.method}-{role}-{rel}" for r, role, rel in matrix.cells()])
def test_matrix_cell(app, client_factory, case, route, role, relation):
    expected = route.outcome(role, relation)
    client, headers, visible = actor_client(app, client_factory, case, role, relation)
    url = _url(app, case, route)
    before, audit_before = snapshot(app), last_audit_id(app)
    seen_before = who_sees_whom(app) if expected.changes else None  # nothing else can change who sees whom

    if route.method == "GET":
        response = client.get(url, headers=headers)
    elif route.json is not None:
        response = client.http.post(url, json=route.json(case), headers=headers)
    else:
        response = client.post(url, route.data(case) if route.data else {}, headers=headers)

    where = f"{route.method} {url} as {role}/{relation}"
    assert response.status_code == expected.status, f"{where}: expected {expected.name}, got {response.status_code}"
    if expected.location == "login":
        assert response.headers["Location"].startswith("/login"), where
    elif expected.location == "elsewhere":
        assert not response.headers["Location"].startswith("/login"), where
    changed = snapshot(app) != before
    assert changed == expected.changes, f"{where}: the database {'changed' if changed else 'did not change'}"
    if seen_before is not None:
        seen_after = who_sees_whom(app)
        moved = {key for key in seen_after.keys() | seen_before.keys() if seen_after.get(key) != seen_before.get(key)}
        assert moved == route.moved(role, relation), (
            f"{where}: changed who sees whom: {sorted(moved)}; the route declares {sorted(route.moved(role, relation))}")

    body = _text_of(response)
    entries_seen = ACTORS[(role, relation)][3]
    if entries_seen != CLINICAL:
        clinical = [text for text in CLINICAL_TEXT if text in body]
        assert not clinical, f"{where}: shows clinical text the actor may not read: {clinical}"
    if entries_seen == NOTHING:
        entries = [number for number in case.case_numbers if number in body]
        assert not entries, f"{where}: shows case entries outside the actor's scope: {entries}"
    if route.check_identity:
        leaked = sorted(name for name in ALL_NAMES - visible if name in body or BIRTH_DATES[name] in body)
        assert not leaked, f"{where}: shows students outside the actor's scope: {leaked}"
        shown = [name for name in ALL_NAMES if name in body]
        if response.status_code == 200 and shown:
            audited = set()
            for _action, student_id, detail in audit_rows_after(app, audit_before):
                audited.add(student_id)
                audited.update((detail or {}).get("student_ids", []))
            ids = _names_to_ids(case.world)
            unaudited = sorted(name for name in shown if ids[name] not in audited)
            assert not unaudited, f"{where}: shows {unaudited} without an audit event"
