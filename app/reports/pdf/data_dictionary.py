"""The research export's data dictionary as a PDF: what the export is for, who approved it, what the
de-identification did, and every variable."""
from flask_babel import gettext as _
from reportlab.lib.units import mm
from reportlab.platypus import Spacer

from app.reports.pdf.common import build, data_table, para, styles


def data_dictionary_pdf(report: dict, variables) -> bytes:
    st = styles()
    title = _("Research export %(id)s: data dictionary", id=report["export_id"])
    story = [para(title, st["title"]),
             para(_("De-identified data: no names, student numbers, birth dates, schools, classes or free text. "
                    "Do not try to re-identify anyone, and do not pass the file on beyond the approved purpose."),
                  st["small"]),
             Spacer(1, 3 * mm), para(_("Purpose and approval"), st["h2"]),
             data_table([_("Item"), _("Value")], [
                 [_("Purpose"), report["purpose"]],
                 [_("Approved by"), report["approved_by"]],
                 [_("Approval reference"), report["approval_reference"]],
                 [_("Created"), report["created_at"]],
                 [_("Pseudonyms linked to export"), report["linked_to_export"] or _("no (new pseudonyms)")],
             ], col_widths=[45 * mm, 130 * mm]),
             para(_("De-identification"), st["h2"]),
             data_table([_("Step"), _("Count")], [
                 [_("Students in the data"), report["students"]],
                 [_("Students whose birth year is hidden"), report["students_birth_year_hidden"]],
                 [_("Students whose birth year and sex are hidden"), report["students_birth_year_and_sex_hidden"]],
                 [_("Students left out (their group stayed under %(k)d)", k=report["min_group_size"]),
                  report["students_suppressed"]],
                 [_("Rows written"), report["rows_written"]],
                 [_("Rows left out"), report["rows_suppressed"]],
             ], col_widths=[120 * mm, 55 * mm]),
             para(_("Every combination of district, school level, grade, sex and birth year in the file is shared by "
                    "at least %(k)d students.", k=report["min_group_size"]), st["small"]),
             para(_("Variables"), st["h2"]),
             data_table([_("Variable"), _("Type"), _("Meaning")], [list(v) for v in variables],
                        col_widths=[28 * mm, 22 * mm, 125 * mm]),
             para(_("Questionnaires"), st["h2"]),
             data_table([_("Scale"), _("Items"), _("Version")],
                        [[code, info.get("items"), info.get("version", "")] for code, info in report["scales"].items()],
                        col_widths=[30 * mm, 20 * mm, 125 * mm], font_size=6)]
    return build(story, title, kind="data dictionary")
