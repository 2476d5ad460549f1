"""The school's term summary (一校一总结) and the district's analysis (一县一分析) as sections of suppressed cells:
one object rendered as a PDF (app/reports/pdf/term.py) and as an XLSX workbook (app.core.spreadsheets)."""
from dataclasses import dataclass, field

from flask_babel import gettext as _

from app.dashboards.suppress import rate, suppress
from app.register.labels import LEVEL_LABELS as WARNING_LABELS
from app.reports.term import DEFINITIONS, Term, add_up, schools_for_district, term_figures
from app.web import LEVEL_LABELS, OUTCOME_LABELS, RISK_LABELS, label

LEVELS = ("critical", "high", "moderate")
WARNING_LEVELS = ("red", "orange", "yellow")
OUTCOMES = ("cleared", "cleared_with_conditions", "not_cleared")


@dataclass
class Section:
    key: str          # the XLSX sheet's name
    title: str
    columns: list
    rows: list = field(default_factory=list)
    widths: list | None = None  # relative column widths for the PDF


@dataclass
class TermDocument:
    kind: str         # "school" or "district"
    title: str
    subtitle: str
    term: Term
    sections: list
    notes: list = field(default_factory=list)

    def definitions(self):
        return [(str(name), str(text)) for name, text in DEFINITIONS]


def _term_label(term: Term) -> str:
    return _("%(year)s school year, term %(number)s (%(start)s to %(end)s)", year=term.year, number=term.number,
             start=term.start.isoformat(), end=term.as_of.isoformat())


def _overview(f) -> list:
    ref, fu = f["referrals"], f["follow_ups"]
    rows = [
        [_("Students enrolled"), suppress(f["enrolled"])],
        [_("Students screened"), suppress(f["screened"])],
        [_("Coverage (%)"), rate(f["screened"], f["enrolled"])],
        *([_("Alerts opened: %(level)s", level=label(RISK_LABELS, lv)), suppress(f["alerts"].get(lv, 0))] for lv in LEVELS),
        [_("Referrals sent"), suppress(ref["sent"])],
        [_("Referrals assessed by the hospital"), suppress(ref["assessed"])],
        [_("Referrals declined"), suppress(ref["declined"])],
        *([_("Returns: %(outcome)s", outcome=label(OUTCOME_LABELS, o)), suppress(f["returns"].get(o, 0))] for o in OUTCOMES),
        [_("Follow-ups due"), suppress(fu[0])],
        [_("Follow-ups done on time"), suppress(fu[1])],
        [_("Follow-up rate (%)"), rate(fu[1], fu[0])],
        [_("Second-stage interviews"), suppress(f["interviews"])],
        *([_("Warning level at the term's end: %(level)s", level=label(WARNING_LABELS, lv)), suppress(f["warning"].get(lv, 0))]
          for lv in WARNING_LEVELS),
    ]
    return rows


def _by_grade(f) -> list:
    grades = sorted(set(f["enrolled_by_grade"]) | set(f["screened_by_grade"]))
    return [[g, suppress(f["enrolled_by_grade"].get(g, 0)), suppress(f["screened_by_grade"].get(g, 0)),
             rate(f["screened_by_grade"].get(g, 0), f["enrolled_by_grade"].get(g, 0))] for g in grades]


def _positives(f) -> list:
    rows = []
    for (code, grade), (n, pos) in sorted(f["scales"].items(), key=lambda kv: (kv[0][0], kv[0][1] or 0)):
        rows.append([code, grade if grade is not None else "–", suppress(n), suppress(pos), rate(pos, n)])
    return rows


def _committee(f) -> list:
    c = f["committee"]
    return [[_("Committee members named"), suppress(c["members"])],
            [_("Concerns about a classmate"), suppress(c["concerns"])],
            [_("'Nothing to report' sent"), suppress(c["nothing"])],
            [_("Class-weeks with a report"), suppress(c["class_weeks"])]]


def _common_sections(f):
    return [
        Section("overview", _("Overview"), [_("Figure"), _("Value")], _overview(f), [3, 1]),
        Section("coverage_by_grade", _("Coverage by grade"), [_("Grade"), _("Enrolled"), _("Screened"), _("Coverage (%)")],
                _by_grade(f)),
        Section("positives", _("Positive results per scale and grade"),
                [_("Scale"), _("Grade"), _("Responses"), _("Positive"), _("Positive rate (%)")], _positives(f)),
    ]


def school_summary(school, term: Term, generated_at) -> TermDocument:
    f = term_figures(term, [school.id])[school.id]
    sections = _common_sections(f) + [
        Section("committee", _("Class committee members (班级心理委员)"), [_("Figure"), _("Value")], _committee(f), [3, 1])]
    return TermDocument("school", _("Term summary (一校一总结): %(school)s", school=school.name), _term_label(term), term,
                        sections)


def _school_row(school, f):
    n = sum(v[0] for v in f["scales"].values())
    pos = sum(v[1] for v in f["scales"].values())
    return [school.name, label(LEVEL_LABELS, school.level), suppress(f["enrolled"]), suppress(f["screened"]),
            rate(f["screened"], f["enrolled"]), rate(pos, n), *(suppress(f["alerts"].get(lv, 0)) for lv in LEVELS),
            suppress(f["referrals"]["sent"]), suppress(f["referrals"]["assessed"]),
            suppress(sum(f["returns"].values())), rate(f["follow_ups"][1], f["follow_ups"][0]),
            suppress(f["committee"]["concerns"])]


def district_analysis(term: Term, generated_at) -> TermDocument:
    schools = schools_for_district()
    figures = term_figures(term, [s.id for s in schools])
    total = add_up([figures[s.id] for s in schools])
    per_school = Section(
        "schools", _("Per school"),
        [_("School"), _("Level"), _("Enrolled"), _("Screened"), _("Coverage (%)"), _("Positive rate (%)"),
         *(_("Alerts: %(level)s", level=label(RISK_LABELS, lv)) for lv in LEVELS), _("Referrals"), _("Assessed"),
         _("Returns"), _("Follow-up rate (%)"), _("Committee concerns")],
        [_school_row(s, figures[s.id]) for s in schools], [4, 2] + [1.3] * 12)
    sections = _common_sections(total)
    sections[0].title = _("District overview")
    sections.insert(1, per_school)
    sections.append(Section("committee", _("Class committee members (班级心理委员)"), [_("Figure"), _("Value")],
                            _committee(total), [3, 1]))
    return TermDocument("district", _("District analysis (一县一分析)"), _term_label(term), term, sections)


def term_xlsx(document, generated_at) -> bytes:
    """One sheet per section, each headed by the document's title and term, and a sheet of definitions."""
    from app.core.spreadsheets import xlsx_workbook_bytes
    from app.web import local_time

    head = [[document.title], [document.subtitle], [f"{_('Generated')}: {local_time(generated_at)}"], []]
    sheets = [(s.key, head + [[s.title], [str(c) for c in s.columns], *s.rows]) for s in document.sections]
    sheets.append(("definitions", head + [[_("How the figures are counted")], *document.definitions(), [],
                                          *([n] for n in document.notes)]))
    return xlsx_workbook_bytes(sheets)
