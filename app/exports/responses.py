"""The district's export of every response: one row per response with its school, class, score and answers.

Rows come from a server-side cursor (`yield_per`) and are written as they come: CSV streams to the browser at
once, whatever the size; XLSX is written in openpyxl's write-only mode (directly when small, else by a job).
The student is named by the internal number only (no name, 学籍号 or guardian): the district counts and links,
the schools hold the identities.
"""
import re

from flask import current_app
from sqlalchemy import func, select

from app.core import clock
from app.core.spreadsheets import FORMULA_START, csv_stream
from app.exports import reading
from app.extensions import db
from app.orgs.models import ClassGroup, School
from app.screening.models import Campaign, Response, Score

CHUNK = 5_000
FIXED = ["response_id", "school", "school_code", "district", "school_level", "academic_year", "grade", "class",
         "student_id", "scale", "scale_version", "submitted_at", "total", "band", "risk", "flags", "cutoff_profile"]


def _filtered(query, school_id):
    return query.where(Response.school_id == school_id) if school_id else query


def count(school_id=None) -> int:
    return reading.scalar(_filtered(select(func.count(Response.id)), school_id))


def scale_codes(school_id=None):
    """The questionnaires that responses may name: those of the campaigns (a few thousand rows), not a DISTINCT
    over every response (1.5 s of the first byte on 5M responses)."""
    query = select(Campaign.scale_codes)
    if school_id:
        query = query.where(Campaign.school_id == school_id)
    return sorted({code for codes in reading.scalars(query) for code in (codes or [])})


def item_count(school_id=None) -> int:
    registry = current_app.extensions["scales"]
    most = 0
    for code in scale_codes(school_id):
        try:
            most = max(most, registry.get(code).item_count)
        except Exception:  # noqa: BLE001 - a scale no longer shipped
            continue
    return most


def header(n_items):
    return FIXED + [f"item_{i:02d}" for i in range(1, n_items + 1)]


def rows(n_items, school_id=None, engine=None):
    """Every response as a list of values (the header not included), in response order."""
    query = _filtered(
        select(Response.id, School.name, School.code, School.district, School.level, ClassGroup.academic_year,
               ClassGroup.grade, ClassGroup.name, Response.student_id, Response.scale_code, Response.scale_version,
               Response.submitted_at, Score.total, Score.band, Score.risk, Score.flags, Score.cutoff_profile,
               Response.answers)
        .join(School, School.id == Response.school_id)
        .outerjoin(ClassGroup, ClassGroup.id == Response.class_group_id)
        .outerjoin(Score, Score.response_id == Response.id)
        .order_by(Response.id), school_id)
    local = clock.LOCAL_TZ
    for chunk in reading.chunks(query, CHUNK, engine):
        for (rid, school, code, district, level, year, grade, cls, student_id, scale, version, submitted, total, band,
             risk, flags, profile, answers) in chunk:
            answers = list(answers or [])[:n_items]
            yield ([rid, school, code or "", district, getattr(level, "value", level), year or "", grade, cls or "",
                    student_id, scale, version, submitted.astimezone(local).isoformat(timespec="seconds"), total,
                    band or "", risk or "", " ".join(flags or []), profile or ""]
                   + answers + [None] * (n_items - len(answers)))


# --- PostgreSQL: the database writes the CSV (COPY … TO STDOUT) --------------------------------------------------
# The same file as rows() through csv_stream(), ~10–20 times faster: no Python per row. Text that a person wrote is
# made formula-safe in SQL by the rule of app/core/spreadsheets.py (a leading apostrophe before = + - @ tab CR).
_TIME_ZONE = re.compile(r"[A-Za-z0-9_/+-]+")


def _safe(expression):
    starts = ", ".join(f"'{c}'" for c in FORMULA_START if c not in "\t\r") + ", chr(9), chr(13)"
    # NULLIF: COPY quotes an empty string ("") to tell it from NULL; csv_stream writes both as nothing.
    return (f"nullif(CASE WHEN left({expression}, 1) IN ({starts}) THEN chr(39) || {expression} "
            f"ELSE {expression} END, '')")


def copy_sql(n_items, school_id=None):
    # Answers and flags are JSON arrays of numbers and of codes: split once per row (json's ->> would parse the
    # whole array again for every item).
    items = ", ".join(f"nullif(x.a[{i + 1}], 'null')" for i in range(n_items))
    where = f"WHERE r.school_id = {int(school_id)}" if school_id else ""
    return (
        "COPY (SELECT r.id, " + ", ".join([
            # Text a person wrote (names, codes, districts) is made safe; the rest is ours (codes, hashes, numbers).
            _safe("s.name"), _safe("s.code"), _safe("s.district"), "s.level", "cg.academic_year", "cg.grade",
            _safe("cg.name"), "r.student_id", "r.scale_code", "r.scale_version",
            "to_char(r.submitted_at, 'YYYY-MM-DD\"T\"HH24:MI:SSTZH:TZM')", "sc.total", "sc.band", "sc.risk",
            "nullif(regexp_replace(translate(sc.flags::text, '[]\"', ''), ',\\s*', ' ', 'g'), '')",
            "sc.cutoff_profile"]) + (", " + items if items else "") +
        " FROM responses r JOIN schools s ON s.id = r.school_id"
        " LEFT JOIN class_groups cg ON cg.id = r.class_group_id LEFT JOIN scores sc ON sc.response_id = r.id"
        " CROSS JOIN LATERAL (SELECT string_to_array(translate(r.answers::text, '[] ', ''), ',') AS a OFFSET 0) x "
        f"{where} ORDER BY r.id) TO STDOUT WITH (FORMAT csv)")


def copy_csv(n_items, school_id=None, engine=None):
    """Yield the CSV's bytes as PostgreSQL writes them (BOM and header first)."""
    yield from csv_stream([header(n_items)])
    zone = clock.LOCAL_TZ.key
    if not _TIME_ZONE.fullmatch(zone):
        raise ValueError("unexpected time zone name")
    with reading.connect(engine) as connection:
        raw = connection.connection.driver_connection
        with raw.cursor() as cursor:
            cursor.execute(f"SET LOCAL TIME ZONE '{zone}'")
            with cursor.copy(copy_sql(n_items, school_id)) as copy:
                for data in copy:
                    yield bytes(data)
        raw.rollback()


def csv_body(n_items, school_id=None, engine=None):
    """The CSV's chunks: written by PostgreSQL when the engine is PostgreSQL, else row by row here."""
    engine = engine or db.engine
    if engine.dialect.name == "postgresql":
        return copy_csv(n_items, school_id, engine)
    return _csv_rows(n_items, school_id, engine)


def _csv_rows(n_items, school_id, engine):
    def with_header():
        yield header(n_items)
        yield from rows(n_items, school_id, engine)

    return csv_stream(with_header())
