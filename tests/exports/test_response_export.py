"""The district's export of every response: streamed (CSV at once, XLSX directly or as a job), formula-safe, audited,
and a download in progress never stops a student's submission (the read holds no writer lock)."""
import csv
import io
import threading

import openpyxl
import pytest
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.exports.models import ExportJob
from app.extensions import db
from app.orgs.models import School
from tests.conftest import login_as
from tests.helpers import GAD7_LOW, PHQ9_CRITICAL, answer_all, join, launch_campaign, submit

FORMULA_NAME = '=HYPERLINK("https://evil.test","click")'


@pytest.fixture
def answered(app, world, client_factory, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "EXPORT_DIR", str(tmp_path / "exports"))
    monkeypatch.setitem(app.config, "EXPORT_JOBS_WAIT", True)
    with app.app_context():
        db.session.get(School, world.school_id).name = FORMULA_NAME
        db.session.commit()
    teacher = login_as(client_factory, "teacher")
    _, code = launch_campaign(teacher, world.class_id, scales=("PHQ-9", "GAD-7"))
    http = app.test_client()
    for student in world.students[:4]:
        answer_all(http, code, student, {"PHQ-9": PHQ9_CRITICAL, "GAD-7": GAD7_LOW})
    return code


def _csv(body):
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_the_csv_streams_every_response_formula_safe_without_names_and_audited(app, world, answered, client_factory):
    admin = login_as(client_factory, "admin")
    response = admin.get("/admin/exports/responses.csv")
    assert response.status_code == 200 and response.is_streamed
    assert response.headers["Content-Disposition"] == 'attachment; filename="responses.csv"'
    rows = _csv(response.get_data())
    header, body = rows[0], rows[1:]
    assert header[:3] == ["response_id", "school", "school_code"] and "item_09" in header
    assert len(body) == 8 and {r[header.index("scale")] for r in body} == {"PHQ-9", "GAD-7"}
    assert {r[1] for r in body} == {"'" + FORMULA_NAME}
    phq = next(r for r in body if r[header.index("scale")] == "PHQ-9")
    assert [int(v) for v in phq[header.index("item_01"):header.index("item_09") + 1]] == PHQ9_CRITICAL
    assert phq[header.index("risk")] == "critical" and "suicidal_ideation" in phq[header.index("flags")]
    text = response.get_data(as_text=True)
    assert "Student " not in text and "S0001" not in text and "Guardian" not in text
    one_school = _csv(admin.get(f"/admin/exports/responses.csv?school={world.other_school_id}").get_data())
    assert len(one_school) == 1
    with app.app_context():
        details = [e.detail for e in db.session.scalars(select(AuditEvent).where(AuditEvent.object_type == "responses")
                                                        .order_by(AuditEvent.id))]
        assert details == [{"format": "csv", "school_id": None}, {"format": "csv", "school_id": world.other_school_id}]


def test_a_download_in_progress_does_not_stop_a_submission(app, world, answered, client_factory):
    """The download runs in a thread of its own, as a server runs each request; it stops after its first rows while
    a student submits."""
    admin = login_as(client_factory, "admin")
    started, go_on, body = threading.Event(), threading.Event(), []

    def download():
        response = admin.get("/admin/exports/responses.csv", buffered=False)
        chunks = iter(response.response)
        while b"".join(body).count(b"\n") < 2:  # the header and a first row: the read is under way
            body.append(next(chunks))
        started.set()
        go_on.wait(60)
        body.extend(chunks)
        response.close()

    thread = threading.Thread(target=download)
    thread.start()
    assert started.wait(60)
    http = app.test_client()
    session = join(http, answered, world.students[4]).get_json()
    questionnaire = session["questionnaires"][0]
    receipt = submit(http, session["token"], questionnaire, [0] * len(questionnaire["items"]))
    go_on.set()
    thread.join(60)
    assert receipt.status_code == 201
    rows = _csv(b"".join(body))
    assert rows[0][0] == "response_id" and len(rows) == 9  # the export's snapshot: the new response came after it


def test_xlsx_is_written_at_once_when_small_and_by_a_job_when_large(app, world, answered, client_factory, monkeypatch):
    admin = login_as(client_factory, "admin")
    direct = admin.post("/admin/exports/responses.xlsx")
    assert direct.status_code == 200 and direct.is_streamed
    sheet = openpyxl.load_workbook(io.BytesIO(direct.get_data())).active
    cells = list(sheet.iter_rows(values_only=False))
    assert len(cells) == 9 and cells[1][1].value == FORMULA_NAME and cells[1][1].data_type == "s"
    monkeypatch.setitem(app.config, "EXPORT_XLSX_DIRECT_ROWS", 5)
    queued = admin.post("/admin/exports/responses.xlsx")
    assert queued.status_code == 302
    page = admin.get(queued.headers["Location"]).get_data(as_text=True)
    assert 'data-status="done"' in page
    download = admin.get(queued.headers["Location"] + "/download")
    assert download.status_code == 200
    assert download.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    rows = list(openpyxl.load_workbook(io.BytesIO(download.get_data())).active.iter_rows(values_only=True))
    assert len(rows) == 9 and rows[1][1] == FORMULA_NAME
    with app.app_context():
        job = db.session.scalar(select(ExportJob))
        assert job.rows == 8 and job.kind.value == "responses_xlsx"
    assert admin.post("/admin/exports/responses.xlsx", csrf=False).status_code == 400
