"""The clinical loop through the real HTTP stack: every referral path, corrections, follow-ups, the queue."""
import re
import sys
import types
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.care.models import Assessment, FollowUp, Referral, ReturnDecision
from app.core import clock
from app.extensions import db
from app.orgs.models import Partnership
from app.risk import services as risk
from app.students.models import Student
from tests.conftest import login_as


def _day(offset=0):
    return str(clock.today() + timedelta(days=offset))


def refer(teacher, student_id, hospital_id, urgency="high", reason="Low mood for weeks", alert_id=0):
    return teacher.post(f"/students/{student_id}/refer",
                        {"hospital_id": hospital_id, "urgency": urgency, "reason": reason, "alert_id": alert_id})


def last_referral_id(app):
    with app.app_context():
        return db.session.scalar(select(func.max(Referral.id)))


def assess(doctor, referral_id, url=None, **overrides):
    data = {"a-assessed_on": _day(), "a-setting": "on_site", "a-findings": "FINDINGS-SECRET low mood, no plan",
            "a-icd10_code": "F32", "a-risk_level": "high", "a-plan": "school_support", "a-next_review_on": _day(14)}
    data.update({f"a-{k}": v for k, v in overrides.items()})
    return doctor.post(url or f"/referrals/{referral_id}/assessment", data)


def decide(doctor, referral_id, outcome, conditions="", review_on="", share=False):
    data = {"d-outcome": outcome, "d-conditions": conditions, "d-review_on": review_on}
    if share:
        data["d-share_diagnosis"] = "y"
    return doctor.post(f"/referrals/{referral_id}/decision", data)


def status_of(app, referral_id):
    with app.app_context():
        return db.session.get(Referral, referral_id).status.value


@pytest.fixture
def referred(app, world, client_factory):
    """World.students[0] referred (high) to the partner hospital; returns (teacher, doctor, referral_id)."""
    teacher = login_as(client_factory, "teacher")
    assert refer(teacher, world.student_ids[0], world.hospital_id).status_code == 302
    return teacher, login_as(client_factory, "doctor"), last_referral_id(app)


def test_accepted_path_conditions_follow_ups_and_the_doctor_sees_them(app, world, client_factory, referred):
    teacher, doctor, rid = referred
    assert doctor.post(f"/referrals/{rid}/accept").status_code == 302
    assert status_of(app, rid) == "accepted"
    assert assess(doctor, rid).status_code == 302
    assert status_of(app, rid) == "assessed"
    conditions = "Reduced timetable (mornings only)\n- Weekly check-in with the psychology teacher\nMedication supervision"
    r = decide(doctor, rid, "cleared_with_conditions", conditions, _day(28))
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    assert status_of(app, rid) == "closed"
    with app.app_context():
        tasks = db.session.scalars(select(FollowUp).order_by(FollowUp.id)).all()
        # one task per condition line, at the student's current school, first due after a week
        assert [t.condition for t in tasks] == ["Reduced timetable (mornings only)",
                                                "Weekly check-in with the psychology teacher", "Medication supervision"]
        assert {t.school_id for t in tasks} == {world.school_id}
        assert {t.due_on for t in tasks} == {clock.today() + timedelta(days=7)}
        first_id = tasks[1].id

    home = teacher.get("/teacher").get_data(as_text=True)
    assert 'data-testid="todo"' in home and "Weekly check-in with the psychology teacher" in home
    page = teacher.get(f"/students/{world.student_ids[0]}").get_data(as_text=True)
    assert f'action="/follow-ups/{first_id}"' in page

    # a contact without a note changes nothing
    assert teacher.post(f"/follow-ups/{first_id}", {f"f{first_id}-note": ""}).status_code == 400  # the file page again, the error on the field
    with app.app_context():
        assert db.session.get(FollowUp, first_id).done_at is None
    r = teacher.post(f"/follow-ups/{first_id}", {f"f{first_id}-note": "CONTACT-NOTE calmer, attending mornings",
                                                  f"f{first_id}-next_due_on": _day(14)})
    assert r.status_code == 302
    with app.app_context():
        done = db.session.get(FollowUp, first_id)
        assert done.done_at is not None and done.note.startswith("CONTACT-NOTE")
        following = next(f for f in db.session.scalars(select(FollowUp).where(FollowUp.done_at.is_(None)))
                         if f.condition == done.condition)  # encrypted column: compare in Python
        assert following.due_on == clock.today() + timedelta(days=14)
        assert "follow_up_recorded" in set(db.session.scalars(select(AuditEvent.action)))
    assert teacher.post(f"/follow-ups/{first_id}", {f"f{first_id}-note": "again"}).status_code == 400  # already done
    with app.app_context():
        assert db.session.get(FollowUp, first_id).note.startswith("CONTACT-NOTE")

    # the doctor sees the school's follow-up record on the referral before the review
    ref_page = doctor.get(f"/referrals/{rid}").get_data(as_text=True)
    assert 'data-testid="referral-follow-ups"' in ref_page and "CONTACT-NOTE" in ref_page

    # other schools' teachers and other hospitals' doctors cannot touch the tasks
    other = login_as(client_factory, "other_teacher")
    assert other.post(f"/follow-ups/{following.id}", {f"f{following.id}-note": "x"}).status_code == 404
    assert doctor.post(f"/follow-ups/{following.id}", {f"f{following.id}-note": "x"}).status_code == 404


def test_overdue_follow_ups_surface_like_overdue_alerts(app, world, client_factory, referred):
    teacher, doctor, rid = referred
    doctor.post(f"/referrals/{rid}/accept")
    assess(doctor, rid)
    decide(doctor, rid, "cleared_with_conditions", "Weekly check-in with the psychology teacher", _day(28))
    home = teacher.get("/teacher").get_data(as_text=True)
    worklist = "".join(re.findall(r'<li class="alert-row[^"]*" data-kind="follow_up">.*?</li>', home, re.S))
    assert "Weekly check-in with the psychology teacher" in worklist and "Overdue" not in worklist  # due in a week
    clock.freeze(clock.now() + timedelta(days=9))
    teacher = login_as(client_factory, "teacher")  # the idle session ended while time moved on
    home = teacher.get("/teacher").get_data(as_text=True)
    worklist = "".join(re.findall(r'<li class="alert-row[^"]*" data-kind="follow_up">.*?</li>', home, re.S))
    assert "Overdue" in worklist and "level-critical" in worklist
    page = teacher.get(f"/students/{world.student_ids[0]}").get_data(as_text=True)
    assert "badge overdue" in re.search(r'data-testid="follow-ups">(.*?)</section>', page, re.S).group(1)


def test_declined_path_school_sees_reason_and_refers_elsewhere(app, world, client_factory, referred):
    teacher, doctor, rid = referred
    with app.app_context():  # a second partner hospital for the middle school
        today = clock.today()
        db.session.add(Partnership(school_id=world.school_id, hospital_id=world.other_hospital_id,
                                   signed_on=today - timedelta(days=10), expires_on=today + timedelta(days=100)))
        db.session.commit()
    # no reason: nothing changes
    assert doctor.post(f"/referrals/{rid}/decline", {"x-reason": "  "}).status_code == 400
    assert status_of(app, rid) == "sent"
    r = doctor.post(f"/referrals/{rid}/decline", {"x-reason": "DECLINE-REASON no adolescent bed this month"})
    assert r.status_code == 302
    assert status_of(app, rid) == "declined"
    assert doctor.post(f"/referrals/{rid}/accept").status_code == 404  # declined is final
    assert doctor.get(f"/students/{world.student_ids[0]}").status_code == 404  # a declined referral opens no file

    page = teacher.get(f"/students/{world.student_ids[0]}").get_data(as_text=True)
    assert 'data-testid="declined-referral"' in page and "DECLINE-REASON" in page
    assert "DECLINE-REASON" in teacher.get(f"/referrals/{rid}").get_data(as_text=True)
    form = teacher.get(f"/students/{world.student_ids[0]}/refer").get_data(as_text=True)
    select_html = re.search(r'<select[^>]*name="hospital_id".*?</select>', form, re.S).group(0)
    assert "Other Hospital" in select_html and "Partner Hospital" not in select_html
    assert "DECLINE-REASON" in form
    assert refer(teacher, world.student_ids[0], world.hospital_id).status_code == 400  # not the one that declined
    assert refer(teacher, world.student_ids[0], world.other_hospital_id).status_code == 302
    with app.app_context():
        new = db.session.get(Referral, last_referral_id(app))
        assert new.hospital_id == world.other_hospital_id and new.status.value == "sent"
        actions = set(db.session.scalars(select(AuditEvent.action)))
        assert {"referral_sent", "referral_declined"} <= actions
    other_doctor = login_as(client_factory, "other_doctor")
    assert "Student 0" in other_doctor.get("/doctor").get_data(as_text=True)


def test_expired_partnership_hospital_is_not_offered(app, world, client_factory):
    with app.app_context():
        today = clock.today()
        db.session.add(Partnership(school_id=world.school_id, hospital_id=world.other_hospital_id,
                                   signed_on=today - timedelta(days=400), expires_on=today - timedelta(days=1)))
        db.session.commit()
    teacher = login_as(client_factory, "teacher")
    page = teacher.get(f"/students/{world.student_ids[0]}/refer").get_data(as_text=True)
    assert not re.search(r"<option[^>]*>Other Hospital<", page)
    assert "agreement with Other Hospital ended on" in page  # the school is told why it is gone (issue 16)
    assert refer(teacher, world.student_ids[0], world.other_hospital_id).status_code == 400


def test_urgency_defaults_from_the_alert_level(app, world, client_factory):
    with app.app_context():
        student = db.session.get(Student, world.student_ids[2])
        risk.raise_alert(student, world.school_id, "critical", "concern", note="seen crying")
        db.session.commit()
    teacher = login_as(client_factory, "teacher")
    form = teacher.get(f"/students/{world.student_ids[2]}/refer").get_data(as_text=True)
    assert re.search(r'<option selected value="critical">|<option value="critical" selected>', form)


def test_not_cleared_then_cleared_at_review(app, world, client_factory, referred):
    teacher, doctor, rid = referred
    doctor.post(f"/referrals/{rid}/accept")
    assert assess(doctor, rid, plan="inpatient", risk_level="critical").status_code == 302
    # not cleared needs a review date in the future; nothing is stored otherwise
    assert decide(doctor, rid, "not_cleared").status_code == 400
    assert decide(doctor, rid, "not_cleared", review_on=_day(-1)).status_code == 400
    with app.app_context():
        assert db.session.scalar(select(func.count(ReturnDecision.id))) == 0
    assert decide(doctor, rid, "not_cleared", review_on=_day(21)).status_code == 302
    assert status_of(app, rid) == "assessed"  # stays open until the review
    home = doctor.get("/doctor").get_data(as_text=True)
    assert "Assessed: decision or review due" in home and _day(21) in home
    student_page = teacher.get(f"/students/{world.student_ids[0]}").get_data(as_text=True)
    assert "Not cleared" in student_page and _day(21) in student_page

    clock.freeze(clock.now() + timedelta(days=21))  # the review
    teacher, doctor = login_as(client_factory, "teacher"), login_as(client_factory, "doctor")
    assert assess(doctor, rid, setting="clinic", plan="outpatient", risk_level="moderate",
                  findings="Review: mood improved").status_code == 302
    with app.app_context():
        versions = db.session.scalars(select(Assessment).where(Assessment.referral_id == rid).order_by(Assessment.id)).all()
        assert [(a.version, a.supersedes_id) for a in versions] == [(1, None), (1, None)]  # a review, not a correction
    assert decide(doctor, rid, "cleared").status_code == 302
    assert status_of(app, rid) == "closed"
    with app.app_context():
        decisions = db.session.scalars(select(ReturnDecision).order_by(ReturnDecision.id)).all()
        assert [d.outcome.value for d in decisions] == ["not_cleared", "cleared"]
        assert decisions[1].assessment_id == versions[1].id
        assert db.session.scalar(select(func.count(FollowUp.id))) == 0  # plain clearance: nothing to follow
    assert doctor.post(f"/referrals/{rid}/assessment", {}).status_code == 404  # closed: no more assessments
    assert "Cleared to return" in teacher.get(f"/students/{world.student_ids[0]}").get_data(as_text=True)


def test_correction_is_a_new_version_and_history_keeps_every_version(app, world, client_factory, referred):
    _, doctor, rid = referred
    doctor.post(f"/referrals/{rid}/accept")
    assess(doctor, rid, findings="ORIGINAL findings")
    with app.app_context():
        v1 = db.session.scalar(select(Assessment.id))
    form = doctor.get(f"/referrals/{rid}/assessments/{v1}/correct").get_data(as_text=True)
    assert "ORIGINAL findings" in form  # prefilled from the version being corrected
    r = assess(doctor, rid, url=f"/referrals/{rid}/assessments/{v1}/correct", findings="CORRECTED findings",
               icd10_code="F41")
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    with app.app_context():
        rows = db.session.scalars(select(Assessment).order_by(Assessment.id)).all()
        assert [(a.version, a.supersedes_id, a.findings) for a in rows] == [
            (1, None, "ORIGINAL findings"), (2, v1, "CORRECTED findings")]
        v2 = rows[1].id
        assert db.session.get(Referral, rid).latest_assessment.id == v2
        assert "assessment_corrected" in set(db.session.scalars(select(AuditEvent.action)))
    # the superseded version cannot be corrected again; the newest can
    assert assess(doctor, rid, url=f"/referrals/{rid}/assessments/{v1}/correct").status_code == 400
    with app.app_context():
        assert db.session.scalar(select(func.count(Assessment.id))) == 2
    page = doctor.get(f"/referrals/{rid}").get_data(as_text=True)
    history = re.search(r'data-testid="assessments">(.*?)</section>', page, re.S).group(1)
    assert "ORIGINAL findings" in history and "CORRECTED findings" in history and "Superseded" in history
    assert history.count("Doctor P") == 2
    assert f"/assessments/{v2}/correct" in history and f"/assessments/{v1}/correct" not in history
    # another hospital's doctor cannot correct
    other = login_as(client_factory, "other_doctor")
    assert other.get(f"/referrals/{rid}/assessments/{v2}/correct").status_code == 404


def test_icd_code_must_come_from_the_list_and_bad_dates_are_refused(app, world, client_factory, referred):
    _, doctor, rid = referred
    doctor.post(f"/referrals/{rid}/accept")
    assert assess(doctor, rid, icd10_code="F99.9").status_code == 400
    assert assess(doctor, rid, icd10_code="Z00").status_code == 400
    page = assess(doctor, rid, assessed_on=_day(3)).get_data(as_text=True)
    assert "cannot be in the future" in page
    with app.app_context():
        assert db.session.scalar(select(func.count(Assessment.id))) == 0
    assert assess(doctor, rid, icd10_code="").status_code == 302  # the code is optional


def test_queue_is_critical_first_then_longest_waiting_with_target(app, world, client_factory):
    start = clock.now()
    for hours_ago, index, urgency in ((100, 1, "high"), (10, 2, "critical"), (50, 3, "high")):
        clock.freeze(start - timedelta(hours=hours_ago))
        teacher = login_as(client_factory, "teacher")
        assert refer(teacher, world.student_ids[index], world.hospital_id, urgency=urgency).status_code == 302
    clock.freeze(start)
    doctor = login_as(client_factory, "doctor")
    page = doctor.get("/doctor").get_data(as_text=True)
    rows = re.findall(r'data-testid="queue-row">(.*?)</tr>', page, re.S)
    assert [re.search(r"Student \d", row).group(0) for row in rows] == ["Student 2", "Student 1", "Student 3"]
    assert "10 h / target 24 h" in rows[0] and "Over target" not in rows[0]
    assert "100 h / target 72 h" in rows[1] and "Over target" in rows[1]
    assert "50 h / target 72 h" in rows[2] and "Over target" not in rows[2]


def test_notification_shim_is_called_on_every_change(app, world, client_factory, monkeypatch):
    calls = []
    package = types.ModuleType("app.notifications")
    module = types.ModuleType("app.notifications.services")
    module.notify_referral_change = lambda referral, by: calls.append((referral.status.value, by.username))
    monkeypatch.setitem(sys.modules, "app.notifications", package)
    monkeypatch.setitem(sys.modules, "app.notifications.services", module)
    teacher = login_as(client_factory, "teacher")
    refer(teacher, world.student_ids[0], world.hospital_id)
    rid = last_referral_id(app)
    doctor = login_as(client_factory, "doctor")
    doctor.post(f"/referrals/{rid}/accept")
    assess(doctor, rid)
    decide(doctor, rid, "cleared")
    refer(teacher, world.student_ids[1], world.hospital_id)
    doctor.post(f"/referrals/{last_referral_id(app)}/decline", {"x-reason": "no capacity"})
    assert calls == [("sent", "teacher"), ("accepted", "doctor"), ("assessed", "doctor"), ("closed", "doctor"),
                     ("sent", "teacher"), ("declined", "doctor")]


def test_open_follow_ups_follow_the_student_to_the_new_school_with_hand_over_consent(app, world, client_factory,
                                                                                    referred):
    from app.accounts.models import User
    from app.orgs.models import ClassGroup
    from app.students.consent import record_consent
    from app.students.models import ConsentKind
    from app.students.yearend import transfer_student

    teacher, doctor, rid = referred
    doctor.post(f"/referrals/{rid}/accept")
    assess(doctor, rid)
    assert decide(doctor, rid, "cleared_with_conditions", "Weekly check-in", _day(28)).status_code == 302
    with app.app_context():
        task_id = db.session.scalar(select(FollowUp.id))
        student = db.session.get(Student, world.student_ids[0])
        admin = db.session.scalar(select(User).where(User.username == "admin"))
        transfer_student(student, db.session.get(ClassGroup, world.other_class_id), by=admin,
                         on=clock.today() - timedelta(days=1))
        db.session.commit()
    new_school = login_as(client_factory, "other_teacher")
    note = {f"f{task_id}-note": "Met at the new school", f"f{task_id}-next_due_on": _day(7)}
    # without the guardian's consent to hand the file over, the old school's task stays out of sight
    assert new_school.post(f"/follow-ups/{task_id}", note).status_code == 404
    with app.app_context():
        record_consent(db.session.get(Student, world.student_ids[0]), ConsentKind.HANDOVER_SCHOOL, True,
                       "signed form", by=db.session.scalar(select(User).where(User.username == "other_teacher")))
        db.session.commit()
    assert new_school.post(f"/follow-ups/{task_id}", note).status_code == 302
    with app.app_context():
        assert db.session.get(FollowUp, task_id).done_at is not None
        following = db.session.scalar(select(FollowUp).where(FollowUp.done_at.is_(None)))
        assert following.school_id == world.other_school_id
    # and the old school can no longer touch it
    assert teacher.post(f"/follow-ups/{following.id}", {f"f{following.id}-note": "x"}).status_code == 404
