"""The page of an administrative document (Nghị định 30/2020/NĐ-CP, Phụ lục I) on a canvas.

A4 portrait; margins top 20 mm, bottom 20 mm, left 30 mm, right 15 mm. Top left: the
organisation block (parent bodies, then the branch in bold, underlined) and the document's
number under it; top right: the national motto (underlined) and the italic place-and-date
line; then the centred bold title, the body, the signature blocks. Every text is drawn NFC
(reportlab misplaces the marks of decomposed text). The QR code is drawn from segno's matrix
as run-length rectangles in a single path, which is what keeps 10,000 receipts fast.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, BinaryIO

import segno
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from mbfcare.reports.pdf import fonts
from mbfcare.reports.pdf.data import FormSettings, Printed

PAGE_WIDTH: float = float(A4[0])
PAGE_HEIGHT: float = float(A4[1])
MARGIN_TOP: float = 20 * mm
MARGIN_BOTTOM: float = 20 * mm
MARGIN_LEFT: float = 30 * mm
MARGIN_RIGHT: float = 15 * mm
LEFT: float = MARGIN_LEFT
RIGHT: float = PAGE_WIDTH - MARGIN_RIGHT
TOP: float = PAGE_HEIGHT - MARGIN_TOP
BOTTOM: float = MARGIN_BOTTOM
WIDTH = RIGHT - LEFT
# The two header columns: the organisation's (left) and the motto's (right).
_ORG_WIDTH = 200.0
ORG_CENTRE = LEFT + _ORG_WIDTH / 2
MOTTO_CENTRE = (LEFT + _ORG_WIDTH + RIGHT) / 2
_MOTTO_WIDTH = RIGHT - LEFT - _ORG_WIDTH

BODY_SIZE = 13.0
LEADING = 18.0
DOTS = "…" * 3
MOTTO = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO_2 = "Độc lập - Tự do - Hạnh phúc"
SIGN_HINT = "(Ký, ghi rõ họ tên)"
QR_SIZE: float = 24 * mm

__all__ = [
    "BODY_SIZE",
    "BOTTOM",
    "LEADING",
    "LEFT",
    "QR_SIZE",
    "RIGHT",
    "TOP",
    "WIDTH",
    "QrDrawn",
    "Rendered",
    "box",
    "boxes",
    "date_line",
    "draw_centred",
    "draw_code",
    "draw_header",
    "draw_qr",
    "draw_text",
    "draw_title",
    "fit_size",
    "labelled",
    "new_canvas",
    "nfc",
    "paragraph",
    "qr_matrix",
    "signature_blocks",
    "text_width",
    "wrap",
]


def nfc(text: str) -> str:
    """Text in composed form: reportlab places the marks of NFD text wrongly."""
    return unicodedata.normalize("NFC", text)


def new_canvas(out: BinaryIO | str, *, title: str, author: str = "MBF Care") -> Canvas:
    """An A4 canvas whose initial font is the bundled serif, so that no base-14 Helvetica is
    put into the PDF unembedded."""
    fonts.register()
    canvas = Canvas(out, pagesize=A4, initialFontName=fonts.SERIF,
                    initialFontSize=BODY_SIZE, pageCompression=1)
    canvas.setTitle(nfc(title))
    canvas.setAuthor(author)
    canvas.setCreator("MBF Care")
    return canvas


@lru_cache(maxsize=4096)
def text_width(text: str, font: str, size: float) -> float:
    """The width of `text` in points (cached: headers and labels repeat on every page)."""
    return float(stringWidth(text, font, size))


def fit_size(text: str, font: str, size: float, width: float, smallest: float = 8.0) -> float:
    """The largest size up to `size` at which `text` fits `width` (not below `smallest`)."""
    while size > smallest and text_width(text, font, size) > width:
        size -= 0.5
    return size


def wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """`text` broken into lines that fit `width`, at spaces (a word longer than the line is
    kept whole)."""
    lines: list[str] = []
    for paragraph in nfc(text).splitlines() or [""]:
        words = paragraph.split()
        line = ""
        for word in words:
            candidate = f"{line} {word}" if line else word
            if not line or stringWidth(candidate, font, size) <= width:
                line = candidate
            else:
                lines.append(line)
                line = word
        lines.append(line)
    return lines


def draw_text(canvas: Canvas, x: float, y: float, text: str, *, font: str = fonts.SERIF,
              size: float = BODY_SIZE) -> float:
    """Draw one line at (x, y) (baseline); returns the x where it ends."""
    text = nfc(text)
    canvas.setFont(font, size)
    canvas.drawString(x, y, text)
    return x + text_width(text, font, size)


def draw_centred(canvas: Canvas, x: float, y: float, text: str, *, font: str = fonts.SERIF,
                 size: float = BODY_SIZE, underline: float = 0.0) -> float:
    """Draw one line centred on x; `underline` (0–1) draws a rule under that share of it.

    Returns the width of the text.
    """
    text = nfc(text)
    canvas.setFont(font, size)
    canvas.drawCentredString(x, y, text)
    width = text_width(text, font, size)
    if underline:
        half = width * underline / 2
        canvas.setLineWidth(0.6)
        canvas.line(x - half, y - 4.5, x + half, y - 4.5)
    return width


def date_line(place: str, day: dt.date | None) -> str:
    """"Hải Phòng, ngày 05 tháng 9 năm 2017" (a day below 10 and the months 1 and 2 take a
    leading zero, as the decree says); dotted blanks to fill by hand when `day` is None."""
    if day is None:
        return f"{place}, ngày {DOTS} tháng {DOTS} năm {DOTS}"
    month = f"{day.month:02d}" if day.month < 3 else str(day.month)
    return f"{place}, ngày {day.day:02d} tháng {month} năm {day.year}"


def draw_header(canvas: Canvas, settings: FormSettings, province: str, *,
                number: str | None, day: dt.date | None, dated: bool = True) -> float:
    """The organisation block, the motto, the number and the place-and-date line.

    Returns the y below the header where the title goes.
    """
    y = TOP - 11
    lines = [*settings.organisation]
    for line in lines:
        size = fit_size(line, fonts.SERIF, 12, _ORG_WIDTH)
        draw_centred(canvas, ORG_CENTRE, y, line, size=size)
        y -= 15
    branch = settings.branch(province)
    size = fit_size(branch, fonts.SERIF_BOLD, 12, _ORG_WIDTH)
    draw_centred(canvas, ORG_CENTRE, y, branch, font=fonts.SERIF_BOLD, size=size, underline=0.4)
    org_bottom = y
    motto_y = TOP - 11
    size = fit_size(MOTTO, fonts.SERIF_BOLD, 12, _MOTTO_WIDTH)
    draw_centred(canvas, MOTTO_CENTRE, motto_y, MOTTO, font=fonts.SERIF_BOLD, size=size)
    draw_centred(canvas, MOTTO_CENTRE, motto_y - 15, MOTTO_2, font=fonts.SERIF_BOLD, size=13,
                 underline=1.0)
    y = min(org_bottom, motto_y - 15) - 22
    if number is not None:
        draw_centred(canvas, ORG_CENTRE, y, f"Số: {number}", size=13)
    if dated:
        line = date_line(settings.place(province), day)
        size = fit_size(line, fonts.SERIF_ITALIC, 13, _MOTTO_WIDTH)
        draw_centred(canvas, MOTTO_CENTRE, y, line, font=fonts.SERIF_ITALIC, size=size)
    return y - 34


def draw_title(canvas: Canvas, y: float, title: str, subtitle: str = "", *,
               size: float = 14) -> float:
    """The bold centred title (and a bold subtitle); returns the y below it."""
    centre = (LEFT + RIGHT) / 2
    for line in wrap(title.upper(), fonts.SERIF_BOLD, size, WIDTH):
        draw_centred(canvas, centre, y, line, font=fonts.SERIF_BOLD, size=size)
        y -= size + 4
    if subtitle:
        for line in wrap(subtitle, fonts.SERIF_BOLD, 13, WIDTH):
            draw_centred(canvas, centre, y, line, font=fonts.SERIF_BOLD, size=13)
            y -= 17
    return y - 10


def signature_blocks(canvas: Canvas, y: float, blocks: Sequence[tuple[str, str]], *,
                     hint: str = SIGN_HINT, left: float = LEFT,
                     right: float = RIGHT) -> float:
    """Signature blocks side by side at y, between `left` and `right`: (title, name printed
    under the space, may be "").

    Returns the y below the names.
    """
    step = (right - left) / len(blocks)
    for index, (title, name) in enumerate(blocks):
        centre = left + step * (index + 0.5)
        draw_centred(canvas, centre, y, title, font=fonts.SERIF_BOLD,
                     size=fit_size(title, fonts.SERIF_BOLD, 13, step - 6))
        draw_centred(canvas, centre, y - 15, hint, font=fonts.SERIF_ITALIC, size=12)
        if name:
            draw_centred(canvas, centre, y - 90, name, font=fonts.SERIF_BOLD,
                         size=fit_size(name, fonts.SERIF_BOLD, 13, step - 6))
    return y - 100


def box(canvas: Canvas, x: float, y: float, size: float = 10.0, *, ticked: bool = False) -> None:
    """A check box with its lower left corner at (x, y); ticked draws an X in it."""
    canvas.setLineWidth(0.8)
    canvas.rect(x, y, size, size, stroke=1, fill=0)
    if ticked:
        canvas.setLineWidth(1.2)
        canvas.line(x + 2, y + 2, x + size - 2, y + size - 2)
        canvas.line(x + 2, y + size - 2, x + size - 2, y + 2)


def boxes(canvas: Canvas, x: float, y: float, count: int, size: float = 16.0,
          text: str = "") -> float:
    """A row of `count` character boxes (CCCD digits, dates), optionally filled with `text`;
    returns the x after the last box."""
    canvas.setLineWidth(0.8)
    canvas.rect(x, y, size * count, size, stroke=1, fill=0)
    for index in range(1, count):
        canvas.line(x + size * index, y, x + size * index, y + size)
    if text:
        canvas.setFont(fonts.SERIF, size * 0.75)
        for index, char in enumerate(text[:count]):
            canvas.drawCentredString(x + size * (index + 0.5), y + size * 0.22, char)
    return x + size * count


# --------------------------------------------------------------------------- QR code


@dataclass(frozen=True)
class QrDrawn:
    """What a QR drawing put on the page: the payload, its module count and where."""

    payload: str
    modules: int
    x: float
    y: float
    size: float


def qr_matrix(payload: str) -> tuple[Any, ...]:
    """The QR modules of `payload` (rows of 0/1), error correction M.

    The mask is fixed (pattern 2) rather than chosen by scoring all eight: scoring is 80% of
    segno's time for such a short payload, and a decoder reads every mask alike.
    """
    return tuple(segno.make(payload, error="m", mask=2, boost_error=False, micro=False).matrix)


def draw_qr(canvas: Canvas, payload: str, x: float, y: float,
            size: float = QR_SIZE) -> QrDrawn:
    """Draw the QR of `payload` with its lower left corner at (x, y), `size` wide, as one
    filled path of horizontal runs of dark modules. Leave 4 modules of white around it.

    The path is written as PDF operators in one literal (`re` per run, one `f`): reportlab's
    path object formats each number through its generic helper, which cost twice as much.
    """
    matrix = qr_matrix(payload)
    count = len(matrix)
    module = size / count
    top = y + size
    ops: list[str] = []
    for row_index, row in enumerate(matrix):
        row_y = f"{top - (row_index + 1) * module:.3f}"
        start = -1
        for col, dark in enumerate(row):
            if dark and start < 0:
                start = col
            elif not dark and start >= 0:
                ops.append(f"{x + start * module:.3f} {row_y} {(col - start) * module:.3f} "
                           f"{module:.3f} re")
                start = -1
        if start >= 0:
            ops.append(f"{x + start * module:.3f} {row_y} {(count - start) * module:.3f} "
                       f"{module:.3f} re")
    canvas.setFillGray(0)
    canvas.addLiteral("\n".join(ops) + "\nf")
    return QrDrawn(payload, count, x, y, size)


def draw_code(canvas: Canvas, printed: Printed, x: float, y: float,
              size: float = QR_SIZE, *, qr: bool = True) -> QrDrawn:
    """The QR of a printed copy at (x, y) and, beside it, the check code to type instead.

    `qr=False` leaves the QR out (the benchmark's bare page).
    """
    drawn = draw_qr(canvas, printed.code, x, y, size) if qr else \
        QrDrawn(printed.code, 0, x, y, size)
    text_x = x + size + 6
    draw_text(canvas, text_x, y + size - 12, "Mã kiểm tra:", font=fonts.SERIF_ITALIC, size=10)
    draw_text(canvas, text_x, y + size - 28, printed.check, font=fonts.SERIF_BOLD, size=13)
    draw_text(canvas, text_x, y + size - 42, "Quét mã QR hoặc gõ mã kiểm tra", size=9)
    draw_text(canvas, text_x, y + size - 53, "khi ghi nhận tại MBF Care.", size=9)
    return drawn


@dataclass(frozen=True)
class Rendered:
    """What a rendering wrote: its pages and the QR payloads drawn, in order."""

    pages: int
    documents: int
    payloads: tuple[str, ...]


def labelled(canvas: Canvas, x: float, y: float, label: str, value: str, *,
             width: float, size: float = BODY_SIZE, bold_value: bool = False) -> float:
    """"Label: value" at (x, y), the value wrapped under itself within `width`; an empty
    value is a dotted line to fill by hand. Returns the y of the next line."""
    end = draw_text(canvas, x, y, f"{label}: ", size=size)
    font = fonts.SERIF_BOLD if bold_value and value else fonts.SERIF
    if not value:
        dots_width = text_width("…", fonts.SERIF, size)
        count = max(int((x + width - end) / dots_width), 3)
        draw_text(canvas, end, y, "…" * count, size=size)
        return y - LEADING
    lines = wrap(value, font, size, x + width - end)
    for line in lines:
        draw_text(canvas, end, y, line, font=font, size=size)
        y -= LEADING
    return y


def paragraph(canvas: Canvas, x: float, y: float, text: str, *, width: float = WIDTH,
              font: str = fonts.SERIF, size: float = BODY_SIZE, indent: float = 0.0,
              leading: float = LEADING) -> float:
    """A wrapped paragraph (first line indented); returns the y of the next line."""
    lines = wrap(text, font, size, width - indent)
    for index, line in enumerate(lines):
        draw_text(canvas, x + (indent if index == 0 else 0), y, line, font=font, size=size)
        y -= leading
    return y
