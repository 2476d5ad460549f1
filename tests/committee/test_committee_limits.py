"""Rate limits on the committee member's sign-in (per address, per student number) and reports (per member)."""
import pytest

from app import create_app
from app.extensions import limiter
from tests.conftest import login_as

LIMITS = {"STUDENT_SESSION_RATE_LIMIT": "5 per minute", "STUDENT_NUMBER_RATE_LIMIT": "3 per 15 minutes",
          "COMMITTEE_REPORT_RATE_LIMIT": "2 per hour"}


@pytest.fixture
def limited(app, world, client_factory):
    assert login_as(client_factory, "teacher").post("/committee/members",
                                                    {"student_number": world.students[0]["number"]}).status_code == 302
    limited_app = create_app("testing", SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                             RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://", WTF_CSRF_ENABLED=False, **LIMITS)
    limiter.reset()
    yield limited_app
    limiter.reset()
    limiter.enabled = False  # the limiter object is shared: leave it off for the other tests


def _client(app, address):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _sign_in(client, number, birth_date="2000-01-01"):
    return client.post("/committee/sign-in", data={"student_number": number, "birth_date": birth_date}).status_code


def test_guessing_one_members_birth_date_is_slow_from_any_address(limited, world):
    number = world.students[0]["number"]
    assert [_sign_in(_client(limited, f"10.0.5.{i}"), number) for i in range(3)] == [400, 400, 400]
    # The right birth date from a fresh address: the student number's limit is used up.
    assert _sign_in(_client(limited, "10.0.5.9"), number, world.students[0]["birth_date"]) == 429
    assert _sign_in(_client(limited, "10.0.5.9"), world.students[1]["number"]) == 400


def test_one_address_is_limited(limited):
    client = _client(limited, "10.0.6.1")
    assert [_sign_in(client, f"N{i}") for i in range(5)] == [400] * 5
    assert _sign_in(client, "N9") == 429


def test_a_member_cannot_flood_the_risk_list(limited, world):
    client = _client(limited, "10.0.7.1")
    assert _sign_in(client, world.students[0]["number"], world.students[0]["birth_date"]) == 302
    sent = [client.post("/committee/report", data={"classmate": str(world.student_ids[i]), "noticed": "worried",
                                                   "urgency": "this_week"}).status_code for i in (1, 2, 3)]
    assert sent == [302, 302, 429]
    assert client.post("/committee/nothing").status_code == 429
