"""Cut-off profiles through the real stack: the admin chooses (audited), a campaign fixes them at launch, each
score names the profile it was banded with, and `flask scales reband` changes past results only explicitly."""
import json

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.extensions import db
from app.risk.models import Alert, AlertStatus
from app.scales.models import CutoffProfileChoice
from app.screening.models import Campaign, Response, Score, ScoreReband
from tests.conftest import login_as
from tests.helpers import answer_all, launch_campaign

GAD7_SEVEN = [1, 1, 1, 1, 1, 1, 1]        # total 7: mild by the bands, positive for Hong Kong youth (>=7)
SCARED_23 = [1] * 23 + [0] * 18           # total 23: negative by the bands (>=25), positive by Chinese norms (>=23)
PHQ9_ITEM9 = [0, 0, 0, 0, 0, 0, 0, 0, 1]  # total 1, item 9 answered: critical whatever the profile


def _choose(admin, scale, level, profile):
    return admin.post("/scales/cutoff-profiles", {"scale_code": scale, "school_level": level, "profile": profile})


def _choices(app):
    with app.app_context():
        return {(c.scale_code, c.school_level): c.profile for c in db.session.scalars(select(CutoffProfileChoice))}


def _scores(app, scale):
    with app.app_context():
        rows = db.session.execute(select(Score, Response).join(Response).where(Response.scale_code == scale)
                                  .order_by(Score.id)).all()
        return [(s.total, s.band, s.risk, tuple(s.flags), s.cutoff_profile) for s, _r in rows]


def test_the_admin_chooses_a_profile_where_its_study_says_so(app, world, client_factory):
    admin = login_as(client_factory, "admin")
    page = admin.get("/scales/cutoff-profiles").get_data(as_text=True)
    assert "Hong Kong youth (2022)" in page and "10.1186/s12888-022-04329-9" in page and "≥7" in page
    refused = _choose(admin, "GAD-7", "all", "hk_youth_2022")  # aged 15-24: not for every school level
    assert refused.status_code == 400 and "covers only some school levels" in refused.get_data(as_text=True)
    assert _choose(admin, "GAD-7", "middle", "hk_youth_2022").status_code == 400
    assert _choose(admin, "GAD-7", "high", "no_such_profile").status_code == 400
    assert _choose(admin, "PHQ-A", "all", "hk_youth_2022").status_code == 400
    assert _choices(app) == {}
    assert _choose(admin, "GAD-7", "high", "hk_youth_2022").status_code == 302
    assert _choose(admin, "SCARED", "all", "cn_urban_norms_wang").status_code == 302
    assert _choices(app) == {("GAD-7", "high"): "hk_youth_2022", ("SCARED", "all"): "cn_urban_norms_wang"}
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "cutoff_profile_chosen")
                                    .order_by(AuditEvent.id)).all()
        assert [e.detail for e in events] == [
            {"scale": "GAD-7", "level": "high", "from": None, "to": "hk_youth_2022"},
            {"scale": "SCARED", "level": "all", "from": None, "to": "cn_urban_norms_wang"}]
    for username in ("teacher", "doctor"):  # they read what is in force, they do not choose
        reader = login_as(client_factory, username)
        assert "Hong Kong youth (2022)" in reader.get("/scales/cutoff-profiles").get_data(as_text=True)
        assert _choose(reader, "SCARED", "all", "international").status_code == 404
    assert _choices(app)[("SCARED", "all")] == "cn_urban_norms_wang"


def test_a_campaign_keeps_the_profiles_of_its_launch_and_each_score_names_its_own(app, world, client_factory):
    admin = login_as(client_factory, "admin")
    _choose(admin, "GAD-7", "high", "hk_youth_2022")
    _choose(admin, "SCARED", "all", "cn_urban_norms_wang")
    high = login_as(client_factory, "other_teacher")
    middle = login_as(client_factory, "teacher")
    high_campaign, high_code = launch_campaign(high, world.other_class_id, scales=("PHQ-9", "GAD-7"))
    middle_campaign, middle_code = launch_campaign(middle, world.class_id, scales=("PHQ-9", "GAD-7", "SCARED"))
    with app.app_context():
        assert db.session.get(Campaign, high_campaign).cutoff_profiles == {
            "PHQ-9": "international", "GAD-7": "hk_youth_2022"}
        # The Hong Kong profile is not for middle school.
        assert db.session.get(Campaign, middle_campaign).cutoff_profiles == {
            "PHQ-9": "international", "GAD-7": "international", "SCARED": "cn_urban_norms_wang"}
    assert "Cut-off Hong Kong youth (2022) ≥7" in high.get(f"/campaigns/{high_campaign}").get_data(as_text=True)

    other = {"student_number": "T0001", "number": "T0001", "birth_date": "2010-05-05"}
    answer_all(app.test_client(), high_code, other, {"PHQ-9": PHQ9_ITEM9, "GAD-7": GAD7_SEVEN})
    answer_all(app.test_client(), middle_code, world.students[0],
               {"PHQ-9": [0] * 9, "GAD-7": GAD7_SEVEN, "SCARED": SCARED_23})
    assert _scores(app, "GAD-7") == [(7, "mild", "moderate", ("cutoff_positive",), "hk_youth_2022"),
                                     (7, "mild", "low", (), "international")]
    assert _scores(app, "SCARED") == [(23, "positive", "moderate", ("cutoff_positive",), "cn_urban_norms_wang")]
    assert _scores(app, "PHQ-9")[0] == (1, "minimal", "critical", ("suicidal_ideation",), "international")
    with app.app_context():  # the profile's positive screens open the moderate alert any moderate result opens
        levels = sorted(a.level for a in db.session.scalars(select(Alert)))
        assert levels == ["critical", "moderate", "moderate"]

    # The admin changes the choice: the open campaign keeps its profile, stored scores keep theirs.
    assert _choose(admin, "GAD-7", "high", "international").status_code == 302
    second = {"number": "T0002", "birth_date": "2010-06-06"}
    _enrol(app, world, second)
    answer_all(app.test_client(), high_code, second, {"PHQ-9": [0] * 9, "GAD-7": GAD7_SEVEN})
    assert [s[-1] for s in _scores(app, "GAD-7")] == ["hk_youth_2022", "international", "hk_youth_2022"]
    newer, _code = launch_campaign(high, world.other_class_id, scales=("GAD-7", "PHQ-9"))
    with app.app_context():
        assert db.session.get(Campaign, newer).cutoff_profiles["GAD-7"] == "international"


def _enrol(app, world, student):
    from datetime import date, timedelta

    from app.core import clock
    from app.students.models import Consent, ConsentKind, Enrollment, EnrollmentReason, Sex, Student

    with app.app_context():
        st = Student(student_number=student["number"], name="Second Student", sex=Sex.FEMALE,
                     birth_date=date.fromisoformat(student["birth_date"]))
        db.session.add(st)
        db.session.flush()
        db.session.add(Enrollment(student_id=st.id, school_id=world.other_school_id,
                                  class_group_id=world.other_class_id, start_date=clock.today() - timedelta(days=3),
                                  reason=EnrollmentReason.ADMISSION))
        from app.accounts.models import User

        recorder = db.session.scalar(select(User.id).where(User.username == "other_teacher"))
        db.session.add(Consent(student_id=st.id, kind=ConsentKind.SCREENING, granted=True, recorded_at=clock.now(),
                               recorded_by_id=recorder, note="test"))
        db.session.commit()


# --- flask scales reband ------------------------------------------------------------------------------------

@pytest.fixture
def screened(app, world, client_factory):
    """Student 0 answered SCARED 23, PHQ-9 item 9 and GAD-7 7 under the international bands."""
    teacher = login_as(client_factory, "teacher")
    campaign_id, code = launch_campaign(teacher, world.class_id, scales=("PHQ-9", "GAD-7", "SCARED"))
    answer_all(app.test_client(), code, world.students[0], {"PHQ-9": PHQ9_ITEM9, "GAD-7": GAD7_SEVEN,
                                                            "SCARED": SCARED_23})
    return campaign_id


def _reband(app, *args):
    result = app.test_cli_runner().invoke(args=["scales", "reband", *args])
    return result, (json.loads(result.output.splitlines()[0]) if result.exit_code == 0 else None)


def _state(app):
    with app.app_context():
        return (_scores(app, "SCARED") + _scores(app, "GAD-7") + _scores(app, "PHQ-9"),
                db.session.scalar(select(func.count(ScoreReband.id))),
                sorted((a.level, a.status.value) for a in db.session.scalars(select(Alert))),
                db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "score_rebanded")))


def test_a_dry_run_writes_nothing(app, screened):
    before = _state(app)
    result, summary = _reband(app, "--scale", "SCARED", "--profile", "cn_urban_norms_wang", "--dry-run")
    assert result.exit_code == 0, result.output
    assert summary["rebanded"] == 1 and summary["risk_raised"] == 1 and summary["raised_without_alert"] == 1
    assert "Would re-band 1 SCARED results" in result.output and "Alerts: none opened or closed" in result.output
    assert _state(app) == before


def test_a_reband_is_explicit_recorded_and_leaves_alerts_alone(app, screened):
    for args in ([], ["--by", "teacher", "--reason", "x"], ["--by", "admin"], ["--by", "admin", "--reason", " "]):
        result, _ = _reband(app, "--scale", "SCARED", "--profile", "cn_urban_norms_wang", *args)
        assert result.exit_code != 0, args  # an accountable admin and a reason, or a dry run
    _scores_before, _n, alerts_before, _a = _state(app)
    result, summary = _reband(app, "--scale", "SCARED", "--profile", "cn_urban_norms_wang", "--by", "admin",
                              "--reason", "District adopts the Chinese urban norms (decision 2026-12)")
    assert result.exit_code == 0, result.output
    assert summary["rebanded"] == 1 and summary["band_changed"] == 1
    scores, rebands, alerts, events = _state(app)
    assert scores[0] == (23, "positive", "moderate", ("cutoff_positive",), "cn_urban_norms_wang")
    assert (rebands, events) == (1, 1) and alerts == alerts_before  # no alert opened for a months-old answer
    with app.app_context():
        row = db.session.scalars(select(ScoreReband)).one()
        assert (row.from_profile, row.from_band, row.from_risk, row.to_profile, row.to_band, row.to_risk) == (
            "international", "negative", "low", "cn_urban_norms_wang", "positive", "moderate")
        assert row.rebanded_by.username == "admin" and "urban norms" in row.reason
        run = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "scores_rebanded")).one()
        assert run.detail["rebanded"] == 1 and run.detail["reason"].startswith("District adopts")
    # Nothing left to re-band with that profile; back to the bands lowers it, and history keeps both steps.
    assert _reband(app, "--scale", "SCARED", "--profile", "cn_urban_norms_wang", "--dry-run")[1]["rebanded"] == 0
    _result, back = _reband(app, "--scale", "SCARED", "--profile", "international", "--by", "admin", "--reason", "undo")
    assert back["risk_lowered"] == 1
    assert _state(app)[0][0] == (23, "negative", "low", (), "international")
    assert _state(app)[1] == 2


def test_a_reband_never_lowers_a_critical_answer_and_reports_open_alerts(app, screened):
    result, summary = _reband(app, "--scale", "PHQ-9", "--profile", "cn_primary_care_chen2013", "--by", "admin",
                              "--reason", "Chinese validation")
    assert result.exit_code == 0 and summary["rebanded"] == 1
    assert _scores(app, "PHQ-9") == [(1, "minimal", "critical", ("suicidal_ideation",), "cn_primary_care_chen2013")]
    # The Hong Kong profile is for high schools and beyond: a middle school's results are not touched.
    assert _reband(app, "--scale", "GAD-7", "--profile", "hk_youth_2022", "--dry-run")[1]["rebanded"] == 0
    refused, _ = _reband(app, "--scale", "GAD-7", "--profile", "hk_youth_2022", "--school-level", "middle", "--dry-run")
    assert refused.exit_code != 0 and "high, vocational, university" in refused.output


def test_a_result_of_an_older_version_is_scored_with_the_current_one_unless_its_total_differs(app, screened):
    """Every result stored before a release that changed the file (the one adding the profiles, for one) has a
    version no longer loaded: it is re-banded with the current definition when its total is the same."""
    with app.app_context():
        for response in db.session.scalars(select(Response).where(Response.scale_code.in_(["SCARED", "GAD-7"]))):
            response.scale_version = "0" * 12
        gad = db.session.scalars(select(Score).join(Response).where(Response.scale_code == "GAD-7")).one()
        gad.total = 8  # not what its answers give: left alone
        db.session.commit()
    _result, summary = _reband(app, "--scale", "SCARED", "--profile", "cn_urban_norms_wang", "--by", "admin",
                               "--reason", "norms")
    assert summary["rebanded"] == 1 and summary["scored_with_current_version"] == 1
    assert _scores(app, "SCARED")[0][-1] == "cn_urban_norms_wang"
    _result, summary = _reband(app, "--scale", "GAD-7", "--profile", "cn_general_hospital_he2010", "--by", "admin",
                               "--reason", "Chinese validation")
    assert summary["rebanded"] == 0 and summary["skipped"] == {"total_differs": 1}
    assert _scores(app, "GAD-7")[0][-1] == "international"


def test_a_reband_with_an_open_alert_lowered_says_it_stays_open(app, screened):
    _reband(app, "--scale", "SCARED", "--profile", "cn_urban_norms_wang", "--by", "admin", "--reason", "norms")
    # The re-band opened no alert; the psychology teacher looked at the result and opened one for it.
    with app.app_context():
        response = db.session.scalars(select(Response).where(Response.scale_code == "SCARED")).one()
        from app.core import clock
        from app.risk.services import due_at_for

        db.session.add(Alert(student_id=response.student_id, school_id=response.school_id, response_id=response.id,
                             level="moderate", reason="moderate_score", status=AlertStatus.OPEN, opened_at=clock.now(),
                             due_at=due_at_for("moderate", clock.now())))
        db.session.commit()
    result, summary = _reband(app, "--scale", "SCARED", "--profile", "international", "--by", "admin",
                              "--reason", "undo")
    assert summary["risk_lowered"] == 1 and summary["lowered_with_open_alert"] == 1
    assert "1 result(s) went down while their alert is unresolved: it stays open" in result.output
    with app.app_context():
        assert db.session.scalars(select(Alert).where(Alert.level == "moderate")).one().status == AlertStatus.OPEN
