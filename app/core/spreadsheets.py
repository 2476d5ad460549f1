"""Every CSV and XLSX file the application writes is made here, so that text people wrote stays text.

A spreadsheet runs a cell that starts with = + - @ (or a tab or CR before one) as a formula: a class named
`=HYPERLINK("https://…","click")` would be a live link in the district's export (OWASP "CSV injection"). CSV cells
that start so get a leading apostrophe, which spreadsheets show as text; XLSX cells are written with the string type
explicitly (openpyxl would make `=…` a formula), and characters that XML 1.0 cannot hold are replaced.
The rule is five lines, so it is written here rather than taken from a CSV-only library (defusedcsv): XLSX needs it too.
"""
import csv
import io
import tempfile

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
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
    return b"".join(csv_stream(rows))


CSV_CHUNK_ROWS = 500


def csv_stream(rows, chunk_rows=CSV_CHUNK_ROWS):
    """The same file as csv_bytes(), as chunks of bytes: the BOM at once, then every `chunk_rows` rows. Memory stays
    constant whatever the number of rows (give it an iterator, e.g. a server-side cursor)."""
    yield "\ufeff".encode("utf-8")
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    pending = 0
    for row in rows:
        writer.writerow([csv_cell(value) for value in row])
        pending += 1
        if pending >= chunk_rows:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    if pending:
        yield buffer.getvalue().encode("utf-8")


def write_csv(out, rows):
    """Write csv_stream(rows) into the binary file `out` (a ZIP member, a job's file)."""
    for chunk in csv_stream(rows):
        out.write(chunk)


def _xlsx_value(value):
    if value is None or isinstance(value, (int, float)):
        return value
    return ILLEGAL_CHARACTERS_RE.sub("\ufffd", str(value))


def xlsx_bytes(title: str, rows) -> bytes:
    """One sheet named `title` (cut to Excel's 31 characters); numbers stay numbers, everything else is a string
    cell, never a formula."""
    out = io.BytesIO()
    write_xlsx(out, title, rows)
    return out.getvalue()


XLSX_MAX_ROWS = 1_048_576  # Excel's limit per sheet


def write_xlsx(out, title: str, rows, header=None, sheet_rows=XLSX_MAX_ROWS):
    """Write rows into `out` (a path or a binary file) with openpyxl's write-only mode: rows go to a temporary
    file as they come, so memory stays constant whatever their number. Past `sheet_rows` rows a new sheet is
    started (named `title 2`, `title 3` …), each beginning with `header` when given. Returns the number of rows."""
    workbook = Workbook(write_only=True)
    sheet, in_sheet, sheets, count = None, sheet_rows, 0, 0
    for row in rows:
        if in_sheet >= sheet_rows:
            sheets += 1
            sheet = workbook.create_sheet(_xlsx_sheet_title(title if sheets == 1 else f"{title[:26]} {sheets}"))
            in_sheet = 0
            if header is not None:
                sheet.append(_xlsx_row(sheet, header))
                in_sheet = 1
        sheet.append(_xlsx_row(sheet, row))
        in_sheet += 1
        count += 1
    if sheet is None:
        sheet = workbook.create_sheet(_xlsx_sheet_title(title))
        if header is not None:
            sheet.append(_xlsx_row(sheet, header))
    workbook.save(out)
    return count


def _xlsx_row(sheet, row):
    cells = []
    for value in row:
        value = _xlsx_value(value)
        if isinstance(value, str):
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"  # openpyxl makes "=…" a formula on assignment
            cells.append(cell)
        else:
            cells.append(value)
    return cells


def xlsx_stream(title: str, rows, chunk_bytes=64 * 1024):
    """An XLSX file as chunks of bytes for a streamed response. A ZIP's directory comes last, so the file is built
    first (write-only, in a temporary file that spills to disk past a few MB) and then sent in chunks: memory
    stays constant, but the first byte waits for the last row. Large exports run as a job (app/exports)."""
    spool = tempfile.SpooledTemporaryFile(max_size=4 * 1024 * 1024)
    write_xlsx(spool, title, rows)
    spool.seek(0)
    try:
        while chunk := spool.read(chunk_bytes):
            yield chunk
    finally:
        spool.close()


def copy_file_chunks(path, chunk_bytes=64 * 1024):
    """Yield a file's bytes in chunks (a job's finished export)."""
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_bytes):
            yield chunk



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
