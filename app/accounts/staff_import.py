"""Staff accounts from a CSV or XLSX list, as rosters are imported: upload (parsed and kept), preview with every
row's problem, apply all rows in one transaction only when no row has one. Each account starts with a one-time
password, shown once after Apply. Admin accounts are never imported (the admin creates them one by one); a school's
psychology teacher imports homeroom teachers of their own school only."""
import hashlib
import re
from dataclasses import dataclass, field

from sqlalchemy import func, select

from app.accounts import management
from app.accounts.models import Role, StaffImport, StaffImportStatus, User
from app.accounts.services import AccountError
from app.audit import services as audit
from app.core import clock
from app.extensions import db
from app.orgs.models import ClassGroup, Hospital, School
from app.orgs.school_year import academic_year
from app.students.roster_file import RosterError, read_table

MAX_ROWS = 2000
HEADERS = {
    "username": ("username", "login", "用户名", "登录名", "账号"),
    "name": ("name", "displayname", "姓名", "名字"),
    "role": ("role", "角色", "岗位"),
    "school": ("school", "学校", "学校名称", "学校标识码"),
    "hospital": ("hospital", "医院", "医院名称"),
    "class": ("class", "班级", "班级名称"),
    "email": ("email", "e-mail", "mail", "邮箱", "电子邮箱", "电子邮件"),
}
REQUIRED = ("username", "name", "role")
ROLE_WORDS = {
    "teacher": Role.TEACHER, "psychologyteacher": Role.TEACHER, "心理教师": Role.TEACHER, "心理老师": Role.TEACHER,
    "homeroom": Role.HOMEROOM, "homeroomteacher": Role.HOMEROOM, "班主任": Role.HOMEROOM,
    "doctor": Role.DOCTOR, "医生": Role.DOCTOR, "医师": Role.DOCTOR,
}


class StaffImportError(RosterError):
    """The file as a whole cannot be used (the roster's codes: too_large, malformed, empty, missing_columns …)."""


def _norm(value) -> str:
    return re.sub(r"[\s_\-（）()]", "", str(value or "")).lower()


def _text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return "" if value is None else str(value).strip()


def read_rows(data: bytes, filename: str) -> list[dict]:
    """One dict per data row, with its spreadsheet row number; raises StaffImportError for the whole file."""
    try:
        table = read_table(data, filename)
    except RosterError as exc:
        raise StaffImportError(exc.code, **exc.params) from exc
    lookup = {_norm(alias): key for key, aliases in HEADERS.items() for alias in aliases}
    columns = {}
    for index, cell in enumerate(table[0]):
        key = lookup.get(_norm(cell))
        if key and key not in columns:
            columns[key] = index
    missing = [key for key in REQUIRED if key not in columns]
    if missing:
        raise StaffImportError("missing_columns", columns=", ".join(missing))
    if len(table) - 1 > MAX_ROWS:
        raise StaffImportError("too_many_rows", limit=MAX_ROWS)
    rows = [{"row": number, **{key: _text(raw[i]) if i < len(raw) else "" for key, i in columns.items()}}
            for number, raw in enumerate(table[1:], start=2)]
    if not rows:
        raise StaffImportError("empty")
    return rows


@dataclass
class Plan:
    accounts: list = field(default_factory=list)  # checked rows: username, display_name, email and the scope ids
    errors: list = field(default_factory=list)    # rows with `error` (and `detail`)


def _school_lookup():
    schools = db.session.scalars(select(School)).all()
    by_key = {s.name: s for s in schools}
    by_key.update({s.code: s for s in schools if s.code})
    return by_key


def plan_import(rows, *, by, only_school_id=None) -> Plan:
    """Check every row against the database and the actor's rights without writing anything."""
    plan = Plan()
    schools = _school_lookup()
    hospitals = {h.name: h for h in db.session.scalars(select(Hospital))}
    year = academic_year(clock.today())
    classes = {(c.school_id, c.name): c for c in db.session.scalars(select(ClassGroup).where(ClassGroup.academic_year == year))}
    wanted = {(r.get("username") or "").strip().lower() for r in rows}
    taken = set(db.session.scalars(select(func.lower(User.username)).where(func.lower(User.username).in_(wanted))))
    first_row = {}
    for row in rows:
        problem = _check_row(row, by, only_school_id, schools, hospitals, classes, taken, first_row)
        if isinstance(problem, tuple):
            plan.errors.append(dict(row, error=problem[0], detail=problem[1]))
        else:
            plan.accounts.append(problem)
    return plan


def _check_row(row, by, only_school_id, schools, hospitals, classes, taken, first_row):
    """The account a row asks for, or (error code, detail)."""
    try:
        username = management.clean_username(row.get("username"))
    except AccountError:
        return "bad_username", row.get("username", "")[:64]
    if username in taken:
        return "username_taken", username
    if username in first_row:
        return "duplicate_in_file", str(first_row[username])
    first_row[username] = row["row"]
    name = row.get("name", "")
    if not name or len(name) > 80:
        return "bad_display_name", ""
    role = ROLE_WORDS.get(_norm(row.get("role")))
    if role is None:
        return "bad_role", row.get("role", "")[:40]
    if only_school_id is not None and role != Role.HOMEROOM:
        return "homeroom_only", row.get("role", "")[:40]
    try:
        email = management.clean_email(row.get("email"))
    except AccountError:
        return "bad_email", row.get("email", "")[:254]
    school = hospital = class_group = None
    if role in (Role.TEACHER, Role.HOMEROOM):
        school = schools.get(row.get("school", ""))
        if school is None:
            return "unknown_school", row.get("school", "")[:120]
        if only_school_id is not None and school.id != only_school_id:
            return "not_your_school", school.name
        if school.closed_on is not None:
            return "school_closed", school.name
    if role == Role.HOMEROOM:
        class_group = classes.get((school.id, row.get("class", "")))
        if class_group is None:
            return "unknown_class", row.get("class", "")[:40]
    if role == Role.DOCTOR:
        hospital = hospitals.get(row.get("hospital", ""))
        if hospital is None:
            return "unknown_hospital", row.get("hospital", "")[:120]
    return {"row": row["row"], "username": username, "display_name": name, "email": email, "role": role.value,
            "school_id": school.id if school else None, "hospital_id": hospital.id if hospital else None,
            "class_group_id": class_group.id if class_group else None,
            "place": " · ".join(x for x in (school and school.name, hospital and hospital.name,
                                            class_group and class_group.name) if x)}


def store_upload(data: bytes, filename: str, *, by, only_school_id=None) -> StaffImport:
    rows = read_rows(data, filename)
    upload = StaffImport(created_by_id=by.id, school_id=only_school_id, filename=(filename or "staff")[:200],
                         sha256=hashlib.sha256(data).hexdigest(), rows=rows, created_at=clock.now())
    db.session.add(upload)
    db.session.flush()
    audit.record(by, "staff_list_uploaded", "staff_import", upload.id, detail={"rows": len(rows)})
    return upload


def apply_import(upload: StaffImport, *, by) -> list[tuple[User, str]]:
    """Create every account in the caller's transaction, each with a one-time password (returned, to be shown
    once); refuse, writing nothing, while any row has an error."""
    db.session.refresh(upload, with_for_update=True)  # two clicks on Apply: the second waits, then refuses
    if upload.status != StaffImportStatus.PREVIEWED:
        raise StaffImportError("already_applied")
    plan = plan_import(upload.rows, by=by, only_school_id=upload.school_id)
    if plan.errors:
        raise StaffImportError("has_errors", count=len(plan.errors))
    created = []
    for account in plan.accounts:
        created.append(management.create_account(account, by=by))
    upload.status = StaffImportStatus.APPLIED
    upload.applied_at = clock.now()
    upload.summary = {"created": len(created)}
    upload.rows = []  # the accounts now exist; keep no second copy of names and addresses
    db.session.flush()
    audit.record(by, "staff_list_imported", "staff_import", upload.id, detail=upload.summary)
    return created
