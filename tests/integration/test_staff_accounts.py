"""Staff accounts through the interface: one-time passwords that must be changed at first use (and expire), resets
of a password or a lost second factor only with a reason (audited, the user told), role and scope changes at the
next request, a psychology teacher's homeroom teachers, and imports from CSV/XLSX (preview, errors per row, one
transaction)."""
import re
from datetime import timedelta
from io import BytesIO

from openpyxl import Workbook
from sqlalchemy import func, select, update

from app.accounts.models import Role, StaffImport, User
from app.audit.models import AuditEvent
from app.core import clock
from app.extensions import db
from app.notifications.models import Notification
from app.orgs.models import School
from tests.conftest import PASSWORD, TOTP_SECRET, login_as, totp_code
from tests.integration.test_notifications import mail  # noqa: F401  (a local SMTP server)

NEW_PASSWORD = "my-own-passphrase-at-last-7"


def _one_time_password(response):
    assert response.status_code == 200, response.get_data(as_text=True)[:3000]
    return re.search(r'data-testid="one-time-password">([a-z0-9-]+)<', response.get_data(as_text=True)).group(1)


def _user(app, username):
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        if user is not None:
            db.session.expunge(user)
        return user


def _audit(app, action):
    with app.app_context():
        return db.session.execute(select(AuditEvent.object_id, AuditEvent.detail, AuditEvent.actor_id)
                                  .where(AuditEvent.action == action).order_by(AuditEvent.id)).all()


def _create(client, **fields):
    data = {"username": "zhang.wei", "display_name": "张伟", "email": "", "role": "teacher", "school_id": 0,
            "hospital_id": 0, "class_group_id": 0}
    data.update(fields)
    return client.post("/admin/accounts/new", data)


def test_an_account_starts_with_a_one_time_password_that_must_be_changed_at_first_use(app, world, client_factory):
    admin = login_as(client_factory, "admin")
    response = _create(admin, school_id=world.school_id, email="zhang.wei@school.test")
    password = _one_time_password(response)
    created = _user(app, "zhang.wei")
    assert created.must_change_password and created.role == Role.TEACHER and created.school_id == world.school_id
    assert password not in admin.get(f"/admin/accounts/{created.id}").get_data(as_text=True)  # shown once only
    assert [row.detail["role"] for row in _audit(app, "account_created")] == ["teacher"]

    teacher = client_factory()
    assert teacher.login("zhang.wei", password).status_code == 302
    for page in ("/teacher", "/alerts", f"/students/{world.student_ids[0]}", "/campaigns/new"):
        response = teacher.get(page)
        assert response.status_code == 302 and response.headers["Location"] == "/account/password", page
    form = teacher.get("/account/password").get_data(as_text=True)
    assert 'data-testid="must-change"' in form
    changed = teacher.post("/account/password", {"current_password": password, "new_password": NEW_PASSWORD,
                                                 "confirm": NEW_PASSWORD})
    assert changed.status_code == 302
    assert teacher.get("/teacher").status_code == 200
    assert not _user(app, "zhang.wei").must_change_password
    assert client_factory().login("zhang.wei", password).status_code == 401  # the one-time password is gone


def test_a_new_admin_sets_up_the_second_factor_then_chooses_a_password(app, world, client_factory):
    admin = login_as(client_factory, "admin")
    password = _one_time_password(_create(admin, username="second.admin", role="admin"))
    new = client_factory()
    assert new.login("second.admin", password, totp_secret=None).status_code == 302
    assert new.get("/admin").headers["Location"] == "/account/second-factor"
    page = new.get("/account/second-factor").get_data(as_text=True)
    secret = re.search(r'data-testid="totp-secret">([A-Z2-7]+)<', page).group(1)
    assert new.post("/account/second-factor", {"code": totp_code(app, "second.admin", secret)}).status_code == 302
    assert new.get("/admin").headers["Location"] == "/account/password"
    assert new.post("/account/password", {"current_password": password, "new_password": NEW_PASSWORD,
                                          "confirm": NEW_PASSWORD}).status_code == 302
    assert new.get("/admin").status_code == 200


def test_a_one_time_password_expires(app, world, client_factory):
    admin = login_as(client_factory, "admin")
    password = _one_time_password(_create(admin, school_id=world.school_id))
    clock.freeze(clock.now() + timedelta(days=app.config["ONE_TIME_PASSWORD_DAYS"], minutes=1))
    late = client_factory()
    late.login("zhang.wei", password)
    response = late.get("/account/password")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert "has expired" in late.get("/login").get_data(as_text=True)
    assert late.get("/teacher").status_code == 302


def test_the_admin_resets_a_password_only_with_a_reason_and_the_user_is_told(app, world, client_factory, mail):  # noqa: F811
    mail.start()
    with app.app_context():
        db.session.execute(update(User).where(User.username == "teacher").values(email="teacher@school.test"))
        db.session.commit()
    teacher_id = _user(app, "teacher").id
    running = client_factory()
    with app.app_context():  # signed in before the lock
        db.session.execute(update(User).where(User.username == "teacher").values(locked_until=None))
        db.session.commit()
    assert running.login("teacher").status_code == 302
    with app.app_context():
        db.session.execute(update(User).where(User.username == "teacher").values(
            locked_until=clock.now() + timedelta(minutes=10)))
        db.session.commit()
    admin = login_as(client_factory, "admin")
    refused = admin.post(f"/admin/accounts/{teacher_id}/reset-password", {"reason": ""})
    assert refused.status_code == 400 and not _user(app, "teacher").must_change_password
    response = admin.post(f"/admin/accounts/{teacher_id}/reset-password", {"reason": "lost it; asked in person"})
    response.close()  # the notice's mail goes out once the answer has gone
    password = _one_time_password(response)
    reset = _user(app, "teacher")
    assert reset.must_change_password and reset.locked_until is None  # the lock is cleared too
    assert [row.detail for row in _audit(app, "password_reset_by_admin")] == [{"reason": "lost it; asked in person"}]
    ended = running.get("/teacher")
    assert ended.status_code == 302 and ended.headers["Location"].startswith("/login")  # every session ended
    assert client_factory().login("teacher", PASSWORD).status_code == 401
    teacher = client_factory()
    assert teacher.login("teacher", password).status_code == 302
    with app.app_context():
        kinds = db.session.scalars(select(Notification.kind).where(Notification.user_id == teacher_id)).all()
    assert "account_password_reset" in kinds
    assert mail.to("teacher@school.test") and password not in str(mail.to("teacher@school.test")[0])


def test_the_admin_resets_a_lost_second_factor_only_with_a_reason(app, world, client_factory):
    with app.app_context():
        db.session.execute(update(User).where(User.username == "teacher2").values(totp_secret=TOTP_SECRET))
        db.session.commit()
    user_id = _user(app, "teacher2").id
    admin = login_as(client_factory, "admin")
    assert admin.post(f"/admin/accounts/{user_id}/reset-second-factor", {"reason": "x"}).status_code == 400
    assert _user(app, "teacher2").totp_secret
    response = admin.post(f"/admin/accounts/{user_id}/reset-second-factor", {"reason": "phone stolen, called the centre"})
    assert response.status_code == 302
    assert _user(app, "teacher2").totp_secret is None
    assert [row.detail for row in _audit(app, "second_factor_reset")] == [{"reason": "phone stolen, called the centre"}]
    with app.app_context():
        assert db.session.scalar(select(Notification.id).where(Notification.user_id == user_id,
                                                               Notification.kind == "account_second_factor_reset"))


def test_a_new_role_and_scope_apply_at_the_next_request_and_nobody_changes_their_own_role(app, world, client_factory):
    teacher = login_as(client_factory, "teacher")
    admin = login_as(client_factory, "admin")
    teacher_id, admin_id = _user(app, "teacher").id, _user(app, "admin").id
    moved = admin.post(f"/admin/accounts/{teacher_id}", {
        "display_name": "Teacher A", "email": "", "role": "doctor", "school_id": world.school_id,
        "hospital_id": world.hospital_id, "class_group_id": 0})
    assert moved.status_code == 302
    assert teacher.get("/teacher").status_code == 404
    assert teacher.get("/doctor").status_code == 200
    now_doctor = _user(app, "teacher")
    assert (now_doctor.role, now_doctor.school_id, now_doctor.hospital_id) == (Role.DOCTOR, None, world.hospital_id)
    assert _audit(app, "account_updated")[0].detail["role"] == "doctor"
    demote = admin.post(f"/admin/accounts/{admin_id}", {"display_name": "Admin", "email": "", "role": "teacher",
                                                        "school_id": world.school_id, "hospital_id": 0,
                                                        "class_group_id": 0})
    assert demote.status_code == 400 and _user(app, "admin").role == Role.ADMIN
    no_class = admin.post(f"/admin/accounts/{teacher_id}", {"display_name": "T", "email": "", "role": "homeroom",
                                                            "school_id": world.school_id, "hospital_id": 0,
                                                            "class_group_id": world.other_class_id})
    assert no_class.status_code == 400 and "needs a class of their school" in no_class.get_data(as_text=True)


def test_a_psychology_teacher_manages_the_homeroom_teachers_of_their_own_school_only(app, world, client_factory):
    other = login_as(client_factory, "other_teacher")
    made = other.post("/admin/accounts/new", {"username": "homeroom.b", "display_name": "Homeroom B", "email": "",
                                              "class_group_id": world.other_class_id})
    _one_time_password(made)
    teacher = login_as(client_factory, "teacher")
    form = teacher.get("/admin/accounts/new").get_data(as_text=True)
    assert 'name="role"' not in form and 'name="school_id"' not in form
    # A forged role or school is ignored: a psychology teacher only makes homeroom teachers of their own school.
    response = teacher.post("/admin/accounts/new", {"username": "sneaky", "display_name": "Sneaky", "email": "",
                                                    "role": "admin", "school_id": world.other_school_id,
                                                    "class_group_id": world.class_id})
    _one_time_password(response)
    sneaky = _user(app, "sneaky")
    assert (sneaky.role, sneaky.school_id, sneaky.class_group_id) == (Role.HOMEROOM, world.school_id, world.class_id)
    assert teacher.post("/admin/accounts/new", {"username": "wrong.class", "display_name": "W", "email": "",
                                                "class_group_id": world.other_class_id}).status_code == 400
    listing = teacher.get("/admin/accounts").get_data(as_text=True)
    assert 'data-username="homeroom"' in listing and 'data-username="sneaky"' in listing
    for outsider in ("homeroom.b", "teacher2", "doctor", "admin"):
        assert f'data-username="{outsider}"' not in listing
        user_id = _user(app, outsider).id
        assert teacher.get(f"/admin/accounts/{user_id}").status_code == 404
        assert teacher.post(f"/admin/accounts/{user_id}/active", {"active": "0"}).status_code == 404
        assert teacher.post(f"/admin/accounts/{user_id}/reset-password", {"reason": "forgot it again"}).status_code == 404
    homeroom = login_as(client_factory, "homeroom")
    homeroom_id = _user(app, "homeroom").id
    assert teacher.post(f"/admin/accounts/{homeroom_id}/active", {"active": "0"}).status_code == 302
    assert homeroom.get("/homeroom").status_code == 302  # disabled: the session ends at once
    assert teacher.post(f"/admin/accounts/{homeroom_id}/active", {"active": "1"}).status_code == 302
    assert client_factory().login("homeroom").status_code == 302


def test_a_closed_school_gets_no_new_account(app, world, client_factory):
    with app.app_context():
        db.session.get(School, world.school_id).closed_on = clock.today()
        db.session.commit()
    admin = login_as(client_factory, "admin")
    response = _create(admin, school_id=world.school_id)
    assert response.status_code == 400 and _user(app, "zhang.wei") is None


# --- imports ---------------------------------------------------------------------------------------------

BAD_CSV = """username,name,role,school,class,hospital,email
Bad Name!,Someone,心理教师,Middle School A,,,
teacher,Taken,心理教师,Middle School A,,,
li.na,李娜,心理教师,Nowhere School,,,
li.na,李娜二,心理教师,Middle School A,,,
wang.fang,王芳,校长,Middle School A,,,
zhao.lei,赵磊,班主任,Middle School A,Class 9-9,,
chen.yi,陈医生,医生,,,Unknown Hospital,
he.min,何敏,班主任,Middle School A,Class 8-1,,not-an-address
""".encode("utf-8")
GOOD_CSV = """用户名,姓名,角色,学校,班级,医院,邮箱
li.na,李娜,心理教师,Middle School A,,,li.na@school.test
zhao.lei,赵磊,班主任,Middle School A,Class 8-1,,
chen.yi,陈医生,医生,,,Partner Hospital,chen.yi@hospital.test
""".encode("utf-8")


def _upload(client, data, name="staff.csv"):
    response = client.post("/admin/accounts/import", {"file": (BytesIO(data), name)}, content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return response.headers["Location"]


def _users(app):
    with app.app_context():
        return db.session.scalar(select(func.count(User.id)))


def test_an_import_lists_every_rows_problem_and_writes_nothing_until_all_are_right(app, world, client_factory):
    admin = login_as(client_factory, "admin")
    before = _users(app)
    preview_url = _upload(admin, BAD_CSV)
    page = admin.get(preview_url).get_data(as_text=True)
    errors = dict(re.findall(r'<tr data-row="(\d+)"><td>\d+</td><td>[^<]*</td><td>([^<]+)</td>', page))
    assert set(errors) == {"2", "3", "4", "5", "6", "7", "8", "9"}, errors
    assert "This username is taken" in errors["3"] and "Unknown school" in errors["4"]
    assert "Same username as row" in errors["5"] and "Role must be" in errors["6"]
    assert "No such class" in errors["7"] and "Unknown hospital" in errors["8"] and "Not an e-mail" in errors["9"]
    assert 'data-testid="apply"' not in page
    refused = admin.post(preview_url + "/apply")
    assert refused.status_code == 302 and _users(app) == before

    good_url = _upload(admin, GOOD_CSV)
    assert 'data-testid="count-errors">0<' in admin.get(good_url).get_data(as_text=True)
    applied = admin.post(good_url + "/apply")
    assert applied.status_code == 200
    passwords = dict(re.findall(r'<tr data-username="([^"]+)">.*?<code>([a-z0-9-]+)</code>', applied.get_data(as_text=True)))
    assert set(passwords) == {"li.na", "zhao.lei", "chen.yi"}
    zhao, chen = _user(app, "zhao.lei"), _user(app, "chen.yi")
    assert (zhao.role, zhao.class_group_id, zhao.must_change_password) == (Role.HOMEROOM, world.class_id, True)
    assert (chen.role, chen.hospital_id, chen.email) == (Role.DOCTOR, world.hospital_id, "chen.yi@hospital.test")
    assert client_factory().login("zhao.lei", passwords["zhao.lei"]).status_code == 302
    assert admin.post(good_url + "/apply").status_code == 302 and _users(app) == before + 3  # applied once only
    with app.app_context():
        assert all(not i.rows for i in db.session.scalars(select(StaffImport).where(StaffImport.applied_at.is_not(None))))
    assert [row.detail for row in _audit(app, "staff_list_imported")] == [{"created": 3}]


def test_an_xlsx_staff_list_is_read_like_a_csv(app, world, client_factory):
    book = Workbook()
    sheet = book.active
    sheet.append(["姓名", "用户名", "角色", "学校", "班级", "邮箱"])
    sheet.append(["周老师", "zhou.laoshi", "班主任", "Middle School A", "Class 8-1", None])
    data = BytesIO()
    book.save(data)
    teacher = login_as(client_factory, "teacher")
    url = _upload(teacher, data.getvalue(), "名单.xlsx")
    assert teacher.post(url + "/apply").status_code == 200
    assert _user(app, "zhou.laoshi").class_group_id == world.class_id


def test_a_psychology_teacher_imports_homeroom_teachers_of_their_own_school_only(app, world, client_factory):
    teacher = login_as(client_factory, "teacher")
    csv = ("username,name,role,school,class\n"
           "a.teacher,A,心理教师,Middle School A,\n"
           "b.homeroom,B,班主任,High School B,Class 10-1\n").encode("utf-8")
    page = teacher.get(_upload(teacher, csv)).get_data(as_text=True)
    assert "You can import homeroom teachers (班主任) only" in page and "Not your school" in page
    assert "Homeroom teachers of your school" in teacher.get("/admin/accounts/import").get_data(as_text=True)
