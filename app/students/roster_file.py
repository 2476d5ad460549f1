"""Reading a roster upload (CSV or XLSX) into checked rows: one dict per data row, or the file's one error.

Headers are matched in Chinese or English, loosely (spaces, brackets and case ignored). A row that cannot be used
carries `error` and `detail`; the planner (app/students/roster.py) reports it and blocks the whole import.

An upload is hostile until read: an XLSX is a zip of XML, and 2 MB of zip can unpack to gigabytes or hold XML
entities that expand without end. Before openpyxl reads a byte, the zip's entries are counted and unpacked against a
limit (the declared sizes and the real ones); openpyxl parses with defusedxml (no entities, no DTD); rows are
counted while reading and reading stops at the limit; columns past MAX_COLUMNS are never read. A CSV is counted the
same way. Every refusal is a RosterError, which the views show as a message; nothing is stored.
"""
import csv
import io
import re
import zipfile
from datetime import date, datetime

from app.core import clock

MAX_ROWS = 50_000
MAX_BLANK_ROWS = MAX_ROWS  # blank rows are skipped, but each costs reading: 10 MB of line breaks stops here
MAX_COLUMNS = 64  # a roster has about ten; a sheet claiming 16,384 columns is read no further than this
MAX_ZIP_ENTRIES = 500  # an XLSX from Excel or WPS has about ten
MAX_UNPACKED_BYTES = 40 * 1024 * 1024  # 50,000 rows written by openpyxl (inline strings, the largest form) are 27 MB
_CHUNK = 1024 * 1024
HEADERS = {
    "school": ("school", "学校", "学校名称"),
    "class": ("class", "班级", "班级名称"),
    "grade": ("grade", "年级"),
    "number": ("studentnumber", "number", "学籍号", "全国学籍号"),
    "name": ("name", "姓名"),
    "sex": ("sex", "gender", "性别"),
    "birth_date": ("birthdate", "出生日期", "出生年月日"),
    "guardian_name": ("guardianname", "guardian", "监护人", "监护人姓名"),
    "guardian_phone": ("guardianphone", "phone", "监护人电话", "联系电话"),
}
REQUIRED = ("school", "class", "grade", "number", "name", "sex", "birth_date")
SEXES = {"f": "F", "female": "F", "女": "F", "m": "M", "male": "M", "男": "M"}
NUMBER_RE = re.compile(r"^[A-Za-z0-9]{4,32}$")
PHONE_RE = re.compile(r"^[0-9+\- ]{5,32}$")


class RosterError(ValueError):
    """The file as a whole cannot be read. `code` names the problem; `params` fill the message."""

    def __init__(self, code, **params):
        super().__init__(code)
        self.code = code
        self.params = params



def _norm_header(value) -> str:
    return re.sub(r"[\s_\-（）()]", "", str(value or "")).lower()


def _header_map(header_row):
    lookup = {_norm_header(alias): key for key, aliases in HEADERS.items() for alias in aliases}
    columns = {}
    for index, cell in enumerate(header_row):
        key = lookup.get(_norm_header(cell))
        if key and key not in columns:
            columns[key] = index
    missing = [key for key in REQUIRED if key not in columns]
    if missing:
        raise RosterError("missing_columns", columns=", ".join(missing))
    return columns


def check_zip(data: bytes, max_unpacked: int = MAX_UNPACKED_BYTES) -> None:
    """Refuse a zip with too many entries or that unpacks past `max_unpacked` bytes: the sizes its directory declares
    first (free), then the bytes it really unpacks to, read a chunk at a time and stopped at the limit."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
            if len(entries) > MAX_ZIP_ENTRIES:
                raise RosterError("malformed")  # not a workbook as a spreadsheet program saves one
            if sum(entry.file_size for entry in entries) > max_unpacked:
                raise RosterError("unpacks_too_large", limit=max_unpacked // (1024 * 1024))
            unpacked = 0
            for entry in entries:
                with archive.open(entry) as member:
                    while chunk := member.read(_CHUNK):
                        unpacked += len(chunk)
                        if unpacked > max_unpacked:
                            raise RosterError("unpacks_too_large", limit=max_unpacked // (1024 * 1024))
    except RosterError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, OSError, ValueError) as exc:
        raise RosterError("malformed") from exc  # damaged, encrypted, or a compression zipfile cannot read


def _require_defused_xml():
    """openpyxl parses with defusedxml when it is installed (and OPENPYXL_DEFUSEDXML is not "False"): without it,
    XML entities expand. A deployment without it must fail loudly, not read uploads unprotected."""
    from openpyxl.xml import functions

    if not functions.iterparse.__module__.startswith("defusedxml"):
        raise RuntimeError("openpyxl is not using defusedxml: install the pinned defusedxml and do not set "
                           "OPENPYXL_DEFUSEDXML=False")


def _limited(rows):
    """The rows of `rows`, refusing a file with more than MAX_ROWS rows (a header row and some blank rows aside)
    as soon as it is seen, without reading the rest."""
    kept, blank = [], 0
    for row in rows:
        if row and any(cell not in (None, "") for cell in row):
            if len(kept) > MAX_ROWS:  # the header row and MAX_ROWS data rows are kept already
                raise RosterError("too_many_rows", limit=MAX_ROWS)
            kept.append(list(row[:MAX_COLUMNS]))
        else:
            blank += 1
            if blank > MAX_BLANK_ROWS:
                raise RosterError("too_many_rows", limit=MAX_ROWS)
    return kept


def _rows_from_xlsx(data: bytes):
    from openpyxl import load_workbook

    _require_defused_xml()
    check_zip(data)
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl and the XML parser raise many kinds on a damaged or hostile file  # noqa: BLE001
        raise RosterError("malformed") from exc
    try:
        sheet = workbook.worksheets[0]
        return _limited(sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS))
    except RosterError:
        raise
    except Exception as exc:  # openpyxl raises many kinds on a damaged sheet  # noqa: BLE001
        raise RosterError("malformed") from exc
    finally:
        workbook.close()


def _rows_from_csv(data: bytes):
    for encoding in ("utf-8-sig", "gb18030"):  # Excel in China saves CSV as GB18030
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise RosterError("malformed")
    if "\x00" in text:
        raise RosterError("malformed")
    try:
        return _limited(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise RosterError("malformed") from exc


def read_table(data: bytes, filename: str) -> list[list]:
    """The non-blank rows of an uploaded CSV or XLSX (the header row first, at most MAX_ROWS after it, at most
    MAX_COLUMNS cells each), read with every guard above. Any upload of a table is read through this function."""
    if not data:
        raise RosterError("empty")
    is_xlsx = data[:2] == b"PK" or filename.lower().endswith(".xlsx")
    table = _rows_from_xlsx(data) if is_xlsx else _rows_from_csv(data)
    if not table:
        raise RosterError("empty")
    return table


def read_file(data: bytes, filename: str) -> list[dict]:
    """Parse the upload into one dict per data row (row = the spreadsheet row number)."""
    table = read_table(data, filename)
    columns = _header_map(table[0])
    rows = []
    for offset, raw in enumerate(table[1:], start=2):
        values = {key: raw[index] if index < len(raw) else None for key, index in columns.items()}
        rows.append(parse_row(offset, values))
    if not rows:
        raise RosterError("empty")
    return rows


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _birth_date(value):
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value)
    match = re.fullmatch(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?", text) or re.fullmatch(r"(\d{4})(\d{2})(\d{2})", text)
    if not match:
        return None
    try:
        return date(*(int(part) for part in match.groups()))
    except ValueError:
        return None


def parse_row(row_number: int, values: dict) -> dict:
    """Normalise one row; a row that cannot be used carries `error` (and `detail`) instead."""
    row = {"row": row_number, "school": _text(values.get("school")), "class": _text(values.get("class")),
           "number": _text(values.get("number")).upper(), "name": _text(values.get("name")),
           "guardian_name": _text(values.get("guardian_name"))[:80],
           "guardian_phone": _text(values.get("guardian_phone"))}

    def bad(code, detail=""):
        row.update(error=code, detail=detail)
        return row

    if not row["number"] or not NUMBER_RE.match(row["number"]):
        return bad("bad_number", row["number"])
    if not row["name"] or len(row["name"]) > 80:
        return bad("bad_name")
    if not row["school"]:
        return bad("unknown_school", "")
    if not row["class"] or len(row["class"]) > 40:
        return bad("bad_class")
    try:
        grade = int(_text(values.get("grade")))
    except ValueError:
        return bad("bad_grade", _text(values.get("grade")))
    if not 1 <= grade <= 16:
        return bad("bad_grade", str(grade))
    row["grade"] = grade
    sex = SEXES.get(_text(values.get("sex")).lower())
    if sex is None:
        return bad("bad_sex", _text(values.get("sex")))
    row["sex"] = sex
    born = _birth_date(values.get("birth_date"))
    today = clock.today()
    if born is None or born > today or not 3 <= today.year - born.year <= 60:
        return bad("bad_birth_date", _text(values.get("birth_date")))
    row["birth_date"] = born.isoformat()
    if row["guardian_phone"] and not PHONE_RE.match(row["guardian_phone"]):
        return bad("bad_phone", row["guardian_phone"])
    return row
