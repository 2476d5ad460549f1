"""Shared pieces of XinQiao's PDFs: styles with the CJK font, paragraphs, tables of dashboard numbers, charts,
page footer.

reportlab's Paragraph reads its text as markup: a name holding `<link href=…>` would become a live link, `<img
src=…>` would embed any image file the server can read, and a stray `<` would stop the PDF with an error that quotes
the text. So no PDF builds a Paragraph itself: `para()` escapes its text (every value that came from a person), and
`markup()` takes our own markup with every value escaped. tests/security/test_pdf_text.py checks both.
"""
import io
from xml.sax.saxutils import escape

from flask_babel import gettext as _
from reportlab.graphics.charts.barcharts import HorizontalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.charts.lineplots import LinePlot
from reportlab.graphics.shapes import Drawing, Line, String
from reportlab.graphics.widgets.markers import makeMarker
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle

from app.dashboards.suppress import is_suppressed
from app.reports.pdf.fonts import cjk_font

PALETTE = [colors.HexColor(c) for c in ("#2f6f73", "#c4320a", "#f0b429", "#6941c6", "#067647", "#b42318", "#616e7c")]


def styles():
    font = cjk_font()
    return {
        "title": ParagraphStyle("title", fontName=font, fontSize=16, leading=22, spaceAfter=6),
        "h2": ParagraphStyle("h2", fontName=font, fontSize=12, leading=17, spaceBefore=8, spaceAfter=4),
        "body": ParagraphStyle("body", fontName=font, fontSize=9, leading=13),
        "small": ParagraphStyle("small", fontName=font, fontSize=7.5, leading=10, textColor=colors.HexColor("#616e7c")),
        "cell": ParagraphStyle("cell", fontName=font, fontSize=7, leading=9),
    }


class PdfError(RuntimeError):
    """A PDF could not be laid out. The message names the kind of report only: reportlab's own messages quote the
    text they failed on (a student's name, a finding), and a message ends up in the server log."""


def _escaped(text) -> str:
    return escape("" if text is None else str(text)).replace("\n", "<br/>")


def _paragraph(markup_text, style, kind):
    try:
        return Paragraph(markup_text, style)
    except Exception:  # noqa: BLE001 - any parser failure; its message quotes the text
        raise PdfError(f"{kind}: a paragraph could not be read") from None


def para(text, style) -> Paragraph:
    """A paragraph that prints `text` exactly as written: markup characters are escaped, line breaks kept."""
    return _paragraph(_escaped(text), style, "paragraph")


def markup(template: str, style, **values) -> Paragraph:
    """A paragraph of our own markup: `template` is a literal of this code base (e.g. "<b>%(name)s</b>: %(text)s"),
    and every value is escaped before it is put in, translations included."""
    return _paragraph(template % {name: _escaped(value) for name, value in values.items()}, style, "markup")


def build(story, title, pagesize=A4, kind="report", margins=(15 * mm, 14 * mm, 15 * mm), author="XinQiao",
          footer=True):
    """Lay out `story` into PDF bytes, with a footer naming the document and the page unless `footer` is False.

    `title` may hold a student's name: it goes into the PDF, never into an error message (`kind` does).
    `margins`: (left and right, top, bottom)."""
    font = cjk_font()
    out = io.BytesIO()

    def draw_footer(canvas, doc):
        canvas.saveState()
        canvas.setFont(font, 7)
        canvas.setFillColor(colors.HexColor("#616e7c"))
        canvas.drawString(15 * mm, 8 * mm, f"{title} · " + _("Confidential: student mental-health data") + f" · {doc.page}")
        canvas.restoreState()

    side, top, bottom = margins
    doc = SimpleDocTemplate(out, pagesize=pagesize, leftMargin=side, rightMargin=side, topMargin=top,
                            bottomMargin=bottom, title=title, author=author)
    pages = {"onFirstPage": draw_footer, "onLaterPages": draw_footer} if footer else {}
    try:
        doc.build(story, **pages)
    except Exception as exc:  # noqa: BLE001 - reportlab's message quotes the flowable's text
        raise PdfError(f"{kind}: the PDF could not be laid out ({type(exc).__name__})") from None
    return out.getvalue()


def data_table(columns, rows, col_widths=None, font_size=7):
    """A reportlab table of already-suppressed cells, every cell printed as written; headers wrap, and a row taller
    than a page (a long finding) is split across pages."""
    st = styles()
    cell = ParagraphStyle("c", parent=st["cell"], fontSize=font_size, leading=font_size + 2)
    data = [[para(c, cell) for c in columns]]
    for row in rows:
        data.append([para("–" if v is None else v, cell) for v in row])
    table = Table(data, colWidths=col_widths, repeatRows=1, splitInRow=1)
    table.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.3, colors.HexColor("#d9e2ec")),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f0f4f8")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 2), ("RIGHTPADDING", (0, 0), (-1, -1), 2),
    ]))
    return table


def _num(v):
    return None if v is None or is_suppressed(v) else float(v)


def line_chart(title, x_labels, series, width=170 * mm, height=55 * mm, unit=""):
    """Lines over time; suppressed points are left out. `series` is [(name, values)]."""
    font = cjk_font()
    drawing = Drawing(width, height)
    plot = LinePlot()
    plot.x, plot.y, plot.width, plot.height = 30, 28, width - 50, height - 48
    data, names = [], []
    for name, values in series:
        points = [(i, _num(v)) for i, v in enumerate(values) if _num(v) is not None]
        if points:
            data.append(points)
            names.append(name)
    if not data:
        drawing.add(String(10, height / 2, title + ": " + _("no figures to draw"), fontName=font, fontSize=8))
        return drawing
    plot.data = data
    for i in range(len(data)):
        plot.lines[i].strokeColor = PALETTE[i % len(PALETTE)]
        plot.lines[i].strokeWidth = 1.5
        plot.lines[i].symbol = makeMarker("FilledCircle", size=3, fillColor=PALETTE[i % len(PALETTE)])
    plot.xValueAxis.valueMin, plot.xValueAxis.valueMax = -0.5, max(len(x_labels) - 0.5, 0.5)
    plot.xValueAxis.valueSteps = list(range(len(x_labels)))
    plot.xValueAxis.labelTextFormat = lambda v: x_labels[int(v)] if 0 <= int(v) < len(x_labels) else ""
    plot.xValueAxis.labels.fontName = font
    plot.xValueAxis.labels.fontSize = 6
    plot.yValueAxis.valueMin = 0
    if unit == "%" or all(y <= 1 for points in data for _x, y in points):
        plot.yValueAxis.valueMax = 100 if unit == "%" else max(1, max(y for points in data for _x, y in points))
    plot.yValueAxis.labels.fontName = font
    plot.yValueAxis.labels.fontSize = 6
    plot.yValueAxis.labelTextFormat = lambda v, u=unit: f"{v:g}{u}"
    drawing.add(plot)
    if title:
        drawing.add(String(0, height - 10, title, fontName=font, fontSize=9))
    legend = Legend()
    legend.x, legend.y = 30, 10
    legend.fontName, legend.fontSize = font, 7
    legend.alignment = "right"
    legend.columnMaximum = 1
    legend.colorNamePairs = [(PALETTE[i % len(PALETTE)], names[i]) for i in range(len(names))]
    legend.deltax = 70
    drawing.add(legend)
    return drawing


def score_chart(title, x_labels, values, scale, locale="zh", width=170 * mm, height=45 * mm):
    """One scale's totals over time on the scale's whole range (a PHQ-9 of 4 sits low on 0–27, not at the top of
    0–4), with the boundaries of its bands drawn across and named, so a reader sees where each score falls."""
    font = cjk_font()
    drawing = Drawing(width, height)
    plot = LinePlot()
    plot.x, plot.y, plot.width, plot.height = 30, 18, width - 110, height - 34
    points = [(i, _num(v)) for i, v in enumerate(values) if _num(v) is not None]
    if not points:
        drawing.add(String(10, height / 2, title + ": " + _("no figures to draw"), fontName=font, fontSize=8))
        return drawing
    plot.data = [points]
    plot.lines[0].strokeColor = PALETTE[0]
    plot.lines[0].strokeWidth = 1.5
    plot.lines[0].symbol = makeMarker("FilledCircle", size=3, fillColor=PALETTE[0])
    plot.xValueAxis.valueMin, plot.xValueAxis.valueMax = -0.5, max(len(x_labels) - 0.5, 0.5)
    plot.xValueAxis.valueSteps = list(range(len(x_labels)))
    plot.xValueAxis.labelTextFormat = lambda v: x_labels[int(v)] if 0 <= int(v) < len(x_labels) else ""
    plot.xValueAxis.labels.fontName = font
    plot.xValueAxis.labels.fontSize = 6
    low, high = scale.min_total, scale.max_total
    plot.yValueAxis.valueMin, plot.yValueAxis.valueMax = low, high
    boundaries = [b for b in scale.bands if b.min is not None and b.min > low]
    plot.yValueAxis.valueSteps = sorted({low, high, *(b.min for b in boundaries)})
    plot.yValueAxis.labels.fontName = font
    plot.yValueAxis.labels.fontSize = 6
    plot.yValueAxis.labelTextFormat = lambda v: f"{v:g}"
    drawing.add(plot)

    def y_of(value):
        return plot.y + plot.height * (value - low) / ((high - low) or 1)

    for band in scale.bands:
        if band.min is None:
            continue
        if band.min > low:
            drawing.add(Line(plot.x, y_of(band.min), plot.x + plot.width, y_of(band.min),
                             strokeColor=colors.HexColor("#9aa5b1"), strokeWidth=0.5, strokeDashArray=[2, 2]))
        top = band.max if band.max is not None else high
        drawing.add(String(plot.x + plot.width + 4, (y_of(band.min) + y_of(top)) / 2 - 2,
                           f"{band.min}–{top} {band.label(locale)}", fontName=font, fontSize=6))
    drawing.add(String(0, height - 10, title, fontName=font, fontSize=9))
    return drawing


def bar_chart(title, labels, values, width=170 * mm, unit=""):
    """Horizontal bars; suppressed values are drawn as 0 and named in the table beside."""
    font = cjk_font()
    height = max(40, 16 * len(labels) + 30)
    drawing = Drawing(width, height)
    if not any(_num(v) for v in values):
        drawing.height = 24
        drawing.add(String(0, 8, title + ": " + _('too few students to draw (every figure "<5" or 0)'), fontName=font, fontSize=8))
        return drawing
    chart = HorizontalBarChart()
    chart.x, chart.y, chart.width, chart.height = 90, 8, width - 120, height - 26
    chart.data = [[_num(v) or 0 for v in values] or [0]]
    chart.categoryAxis.categoryNames = [str(l)[:14] for l in labels] or [""]
    chart.categoryAxis.labels.fontName = font
    chart.categoryAxis.labels.fontSize = 7
    chart.valueAxis.valueMin = 0
    chart.valueAxis.labels.fontName = font
    chart.valueAxis.labels.fontSize = 6
    chart.bars[0].fillColor = PALETTE[0]
    drawing.add(chart)
    drawing.add(String(0, height - 10, title, fontName=font, fontSize=9))
    return drawing
