"""Danh sách khách hàng ký nhận quà: one list per store (pick-up) or district (home visits).

Each list starts on a new page with the administrative header, then a table whose header row
repeats on every page (platypus LongTable, repeatRows), the totals and the signatures; the
pages of each list are numbered "Trang x/y" on their own.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, BinaryIO

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    CondPageBreak,
    Flowable,
    Frame,
    KeepTogether,
    LongTable,
    NextPageTemplate,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    TableStyle,
)

from mbfcare.domain.values import format_date, format_msisdn
from mbfcare.reports.pdf import fonts
from mbfcare.reports.pdf.data import FormSettings, SignatureSection
from mbfcare.reports.pdf.layout import (
    BOTTOM,
    LEFT,
    MARGIN_BOTTOM,
    MARGIN_LEFT,
    MARGIN_RIGHT,
    MARGIN_TOP,
    PAGE_WIDTH,
    TOP,
    WIDTH,
    Rendered,
    draw_header,
    draw_title,
    nfc,
    signature_blocks,
)

TITLE = "Danh sách khách hàng ký nhận quà"
HEADERS = ("STT", "Họ tên", "Số thuê bao", "Địa chỉ", "Quà", "Ngày nhận", "Ký nhận")
# Column widths in points; they add up to the width between the margins (467.7 pt).
_WIDTHS = (26.0, 92.0, 64.0, 100.0, 72.0, 56.0, 57.7)
_HEADER_SPACE = 168.0  # the administrative header and the title, on a list's first page
_SIGN_SPACE = 140.0

_CELL = ParagraphStyle("cell", fontName=fonts.SERIF, fontSize=10, leading=12)
_CELL_CENTRE = ParagraphStyle("cell_centre", parent=_CELL, alignment=TA_CENTER)
_HEAD = ParagraphStyle("head", parent=_CELL_CENTRE, fontName=fonts.SERIF_BOLD)
_TOTAL = ParagraphStyle("total", fontName=fonts.SERIF_BOLD, fontSize=12, leading=16)


class _Signatures(Flowable):  # type: ignore[misc]  # reportlab is untyped
    """The signature blocks at the end of a list."""

    def __init__(self, blocks: Sequence[tuple[str, str]]) -> None:
        super().__init__()
        self.blocks = tuple(blocks)

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        return WIDTH, _SIGN_SPACE - 30

    def draw(self) -> None:
        canvas: Any = self.canv
        canvas.saveState()
        canvas.translate(-LEFT, 0)
        signature_blocks(canvas, _SIGN_SPACE - 50, self.blocks)
        canvas.restoreState()


class _NumberedCanvas(Canvas):  # type: ignore[misc]  # reportlab is untyped
    """Keeps the pages until the end, to write "Trang x/y" per list (x of that list's y)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pages: list[tuple[dict[str, Any], int]] = []
        self.mbf_section = 0  # set by the first page of each list

    def showPage(self) -> None:  # noqa: N802 - reportlab's name
        self._pages.append((dict(self.__dict__), self.mbf_section))
        self._startPage()

    def save(self) -> None:
        totals = Counter(section for _, section in self._pages)
        seen: Counter[int] = Counter()
        for state, section in self._pages:
            self.__dict__.update(state)
            seen[section] += 1
            self.setFont(fonts.SERIF_ITALIC, 11)
            self.drawCentredString(PAGE_WIDTH / 2, BOTTOM - 22,
                                   f"Trang {seen[section]}/{totals[section]}")
            super().showPage()
        super().save()


def _header_of(sections: Sequence[SignatureSection],
               settings: FormSettings) -> Callable[[Canvas, Any], None]:
    count = [0]

    def on_first_page(canvas: Canvas, doc: Any) -> None:
        # Called at the start of each list's first page (its frame starts lower).
        index = count[0]
        count[0] += 1
        canvas_any: Any = canvas
        canvas_any.mbf_section = index
        section = sections[index]
        y = draw_header(canvas, settings, section.province,
                        number=f"{section.number}/{settings.numbers['signature_list']}",
                        day=section.on)
        draw_title(canvas, y, TITLE, f"{section.programme} – Đợt {section.batch} "
                   f"(tháng {section.care_month})\n{section.place}")
    return on_first_page


def _table(section: SignatureSection) -> LongTable:
    rows: list[list[Any]] = [[Paragraph(h, _HEAD) for h in HEADERS]]
    for number, line in enumerate(section.lines, 1):
        rows.append([
            Paragraph(str(number), _CELL_CENTRE), Paragraph(nfc(line.name), _CELL),
            Paragraph(format_msisdn(line.msisdn), _CELL_CENTRE),
            Paragraph(nfc(line.address), _CELL), Paragraph(nfc(line.gift), _CELL),
            Paragraph(format_date(line.given_on) if line.given_on else "", _CELL_CENTRE),
            Spacer(0, 24)])  # rows at least 30 pt high leave room to sign
    table = LongTable(rows, colWidths=_WIDTHS, repeatRows=1)
    table.setStyle(TableStyle([
        # Cells are paragraphs; the font keeps the table's own default (Helvetica) out.
        ("FONT", (0, 0), (-1, -1), fonts.SERIF, 10),
        ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.9, 0.9, 0.9)),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]))
    return table


def _totals(section: SignatureSection) -> str:
    gifts = Counter(line.gift for line in section.lines)
    given = sum(1 for line in section.lines if line.given_on)
    parts = "; ".join(f"{gift}: {count:02d}" for gift, count in sorted(gifts.items()))
    return (f"Tổng cộng: {len(section.lines):02d} khách hàng ({parts}); đã nhận quà: "
            f"{given:02d}.")


def render_signature_lists(sections: Sequence[SignatureSection], out: BinaryIO | str, *,
                           settings: FormSettings,
                           on_document: Callable[[int], None] | None = None) -> Rendered:
    """Write the lists, each from a new page; returns the pages written.

    `on_document(done)` is called after each list is laid out (progress; it may raise).
    """
    fonts.register()
    doc = BaseDocTemplate(out, pagesize=A4, leftMargin=MARGIN_LEFT, rightMargin=MARGIN_RIGHT,
                          topMargin=MARGIN_TOP, bottomMargin=MARGIN_BOTTOM, title=nfc(TITLE),
                          author="MBF Care", creator="MBF Care", initialFontName=fonts.SERIF)
    first = Frame(LEFT, BOTTOM, WIDTH, TOP - BOTTOM - _HEADER_SPACE, id="first",
                  leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
    later = Frame(LEFT, BOTTOM, WIDTH, TOP - BOTTOM, id="later",
                  leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
    doc.addPageTemplates([
        PageTemplate(id="first", frames=[first], onPage=_header_of(sections, settings),
                     autoNextPageTemplate="later"),
        PageTemplate(id="later", frames=[later])])
    story: list[Flowable] = []
    for index, section in enumerate(sections):
        if index:
            story += [NextPageTemplate("first"), PageBreak()]
        story += [_table(section), Spacer(0, 8),
                  CondPageBreak(_SIGN_SPACE + 20),
                  KeepTogether([Paragraph(_totals(section), _TOTAL), Spacer(0, 6),
                                _Signatures([(settings.titles["list_maker"], ""),
                                             (settings.titles["list_approver"], "")])])]
        if on_document is not None:
            on_document(index + 1)
    canvas_pages: list[int] = []

    class _Counting(_NumberedCanvas):
        def save(self) -> None:
            canvas_pages.append(len(self._pages))
            super().save()

    doc.build(story, canvasmaker=_Counting)
    return Rendered(canvas_pages[0] if canvas_pages else 0, len(sections), ())

