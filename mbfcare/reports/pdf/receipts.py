"""Biên bản giao nhận quà tặng: one A4 page per customer, streamed page by page.

Nothing of a page is kept once it is shown (canvas.showPage), so 10,000 receipts take the
memory of one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import BinaryIO

from reportlab.pdfgen.canvas import Canvas

from mbfcare.domain.values import format_msisdn
from mbfcare.reports.pdf import fonts
from mbfcare.reports.pdf.data import FormSettings, ReceiptData
from mbfcare.reports.pdf.layout import (
    BOTTOM,
    LEADING,
    LEFT,
    QR_SIZE,
    WIDTH,
    QrDrawn,
    Rendered,
    box,
    date_line,
    draw_code,
    draw_header,
    draw_text,
    draw_title,
    labelled,
    new_canvas,
    paragraph,
    signature_blocks,
    text_width,
)

TITLE = "Biên bản giao nhận quà tặng"
_INDENT = 18.0
_DELIVERY_WORDS = {"visit": "MobiFone đến tặng tại nhà khách hàng",
                   "store": "khách hàng nhận quà tại cửa hàng"}


def _items(canvas: Canvas, y: float, data: ReceiptData) -> float:
    """The item: named when there is one or it was given; check boxes to tick otherwise."""
    x = LEFT + _INDENT
    given = data.item_given if not data.owed else None
    if given or len(data.items) == 1:
        return labelled(canvas, x, y, "Món quà", f"{given or data.items[0]} – số lượng: 01",
                        width=WIDTH - _INDENT, bold_value=True)
    end = draw_text(canvas, x, y, "Món quà (đánh dấu món khách hàng chọn, số lượng 01): ")
    if end > LEFT + WIDTH - 40:
        y -= LEADING
    y -= LEADING
    for item in data.items:
        box(canvas, x + 8, y - 1, 10)
        draw_text(canvas, x + 24, y, item)
        y -= LEADING
    return y


def draw_receipt(canvas: Canvas, data: ReceiptData, settings: FormSettings, *,
                 qr: bool = True) -> QrDrawn:
    """Draw one receipt on the current page (the caller shows the page); `qr=False` draws
    the same page without its QR code (the benchmark's bare page)."""
    customer = data.customer
    given_on = data.given_on if not data.owed else None
    y = draw_header(canvas, settings, customer.province,
                    number=f"{data.printed.number}/{settings.numbers['receipt']}", day=given_on)
    y = draw_title(canvas, y, TITLE, f"{data.programme} – Đợt {data.batch} "
                   f"(tháng {data.care_month})")
    where = customer.store if data.delivery == "store" and customer.store else \
        "nhà khách hàng"
    today = date_line("", given_on).removeprefix(", ")
    y = paragraph(canvas, LEFT, y, f"Hôm nay, {today}, tại {where}, chúng tôi gồm:",
                  indent=_INDENT)
    y -= 2
    y = labelled(canvas, LEFT, y, "BÊN GIAO", settings.branch(customer.province),
                 width=WIDTH, bold_value=True)
    position = settings.titles["giver_position_store" if data.delivery == "store"
                               else "giver_position_visit"]
    half = WIDTH / 2
    labelled(canvas, LEFT + _INDENT, y, "Người trao", data.given_by if given_on else "",
             width=half - _INDENT)
    y = labelled(canvas, LEFT + half, y, "Chức vụ", position, width=half)
    y -= 2
    y = labelled(canvas, LEFT, y, "BÊN NHẬN", f"Ông/Bà {customer.name}" if customer.name
                 else "", width=WIDTH, bold_value=True)
    labelled(canvas, LEFT + _INDENT, y, "Số thuê bao", format_msisdn(customer.msisdn),
             width=half - _INDENT)
    y = labelled(canvas, LEFT + half, y, "Số CCCD/CMND", customer.id_number, width=half)
    y = labelled(canvas, LEFT + _INDENT, y, "Địa chỉ", customer.address, width=WIDTH - _INDENT)
    y -= 2
    y = paragraph(canvas, LEFT, y, "Bên giao trao cho bên nhận quà tặng tri ân khách hàng như "
                  "sau:", indent=_INDENT)
    group = f"Nhóm {data.group}" if data.group is not None else ""
    words = _DELIVERY_WORDS.get(data.delivery or "", "")
    y = labelled(canvas, LEFT + _INDENT, y, "Quà tặng",
                 f"{data.gift_type} ({group}{', ' + words if words else ''})",
                 width=WIDTH - _INDENT)
    y = _items(canvas, y, data)
    y = labelled(canvas, LEFT + _INDENT, y, "Chương trình",
                 f"{data.programme}, đợt {data.batch} (tháng chăm sóc {data.care_month})",
                 width=WIDTH - _INDENT)
    y -= 2
    y = paragraph(canvas, LEFT, y, "Bên nhận đã nhận đủ quà tặng nêu trên. Biên bản được lập "
                  "thành 02 bản, mỗi bên giữ 01 bản có giá trị như nhau.", indent=_INDENT)
    signature_blocks(canvas, y - 8, [
        (settings.titles["giver"], data.given_by if given_on else ""),
        (settings.titles["receiver"], customer.name)])
    return draw_code(canvas, data.printed, LEFT, BOTTOM, QR_SIZE, qr=qr)


def render_receipts(docs: Iterable[ReceiptData], out: BinaryIO | str, *,
                    settings: FormSettings,
                    on_document: Callable[[int], None] | None = None,
                    qr: bool = True) -> Rendered:
    """Write one receipt page per document; returns the pages and the QR payloads drawn.

    `on_document(done)` is called after each page (progress; it may raise to stop).
    """
    canvas = new_canvas(out, title=TITLE)
    payloads: list[str] = []
    for data in docs:
        payloads.append(draw_receipt(canvas, data, settings, qr=qr).payload)
        canvas.showPage()
        if on_document is not None:
            on_document(len(payloads))
    if not payloads:
        _empty_page(canvas, "Không có biên bản nào để in với điều kiện đã chọn.")
    canvas.save()
    return Rendered(max(len(payloads), 1), len(payloads), tuple(payloads))


def _empty_page(canvas: Canvas, text: str) -> None:
    width = text_width(text, fonts.SERIF_ITALIC, 13)
    draw_text(canvas, LEFT + (WIDTH - width) / 2, 600, text, font=fonts.SERIF_ITALIC)
    canvas.showPage()
