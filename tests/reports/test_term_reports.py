"""一校一总结 and 一县一分析: the figures on the PDF (read back with pdftotext) and in the XLSX, suppression, the
definitions printed, recent authentication, and who may download which."""
import subprocess
from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app.core import clock
from app.extensions import db
from app.orgs.models import School
from app.orgs.school_year import term_of
from tests.conftest import login_as
from tests.helpers import GAD7_LOW, PHQ9_CRITICAL, PHQ9_LOW, answer_all, launch_campaign


def pdf_text(body: bytes) -> str:
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=body, capture_output=True, check=True).stdout.decode()


def xlsx_cells(body: bytes) -> dict:
    book = load_workbook(BytesIO(body))
    return {sheet.title: [[c.value for c in row] for row in sheet.iter_rows()] for sheet in book}


@pytest.fixture
def screened(app, world, client_factory):
    """Five of the middle school's six students screened (Student 0 with a critical PHQ-9 answer); Student 1 named
    committee member, who reported a concern about Student 2."""
    teacher = login_as(client_factory, "teacher")
    _campaign_id, code = launch_campaign(teacher, world.class_id)
    http = app.test_client()
    for i in range(5):
        answer_all(http, code, world.students[i], {"PHQ-9": PHQ9_CRITICAL if i == 0 else PHQ9_LOW, "GAD-7": GAD7_LOW})
    assert teacher.post("/committee/members", {"student_number": world.students[1]["number"]}).status_code == 302
    from tests.committee.test_committee import Member

    member = Member(app, world.students[1])
    member.sign_in()
    assert member.report(world.student_ids[2]).status_code == 302
    return teacher


def test_school_summary_pdf_prints_the_figures_and_definitions(app, world, screened):
    response = screened.get("/reports/term-summary.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = pdf_text(response.get_data())
    year, number = term_of(clock.today())
    assert "Middle School A" in text and f"{year} school year, term {number}" in text
    lines = {" ".join(line.split()[:-1]): line.split()[-1] for line in text.splitlines() if line.strip()}
    assert lines["Students enrolled"] == "6" and lines["Students screened"] == "5"
    assert lines["Coverage (%)"] == "83.3"
    assert lines["Alerts opened: Critical"] == "<5"     # one critical alert: suppressed
    assert lines["Concerns about a classmate"] == "<5"
    assert lines["Follow-up rate (%)"] == "–"            # nothing due
    assert "PHQ-9" in text and "GAD-7" in text
    assert "How the figures are counted" in text and "Follow-ups due in the term done on or before" in text
    assert lines["Second-stage interviews"] == "0" and lines["Warning level at the term's end: Red (I)"] == "0"
    assert "Student 0" not in text and "Student 2" not in text


def test_school_summary_xlsx_has_a_sheet_per_section_and_the_definitions(app, world, screened):
    response = screened.get("/reports/term-summary.xlsx")
    assert response.status_code == 200 and response.headers["Content-Disposition"].startswith("attachment")
    sheets = xlsx_cells(response.get_data())
    assert set(sheets) == {"overview", "coverage_by_grade", "positives", "committee", "definitions"}
    overview = {row[0]: row[1] for row in sheets["overview"] if row and len(row) > 1}
    assert overview["Students screened"] == 5 and overview["Coverage (%)"] == 83.3
    grade = next(row for row in sheets["coverage_by_grade"] if row[0] == 8)
    assert grade[1:] == [6, 5, 83.3]
    assert any(row[0] == "Coverage" for row in sheets["definitions"])


def test_district_analysis_suppresses_and_keeps_text_as_text(app, world, screened, client_factory):
    with app.app_context():
        db.session.get(School, world.other_school_id).name = '=HYPERLINK("http://evil.test","x")'
        db.session.commit()
        db.session.remove()
    admin = login_as(client_factory, "admin")
    pdf = admin.get("/reports/district-analysis.pdf")
    assert pdf.status_code == 200
    text = pdf_text(pdf.get_data())
    assert "District analysis" in text and "Per school" in text and "How the figures are counted" in text
    assert "Middle School A" in text and "Student 0" not in text
    row = next(line for line in text.splitlines() if line.startswith("Middle School A"))
    assert "83.3" in row and "<5" in row
    body = admin.get("/reports/district-analysis.xlsx").get_data()
    book = load_workbook(BytesIO(body))
    cell = next(c for row in book["schools"].iter_rows() for c in row if str(c.value).startswith("=HYPERLINK"))
    assert cell.data_type == "s"
    schools = {row[0]: row for row in xlsx_cells(body)["schools"] if row and row[0]}
    other = schools['=HYPERLINK("http://evil.test","x")']
    assert other[2] == "<5" and other[3] == 0          # one student enrolled, none screened


def test_downloads_ask_for_recent_authentication(app, world, client_factory):
    teacher = login_as(client_factory, "teacher")
    with teacher.http.session_transaction() as session:
        session["auth_at"] = int(clock.now().timestamp()) - 3600
    response = teacher.get("/reports/term-summary.pdf")
    assert response.status_code == 302 and response.headers["Location"].startswith("/reauth")


@pytest.mark.parametrize("user,url,status", [
    ("teacher", "/reports/district-analysis.pdf", 404), ("teacher", "/reports/district-analysis.xlsx", 404),
    ("admin", "/reports/term-summary.pdf", 404), ("homeroom", "/reports/term-summary.pdf", 404),
    ("doctor", "/reports/district-analysis.xlsx", 404), ("homeroom", "/reports", 404),
    ("teacher", "/reports", 200), ("admin", "/reports", 200)])
def test_who_downloads_what(app, world, client_factory, user, url, status):
    assert login_as(client_factory, user).get(url).status_code == status


def test_another_schools_teacher_gets_their_own_schools_summary(app, world, screened, client_factory):
    text = pdf_text(login_as(client_factory, "other_teacher").get("/reports/term-summary.pdf").get_data())
    assert "High School B" in text and "Middle School A" not in text
    lines = {" ".join(line.split()[:-1]): line.split()[-1] for line in text.splitlines() if line.strip()}
    assert lines["Students screened"] == "0" and lines["Students enrolled"] == "<5"


@pytest.mark.parametrize("term", ["2099-2100-1", "garbage", "2026-2028-1", "2026-2027-3"])
def test_an_unusable_term_gives_the_current_one(app, world, client_factory, term):
    teacher = login_as(client_factory, "teacher")
    text = pdf_text(teacher.get(f"/reports/term-summary.pdf?term={term}").get_data())
    year, number = term_of(clock.today())
    assert f"{year} school year, term {number}" in text


def test_the_summary_reads_in_chinese(app, world, screened, tmp_path):
    """The interface is Chinese first: the PDF's headings and definitions in Chinese, in an embedded CJK font."""
    screened.http.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    body = screened.get("/reports/term-summary.pdf").get_data()
    (tmp_path / "summary.pdf").write_bytes(body)
    text = pdf_text(body)
    assert "一校一总结：Middle School A" in text and "各量表、各年级阳性结果" in text
    assert "本学期到期且按期完成的随访数" in text and "学期末预警等级" in text
    fonts = subprocess.run(["pdffonts", str(tmp_path / "summary.pdf")], capture_output=True, check=True).stdout.decode()
    assert "WenQuanYi" in fonts or "STSong" in fonts


def test_the_term_counts_interviews_and_the_warning_level_in_force_at_its_end(app, world, screened):
    """Issue 19 item 7: the summary counts the second stage: interviews recorded in the term, and each register line
    by the level in force at the term's end (a level lowered later in the term counts once, at its new level)."""
    from app.reports.term import Term, term_figures
    from tests.register.helpers import interview_form

    assert screened.post(f"/register/students/{world.student_ids[0]}/interview", interview_form("red")).status_code == 302
    assert screened.post(f"/register/students/{world.student_ids[1]}/interview", interview_form("orange")).status_code == 302
    assert screened.post(f"/register/students/{world.student_ids[1]}/interview", interview_form("yellow")).status_code == 302
    with app.app_context():
        figures = term_figures(Term.current(), [world.school_id])[world.school_id]
        assert figures["interviews"] == 3
        assert dict(figures["warning"]) == {"red": 1, "yellow": 1}
        other = term_figures(Term.current(), [world.other_school_id])[world.other_school_id]
        assert other["interviews"] == 0 and not other["warning"]
    text = pdf_text(screened.get("/reports/term-summary.pdf").get_data())
    lines = {" ".join(line.split()[:-1]): line.split()[-1] for line in text.splitlines() if line.strip()}
    assert lines["Second-stage interviews"] == "<5" and lines["Warning level at the term's end: Red (I)"] == "<5"
    assert lines["Warning level at the term's end: Orange (II)"] == "0"
    assert "Interviews the school's psychology teachers recorded" in text  # its definition is printed
