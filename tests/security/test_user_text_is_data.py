"""Text people wrote is data wherever it goes besides pages, PDFs and spreadsheets (those have their own tests): chart
labels cut to length, database error messages, the redirect after a language change."""
import logging
import re

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.orgs.models import ClassGroup
from tests.conftest import login_as
from tests.helpers import launch_campaign


def test_a_chart_label_cut_to_length_is_cut_before_it_is_escaped(app, world, client_factory):
    """The charts shorten class names to fit; cutting after escaping left half an entity ("&l") in the SVG."""
    with app.app_context():
        db.session.get(ClassGroup, world.class_id).name = "A" * 22 + "<b>&"
        db.session.commit()
        db.session.remove()
    teacher = login_as(client_factory, "teacher")
    campaign_id, _code = launch_campaign(teacher, world.class_id)
    page = teacher.get(f"/teacher?campaign={campaign_id}").get_data(as_text=True)
    svgs = re.findall(r"<svg.*?</svg>", page, flags=re.S)
    assert svgs and any("A" * 22 + "&lt;b" in svg for svg in svgs)
    for svg in svgs:
        broken = re.findall(r"&(?!(?:amp|lt|gt|quot|#\d+|#x[0-9a-fA-F]+|#39);)[^\s<]{0,8}", svg)
        assert not broken, broken


def test_a_database_error_names_no_value(app, world, caplog):
    """Bound values (names, answers, encrypted notes) never appear in a database error's message, which is what a
    failing request writes to the log (SQLALCHEMY_ENGINE_OPTIONS hide_parameters)."""
    caplog.set_level(logging.DEBUG)
    with app.app_context():
        with pytest.raises(IntegrityError) as failed:
            db.session.execute(text("INSERT INTO schools (id, name, level, district) VALUES (:id, :name, 'middle', 'D')"),
                               {"id": world.school_id, "name": "CANARY 张三"})
        db.session.rollback()
        db.session.remove()
    assert "CANARY" not in str(failed.value) and "张三" not in str(failed.value)
    assert "hide_parameters" in str(failed.value)
    assert "CANARY" not in caplog.text


@pytest.mark.parametrize("target", ["/x\r\nSet-Cookie: a=1", "/x\nLocation: https://evil.example/", "/x\x00",
                                    "/x\x1b[31m", "//evil.example/", "https://evil.example/", "/\\evil.example"])
def test_the_language_switch_follows_only_a_plain_path(app, client, target):
    response = client.get("/lang/en", query_string={"next": target})
    assert response.status_code in (302, 400)
    location = response.headers.get("Location", "")
    assert "evil" not in location and "\n" not in location and "\r" not in location and "\x1b" not in location
