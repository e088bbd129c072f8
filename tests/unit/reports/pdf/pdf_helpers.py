"""Reading back the PDFs the tests write: text (pypdf), pages, the fonts and their embedding."""

from __future__ import annotations

import io
import re
import unicodedata
from pathlib import Path
from typing import Any

from pypdf import PdfReader

SUBSET = re.compile(r"^/?[A-Z]{6}\+LiberationSerif(-Bold|-Italic|-BoldItalic)?$")


def reader(pdf: bytes | Path) -> PdfReader:
    return PdfReader(io.BytesIO(pdf) if isinstance(pdf, bytes) else pdf)


def page_texts(pdf: bytes | Path) -> list[str]:
    """The text of every page, checked to come out NFC, with runs of white space made one
    space (a label and its value in another face come out on two lines)."""
    texts = [page.extract_text() or "" for page in reader(pdf).pages]
    for text in texts:
        assert unicodedata.is_normalized("NFC", text), text[:200]
    return [" ".join(text.split()) for text in texts]


def fonts_of(pdf: bytes | Path) -> dict[str, bool]:
    """Every font the pages use: base name -> embedded (has a font file)."""
    found: dict[str, bool] = {}
    for page in reader(pdf).pages:
        resources: Any = page.get("/Resources") or {}
        for ref in (resources.get("/Font") or {}).values():
            font = ref.get_object()
            descriptor = font.get("/FontDescriptor")
            embedded = descriptor is not None and any(
                key in descriptor.get_object() for key in ("/FontFile", "/FontFile2",
                                                           "/FontFile3"))
            found[str(font["/BaseFont"])] = embedded
    return found


def assert_embedded_liberation(pdf: bytes | Path) -> None:
    """Only embedded subsets of Liberation Serif: no base-14 font sneaked in."""
    found = fonts_of(pdf)
    assert found, "no fonts"
    for name, embedded in found.items():
        assert SUBSET.match(name), name
        assert embedded, name
