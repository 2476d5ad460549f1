"""The one-page return-to-school certificate (复学评估意见) for the school and the guardian.

It never names a diagnosis unless the doctor ticked that it may be shared; findings never appear.
"""
from flask_babel import gettext as _
from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Spacer, Table, TableStyle

from app.care.icd10 import F_CODES
from app.reports.pdf.common import build, para
from app.reports.pdf.fonts import cjk_font
from app.web import OUTCOME_LABELS, local_time


def _styles():
    font = cjk_font()
    base = ParagraphStyle("base", fontName=font, fontSize=11, leading=16, wordWrap="CJK")
    return {
        "title": ParagraphStyle("title", parent=base, fontSize=18, leading=24, alignment=1, spaceAfter=4),
        "subtitle": ParagraphStyle("subtitle", parent=base, fontSize=10, alignment=1, textColor=colors.grey),
        "label": ParagraphStyle("label", parent=base, textColor=colors.HexColor("#444444")),
        "body": base,
        "small": ParagraphStyle("small", parent=base, fontSize=9, leading=13, textColor=colors.HexColor("#555555")),
    }


def diagnosis_text(decision) -> str | None:
    """ICD-10 code and label of the assessment the decision rests on, only when sharing was ticked."""
    assessment = decision.assessment
    if not decision.share_diagnosis or assessment is None or not assessment.icd10_code:
        return None
    labels = dict(F_CODES)
    return str(labels.get(assessment.icd10_code, assessment.icd10_code))


def certificate_pdf(decision, school_name: str) -> bytes:
    """Render the certificate of `decision` as PDF bytes."""
    styles = _styles()
    referral = decision.referral
    student = referral.student
    lines = decision.condition_lines
    rows = [
        (_("School"), school_name),
        (_("Student"), student.name),
        (_("Student number"), student.student_number),
        (_("Decision"), str(OUTCOME_LABELS[decision.outcome.value])),
    ]
    if lines:
        rows.append((_("Conditions"), "\n".join(f"{i}. {line}" for i, line in enumerate(lines, 1))))
    rows.append((_("Review date"), decision.review_on.isoformat() if decision.review_on else _("None")))
    diagnosis = diagnosis_text(decision)
    if diagnosis:
        rows.append((_("Diagnosis (shared with consent of the doctor)"), diagnosis))
    rows += [
        (_("Doctor"), decision.decided_by.display_name),
        (_("Hospital"), referral.hospital.name),
        (_("Date of decision"), local_time(decision.created_at, "%Y-%m-%d")),
        (_("Case number"), f"{decision.case_number} / {referral.case_number}"),
    ]
    table = Table([[para(k, styles["label"]), para(v, styles["body"])] for k, v in rows], colWidths=[45 * mm, 120 * mm],
                  splitInRow=1)
    table.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.4, colors.HexColor("#cccccc")),
        ("TOPPADDING", (0, 0), (-1, -1), 5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
    ]))
    story = [
        para(_("Return-to-school certificate"), styles["title"]),
        para(_("XinQiao school–hospital mental health service"), styles["subtitle"]),
        Spacer(1, 8 * mm),
        table,
        Spacer(1, 8 * mm),
    ]
    if not diagnosis:
        story.append(para(_("Clinical details are confidential and are not part of this certificate."), styles["small"]))
    story += [
        para(_("Please contact the school psychology teacher with any question about this decision."), styles["small"]),
        Spacer(1, 14 * mm),
        para(_("Doctor's signature: ____________________    Hospital seal:"), styles["body"]),
    ]
    return build(story, _("Return-to-school certificate"), kind="certificate", margins=(22 * mm, 22 * mm, 20 * mm),
                 author=referral.hospital.name, footer=False)
