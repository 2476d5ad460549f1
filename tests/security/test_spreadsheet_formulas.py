"""Every CSV and XLSX the application writes keeps text people wrote as text: a class, school, campaign or user named
like a formula is never run by the spreadsheet that opens the export (OWASP CSV injection)."""
import csv
import io
import zipfile

from openpyxl import load_workbook
from sqlalchemy import select

from app.accounts.models import User
from app.core import clock
from app.extensions import db
from app.orgs.models import ClassGroup, School
from app.screening.models import Campaign
from tests.conftest import login_as

CLASS_NAME = '=HYPERLINK("https://evil.example","8-1")'  # 40 characters: the column's length
TITLE = "@SUM(1+1)*cmd|' /C calc'!A0"
SCHOOL_NAME = "+1+cmd|' /C calc'!A0"
USERNAME = "-2+3+cmd|' /C calc'!A0"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _rename(app, case):
    with app.app_context():
        db.session.get(ClassGroup, case.class_id).name = CLASS_NAME
        db.session.get(Campaign, case.campaign).title = TITLE
        db.session.get(School, case.school).name = SCHOOL_NAME
        db.session.scalar(select(User).where(User.username == "teacher")).username = USERNAME
        db.session.commit()
        db.session.remove()


def _csv_cells(response):
    assert response.status_code == 200, response.status_code
    text = response.get_data().decode("utf-8-sig")
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


def _assert_csv_inert(response, *texts):
    cells = _csv_cells(response)
    for cell in cells:
        assert not cell.startswith(FORMULA_START) or cell.lstrip("-").replace(".", "").isdigit(), cell
    for text in texts:
        assert "'" + text in cells, (text, cells)


def _assert_xlsx_inert(response, *texts):
    assert response.status_code == 200, response.status_code
    with zipfile.ZipFile(io.BytesIO(response.get_data())) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in archive.read(name) and b"<f " not in archive.read(name), name
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    cells = {cell.value: cell.data_type for row in sheet.iter_rows() for cell in row if cell.value is not None}
    for text in texts:
        assert any(text in str(value) and kind == "s" for value, kind in cells.items()), (text, cells)


def test_teacher_exports_keep_a_formula_named_class_and_campaign_as_text(app, client_factory, case):
    _rename(app, case)
    teacher = login_as(client_factory, "teacher2")
    base = f"/dashboards/teacher/progress-{case.campaign}"
    _assert_csv_inert(teacher.get(base + ".csv"), CLASS_NAME)
    _assert_xlsx_inert(teacher.get(base + ".xlsx"), CLASS_NAME, TITLE)


def test_district_exports_keep_a_formula_named_school_as_text(app, client_factory, case):
    _rename(app, case)
    admin = login_as(client_factory, "admin")
    month = f"{clock.today():%Y-%m}"
    base = f"/dashboards/district/schools-{month}"
    _assert_csv_inert(admin.get(f"{base}.csv?month={month}"), SCHOOL_NAME)
    _assert_xlsx_inert(admin.get(f"{base}.xlsx?month={month}"), SCHOOL_NAME)


def test_the_access_log_keeps_a_formula_named_user_as_text(app, client_factory, case):
    _rename(app, case)
    admin = login_as(client_factory, "admin")
    _assert_csv_inert(admin.get(f"/admin/students/{case.student}/access-log.csv"), USERNAME)


def test_every_csv_and_xlsx_is_written_by_the_one_module():
    """Static check: only app/core/spreadsheets.py writes CSV or XLSX (csv.writer, openpyxl's Workbook)."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    for path in (root / "app").rglob("*.py"):
        rel = path.relative_to(root).as_posix()
        if rel == "app/core/spreadsheets.py":
            continue
        source = path.read_text(encoding="utf-8")
        assert not re.search(r"csv\.(writer|DictWriter)|\bWorkbook\(|write_only", source), \
            f"{rel}: write CSV and XLSX with app.core.spreadsheets"


def test_xml_illegal_characters_do_not_stop_an_xlsx(app, client_factory, case):
    """A vertical tab pasted into a class name cannot be written into XLSX's XML: replaced, never a 500."""
    with app.app_context():
        db.session.get(ClassGroup, case.class_id).name = "8-1\x0b\x01"
        db.session.commit()
        db.session.remove()
    teacher = login_as(client_factory, "teacher")
    response = teacher.get(f"/dashboards/teacher/progress-{case.campaign}.xlsx")
    assert response.status_code == 200
    values = [c.value for row in load_workbook(io.BytesIO(response.get_data())).active.iter_rows() for c in row]
    assert "8-1\ufffd\ufffd" in values
