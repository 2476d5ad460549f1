"""The projector view of a screening session: a QR code of the join link and the class-wide counts only."""
import segno
from markupsafe import Markup

from app.screening import services


def qr_svg(link: str) -> Markup:
    """An inline SVG QR code of `link`, drawn on the server (segno, pinned): no script, no CDN. The SVG holds
    only the modules' path, never the link's text."""
    svg = segno.make(link, error="m").svg_inline(scale=1, border=2, omitsize=True, dark="#000", light="#fff")
    return Markup(svg)  # noqa: S704 - segno's own markup, built from a path of our making


def campaign_counts(campaign) -> dict:
    """Invited, joined and submitted over all the campaign's classes: the only figures the class sees."""
    rows = services.campaign_progress(campaign)
    return {key: sum(row[key] for row in rows) for key in ("invited", "started", "submitted")}
