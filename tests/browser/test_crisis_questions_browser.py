"""A teacher on a phone picks a battery without a suicide question: the form says so, and starts it only on a tick."""
from sqlalchemy import func, select

from app.extensions import db
from app.screening.models import Campaign
from tests.browser.conftest import login, screenshot


def test_a_teacher_is_told_before_starting_a_screening_that_cannot_detect_suicide_risk(app, world, live_server,
                                                                                        phone_page):
    page = phone_page
    login(page, live_server, "teacher")
    page.goto(f"{live_server}/campaigns/new?class_id={world.class_id}")
    assert "含自杀/自伤风险问题" in page.inner_text("ul.checklist >> nth=1")
    page.uncheck("input[name=scale_codes][value='PHQ-9']")  # the default battery is PHQ-9 + GAD-7
    page.click("main form button.primary")
    page.wait_for_load_state()
    assert "所选问卷都不询问自杀或自伤" in page.inner_text("main")
    screenshot(page, "teacher-new-campaign-no-crisis-questions-phone")
    with app.app_context():
        assert db.session.scalar(select(func.count(Campaign.id))) == 0
    page.check("input[name=without_crisis_questions]")
    page.click("main form button.primary")
    page.wait_for_selector("[data-testid=session-code]")
    with app.app_context():
        assert db.session.scalars(select(Campaign)).one().scale_codes == ["GAD-7"]
