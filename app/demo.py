"""Demo data: one hospital, two partner schools, three classes, ~90 students, staff, screenings."""
import random
import uuid
from datetime import date, timedelta

from sqlalchemy import func, select

from app.accounts import services as accounts
from app.accounts.models import Role, User
from app.care import services as care
from app.core import clock
from app.extensions import db
from app.orgs.models import ClassGroup, Hospital, Partnership, School, SchoolLevel
from app.screening import services as screening
from app.screening.models import Campaign, CampaignStatus
from app.students.models import Consent, ConsentKind, Enrollment, EnrollmentReason, Sex, Student
from app.orgs.school_year import academic_year

DEMO_PASSWORD = "XinQiao-demo-2026"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = ["子涵", "欣怡", "梓轩", "雨桐", "浩然", "思远", "嘉怡", "宇航", "诗涵", "俊杰", "晨曦", "一诺", "可馨", "博文",
         "佳琪", "天佑", "若汐", "明轩", "语嫣", "泽宇", "紫萱", "皓轩", "梦琪", "子墨", "雅婷", "睿", "欣然", "昊天"]

STAFF = [
    ("teacher.middle", "李静（心理教师）", Role.TEACHER, "middle"),
    ("teacher.high", "王芳（心理教师）", Role.TEACHER, "high"),
    ("homeroom.middle", "赵强（班主任）", Role.HOMEROOM, "middle"),
    ("doctor.chen", "陈医生", Role.DOCTOR, "hospital"),
    ("doctor.liu", "刘医生", Role.DOCTOR, "hospital"),
    ("admin", "区心理中心管理员", Role.ADMIN, None),
]


def is_empty() -> bool:
    return not db.session.scalar(select(func.count(School.id)))


def _students(rng, school, class_group, count, birth_year, number_prefix, start):
    for i in range(count):
        number = f"G{number_prefix}{class_group.grade:02d}{class_group.id:03d}{i + 1:04d}"
        student = Student(
            student_number=number,
            name=rng.choice(SURNAMES) + rng.choice(GIVEN),
            sex=rng.choice([Sex.FEMALE, Sex.MALE]),
            birth_date=date(birth_year, rng.randint(1, 12), rng.randint(1, 28)),
            guardian_name=rng.choice(SURNAMES) + "家长",
            guardian_phone=f"139{rng.randint(10000000, 99999999)}",
        )
        db.session.add(student)
        db.session.flush()
        db.session.add(Enrollment(student_id=student.id, school_id=school.id, class_group_id=class_group.id,
                                  start_date=start, reason=EnrollmentReason.ADMISSION))
    db.session.flush()


def _answers(rng, scale, level):
    """Plausible answers: most students low, a few higher."""
    top = max(o.value for o in scale.items[0].options)
    weights = {"low": [6, 3, 1, 0], "mid": [2, 4, 3, 1], "high": [0, 2, 4, 4]}[level]
    return [rng.choices(range(top + 1), weights=weights[: top + 1])[0] for _ in scale.items]


def _screen_class(rng, campaign, students, *, critical_student=None, high_student=None):
    reg = screening.registry()
    for student in students:
        level = "high" if student in (critical_student, high_student) else rng.choice(["low"] * 6 + ["mid"] * 2)
        for code in campaign.scale_codes:
            scale = reg.get(code)
            answers = _answers(rng, scale, level)
            if code == "PHQ-9":
                answers[8] = 2 if student is critical_student else 0
                if student is high_student:
                    answers = [2, 2, 2, 2, 2, 2, 2, 2, 0]  # total 16: moderately severe, high risk, no item-9 answer
            screening.record_participation(campaign, student, screening.campaign_enrollment(campaign, student.id).class_group_id)
            screening.submit_response(campaign, student, code, scale.version, answers, str(uuid.UUID(int=rng.getrandbits(128))),
                                      started_at=clock.now() - timedelta(minutes=6))


def load_demo(seed: int = 20261122) -> dict:
    """Create the demo world; returns what `flask demo` prints."""
    rng = random.Random(seed)
    today = clock.today()
    year = academic_year(today)
    term_start = date(int(year[:4]), 9, 1)
    hospital = Hospital(name="星城市心理卫生中心")
    middle = School(name="星城第一中学", code="4301020001", level=SchoolLevel.MIDDLE, district="星城区")
    high = School(name="星城实验高级中学", code="4301030001", level=SchoolLevel.HIGH, district="星城区")
    db.session.add_all([hospital, middle, high])
    db.session.flush()
    for school in (middle, high):
        db.session.add(Partnership(school_id=school.id, hospital_id=hospital.id,
                                   signed_on=today - timedelta(days=365), expires_on=today + timedelta(days=2 * 365)))
    classes = {
        "m1": ClassGroup(school_id=middle.id, academic_year=year, grade=8, name="初二（1）班"),
        "m2": ClassGroup(school_id=middle.id, academic_year=year, grade=8, name="初二（2）班"),
        "h1": ClassGroup(school_id=high.id, academic_year=year, grade=10, name="高一（3）班"),
    }
    db.session.add_all(classes.values())
    db.session.flush()
    _students(rng, middle, classes["m1"], 30, today.year - 14, "430102", term_start)
    _students(rng, middle, classes["m2"], 30, today.year - 14, "430102", term_start)
    _students(rng, high, classes["h1"], 30, today.year - 16, "430103", term_start)

    places = {"middle": middle, "high": high}
    users = {}
    for username, name, role, place in STAFF:
        users[username] = accounts.create_user(
            username, name, DEMO_PASSWORD, role,
            school=places.get(place), hospital=hospital if place == "hospital" else None,
            class_group=classes["m1"] if role == Role.HOMEROOM else None,
            email=f"{username}@demo.xinqiao.local")

    users["doctor.chen"].on_duty = True  # overdue alerts go to the doctors on duty

    def roster(key):
        return [s for s, _ in screening.class_roster([classes[key].id])]

    # Guardians signed the consent forms at enrolment: each school's psychology teacher recorded screening
    # consent and consent to hand the file over to the next school (screening refuses students without it).
    teacher_of = {"m1": "teacher.middle", "m2": "teacher.middle", "h1": "teacher.high"}
    for key, teacher in teacher_of.items():
        for student in roster(key):
            for kind in (ConsentKind.SCREENING, ConsentKind.HANDOVER_SCHOOL):
                db.session.add(Consent(student_id=student.id, kind=kind, granted=True, recorded_by_id=users[teacher].id,
                                       recorded_at=clock.now(), note="入学知情同意书"))
    db.session.flush()

    # A finished screening in the middle school, two hours ago, with one critical answer.
    clock.freeze(clock.now() - timedelta(hours=2))
    try:
        done = screening.launch_campaign(middle, [classes["m1"]], ["PHQ-9", "GAD-7"], "秋季心理筛查（初二1班）",
                                         clock.now() + timedelta(hours=1), by=users["teacher.middle"])
        m1 = roster("m1")
        _screen_class(rng, done, m1[:27], critical_student=m1[4])
        high_campaign = screening.launch_campaign(high, [classes["h1"]], ["PHQ-9", "GAD-7"], "秋季心理筛查（高一3班）",
                                                  clock.now() + timedelta(hours=1), by=users["teacher.high"])
        h1 = roster("h1")
        _screen_class(rng, high_campaign, h1[:28], high_student=h1[7])
    finally:
        clock.freeze(None)
    done.status = high_campaign.status = CampaignStatus.CLOSED
    # The high school has already referred its high-risk student: the doctor's queue is not empty.
    from app.risk.models import Alert

    high_alert = db.session.scalar(select(Alert).where(Alert.student_id == h1[7].id))
    care.refer_student(h1[7], high.id, hospital.id, "high", "PHQ-9 总分 16，情绪低落两周以上，请评估。",
                       alert=high_alert, by=users["teacher.high"])
    _referrals_further_along(middle, high, hospital, roster("m1"), h1, users)
    # An open session for the second middle-school class, to walk the student part of the demo.
    screening.launch_campaign(middle, [classes["m2"]], ["PHQ-9", "GAD-7"], "秋季心理筛查（初二2班）",
                              clock.now() + timedelta(days=30), by=users["teacher.middle"])
    _committee_members(middle, roster("m1"), roster("m2"), users["teacher.middle"])
    db.session.flush()
    return describe()


def _committee_members(middle, m1, m2, teacher):
    """A class committee member (班级心理委员) in each middle-school class; one has said nothing to report."""
    from app.committee import services as committee

    committee.appoint_member(middle, m1[0].student_number, by=teacher)
    member = committee.appoint_member(middle, m2[0].student_number, by=teacher)
    committee.report_nothing(member)


def _referrals_further_along(middle, high, hospital, m1, h1, users):
    """Every state of the care loop on screen: a referral the hospital declined (the school sees why and may
    refer elsewhere), and a student cleared three weeks ago to return with conditions that the middle school
    now follows up."""
    doctor = users["doctor.chen"]
    declined = care.refer_student(h1[15], high.id, hospital.id, "moderate", "GAD-7 总分 11，考试前焦虑明显，请评估。",
                                  by=users["teacher.high"])
    care.decline_referral(declined, "本院青少年门诊本月预约已满，建议转至区精神卫生中心青少年门诊。", by=doctor)
    clock.freeze(clock.now() - timedelta(days=21))
    try:
        referral = care.refer_student(m1[11], middle.id, hospital.id, "high",
                                      "班主任反映近一个月失眠、成绩下滑，PHQ-9 总分 15，请评估。", by=users["teacher.middle"])
        care.accept_referral(referral, by=doctor)
        care.record_assessment(referral, {
            "assessed_on": clock.today(), "setting": "clinic", "risk_level": "moderate", "plan": "outpatient",
            "findings": "情绪低落伴睡眠障碍，无自伤自杀意念，社会功能部分受损。", "icd10_code": "F32",
            "next_review_on": clock.today() + timedelta(days=28)}, by=doctor)
        care.decide_return(referral, {
            "outcome": "cleared_with_conditions", "review_on": clock.today() + timedelta(days=60),
            "conditions": "每周与心理教师面谈一次\n两周内避免晚自习", "share_diagnosis": False}, by=doctor)
    finally:
        clock.freeze(None)


def describe() -> dict:
    """Staff logins and, for every open session, its code and students."""
    staff = [{"username": u.username, "password": DEMO_PASSWORD, "role": u.role.value, "name": u.display_name,
              # Admin accounts must set up a second factor (TOTP) at the first login, with any authenticator app.
              "second_factor": ("enrolled" if u.totp_secret else "enrol at first login") if u.needs_second_factor
              else "optional"}
             for u in db.session.scalars(select(User).order_by(User.id))]
    campaigns = []
    for campaign in db.session.scalars(select(Campaign).where(Campaign.status == CampaignStatus.OPEN).order_by(Campaign.id)):
        if not campaign.is_open(clock.now()):
            continue
        students = [{"student_number": s.student_number, "birth_date": s.birth_date.isoformat(), "name": s.name}
                    for s, _ in screening.class_roster([c.id for c in campaign.classes])]
        campaigns.append({"session_code": campaign.session_code, "title": campaign.title, "students": students})
    from app.committee.models import CommitteeMember
    from app.students.models import Student

    members = [{"student_number": number, "birth_date": born.isoformat(), "name": name}
               for number, born, name in db.session.execute(
                   select(Student.student_number, Student.birth_date, Student.name)
                   .join(CommitteeMember, CommitteeMember.student_id == Student.id)
                   .where(CommitteeMember.ended_at.is_(None)).order_by(CommitteeMember.id))]
    return {"staff": staff, "campaigns": campaigns, "committee_members": members}
