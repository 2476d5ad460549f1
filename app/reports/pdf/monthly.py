"""The monthly report (月报) of the district: the district's figures, one row per school, trend charts, definitions."""
from flask_babel import gettext as _, lazy_gettext as _l
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, PageBreak, Spacer

from app.reports.pdf.common import build, data_table, line_chart, markup, para, styles
from app.web import local_time

DEFINITIONS = (
    (_l("Coverage"), _l("Students screened in the month / students enrolled on the last day of the month (today for the current month).")),
    (_l("Positive rate"), _l("Responses whose risk is moderate or above / all responses of that scale in the month.")),
    (_l("Hours from a critical answer"), _l("From the critical alert (opened when the answer was submitted) to its acknowledgement, and to the student's first hospital assessment; median and 90th percentile.")),
    (_l("Referral completion"), _l("Referrals sent in the month that reached a hospital assessment / referrals sent in the month.")),
    (_l("Follow-up rate (随访率)"), _l("Follow-ups due in the month done on or before their due date / follow-ups due in the month.")),
    (_l("Management rate (管理率)"), _l("Students with a positive screen or an alert in the month who have a documented action since the month began (alert acknowledged or resolved with an outcome, referral, or follow-up) / all such students.")),
)


def monthly_report(dashboard, generated_at) -> bytes:
    st = styles()
    month = f"{dashboard.month:%Y-%m}"
    title = _("Monthly report %(month)s", month=month)
    story = [para(_("Student mental-health screening: monthly report (月报) %(month)s", month=month), st["title"]),
             para(_("Generated") + f": {local_time(generated_at)} · "
                  + _('Figures over 1 to 4 students show "<5" so that no figure identifies a child.'), st["small"]),
             Spacer(1, 3 * mm), para(_("District"), st["h2"])]
    story.append(data_table([name for name, _v in dashboard.kpis], [[v for _n, v in dashboard.kpis]], font_size=6.5))
    story.append(para(_("Per school"), st["h2"]))
    table = dashboard.per_school
    story.append(data_table(table.columns, table.rows, col_widths=[40 * mm] + [16 * mm] * (len(table.columns) - 1), font_size=6.5))
    story.append(PageBreak())
    story.append(para(_("Over the last twelve months"), st["h2"]))
    for panel in dashboard.panels:
        t = panel.table
        story.append(KeepTogether([
            para(t.title, st["h2"]),
            line_chart("", [r[0] for r in t.rows], panel.series or [], width=250 * mm, height=50 * mm,
                       unit=panel.unit),
            data_table(t.columns, t.rows, font_size=6), Spacer(1, 3 * mm)]))
    story.append(para(_("How the figures are counted"), st["h2"]))
    for name, text in DEFINITIONS:
        story.append(markup("<b>%(name)s</b>: %(text)s", st["body"], name=name, text=text))
    story.append(para(_("As the city mental-health centres report their registers monthly: numerator and denominator "
                        "counted per month and per school."), st["small"]))
    return build(story, title, pagesize=landscape(A4), kind="monthly report")
