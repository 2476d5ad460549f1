"""The research export (issue 21): de-identified, k-anonymous over the quasi-identifiers, audited with its purpose.

The world: Middle School A's class 8-1 holds 17 students (9 girls born 2012, 3 boys born 2012, 2 boys born 2013,
1 girl born 2011 …), High School B one boy. Everyone answers PHQ-9 and GAD-7 through the real student API.
Every identifying value carries a canary; the test reads every file of the ZIP (the PDF through pdftotext) and
looks for each one, then counts the students of every quasi-identifier group.
"""
import csv
import io
import json
import re
import shutil
import subprocess
import zipfile
from collections import defaultdict
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.core import clock
from app.exports.models import ExportJob
from app.extensions import db
from app.orgs.models import ClassGroup, School
from app.students.models import Consent, ConsentKind, Enrollment, EnrollmentReason, Sex, Student
from tests.conftest import login_as
from tests.helpers import GAD7_LOW, PHQ9_LOW, answer_all, launch_campaign

PURPOSE = "Prevalence of depressive symptoms by grade, study XQ-2026-07"
NAME_CANARY = "NAMECANARY"
GUARDIAN_CANARY = "GUARDIANCANARY"
PHONE_CANARY = "13987654321"
NUMBER_CANARY = "SNCANARY"
NOTE_CANARY = "NOTECANARY self-harm note"
# sex, birth date of the students added to class 8-1 (the world already has 3 boys and 3 girls born in 2012)
EXTRA = [("F", date(2012, 3, 1 + i)) for i in range(6)] + [("M", date(2013, 4, 2)), ("M", date(2013, 6, 9)),
                                                           ("F", date(2011, 12, 30))]


@pytest.fixture
def study(app, world, client_factory, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "EXPORT_DIR", str(tmp_path / "exports"))
    monkeypatch.setitem(app.config, "EXPORT_JOBS_WAIT", True)
    monkeypatch.setitem(app.config, "RESEARCH_PSEUDONYM_KEY", "test-research-key-0123456789abcdef")
    with app.app_context():
        school = db.session.get(School, world.school_id)
        school.name = f"=HYPERLINK(\"x\") SCHOOLCANARY"
        db.session.get(ClassGroup, world.class_id).name = "CLASSCANARY 8-1"
        for student in db.session.scalars(select(Student)):
            student.name = f"{NAME_CANARY}{student.id}"
            student.student_number = f"{NUMBER_CANARY}{student.id:04d}"
            student.guardian_name, student.guardian_phone = GUARDIAN_CANARY, PHONE_CANARY
        recorder = db.session.scalar(select(Consent.recorded_by_id).limit(1))
        start = db.session.scalar(select(Enrollment.start_date).limit(1))
        for i, (sex, born) in enumerate(EXTRA):
            st = Student(student_number=f"{NUMBER_CANARY}X{i:03d}", name=f"{NAME_CANARY}X{i}", sex=Sex(sex),
                         birth_date=born, guardian_name=GUARDIAN_CANARY, guardian_phone=PHONE_CANARY)
            db.session.add(st)
            db.session.flush()
            db.session.add_all([Enrollment(student_id=st.id, school_id=world.school_id, class_group_id=world.class_id,
                                           start_date=start, reason=EnrollmentReason.ADMISSION),
                                Consent(student_id=st.id, kind=ConsentKind.SCREENING, granted=True,
                                        recorded_by_id=recorder, recorded_at=clock.now(), note="consent")])
        db.session.commit()
        people = {st.id: st for st in db.session.scalars(select(Student))}
        students = [{"id": st.id, "number": st.student_number, "birth_date": st.birth_date.isoformat(),
                     "name": st.name, "school_id": e.school_id}
                    for st, e in db.session.execute(select(Student, Enrollment).join(Enrollment))]
        db.session.remove()
    teacher = login_as(client_factory, "teacher")
    other = login_as(client_factory, "other_teacher")
    _, code = launch_campaign(teacher, world.class_id, scales=("PHQ-9", "GAD-7"))
    _, other_code = launch_campaign(other, world.other_class_id, scales=("PHQ-9", "GAD-7"))
    http = app.test_client()
    for s in students:
        answer_all(http, code if s["school_id"] == world.school_id else other_code, s,
                   {"PHQ-9": PHQ9_LOW, "GAD-7": GAD7_LOW})
    r = teacher.post("/concerns/new", {"student_number": students[0]["number"], "level": "moderate",
                                       "category": "self_harm_sign", "note": NOTE_CANARY})
    assert r.status_code == 302
    return students, people


def _export(admin, **extra):
    data = {"purpose": PURPOSE, "approved_by": "Ethics committee, City Mental Health Centre",
            "approval_reference": "EC-2026-113", **extra}
    r = admin.post("/admin/exports/research", data)
    assert r.status_code == 302, r.get_data(as_text=True)[:3000]
    job_url = r.headers["Location"]
    page = admin.get(job_url).get_data(as_text=True)
    assert 'data-status="done"' in page, page
    download = admin.get(job_url + "/download")
    assert download.status_code == 200
    return page, zipfile.ZipFile(io.BytesIO(download.get_data()))


def _rows(archive):
    return list(csv.DictReader(io.StringIO(archive.read("responses.csv").decode("utf-8-sig"))))


def _all_text(archive, tmp_path):
    texts = []
    for name in archive.namelist():
        data = archive.read(name)
        if name.endswith(".pdf"):
            assert shutil.which("pdftotext"), "pdftotext (poppler-utils) is needed to read the dictionary PDF"
            path = tmp_path / "dictionary.pdf"
            path.write_bytes(data)
            data = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True).stdout
        texts.append(data.decode("utf-8-sig"))
    return "\n".join(texts)


def test_the_research_export_carries_no_identifier_and_no_group_under_five(app, study, client_factory, tmp_path):
    students, people = study
    admin = login_as(client_factory, "admin")
    page, archive = _export(admin)
    assert sorted(archive.namelist()) == ["data_dictionary.csv", "data_dictionary.pdf", "report.json", "responses.csv"]
    text = _all_text(archive, tmp_path)
    assert "PHQ-9" in text and "Ethics committee" in text  # the reader works: the PDF's text is there
    for canary in (NAME_CANARY, GUARDIAN_CANARY, PHONE_CANARY, NUMBER_CANARY, "NOTECANARY", "SCHOOLCANARY",
                   "CLASSCANARY", "Autumn screening", "Student ", "Guardian", "Middle School A", "High School B"):
        assert canary not in text, canary
    for person in people.values():
        for form in (person.birth_date.isoformat(), person.birth_date.strftime("%Y/%m/%d"),
                     person.birth_date.strftime("%Y%m%d")):
            assert form not in text
    rows = _rows(archive)
    assert rows and set(rows[0]) >= {"pseudonym", "school_level", "district", "grade", "sex", "birth_year", "total",
                                     "band", "risk", "item_01", "item_09"}
    assert not any(re.fullmatch(r"\d{4}-\d{2}-\d{2}.*", v) for row in rows for v in row.values())
    # Pseudonyms: one per student, stable within the export; the internal numbers are not in them.
    by_pseudonym = defaultdict(list)
    for row in rows:
        by_pseudonym[row["pseudonym"]].append(row)
        assert row["item_01"] != "" and row["total"] != ""  # items and scores are kept
    assert all(len(r) == 2 and {x["scale"] for x in r} == {"PHQ-9", "GAD-7"} for r in by_pseudonym.values())
    assert not any(str(s["id"]) == p.lstrip("P") for s in students for p in by_pseudonym)
    # k-anonymity: every (district, level, grade, sex, birth year) group of the file holds at least 5 students.
    groups = defaultdict(set)
    for row in rows:
        groups[(row["district"], row["school_level"], row["grade"], row["sex"], row["birth_year"])].add(row["pseudonym"])
    assert groups and min(len(g) for g in groups.values()) >= 5, groups
    # The quasi-identifiers of a student never differ between rows (a pseudonym never undoes a generalisation).
    assert all(len({(x["sex"], x["birth_year"]) for x in r}) == 1 for r in by_pseudonym.values())
    # What was generalised and suppressed (hand-counted in the module docstring) is reported, here and on the page.
    report = json.loads(archive.read("report.json"))
    assert (report["students"], report["students_birth_year_hidden"], report["students_birth_year_and_sex_hidden"],
            report["students_suppressed"]) == (16, 5, 0, 2)
    assert report["rows_suppressed"] == 4 and report["rows_written"] == len(rows) == 28
    assert 'data-testid="students-suppressed">2<' in page and 'data-testid="rows-suppressed">4<' in page
    assert sum(1 for r in rows if r["birth_year"] == "*") == 10
    # The dictionary names every column of the data.
    dictionary = list(csv.reader(io.StringIO(archive.read("data_dictionary.csv").decode("utf-8-sig"))))
    assert [d[0] for d in dictionary[1:]][:len(rows[0])] == list(rows[0])[:len(dictionary) - 1]
    # Audited with its purpose and approval; the download too.
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.object_type == "research_export")
                                    .order_by(AuditEvent.id)).all()
        assert [e.action for e in events] == ["export", "export_downloaded"]
        assert events[0].detail["purpose"] == PURPOSE and events[0].detail["approval_reference"] == "EC-2026-113"


def test_pseudonyms_differ_between_exports_unless_linked(app, study, client_factory):
    admin = login_as(client_factory, "admin")
    _, first = _export(admin)
    _, second = _export(admin)
    with app.app_context():
        first_id = db.session.scalar(select(ExportJob.id).order_by(ExportJob.id))
    _, linked = _export(admin, link_to=str(first_id))
    p1, p2, p3 = ({r["pseudonym"] for r in _rows(a)} for a in (first, second, linked))
    assert len(p1) == 14 and not p1 & p2
    assert p3 == p1


def test_a_request_without_purpose_or_approval_is_refused_and_writes_nothing(app, study, client_factory):
    admin = login_as(client_factory, "admin")
    for missing in ({"purpose": "too short"}, {"approved_by": ""}, {"approval_reference": ""}):
        data = {"purpose": PURPOSE, "approved_by": "Ethics committee", "approval_reference": "EC-1", **missing}
        r = admin.post("/admin/exports/research", data)
        assert r.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(ExportJob)) is None
    assert admin.post("/admin/exports/research", {"purpose": PURPOSE, "approved_by": "x", "approval_reference": "y"},
                      csrf=False).status_code == 400


def test_only_the_admin_exports(app, study, client_factory):
    admin = login_as(client_factory, "admin")
    _export(admin)
    with app.app_context():
        job_id = db.session.scalar(select(ExportJob.id))
    urls = [f"/admin/exports/{job_id}", f"/admin/exports/{job_id}/download", "/admin/exports"]
    anonymous = client_factory()
    for url in urls:
        assert anonymous.get(url).headers["Location"].startswith("/login")
    assert anonymous.post("/admin/exports/research", {"purpose": PURPOSE}).headers["Location"].startswith("/login")
    for username in ("teacher", "doctor", "homeroom", "other_teacher"):
        staff = login_as(client_factory, username)
        for url in urls:
            assert staff.get(url).status_code == 404
        assert staff.post("/admin/exports/research", {"purpose": PURPOSE, "approved_by": "x",
                                                      "approval_reference": "y"}).status_code == 404
    assert admin.get(f"/admin/exports/{job_id + 1}").status_code == 404
    assert admin.get(f"/admin/exports/{job_id + 1}/download").status_code == 404
    with app.app_context():
        assert db.session.scalar(select(func.count(ExportJob.id))) == 1
