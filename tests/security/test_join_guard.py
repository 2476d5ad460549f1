"""Guessing at the student's join slows down the client that guesses, never the student or the school
(app/screening/join_guard.py; issue 15 medium 4, issue 20 item 3). Through the real HTTP stack with rate limits on."""
import pytest

from app import create_app
from app.extensions import limiter
from tests.conftest import login_as
from tests.helpers import launch_campaign

SCHOOL = "10.20.0.1"  # the whole school's NAT address


@pytest.fixture
def limited(app, world):
    """A second app on the same database with rate limits on, as served (TestingConfig turns them off)."""
    limited_app = create_app("testing", SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                             RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://")
    limiter.reset()
    yield limited_app
    limiter.reset()
    limiter.enabled = False  # the limiter object is shared: leave it off for the other tests


@pytest.fixture
def code(client_factory, world):
    return launch_campaign(login_as(client_factory, "teacher"), world.class_id)[1]


def _join(app, address, code, number, birth_date, device=None):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    body = {"session_code": code, "student_number": number, "birth_date": birth_date}
    if device:
        body["device"] = device
    return client.post("/api/v1/student-sessions", json=body, headers={"Accept-Language": "en"})


def test_twenty_wrong_birth_dates_from_a_stranger_do_not_keep_the_student_out(limited, world, code):
    student = world.students[0]
    wrong = [_join(limited, "203.0.113.9", code, student["number"], f"2011-02-{d:02d}", "evil") for d in range(1, 21)]
    assert [r.status_code for r in wrong[:5]] == [401] * 5
    assert {r.status_code for r in wrong[5:]} == {429}  # the guesser waits: 1 s, then more
    assert int(wrong[-1].headers["Retry-After"]) >= 1 and "Wait a moment" in wrong[-1].get_json()["error"]["message"]
    # The real student, from the school, on their own device: in at once.
    assert _join(limited, SCHOOL, code, student["number"], student["birth_date"], "phone-1").status_code == 201
    # ... and from the same address as the stranger, on another device.
    assert _join(limited, "203.0.113.9", code, student["number"], student["birth_date"], "home-pc").status_code == 201


def test_a_stranger_at_the_school_address_cannot_keep_the_class_out(limited, world, code):
    # 300 wrong answers from the school's own address (a classmate's phone) used to use up the per-address limit
    # of the whole school: every classmate then got 429.
    for n in range(300):
        _join(limited, SCHOOL, code, world.students[n % 6]["number"], "2011-01-01", "classmate-phone")
    joined = [_join(limited, SCHOOL, code, s["number"], s["birth_date"], f"device-{i}").status_code
              for i, s in enumerate(world.students)]
    assert joined == [201] * 6


def test_guessing_from_many_device_ids_at_one_address_is_slowed_per_student(limited, world, code):
    student = world.students[1]
    _join(limited, SCHOOL, code, student["number"], student["birth_date"], "own-tablet")  # joined here before
    statuses = [_join(limited, SCHOOL, code, student["number"], "2011-03-03", f"rotating-{n}").status_code
                for n in range(32)]
    assert statuses[:30] == [401] * 30 and statuses[30:] == [429, 429]
    # A device the student joined from before is not slowed by guesses from elsewhere; another student is not either.
    assert _join(limited, SCHOOL, code, student["number"], student["birth_date"], "own-tablet").status_code == 201
    other = world.students[2]
    assert _join(limited, SCHOOL, code, other["number"], other["birth_date"], "rotating-99").status_code == 201


def test_a_lab_pc_shared_by_a_class_with_typing_mistakes_stays_usable(limited, world, code):
    # Every student mistypes once then types it right, on the one lab PC, four times over (24 typing mistakes): the
    # right answers take their own attempts off and the student's own count is cleared.
    for _ in range(4):
        for s in world.students:
            assert _join(limited, SCHOOL, code, s["number"], "2000-01-01", "lab-pc-3").status_code == 401
            assert _join(limited, SCHOOL, code, s["number"], s["birth_date"], "lab-pc-3").status_code == 201


def test_a_client_trying_a_class_s_numbers_is_slowed(limited, world, code):
    statuses = [_join(limited, "198.51.100.7", code, f"S9{n:03d}", "2011-01-01", "sweeper").status_code
                for n in range(31)]
    assert statuses[:30] == [401] * 30 and statuses[30] == 429
