"""Roster import: preview, apply all-or-nothing, idempotent re-import, and the bad files that change nothing."""
import io

from openpyxl import Workbook
from sqlalchemy import func, select

from app.extensions import db
from app.students.models import Enrollment, EnrollmentReason, RosterImport, Student
from tests.conftest import login_as
from tests.integration.test_student_file import _count, _upload

HEADER = "school,class,grade,student_number,name,sex,birth_date,guardian_name,guardian_phone\n"


def _csv(*rows):
    return (HEADER + "".join(r + "\n" for r in rows)).encode("utf-8")


def _state(app):
    with app.app_context():
        return (db.session.scalar(select(func.count(Student.id))), db.session.scalar(select(func.count(Enrollment.id))),
                tuple(db.session.scalars(select(Student.name).order_by(Student.id))),
                tuple(db.session.execute(select(Enrollment.id, Enrollment.end_date, Enrollment.class_group_id)
                                         .order_by(Enrollment.id)).all()))


def test_preview_then_apply_then_reimport_changes_nothing(app, world, client_factory):
    admin = login_as(client_factory, "admin")
    data = _csv("Middle School A,Class 8-1,8,N0001,New One,女,2012-03-04,Parent One,13900000001",
                "Middle School A,Class 8-2,8,N0002,New Two,M,2012/05/06,,",
                "Middle School A,Class 8-1,8,S0001,Student 1 Renamed,F,2012-01-02,Guardian,13900000000",
                "High School B,Class 10-1,10,S0002,Student 2,M,2012-01-03,Guardian,13900000000")
    before = _state(app)
    import_id = _upload(admin, data)
    page = admin.get(f"/rosters/{import_id}").get_data(as_text=True)
    assert (_count(page, "new"), _count(page, "updated"), _count(page, "elsewhere"), _count(page, "errors")) == (2, 1, 1, 0)
    assert _state(app) == before  # a preview writes nothing
    assert admin.post(f"/rosters/{import_id}/apply").status_code == 302
    with app.app_context():
        assert db.session.scalar(select(func.count(Student.id))) == 9
        s1 = db.session.scalar(select(Student).where(Student.student_number == "S0001"))
        assert s1.name == "Student 1 Renamed"
        moved = db.session.scalar(select(Student).where(Student.student_number == "S0002"))
        current = moved.current_enrollment()
        assert current.school_id == world.other_school_id and current.reason == EnrollmentReason.TRANSFER
        assert db.session.get(RosterImport, import_id).rows == []
    # the middle school no longer sees the moved student; the high school does
    assert login_as(client_factory, "teacher").get(f"/students/{world.students[2]['id']}").status_code == 404
    assert login_as(client_factory, "other_teacher").get(f"/students/{world.students[2]['id']}").status_code == 200
    # the same file again: nothing to change, nothing changed; a second click on Apply changes nothing either
    after = _state(app)
    second = admin.post(f"/rosters/{import_id}/apply")
    assert "already applied" in admin.get(second.headers["Location"]).get_data(as_text=True)
    assert _state(app) == after
    again = _upload(admin, data)
    page = admin.get(f"/rosters/{again}").get_data(as_text=True)
    assert _count(page, "unchanged") == 4 and 'data-testid="nothing-to-change"' in page
    assert admin.post(f"/rosters/{again}/apply").status_code == 302
    assert _state(app) == after


def test_xlsx_roster_with_chinese_headers(app, world, client_factory):
    wb = Workbook()
    ws = wb.active
    ws.append(["学校", "班级", "年级", "学籍号", "姓名", "性别", "出生日期", "监护人", "监护人电话"])
    ws.append(["Middle School A", "初二（3）班", 8, "X0001", "王小明", "男", "2012-09-01", "王父", "13912345678"])
    buffer = io.BytesIO()
    wb.save(buffer)
    teacher = login_as(client_factory, "teacher")
    import_id = _upload(teacher, buffer.getvalue(), "roster.xlsx")
    assert _count(teacher.get(f"/rosters/{import_id}").get_data(as_text=True), "new") == 1
    assert teacher.post(f"/rosters/{import_id}/apply").status_code == 302
    with app.app_context():
        student = db.session.scalar(select(Student).where(Student.student_number == "X0001"))
        assert student.name == "王小明" and student.current_enrollment().class_group.name == "初二（3）班"


def test_bad_rows_are_listed_with_row_numbers_and_block_the_whole_import(app, world, client_factory):
    admin = login_as(client_factory, "admin")
    data = _csv("Middle School A,Class 8-1,8,N0001,Fine Row,F,2012-03-04,,",
                "No Such School,Class 1,8,N0002,Someone,F,2012-03-04,,",
                "Middle School A,Class 8-1,8,N0003,Bad Date,F,2012-02-30,,",
                "Middle School A,Class 8-1,8,S0000,Student 0,M,2011-12-31,,",
                "Middle School A,Class 8-1,8,N0001,Again,F,2012-03-04,,",
                "Middle School A,Class 8-1,8,N0005,Future,F,2099-01-01,,")
    before = _state(app)
    import_id = _upload(admin, data)
    page = admin.get(f"/rosters/{import_id}").get_data(as_text=True)
    assert _count(page, "errors") == 5
    errors = page.split('data-testid="roster-errors"', 1)[1].split("</section>", 1)[0]
    for row, text in ((3, "Unknown school"), (4, "Impossible birth date"), (5, "another birth date"),
                      (6, "Same student number as row"), (7, "Impossible birth date")):
        assert f"<td>{row}</td>" in errors and text in errors, (row, text)
    assert 'data-testid="apply"' not in page
    response = admin.post(f"/rosters/{import_id}/apply")
    assert response.status_code == 302
    assert "Nothing was imported" in admin.get(response.headers["Location"]).get_data(as_text=True)
    assert _state(app) == before


def test_teacher_imports_only_for_own_school(app, world, client_factory):
    teacher = login_as(client_factory, "teacher")
    import_id = _upload(teacher, _csv("High School B,Class 10-1,10,N0009,Elsewhere,F,2010-03-04,,"))
    page = teacher.get(f"/rosters/{import_id}").get_data(as_text=True)
    assert _count(page, "errors") == 1 and "Not your school" in page
    assert login_as(client_factory, "other_teacher").get(f"/rosters/{import_id}").status_code == 404
    assert login_as(client_factory, "homeroom").get("/rosters").status_code == 404
    assert login_as(client_factory, "doctor").get("/rosters").status_code == 404


def test_malformed_empty_headerless_and_huge_files_get_a_clear_message(app, world, client_factory):
    admin = login_as(client_factory, "admin")
    before = _state(app)
    cases = [
        (b"PK\x03\x04 this is not a workbook", "roster.xlsx", "could not be read"),
        (b"\xff\xfe\x00garbage\x00", "roster.csv", "could not be read"),
        (b"", "roster.csv", "no rows"),
        (b"name,sex\nA,F\n", "roster.csv", "lacks these columns"),
        (b"a" * (50 * 1024 * 1024), "roster.csv", "larger than 10 MB"),
    ]
    for data, name, message in cases:
        r = admin.post("/rosters", {"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")
        assert r.status_code == 400, name
        assert message in r.get_data(as_text=True), message
    with app.app_context():
        assert db.session.scalar(select(func.count(RosterImport.id))) == 0
    assert _state(app) == before
