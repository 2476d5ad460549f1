"""Starting without the demo: `flask setup` makes the first admin; schools (never deleted, only closed), hospitals,
cooperation agreements (renewed, ended early: new referrals stop the next day and both sides are told; the page
marks those expiring within 60 days) and classes, all through the interface."""
import re
from datetime import timedelta
from io import BytesIO

from sqlalchemy import func, select

from app.accounts.models import Role, User
from app.audit.models import AuditEvent
from app.core import clock
from app.extensions import db
from app.orgs.models import ClassGroup, Hospital, Partnership, School
from app.orgs.school_year import academic_year, import_years
from app.students.models import Enrollment
from tests.conftest import login_as

ADMIN_PASSWORD = "district-centre-keys-2026"


def _setup(app, *args, password=ADMIN_PASSWORD):
    return app.test_cli_runner().invoke(args=["setup", "--username", "centre.admin", "--name", "中心管理员",
                                              "--email", "", *args], input=f"{password}\n{password}\n")


def test_flask_setup_creates_the_first_admin_once_who_enrols_a_second_factor_first(app, client_factory):
    weak = _setup(app, password="password1234")
    assert weak.exit_code != 0 and "too common" in weak.output
    result = _setup(app)
    assert result.exit_code == 0, result.output
    assert "second factor" in result.output
    with app.app_context():
        admin = db.session.scalar(select(User).where(User.username == "centre.admin"))
        assert admin.role == Role.ADMIN and not admin.must_change_password and admin.totp_secret is None
        assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.object_id == admin.id)) == "first_admin_created"
    again = _setup(app)
    assert again.exit_code != 0 and "exists already" in again.output
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == 1
    client = client_factory()
    assert client.login("centre.admin", ADMIN_PASSWORD, totp_secret=None).status_code == 302
    assert client.get("/admin").headers["Location"] == "/account/second-factor"


# --- schools ---------------------------------------------------------------------------------------------

def _school(client, **fields):
    data = {"name": "星城第三小学", "code": "4301010003", "level": "primary", "district": "星城区"}
    data.update(fields)
    return client.post("/admin/schools", data)


def test_schools_are_created_checked_and_edited(app, world, client_factory):
    admin = login_as(client_factory, "admin")
    created = _school(admin)
    assert created.status_code == 302
    with app.app_context():
        school = db.session.scalar(select(School).where(School.code == "4301010003"))
        school_id = school.id
    for fields, message in (({"code": "4301010003", "name": "Another"}, "Another school already has this code"),
                            ({"code": "X1", "name": "Middle School A"}, "Another school already has this name"),
                            ({"code": "has space", "name": "Third"}, "2 to 32 letters"),
                            ({"code": "Y1", "name": "Fourth", "level": "kindergarten"}, "")):
        refused = _school(admin, **fields)
        assert refused.status_code == 400 and message in refused.get_data(as_text=True)
    edited = admin.post(f"/admin/schools/{school_id}", {"name": "星城第三小学", "code": "4301010099", "level": "primary",
                                                        "district": "星沙区"})
    assert edited.status_code == 302
    page = admin.get(f"/admin/schools/{school_id}").get_data(as_text=True)
    assert "4301010099" in page and "星沙区" in page
    with app.app_context():
        actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "school")
                                      .order_by(AuditEvent.id)).all()
    assert actions == ["school_created", "school_updated"]


def test_a_school_with_students_is_closed_never_deleted_and_starts_nothing_new(app, world, client_factory):
    admin = login_as(client_factory, "admin")
    teacher = login_as(client_factory, "teacher")
    assert admin.post(f"/admin/schools/{world.school_id}/close", {"close-reason": ""}).status_code == 400
    assert admin.post(f"/admin/schools/{world.school_id}/close", {"close-reason": "merged with High School B"}).status_code == 302
    # No organisation or account is ever removed (a person's own message channel may be: channels.remove).
    assert not any(("delete" in rule.endpoint or "remove" in rule.endpoint) and rule.endpoint.split(".")[0] in
                   ("orgs", "account_admin", "staff_imports", "rosters") for rule in app.url_map.iter_rules())
    with app.app_context():
        assert db.session.get(School, world.school_id).closed_on == clock.today()
        assert db.session.scalar(select(func.count(Enrollment.id)).where(Enrollment.school_id == world.school_id)) == 6
    # The files stay readable; nothing new starts.
    assert teacher.get(f"/students/{world.student_ids[0]}").status_code == 200
    campaign = teacher.post("/campaigns/new", {"title": "After closing", "class_ids": [world.class_id],
                                               "scale_codes": ["PHQ-9"], "open_hours": 2})
    assert campaign.status_code == 400 and "This school is closed" in campaign.get_data(as_text=True)
    roster = ("school,class,grade,student_number,name,sex,birth_date\n"
              "Middle School A,Class 8-1,8,N7777,New Pupil,F,2012-03-04\n").encode("utf-8")
    upload = admin.post("/rosters", {"file": (BytesIO(roster), "r.csv"), "academic_year": academic_year(clock.today())},
                        content_type="multipart/form-data")
    preview = admin.get(upload.headers["Location"]).get_data(as_text=True)
    assert "This school is closed" in preview and 'data-testid="apply"' not in preview
    new_class = admin.post(f"/schools/{world.school_id}/classes", {"academic_year": academic_year(clock.today()),
                                                                    "grade": 8, "name": "Class 8-7"})
    assert new_class.status_code == 400
    assert world.school_id not in dict(_agreement_form_choices(admin, "school_id"))
    assert admin.post(f"/admin/schools/{world.school_id}/reopen").status_code == 302
    assert teacher.post("/campaigns/new", {"title": "Reopened", "class_ids": [world.class_id],
                                           "scale_codes": ["PHQ-9"], "open_hours": 2}).status_code == 302


def _agreement_form_choices(client, field):
    page = client.get("/admin/agreements").get_data(as_text=True)
    select_html = re.search(rf'<select[^>]*name="{field}"[^>]*>(.*?)</select>', page, re.S).group(1)
    return [(int(v), label) for v, label in re.findall(r'<option[^>]*value="(\d+)"[^>]*>([^<]*)<', select_html)]


def test_hospitals_are_created_and_renamed(app, world, client_factory):
    admin = login_as(client_factory, "admin")
    assert admin.post("/admin/hospitals", {"name": "星城市第二人民医院"}).status_code == 302
    assert admin.post("/admin/hospitals", {"name": "partner hospital"}).status_code == 400  # names are unique
    assert admin.post(f"/admin/hospitals/{world.other_hospital_id}", {"name": "Other Hospital (2)"}).status_code == 302
    with app.app_context():
        assert db.session.get(Hospital, world.other_hospital_id).name == "Other Hospital (2)"


# --- cooperation agreements ------------------------------------------------------------------------------

def _agree(client, school_id, hospital_id, signed, expires):
    return client.post("/admin/agreements", {"school_id": school_id, "hospital_id": hospital_id,
                                             "signed_on": signed.isoformat(), "expires_on": expires.isoformat()})


def _offered(client, student_id):
    page = client.get(f"/students/{student_id}/refer").get_data(as_text=True)
    return page, re.findall(r'<option value="\d+"[^>]*>([^<]*Hospital[^<]*)<', page)


def test_an_agreement_ended_early_stops_new_referrals_the_next_day_and_both_sides_are_told(app, world, client_factory):
    admin = login_as(client_factory, "admin")
    today = clock.today()
    assert _agree(admin, world.school_id, world.other_hospital_id, today, today - timedelta(days=1)).status_code == 400
    assert _agree(admin, world.school_id, world.other_hospital_id, today - timedelta(days=10),
                  today + timedelta(days=365)).status_code == 302
    overlapping = _agree(admin, world.school_id, world.other_hospital_id, today + timedelta(days=100),
                         today + timedelta(days=500))
    assert overlapping.status_code == 400 and "renew that one instead" in overlapping.get_data(as_text=True)
    with app.app_context():
        agreement = db.session.scalar(select(Partnership).where(Partnership.hospital_id == world.other_hospital_id))
        agreement_id = agreement.id
    teacher = login_as(client_factory, "teacher")
    page, offered = _offered(teacher, world.student_ids[2])
    assert "Other Hospital" in offered and 'data-testid="agreement-notices"' not in page

    assert admin.post(f"/admin/agreements/{agreement_id}/end", {"end-reason": ""}).status_code == 400
    assert admin.post(f"/admin/agreements/{agreement_id}/end",
                      {"end-reason": "the youth clinic closed"}).status_code == 302
    # Still in force today: the day it was ended is its last day.
    page, offered = _offered(teacher, world.student_ids[2])
    assert "Other Hospital" in offered
    assert "ends on %s" % today.isoformat() in page and "Ended early" in page
    with app.app_context():
        doctor_hospital = db.session.scalar(select(User).where(User.username == "other_doctor"))
        assert doctor_hospital.hospital_id == world.other_hospital_id
    doctor = login_as(client_factory, "other_doctor")
    assert "Middle School A ends on %s" % today.isoformat() in doctor.get("/doctor").get_data(as_text=True)

    clock.freeze(clock.now() + timedelta(days=1))
    teacher = login_as(client_factory, "teacher")  # a day later: a new session
    page, offered = _offered(teacher, world.student_ids[2])
    assert "Other Hospital" not in offered and "Partner Hospital" in offered
    assert "Other Hospital ended on %s" % today.isoformat() in page
    refused = teacher.post(f"/students/{world.student_ids[2]}/refer", {
        "hospital_id": world.other_hospital_id, "urgency": "high", "reason": "after the end", "alert_id": 0})
    assert refused.status_code == 400
    assert "Other Hospital ended on" in teacher.get("/teacher").get_data(as_text=True)
    assert "Middle School A ended on" in login_as(client_factory, "other_doctor").get("/doctor").get_data(as_text=True)
    with app.app_context():
        ended = db.session.get(Partnership, agreement_id)
        assert (ended.ended_on, ended.end_reason) == (today, "the youth clinic closed")
        assert db.session.scalar(select(AuditEvent.detail).where(AuditEvent.action == "agreement_ended")) == {
            "last_day": today.isoformat()}
    admin = login_as(client_factory, "admin")
    renewed = admin.post(f"/admin/agreements/{agreement_id}/renew",
                         {"renew-expires_on": (today + timedelta(days=900)).isoformat()})
    assert renewed.status_code == 400  # an agreement ended early is not renewed: a new one is signed


def test_agreements_are_renewed_and_those_expiring_within_60_days_are_shown(app, world, client_factory):
    admin = login_as(client_factory, "admin")
    today = clock.today()
    with app.app_context():
        agreement = db.session.scalar(select(Partnership).where(Partnership.school_id == world.other_school_id))
        agreement.expires_on = today + timedelta(days=45)
        agreement_id = agreement.id
        db.session.commit()
    page = admin.get("/admin/agreements").get_data(as_text=True)
    expiring = re.search(r'data-testid="expiring-agreements">(.*?)</section>', page, re.S).group(1)
    assert "High School B" in expiring and "Middle School A" not in expiring
    assert 'data-state="expiring"' in page
    # Both sides see it coming.
    assert "Partner Hospital ends on" in login_as(client_factory, "other_teacher").get("/teacher").get_data(as_text=True)
    assert admin.post(f"/admin/agreements/{agreement_id}/renew",
                      {"renew-expires_on": (today + timedelta(days=10)).isoformat()}).status_code == 400
    assert admin.post(f"/admin/agreements/{agreement_id}/renew",
                      {"renew-expires_on": (today + timedelta(days=730)).isoformat()}).status_code == 302
    page = admin.get("/admin/agreements").get_data(as_text=True)
    assert 'data-testid="expiring-agreements"' not in page
    with app.app_context():
        assert db.session.get(Partnership, agreement_id).expires_on == today + timedelta(days=730)
        detail = db.session.scalar(select(AuditEvent.detail).where(AuditEvent.action == "agreement_renewed"))
    assert detail == {"from": (today + timedelta(days=45)).isoformat(), "to": (today + timedelta(days=730)).isoformat()}


def test_an_expired_agreement_renewed_is_in_force_again(app, world, client_factory):
    today = clock.today()
    with app.app_context():
        agreement = db.session.scalar(select(Partnership).where(Partnership.school_id == world.school_id))
        agreement.signed_on, agreement.expires_on = today - timedelta(days=400), today - timedelta(days=5)
        agreement_id = agreement.id
        db.session.commit()
    teacher = login_as(client_factory, "teacher")
    page, offered = _offered(teacher, world.student_ids[2])
    assert offered == [] and "Partner Hospital ended on" in page
    admin = login_as(client_factory, "admin")
    assert admin.post(f"/admin/agreements/{agreement_id}/renew",
                      {"renew-expires_on": (today + timedelta(days=365)).isoformat()}).status_code == 302
    assert _offered(teacher, world.student_ids[2])[1] == ["Partner Hospital"]


# --- classes -----------------------------------------------------------------------------------------------

def test_classes_are_created_for_this_year_or_the_next_by_the_admin_or_the_schools_teacher(app, world, client_factory):
    this_year, next_year = import_years(clock.today())
    teacher = login_as(client_factory, "teacher")
    url = f"/schools/{world.school_id}/classes"
    assert teacher.post(url, {"academic_year": this_year, "grade": 7, "name": "初一（3）班"}).status_code == 302
    assert teacher.post(url, {"academic_year": next_year, "grade": 7, "name": "初一（3）班"}).status_code == 302
    assert teacher.post(url, {"academic_year": this_year, "grade": 7, "name": "初一（3）班"}).status_code == 400
    assert teacher.post(url, {"academic_year": "2001-2002", "grade": 7, "name": "初一（4）班"}).status_code == 400
    assert teacher.post(url, {"academic_year": this_year, "grade": 17, "name": "初一（4）班"}).status_code == 400
    assert teacher.get(f"/schools/{world.other_school_id}/classes").status_code == 404
    assert login_as(client_factory, "admin").post(f"/schools/{world.other_school_id}/classes", {
        "academic_year": this_year, "grade": 10, "name": "高一（9）班"}).status_code == 302
    with app.app_context():
        made = db.session.execute(select(ClassGroup.school_id, ClassGroup.academic_year, ClassGroup.name)
                                  .where(ClassGroup.name.in_(["初一（3）班", "高一（9）班"]))
                                  .order_by(ClassGroup.id)).all()
    assert made == [(world.school_id, this_year, "初一（3）班"), (world.school_id, next_year, "初一（3）班"),
                    (world.other_school_id, this_year, "高一（9）班")]
    page = teacher.get(url).get_data(as_text=True)
    assert page.count('data-class="初一（3）班"') == 2


def test_after_an_agreement_ends_the_hospitals_doctors_no_longer_see_the_schools_alerts(app, world, client_factory):
    from app.risk import services as risk
    from app.students.models import Student

    with app.app_context():
        teacher = db.session.scalar(select(User).where(User.username == "teacher"))
        alert = risk.raise_alert(db.session.get(Student, world.student_ids[3]), world.school_id, "high", "concern",
                                 by=teacher)
        case_number, agreement_id = alert.case_number, db.session.scalar(
            select(Partnership.id).where(Partnership.school_id == world.school_id))
        db.session.commit()
    assert case_number in login_as(client_factory, "doctor").get("/alerts").get_data(as_text=True)
    admin = login_as(client_factory, "admin")
    assert admin.post(f"/admin/agreements/{agreement_id}/end", {"end-reason": "contract not renewed"}).status_code == 302
    assert case_number in login_as(client_factory, "doctor").get("/alerts").get_data(as_text=True)  # its last day
    clock.freeze(clock.now() + timedelta(days=1))
    assert case_number not in login_as(client_factory, "doctor").get("/alerts").get_data(as_text=True)
