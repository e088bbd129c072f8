"""The reports as PDF for the meeting room: progress, survey results, stock reconciliation.

A4 landscape (the tables are wide). The first page carries the administrative header (the
organisation block, the motto, the place-and-date line, as the other documents have it) and
the bold title; tables repeat their header rows on every page; pages are numbered
"Trang x/y". Charts are reportlab graphics drawn in the bundled serif, so every font in the
file is embedded. Text is drawn NFC.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from reportlab.graphics.charts.barcharts import HorizontalBarChart, VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    CondPageBreak,
    Flowable,
    Frame,
    KeepTogether,
    LongTable,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from mbfcare.domain.values import format_date, format_msisdn, format_number
from mbfcare.reports.pdf import fonts
from mbfcare.reports.pdf.data import FormSettings
from mbfcare.reports.pdf.layout import (
    MOTTO,
    MOTTO_2,
    date_line,
    draw_centred,
    fit_size,
    nfc,
    signature_blocks,
    wrap,
)
from mbfcare.services.reports import (
    KIND_TITLES,
    PROGRESS_COLUMNS,
    PROGRESS_RATE_TITLE,
    STOCK_COLUMNS,
    BatchProgress,
    ProgressCounts,
    ProgressReport,
    QuestionReport,
    ReportInfo,
    StockFigures,
    StockReport,
    SurveyReport,
)

__all__ = [
    "CHART_DISTRICTS_MAX",
    "PAGE_SIZE",
    "RENDERERS",
    "progress_title",
    "render_progress",
    "render_stock",
    "render_survey",
    "stock_title",
    "survey_title",
]

PAGE_SIZE: tuple[float, float] = landscape(A4)
PAGE_WIDTH, PAGE_HEIGHT = PAGE_SIZE
MARGIN_LEFT = 20 * mm
MARGIN_RIGHT = 15 * mm
MARGIN_TOP = 15 * mm
MARGIN_BOTTOM = 18 * mm
WIDTH = PAGE_WIDTH - MARGIN_LEFT - MARGIN_RIGHT
_ORG_WIDTH = 260.0

CHART_DISTRICTS_MAX = 16
"""A batch's chart shows its districts up to this many; beyond, its groups."""

_GREY = colors.Color(0.9, 0.9, 0.9)
_DARK_GREY = colors.Color(0.78, 0.78, 0.78)
_LIST_COLOUR = colors.Color(0.75, 0.78, 0.82)
_MAIN_COLOUR = colors.Color(0.0, 0.33, 0.62)  # MobiFone blue

_CELL = ParagraphStyle("r_cell", fontName=fonts.SERIF, fontSize=8.5, leading=10)
_CELL_RIGHT = ParagraphStyle("r_cell_right", parent=_CELL, alignment=TA_RIGHT)
_CELL_CENTRE = ParagraphStyle("r_cell_centre", parent=_CELL, alignment=TA_CENTER)
_HEAD = ParagraphStyle("r_head", parent=_CELL_CENTRE, fontName=fonts.SERIF_BOLD)
_BOLD = ParagraphStyle("r_bold", parent=_CELL, fontName=fonts.SERIF_BOLD)
_BOLD_RIGHT = ParagraphStyle("r_bold_right", parent=_CELL_RIGHT, fontName=fonts.SERIF_BOLD)
_HEADING = ParagraphStyle("r_heading", fontName=fonts.SERIF_BOLD, fontSize=12, leading=15,
                          spaceBefore=6, spaceAfter=4)
_TEXT = ParagraphStyle("r_text", fontName=fonts.SERIF, fontSize=11, leading=14)
_NOTE = ParagraphStyle("r_note", fontName=fonts.SERIF_ITALIC, fontSize=9, leading=11)


def _p(text: str, style: ParagraphStyle = _CELL) -> Paragraph:
    """A table cell or line: NFC, with the characters Paragraph treats as markup escaped."""
    escaped = nfc(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return Paragraph(escaped, style)


def _n(value: int) -> str:
    return format_number(value)


def _percent(share: float) -> str:
    """"33,3%"."""
    return f"{share * 100:.1f}%".replace(".", ",")


def _decimal(value: float | None) -> str:
    """"4,25"; blank for none."""
    return "" if value is None else f"{value:.2f}".replace(".", ",")


def progress_title(info: ReportInfo) -> str:
    """"BÁO CÁO TIẾN ĐỘ CHƯƠNG TRÌNH CHĂM SÓC KHÁCH HÀNG NĂM 2017"."""
    return nfc(f"{KIND_TITLES['progress']} {info.programme_name}".upper())


def survey_title(info: ReportInfo) -> str:
    """"BÁO CÁO KẾT QUẢ KHẢO SÁT Ý KIẾN KHÁCH HÀNG"."""
    return nfc(KIND_TITLES["survey"].upper())


def stock_title(info: ReportInfo) -> str:
    """"BIÊN BẢN QUYẾT TOÁN QUÀ TẶNG"."""
    return nfc(KIND_TITLES["stock"].upper())


# --------------------------------------------------------------------------- page furniture


class _Header(Flowable):  # type: ignore[misc]  # reportlab is untyped
    """The administrative header and the title, across the frame's width (landscape).

    The same blocks as `layout.draw_header` (organisation, underlined branch, motto, the
    italic place-and-date line) laid out over the wider page, then the bold title.
    """

    def __init__(self, settings: FormSettings, info: ReportInfo, title: str,
                 subtitle: Sequence[str]) -> None:
        super().__init__()
        self.settings = settings
        self.info = info
        self.title = title
        self.subtitle = tuple(subtitle)
        self._title_lines: list[str] = []
        self._subtitle_lines: list[str] = []
        self._height = 0.0
        self._width = WIDTH

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        self._width = available_width
        self._title_lines = wrap(self.title, fonts.SERIF_BOLD, 14, available_width)
        self._subtitle_lines = [line for text in self.subtitle
                                for line in wrap(text, fonts.SERIF_BOLD, 12, available_width)]
        org_lines = len(self.settings.organisation) + 1
        top = 11 + max(org_lines - 1, 1) * 15 + 22 + 34
        self._height = top + len(self._title_lines) * 18 + len(self._subtitle_lines) * 16 + 6
        return available_width, self._height

    def draw(self) -> None:
        canvas: Any = self.canv
        width = self._width
        org_centre = _ORG_WIDTH / 2
        motto_width = width - _ORG_WIDTH
        motto_centre = _ORG_WIDTH + motto_width / 2
        y = self._height - 11
        for line in self.settings.organisation:
            draw_centred(canvas, org_centre, y, line,
                         size=fit_size(line, fonts.SERIF, 12, _ORG_WIDTH))
            y -= 15
        branch = self.settings.branch(self.info.province)
        draw_centred(canvas, org_centre, y, branch, font=fonts.SERIF_BOLD,
                     size=fit_size(branch, fonts.SERIF_BOLD, 12, _ORG_WIDTH), underline=0.4)
        motto_y = self._height - 11
        draw_centred(canvas, motto_centre, motto_y, MOTTO, font=fonts.SERIF_BOLD,
                     size=fit_size(MOTTO, fonts.SERIF_BOLD, 12, motto_width))
        draw_centred(canvas, motto_centre, motto_y - 15, MOTTO_2, font=fonts.SERIF_BOLD,
                     size=13, underline=1.0)
        y = min(y, motto_y - 15) - 22
        line = date_line(self.settings.place(self.info.province), self.info.made_on)
        draw_centred(canvas, motto_centre, y, line, font=fonts.SERIF_ITALIC,
                     size=fit_size(line, fonts.SERIF_ITALIC, 13, motto_width))
        y -= 34
        for text in self._title_lines:
            draw_centred(canvas, width / 2, y, text, font=fonts.SERIF_BOLD, size=14)
            y -= 18
        for text in self._subtitle_lines:
            draw_centred(canvas, width / 2, y, text, font=fonts.SERIF_BOLD, size=12)
            y -= 16


class _Signatures(Flowable):  # type: ignore[misc]  # reportlab is untyped
    """Signature blocks side by side (layout.signature_blocks) across the frame."""

    _HEIGHT = 112.0

    def __init__(self, blocks: Sequence[tuple[str, str]]) -> None:
        super().__init__()
        self.blocks = tuple(blocks)

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        return available_width, self._HEIGHT

    def draw(self) -> None:
        signature_blocks(self.canv, self._HEIGHT - 14, self.blocks, left=0.0, right=WIDTH)


class _NumberedCanvas(Canvas):  # type: ignore[misc]  # reportlab is untyped
    """Keeps the pages until the end to write "Trang x/y" under each."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pages: list[dict[str, Any]] = []

    def showPage(self) -> None:  # noqa: N802 - reportlab's name
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._pages)
        for number, state in enumerate(self._pages, 1):
            self.__dict__.update(state)
            self.setFont(fonts.SERIF_ITALIC, 10)
            self.drawCentredString(PAGE_WIDTH / 2, MARGIN_BOTTOM - 22,
                                   f"Trang {number}/{total}")
            super().showPage()
        super().save()


def _build(story: list[Flowable], out: BinaryIO | str | Path, title: str) -> int:
    """Lay the story out on landscape A4 pages; returns the number of pages."""
    fonts.register()
    target = str(out) if isinstance(out, Path) else out
    doc = BaseDocTemplate(target, pagesize=PAGE_SIZE, leftMargin=MARGIN_LEFT,
                          rightMargin=MARGIN_RIGHT, topMargin=MARGIN_TOP,
                          bottomMargin=MARGIN_BOTTOM, title=nfc(title), author="MBF Care",
                          creator="MBF Care", initialFontName=fonts.SERIF)
    frame = Frame(MARGIN_LEFT, MARGIN_BOTTOM, WIDTH, PAGE_HEIGHT - MARGIN_TOP - MARGIN_BOTTOM,
                  id="body", leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
    doc.addPageTemplates([PageTemplate(id="body", frames=[frame])])
    pages: list[int] = []

    class _Counting(_NumberedCanvas):
        def save(self) -> None:
            pages.append(len(self._pages))
            super().save()

    doc.build(story, canvasmaker=_Counting)
    return pages[0] if pages else 0


def _table(rows: list[list[Any]], widths: Sequence[float], *, header_rows: int = 1,
           extra: Sequence[tuple[Any, ...]] = ()) -> LongTable:
    table = LongTable(rows, colWidths=list(widths), repeatRows=header_rows)
    table.setStyle(TableStyle([
        # Cells are paragraphs; the font keeps the table's own default (Helvetica) out.
        ("FONT", (0, 0), (-1, -1), fonts.SERIF, 8.5),
        ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("BACKGROUND", (0, 0), (-1, header_rows - 1), _GREY),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
        ("LEFTPADDING", (0, 0), (-1, -1), 2.5),
        ("RIGHTPADDING", (0, 0), (-1, -1), 2.5),
        *extra,
    ]))
    return table


def _drawing(width: float, height: float) -> Drawing:
    drawing = Drawing(width, height)
    # Without it the renderer sets the base-14 Helvetica, which would not be embedded.
    drawing.initialFontName = fonts.SERIF
    drawing.initialFontSize = 9
    return drawing


def _legend(x: float, y: float, pairs: Sequence[tuple[Any, str]]) -> Legend:
    legend = Legend()
    legend.x, legend.y = x, y
    legend.fontName = fonts.SERIF
    legend.fontSize = 9
    legend.alignment = "right"
    legend.columnMaximum = 1
    legend.dx, legend.dy = 10, 10
    legend.deltax = 130
    legend.colorNamePairs = [(colour, nfc(name)) for colour, name in pairs]
    return legend


def _bar_labels(chart: Any, size: float = 8) -> None:
    chart.barLabels.fontName = fonts.SERIF
    chart.barLabels.fontSize = size
    chart.barLabelFormat = lambda value: format_number(int(value)) if value else "0"


def _bars(categories: Sequence[str], series: Sequence[tuple[Any, str, Sequence[int]]], *,
          width: float, label_width: float = 150.0) -> Drawing:
    """A horizontal grouped bar chart, categories top to bottom, numbers at the bars' ends
    (the colours are named in the legend, and the numbers say the rest)."""
    per_category = 9.0 * len(series) + 8
    plot_height = max(per_category * len(categories), 40.0)
    drawing = _drawing(width, plot_height + 50)
    chart = HorizontalBarChart()
    chart.x, chart.y = label_width, 22
    chart.width, chart.height = width - label_width - 40, plot_height
    # Series 0 is drawn lowest in each group: reversed, the bars read top down as listed.
    drawn = list(reversed(series))
    chart.data = [list(values) for _colour, _name, values in drawn]
    chart.categoryAxis.categoryNames = [nfc(c) for c in categories]
    chart.categoryAxis.reverseDirection = 1
    chart.categoryAxis.labels.fontName = fonts.SERIF
    chart.categoryAxis.labels.fontSize = 9
    chart.categoryAxis.labels.boxAnchor = "e"
    chart.categoryAxis.labels.dx = -4
    chart.valueAxis.labels.fontName = fonts.SERIF
    chart.valueAxis.labels.fontSize = 8
    chart.valueAxis.valueMin = 0
    chart.valueAxis.labelTextFormat = lambda value: format_number(int(value))
    top = max((max(values) for _c, _n, values in series if values), default=0)
    chart.valueAxis.valueMax = max(top * 1.12, 5)
    chart.barWidth = 8
    chart.groupSpacing = 8
    chart.barSpacing = 1
    for index, (colour, _name, _values) in enumerate(drawn):
        chart.bars[index].fillColor = colour
        chart.bars[index].strokeColor = colors.black
        chart.bars[index].strokeWidth = 0.3
    _bar_labels(chart)
    chart.barLabels.boxAnchor = "w"
    chart.barLabels.dx = 3
    drawing.add(chart)
    if len(series) > 1:
        drawing.add(_legend(label_width, plot_height + 44,
                            [(colour, name) for colour, name, _values in series]))
    return drawing


# --------------------------------------------------------------------------- progress

_PROGRESS_KEY_WIDTHS = (26.0, 56.0, 82.0, 110.0)


def _progress_header() -> list[list[Any]]:
    outcome_keys = [k for k, _ in PROGRESS_COLUMNS if k in ("unreachable", "refused", "moved",
                                                              "other")]
    first = [_p(t, _HEAD) for t in ("Đợt", "Nhóm", "Quận/Huyện", "Cửa hàng")]
    second: list[Any] = ["", "", "", ""]
    for key, title in PROGRESS_COLUMNS:
        if key in outcome_keys:
            first.append(_p("Đã đóng theo kết quả", _HEAD) if key == outcome_keys[0] else "")
            second.append(_p(title, _HEAD))
        else:
            first.append(_p(title, _HEAD))
            second.append("")
    first.append(_p(PROGRESS_RATE_TITLE, _HEAD))
    second.append("")
    return [first, second]


def _progress_cells(counts: ProgressCounts, bold: bool) -> list[Any]:
    style = _BOLD_RIGHT if bold else _CELL_RIGHT
    return [*(_p(_n(counts.value(key)), style) for key, _ in PROGRESS_COLUMNS),
            _p(_percent(counts.completion_rate), style)]


def _progress_table(report: ProgressReport) -> LongTable:
    rows = _progress_header()
    columns = len(rows[0])
    numbers = columns - 4
    number_width = (WIDTH - sum(_PROGRESS_KEY_WIDTHS)) / numbers
    widths = [*_PROGRESS_KEY_WIDTHS, *(number_width,) * numbers]
    outcome_start = 4 + [k for k, _ in PROGRESS_COLUMNS].index("unreachable")
    extra: list[tuple[Any, ...]] = [
        ("SPAN", (outcome_start, 0), (outcome_start + 3, 0)),
        ("BACKGROUND", (0, 1), (-1, 1), _GREY),
    ]
    for col in range(columns):
        if not outcome_start <= col < outcome_start + 4:
            extra.append(("SPAN", (col, 0), (col, 1)))
    for batch in report.batches:
        for line in batch.rows:
            rows.append([_p(str(line.batch), _CELL_CENTRE), _p(line.group_label, _CELL_CENTRE),
                         _p(line.district), _p(line.store), *_progress_cells(line.counts, False)])
        rows.append(["", "", _p(f"Cộng đợt {batch.batch}", _BOLD), "",
                     *_progress_cells(batch.subtotal, True)])
        extra += [("SPAN", (2, len(rows) - 1), (3, len(rows) - 1)),
                  ("BACKGROUND", (0, len(rows) - 1), (-1, len(rows) - 1), _GREY)]
    rows.append([_p("Tổng cộng", _BOLD), "", "", "", *_progress_cells(report.total, True)])
    extra += [("SPAN", (0, len(rows) - 1), (3, len(rows) - 1)),
              ("BACKGROUND", (0, len(rows) - 1), (-1, len(rows) - 1), _DARK_GREY)]
    return _table(rows, widths, header_rows=2, extra=extra)


def _batch_chart(batch: BatchProgress) -> list[Flowable]:
    by_district = batch.by_district
    if len(by_district) <= CHART_DISTRICTS_MAX:
        pairs, per = by_district, "quận/huyện"
    else:
        pairs, per = batch.by_group, "nhóm"
    names = [name or "(chưa rõ)" for name, _ in pairs]
    drawing = _bars(names, [
        (_LIST_COLOUR, "Trong danh sách", [c.on_list for _, c in pairs]),
        (_MAIN_COLOUR, "Đã trao quà", [c.handed_over for _, c in pairs]),
    ], width=WIDTH, label_width=130.0)
    month = f" (tháng {batch.care_month})" if batch.care_month else ""
    title = (f"Đợt {batch.batch}{month}: đã trao quà so với trong danh sách, theo {per} – "
             f"đã trao {_n(batch.subtotal.handed_over)}/{_n(batch.subtotal.on_list)}")
    return [KeepTogether([_p(title, _HEADING), drawing])]


def _notes(notes: Sequence[str]) -> list[Flowable]:
    return [Spacer(0, 4), _p("Ghi chú:", _NOTE),
            *(_p(f"– {note}", _NOTE) for note in notes)]


def render_progress(report: ProgressReport, out: BinaryIO | str | Path, *,
                    settings: FormSettings, user: str = "") -> int:
    """Báo cáo tiến độ: the table (batch subtotals, total), the definitions, a chart per
    batch, and the signatures. Returns the number of pages."""
    fonts.register()
    info = report.info
    story: list[Flowable] = [
        _Header(settings, info, progress_title(info), [info.scope]), Spacer(0, 6)]
    if not report.batches:
        story.append(_p("Chưa có khách hàng nào trong danh sách chăm sóc.", _TEXT))
    else:
        story += [_progress_table(report), *_notes(report.notes)]
        for batch in report.batches:
            story += [Spacer(0, 10), *_batch_chart(batch)]  # kept together with its title
    story += [Spacer(0, 12), CondPageBreak(_Signatures._HEIGHT + 10),
              _Signatures([("NGƯỜI LẬP BÁO CÁO", user), ("LÃNH ĐẠO ĐƠN VỊ", "")])]
    return _build(story, out, progress_title(info))


# --------------------------------------------------------------------------- survey

_KIND_WORDS = {"scale": "thang điểm 1–5", "text": "trả lời tự do"}


def _answers_table(question: QuestionReport) -> Table:
    rows: list[list[Any]] = [[_p("Trả lời", _HEAD), _p("Số phiếu", _HEAD), _p("Tỷ lệ", _HEAD)]]
    for answer in question.answers:
        label = f"{answer.answer} điểm" if question.kind == "scale" else answer.answer
        rows.append([_p(label), _p(_n(answer.count), _CELL_RIGHT),
                     _p(_percent(answer.share), _CELL_RIGHT)])
    rows.append([_p("Số phiếu trả lời", _BOLD), _p(_n(question.answered), _BOLD_RIGHT), ""])
    if question.mean is not None:
        rows.append([_p("Điểm trung bình", _BOLD), _p(_decimal(question.mean), _BOLD_RIGHT),
                     ""])
    return _table(rows, (170.0, 55.0, 50.0))


def _answers_chart(question: QuestionReport, width: float) -> Drawing:
    labels = [a.answer for a in question.answers]
    counts = [a.count for a in question.answers]
    if question.kind != "scale":
        return _bars(labels, [(_MAIN_COLOUR, "Số phiếu", counts)], width=width,
                     label_width=min(170.0, width * 0.45))
    drawing = _drawing(width, 150)
    chart = VerticalBarChart()
    chart.x, chart.y = 40, 28
    chart.width, chart.height = width - 60, 100
    chart.data = [counts]
    chart.categoryAxis.categoryNames = [f"{label} điểm" for label in labels]
    chart.categoryAxis.labels.fontName = fonts.SERIF
    chart.categoryAxis.labels.fontSize = 9
    chart.valueAxis.labels.fontName = fonts.SERIF
    chart.valueAxis.labels.fontSize = 8
    chart.valueAxis.valueMin = 0
    chart.valueAxis.valueMax = max(max(counts, default=0) * 1.15, 5)
    chart.valueAxis.labelTextFormat = lambda value: format_number(int(value))
    chart.bars[0].fillColor = _MAIN_COLOUR
    chart.bars[0].strokeColor = colors.black
    chart.bars[0].strokeWidth = 0.3
    _bar_labels(chart, 9)
    chart.barLabels.boxAnchor = "s"
    chart.barLabels.dy = 2
    drawing.add(chart)
    mean = _decimal(question.mean) if question.mean is not None else "–"
    drawing.add(String(width / 2, 138, nfc(f"Điểm trung bình: {mean}"),
                       fontName=fonts.SERIF_BOLD, fontSize=10, textAnchor="middle"))
    return drawing


def _places_table(question: QuestionReport) -> LongTable | None:
    if not question.places:
        return None
    options = [answer.answer for answer in question.answers]
    head = [_p("Quận/Huyện", _HEAD), _p("Cửa hàng", _HEAD), _p("Số phiếu", _HEAD)]
    if question.kind == "scale":
        head += [_p(f"{o} điểm", _HEAD) for o in options] + [_p("Điểm TB", _HEAD)]
    else:
        head += [_p(o, _HEAD) for o in options]
    rows: list[list[Any]] = [head]
    for place in question.places:
        row = [_p(place.district or "(chưa rõ)"), _p(place.store),
               _p(_n(place.answered), _CELL_RIGHT)]
        row += [_p(_n(count), _CELL_RIGHT) for _answer, count in place.counts]
        if question.kind == "scale":
            row.append(_p(_decimal(place.mean), _CELL_RIGHT))
        rows.append(row)
    fixed = [110.0, 150.0, 45.0]
    rest = len(head) - len(fixed)
    widths = fixed + [(WIDTH - sum(fixed)) / rest] * rest if rest else fixed
    return _table(rows, widths)


def _free_text_table(report: SurveyReport, question: QuestionReport) -> LongTable | None:
    answers = [a for a in report.free_text if a.question_key == question.key]
    if not answers:
        return None
    rows: list[list[Any]] = [[_p(t, _HEAD) for t in ("STT", "Quận/Huyện", "Cửa hàng",
                                                     "Khách hàng", "Ngày", "Ý kiến")]]
    for number, answer in enumerate(answers, 1):
        who = f"{answer.name} ({format_msisdn(answer.msisdn)})" if answer.name else \
            format_msisdn(answer.msisdn)
        rows.append([_p(str(number), _CELL_CENTRE), _p(answer.district), _p(answer.store),
                     _p(who), _p(format_date(answer.answered_on), _CELL_CENTRE),
                     _p(answer.text)])
    widths = (24.0, 85.0, 115.0, 170.0, 50.0)
    return _table(rows, (*widths, WIDTH - sum(widths)))


def render_survey(report: SurveyReport, out: BinaryIO | str | Path, *,
                  settings: FormSettings, user: str = "") -> int:
    """Báo cáo khảo sát: per question its answers (table and bar chart), its breakdown per
    district and store, and the free-text answers listed. Returns the number of pages."""
    fonts.register()
    info = report.info
    subtitle = [f"Chương trình {info.programme_name} – {info.scope}",
                f"Số phiếu khảo sát đã nhập: {_n(report.responses)} (mẫu phiếu phiên bản "
                f"{report.form_version})"]
    story: list[Flowable] = [_Header(settings, info, survey_title(info), subtitle),
                             Spacer(0, 4)]
    for question in report.questions:
        # Choice questions say how to answer in their own words ("có thể chọn nhiều").
        kind = _KIND_WORDS.get(question.kind, "") if question.kind in ("scale", "text") else ""
        heading = _p(f"{question.title} ({kind})" if kind else question.title, _HEADING)
        block: list[Flowable] = [heading]
        if question.kind == "text":
            block.append(_p(f"Số phiếu có ý kiến: {_n(question.answered)}.", _TEXT))
        elif question.answered:
            chart_width = WIDTH - 290
            side = Table([[_answers_table(question), _answers_chart(question, chart_width)]],
                         colWidths=[285, chart_width])
            side.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                                      ("FONT", (0, 0), (-1, -1), fonts.SERIF, 9),
                                      ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
            block.append(side)
        else:
            block.append(_p("Chưa có câu trả lời.", _TEXT))
        story += [CondPageBreak(200), KeepTogether(block)]
        places = _places_table(question) if question.kind != "text" else None
        if places is not None:
            story += [Spacer(0, 6), _p("Theo quận/huyện và cửa hàng:", _BOLD), Spacer(0, 2),
                      places]
        listed = _free_text_table(report, question) if question.kind == "text" else None
        if listed is not None:
            story += [Spacer(0, 4), listed]
        story.append(Spacer(0, 10))
    story += [CondPageBreak(_Signatures._HEIGHT + 10),
              _Signatures([("NGƯỜI LẬP BÁO CÁO", user), ("LÃNH ĐẠO ĐƠN VỊ", "")])]
    return _build(story, out, survey_title(info))


# --------------------------------------------------------------------------- stock


def _stock_cells(figures: StockFigures, listed: int | None, batch: int | None,
                 bold: bool) -> list[Any]:
    style = _BOLD_RIGHT if bold else _CELL_RIGHT
    cells = [_p(_n(figures.value(key)), style) for key, _ in STOCK_COLUMNS]
    if batch is not None:
        cells.append(_p(_n(listed or 0), style))
    return cells


def _stock_table(report: StockReport) -> LongTable:
    batch = report.info.batch
    titles = [title for _, title in STOCK_COLUMNS]
    if batch is not None:
        titles.append(f"Đã trao cho KH đợt {batch}")
    rows: list[list[Any]] = [[_p(t, _HEAD) for t in ("STT", "Món quà", "Nơi", *titles)]]
    extra: list[tuple[Any, ...]] = []
    number = 0
    for item in report.items:
        for line in item.lines:
            number += 1
            rows.append([_p(str(number), _CELL_CENTRE), _p(item.item_name), _p(line.location),
                         *_stock_cells(line.figures, len(line.handovers), batch, False)])
        listed = sum(len(line.handovers) for line in item.lines)
        rows.append(["", _p(f"Cộng {item.item_name}", _BOLD), "",
                     *_stock_cells(item.total, listed, batch, True)])
        extra += [("SPAN", (1, len(rows) - 1), (2, len(rows) - 1)),
                  ("BACKGROUND", (0, len(rows) - 1), (-1, len(rows) - 1), _GREY)]
    rows.append([_p("Tổng cộng", _BOLD), "", "",
                 *_stock_cells(report.total, report.handovers, batch, True)])
    extra += [("SPAN", (0, len(rows) - 1), (2, len(rows) - 1)),
              ("BACKGROUND", (0, len(rows) - 1), (-1, len(rows) - 1), _DARK_GREY)]
    fixed = [28.0, 150.0, 150.0]
    rest = len(rows[0]) - len(fixed)
    return _table(rows, fixed + [(WIDTH - sum(fixed)) / rest] * rest, extra=extra)


def _handover_lists(report: StockReport) -> list[Flowable]:
    story: list[Flowable] = []
    batch = report.info.batch
    for item, line in report.lines:
        if not line.handovers:
            continue
        rows: list[list[Any]] = [[_p(t, _HEAD) for t in (
            "STT", "Ngày trao", "Số thuê bao", "Họ tên", "Đợt", "Nhóm", "Người trao",
            "Mã biên bản")]]
        for number, handover in enumerate(line.handovers, 1):
            rows.append([
                _p(str(number), _CELL_CENTRE),
                _p(format_date(handover.given_on) if handover.given_on else "", _CELL_CENTRE),
                _p(format_msisdn(handover.msisdn), _CELL_CENTRE), _p(handover.name),
                _p(str(handover.batch), _CELL_CENTRE),
                _p(str(handover.group) if handover.group is not None else "", _CELL_CENTRE),
                _p(handover.given_by), _p(handover.receipt_code)])
        widths = [28.0, 60.0, 75.0, 170.0, 30.0, 34.0, 140.0]
        widths.append(WIDTH - sum(widths))
        scope = f" – khách hàng đợt {batch}" if batch is not None else ""
        title = (f"{item.item_name} – {line.location}{scope}: {_n(len(line.handovers))} "
                 f"khách hàng đã nhận")
        story += [CondPageBreak(90), _p(title, _HEADING), _table(rows, widths), Spacer(0, 8)]
    return story


def render_stock(report: StockReport, out: BinaryIO | str | Path, *,
                 settings: FormSettings, user: str = "") -> int:
    """Biên bản quyết toán quà: the reconciliation per item × location with its notes and
    the signatures (Người lập, Thủ kho, Lãnh đạo đơn vị), then, as an appendix, the list of
    handovers behind each "Đã trao". Returns the number of pages."""
    fonts.register()
    info = report.info
    subtitle = [f"Chương trình {info.programme_name}",
                f"Tính đến ngày {format_date(info.made_on)}"]
    story: list[Flowable] = [_Header(settings, info, stock_title(info), subtitle),
                             Spacer(0, 6), _stock_table(report), *_notes(report.notes),
                             Spacer(0, 12), CondPageBreak(_Signatures._HEIGHT + 10),
                             _Signatures([("NGƯỜI LẬP", user), ("THỦ KHO", ""),
                                          ("LÃNH ĐẠO ĐƠN VỊ", "")])]
    lists = _handover_lists(report)
    story += [PageBreak(), _p("PHỤ LỤC: DANH SÁCH KHÁCH HÀNG ĐÃ NHẬN QUÀ THEO MÓN QUÀ VÀ NƠI "
                              "TRAO", _HEADING)]
    if lists:
        story += lists
    else:
        story.append(_p("Chưa có khách hàng nào nhận quà.", _TEXT))
    return _build(story, out, stock_title(info))


RENDERERS: dict[str, Callable[..., int]] = {
    "progress": render_progress,
    "survey": render_survey,
    "stock": render_stock,
}
"""Report kind -> renderer(report, out, *, settings, user) -> pages."""
