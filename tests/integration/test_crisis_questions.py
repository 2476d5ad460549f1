"""A screening that cannot detect suicide risk starts only when the teacher says so."""
import re

from sqlalchemy import func, select

from app.extensions import db
from app.screening.models import Campaign
from tests.conftest import login_as


def _campaigns(app):
    with app.app_context():
        return db.session.scalar(select(func.count(Campaign.id)))


def _start(teacher, world, scales, **extra):
    return teacher.post("/campaigns/new", {"title": "Autumn", "class_ids": [world.class_id], "scale_codes": scales,
                                           "open_hours": 2, **extra})


def test_the_form_marks_the_questionnaires_that_ask_about_suicide(app, world, client_factory):
    page = login_as(client_factory, "teacher").get("/campaigns/new").get_data(as_text=True)
    marked = "asks about suicide or self-harm"
    for code in ("PHQ-9", "PHQ-A", "ASQ"):
        assert f'value="{code}"' in page
    labels = dict(re.findall(r'value="([A-Z0-9-]+)"[^>]*>\s*<label[^>]*>([^<]*)<', page))
    assert {code for code, label in labels.items() if marked in label} == {"PHQ-9", "PHQ-A", "ASQ"}, labels
    assert "without_crisis_questions" not in page  # the box appears only when it is needed


def test_a_battery_without_crisis_questions_needs_confirmation_and_nothing_starts_before(app, world, client_factory):
    teacher = login_as(client_factory, "teacher")
    r = _start(teacher, world, ["GAD-7", "WHO-5"])
    page = r.get_data(as_text=True)
    assert r.status_code == 400 and "no answer can open a critical alert" in page
    assert 'name="without_crisis_questions"' in page
    assert _campaigns(app) == 0
    assert _start(teacher, world, ["GAD-7", "WHO-5"], without_crisis_questions="y").status_code == 302
    assert _campaigns(app) == 1


def test_a_battery_with_a_crisis_question_starts_at_once(app, world, client_factory):
    teacher = login_as(client_factory, "teacher")
    for scales in (["ASQ"], ["GAD-7", "PHQ-A"]):
        assert _start(teacher, world, scales).status_code == 302, scales
    assert _campaigns(app) == 2


def test_the_warning_speaks_chinese(app, world, client_factory):
    teacher = client_factory()
    teacher.http.environ_base["HTTP_ACCEPT_LANGUAGE"] = ""  # Simplified Chinese, the default
    teacher.login("teacher")
    page = _start(teacher, world, ["GAD-7"]).get_data(as_text=True)
    assert "所选问卷都不询问自杀或自伤" in page and "不含自杀或自伤相关问题，仍然开始" in page
