"""Roster import from CSV or XLSX: parse, preview (nothing written), apply all rows in one transaction.

A student is one person across every school, keyed by the national student number (学籍号): a row whose
number is already known attaches to that student (a new enrolment at this school ends the one elsewhere)
and never creates a second record. Any row with an error blocks the whole import, so a bad file changes
nothing. Re-importing the same file finds every row unchanged and writes nothing. Lookups are done in bulk
(a few IN queries per 5,000 numbers, never one SELECT per row) so that 20,000 rows import in seconds.

Classes are those of the academic year chosen at upload (this one, or the next for a roster imported in July or
August), stored with the upload so that Apply files the rows where the preview showed them; enrolments still
change on the day of Apply.
"""
import csv
import hashlib
import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import insert, or_, select, update

from app.audit import services as audit
from app.core import clock
from app.extensions import db
from app.orgs.models import ClassGroup, School
from app.students.models import Enrollment, EnrollmentReason, RosterImport, RosterImportStatus, Sex, Student

MAX_ROWS = 50_000
CHUNK = 5000
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
IDENTITY_FIELDS = ("name", "sex", "guardian_name", "guardian_phone")


class RosterError(ValueError):
    """The file as a whole cannot be read. `code` names the problem; `params` fill the message."""

    def __init__(self, code, **params):
        super().__init__(code)
        self.code = code
        self.params = params


def academic_year(on: date) -> str:
    """'2026-2027' for a date from September 2026 to August 2027."""
    start = on.year if on.month >= 9 else on.year - 1
    return f"{start}-{start + 1}"


def next_year(year: str) -> str:
    """'2027-2028' after '2026-2027'."""
    start = int(year[:4]) + 1
    return f"{start}-{start + 1}"


def import_years(on: date) -> tuple[str, str]:
    """The years a roster may be filed in: this one, and the next (schools import it in July or August)."""
    this_year = academic_year(on)
    return this_year, next_year(this_year)


# --- reading the file ---------------------------------------------------------------------------

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


def _rows_from_xlsx(data: bytes):
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError) as exc:
        raise RosterError("malformed") from exc
    try:
        sheet = workbook.worksheets[0]
        return [list(row) for row in sheet.iter_rows(values_only=True)]
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
        return list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise RosterError("malformed") from exc


def read_file(data: bytes, filename: str) -> list[dict]:
    """Parse the upload into one dict per data row (row = the spreadsheet row number)."""
    if not data:
        raise RosterError("empty")
    is_xlsx = data[:2] == b"PK" or filename.lower().endswith(".xlsx")
    table = _rows_from_xlsx(data) if is_xlsx else _rows_from_csv(data)
    table = [row for row in table if row and any(cell not in (None, "") for cell in row)]
    if not table:
        raise RosterError("empty")
    columns = _header_map(table[0])
    if len(table) - 1 > MAX_ROWS:
        raise RosterError("too_many_rows", limit=MAX_ROWS)
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


# --- planning: what applying would do -----------------------------------------------------------

@dataclass
class Plan:
    new: list = field(default_factory=list)         # rows creating a student and an admission
    updated: list = field(default_factory=list)     # known students: changed details, class, or a new enrolment here
    elsewhere: list = field(default_factory=list)   # known students currently enrolled at another school
    unchanged: int = 0
    errors: list = field(default_factory=list)      # rows with `error`
    new_classes: list = field(default_factory=list)  # (school_id, grade, name), in the import's academic year

    def counts(self):
        return {"new": len(self.new), "updated": len(self.updated), "elsewhere": len(self.elsewhere),
                "unchanged": self.unchanged, "errors": len(self.errors), "new_classes": len(self.new_classes)}

    @property
    def changes_anything(self):
        return bool(self.new or self.updated or self.elsewhere or self.new_classes)


def _chunks(values):
    values = list(values)
    for start in range(0, len(values), CHUNK):
        yield values[start:start + CHUNK]


def _known_students(numbers):
    known = {}
    for chunk in _chunks(numbers):
        for row in db.session.execute(select(
                Student.id, Student.student_number, Student.name, Student.sex, Student.birth_date,
                Student.guardian_name, Student.guardian_phone).where(Student.student_number.in_(chunk))):
            known[row.student_number] = row
    return known


def _current_enrollments(student_ids, on):
    current = {}
    for chunk in _chunks(student_ids):
        for row in db.session.execute(select(
                Enrollment.id, Enrollment.student_id, Enrollment.school_id, Enrollment.class_group_id,
                Enrollment.start_date, ClassGroup.academic_year)
                .outerjoin(ClassGroup, ClassGroup.id == Enrollment.class_group_id)
                .where(Enrollment.student_id.in_(chunk), Enrollment.start_date <= on,
                       or_(Enrollment.end_date.is_(None), Enrollment.end_date > on))):
            current[row.student_id] = row
    return current


def _earlier_schools(student_ids):
    schools = {}
    for chunk in _chunks(student_ids):
        for student_id, school_id in db.session.execute(
                select(Enrollment.student_id, Enrollment.school_id).where(Enrollment.student_id.in_(chunk))):
            schools.setdefault(student_id, set()).add(school_id)
    return schools


def plan_import(rows: list[dict], *, only_school_id=None, on: date | None = None, year: str | None = None) -> Plan:
    """Classify every row against the database without writing anything; classes are those of `year`
    (default: the academic year of `on`), enrolments change on `on`."""
    on = on or clock.today()
    year = year or academic_year(on)
    plan = Plan()
    schools = {s.name: s for s in db.session.scalars(select(School))}
    school_names = {s.id: s.name for s in schools.values()}
    wanted_school_ids = {schools[r["school"]].id for r in rows if "error" not in r and r["school"] in schools}
    classes = {(c.school_id, c.grade, c.name): c.id for c in db.session.scalars(
        select(ClassGroup).where(ClassGroup.school_id.in_(wanted_school_ids), ClassGroup.academic_year == year))}
    valid = [r for r in rows if "error" not in r]
    known = _known_students({r["number"] for r in valid})
    current = _current_enrollments([k.id for k in known.values()], on)
    first_row = {}
    new_classes = set()
    for row in rows:
        if "error" in row:
            plan.errors.append(row)
            continue
        school = schools.get(row["school"])
        if school is None:
            plan.errors.append(dict(row, error="unknown_school", detail=row["school"]))
            continue
        if only_school_id is not None and school.id != only_school_id:
            plan.errors.append(dict(row, error="not_your_school", detail=row["school"]))
            continue
        if row["number"] in first_row:
            plan.errors.append(dict(row, error="duplicate_in_file", detail=str(first_row[row["number"]])))
            continue
        first_row[row["number"]] = row["row"]
        student = known.get(row["number"])
        if student is not None and student.birth_date.isoformat() != row["birth_date"]:
            plan.errors.append(dict(row, error="birth_date_conflict", detail=student.birth_date.isoformat()))
            continue
        class_key = (school.id, row["grade"], row["class"])
        if class_key not in classes:
            new_classes.add(class_key)
        item = dict(row, school_id=school.id)
        if student is None:
            plan.new.append(item)
            continue
        item["student_id"] = student.id
        changed = [f for f in IDENTITY_FIELDS if f != "sex" and (row[f] or "") != (getattr(student, f) or "")]
        if Sex(row["sex"]) != student.sex:
            changed.append("sex")
        item["changed"] = changed
        enrollment = current.get(student.id)
        if enrollment is not None and enrollment.school_id != school.id:
            item["from_school_id"] = enrollment.school_id
            item["from_school"] = school_names.get(enrollment.school_id, "")
            item["enrollment_id"] = enrollment.id
            plan.elsewhere.append(item)
        elif enrollment is None:
            item["changed"] = changed + ["enrolment"]
            plan.updated.append(item)
        else:
            item["enrollment_id"] = enrollment.id
            if classes.get(class_key) != enrollment.class_group_id:
                item["changed"] = changed + ["class"]
                # Into a later year's class (next year's roster): a new stay from `on`, as a promotion is;
                # a class of the same year, or a stay that began today, is corrected in place.
                item["new_stay"] = (enrollment.academic_year or year) < year and enrollment.start_date < on
            if item["changed"]:
                plan.updated.append(item)
            else:
                plan.unchanged += 1
    plan.new_classes = sorted(new_classes)
    plan.errors.sort(key=lambda r: r["row"])
    return plan


# --- applying -----------------------------------------------------------------------------------

def apply_import(roster_import: RosterImport, by, on: date | None = None) -> Plan:
    """Apply every row in the caller's transaction; refuse (nothing written) while any row has an error."""
    db.session.refresh(roster_import, with_for_update=True)  # two clicks on Apply: the second waits, then refuses
    if roster_import.status != RosterImportStatus.PREVIEWED:
        raise RosterError("already_applied")
    on = on or clock.today()
    year = roster_import.academic_year  # the year the preview showed, never recomputed
    if year < academic_year(on):
        # Its classes are last year's: enrolling students in them from today would file them in the past.
        raise RosterError("year_ended", year=year)
    plan = plan_import(roster_import.rows, only_school_id=roster_import.school_id, on=on, year=year)
    if plan.errors:
        raise RosterError("has_errors", count=len(plan.errors))
    if plan.new_classes:
        db.session.execute(insert(ClassGroup), [
            {"school_id": s, "academic_year": year, "grade": g, "name": n} for s, g, n in plan.new_classes])
    school_ids = {item["school_id"] for item in plan.new + plan.updated + plan.elsewhere}
    class_ids = {(c.school_id, c.grade, c.name): c.id for c in db.session.scalars(
        select(ClassGroup).where(ClassGroup.school_id.in_(school_ids), ClassGroup.academic_year == year))}

    def class_of(item):
        return class_ids[(item["school_id"], item["grade"], item["class"])]

    if plan.new:
        new_ids = db.session.scalars(insert(Student).returning(Student.id, sort_by_parameter_order=True), [
            {"student_number": r["number"], "name": r["name"], "sex": Sex(r["sex"]),
             "birth_date": date.fromisoformat(r["birth_date"]), "guardian_name": r["guardian_name"],
             "guardian_phone": r["guardian_phone"], "created_at": clock.now()} for r in plan.new]).all()
        for item, student_id in zip(plan.new, new_ids):
            item["student_id"] = student_id
    known = plan.updated + plan.elsewhere
    identity = [{"id": r["student_id"], "name": r["name"], "sex": Sex(r["sex"]), "guardian_name": r["guardian_name"],
                 "guardian_phone": r["guardian_phone"]} for r in known if set(r["changed"]) & set(IDENTITY_FIELDS)]
    if identity:
        db.session.execute(update(Student), identity)
    moved = [r for r in plan.updated if "class" in r["changed"]]
    class_moves = [{"id": r["enrollment_id"], "class_group_id": class_of(r)} for r in moved if not r["new_stay"]]
    if class_moves:
        db.session.execute(update(Enrollment), class_moves)
    promoted = [r for r in moved if r["new_stay"]]
    ending = plan.elsewhere + promoted
    if ending:
        db.session.execute(update(Enrollment), [{"id": r["enrollment_id"], "end_date": on} for r in ending])
    enrolments = [(r, EnrollmentReason.ADMISSION) for r in plan.new]
    enrolments += [(r, EnrollmentReason.ADMISSION) for r in plan.updated if "enrolment" in r["changed"]]
    enrolments += [(r, EnrollmentReason.TRANSFER) for r in plan.elsewhere]
    enrolments += [(r, EnrollmentReason.PROMOTION) for r in promoted]
    if enrolments:
        db.session.execute(insert(Enrollment), [
            {"student_id": r["student_id"], "school_id": r["school_id"], "class_group_id": class_of(r),
             "start_date": on, "reason": reason} for r, reason in enrolments])
    _audit_handovers(plan, by, on)
    roster_import.status = RosterImportStatus.APPLIED
    roster_import.applied_at = clock.now()
    roster_import.summary = plan.counts()
    roster_import.rows = []  # the identities now live in students; keep no second copy
    db.session.flush()
    audit.record(by, "roster_imported", "roster_import", roster_import.id, detail=plan.counts())
    return plan


def _audit_handovers(plan, by, on):
    """A known student starting at a new school is a hand-over of the file: one audit event each."""
    joining = [r for r in plan.elsewhere] + [r for r in plan.updated if "enrolment" in r["changed"]]
    earlier = _earlier_schools([r["student_id"] for r in joining])
    for row in joining:
        before = earlier.get(row["student_id"], set()) - {row["school_id"]}
        if before:
            audit.record(by, "file_handed_over", "student", row["student_id"], row["student_id"],
                         detail={"to_school_id": row["school_id"], "from_school_ids": sorted(before),
                                 "via": "roster_import"})


def store_upload(data: bytes, filename: str, by, only_school_id=None, year: str | None = None) -> RosterImport:
    """Parse the upload and keep the rows, and the academic year to file them in (default: this one),
    for preview and apply."""
    rows = read_file(data, filename)
    roster_import = RosterImport(created_by_id=by.id, school_id=only_school_id, filename=(filename or "roster")[:200],
                                 academic_year=year or academic_year(clock.today()),
                                 sha256=hashlib.sha256(data).hexdigest(), rows=rows, created_at=clock.now())
    db.session.add(roster_import)
    db.session.flush()
    audit.record(by, "roster_uploaded", "roster_import", roster_import.id,
                 detail={"rows": len(rows), "academic_year": roster_import.academic_year})
    return roster_import
