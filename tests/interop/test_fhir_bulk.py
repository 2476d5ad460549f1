"""The district admin's FHIR Bulk Data export: kick-off 202 + Content-Location, status 202 then the manifest,
NDJSON files valid under fhir.resources (R4B), removed after FHIR_EXPORT_KEEP_HOURS; admin only."""
import json
import time
from datetime import timedelta

import pytest
from fhir.resources.R4B import get_fhir_model_class
from sqlalchemy import select

from app.accounts.models import User
from app.care import services as care
from app.core import clock
from app.extensions import db
from app.interop.fhir import bulk
from app.interop.fhir.models import FhirExportJob
from app.students.models import Student
from tests.conftest import login_as
from tests.helpers import GAD7_LOW, PHQ9_LOW, answer_all, launch_campaign

ASYNC = {"Prefer": "respond-async", "Accept": "application/fhir+json"}


@pytest.fixture
def screened(app, world, client_factory, tmp_path):
    app.config["FHIR_EXPORT_DIR"] = str(tmp_path / "exports")
    teacher = login_as(client_factory, "teacher")
    _campaign_id, code = launch_campaign(teacher, world.class_id)
    http = app.test_client()
    for student in world.students[:3]:
        answer_all(http, code, student, {"PHQ-9": PHQ9_LOW, "GAD-7": GAD7_LOW})
    with app.app_context():  # student 0 referred, assessed and cleared: a ServiceRequest and a DocumentReference
        users = {u.username: u for u in db.session.scalars(select(User))}
        referral = care.refer_student(db.session.get(Student, world.student_ids[0]), world.school_id, world.hospital_id,
                                      "high", "referral reason secret", by=users["teacher"])
        care.accept_referral(referral, by=users["doctor"])
        care.record_assessment(referral, {"assessed_on": clock.today(), "setting": "clinic", "findings": "findings secret",
                                          "risk_level": "moderate", "plan": "outpatient"}, by=users["doctor"])
        care.decide_return(referral, {"outcome": "cleared"}, by=users["doctor"])
        db.session.commit()
    yield
    app.config["FHIR_EXPORT_THREADS"] = True


def _wait_for_manifest(admin, status_url):
    for _ in range(600):  # the job runs in a thread: poll as a Bulk Data client does (no time is asserted)
        response = admin.get(status_url)
        if response.status_code != 202:
            return response
        assert response.headers["X-Progress"] in ("queued", "running")
        time.sleep(0.05)
    raise AssertionError("the export never finished")


def test_the_admin_kicks_off_polls_and_downloads_valid_ndjson(app, world, screened, client_factory):
    admin = login_as(client_factory, "admin")
    kick = admin.post("/admin/fhir/exports", {"school_year": ""}, headers=ASYNC)
    assert kick.status_code == 202
    status_url = kick.headers["Content-Location"]
    assert "/admin/fhir/exports/" in status_url and status_url.endswith("/status")
    done = _wait_for_manifest(admin, status_url)
    assert done.status_code == 200, done.get_data(as_text=True)
    manifest = done.get_json()
    counts = {o["type"]: o["count"] for o in manifest["output"]}
    assert counts["Patient"] == 7 and counts["QuestionnaireResponse"] == 6 and counts["Observation"] == 6
    assert counts["ServiceRequest"] == 1 and counts["DocumentReference"] == 1 and counts["Questionnaire"] >= 2
    assert manifest["requiresAccessToken"] is True and "transactionTime" in manifest
    seen = {}
    for output in manifest["output"]:
        response = admin.get(output["url"])
        assert response.status_code == 200 and response.mimetype == "application/fhir+ndjson"
        lines = response.get_data(as_text=True).splitlines()
        assert len(lines) == output["count"]
        for line in lines:
            resource = json.loads(line)
            assert resource["resourceType"] == output["type"]
            get_fhir_model_class(output["type"]).model_validate(resource)
            seen.setdefault(output["type"], set()).add(resource["id"])
        for secret in ("Guardian", "13900000000", "referral reason secret", "findings secret"):
            assert secret not in response.get_data(as_text=True)
    assert len(seen["Patient"]) == 7
    page = admin.get("/admin/fhir/exports").get_data(as_text=True)
    assert "Patient.ndjson" in page


def test_files_are_removed_after_the_set_time(app, world, screened, client_factory):
    app.config["FHIR_EXPORT_THREADS"] = False  # this time the CLI's runner does the work
    admin = login_as(client_factory, "admin")
    status_url = admin.post("/admin/fhir/exports", {"school_year": ""}, headers=ASYNC).headers["Content-Location"]
    assert admin.get(status_url).status_code == 202
    runner = app.test_cli_runner()
    assert "exports run: 1" in runner.invoke(args=["fhir", "run-exports"]).output
    manifest = admin.get(status_url).get_json()
    file_url = manifest["output"][0]["url"]
    assert admin.get(file_url).status_code == 200
    with app.app_context():
        job = db.session.scalar(select(FhirExportJob))
        directory = bulk.job_dir(job.id)
        assert directory.is_dir()
    clock.freeze(clock.now() + timedelta(hours=app.config["FHIR_EXPORT_KEEP_HOURS"], minutes=1))
    admin = login_as(client_factory, "admin")  # the old session idled out over the frozen day
    assert admin.get(status_url).status_code == 404
    assert admin.get(file_url).status_code == 404
    assert not directory.exists()


def test_a_school_year_keeps_that_years_records(app, world, screened, client_factory, tmp_path):
    with app.app_context():
        year = world.academic_year
        first = int(year[:4])
        outputs = bulk.export_ndjson(tmp_path / "this", school_year=year)
        assert {o["type"]: o["count"] for o in outputs}["QuestionnaireResponse"] == 6
        outputs = bulk.export_ndjson(tmp_path / "earlier", school_year=f"{first - 1}-{first}")
        counts = {o["type"]: o["count"] for o in outputs}
        assert "QuestionnaireResponse" not in counts and "Patient" not in counts
    admin = login_as(client_factory, "admin")
    bad = admin.post("/admin/fhir/exports", {"school_year": "2026/27"})
    assert bad.status_code == 400 and "2026-2027" in bad.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(FhirExportJob)) is None


def test_type_limits_the_export_and_a_bad_type_is_refused(app, world, screened, client_factory):
    app.config["FHIR_EXPORT_THREADS"] = False
    admin = login_as(client_factory, "admin")
    assert admin.post("/admin/fhir/exports?_type=Patient,Bogus", {"school_year": ""}, headers=ASYNC).status_code == 400
    kick = admin.post("/admin/fhir/exports?_type=Patient,Observation", {"school_year": ""}, headers=ASYNC)
    assert kick.status_code == 202
    app.test_cli_runner().invoke(args=["fhir", "run-exports"])
    manifest = admin.get(kick.headers["Content-Location"]).get_json()
    assert [(o["type"], o["count"]) for o in manifest["output"]] == [("Patient", 7), ("Observation", 6)]


@pytest.mark.parametrize("username", ["teacher", "doctor", "homeroom"])
def test_only_the_district_admin_exports_or_manages_clients(app, world, screened, client_factory, username):
    staff = login_as(client_factory, username)
    assert staff.get("/admin/fhir/exports").status_code == 404
    assert staff.post("/admin/fhir/exports", {"school_year": ""}, headers=ASYNC).status_code == 404
    assert staff.get("/admin/fhir/clients").status_code == 404
    assert staff.post("/admin/fhir/clients", {"hospital_id": world.hospital_id, "name": "x"}).status_code == 404
    with app.app_context():
        assert db.session.scalar(select(FhirExportJob)) is None
