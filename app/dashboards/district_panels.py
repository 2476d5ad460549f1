"""The district dashboard and monthly report: figures per school and over time, suppressed, as tables and charts."""
from dataclasses import dataclass, field

from flask_babel import gettext as _

from app.dashboards import charts
from app.dashboards.district import DISTRICT, figures_for, overall_positive, previous_months, school_names
from app.dashboards.suppress import rate, statistic, suppress
from app.dashboards.tables import Table
from app.dashboards.teacher import Panel
from app.web import RISK_LABELS, label

LEVELS = ("critical", "high", "moderate")
TREND_MONTHS = 12


def columns():
    return [_("School"), _("Enrolled"), _("Screened"), _("Coverage (%)"), _("Positive rate (%)"),
            _("Critical alerts"), _("High alerts"), _("Moderate alerts"),
            _("Hours to acknowledge, median"), _("Hours to acknowledge, P90"),
            _("Hours to assessment, median"), _("Hours to assessment, P90"),
            _("Referral completion (%)"), _("Follow-up rate (%)"), _("Management rate (%)")]


def row(name, f):
    """One suppressed row of the per-school table from raw figures."""
    n, pos = overall_positive(f)
    return [name, suppress(f["enrolled"]), suppress(f["screened"]), rate(f["screened"], f["enrolled"]), rate(pos, n),
            *(suppress(f["alerts"].get(level, 0)) for level in LEVELS),
            statistic(f["ack"][0], f["ack"][1]) if f["ack"][1] is not None else None,
            statistic(f["ack"][0], f["ack"][2]) if f["ack"][2] is not None else None,
            statistic(f["assess"][0], f["assess"][1]) if f["assess"][1] is not None else None,
            statistic(f["assess"][0], f["assess"][2]) if f["assess"][2] is not None else None,
            rate(f["referrals"][1], f["referrals"][0]), rate(f["follow_ups"][1], f["follow_ups"][0]),
            rate(f["managed"][1], f["managed"][0])]


@dataclass
class DistrictDashboard:
    month: object
    months: list
    school_id: object
    schools: dict
    kpis: list = field(default_factory=list)     # the district row for the month
    per_school: Table = None
    panels: list = field(default_factory=list)
    as_of: str = None  # when the month's figures were counted (ISO, UTC)

    def tables(self):
        return {t.key: t for t in [self.per_school] + [p.table for p in self.panels]}


def district_dashboard(month, school_id=None):
    months = previous_months(month, TREND_MONTHS)
    names = school_names()
    unit = school_id if school_id in names else DISTRICT
    # every school's figures of the month shown; of the months before, the trend's unit only
    figures = figures_for(months, every_school={month}, unit=unit)
    current = figures[month]
    cols = columns()
    per_school = Table(f"schools-{month:%Y-%m}", _("Figures per school, %(month)s", month=f"{month:%Y-%m}"), cols)
    for sid, name in names.items():
        if sid in current:
            per_school.add(row(name, current[sid]))
    per_school.add(row(_("District total"), current[DISTRICT]))
    district_row = per_school.rows[-1]
    kpis = list(zip(cols[1:], district_row[1:]))

    series = [figures[m].get(unit) for m in months]
    x = [f"{m:%Y-%m}" for m in months]
    scope_name = names.get(unit, _("District"))
    panels = []

    def panel(key, title, cols_, rows_, chart_series, unit_="%"):
        table = Table(f"{key}-{month:%Y-%m}" + (f"-s{unit}" if unit else ""), f"{title} · {scope_name}", [_("Month")] + cols_)
        for m, r in zip(x, rows_):
            table.add([m] + r)
        panels.append(Panel(table, charts.line(table.title, x, chart_series, unit=unit_), series=chart_series, unit=unit_))

    empty = {"enrolled": 0, "screened": 0, "scales": {}, "alerts": {}, "ack": [0, None, None], "assess": [0, None, None],
             "referrals": [0, 0], "follow_ups": [0, 0], "managed": [0, 0]}
    series = [f or empty for f in series]
    coverage = [rate(f["screened"], f["enrolled"]) for f in series]
    panel("coverage", _("Coverage"), [_("Enrolled"), _("Screened"), _("Coverage (%)")],
          [[suppress(f["enrolled"]), suppress(f["screened"]), c] for f, c in zip(series, coverage)], [(_("Coverage"), coverage)])
    codes = sorted({code for f in series for code in f["scales"]})
    pos_rows, pos_series = [], []
    for code in codes:
        pos_series.append((code, [rate(f["scales"].get(code, [0, 0])[1], f["scales"].get(code, [0, 0])[0]) for f in series]))
    for i, f in enumerate(series):
        pos_rows.append([v for _c, vals in pos_series for v in (suppress(f["scales"].get(_c, [0, 0])[0]), vals[i])])
    panel("positive", _("Positive rate per scale"),
          [h for code in codes for h in (_("%(scale)s responses", scale=code), _("%(scale)s positive rate (%%)", scale=code))],
          pos_rows, pos_series)
    panel("alerts", _("Alerts by level"), [str(label(RISK_LABELS, lv)) for lv in LEVELS],
          [[suppress(f["alerts"].get(lv, 0)) for lv in LEVELS] for f in series],
          [(str(label(RISK_LABELS, lv)), [suppress(f["alerts"].get(lv, 0)) for f in series]) for lv in LEVELS], unit_="")
    ack = [[statistic(f["ack"][0], f["ack"][1]) if f["ack"][1] is not None else None,
            statistic(f["ack"][0], f["ack"][2]) if f["ack"][2] is not None else None,
            statistic(f["assess"][0], f["assess"][1]) if f["assess"][1] is not None else None,
            statistic(f["assess"][0], f["assess"][2]) if f["assess"][2] is not None else None] for f in series]
    panel("times", _("Hours from a critical answer"), [_("To acknowledgement, median"), _("To acknowledgement, P90"),
                                                       _("To assessment, median"), _("To assessment, P90")],
          ack, [(_("Acknowledgement, median"), [r[0] for r in ack]), (_("Assessment, median"), [r[2] for r in ack])], unit_="h")
    care = [[rate(f["referrals"][1], f["referrals"][0]), rate(f["follow_ups"][1], f["follow_ups"][0]),
             rate(f["managed"][1], f["managed"][0])] for f in series]
    panel("care", _("Referral completion, follow-up rate and management rate"),
          [_("Referral completion (%)"), _("Follow-up rate (%)"), _("Management rate (%)")], care,
          [(_("Referral completion"), [r[0] for r in care]), (_("Follow-up rate"), [r[1] for r in care]),
           (_("Management rate"), [r[2] for r in care])])
    return DistrictDashboard(month=month, months=months, school_id=unit, schools=names, kpis=kpis,
                             per_school=per_school, panels=panels, as_of=current[DISTRICT].get("computed_at"))
