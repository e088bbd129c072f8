"""The bundled font: Liberation Serif 2.x with every Vietnamese letter, and its licence."""

from __future__ import annotations

import pytest

from mbfcare.paths import resource_file
from mbfcare.reports.pdf import fonts

# The letters the issue lists, lower case; upper case is checked too.
LISTED = "ạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹđĐ"


@pytest.mark.parametrize("face", sorted(fonts.FACES))
def test_every_vietnamese_letter_has_a_glyph(face: str) -> None:
    assert fonts.missing_letters(face) == ""
    listed = LISTED
    assert fonts.missing_letters(face, listed + listed.upper()) == ""
    assert set(listed) <= set(fonts.VIETNAMESE_LETTERS)
    assert len(fonts.VIETNAMESE_LETTERS) == 134  # 67 letters with marks, both cases


def test_decomposed_text_is_checked_composed() -> None:
    assert fonts.missing_letters(fonts.SERIF, "Nguye\u0302\u0303n") == ""


def test_font_files_and_licence_are_bundled() -> None:
    for file in fonts.FACES.values():
        data = resource_file("fonts", file).read_bytes()
        # Version 2.x in the name table (1.x lacks the letters with two marks).
        assert "Version 2.".encode("utf-16-be") in data
    licence = resource_file("fonts", "LICENSE").read_text(encoding="utf-8")
    assert "SIL OPEN FONT LICENSE Version 1.1" in licence
    assert "Reserved Font Name Liberation" in licence
