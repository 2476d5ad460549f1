"""The school's term summary and the district's analysis as PDFs: the sections' tables, a coverage chart, and the
definitions the figures were counted by. Every cell goes through para() (data_table); our own markup through markup()."""
from flask_babel import gettext as _
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, Spacer

from app.reports.pdf.common import bar_chart, build, data_table, markup, para, styles
from app.web import local_time


def _widths(section, total_width):
    weights = section.widths or [1] * len(section.columns)
    if len(weights) <= 5:
        total_width = min(total_width, 150 * mm)  # a short table stays readable on a landscape page
    return [total_width * w / sum(weights) for w in weights]


def term_pdf(document, generated_at) -> bytes:
    st = styles()
    wide = document.kind == "district"
    pagesize = landscape(A4) if wide else A4
    usable = pagesize[0] - 30 * mm
    story = [para(document.title, st["title"]), para(document.subtitle, st["body"]),
             para(f"{_('Generated')}: {local_time(generated_at)} · "
                  + _('Figures over 1 to 4 students show "<5" so that no figure identifies a child.'), st["small"]),
             Spacer(1, 3 * mm)]
    for section in document.sections:
        block = [para(section.title, st["h2"])]
        if section.rows:
            block.append(data_table(section.columns, section.rows, col_widths=_widths(section, usable),
                                    font_size=6.5 if wide else 7.5))
        else:
            block.append(para(_("Nothing in this term."), st["body"]))
        if section.key == "coverage_by_grade" and section.rows:
            block.append(bar_chart(_("Coverage by grade (%)"), [_("Grade %(g)s", g=r[0]) for r in section.rows],
                                   [r[3] for r in section.rows], width=usable))
        story.append(KeepTogether(block + [Spacer(1, 2 * mm)]))
    for note in document.notes:
        story.append(para(note, st["small"]))
    story.append(para(_("How the figures are counted"), st["h2"]))
    for name, text in document.definitions():
        story.append(markup("<b>%(name)s</b>: %(text)s", st["body"], name=name, text=text))
    return build(story, document.title, pagesize=pagesize, kind=f"{document.kind} term report")
