"""The bundled Times-metric font (Liberation Serif 2.x, SIL OFL 1.1), registered once.

Liberation 1.x lacks most Vietnamese letters with two marks; 2.x covers them all, which
`missing_letters` lets a test prove from the fonts' character maps.
"""

from __future__ import annotations

import threading
import unicodedata

from reportlab.lib.fonts import addMapping
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from mbfcare.paths import resource_file

SERIF = "LiberationSerif"
SERIF_BOLD = "LiberationSerif-Bold"
SERIF_ITALIC = "LiberationSerif-Italic"
SERIF_BOLD_ITALIC = "LiberationSerif-BoldItalic"
FACES = {
    SERIF: "LiberationSerif-Regular.ttf",
    SERIF_BOLD: "LiberationSerif-Bold.ttf",
    SERIF_ITALIC: "LiberationSerif-Italic.ttf",
    SERIF_BOLD_ITALIC: "LiberationSerif-BoldItalic.ttf",
}

#: Every Vietnamese letter outside ASCII, lower case then upper case.
_LOWER = ("àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ")
VIETNAMESE_LETTERS = _LOWER + _LOWER.upper()

_lock = threading.Lock()
_registered = False


def register() -> None:
    """Register the four faces and their family with reportlab (once per process)."""
    global _registered
    with _lock:
        if _registered:
            return
        for name, file in FACES.items():
            pdfmetrics.registerFont(TTFont(name, str(resource_file("fonts", file))))
        pdfmetrics.registerFontFamily(SERIF, normal=SERIF, bold=SERIF_BOLD, italic=SERIF_ITALIC,
                                      boldItalic=SERIF_BOLD_ITALIC)
        for bold, italic, face in ((0, 0, SERIF), (1, 0, SERIF_BOLD), (0, 1, SERIF_ITALIC),
                                   (1, 1, SERIF_BOLD_ITALIC)):
            addMapping(SERIF, bold, italic, face)
        _registered = True


def missing_letters(face: str, text: str = VIETNAMESE_LETTERS) -> str:
    """The characters of `text` (NFC) the face has no glyph for (empty when all are there)."""
    register()
    font = pdfmetrics.getFont(face)
    cmap = font.face.charToGlyph
    return "".join(c for c in unicodedata.normalize("NFC", text) if ord(c) not in cmap)
