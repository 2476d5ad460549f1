"""班级心理委员: naming, the member's sign-in and reports through the real stack, and what nobody else may do."""
import re

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.committee.models import CommitteeMember, CommitteeReport
from app.extensions import db
from app.risk.models import Alert
from tests.conftest import login_as


def _token(page):
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


class Member:
    """A phone's browser: signs in on the committee page and posts its forms with the page's CSRF token."""

    def __init__(self, app, student):
        self.http = app.test_client()
        self.http.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
        self.student = student

    def sign_in(self, birth_date=None):
        page = self.http.get("/committee/sign-in").get_data(as_text=True)
        return self.http.post("/committee/sign-in", data={
            "csrf_token": _token(page), "student_number": self.student["number"],
            "birth_date": birth_date or self.student["birth_date"]})

    def report(self, classmate_id, noticed="Sits alone and cried in class twice", urgency="soon"):
        page = self.http.get("/committee/report").get_data(as_text=True)
        return self.http.post("/committee/report", data={"csrf_token": _token(page), "classmate": str(classmate_id),
                                                         "noticed": noticed, "urgency": urgency})

    def nothing(self):
        page = self.http.get("/committee/report").get_data(as_text=True)
        return self.http.post("/committee/nothing", data={"csrf_token": _token(page)})


def _name(teacher, number):
    return teacher.post("/committee/members", {"student_number": number})


def _count(app, model, *where):
    with app.app_context():
        n = db.session.scalar(select(func.count()).select_from(model).where(*where))
        db.session.remove()
    return n


@pytest.fixture
def named(app, world, client_factory):
    teacher = login_as(client_factory, "teacher")
    response = _name(teacher, world.students[0]["number"])
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return teacher


def test_member_reports_a_classmate_and_sees_nothing_back(app, world, named):
    member = Member(app, world.students[0])
    assert member.sign_in().headers["Location"].endswith("/committee/report")
    page = member.http.get("/committee/report").get_data(as_text=True)
    # Names of the classmates only: not the member, not another school's student, no numbers.
    for i in range(1, 6):
        assert f"Student {i}" in page
    assert "Student 0" not in page and "Other Student" not in page and "S0002" not in page

    sent = member.report(world.student_ids[2], noticed="Said <b>nobody</b> would miss them", urgency="soon")
    assert sent.status_code == 302 and sent.headers["Location"].endswith("/committee/sent")
    with app.app_context():
        alert = db.session.scalar(select(Alert).where(Alert.student_id == world.student_ids[2]))
        assert (alert.level, alert.reason, alert.school_id) == ("high", "committee_report", world.school_id)
        assert "Said <b>nobody</b> would miss them" in alert.note and "Student 0" in alert.note
        report = db.session.scalar(select(CommitteeReport))
        assert report.alert_id == alert.id and report.kind == "concern"
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "committee_report_sent")).student_id \
            == world.student_ids[2]
        db.session.remove()
    after = member.http.get("/committee/sent").get_data(as_text=True)
    assert "Sent" in after and "Student 2" not in after and "nobody" not in after
    assert not re.search(r"\bA\d{6}\b", after)  # no alert's case number (a bare "A0" met the random CSRF token)

    # The teacher sees the alert in the risk list and the class as reported this week.
    week = named.get("/committee").get_data(as_text=True)
    assert "1 concern(s) sent" in week and "1 of 1 classes" in week
    assert "Concern: reported by a class committee member" in named.get("/alerts").get_data(as_text=True)


def test_danger_opens_a_critical_alert_and_nothing_to_report_is_counted(app, world, named):
    member = Member(app, world.students[0])
    member.sign_in()
    assert member.report(world.student_ids[1], urgency="danger").status_code == 302
    assert _count(app, Alert, Alert.level == "critical", Alert.student_id == world.student_ids[1]) == 1
    assert member.nothing().headers["Location"].endswith("/committee/sent")
    assert _count(app, CommitteeReport, CommitteeReport.kind == "nothing") == 1
    assert "Nothing to report" in named.get("/committee").get_data(as_text=True)


def test_before_reporting_the_class_shows_not_reported(app, world, named):
    week = named.get("/committee").get_data(as_text=True)
    assert "Not reported yet" in week and "0 of 1 classes" in week and "Student 0" in week


@pytest.mark.parametrize("who,birth_date", [(1, None), (0, "2012-01-02"), (5, None)])
def test_a_non_member_or_a_wrong_birth_date_cannot_sign_in(app, world, named, who, birth_date):
    member = Member(app, world.students[who])
    response = member.sign_in(birth_date)
    assert response.status_code == 400
    assert "do not match a class committee member" in response.get_data(as_text=True)
    with app.app_context():
        refused = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "committee_sign_in")).all()
        assert [(e.outcome, e.student_id, e.object_id) for e in refused] == [("refused", None, None)]
        db.session.remove()
    assert member.http.get("/committee/report").headers["Location"].endswith("/committee/sign-in")
    token = _token(member.http.get("/committee/sign-in").get_data(as_text=True))
    assert member.http.post("/committee/nothing", data={"csrf_token": token}).headers["Location"] \
        .endswith("/committee/sign-in")
    assert _count(app, CommitteeReport) == 0


@pytest.mark.parametrize("target", ["self", "other_school", "unknown", "text"])
def test_a_member_reports_only_on_current_classmates(app, world, named, target):
    member = Member(app, world.students[0])
    member.sign_in()
    classmate = {"self": world.student_ids[0], "other_school": world.other_student_id, "unknown": 999999,
                 "text": "Student 2"}[target]
    response = member.report(classmate)
    assert response.status_code == 400
    assert "Choose the classmate" in response.get_data(as_text=True)
    assert _count(app, Alert) == 0 and _count(app, CommitteeReport) == 0


def test_bad_input_is_a_message_and_changes_nothing(app, world, named):
    member = Member(app, world.students[0])
    member.sign_in()
    for noticed, urgency in (("", "soon"), ("x" * 2001, "soon"), ("noticed", "whenever"), ("noticed", "")):
        response = member.report(world.student_ids[2], noticed=noticed, urgency=urgency)
        assert response.status_code == 400
    assert _count(app, Alert) == 0


def test_an_ended_membership_stops_the_open_session(app, world, named):
    member = Member(app, world.students[0])
    member.sign_in()
    with app.app_context():
        member_id = db.session.scalar(select(CommitteeMember.id))
        db.session.remove()
    assert named.post(f"/committee/members/{member_id}/end").status_code == 302
    assert member.http.get("/committee/report").headers["Location"].endswith("/committee/sign-in")
    assert member.sign_in().status_code == 400


def test_another_school_cannot_name_end_or_see_the_members(app, world, named, client_factory):
    other = login_as(client_factory, "other_teacher")
    with app.app_context():
        member_id = db.session.scalar(select(CommitteeMember.id))
        db.session.remove()
    assert other.post(f"/committee/members/{member_id}/end").status_code == 404
    response = _name(other, world.students[1]["number"])
    assert response.status_code == 400 and "No current student of your school" in response.get_data(as_text=True)
    assert "Student 0" not in other.get("/committee").get_data(as_text=True)
    assert _count(app, CommitteeMember) == 1
    for role in ("homeroom", "doctor", "admin"):
        assert login_as(client_factory, role).get("/committee").status_code == 404


def test_naming_twice_is_refused(app, world, named):
    response = _name(named, world.students[0]["number"])
    assert response.status_code == 400 and "already a committee member" in response.get_data(as_text=True)
