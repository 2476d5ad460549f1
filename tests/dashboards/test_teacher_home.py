"""The teacher home after the speed-up (bench/README.md): stored figures and live progress follow new submissions,
the worklist keeps its rules, and the page is drawn from rows loaded before the commit."""
import re
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import select

from app.accounts.models import User
from app.care.models import DecisionOutcome, ReturnDecision
from app.core import clock
from app.dashboards import teacher as teacher_module
from app.dashboards.models import CampaignFigures
from app.extensions import db
from tests.conftest import login_as
from tests.dashboards.conftest import PHQ_LOW, at
from tests.helpers import GAD7_LOW, answer_all, launch_campaign

LOCAL = clock.LOCAL_TZ


def _panel(page, key):
    """The text of one panel's table cells, e.g. ['Class 8-1', '12', '0', '0']."""
    section = page.split(f'data-testid="panel-{key}"', 1)[1].split("</section>", 1)[0]
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td>(.*?)</td>", section, re.S)]


def test_progress_and_stored_figures_follow_each_new_submission(app, figures_world, client_factory):
    fw = figures_world
    at(datetime(2026, 11, 24, 9, 0, tzinfo=LOCAL).astimezone(timezone.utc))
    teacher = login_as(client_factory, "teacher")
    campaign_id, code = launch_campaign(teacher, fw.world.class_id, hours=3)
    page = teacher.get("/teacher").get_data(as_text=True)
    assert _panel(page, f"progress-{campaign_id}") == ["Class 8-1", "12", "0", "0"]
    for student in fw.students[:5]:
        answer_all(app.test_client(), code, student, {"PHQ-9": PHQ_LOW, "GAD-7": GAD7_LOW})
    page = teacher.get(f"/teacher?campaign={campaign_id}").get_data(as_text=True)
    assert _panel(page, f"progress-{campaign_id}") == ["Class 8-1", "12", "5", "5"]  # live, on the next load
    # the campaign's stored figures were recounted: five PHQ-9 'minimal' results
    assert _panel(page, f"bands-{campaign_id}-PHQ-9")[:2] == ["Class 8-1", "5"]
    answer_all(app.test_client(), code, fw.students[5], {"PHQ-9": PHQ_LOW, "GAD-7": GAD7_LOW})
    page = teacher.get(f"/teacher?campaign={campaign_id}").get_data(as_text=True)
    assert _panel(page, f"progress-{campaign_id}") == ["Class 8-1", "12", "6", "6"]
    assert _panel(page, f"bands-{campaign_id}-PHQ-9")[:2] == ["Class 8-1", "6"]
    with app.app_context():  # kept by the page's one commit, up to the last response
        row = db.session.scalar(select(CampaignFigures).where(CampaignFigures.campaign_id == campaign_id))
        assert sum(n for _c, scale, _b, _r, n in row.counts if scale == "PHQ-9") == 6 and not row.closed


def test_conditions_under_review_follow_each_students_latest_decision(app, figures_world, client_factory):
    fw = figures_world
    with app.app_context():
        doctor_id = db.session.scalar(select(User.id).where(User.username == "doctor"))
        s0, s1 = fw.students[0]["id"], fw.students[1]["id"]
        t = datetime(2026, 11, 19, 9, 0, tzinfo=timezone.utc)
        db.session.add_all([
            # student 0: not cleared, then cleared: nothing left under review
            ReturnDecision(referral_id=fw.referrals[0], student_id=s0, decided_by_id=doctor_id, created_at=t,
                           outcome=DecisionOutcome.NOT_CLEARED, review_on=date(2026, 11, 26)),
            ReturnDecision(referral_id=fw.referrals[0], student_id=s0, decided_by_id=doctor_id,
                           created_at=t + timedelta(hours=2), outcome=DecisionOutcome.CLEARED),
            # student 1: cleared with conditions, review overdue
            ReturnDecision(referral_id=fw.referrals[1], student_id=s1, decided_by_id=doctor_id, created_at=t,
                           outcome=DecisionOutcome.CLEARED_WITH_CONDITIONS, review_on=date(2026, 11, 18)),
        ])
        db.session.commit()
    page = login_as(client_factory, "teacher").get("/teacher").get_data(as_text=True)
    todo = page.split('data-testid="todo"', 1)[1].split("</ol>", 1)[0]
    under_review = page.split('data-testid="under-review"', 1)[1].split("</ul>", 1)[0]
    assert "Student 1</a>" in under_review and "Overdue" in under_review
    assert "Student 0</a>" not in under_review
    # Its review date has passed: it is also on the list of what needs doing now.
    assert re.search(r'data-kind="review">\s*<span class="badge overdue">Review overdue</span>\s*<a [^>]*>Student 1</a>', todo)
    assert todo.count('data-kind="review"') == 1  # student 0's latest decision cleared him: nothing to review
    deterioration = page.split('data-testid="deterioration"', 1)[1].split("</ul>", 1)[0]
    assert "Student 5</a>" in deterioration  # the reliable deterioration (PHQ-9 1 → 10) is still listed
    other = login_as(client_factory, "other_teacher").get("/teacher").get_data(as_text=True)
    assert "Student 1</a>" not in other and "Student 5</a>" not in other


def test_reliable_deterioration_is_the_same_list_checked_in_batches(app, figures_world, monkeypatch):
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "teacher"))
        whole = teacher_module.reliable_deterioration(user)
        monkeypatch.setattr(teacher_module, "DETERIORATION_BATCH", 1)
        batched = teacher_module.reliable_deterioration(user)
        assert [(d["student_id"], d["scale"], d["at"]) for d in batched] == \
            [(d["student_id"], d["scale"], d["at"]) for d in whole]
        assert [d["student"].name for d in whole] == ["Student 5"]
        other = db.session.scalar(select(User).where(User.username == "other_teacher"))
        assert teacher_module.reliable_deterioration(other) == []


def test_the_home_page_reads_no_row_twice(app, figures_world, client_factory):
    """The page is rendered from the rows loaded before the commit, not re-read one by one afterwards."""
    from sqlalchemy import event

    teacher = login_as(client_factory, "teacher")
    teacher.get("/teacher")
    with app.app_context():
        engine = db.engine
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        assert teacher.get("/teacher").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    # 29 here (52 before, and 438 on the bench data: one per class, follow-up, student and decision re-read)
    assert len(selects) <= 35, len(selects)


def test_the_home_lists_what_needs_doing_now_once_in_order_of_urgency(app, world, client_factory):
    """Issue 17 item 14: the risk list was shown twice and the page was ~5,500 px on a phone. One list comes first:
    critical alerts, high alerts, overdue follow-ups, moderate alerts, reviews past their date, follow-ups due
    within a week; a follow-up due later is below it, never in it."""
    from app.care.models import FollowUp
    from tests.helpers import PHQ9_CRITICAL

    teacher = login_as(client_factory, "teacher")
    _, code = launch_campaign(teacher, world.class_id, scales=("PHQ-9",))
    answer_all(app.test_client(), code, world.students[0], {"PHQ-9": PHQ9_CRITICAL})  # critical (item 9)
    answer_all(app.test_client(), code, world.students[1], {"PHQ-9": [2, 2, 2, 2, 1, 1, 0, 0, 0]})  # 10: moderate
    today = clock.today()
    with app.app_context():
        db.session.add_all([
            FollowUp(student_id=world.student_ids[2], school_id=world.school_id, condition="Overdue task",
                     due_on=today - timedelta(days=2)),
            FollowUp(student_id=world.student_ids[3], school_id=world.school_id, condition="Task this week",
                     due_on=today + timedelta(days=3)),
            FollowUp(student_id=world.student_ids[4], school_id=world.school_id, condition="Task next month",
                     due_on=today + timedelta(days=30)),
        ])
        db.session.commit()
    page = teacher.get("/teacher").get_data(as_text=True)
    todo = page.split('data-testid="todo"', 1)[1].split("</ol>", 1)[0]
    rows = re.findall(r'data-kind="(\w+)">.*?<a [^>]*>([^<]+)</a>', todo, re.S)
    assert rows == [("alert", "Student 0"), ("follow_up", "Student 2"), ("alert", "Student 1"),
                    ("follow_up", "Student 3")]
    assert "Task next month" not in todo and "Task next month" in page.split('data-testid="later-follow-ups"', 1)[1]
    assert page.count(">Student 0</a>") == 1  # once, not in a second risk list
    # nobody else's: the other school's teacher has nothing to do
    other = login_as(client_factory, "other_teacher").get("/teacher").get_data(as_text=True)
    assert 'data-testid="todo"' not in other and 'data-testid="nothing-to-do"' in other
