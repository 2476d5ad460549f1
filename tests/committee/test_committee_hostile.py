"""Hostile input on the committee member's forms (not in the generic walk: the matrix has no committee session):
a 4xx with a message and nothing stored, or a stored report whose text stays text; never a 5xx."""
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import func, select

from app.committee.models import CommitteeReport
from app.extensions import db
from tests.committee.test_committee import Member
from tests.conftest import login_as
from tests.security.test_hostile_input import HOSTILE

values = st.sampled_from(HOSTILE) | st.text(st.characters(blacklist_categories=("Cs",)), max_size=80)


@pytest.fixture
def member(app, world, client_factory):
    assert login_as(client_factory, "teacher").post("/committee/members",
                                                    {"student_number": world.students[0]["number"]}).status_code == 302
    m = Member(app, world.students[0])
    assert m.sign_in().status_code == 302
    return m


def _reports(app):
    with app.app_context():
        n = db.session.scalar(select(func.count()).select_from(CommitteeReport))
        db.session.remove()
    return n


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(classmate=values, noticed=values, urgency=values)
def test_hostile_reports(app, world, member, classmate, noticed, urgency):
    before = _reports(app)
    response = member.report(classmate, noticed=noticed, urgency=urgency)
    assert response.status_code in (302, 400), response.status_code
    assert _reports(app) == before + (1 if response.status_code == 302 else 0)
    if response.status_code == 400:
        assert "<script>alert(1)</script>" not in response.get_data(as_text=True)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(number=values, birth_date=values)
def test_hostile_sign_in(app, world, member, number, birth_date):
    other = Member(app, {"number": number, "birth_date": birth_date})
    response = other.sign_in()
    assert response.status_code in (302, 400)
    assert "<script>alert(1)</script>" not in response.get_data(as_text=True)
