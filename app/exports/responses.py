"""The district's export of every response: one row per response with its school, class, score and answers.

Rows come from a server-side cursor (`yield_per`) and are written as they come: CSV streams to the browser at
once, whatever the size; XLSX is written in openpyxl's write-only mode (directly when small, else by a job).
The student is named by the internal number only (no name, 学籍号 or guardian): the district counts and links,
the schools hold the identities.
"""
from flask import current_app
from sqlalchemy import distinct, func, select

from app.core import clock
from app.exports import reading
from app.orgs.models import ClassGroup, School
from app.screening.models import Response, Score

CHUNK = 5_000
FIXED = ["response_id", "school", "school_code", "district", "school_level", "academic_year", "grade", "class",
         "student_id", "scale", "scale_version", "submitted_at", "total", "band", "risk", "flags", "cutoff_profile"]


def _filtered(query, school_id):
    return query.where(Response.school_id == school_id) if school_id else query


def count(school_id=None) -> int:
    return reading.scalar(_filtered(select(func.count(Response.id)), school_id))


def item_count(school_id=None) -> int:
    registry = current_app.extensions["scales"]
    most = 0
    for code in reading.scalars(_filtered(select(distinct(Response.scale_code)), school_id)):
        try:
            most = max(most, registry.get(code).item_count)
        except Exception:  # noqa: BLE001 - a scale no longer shipped
            continue
    return most


def header(n_items):
    return FIXED + [f"item_{i:02d}" for i in range(1, n_items + 1)]


def rows(n_items, school_id=None):
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
    for chunk in reading.chunks(query, CHUNK):
        for (rid, school, code, district, level, year, grade, cls, student_id, scale, version, submitted, total, band,
             risk, flags, profile, answers) in chunk:
            answers = list(answers or [])[:n_items]
            yield ([rid, school, code or "", district, getattr(level, "value", level), year or "", grade, cls or "",
                    student_id, scale, version, submitted.astimezone(local).isoformat(timespec="seconds"), total,
                    band or "", risk or "", " ".join(flags or []), profile or ""]
                   + answers + [None] * (n_items - len(answers)))
