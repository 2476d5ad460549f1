"""The crisis lines a student in danger sees: the city's own lines first (LOCAL_CRISIS_LINES), then the national
ones and 120, the same on the student page and in the API; a malformed setting stops the start-up."""
import pytest

from app import create_app
from app.screening.crisis import parse_local_lines
from tests.helpers import PHQ9_CRITICAL, join, launch_campaign, submit
from tests.conftest import login_as

BEIJING = "010-82951332=北京心理危机研究与干预中心 24小时热线; 400 161 9995 = 希望24热线"


@pytest.fixture
def local_lines(app):
    saved = app.config["LOCAL_CRISIS_LINES"]
    app.config["LOCAL_CRISIS_LINES"] = BEIJING
    yield
    app.config["LOCAL_CRISIS_LINES"] = saved


def test_a_critical_answer_lists_the_local_lines_first_then_the_national_ones_and_120(
        app, world, client_factory, local_lines):
    _, code = launch_campaign(login_as(client_factory, "teacher"), world.class_id, scales=("PHQ-9",))
    http = app.test_client()
    data = join(http, code, world.students[0]).get_json()
    receipt = submit(http, data["token"], data["questionnaires"][0], PHQ9_CRITICAL).get_json()
    assert receipt["show_crisis_resources"] is True
    assert receipt["resources"] == [
        {"number": "010-82951332", "name": "北京心理危机研究与干预中心 24小时热线"},
        {"number": "400 161 9995", "name": "希望24热线"},
        {"number": "12355", "name": "青少年服务台，免费"},
        {"number": "12356", "name": "心理援助热线，24 小时"},
        {"number": "120", "name": "如果你现在有危险，请拨打 120"},
    ]  # in the language of Accept-Language: none here, so Simplified Chinese


def test_the_student_page_shows_the_same_lines_as_links_to_dial(app, local_lines):
    http = app.test_client()
    http.environ_base["HTTP_ACCEPT_LANGUAGE"] = ""  # Simplified Chinese, the default
    page = http.get("/s").get_data(as_text=True)
    order = [page.index(f'href="tel:{tel}"') for tel in ("01082951332", "4001619995", "12355", "12356", "120")]
    assert order == sorted(order)
    assert "北京心理危机研究与干预中心 24小时热线" in page and "青少年服务台" in page
    # The final screen's reminder lists the same lines as links to dial too (issue 17), in the same order.
    done = page[page.index('data-testid="done-hotlines"'):]
    order = [done.index(f'href="tel:{tel}"') for tel in ("01082951332", "4001619995", "12355", "12356", "120")]
    assert order == sorted(order)


def test_without_local_lines_the_national_ones_and_120_remain(app):
    page = app.test_client().get("/s").get_data(as_text=True)
    assert [tel for tel in ("12355", "12356", "120") if f'href="tel:{tel}"' in page] == ["12355", "12356", "120"]


@pytest.mark.parametrize("bad", ["12355", "=名称", "abc=名称", "12355=", "1=太短", "12355=" + "长" * 81])
def test_a_malformed_setting_stops_the_start_up_naming_the_part(bad, tmp_path):
    with pytest.raises(ValueError, match="LOCAL_CRISIS_LINES"):
        parse_local_lines(f"120=ok;{bad}")
    with pytest.raises(ValueError, match="LOCAL_CRISIS_LINES"):
        create_app("testing", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/x.db", LOCAL_CRISIS_LINES=bad)


def test_spaces_and_empty_parts_are_forgiven():
    assert parse_local_lines(" ; 021-12320-5 = 上海心理热线 ;") == [("021-12320-5", "上海心理热线")]
    assert parse_local_lines("") == [] and parse_local_lines(None) == []
