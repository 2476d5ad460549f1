"""Issue 19, items 1-3 through the real HTTP stack: the interview list, the interview and its level, the register's
duties and history, the plan and the homeroom teacher's tasks, the change between rounds and the district's counts."""
import re
from datetime import datetime, timedelta, timezone

from sqlalchemy import select, text

from app.core import clock
from app.extensions import db
from app.register import district, services
from app.register.models import Interview, PlanTask, SupportPlan, WarningChange, WarningEntry
from app.risk.models import Alert
from tests.conftest import login_as
from tests.register.helpers import interview_form, plan_form, screen


def _entry(app, student_id):
    with app.app_context():
        entry = db.session.scalar(select(WarningEntry).where(WarningEntry.student_id == student_id))
        out = None if entry is None else (entry.level.value, entry.next_review_on, [c.kind.value for c in entry.changes])
        db.session.remove()
    return out


def test_positive_screens_go_on_the_interview_list_and_the_interview_sets_the_level(app, world, client_factory):
    teacher = login_as(client_factory, "teacher")
    screen(app, teacher, world, ["critical", "high", "moderate", "low"])
    ids = world.student_ids
    with app.app_context():  # the critical answer opened its alert at once; the interview does not wait for it
        assert db.session.scalar(select(Alert.level).where(Alert.student_id == ids[0])) == "critical"
    page = teacher.get("/register/interviews").get_data(as_text=True)
    assert all(f"Student {i}" in page for i in range(3)) and "Student 3" not in page
    assert page.count("warning-red") == 1 and page.count("warning-orange") == 1 and page.count("warning-yellow") == 1

    # bad input: a clear message, nothing stored
    bad = teacher.post(f"/register/students/{ids[0]}/interview", interview_form("red", reason=""))
    assert bad.status_code == 400 and "Reason for this level" in bad.get_data(as_text=True)
    assert teacher.post(f"/register/students/{ids[0]}/interview", interview_form("purple")).status_code == 400
    tomorrow = (clock.today() + timedelta(days=1)).isoformat()
    bad = teacher.post(f"/register/students/{ids[0]}/interview", interview_form("red", interviewed_on=tomorrow))
    assert bad.status_code == 400 and "cannot be in the future" in bad.get_data(as_text=True)
    assert _entry(app, ids[0]) is None

    for i, level in ((0, "red"), (1, "orange"), (2, "none")):
        response = teacher.post(f"/register/students/{ids[i]}/interview",
                                interview_form(level, reason=f"level reason {i}", judgement=f"judgement <b>{i}</b>"))
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
    assert _entry(app, ids[0])[0] == "red" and _entry(app, ids[0])[1] == clock.today() + timedelta(days=7)
    assert _entry(app, ids[1])[0] == "orange" and _entry(app, ids[1])[1] == clock.today() + timedelta(days=14)
    assert _entry(app, ids[2]) is None  # none: interviewed, nothing to follow
    assert "interview-list-empty" in teacher.get("/register/interviews").get_data(as_text=True)
    with app.app_context():
        interviews = db.session.scalars(select(Interview).order_by(Interview.id)).all()
        assert [i.questionnaire_level.value for i in interviews] == ["red", "orange", "yellow"]
        assert interviews[1].level.value == "orange" and interviews[2].level.value == "none"
        assert interviews[0].response_id is not None and interviews[0].risk_factors == ["academic_stress", "isolation"]
        raw = db.session.execute(text("SELECT judgement, level_reason FROM interviews")).all()
        assert not any("judgement" in value or "level reason" in value for row in raw for value in row)  # encrypted
    entry_page = teacher.get(f"/register/students/{ids[0]}").get_data(as_text=True)
    assert "judgement &lt;b&gt;0&lt;/b&gt;" in entry_page and "level reason 0" in entry_page  # escaped user text


def test_red_duties_plan_versions_and_the_homeroom_teachers_tasks(app, world, client_factory):
    teacher = login_as(client_factory, "teacher")
    screen(app, teacher, world, ["critical"])
    sid = world.student_ids[0]
    assert teacher.post(f"/register/students/{sid}/interview", interview_form("red")).status_code == 302
    page = teacher.get("/register/").get_data(as_text=True)
    assert "Referral, or a documented reason not to refer" in page and "Guardian informed" in page and "No plan" in page

    assert teacher.post(f"/register/students/{sid}/duties", {}).status_code == 400
    assert teacher.post(f"/register/students/{sid}/duties",
                        {"guardian_informed_on": clock.today().isoformat()}).status_code == 302
    assert teacher.post(f"/students/{sid}/refer", {"hospital_id": world.hospital_id, "urgency": "critical",
                                                    "reason": "red level", "alert_id": 0}).status_code == 302
    with app.app_context():
        entry = db.session.scalar(select(WarningEntry).where(WarningEntry.student_id == sid))
        assert all(met for _code, met in services.duties(entry))
        db.session.remove()

    assert teacher.post(f"/register/students/{sid}/plan", dict(plan_form(), goals="")).status_code == 400
    assert teacher.post(f"/register/students/{sid}/plan", plan_form(goals="plan goals one")).status_code == 302
    assert teacher.post(f"/register/students/{sid}/plan",
                        plan_form(goals="plan goals two", homeroom_task="homeroom task v2")).status_code == 302
    with app.app_context():
        plans = db.session.scalars(select(SupportPlan).order_by(SupportPlan.id)).all()
        assert [(p.version, p.supersedes_id) for p in plans] == [(1, None), (2, plans[0].id)]
        assert len(plans[1].tasks) == 3  # the empty fourth row is left out

    homeroom = login_as(client_factory, "homeroom")
    tasks = homeroom.get("/register/tasks").get_data(as_text=True)
    assert "homeroom task v2" in tasks and "Student 0" in tasks
    for secret in ("homeroom task: sit", "plan goals", "guardian task", "weekly talk", "teacher judgement", "reason for"):
        assert secret not in tasks
    assert homeroom.get(f"/register/students/{sid}").status_code == 404
    assert homeroom.get("/register/interviews").status_code == 404
    with app.app_context():
        v1_task, v2_task = [t.id for t in db.session.scalars(select(PlanTask).where(
            PlanTask.owner == "homeroom").order_by(PlanTask.id))]
        guardian_task = db.session.scalar(select(PlanTask.id).where(PlanTask.owner == "guardian"))
    assert homeroom.post(f"/register/tasks/{v1_task}/done").status_code == 404      # superseded version
    assert homeroom.post(f"/register/tasks/{guardian_task}/done").status_code == 404  # not the homeroom's task
    assert homeroom.post(f"/register/tasks/{v2_task}/done").status_code == 302
    assert "homeroom task v2" not in homeroom.get("/register/tasks").get_data(as_text=True)

    # the file: plans and interviews are entries like every other; the admin sees them without the free text
    file_page = teacher.get(f"/students/{sid}").get_data(as_text=True)
    assert "plan goals two" in file_page and "plan goals one" in file_page and "teacher judgement" in file_page
    admin = login_as(client_factory, "admin")
    admin_file = admin.get(f"/students/{sid}").get_data(as_text=True)
    assert "Plan (一生一策)" in admin_file or "一生一策" in admin_file
    assert "plan goals" not in admin_file and "teacher judgement" not in admin_file and "homeroom task" not in admin_file


def test_reviews_overdue_and_the_other_school(app, world, client_factory):
    teacher = login_as(client_factory, "teacher")
    screen(app, teacher, world, ["high"])
    sid = world.student_ids[0]
    assert teacher.post(f"/register/students/{sid}/interview", interview_form("orange")).status_code == 302
    other = login_as(client_factory, "other_teacher")
    for url in (f"/register/students/{sid}", f"/register/students/{sid}/interview", f"/register/students/{sid}/plan"):
        assert other.get(url).status_code == 404
    assert other.post(f"/register/students/{sid}/review", {"reviewed_on": clock.today().isoformat(), "note": "x",
                                                            "level": "none", "reason": "x"}).status_code == 404
    assert "Student 0" not in other.get("/register/").get_data(as_text=True)

    clock.freeze(clock.now() + timedelta(days=15))
    teacher = login_as(client_factory, "teacher")
    page = teacher.get("/register/").get_data(as_text=True)
    assert "badge overdue" in page
    bad = teacher.post(f"/register/students/{sid}/review", {"reviewed_on": clock.today().isoformat(),
                                                             "note": "calmer", "level": "yellow", "reason": ""})
    assert bad.status_code == 400 and _entry(app, sid)[0] == "orange"
    ok = teacher.post(f"/register/students/{sid}/review", {"reviewed_on": clock.today().isoformat(),
                                                            "note": "calmer", "level": "yellow", "reason": "sleeping again"})
    assert ok.status_code == 302
    level, next_review, kinds = _entry(app, sid)
    assert level == "yellow" and kinds == ["set", "lowered"] and next_review == clock.today() + timedelta(days=30)
    assert "badge overdue" not in teacher.get("/register/").get_data(as_text=True)

    # the school's own deadlines
    assert teacher.post("/register/settings", {"interview_days": 0, "red_review_days": 7, "orange_review_days": 14,
                                               "yellow_review_days": 30}).status_code == 400
    assert teacher.post("/register/settings", {"interview_days": 3, "red_review_days": 3, "orange_review_days": 10,
                                               "yellow_review_days": 21}).status_code == 302
    with app.app_context():
        assert services.settings_for(world.school_id).red_review_days == 3
        assert services.settings_for(world.other_school_id).red_review_days == 7


def test_the_next_round_and_the_district(app, world, client_factory):
    start = clock.now()
    teacher = login_as(client_factory, "teacher")
    screen(app, teacher, world, ["critical", "high", "moderate"])
    ids = world.student_ids
    for i, level in ((0, "red"), (1, "orange"), (2, "yellow")):
        assert teacher.post(f"/register/students/{ids[i]}/interview", interview_form(level)).status_code == 302
    # a month later, the next round: student 1 screens moderate and the interview lowers orange to yellow
    clock.freeze(start + timedelta(days=31))
    teacher = login_as(client_factory, "teacher")
    screen(app, teacher, world, [None, "moderate"])
    page = teacher.get("/register/interviews").get_data(as_text=True)
    assert "Student 1" in page and "Student 0" not in page
    assert teacher.post(f"/register/students/{ids[1]}/interview", interview_form("yellow")).status_code == 302
    with app.app_context():
        row = next(r for r in district.district_figures() if r["school"].id == world.school_id)
        assert row["levels"] == {"red": 1, "orange": 0, "yellow": 2}
        assert row["change"] == {"rose": 0, "fell": 1, "lifted": 0, "new": 0}
        # red (reviewed weekly) and yellow student 2 (monthly) had nothing for 31 days; student 1 was just interviewed
        assert row["no_intervention"] == 2 and row["overdue"] == 2
    admin = login_as(client_factory, "admin")
    page = admin.get("/register/district").get_data(as_text=True)
    assert "Middle School A" in page and "&lt;5" in page
    assert not any(f"Student {i}" in page for i in range(6))  # counts only
    assert login_as(client_factory, "teacher").get("/register/district").status_code == 404


def test_district_counts_of_five_are_shown(app, world, client_factory):
    teacher = login_as(client_factory, "teacher")
    screen(app, teacher, world, ["moderate"] * 6)
    for sid in world.student_ids[:5]:
        assert teacher.post(f"/register/students/{sid}/interview", interview_form("yellow")).status_code == 302
    page = login_as(client_factory, "admin").get("/register/district").get_data(as_text=True)
    assert 'data-testid="total-yellow">5<' in page


def test_a_plan_row_with_an_unknown_owner_is_refused(app, world, client_factory):
    teacher = login_as(client_factory, "teacher")
    screen(app, teacher, world, ["high"])
    sid = world.student_ids[0]
    assert teacher.post(f"/register/students/{sid}/interview", interview_form("orange")).status_code == 302
    bad = teacher.post(f"/register/students/{sid}/plan", dict(plan_form(), **{"tasks-0-owner": "principal"}))
    assert bad.status_code == 400 and "Choose from the list" in bad.get_data(as_text=True)
    only_one_row = {"goals": "g", "review_1": clock.today().isoformat(), "tasks-0-owner": "guardian",
                    "tasks-0-action": "call the clinic"}
    assert teacher.post(f"/register/students/{sid}/plan", only_one_row).status_code == 302
    with app.app_context():
        assert db.session.scalar(select(SupportPlan.version)) == 1


def test_the_homeroom_teacher_sees_needs_attention_for_a_level_not_the_level(app, world, client_factory):
    teacher = login_as(client_factory, "teacher")  # an interview without a screening (a concern, a referral)
    homeroom = login_as(client_factory, "homeroom")
    assert "Needs attention" not in homeroom.get("/homeroom").get_data(as_text=True)
    assert teacher.post(f"/register/students/{world.student_ids[2]}/interview", interview_form("yellow")).status_code == 302
    page = homeroom.get("/homeroom").get_data(as_text=True)
    assert page.count("badge attention") == 1 and "Yellow" not in page and "warning-" not in page


def test_a_review_lifts_the_level_and_the_district_counts_it(app, world, client_factory):
    teacher = login_as(client_factory, "teacher")
    sid = world.student_ids[3]
    assert teacher.post(f"/register/students/{sid}/interview", interview_form("yellow")).status_code == 302
    screen(app, teacher, world, [])  # a new round opens
    assert teacher.post(f"/register/students/{sid}/review", {"reviewed_on": clock.today().isoformat(),
                                                              "note": "well again", "level": "none",
                                                              "reason": "two months without symptoms"}).status_code == 302
    level, next_review, kinds = _entry(app, sid)
    assert (level, next_review, kinds) == ("none", None, ["set", "lifted"])
    assert "Student 3" not in teacher.get("/register/").get_data(as_text=True)
    history = teacher.get(f"/register/students/{sid}").get_data(as_text=True)
    assert "Lifted" in history and "two months without symptoms" in history
    with app.app_context():
        row = next(r for r in district.district_figures() if r["school"].id == world.school_id)
        assert row["change"]["lifted"] == 1 and row["levels"] == {"red": 0, "orange": 0, "yellow": 0}


def _plan_dates(teacher, sid):
    page = teacher.get(f"/register/students/{sid}").get_data(as_text=True)
    block = page.split('data-testid="plan-review-dates"', 1)[1].split("</p>", 1)[0]
    return re.findall(r'data-state="(\w+)">(\d{4}-\d\d-\d\d)', block)


def test_a_plan_review_date_is_marked_overdue_until_a_review_meets_it(app, world, client_factory):
    """A plan's review dates had no mark: a review missed by weeks looked the same as one to come. Each date is
    met by a review recorded on or after it (one review, one date)."""
    teacher = login_as(client_factory, "teacher")
    screen(app, teacher, world, ["high"])
    sid = world.student_ids[0]
    assert teacher.post(f"/register/students/{sid}/interview", interview_form("orange")).status_code == 302
    assert teacher.post(f"/register/students/{sid}/plan", plan_form()).status_code == 302
    first, second = clock.today() + timedelta(days=7), clock.today() + timedelta(days=28)
    assert _plan_dates(teacher, sid) == [("due", first.isoformat()), ("due", second.isoformat())]

    clock.freeze(clock.now() + timedelta(days=30))  # both dates passed, no review recorded
    teacher = login_as(client_factory, "teacher")
    assert _plan_dates(teacher, sid) == [("overdue", first.isoformat()), ("overdue", second.isoformat())]

    assert teacher.post(f"/register/students/{sid}/review", {"reviewed_on": clock.today().isoformat(),
                                                             "note": "late review", "level": "orange"}
                        ).status_code == 302
    assert _plan_dates(teacher, sid) == [("done", first.isoformat()), ("overdue", second.isoformat())]
