"""A doctor reviews the centre's own PHQ-9 text on a phone; the teacher then finds it offered, marked as validated,
in the new-screening form; the admin picks a cut-off profile on a desktop."""
import pytest
from sqlalchemy import select

from app.extensions import db
from app.scales.models import CutoffProfileChoice, ScaleTextReview
from app.screening.models import Campaign
from tests.browser.conftest import login, screenshot
from tests.helpers import GAD7_LOW, PHQ9_CRITICAL, answer_all, load_centre_texts

PHONE_390 = {"width": 390, "height": 844}


@pytest.fixture
def phone(chromium):
    context = chromium.new_context(viewport=PHONE_390, device_scale_factor=2, is_mobile=True, has_touch=True,
                                   locale="zh-CN")
    yield context.new_page()
    context.close()


@pytest.fixture
def centre(app):
    restore = load_centre_texts(app)
    yield app.extensions["scales"].texts("PHQ-9")[1]
    restore()


def test_a_doctor_reviews_a_centre_text_and_only_then_a_teacher_can_use_it(app, world, live_server, phone,
                                                                           desktop_page, centre):
    teacher = desktop_page
    login(teacher, live_server, "teacher")
    teacher.goto(f"{live_server}/campaigns/new?class_id={world.class_id}")
    assert teacher.locator(f"input[value='PHQ-9@{centre.text_id}']").count() == 0  # not offered before the review
    assert "未核对副本" in teacher.inner_text("[data-testid=scale-choices]")
    teacher.click("details.hint summary")
    screenshot(teacher, "scale-texts-new-screening-before-review-desktop")

    page = phone
    login(page, live_server, "doctor")
    page.click("nav.mainnav >> text=问卷文本")
    page.wait_for_load_state()
    row = page.locator(f"tr[data-text='{centre.text_id}']")
    assert "待审核" in row.inner_text()
    screenshot(page, "scale-texts-list-phone")
    row.locator("a").click()
    page.wait_for_load_state()
    assert page.locator("[data-testid=awaiting-review]").is_visible()
    page.click("button.primary")  # nothing filled in: refused, with the reasons in Chinese
    page.wait_for_load_state()
    assert "请写明您核对所依据的文件" in page.inner_text("main") and "请确认您已核对全部文本" in page.inner_text("main")
    with app.app_context():
        assert db.session.scalars(select(ScaleTextReview)).first() is None
    page.fill("textarea[name=compared_with]", "PHQ-9 中文版（中国大陆）PDF，phqscreeners.com，中心资料室存档")
    page.check("input[name=decision][value=approved]")
    page.check("input[name=confirm]")
    screenshot(page, "scale-texts-review-form-phone")
    page.click("button.primary")
    page.wait_for_load_state()
    assert "筛查现在可以使用此文本" in page.inner_text("main")
    assert "已批准用于筛查" in page.inner_text("[data-testid=review-record]")
    screenshot(page, "scale-texts-reviewed-phone")
    with app.app_context():
        review = db.session.scalars(select(ScaleTextReview)).one()
        assert review.reviewed_by.username == "doctor" and review.decision.value == "approved"

    teacher.goto(f"{live_server}/campaigns/new?class_id={world.class_id}")
    choice = teacher.locator(f"input[value='PHQ-9@{centre.text_id}']")
    assert choice.is_checked()  # the reviewed text is the default PHQ-9
    badge = teacher.locator(f"li:has(input[value='PHQ-9@{centre.text_id}']) [data-testid=text-badge]")
    assert badge.inner_text() == "已验证译本" and "Doctor P" in badge.get_attribute("title")
    screenshot(teacher, "scale-texts-new-screening-after-review-desktop")
    teacher.click("main form button.primary")
    teacher.wait_for_selector("[data-testid=session-code]")
    assert "已验证译本" in teacher.inner_text("[data-testid=campaign-scales]")
    screenshot(teacher, "scale-texts-campaign-desktop")
    with app.app_context():
        assert db.session.scalars(select(Campaign)).one().scale_texts == {"PHQ-9": centre.text_id}

    # A student answers (item 9: a critical alert); the result says, for staff, which text the student read.
    code = teacher.inner_text("[data-testid=session-code]").strip()
    answer_all(app.test_client(), code, world.students[0], {"PHQ-9": PHQ9_CRITICAL, "GAD-7": GAD7_LOW})
    teacher.goto(f"{live_server}/students/{world.student_ids[0]}")
    badge = teacher.locator(".tl-screening:has-text('PHQ-9') [data-testid=text-badge]")
    assert badge.inner_text() == "已验证译本"
    screenshot(teacher, "scale-texts-student-file-desktop")


def test_the_admin_chooses_a_cut_off_profile(app, world, live_server, phone, desktop_page):
    page = desktop_page
    login(page, live_server, "admin", app=app)
    page.click("nav.mainnav >> text=切分方案")
    page.wait_for_load_state()
    form = page.locator("[data-testid=choose-GAD-7]")
    form.locator("select[name=school_level]").select_option("all")
    form.locator("select[name=profile]").select_option("hk_youth_2022")
    form.locator("button").click()
    page.wait_for_load_state()
    assert "该方案的研究只覆盖部分学段" in page.inner_text("main")
    form = page.locator("[data-testid=choose-GAD-7]")
    form.locator("select[name=school_level]").select_option("high")
    form.locator("select[name=profile]").select_option("hk_youth_2022")
    form.locator("button").click()
    page.wait_for_load_state()
    assert "已保存" in page.inner_text("main")
    assert "香港青少年（2022） ≥7" in page.inner_text("[data-testid=profiles-GAD-7] li[data-level=high]")
    screenshot(page, "cutoff-profiles-desktop")
    with app.app_context():
        assert db.session.scalars(select(CutoffProfileChoice)).one().profile == "hk_youth_2022"
    login(phone, live_server, "other_teacher")
    phone.goto(f"{live_server}/scales/cutoff-profiles")
    assert phone.locator("[data-testid=choose-GAD-7]").count() == 0  # teachers read, they do not choose
    screenshot(phone, "cutoff-profiles-teacher-phone")
