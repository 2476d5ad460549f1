"""Issue 19 in a real browser: a class screens; three students go on the interview list; the psychology teacher
interviews them and sets red, orange and none; red gets its duties, a plan and a referral; the homeroom teacher sees
only their task; a month later the next round lowers one level; the district sees the change and the "flagged but no
intervention" count. Phone and desktop screenshots under test-artifacts/."""
from datetime import date, timedelta

from sqlalchemy import select

from app.accounts.models import User
from app.care.models import Referral
from app.core import clock
from app.extensions import db
from app.register import services
from app.register.models import SupportPlan, WarningEntry
from app.students.models import Enrollment, EnrollmentReason, Sex, Student
from tests.browser.conftest import PHONE, login, screenshot
from tests.browser.test_student_journey import _answer, _join
from tests.conftest import login_as
from tests.helpers import GAD7_LOW, PHQ9_LOW, answer_all, launch_campaign
from tests.register.helpers import PHQ9_HIGH, PHQ9_MODERATE


def _no_sideways_scroll(page):
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def _interview(page, base, student_id, level, judgement, reason):
    page.goto(f"{base}/register/students/{student_id}/interview")
    page.check("input[name=risk_factors][value=academic_stress]")
    page.check("input[name=protective_factors][value=family_support]")
    page.check("input[name=suicidal_thoughts][value=past_weeks]")
    page.check("input[name=suicide_plan][value=none]")
    page.check("input[name=symptoms][value=insomnia]")
    page.check("input[name=disposition][value=further_evaluation]")
    page.fill("#judgement", judgement)
    page.check(f"input[name=level][value={level}]")
    page.fill("#level_reason", reason)
    page.click("form button.primary")
    page.wait_for_selector(".flash-success")


def _more_students_on_the_register(app, world, levels, prefix):
    """Classmates already on the register (their interviews went the same way): enough students that the district's
    figures are not all suppressed. Returns their ids."""
    ids = []
    with app.app_context():
        teacher = db.session.scalar(select(User).where(User.username == "teacher"))
        for n, level in enumerate(levels):
            student = Student(student_number=f"{prefix}{n:04d}", name=f"Classmate {prefix}{n}", sex=Sex.FEMALE,
                              birth_date=date(2012, 2, n + 1))
            db.session.add(student)
            db.session.flush()
            db.session.add(Enrollment(student_id=student.id, school_id=world.school_id, class_group_id=world.class_id,
                                      start_date=clock.today() - timedelta(days=60), reason=EnrollmentReason.ADMISSION))
            services.record_interview(student, world.school_id, _interview_data(level), by=teacher)
            ids.append(student.id)
        db.session.commit()
        db.session.remove()
    return ids


def _interview_data(level):
    return {"interviewed_on": clock.today(), "suicidal_thoughts": "none", "suicide_plan": "none",
            "disposition": "no_further", "judgement": "classmate interview", "level": level, "level_reason": "as found"}


def test_two_stages_register_plan_next_round_and_district(app, world, client_factory, live_server, chromium):
    desktop = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN").new_page()
    phone = chromium.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
                                 locale="zh-CN").new_page()
    ids = world.student_ids
    start = clock.now()

    # 1. a class screens: student 0 on a phone (a critical answer: crisis page and alert at once), the others too
    teacher_http = login_as(client_factory, "teacher")
    _, code = launch_campaign(teacher_http, world.class_id)
    _join(phone, live_server, code, world.students[0])
    _answer(phone, [1, 1, 1, 0, 0, 0, 0, 0, 1])
    phone.click("#q-submit")
    phone.wait_for_selector("#crisis:not([hidden])")
    answer_all(app.test_client(), code, world.students[1], {"PHQ-9": PHQ9_HIGH, "GAD-7": GAD7_LOW})
    answer_all(app.test_client(), code, world.students[2], {"PHQ-9": PHQ9_MODERATE, "GAD-7": GAD7_LOW})
    for student in world.students[3:]:
        answer_all(app.test_client(), code, student, {"PHQ-9": PHQ9_LOW, "GAD-7": GAD7_LOW})
    seeded_orange = _more_students_on_the_register(app, world, ["orange"] * 4, "RO")
    _more_students_on_the_register(app, world, ["yellow"] * 6, "RY")

    # 2. three students on the interview list, with what their bands suggest
    login(desktop, live_server, "teacher")
    desktop.goto(f"{live_server}/register/interviews")
    rows = desktop.locator("[data-testid=interview-list] tbody tr")
    assert rows.count() == 3
    listed = desktop.inner_text("[data-testid=interview-list]")
    assert all(f"Student {i}" in listed for i in range(3)) and "Student 3" not in listed
    assert "红色" in listed and "橙色" in listed and "黄色" in listed
    screenshot(desktop, "register-interview-list-desktop")

    # 3. the interviews: red (on a phone), orange, and none although the band suggested yellow
    login(phone, live_server, "teacher")
    phone.goto(f"{live_server}/register/students/{ids[0]}/interview")
    assert phone.is_checked("input[name=level][value=red]")  # preset from the band, the teacher decides
    screenshot(phone, "register-interview-form-phone")
    assert _no_sideways_scroll(phone)
    _interview(phone, live_server, ids[0], "red", "有自杀念头，无计划，情绪低落两周。", "危急作答，访谈确认风险。")
    _interview(desktop, live_server, ids[1], "orange", "学业压力大，睡眠差。", "与问卷一致。")
    _interview(desktop, live_server, ids[2], "none", "考试前短暂焦虑，已缓解。", "访谈未见风险，问卷偏高。")
    desktop.goto(f"{live_server}/register/interviews")
    assert desktop.locator("[data-testid=interview-list-empty]").is_visible()

    # 4. red: its duties, a plan, a referral
    desktop.goto(f"{live_server}/register/students/{ids[0]}")
    assert desktop.locator("[data-testid=duties] .badge.attention").count() == 2  # referral, guardian
    desktop.fill("#guardian_informed_on", clock.today().isoformat())
    desktop.click("form[action$='/duties'] button")
    desktop.wait_for_selector(".flash-success")
    desktop.click("a[href$='/plan']")
    desktop.fill("#goals", "两周内情绪稳定，恢复正常作息；每周面谈。")
    desktop.fill("#review_1", (clock.today() + timedelta(days=7)).isoformat())
    desktop.fill("#review_2", (clock.today() + timedelta(days=28)).isoformat())
    desktop.select_option("#tasks-0-owner", "homeroom")
    desktop.fill("#tasks-0-action", "每天课间留意情绪，异常立即告知心理教师。")
    desktop.select_option("#tasks-1-owner", "hospital")
    desktop.fill("#tasks-1-action", "门诊评估。")
    desktop.select_option("#tasks-2-owner", "guardian")
    desktop.fill("#tasks-2-action", "陪同就诊，保管药物。")
    screenshot(desktop, "register-plan-form-desktop")
    desktop.click("form button.primary")
    desktop.wait_for_selector("[data-testid=plan]")
    desktop.click("header a[href$='/refer']")
    desktop.fill("#reason", "红色预警，访谈确认自杀意念。")
    desktop.click("form button.primary")
    desktop.wait_for_selector(".flash-success")
    desktop.goto(f"{live_server}/register/students/{ids[0]}")
    assert desktop.locator("[data-testid=duties] .badge.attention").count() == 0
    screenshot(desktop, "register-red-student-desktop")
    with app.app_context():
        assert db.session.scalar(select(Referral.student_id)) == ids[0]
        assert db.session.scalar(select(SupportPlan.version)) == 1

    # 5. the homeroom teacher sees the task given to them, never the goals or the interview
    homeroom = chromium.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
                                    locale="zh-CN").new_page()
    login(homeroom, live_server, "homeroom")
    homeroom.goto(f"{live_server}/register/tasks")
    tasks = homeroom.inner_text("[data-testid=homeroom-tasks]")
    assert "每天课间留意情绪" in tasks and "Student 0" in tasks
    body = homeroom.inner_text("body")
    assert "两周内情绪稳定" not in body and "门诊评估" not in body and "有自杀念头" not in body
    screenshot(homeroom, "register-homeroom-tasks-phone")
    assert _no_sideways_scroll(homeroom)

    # 6. a month later: the red review is overdue until reviewed; the next round lowers student 1 to yellow
    clock.freeze(start + timedelta(days=31))
    desktop = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN").new_page()
    login(desktop, live_server, "teacher")
    desktop.goto(f"{live_server}/register/")
    assert desktop.locator("[data-testid=register-row] .badge.overdue").count() >= 1
    screenshot(desktop, "register-list-overdue-desktop")
    desktop.goto(f"{live_server}/register/students/{ids[0]}")
    desktop.fill("#note", "情绪好转，按时门诊，继续每周面谈。")
    desktop.click("form[action$='/review'] button")
    desktop.wait_for_selector(".flash-success")

    teacher_http = login_as(client_factory, "teacher")
    _, code = launch_campaign(teacher_http, world.class_id)
    answer_all(app.test_client(), code, world.students[1], {"PHQ-9": PHQ9_MODERATE, "GAD-7": GAD7_LOW})
    desktop.goto(f"{live_server}/register/interviews")
    assert "Student 1" in desktop.inner_text("[data-testid=interview-list]")
    _interview(desktop, live_server, ids[1], "yellow", "睡眠改善，压力下降。", "第二轮问卷与访谈均减轻。")
    with app.app_context():  # the classmates' second interviews went the same way
        teacher = db.session.scalar(select(User).where(User.username == "teacher"))
        for sid in seeded_orange:
            services.record_interview(db.session.get(Student, sid), world.school_id, _interview_data("yellow"), by=teacher)
        db.session.commit()
        entry = db.session.scalar(select(WarningEntry).where(WarningEntry.student_id == ids[1]))
        assert [c.kind.value for c in entry.changes] == ["set", "lowered"]
        db.session.remove()
    desktop.goto(f"{live_server}/register/students/{ids[1]}")
    assert "降级" in desktop.inner_text("[data-testid=history]")
    screenshot(desktop, "register-history-lowered-desktop")

    # 7. the district: the change since the round opened and "flagged but no intervention", counts only
    for device, page in (("desktop", chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
                                      .new_page()),
                         ("phone", chromium.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True,
                                                        has_touch=True, locale="zh-CN").new_page())):
        login(page, live_server, "admin", app=app)
        page.goto(f"{live_server}/register/district")
        row = page.locator("[data-testid=district-row][data-school='Middle School A']")
        assert row.locator("[data-testid=fell]").inner_text() == "5"        # student 1 and four classmates
        assert row.locator("[data-testid=no-intervention]").inner_text() == "6"  # the yellow classmates, untouched
        assert row.locator("[data-testid=rose]").inner_text() == "0"
        assert page.inner_text("[data-testid=total-red]") == "<5"          # one red student: suppressed
        body = page.inner_text("body")
        assert "Student 0" not in body and "Classmate" not in body
        screenshot(page, f"register-district-{device}")
        if device == "phone":
            assert _no_sideways_scroll(page)
