"""A department's assessment report as a PDF (reportlab), in Chinese: the font is WenQuanYi Micro Hei, its path the
setting ASSESSMENT_PDF_FONT (default /usr/share/fonts/truetype/wqy/wqy-microhei.ttc, package fonts-wqy-microhei,
installed by the Dockerfile); a .ttc holds several faces — the first (subfontIndex=0) is Micro Hei."""

from __future__ import annotations

import io
from xml.sax.saxutils import escape

from django.conf import settings
from django.utils.translation import gettext as _

FONT_NAME = "WenQuanYiMicroHei"
DEFAULT_FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"


def _font() -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if FONT_NAME not in pdfmetrics.getRegisteredFontNames():
        path = getattr(settings, "ASSESSMENT_PDF_FONT", DEFAULT_FONT)
        pdfmetrics.registerFont(TTFont(FONT_NAME, path, subfontIndex=0))
    return FONT_NAME


def scorecard_pdf(*, assessment, department, scores, result) -> bytes:
    """The scorecard: title, total, rank and grade, then one row per indicator (weight, figures, points), and a bar
    of points against weight per indicator."""
    from reportlab.graphics.charts.barcharts import HorizontalBarChart
    from reportlab.graphics.shapes import Drawing
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = _font()
    title = ParagraphStyle("t", fontName=font, fontSize=16, leading=22)
    body = ParagraphStyle("b", fontName=font, fontSize=10, leading=14)
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, title=str(assessment.title))
    # A Paragraph reads its text as reportlab's markup: names are escaped (a title may hold "<" — hostile or not).
    story = [Paragraph(escape(str(assessment.title)), title), Paragraph(escape(department.name), title),
             Spacer(1, 8)]
    if result is not None:
        story.append(Paragraph(escape(
            _("总分 %(total)s（计算 %(c)s，调整 %(a)s）· 排名 %(rank)s · 等次 %(grade)s%(veto)s") % {
                "total": result.total, "c": result.computed_points, "a": result.adjustment_points,
                "rank": result.rank or "-", "grade": result.get_grade_display() or "-",
                "veto": _("（一票否决）") if result.veto else ""}), body))
    story.append(Spacer(1, 8))
    rows = [[_("指标"), _("权重"), _("分子"), _("分母"), _("得分率"), _("得分")]]
    for s in scores:
        rows.append([s.indicator.name, s.indicator.weight, s.numerator, "-" if s.denominator is None else s.denominator,
                     "-" if s.rate is None else f"{s.rate * 100:.2f}%", s.points])
    table = Table(rows, repeatRows=1)
    table.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), font), ("FONTSIZE", (0, 0), (-1, -1), 9),
                               ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
                               ("BACKGROUND", (0, 0), (-1, 0), colors.lightgrey)]))
    story.append(table)
    if scores:
        drawing = Drawing(460, 30 + 22 * len(scores))
        chart = HorizontalBarChart()
        chart.x, chart.y, chart.width, chart.height = 150, 10, 290, 22 * len(scores)
        chart.data = [[float(s.points) for s in scores], [float(s.indicator.weight) for s in scores]]
        chart.categoryAxis.categoryNames = [s.indicator.name for s in scores]
        chart.categoryAxis.labels.fontName = font
        chart.valueAxis.valueMin = 0
        chart.bars[0].fillColor, chart.bars[1].fillColor = colors.HexColor("#0d6efd"), colors.HexColor("#dee2e6")
        drawing.add(chart)
        story += [Spacer(1, 12), drawing]
    doc.build(story)
    return buffer.getvalue()
