"""Every CSV and XLSX file the application writes is made here, so that text people wrote stays text.

A spreadsheet runs a cell that starts with = + - @ (or a tab or CR before one) as a formula: a class named
`=HYPERLINK("https://…","click")` would be a live link in the district's export (OWASP "CSV injection"). CSV cells
that start so get a leading apostrophe, which spreadsheets show as text; XLSX cells are written with the string type
explicitly (openpyxl would make `=…` a formula), and characters that XML 1.0 cannot hold are replaced.
The rule is five lines, so it is written here rather than taken from a CSV-only library (defusedcsv): XLSX needs it too.
"""
import csv
import io

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _plain(value):
    return "" if value is None else value


def csv_cell(value):
    """A value for a CSV cell: numbers as they are, text that a spreadsheet would run prefixed with an apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return _plain(value)


def csv_bytes(rows) -> bytes:
    """UTF-8 with a BOM, so that Excel on a school PC opens Chinese text correctly. `rows` are lists of values."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([csv_cell(value) for value in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _xlsx_value(value):
    if value is None or isinstance(value, (int, float)):
        return value
    return ILLEGAL_CHARACTERS_RE.sub("\ufffd", str(value))


def xlsx_bytes(title: str, rows) -> bytes:
    """One sheet named `title` (cut to Excel's 31 characters); numbers stay numbers, everything else is a string
    cell, never a formula."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _xlsx_sheet_title(title)
    for row in rows:
        sheet.append([_xlsx_value(value) for value in row])
    for row in sheet.iter_rows():
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # openpyxl made "=…" a formula on assignment
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _xlsx_sheet_title(title: str) -> str:
    # Excel refuses these characters in a sheet name, and a name longer than 31 characters.
    cleaned = "".join("_" if c in '[]:*?/\\' else c for c in ILLEGAL_CHARACTERS_RE.sub("", title or ""))
    return cleaned[:31] or "data"


def xlsx_workbook_bytes(sheets) -> bytes:
    """Several sheets, [(title, rows)], with the same rules as xlsx_bytes: numbers stay numbers, text stays text."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    used = set()
    for title, rows in sheets:
        name = _xlsx_sheet_title(title)
        while name in used:  # Excel refuses two sheets of one name
            name = name[:28] + f"_{len(used)}"
        used.add(name)
        sheet = workbook.create_sheet(name)
        for row in rows:
            sheet.append([_xlsx_value(value) for value in row])
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str):
                    cell.data_type = "s"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
