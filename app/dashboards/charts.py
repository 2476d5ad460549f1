"""Server-side SVG charts: no JavaScript, no internet. Each chart has a <title>/<desc> and sits beside its table.

Suppressed values ("<5") are never drawn as a length; they are labelled "<5".
"""
from markupsafe import Markup, escape

from app.dashboards.suppress import is_suppressed

PALETTE = ("#067647", "#84caa5", "#f0b429", "#c4320a", "#b42318", "#6941c6", "#2f6f73", "#616e7c")
LINE_COLOURS = ("#2f6f73", "#c4320a", "#6941c6", "#b54708", "#175cd3", "#1f2933")
RISK_COLOURS = {"low": "#067647", "moderate": "#f0b429", "high": "#c4320a", "critical": "#b42318"}


def _svg(width, height, title, body, desc=""):
    title = escape(title)
    return Markup(
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{title}</title><desc>{escape(desc)}</desc>{body}</svg>"
    )


def _too_few():
    from flask_babel import gettext as _

    return _("Too few students to draw: every figure is under 5 or missing. The numbers are in the table.")


def _num(value):
    return None if value is None or is_suppressed(value) else float(value)


def hbar(title, labels, values, *, unit="", colour="#2f6f73", max_value=None):
    """Horizontal bars, one per label; suppressed or missing values are written, not drawn."""
    row_h, label_w, width = 26, 150, 560
    height = row_h * max(len(labels), 1) + 10
    numbers = [_num(v) for v in values]
    top = max_value or max([n for n in numbers if n is not None] or [1]) or 1
    parts = []
    for i, (label, value, n) in enumerate(zip(labels, values, numbers)):
        y = 5 + i * row_h
        parts.append(f'<text x="{label_w - 6}" y="{y + 17}" text-anchor="end" class="lbl">{escape(str(label)[:24])}</text>')
        if n is not None:
            w = max(0.0, (width - label_w - 70) * n / top)
            parts.append(f'<rect x="{label_w}" y="{y + 4}" width="{w:.1f}" height="{row_h - 8}" fill="{colour}"/>')
            parts.append(f'<text x="{label_w + w + 4:.1f}" y="{y + 17}" class="val">{escape(str(value))}{unit}</text>')
        else:
            parts.append(f'<text x="{label_w + 4}" y="{y + 17}" class="val muted">{escape(str(value if value is not None else "–"))}</text>')
    return _svg(width, height, title, "".join(parts))


def stacked(title, labels, series_names, rows, totals, colours=None):
    """One horizontal bar per label, split into series (e.g. bands). Suppressed cells are pooled into a grey
    hatched remainder (total minus the shown cells), which reveals nothing the table does not."""
    colours = colours or PALETTE
    row_h, label_w, width = 26, 150, 560
    legend_h = 22 * ((len(series_names) + 3) // 4)
    height = row_h * max(len(labels), 1) + legend_h + 14
    plot_w = width - label_w - 50
    parts = ['<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
             '<rect width="6" height="6" fill="#e4e7eb"/><line x1="0" y1="0" x2="0" y2="6" stroke="#9aa5b1" stroke-width="2"/>'
             '</pattern></defs>']
    for i, (label, row, total) in enumerate(zip(labels, rows, totals)):
        y = 5 + i * row_h
        parts.append(f'<text x="{label_w - 6}" y="{y + 17}" text-anchor="end" class="lbl">{escape(str(label)[:24])}</text>')
        total_n = _num(total)
        if not total_n:
            parts.append(f'<text x="{label_w + 4}" y="{y + 17}" class="val muted">{escape(str(total if total is not None else "–"))}</text>')
            continue
        x = float(label_w)
        shown = 0.0
        for j, cell in enumerate(row):
            n = _num(cell)
            if n:
                w = plot_w * n / total_n
                parts.append(f'<rect x="{x:.1f}" y="{y + 4}" width="{w:.1f}" height="{row_h - 8}" fill="{colours[j % len(colours)]}">'
                             f'<title>{escape(str(series_names[j]))}: {int(n)}</title></rect>')
                x += w
                shown += n
        if total_n - shown > 0:
            w = plot_w * (total_n - shown) / total_n
            parts.append(f'<rect x="{x:.1f}" y="{y + 4}" width="{w:.1f}" height="{row_h - 8}" fill="url(#hatch)"><title>&lt;5</title></rect>')
        parts.append(f'<text x="{label_w + plot_w + 4}" y="{y + 17}" class="val">{escape(str(total))}</text>')
    ly = 5 + len(labels) * row_h + 6
    for j, name in enumerate(series_names):
        lx = 10 + (j % 4) * 137
        yy = ly + (j // 4) * 22
        parts.append(f'<rect x="{lx}" y="{yy}" width="12" height="12" fill="{colours[j % len(colours)]}"/>'
                     f'<text x="{lx + 16}" y="{yy + 11}" class="lgd">{escape(str(name)[:16])}</text>')
    return _svg(width, height, title, "".join(parts))


def line(title, x_labels, series, *, unit="%", trend=None):
    """Lines over time. `series` is [(name, values)]; suppressed or missing points break the line.
    `trend` is an optional (slope, intercept) over the point index, drawn dashed."""
    width, height, left, right, top_pad, bottom = 560, 240, 44, 12, 12, 58
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    numbers = [[_num(v) for v in values] for _, values in series]
    if not any(n is not None for ns in numbers for n in ns):
        return _svg(width, 40, title, f'<text x="4" y="24" class="val muted">{escape(_too_few())}</text>')
    top = max([n for ns in numbers for n in ns if n is not None] or [1])
    top = 100.0 if unit == "%" and top > 50 else max(top * 1.15, 1.0)
    count = max(len(x_labels), 1)

    def px(i):
        return left + (plot_w * (i + 0.5) / count)

    def py(v):
        return top_pad + plot_h - plot_h * min(v, top) / top

    parts = [f'<line x1="{left}" y1="{top_pad + plot_h}" x2="{width - right}" y2="{top_pad + plot_h}" class="axis"/>',
             f'<line x1="{left}" y1="{top_pad}" x2="{left}" y2="{top_pad + plot_h}" class="axis"/>']
    for frac in (0, 0.5, 1):
        v = top * frac
        parts.append(f'<text x="{left - 4}" y="{py(v) + 4:.1f}" text-anchor="end" class="tick">{v:.3g}{unit}</text>')
    step = -(-count // 6)  # at most six labels under the axis
    for i, label in enumerate(x_labels):
        if i % step == 0:
            parts.append(f'<text x="{px(i):.1f}" y="{top_pad + plot_h + 16}" text-anchor="middle" class="tick">{escape(str(label)[:10])}</text>')
    for k, ((name, values), ns) in enumerate(zip(series, numbers)):
        colour = LINE_COLOURS[k % len(LINE_COLOURS)]
        segment = []
        for i, n in enumerate(ns):
            if n is None:
                if len(segment) > 1:
                    parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{" ".join(segment)}"/>')
                segment = []
                continue
            segment.append(f"{px(i):.1f},{py(n):.1f}")
            parts.append(f'<circle cx="{px(i):.1f}" cy="{py(n):.1f}" r="3.5" fill="{colour}"><title>{escape(str(name))} '
                         f'{escape(str(x_labels[i]))}: {n:g}{unit}</title></circle>')
        if len(segment) > 1:
            parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{" ".join(segment)}"/>')
        lx = left + (k % 4) * 128
        ly = height - 20 + (k // 4) * 0
        parts.append(f'<rect x="{lx}" y="{ly}" width="12" height="12" fill="{colour}"/>'
                     f'<text x="{lx + 16}" y="{ly + 11}" class="lgd">{escape(str(name)[:14])}</text>')
    if trend is not None and count > 1:
        slope, intercept = trend
        y0, y1 = intercept, intercept + slope * (count - 1)
        parts.append(f'<line x1="{px(0):.1f}" y1="{py(max(y0, 0)):.1f}" x2="{px(count - 1):.1f}" y2="{py(max(y1, 0)):.1f}" '
                     f'class="trend" stroke="#1f2933" stroke-dasharray="5 4" stroke-width="1.5"/>')
    return _svg(width, height, title, "".join(parts))
