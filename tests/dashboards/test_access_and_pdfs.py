"""Access to dashboard figures, exports and reports; PDF text through pdftotext; exports audited."""
import re
import shutil
import subprocess

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.extensions import db
from tests.browser.conftest import ARTIFACTS
from tests.conftest import login_as

pdftotext = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) not installed")


def text_of(pdf_bytes, tmp_path, keep_as=None):
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf_bytes)
    if keep_as:  # kept under test-artifacts/ so that a person can look at the pages (pdftoppm -png)
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / keep_as).write_bytes(pdf_bytes)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True).stdout


def test_a_teacher_never_sees_another_schools_numbers(app, figures_world, client_factory):
    fw = figures_world
    other = login_as(client_factory, "other_teacher")
    page = other.get("/teacher").get_data(as_text=True)
    assert "Middle School A" not in page and "Autumn screening" not in page and "Student 0" not in page
    for url in (f"/teacher?campaign={fw.november_id}",):
        assert "Autumn screening" not in other.get(url).get_data(as_text=True)
    for url in (f"/dashboards/teacher/bands-{fw.november_id}-PHQ-9.csv?campaign={fw.november_id}",
                f"/dashboards/teacher/progress-{fw.november_id}.csv", "/dashboards/teacher/trend-PHQ-9.csv",
                f"/campaigns/{fw.november_id}/classes/{fw.world.class_id}/report.pdf",
                f"/students/{fw.students[0]['id']}/report.pdf",
                f"/teacher/students?campaign={fw.november_id}"):
        assert other.get(url).status_code == 404, url


@pytest.mark.parametrize("username, allowed", [
    ("teacher", {"teacher"}), ("doctor", {"doctor"}), ("admin", {"district"}), ("homeroom", set())])
def test_each_role_exports_only_its_own_dashboard(app, figures_world, client_factory, username, allowed):
    c = login_as(client_factory, username)
    urls = {"teacher": "/dashboards/teacher/trend-PHQ-9.csv", "doctor": "/dashboards/doctor/waits.csv",
            "district": "/dashboards/district/schools-2026-11.csv?month=2026-11"}
    for view, url in urls.items():
        assert c.get(url).status_code == (200 if view in allowed else 404), (username, url)
    assert c.get("/district/monthly.pdf").status_code == (200 if "district" in allowed else 404)


def test_a_doctor_sees_only_partner_schools_aggregates(app, figures_world, client_factory):
    partner = login_as(client_factory, "doctor").get("/dashboards/doctor/partners.csv").get_data(as_text=True)
    assert "Middle School A,5,0" in partner and "High School B,0,0" in partner
    outsider = login_as(client_factory, "other_doctor").get("/dashboards/doctor/partners.csv").get_data(as_text=True)
    assert "Middle School A" not in outsider and "High School B" not in outsider
    page = login_as(client_factory, "other_doctor").get("/doctor").get_data(as_text=True)
    assert "Student 0" not in page and "R0000" not in page


def test_exports_are_audited_and_xlsx_holds_the_same_numbers(app, figures_world, client_factory):
    admin = login_as(client_factory, "admin")
    response = admin.get("/dashboards/district/schools-2026-11.xlsx?month=2026-11")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    import io
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = [[c.value for c in r] for r in sheet.iter_rows()]
    school_a = next(r for r in rows if r[0] == "Middle School A")
    assert school_a[1:8] == [12, 10, 83.3, 35.0, 5, 0, "<5"]
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "export")).all()
        assert any(e.detail.get("table") == "schools-2026-11" and e.detail.get("format") == "xlsx" for e in events)
    assert admin.get("/dashboards/district/nope.csv").status_code == 404
    assert admin.get("/dashboards/district/schools-2026-11.pdf").status_code == 404


@pdftotext
def test_monthly_report_pdf(app, figures_world, client_factory, tmp_path):
    admin = login_as(client_factory, "admin")
    response = admin.get("/district/monthly.pdf?month=2026-11")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = text_of(response.data, tmp_path, keep_as="monthly-report.pdf")
    assert "月报" in text and "2026-11" in text
    line = next(l for l in text.splitlines() if l.strip().startswith("Middle School A"))
    assert re.findall(r"\S+", line)[3:17] == ["12", "10", "83.3", "35.0", "5", "0", "<5", "3.0", "7.6", "48.0", "80.0",
                                                "100.0", "71.4", "83.3"]
    assert "随访率" in text and "管理率" in text


@pdftotext
def test_student_and_class_report_pdfs(app, figures_world, client_factory, tmp_path):
    fw = figures_world
    teacher = login_as(client_factory, "teacher")
    student = teacher.get(f"/students/{fw.students[5]['id']}/report.pdf")
    assert student.status_code == 200
    text = text_of(student.data, tmp_path, keep_as="student-report.pdf")
    assert "Student 5" in text and "S0005" in text and "PHQ-9: 10" in text and "PHQ-9: 1 " in text
    assert "Scores over time" in text
    klass = teacher.get(f"/campaigns/{fw.november_id}/classes/{fw.world.class_id}/report.pdf")
    text = text_of(klass.data, tmp_path, keep_as="class-report.pdf")
    assert "Class 8-1" in text and "Student 0" not in text  # aggregates only, no names
    assert "<5" not in text  # her own class, whose names she sees: every figure as it is (issue 17 item 15)
    assert re.search(r"12\s+10\s+10\s+83\.3", text)  # invited, started, submitted, completion
    doctor_pdf = login_as(client_factory, "doctor").get(f"/students/{fw.students[0]['id']}/report.pdf")
    assert doctor_pdf.status_code == 200 and "Seen." in text_of(doctor_pdf.data, tmp_path)  # the referred student's file
    assert login_as(client_factory, "doctor").get(f"/students/{fw.students[7]['id']}/report.pdf").status_code == 404
    assert login_as(client_factory, "admin").get(f"/students/{fw.students[0]['id']}/report.pdf").status_code == 404
