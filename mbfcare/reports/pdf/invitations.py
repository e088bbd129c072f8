"""Giấy mời nhận quà: the invitation of a store pick-up customer (group 2), one per page."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import BinaryIO

from reportlab.pdfgen.canvas import Canvas

from mbfcare.domain.values import format_msisdn
from mbfcare.reports.pdf import fonts
from mbfcare.reports.pdf.data import FormSettings, InvitationData
from mbfcare.reports.pdf.layout import (
    BOTTOM,
    LEADING,
    LEFT,
    RIGHT,
    WIDTH,
    QrDrawn,
    Rendered,
    draw_centred,
    draw_code,
    draw_header,
    draw_title,
    fit_size,
    labelled,
    new_canvas,
    paragraph,
)

TITLE = "Giấy mời nhận quà"


def _fill(template: str, values: dict[str, str]) -> str:
    """The template with its {placeholders} replaced (unknown ones are left as written)."""
    for key, value in values.items():
        template = template.replace("{" + key + "}", value)
    return template


def draw_invitation(canvas: Canvas, data: InvitationData, settings: FormSettings) -> QrDrawn:
    """Draw one invitation on the current page (the caller shows it)."""
    words = settings.invitation
    customer = data.customer
    y = draw_header(canvas, settings, customer.province,
                    number=f"{data.printed.number}/{settings.numbers['invitation']}",
                    day=data.on)
    y = draw_title(canvas, y, words["title"], words["subtitle"], size=16)
    who = f"Ông/Bà {customer.name}" if customer.name else "Quý khách"
    y = labelled(canvas, LEFT + 40, y, "Kính gửi", who, width=WIDTH - 40, bold_value=True)
    y = labelled(canvas, LEFT + 40, y, "Số thuê bao", format_msisdn(customer.msisdn),
                 width=WIDTH - 40)
    y -= 6
    gift = data.gift_type + (f" (một trong các món: {', '.join(data.items)})"
                             if len(data.items) > 1 else
                             f" ({data.items[0]})" if data.items else "")
    values = {"name": customer.name, "programme": data.programme, "gift": gift,
              "store": data.store.name, "batch": str(data.batch)}
    y = paragraph(canvas, LEFT, y, _fill(words["body"], values), indent=18)
    y -= 6
    # The store, boxed so that it reads at a glance.
    lines = [("Địa điểm nhận quà", data.store.name), ("Địa chỉ", data.store.address),
             ("Thời gian", data.store.hours)]
    top = y + 14
    for label, value in lines:
        y = labelled(canvas, LEFT + 14, y, label, value, width=WIDTH - 28,
                     bold_value=label == "Địa điểm nhận quà")
    canvas.setLineWidth(0.8)
    canvas.rect(LEFT, y + LEADING - 8, WIDTH, top - (y + LEADING - 8), stroke=1, fill=0)
    y -= 10
    y = paragraph(canvas, LEFT, y, _fill(words["bring"], values), indent=18)
    y = paragraph(canvas, LEFT, y, _fill(words["closing"], values), indent=18,
                  font=fonts.SERIF_ITALIC)
    # "TM. <branch>" over the signer's title, right half (the decree's signature block).
    centre = (LEFT + WIDTH / 2 + RIGHT) / 2
    branch = f"TM. {settings.branch(customer.province)}"
    draw_centred(canvas, centre, y - 14, branch, font=fonts.SERIF_BOLD,
                 size=fit_size(branch, fonts.SERIF_BOLD, 13, WIDTH / 2))
    draw_centred(canvas, centre, y - 30, settings.titles["invitation_signer"],
                 font=fonts.SERIF_BOLD)
    return draw_code(canvas, data.printed, LEFT, BOTTOM)


def render_invitations(docs: Iterable[InvitationData], out: BinaryIO | str, *,
                       settings: FormSettings,
                       on_document: Callable[[int], None] | None = None) -> Rendered:
    """Write one invitation page per document; returns pages and QR payloads."""
    canvas = new_canvas(out, title=TITLE)
    payloads: list[str] = []
    for data in docs:
        payloads.append(draw_invitation(canvas, data, settings).payload)
        canvas.showPage()
        if on_document is not None:
            on_document(len(payloads))
    canvas.save()
    return Rendered(len(payloads), len(payloads), tuple(payloads))

