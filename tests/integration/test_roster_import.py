"""Roster import: preview, apply all-or-nothing, idempotent re-import, the bad files that change nothing, and the
academic year the classes are filed in (this one or the next, kept from preview to apply)."""
import io
from datetime import date, datetime, timezone

from openpyxl import Workbook
from sqlalchemy import func, select

from app.core import clock
from app.extensions import db
from app.orgs.models import ClassGroup
from app.students.models import Enrollment, EnrollmentReason, RosterImport, RosterImportStatus, Student
from app.orgs.school_year import academic_year
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
    # A number new to the school is admitted by the district admin (app/students/roster.py says why).
    assert _count(teacher.get(f"/rosters/{import_id}").get_data(as_text=True), "requests") == 1
    assert teacher.post(f"/rosters/{import_id}/apply").status_code == 302
    admin = login_as(client_factory, "admin")
    assert admin.post(f"/admin/rosters/{import_id}/admissions/approve").status_code == 302
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
    for row, text in ((3, "Unknown school"), (4, "Impossible birth date"), (5, "birth date differs from the one recorded"),
                      (6, "Same student number as row"), (7, "Impossible birth date")):
        assert f"<td>{row}</td>" in errors and text in errors, (row, text)
    assert "2012-01-01" not in page  # the stored birth date is never shown, not even to the admin
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
        r = admin.post("/rosters", {"file": (io.BytesIO(data), name), "academic_year": academic_year(clock.today())},
                       content_type="multipart/form-data")
        assert r.status_code == 400, name
        assert message in r.get_data(as_text=True), message
    with app.app_context():
        assert db.session.scalar(select(func.count(RosterImport.id))) == 0
    assert _state(app) == before


def _freeze_local(*when):
    """Pin the clock to a local (Asia/Shanghai) time."""
    clock.freeze(datetime(*when, tzinfo=clock.LOCAL_TZ).astimezone(timezone.utc))


def _classes(app, school_id):
    with app.app_context():
        return sorted(db.session.execute(select(ClassGroup.academic_year, ClassGroup.grade, ClassGroup.name)
                                         .where(ClassGroup.school_id == school_id)).all())


def _enrolment(number):
    """The student's current enrolment and its class (call inside an app context)."""
    student = db.session.scalar(select(Student).where(Student.student_number == number))
    current = student.current_enrollment()
    return current, current.class_group


def test_a_roster_for_next_year_creates_its_classes_in_next_year_and_enrols_the_students_there(autumn_2026, app, world, client_factory):
    _freeze_local(2027, 7, 15, 10, 0)  # July: the school imports the roster of September's classes
    admin = login_as(client_factory, "admin")
    # 'Class 8-1' exists, but in this year (2026-2027): next year's has to be created, not this year's reused.
    data = _csv("Middle School A,Class 8-1,8,N0001,New Pupil,F,2013-03-04,,",
                "Middle School A,Class 9-1,9,S0001,Student 1,F,2012-01-02,Guardian,13900000000")
    import_id = _upload(admin, data, year="2027-2028")
    page = admin.get(f"/rosters/{import_id}").get_data(as_text=True)
    assert (_count(page, "new"), _count(page, "updated"), _count(page, "unchanged")) == (1, 1, 0)
    assert "Classes to create: 2" in page
    assert admin.post(f"/rosters/{import_id}/apply").status_code == 302
    assert _classes(app, world.school_id) == [("2026-2027", 8, "Class 8-1"), ("2027-2028", 8, "Class 8-1"),
                                             ("2027-2028", 9, "Class 9-1")]
    with app.app_context():
        current, cls = _enrolment("N0001")
        assert (cls.academic_year, cls.name, current.start_date, current.reason) == \
            ("2027-2028", "Class 8-1", date(2027, 7, 15), EnrollmentReason.ADMISSION)
        # A known student moves into next year's class from the day of Apply; this year's stay is kept as it was.
        current, cls = _enrolment("S0001")
        assert (cls.academic_year, cls.name, current.start_date, current.reason) == \
            ("2027-2028", "Class 9-1", date(2027, 7, 15), EnrollmentReason.PROMOTION)
        before = db.session.scalars(select(Enrollment).where(Enrollment.student_id == world.student_ids[1],
                                                             Enrollment.id != current.id)).one()
        assert (before.class_group_id, before.end_date) == (world.class_id, date(2027, 7, 15))
    # The same file for the same year again: every row is where the file says.
    again = _upload(admin, data, year="2027-2028")
    page = admin.get(f"/rosters/{again}").get_data(as_text=True)
    assert _count(page, "unchanged") == 2 and 'data-testid="nothing-to-change"' in page


def test_the_preview_and_the_list_of_imports_show_the_academic_year(autumn_2026, app, world, client_factory):
    _freeze_local(2027, 8, 20, 9, 0)
    admin = login_as(client_factory, "admin")
    import_id = _upload(admin, _csv("Middle School A,Class 9-1,9,N0001,New Pupil,F,2012-03-04,,"), year="2027-2028")
    page = admin.get(f"/rosters/{import_id}").get_data(as_text=True)
    assert 'data-testid="roster-year">Academic year 2027-2028</p>' in page
    assert "Classes are found or created in academic year 2027-2028" in page
    assert "Academic year 2027-2028" in admin.get("/rosters").get_data(as_text=True)
    chinese = client_factory()
    chinese.http.environ_base["HTTP_ACCEPT_LANGUAGE"] = ""  # Simplified Chinese, the default
    chinese.login("admin")
    page = chinese.get(f"/rosters/{import_id}").get_data(as_text=True)
    assert 'data-testid="roster-year">学年：2027-2028</p>' in page
    home = chinese.get("/rosters").get_data(as_text=True)
    assert "学年：2027-2028" in home and "2026-2027（本学年）" in home and "2027-2028（下一学年）" in home


def test_a_year_outside_this_one_and_the_next_is_refused_and_nothing_is_stored(autumn_2026, app, world, client_factory):
    _freeze_local(2027, 7, 15, 10, 0)
    admin = login_as(client_factory, "admin")
    page = admin.get("/rosters").get_data(as_text=True)
    assert '<option selected value="2026-2027">' in page  # this year unless the school picks the next
    data = _csv("Middle School A,Class 9-1,9,N0001,New Pupil,F,2012-03-04,,")
    for year in ("2025-2026", "2028-2029", "2027-2028 ", "next", ""):
        r = admin.post("/rosters", {"file": (io.BytesIO(data), "roster.csv"), "academic_year": year},
                       content_type="multipart/form-data")
        assert r.status_code == 400, year
        message = ("Choose the academic year." if not year else
                   "A roster can be imported for this academic year (2026-2027) or the next (2027-2028) only.")
        assert message in r.get_data(as_text=True), year
    r = admin.post("/rosters", {"file": (io.BytesIO(data), "roster.csv")}, content_type="multipart/form-data")
    assert r.status_code == 400 and "Choose the academic year." in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(RosterImport.id))) == 0


def test_an_import_for_a_year_that_has_ended_is_refused_and_changes_nothing(autumn_2026, app, world, client_factory):
    _freeze_local(2027, 8, 31, 20, 0)  # the last evening of 2026-2027
    admin = login_as(client_factory, "admin")
    data = _csv("Middle School A,Class 8-2,8,N0001,New Pupil,F,2012-03-04,,",
                "Middle School A,Class 8-1,8,S0001,Student 1,F,2012-01-02,Guardian,13900000000")
    import_id = _upload(admin, data, year="2026-2027")
    page = admin.get(f"/rosters/{import_id}").get_data(as_text=True)
    assert (_count(page, "new"), _count(page, "unchanged")) == (1, 1) and "Classes to create: 1" in page
    classes_before = _classes(app, world.school_id)
    _freeze_local(2027, 9, 1, 8, 0)  # Apply the next morning, in the academic year 2027-2028
    admin = login_as(client_factory, "admin")
    page = admin.post(f"/rosters/{import_id}/apply", follow_redirects=True).get_data(as_text=True)
    assert "academic year 2026-2027, which has ended" in page
    assert _classes(app, world.school_id) == classes_before
    with app.app_context():
        assert db.session.scalar(select(Student).where(Student.student_number == "N0001")) is None
        assert db.session.get(RosterImport, import_id).status == RosterImportStatus.PREVIEWED
