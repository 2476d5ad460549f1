"""Every figure against the hand-computed fixture (tests/dashboards/conftest.py), raw and as shown."""
import re
from datetime import date

import numpy as np

from app.dashboards import stats
from app.dashboards.district import compute_month
from app.dashboards.suppress import SUPPRESSED, rate, statistic, suppress, suppress_row
from tests.conftest import login_as


def test_suppression_rules():
    assert [suppress(n) for n in (0, 1, 4, 5, 12)] == [0, SUPPRESSED, SUPPRESSED, 5, 12]
    assert rate(5, 7) == 71.4 and rate(0, 9) == 0.0
    assert rate(3, 10) == SUPPRESSED and rate(5, 4) == SUPPRESSED and rate(0, 0) is None
    assert statistic(4, 2.0) == SUPPRESSED and statistic(5, 2.36) == 2.4
    # one suppressed cell would be given back by the published total: the next smallest goes too
    assert suppress_row([9, 0, 1, 0, 0]) == [SUPPRESSED, 0, SUPPRESSED, 0, 0]
    assert suppress_row([9, 6, 2, 3]) == [9, 6, SUPPRESSED, SUPPRESSED]
    assert suppress_row([9, 6, 7]) == [9, 6, 7]


def test_percentiles_and_trend_by_hand():
    median, p90 = stats.median_p90(np.array([1, 2, 3, 4, 10.0]))
    assert (median, p90) == (3.0, 7.6)
    assert stats.median_p90(np.array([1, 2, 3, 4.0])) == (SUPPRESSED, SUPPRESSED)
    slope, intercept = stats.trend([0, 1, 2], [10, 20, 30])
    assert round(slope, 6) == 10 and round(intercept, 6) == 10
    assert stats.trend_word(10) == "rising" and stats.trend_word(0.1) == "stable" and stats.trend_word(-3) == "falling"


def test_raw_month_figures(app, figures_world):
    w = figures_world.world
    with app.app_context():
        figures = compute_month(date(2026, 11, 1))
    a = figures[w.school_id]
    assert a["enrolled"] == 12 and a["screened"] == 10
    assert a["scales"] == {"PHQ-9": [10, 6], "GAD-7": [10, 1]}
    assert a["alerts"] == {"critical": 5, "moderate": 1}
    assert a["ack"] == [5, 3.0, 7.6]
    assert a["assess"] == [5, 48.0, 80.0]
    assert a["referrals"] == [5, 5]
    assert a["follow_ups"] == [7, 5]
    assert a["managed"] == [6, 5]
    b = figures[w.other_school_id]
    assert b["enrolled"] == 1 and b["screened"] == 0
    district = figures[None]
    assert district["enrolled"] == 13 and district["screened"] == 10
    assert district["ack"] == [5, 3.0, 7.6] and district["assess"] == [5, 48.0, 80.0]
    with app.app_context():
        october = compute_month(date(2026, 10, 1))
    assert october[w.school_id]["scales"] == {"PHQ-9": [1, 0]} and october[w.school_id]["screened"] == 1


def _row(page, name):
    import re
    match = re.search(rf"<tr><td>{re.escape(name)}</td>(.*?)</tr>", page.replace("\n", "").replace("  ", ""), re.S)
    assert match, name
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td>(.*?)</td>", match.group(1))]


def test_district_dashboard_shows_the_figures_suppressed(app, figures_world, client_factory):
    admin = login_as(client_factory, "admin")
    page = admin.get("/admin?month=2026-11").get_data(as_text=True)
    page = page[page.index('data-testid="panel-schools-2026-11"'):]
    school_a = _row(page, "Middle School A")
    # enrolled, screened, coverage, positive, critical, high, moderate, ack med, ack p90, assess med, assess p90,
    # referral completion, follow-up rate, management rate
    assert school_a == ["12", "10", "83.3", "35.0", "5", "0", "&lt;5", "3.0", "7.6", "48.0", "80.0", "100.0", "71.4", "83.3"]
    school_b = _row(page, "High School B")
    assert school_b[:4] == ["&lt;5", "0", "&lt;5", "–"]
    district = _row(page, "District total")
    assert district[:4] == ["13", "10", "76.9", "35.0"]
    assert "随访率" in page and "管理率" in page  # the definitions are on the page
    csv = admin.get("/dashboards/district/schools-2026-11.csv?month=2026-11").get_data(as_text=True)
    assert "Middle School A,12,10,83.3,35.0,5,0,<5,3.0,7.6,48.0,80.0,100.0,71.4,83.3" in csv
    positive = admin.get("/dashboards/district/positive-2026-11.csv?month=2026-11").get_data(as_text=True)
    positive = positive.replace("\r", "")
    assert "Month,GAD-7 responses,GAD-7 positive rate (%),PHQ-9 responses,PHQ-9 positive rate (%)" in positive
    assert "\n2026-11,10,<5,10,60.0\n" in positive  # GAD-7: 1 positive of 10 is suppressed
    assert "\n2026-10,0,,<5,<5\n" in positive


def test_teacher_figures(app, figures_world, client_factory):
    fw = figures_world
    teacher = login_as(client_factory, "teacher")
    page = teacher.get(f"/teacher?campaign={fw.november_id}").get_data(as_text=True)
    csv = teacher.get(f"/dashboards/teacher/bands-{fw.november_id}-PHQ-9.csv?campaign={fw.november_id}").get_data(as_text=True)
    assert "Class 8-1,<5,0,<5,0,0,10" in csv  # 9 minimal, 1 moderate: both hidden (complementary suppression)
    # On her own screen she sees the students behind every number, so the numbers are shown as they are (issue 17
    # item 15): the same row, 9 minimal and 1 moderate, each a link to its students.
    assert "<title>Minimal: 9</title>" in page and "<title>Moderate: 1</title>" in page
    assert re.search(r'band=minimal">9</a></td>\s*<td>0</td>\s*<td><a href="[^"]*band=moderate">1</a>', page)
    assert "&lt;5" not in page
    trend = teacher.get("/dashboards/teacher/trend-PHQ-9.csv").get_data(as_text=True).replace("\r", "")
    lines = [l for l in trend.splitlines() if l.startswith("Autumn screening")]
    assert lines[0].endswith("2026-10-10,<5,0,<5")  # 0 of 1: the rate is suppressed and lines[1].endswith("2026-11-10,10,6,60.0")
    # the worklist: reliable deterioration of student 5 (PHQ-9 1 → 10), 1 overdue follow-up (s7, due 18 Nov)
    assert 'data-testid="deterioration"' in page and "Student 5</a>" in page and "PHQ-9 1 → 10" in page
    progress = teacher.get(f"/dashboards/teacher/progress-{fw.november_id}.csv").get_data(as_text=True)
    assert "Class 8-1,12,10,10" in progress


def test_drilldown_lists_only_students_in_scope_and_is_audited(app, figures_world, client_factory):
    from sqlalchemy import func, select

    from app.audit.models import AuditEvent
    from app.extensions import db

    fw = figures_world
    teacher = login_as(client_factory, "teacher")
    page = teacher.get(f"/teacher/students?campaign={fw.november_id}&scale=PHQ-9&positive=1").get_data(as_text=True)
    names = sorted(set(__import__("re").findall(r">(Student \d+)</a>", page)))
    assert names == [f"Student {i}" for i in range(6)]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                                 .where(AuditEvent.action == "drilldown_viewed")) == 6
    other = login_as(client_factory, "other_teacher")
    assert other.get(f"/teacher/students?campaign={fw.november_id}&scale=PHQ-9").status_code == 404
    assert teacher.get("/teacher/students?campaign=abc").status_code == 404


def test_doctor_waits_against_targets(app, figures_world, client_factory):
    doctor = login_as(client_factory, "doctor")
    csv = doctor.get("/dashboards/doctor/waits.csv").get_data(as_text=True).replace("\r", "")
    # critical: target 24 h; 5 assessed in the last 90 days, 13.5/19.5/37.5/39.5/89.5 h → median 37.5, P90 69.5;
    # 2 within target → "<5"
    assert "Critical,24,0,0,5,37.5,69.5,<5" in csv
    page = doctor.get("/doctor").get_data(as_text=True)
    assert 'data-testid="reviews"' in page and "2026-11-28" in page
