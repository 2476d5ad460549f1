"""The research export: every response of the district, de-identified, in a ZIP with its data dictionary.

What leaves: a keyed pseudonym per student (HMAC-SHA256 under RESEARCH_PSEUDONYM_KEY, which is never in the
database, over a per-export salt: the same student has one pseudonym within an export and unlinkable ones across
exports, unless the admin links the export to an earlier one, whose salt is then reused), the school's level and
district, grade, sex, birth year, academic year, the questionnaire, its version, every item's answer, the total,
subscales, band, risk and flags. What never leaves: names, 学籍号, birth dates, guardians, schools, classes,
campaign titles, notes or any other text a person wrote, dates finer than the academic year.

k-anonymity over the quasi-identifiers (district, school level, grade, sex, birth year): a student whose row falls
in a group of fewer than RESEARCH_MIN_GROUP students has the birth year generalised ("*") in every row, then the
sex too, then is suppressed; decided per student (not per row), so that a pseudonym never links a generalised row
to one that shows the value, and repeated until every group of the file holds enough students. The report counts
each step.
"""
import hashlib
import hmac
import json
import secrets
import zipfile
from dataclasses import dataclass, field

import numpy as np
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import BigInteger, cast, distinct, literal, select

from app.core.spreadsheets import csv_bytes, write_csv
from app.exports import reading
from app.exports.responses import scale_codes
from app.orgs.models import ClassGroup, School
from app.orgs.school_year import academic_year
from app.core import clock
from app.screening.models import Response, Score
from app.students.models import Student

HIDDEN = "*"
SUPPRESSED = 3  # generalisation steps: 0 all shown, 1 birth year hidden, 2 birth year and sex hidden, 3 left out
CHUNK = 20_000


class ResearchExportUnavailable(RuntimeError):
    """No pseudonym key configured (production without RESEARCH_PSEUDONYM_KEY)."""


def pseudonym_key() -> bytes:
    key = current_app.config.get("RESEARCH_PSEUDONYM_KEY")
    if not key:
        if current_app.config.get("CONFIG_NAME") == "production":
            raise ResearchExportUnavailable()
        path = current_app.config.get("RESEARCH_KEY_FILE") or (current_app.instance_path + "/research_pseudonym.key")
        import os

        if not os.path.exists(path):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as handle:
                handle.write(secrets.token_hex(32))
            os.chmod(path, 0o600)
        with open(path) as handle:
            key = handle.read().strip()
        current_app.config["RESEARCH_PSEUDONYM_KEY"] = key
    return key.encode()


def new_salt() -> str:
    return secrets.token_hex(16)


class Pseudonyms:
    """student id → pseudonym, keyed and salted; cached, since a student has several rows."""

    def __init__(self, key: bytes, salt: str):
        self._mac = hmac.new(key, salt.encode() + b":", hashlib.sha256)
        self._cache = {}

    def __call__(self, student_id: int) -> str:
        found = self._cache.get(student_id)
        if found is None:
            mac = self._mac.copy()
            mac.update(str(student_id).encode())
            found = self._cache[student_id] = "P" + mac.hexdigest()[:16]
            if len(self._cache) > 200_000:  # rows come grouped by student: the cache only saves repeats
                self._cache.clear()
        return found


@dataclass
class Plan:
    """Each student's generalisation step (0–3), and what the k-anonymity pass did."""

    student_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # sorted
    steps: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int8))
    iterations: int = 0

    def steps_of(self, ids):
        if not len(self.student_ids):
            return np.full(len(ids), SUPPRESSED, np.int8)
        return self.steps[np.searchsorted(self.student_ids, np.asarray(ids, np.int64))]

    def counts(self):
        return {"students": int(self.steps.size),
                "students_birth_year_hidden": int((self.steps == 1).sum()),
                "students_birth_year_and_sex_hidden": int((self.steps == 2).sum()),
                "students_suppressed": int((self.steps == SUPPRESSED).sum())}


def _codes(values, table):
    return np.fromiter((table.setdefault(v, len(table)) for v in values), np.int64, count=len(values))


def plan_generalisation(min_group: int) -> Plan:
    """Decide each student's step so that every group of (district, level, grade, sex, birth year) in the file,
    hidden values counted as a value of their own, holds at least `min_group` students."""
    districts, levels = {}, {}
    pair_student, pair_key = [], []
    pairs = (select(Response.student_id, School.district, School.level, ClassGroup.grade)
             .join(School, School.id == Response.school_id)
             .outerjoin(ClassGroup, ClassGroup.id == Response.class_group_id)
             .distinct())
    for chunk in reading.chunks(pairs, CHUNK):
        students, district, level, grade = zip(*chunk)
        pair_student.append(np.asarray(students, np.int64))
        grades = np.asarray([-1 if g is None else g for g in grade], np.int64) + 1
        pair_key.append((_codes(district, districts) << 20) | (_codes([getattr(v, "value", v) for v in level], levels) << 12)
                        | (grades << 4))
    if not pair_student:
        return Plan()
    pair_student = np.concatenate(pair_student)
    base_key = np.concatenate(pair_key)
    ids, sexes, years = [], [], []
    people = (select(Student.id, Student.sex, Student.birth_date)
              .where(Student.id.in_(select(distinct(Response.student_id)))))
    for chunk in reading.chunks(people, CHUNK):
        ids.extend(r[0] for r in chunk)
        sexes.extend(1 if getattr(r[1], "value", r[1]) == "F" else 2 for r in chunk)
        years.extend(r[2].year if r[2] else 0 for r in chunk)
    order = np.argsort(np.asarray(ids, np.int64))
    student_ids = np.asarray(ids, np.int64)[order]
    sex = np.asarray(sexes, np.int64)[order]
    year = np.asarray(years, np.int64)[order]
    steps = np.zeros(student_ids.size, np.int8)
    index = np.searchsorted(student_ids, pair_student)
    iterations = 0
    while True:
        iterations += 1
        step = steps[index]
        active = step < SUPPRESSED
        key = (base_key << 16) | (np.where(step >= 2, 0, sex[index]) << 14) | np.where(step >= 1, 0, year[index])
        key = key[active]
        if not key.size:
            break
        _uniq, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
        small = counts[inverse] < min_group  # each (student, group) pair appears once: counts are students
        if not small.any():
            break
        steps[np.unique(index[active][small])] += 1
    return Plan(student_ids, steps, iterations)


def _max_items(registry, codes):
    most = 0
    for code in codes:
        try:
            most = max(most, registry.get(code).item_count)
        except Exception:  # noqa: BLE001 - a scale no longer shipped: its answers still count
            continue
    return most


def columns(n_items):
    return (["pseudonym", "district", "school_level", "grade", "sex", "birth_year", "academic_year", "scale",
             "scale_version", "total", "band", "risk", "flags", "subscales", "cutoff_profile"]
            + [f"item_{i:02d}" for i in range(1, n_items + 1)])


def dictionary(n_items, min_group):
    """(variable, type, meaning) for every column, in the reader's language."""
    rows = [
        ("pseudonym", "text", _("The student's pseudonym in this export: a keyed hash (HMAC-SHA256) of the student's internal number; the same student has the same pseudonym in every row of this export, and a different one in other exports unless they were linked when requested.")),
        ("district", "text", _("The district of the school where the answer was given (the school itself is not named).")),
        ("school_level", "text", _("The level of that school: primary, middle, high, vocational or university.")),
        ("grade", "integer", _("The grade of the student's class at the time (1–12 school grades, 13–16 university); empty when not in a class.")),
        ("sex", "F / M / *", _('Sex as recorded; "*" where it was generalised so that at least %(k)d students share the row\'s group.', k=min_group)),
        ("birth_year", "year / *", _('Year of birth only; "*" where it was generalised so that at least %(k)d students share the row\'s group.', k=min_group)),
        ("academic_year", "text", _("The academic year of the answer (September to August); no finer date is given.")),
        ("scale", "text", _("The questionnaire's code (e.g. PHQ-9).")),
        ("scale_version", "text", _("The questionnaire's version: the content hash of its items, options and scoring.")),
        ("total", "integer", _("The total score.")),
        ("band", "text", _("The severity band of the total under the cut-off profile named in cutoff_profile.")),
        ("risk", "text", _("The risk level derived from the result: low, moderate, high or critical.")),
        ("flags", "text", _("Codes of the result's flags separated by spaces (e.g. suicidal_ideation for a positive critical item).")),
        ("subscales", "JSON", _("Subscale totals, as a JSON object.")),
        ("cutoff_profile", "text", _("The cut-off profile the result was banded with (international or a Chinese threshold).")),
    ]
    rows += [(f"item_{i:02d}", "integer", _("The answer to item %(n)d as scored (the option's value); empty for a questionnaire with fewer items.", n=i))
             for i in range(1, n_items + 1)]
    return rows


@dataclass
class Counter:
    written: int = 0
    suppressed: int = 0


def _rows(plan, pseudonym, n_items, counter, order_salt):
    # Rows grouped by student in an order that depends on this export (not the internal number, which follows the
    # roster's order), then by time.
    multiplier = int(order_salt[:7], 16) | 1  # < 2**28: the product stays far inside a BIGINT
    query = (select(Response.student_id, School.district, School.level, ClassGroup.grade, ClassGroup.academic_year,
                    Response.submitted_at, Response.scale_code, Response.scale_version, Response.answers,
                    Score.total, Score.band, Score.risk, Score.flags, Score.subscales, Score.cutoff_profile,
                    Student.sex, Student.birth_date)
             .join(School, School.id == Response.school_id)
             .join(Student, Student.id == Response.student_id)
             .outerjoin(ClassGroup, ClassGroup.id == Response.class_group_id)
             .outerjoin(Score, Score.response_id == Response.id)
             .order_by((cast(Response.student_id, BigInteger) * literal(multiplier, BigInteger)) % 2147483647,
                       Response.student_id, Response.submitted_at,
                       Response.id))
    sex_text = {"F": "F", "M": "M"}
    for chunk in reading.chunks(query, CHUNK):
        steps = plan.steps_of([r[0] for r in chunk])
        for row, step in zip(chunk, steps):
            (student_id, district, level, grade, year, submitted, code, version, answers,
             total, band, risk, flags, subscales, profile, sex, birth) = row
            if step >= SUPPRESSED:
                counter.suppressed += 1
                continue
            answers = list(answers or [])[:n_items]
            counter.written += 1
            yield ([pseudonym(student_id), district, getattr(level, "value", level), grade,
                    HIDDEN if step >= 2 else sex_text.get(getattr(sex, "value", sex), ""),
                    HIDDEN if step >= 1 else (birth.year if birth else ""),
                    year or academic_year(submitted.astimezone(clock.LOCAL_TZ).date()), code, version,
                    total, band, risk, " ".join(flags or []), json.dumps(subscales or {}, sort_keys=True), profile]
                   + answers + [None] * (n_items - len(answers)))


def write_research_zip(job, path) -> dict:
    """Write the ZIP (responses.csv, data_dictionary.csv, data_dictionary.pdf, report.json) to `path`; return the
    report. Memory stays bounded: rows stream from a server-side cursor into the compressed member."""
    from app.reports.pdf.data_dictionary import data_dictionary_pdf

    min_group = current_app.config["RESEARCH_MIN_GROUP"]
    registry = current_app.extensions["scales"]
    codes = scale_codes()
    n_items = _max_items(registry, codes)
    plan = plan_generalisation(min_group)
    pseudonym = Pseudonyms(pseudonym_key(), job.pseudonym_salt)
    counter = Counter()
    header = columns(n_items)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("responses.csv", "w", force_zip64=True) as member:
            write_csv(member, _chained([header], _rows(plan, pseudonym, n_items, counter, job.pseudonym_salt)))
        report = {
            "export_id": job.id, "created_at": job.created_at.isoformat(), "purpose": job.purpose,
            "approved_by": job.approved_by, "approval_reference": job.approval_reference,
            "linked_to_export": job.linked_export_id, "min_group_size": min_group,
            "quasi_identifiers": ["district", "school_level", "grade", "sex", "birth_year"],
            "rows_written": counter.written, "rows_suppressed": counter.suppressed,
            "generalisation_passes": plan.iterations, **plan.counts(),
            "scales": {code: _scale_info(registry, code) for code in sorted(codes)},
        }
        variables = dictionary(n_items, min_group)
        archive.writestr("data_dictionary.csv", csv_bytes([("variable", "type", "meaning"), *variables]))
        archive.writestr("data_dictionary.pdf", data_dictionary_pdf(report, variables))
        archive.writestr("report.json", json.dumps(report, ensure_ascii=False, indent=2))
    return report


def _scale_info(registry, code):
    try:
        scale = registry.get(code)
    except Exception:  # noqa: BLE001
        return {"items": None}
    return {"items": scale.item_count, "version": scale.version}


def _chained(*iterables):
    for iterable in iterables:
        yield from iterable
