"""Hostile roster files are refused early, with a clear message, and store nothing: a zip bomb before openpyxl reads
a byte, XML entities by the hardened parser, an endless sheet or CSV at the row limit while it is read."""
import io
import zipfile

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from app.core import clock
from app.extensions import db
from app.orgs.school_year import academic_year
from app.students import roster_file
from app.students.models import RosterImport, Student
from tests.conftest import login_as

HEADER = ["school", "class", "grade", "student_number", "name", "sex", "birth_date"]
SHEET = "xl/worksheets/sheet1.xml"
SHEET_START = ('<?xml version="1.0" encoding="UTF-8"?>'
               '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
SHEET_END = "</sheetData></worksheet>"
HEADER_ROW = "<row>" + "".join(f'<c t="inlineStr"><is><t>{h}</t></is></c>' for h in HEADER) + "</row>"
LAUGHS = ('<!DOCTYPE lolz [<!ENTITY lol "lol">'
          + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
          + "]>")


def _xlsx_with(replace: dict) -> bytes:
    """A real XLSX made by openpyxl, with some of its parts replaced: name → bytes, or a function writing the part."""
    book = Workbook()
    book.active.append(HEADER)
    book.active.append(["Middle School A", "Class 8-1", 8, "N0001", "New Pupil", "F", "2012-03-04"])
    original = io.BytesIO()
    book.save(original)
    out = io.BytesIO()
    with zipfile.ZipFile(original) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            part = replace.get(item.filename, source.read(item.filename))
            if callable(part):
                with target.open(item.filename, "w", force_zip64=True) as stream:
                    part(stream)
            else:
                target.writestr(item.filename, part)
        for name, part in replace.items():
            if name not in source.namelist():
                target.writestr(name, part)
    return out.getvalue()


def _rows_part(count, row):
    def write(stream):
        stream.write(SHEET_START.encode() + HEADER_ROW.encode())
        chunk = (row * 1000).encode()
        for _ in range(count // 1000):
            stream.write(chunk)
        stream.write(SHEET_END.encode())
    return write


def _upload(client, data, name):
    return client.post("/rosters", {"file": (io.BytesIO(data), name), "academic_year": academic_year(clock.today())},
                       content_type="multipart/form-data")


def _nothing_stored(app):
    with app.app_context():
        assert db.session.scalar(select(func.count(RosterImport.id))) == 0
        assert db.session.scalar(select(func.count(Student.id))) == 7  # the world's
        db.session.remove()


@pytest.fixture
def openpyxl_reads(monkeypatch):
    """Rows openpyxl handed out, and whether it was asked to open a workbook at all."""
    import openpyxl
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

    seen = {"opened": 0, "rows": 0}
    real_open, real_rows = openpyxl.load_workbook, ReadOnlyWorksheet._cells_by_row

    def opened(*args, **kwargs):
        seen["opened"] += 1
        return real_open(*args, **kwargs)

    def counted(self, *args, **kwargs):
        for row in real_rows(self, *args, **kwargs):
            seen["rows"] += 1
            yield row

    monkeypatch.setattr("openpyxl.load_workbook", opened)
    monkeypatch.setattr(ReadOnlyWorksheet, "_cells_by_row", counted)
    return seen


def test_a_zip_bomb_is_refused_before_openpyxl_reads_it(app, world, client_factory, openpyxl_reads):
    """About 60 MB of sheet XML in a small upload (the penetration test's 2.3 MB held 536 MB and a worker for two
    minutes): refused from the zip's own directory, with the limit named, and nothing stored."""
    bomb = _xlsx_with({SHEET: _rows_part(60_000, '<row><c t="inlineStr"><is><t>' + "A" * 1000 + "</t></is></c></row>")})
    assert len(bomb) < 2 * 1024 * 1024
    admin = login_as(client_factory, "admin")
    response = _upload(admin, bomb, "roster.xlsx")
    assert response.status_code == 400
    assert "unpacks to more than 40 MB" in response.get_data(as_text=True)
    assert openpyxl_reads["opened"] == 0
    _nothing_stored(app)


def test_a_zip_that_lies_about_its_sizes_is_refused_by_what_it_unpacks_to(app, world):
    """The directory may declare small sizes; the real unpacked bytes are counted too."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as target:
        target.writestr("xl/worksheets/sheet1.xml", b"A" * (3 * 1024 * 1024))
    data = bytearray(archive.getvalue())
    # patch the uncompressed size in the central directory and the local header down to 1 KB
    for signature, offset in ((b"PK\x01\x02", 24), (b"PK\x03\x04", 22)):
        at = data.find(signature)
        data[at + offset:at + offset + 4] = (1024).to_bytes(4, "little")
    with pytest.raises(roster_file.RosterError) as refused:
        roster_file.check_zip(bytes(data), max_unpacked=2 * 1024 * 1024)
    assert refused.value.code in ("unpacks_too_large", "malformed")
    with pytest.raises(roster_file.RosterError) as honest:
        roster_file.check_zip(archive.getvalue(), max_unpacked=2 * 1024 * 1024)
    assert honest.value.code == "unpacks_too_large"


def test_a_zip_of_many_parts_is_refused(app, world, client_factory, openpyxl_reads):
    many = _xlsx_with({f"xl/media/part{i}.xml": b"<x/>" for i in range(roster_file.MAX_ZIP_ENTRIES + 1)})
    response = _upload(login_as(client_factory, "admin"), many, "roster.xlsx")
    assert response.status_code == 400 and "could not be read" in response.get_data(as_text=True)
    assert openpyxl_reads["opened"] == 0
    _nothing_stored(app)


@pytest.mark.parametrize("part", ["xl/workbook.xml", SHEET])
def test_xml_entities_are_refused_by_the_hardened_parser(app, world, client_factory, part):
    """A billion-laughs part (it gave a 500) is a clear 400: openpyxl parses with defusedxml, which refuses
    entity declarations."""
    with zipfile.ZipFile(io.BytesIO(_xlsx_with({}))) as source:
        xml = source.read(part).decode()
    declaration_end = xml.index("?>") + 2 if xml.startswith("<?xml") else 0
    hostile = xml[:declaration_end] + LAUGHS + xml[declaration_end:]
    hostile = hostile.replace("New Pupil", "&lol9;") if part == SHEET else hostile.replace('name="Sheet"', 'name="&lol9;"')
    assert "&lol9;" in hostile
    response = _upload(login_as(client_factory, "admin"), _xlsx_with({part: hostile.encode()}), "roster.xlsx")
    assert response.status_code == 400 and "could not be read" in response.get_data(as_text=True)
    _nothing_stored(app)


def test_openpyxl_parses_with_defusedxml_and_it_is_pinned():
    from pathlib import Path

    from openpyxl.xml import functions

    assert functions.iterparse.__module__.startswith("defusedxml")
    assert functions.fromstring.__module__.startswith("defusedxml")
    requirements = (Path(__file__).resolve().parents[2] / "requirements.txt").read_text()
    assert "\ndefusedxml==" in requirements


def test_an_endless_sheet_is_refused_at_the_row_limit_while_it_is_read(app, world, client_factory, openpyxl_reads):
    """200,000 small rows (9 MB of XML, under the unpacked limit): reading stops just past 50,000 rows."""
    rows = _xlsx_with({SHEET: _rows_part(200_000, '<row><c t="inlineStr"><is><t>a</t></is></c></row>')})
    response = _upload(login_as(client_factory, "admin"), rows, "roster.xlsx")
    assert response.status_code == 400 and "more than 50000 rows" in response.get_data(as_text=True)
    assert openpyxl_reads["rows"] <= roster_file.MAX_ROWS + 2
    _nothing_stored(app)


def test_a_csv_of_line_breaks_is_refused_at_the_row_limit(app, world, client_factory):
    """9 MB of empty lines under a header (each a row to hold in memory): refused as too many rows."""
    data = (",".join(HEADER) + "\n").encode() + b",\n" * (9 * 512 * 1024)
    response = _upload(login_as(client_factory, "admin"), data, "roster.csv")
    assert response.status_code == 400 and "more than 50000 rows" in response.get_data(as_text=True)
    _nothing_stored(app)


def test_a_sheet_claiming_every_column_is_read_to_the_column_limit_only(app, world, client_factory):
    """A cell in the last column Excel allows (XFD): the roster is read, the far columns are not."""
    far = ('<row>' + "".join(f'<c t="inlineStr"><is><t>{v}</t></is></c>' for v in
                             ["Middle School A", "Class 8-1", "8", "N0001", "New Pupil", "F", "2012-03-04"])
           + '<c r="XFD2" t="inlineStr"><is><t>far</t></is></c></row>')
    data = _xlsx_with({SHEET: (SHEET_START + HEADER_ROW + far + SHEET_END).encode()})
    response = _upload(login_as(client_factory, "admin"), data, "roster.xlsx")
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


def test_the_message_is_chinese_first(app, world, client_factory):
    from tests.conftest import Client

    bomb = _xlsx_with({SHEET: _rows_part(60_000, '<row><c t="inlineStr"><is><t>' + "A" * 1000 + "</t></is></c></row>")})
    admin = Client(app.test_client(), language="zh-CN")
    admin.login("admin")
    response = _upload(admin, bomb, "roster.xlsx")
    assert response.status_code == 400 and "解压后超过 40 MB" in response.get_data(as_text=True)
