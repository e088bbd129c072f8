"""Phiếu khảo sát ý kiến khách hàng and phiếu thu thập thông tin khách hàng, streamed.

The survey prints the programme's survey definition in its own order (the order of the
entry grid the clerks type the answers into): check boxes for choices, boxes 1–5 for scales,
ruled lines for free text. A form of a customer carries their name and number and the QR of
the printed copy; a blank form has lines to fill instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import BinaryIO

from reportlab.pdfgen.canvas import Canvas

from mbfcare.domain.survey import SCALE_MAX, SCALE_MIN, Question, SurveyDefinition
from mbfcare.domain.values import format_msisdn
from mbfcare.reports.pdf import fonts
from mbfcare.reports.pdf.data import FormSettings, InfoFormData, SurveyData
from mbfcare.reports.pdf.layout import (
    BOTTOM,
    LEADING,
    LEFT,
    RIGHT,
    TOP,
    WIDTH,
    QrDrawn,
    Rendered,
    box,
    boxes,
    draw_code,
    draw_header,
    draw_text,
    draw_title,
    labelled,
    new_canvas,
    paragraph,
    signature_blocks,
    text_width,
    wrap,
)

SURVEY_TITLE = "Phiếu khảo sát ý kiến khách hàng"
INFO_TITLE = "Phiếu thu thập thông tin khách hàng"
_SIZE = 12.0
_LEAD = 16.0
_BOX = 10.0
_KIND_HINTS = {"single": "(chọn một)", "multiple": "(có thể chọn nhiều)"}
_SIGN_HEIGHT = 112.0
_QR_ZONE = 160.0  # the QR and its check code, left of the signatures


class _Pages:
    """Page breaks of one form: questions stop above the signature zone at the bottom."""

    def __init__(self, canvas: Canvas) -> None:
        self.canvas = canvas
        self.bottom = BOTTOM + _SIGN_HEIGHT
        self.pages = 1

    def need(self, y: float, height: float) -> float:
        """The y to draw `height` points at: `y`, or the top of a new page."""
        if y - height >= self.bottom:
            return y
        self.canvas.showPage()
        self.pages += 1
        return TOP - 10


def _choice_rows(options: tuple[str, ...], width: float) -> list[list[str]]:
    """Options laid out in as many columns as fit (1, 2 or 3)."""
    widest = max(text_width(o, fonts.SERIF, _SIZE) for o in options) + _BOX + 10
    columns = 3 if widest * 3 <= width else 2 if widest * 2 <= width else 1
    return [list(options[i:i + columns]) for i in range(0, len(options), columns)]


def _question(pages: _Pages, y: float, number: int, question: Question) -> float:
    canvas = pages.canvas
    x = LEFT + 10
    width = RIGHT - x
    hint = _KIND_HINTS.get(question.kind, "")
    if "chọn" in question.text.lower():  # the question says it already
        hint = ""
    head = wrap(f"Câu {number}. {question.text} {hint}".strip(), fonts.SERIF_BOLD, _SIZE, WIDTH)
    y = pages.need(y, len(head) * _LEAD + _LEAD)
    for line in head:
        draw_text(canvas, LEFT, y, line, font=fonts.SERIF_BOLD, size=_SIZE)
        y -= _LEAD
    if question.kind == "scale":
        end = x
        if question.low:
            end = draw_text(canvas, x, y, question.low, font=fonts.SERIF_ITALIC, size=_SIZE) + 10
        for value in range(SCALE_MIN, SCALE_MAX + 1):
            end = draw_text(canvas, end, y, str(value), size=_SIZE) + 3
            box(canvas, end, y - 1, _BOX)
            end += _BOX + 12
        if question.high:
            draw_text(canvas, end, y, question.high, font=fonts.SERIF_ITALIC, size=_SIZE)
        return y - _LEAD - 4
    if question.kind in ("single", "multiple"):
        rows = _choice_rows(question.options, width)
        column = width / len(rows[0])
        for row in rows:
            y = pages.need(y, _LEAD)
            tall = False
            for index, option in enumerate(row):
                cx = x + index * column
                box(canvas, cx, y - 1, _BOX)
                lines = wrap(option, fonts.SERIF, _SIZE, column - _BOX - 10)[:2]
                tall = tall or len(lines) > 1
                for k, line in enumerate(lines):
                    draw_text(canvas, cx + _BOX + 5, y - k * 13, line, size=_SIZE)
            y -= _LEAD + (13 if tall else 0)
        return y - 4
    for _ in range(2):
        y = pages.need(y, _LEAD + 4)
        canvas.setDash(1, 2)
        canvas.line(x, y - 4, RIGHT, y - 4)
        canvas.setDash()
        y -= _LEAD + 2
    return y - 4


def draw_survey(canvas: Canvas, data: SurveyData, definition: SurveyDefinition,
                settings: FormSettings) -> tuple[int, QrDrawn | None]:
    """Draw one survey form from the current page on; returns its pages and the QR drawn.

    The QR sits at the bottom left of the first page, the signatures at the bottom right of
    the last one. Every page is shown (the caller starts the next form on a fresh page).
    """
    drawn = draw_code(canvas, data.printed, LEFT, BOTTOM) if data.printed else None
    pages = _Pages(canvas)
    y = draw_header(canvas, settings, data.province, number=None, day=None)
    y = draw_title(canvas, y, definition.title or SURVEY_TITLE,
                   f"{data.programme}" + (f" – Đợt {data.batch}" if data.batch else ""))
    if definition.intro.strip():
        y = paragraph(canvas, LEFT, y + 4, " ".join(definition.intro.split()),
                      font=fonts.SERIF_ITALIC, size=_SIZE, leading=_LEAD, indent=18) - 4
    customer = data.customer
    half = WIDTH / 2
    y = labelled(canvas, LEFT, y, "Họ tên khách hàng", customer.name if customer else "",
                 width=WIDTH, size=_SIZE, bold_value=True) + LEADING - _LEAD
    labelled(canvas, LEFT, y, "Số thuê bao",
             format_msisdn(customer.msisdn) if customer else "", width=half, size=_SIZE)
    y = labelled(canvas, LEFT + half, y, "Ngày khảo sát", "", width=half,
                 size=_SIZE) + LEADING - _LEAD - 4
    for number, question in enumerate(definition.questions, 1):
        y = _question(pages, y, number, question)
    y = pages.need(y, _LEAD)
    draw_text(canvas, LEFT, y, "Xin trân trọng cảm ơn Quý khách!", font=fonts.SERIF_ITALIC,
              size=_SIZE)
    signature_blocks(canvas, BOTTOM + _SIGN_HEIGHT - 16,
                     [(settings.titles["surveyor"], ""),
                      (settings.titles["customer"], customer.name if customer else "")],
                     left=LEFT + _QR_ZONE, right=RIGHT)
    canvas.showPage()
    return pages.pages, drawn


def render_surveys(forms: Iterable[SurveyData], out: BinaryIO | str, *,
                   definition: SurveyDefinition, settings: FormSettings,
                   on_document: Callable[[int], None] | None = None) -> Rendered:
    """Write the survey forms (each from a new page); returns pages and QR payloads."""
    canvas = new_canvas(out, title=SURVEY_TITLE)
    pages = documents = 0
    payloads: list[str] = []
    for data in forms:
        count, drawn = draw_survey(canvas, data, definition, settings)
        pages += count
        documents += 1
        if drawn is not None:
            payloads.append(drawn.payload)
        if on_document is not None:
            on_document(documents)
    canvas.save()
    return Rendered(pages, documents, tuple(payloads))


# --------------------------------------------------------------------------- info form

_CCCD_DIGITS = 12


def draw_info_form(canvas: Canvas, data: InfoFormData, settings: FormSettings) -> QrDrawn | None:
    """Draw one information collection form on the current page (the caller shows it)."""
    drawn = draw_code(canvas, data.printed, LEFT, BOTTOM) if data.printed else None
    y = draw_header(canvas, settings, data.province, number=None, day=None)
    y = draw_title(canvas, y, INFO_TITLE, f"{data.programme}"
                   + (f" – Đợt {data.batch}" if data.batch else ""))
    y = paragraph(canvas, LEFT, y, "Để chuẩn hóa thông tin thuê bao theo quy định và bảo đảm "
                  "quyền lợi của Quý khách, đề nghị Quý khách điền đầy đủ, rõ ràng các thông "
                  "tin dưới đây (viết chữ in hoa có dấu).", font=fonts.SERIF_ITALIC, indent=18)
    y -= 6
    customer = data.customer
    y = labelled(canvas, LEFT, y, "Số thuê bao",
                 format_msisdn(customer.msisdn) if customer else "", width=WIDTH,
                 bold_value=True)
    if data.missing:
        y = labelled(canvas, LEFT, y, "Cần bổ sung", ", ".join(data.missing), width=WIDTH)
    y -= 8
    draw_text(canvas, LEFT, y, "1. Họ và tên:", font=fonts.SERIF_BOLD)
    canvas.setLineWidth(0.8)
    canvas.rect(LEFT + 90, y - 7, WIDTH - 90, 24, stroke=1, fill=0)
    y -= 24
    if customer and customer.name:
        draw_text(canvas, LEFT + 90, y, f"(Trên hệ thống: {customer.name})",
                  font=fonts.SERIF_ITALIC, size=10)
    y -= 26
    draw_text(canvas, LEFT, y, "2. Số CCCD:", font=fonts.SERIF_BOLD)
    boxes(canvas, LEFT + 90, y - 6, _CCCD_DIGITS, 20)
    y -= 20
    draw_text(canvas, LEFT + 90, y - 2, "(12 số; khách hàng còn dùng CMND 9 số: ghi vào 9 ô "
              "đầu)", font=fonts.SERIF_ITALIC, size=10)
    y -= 32
    draw_text(canvas, LEFT, y, "3. Ngày sinh:", font=fonts.SERIF_BOLD)
    x = boxes(canvas, LEFT + 90, y - 6, 2, 20)
    draw_text(canvas, x + 3, y, "/")
    x = boxes(canvas, x + 12, y - 6, 2, 20)
    draw_text(canvas, x + 3, y, "/")
    boxes(canvas, x + 12, y - 6, 4, 20)
    y -= 40
    draw_text(canvas, LEFT, y, "4. Địa chỉ thường trú:", font=fonts.SERIF_BOLD)
    y -= 10
    for _ in range(3):
        y -= 22
        canvas.setDash(1, 2)
        canvas.line(LEFT, y, RIGHT, y)
        canvas.setDash()
    y -= 26
    y = paragraph(canvas, LEFT, y, "Tôi xin cam đoan các thông tin trên là đúng sự thật và "
                  "đồng ý để MobiFone cập nhật thông tin thuê bao theo quy định.", indent=18)
    signature_blocks(canvas, y - 12, [(settings.titles["collector"], ""),
                                      (settings.titles["customer"], "")])
    return drawn


def render_info_forms(forms: Iterable[InfoFormData], out: BinaryIO | str, *,
                      settings: FormSettings,
                      on_document: Callable[[int], None] | None = None) -> Rendered:
    """Write one information form page per document; returns pages and QR payloads."""
    canvas = new_canvas(out, title=INFO_TITLE)
    documents = 0
    payloads: list[str] = []
    for data in forms:
        drawn = draw_info_form(canvas, data, settings)
        canvas.showPage()
        documents += 1
        if drawn is not None:
            payloads.append(drawn.payload)
        if on_document is not None:
            on_document(documents)
    canvas.save()
    return Rendered(documents, documents, tuple(payloads))
