"""Text that people wrote is printed in every PDF exactly as written: never read as reportlab markup (a live link,
an embedded server file, a 500), never quoted into the server log when a PDF fails."""
import logging
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import segno
from sqlalchemy import select

from app.care.models import Assessment, ReturnDecision
from app.extensions import db
from app.orgs.models import ClassGroup, School
from app.screening.models import Campaign
from app.students.models import Student
from tests.conftest import login_as

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) not installed")

ROOT = Path(__file__).resolve().parents[2]
LINK = '<link href="https://evil.example/">Z</link>&amp;<'  # a live link, an entity, a stray <
# Each of these stopped reportlab's parser: an unknown font, an unclosed tag, a tag inside a tag.
CLASS_NAME = '<font face="x">8-1 & <'
CAMPAIGN_TITLE = "<b>unclosed <i>title</u> 5 < 6"
SCHOOL_NAME = "<para>Middle School A</para> & <br/> B"


def _image(tmp_path):
    path = tmp_path / "secret.png"
    segno.make("a file only the server can read").save(str(path), scale=4)
    return str(path)


def _make_hostile(app, case, image):
    """What a roster, a campaign form and a doctor's forms could have stored (the columns' own lengths)."""
    with app.app_context():
        db.session.get(Student, case.student).name = LINK
        db.session.get(ClassGroup, case.class_id).name = CLASS_NAME
        db.session.get(School, case.school).name = SCHOOL_NAME
        db.session.get(Campaign, case.campaign).title = CAMPAIGN_TITLE
        assessment = db.session.get(Assessment, case.assessment)
        # 20,000 characters is what the form accepts: taller than a page in the timeline's column.
        assessment.findings = (f'<img src="{image}" width="40" height="40"/> findings < 1 ' + "long finding " * 2000)[:20000]
        decision = db.session.get(ReturnDecision, case.decision)
        decision.conditions = f'no <a href="https://evil.example/">link</a> & <img src="{image}"/>\nsecond line'
        db.session.commit()
        db.session.remove()


def _pdf_text(body):
    return subprocess.run(["pdftotext", "-q", "-", "-"], input=body, capture_output=True, check=True).stdout.decode()


def _assert_inert(response, *literals):
    assert response.status_code == 200 and response.mimetype == "application/pdf", response.status_code
    body = response.get_data()
    assert not re.search(rb"/Subtype\s*/Link|/URI\b", body), "a live link in the PDF"
    assert not re.search(rb"/Subtype\s*/Image", body), "an image embedded in the PDF"
    text = re.sub(r"\s+", "", _pdf_text(body))
    for literal in literals:
        assert re.sub(r"\s+", "", literal) in text, literal


def test_names_titles_and_clinical_text_are_printed_as_written_in_every_pdf(app, client_factory, case, tmp_path):
    image = _image(tmp_path)
    _make_hostile(app, case, image)
    teacher, doctor = login_as(client_factory, "teacher"), login_as(client_factory, "doctor")
    report = f"/students/{case.student}/report.pdf"
    _assert_inert(teacher.get(report), LINK, CLASS_NAME, SCHOOL_NAME, "findings < 1", 'no <a href="https://evil.exa')
    _assert_inert(doctor.get(report), LINK, "findings < 1")
    _assert_inert(teacher.get(f"/campaigns/{case.campaign}/classes/{case.class_id}/report.pdf"),
                  CLASS_NAME, CAMPAIGN_TITLE, SCHOOL_NAME)
    _assert_inert(doctor.get(f"/decisions/{case.decision}/certificate.pdf"), LINK, SCHOOL_NAME, "no <a href=")
    _assert_inert(login_as(client_factory, "admin").get("/district/monthly.pdf"), SCHOOL_NAME)


def test_a_failing_pdf_writes_no_name_or_clinical_text_to_the_log(app, client_factory, case, tmp_path, monkeypatch,
                                                                  caplog):
    """Whatever stops a PDF, the log gets the kind of report and the error's type, never the text reportlab quotes
    (it names the flowable it failed on: "Flowable <Paragraph ...'the text'> too large")."""
    from reportlab.platypus import doctemplate

    _make_hostile(app, case, _image(tmp_path))
    with app.app_context():
        findings = db.session.get(Assessment, case.assessment).findings
        db.session.remove()

    def fail_quoting_the_text(self, flowables):
        flowable = flowables[0]
        raise doctemplate.LayoutError(f"Flowable {flowable.__class__.__name__} "
                                      f"{getattr(flowable, 'text', '')[:60]!r} {findings[:60]!r} too large")

    monkeypatch.setattr(doctemplate.BaseDocTemplate, "handle_flowable", fail_quoting_the_text)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    teacher, doctor = login_as(client_factory, "teacher"), login_as(client_factory, "doctor")
    caplog.set_level(logging.DEBUG)
    for client, url in ((teacher, f"/students/{case.student}/report.pdf"),
                        (teacher, f"/campaigns/{case.campaign}/classes/{case.class_id}/report.pdf"),
                        (doctor, f"/decisions/{case.decision}/certificate.pdf")):
        response = client.get(url)
        assert response.status_code == 500, url
        page = response.get_data(as_text=True)
        assert "evil.example" not in page and "findings" not in page
    assert "could not be laid out" in caplog.text
    for secret in ("evil.example", "findings < 1", "long finding", "unclosed", "Middle School A", "8-1"):
        assert secret not in caplog.text, secret


def test_no_pdf_builds_a_paragraph_from_raw_text():
    """Static check: reportlab's Paragraph (markup) is made in app/reports/pdf/common.py only, by para() and markup();
    every other module goes through them."""
    for path in (ROOT / "app").rglob("*.py"):
        rel = path.relative_to(ROOT).as_posix()
        if rel == "app/reports/pdf/common.py":
            continue
        source = path.read_text(encoding="utf-8")
        assert not re.search(r"\bParagraph\b|\bXPreformatted\b|paraparser", source), \
            f"{rel}: build paragraphs with common.para() or common.markup()"


def test_markup_escapes_every_value_and_para_everything(app):
    from reportlab.lib.styles import ParagraphStyle

    from app.reports.pdf.common import markup, para

    style = ParagraphStyle("s")
    assert para('<img src="/etc/x"/> & \n<b>', style).getPlainText() == '<img src="/etc/x"/> & <b>'
    built = markup("<b>%(name)s</b>: %(text)s", style, name="<i>n", text="<link href='x'>t</link>")
    assert built.getPlainText() == "<i>n: <link href='x'>t</link>"
