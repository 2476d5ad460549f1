"""The class report of one campaign: participation and band distribution per scale, suppressed, with charts."""
from flask import current_app
from flask_babel import gettext as _
from reportlab.lib.units import mm
from reportlab.platypus import Spacer
from sqlalchemy import func, select

from app.core import clock
from app.dashboards.suppress import counts_suppressed, rate, suppress, suppress_row
from app.extensions import db
from app.reports.pdf.common import bar_chart, build, data_table, para, styles
from app.scales.labels import campaign_scale_note
from app.screening import services as screening
from app.screening.models import Response, Score
from app.web import BAND_LABELS, label, local_time


def class_report(campaign, class_group) -> bytes:
    st = styles()
    title = _("Class report") + f" · {class_group.name} · {campaign.title}"
    progress = next((r for r in screening.campaign_progress(campaign) if r["class_id"] == class_group.id), None)
    story = [para(title, st["title"]),
             para(f"{campaign.school.name} · {local_time(campaign.opens_at, '%Y-%m-%d')} · "
                  + _("Generated") + f": {local_time(clock.now())}", st["body"]),
             para((_('Figures over 1 to 4 students show "<5" so that no figure identifies a child.') + " "
                   if counts_suppressed() else "")
                  + _('A result is positive when its risk is moderate or above.'), st["small"]), Spacer(1, 3 * mm)]
    if progress:
        story += [para(_("Participation"), st["h2"]),
                  data_table([_("Invited"), _("Started"), _("Submitted"), _("Completion (%)")],
                             [[suppress(progress["invited"]), suppress(progress["started"]), suppress(progress["submitted"]),
                               rate(progress["submitted"], progress["invited"])]])]
    counts = db.session.execute(
        select(Response.scale_code, Score.band, Score.risk, func.count()).join(Score, Score.response_id == Response.id)
        .where(Response.campaign_id == campaign.id, Response.class_group_id == class_group.id)
        .group_by(Response.scale_code, Score.band, Score.risk)).all()
    registry = current_app.extensions["scales"]
    for code in campaign.scale_codes:
        bands = [b.code for b in registry.get(code).bands]
        by_band = dict.fromkeys(bands, 0)
        total = positive = 0
        for scale_code, band, risk, n in counts:
            if scale_code == code:
                by_band[band] = by_band.get(band, 0) + n
                total += n
                positive += n if risk in ("moderate", "high", "critical") else 0
        cells = suppress_row([by_band[b] for b in bands])
        names = [str(label(BAND_LABELS, b)) for b in bands]
        story += [para(f"{code} · {campaign_scale_note(campaign, code)}", st["h2"]),
                  bar_chart(_("Students per band"), names, cells),
                  data_table(names + [_("Screened"), _("Positive rate (%)")], [cells + [suppress(total), rate(positive, total)]])]
    return build(story, title, kind="class report")
