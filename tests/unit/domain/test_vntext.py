"""Tests for Vietnamese text cleaning, folding and TCVN3 / VNI repair."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mbfcare.domain.vntext import (
    VIETNAMESE_LETTERS,
    clean_text,
    fold,
    legacy_font_encoding,
    legacy_font_is_capitals,
    looks_tcvn3,
    looks_vni,
    plausible_syllable,
    repair_legacy,
    tcvn3_to_unicode,
    unicode_to_tcvn3,
    unicode_to_vni,
    vni_to_unicode,
)

NON_ASCII_LETTERS = [ch for ch in VIETNAMESE_LETTERS if not ch.isascii()]
TCVN3_CAPITALS = set("ĂÂÊÔƠƯĐ")

SAMPLES = [
    "Nguyễn Văn An",
    "Trần Thị Ánh Tuyết",
    "Phường Lê Lợi, TP. Hạ Long, Quảng Ninh",
    "Đường Trần Hưng Đạo",
    "Lê Thị Hồng Nhung",
    "Phạm Quốc Khánh",
    "Số 12 ngõ 34 đường Lạch Tray, quận Ngô Quyền, Hải Phòng",
    "Thôn Đông, xã Yên Thường, huyện Gia Lâm",
    "Hoàng Thị Thuỷ",
    "Vũ Đức Thắng",
    "Bùi Xuân Trường",
    "Tổ 5, phường Quang Trung, TP Thái Nguyên",
]


def tcvn3_lossy(text: str) -> str:
    """What survives a trip through the normal ABC font: accented capitals become lower case."""
    return "".join(
        ch.lower() if (not ch.isascii() and ch.isupper() and ch not in TCVN3_CAPITALS) else ch
        for ch in unicodedata.normalize("NFC", text)
    )


# --------------------------------------------------------------------------- clean / fold


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Nguyễn   Văn An ", "Nguyễn Văn An"),
        ("Nguy\u00a0ễn", "Nguy ễn"),
        ("Số\u202fthuê\u2007bao", "Số thuê bao"),
        ("Tr\u200bần", "Trần"),
        ("\ufeffHải Phòng", "Hải Phòng"),
        ("Số thuê\nbao", "Số thuê bao"),
        ("a\r\n\tb", "a b"),
        (unicodedata.normalize("NFD", "Nguyễn Văn Ánh"), "Nguyễn Văn Ánh"),
        ("", ""),
        ("   ", ""),
        ("plain ascii", "plain ascii"),
    ],
)
def test_clean_text(raw: str, expected: str) -> None:
    assert clean_text(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Nguyễn Văn An", "nguyen van an"),
        ("ĐẶNG THỊ ÁNH", "dang thi anh"),
        (unicodedata.normalize("NFD", "Quảng Ninh"), "quang ninh"),
        ("  Hải\u00a0Phòng ", "hai phong"),
        ("Müller José", "muller jose"),
        ("ABC", "abc"),
        ("Đắk Lắk", "dak lak"),
    ],
)
def test_fold(raw: str, expected: str) -> None:
    assert fold(raw) == expected


@given(st.text())
def test_fold_idempotent(text: str) -> None:
    assert fold(fold(text)) == fold(text)


@given(st.text())
def test_clean_text_is_nfc_without_double_spaces(text: str) -> None:
    out = clean_text(text)
    assert unicodedata.is_normalized("NFC", out)
    assert "  " not in out
    assert out == out.strip()
    assert "\n" not in out and "\u00a0" not in out


# --------------------------------------------------------------------------- fonts


@pytest.mark.parametrize(
    ("font", "encoding", "capitals"),
    [
        (".VnTime", "tcvn3", False),
        (".VnTimeH", "tcvn3", True),
        (".VnArial", "tcvn3", False),
        (".VnArialH", "tcvn3", True),
        (".Vn3DH", "tcvn3", True),
        (".VnAvant", "tcvn3", False),
        ("VNI-Times", "vni", False),
        ("VNI-Helve", "vni", False),
        ("VNI-Aptima", "vni", False),
        ("Times New Roman", None, False),
        ("Arial", None, False),
        ("Calibri", None, False),
        ("", None, False),
        (None, None, False),
    ],
)
def test_legacy_font_encoding(font: str | None, encoding: str | None, capitals: bool) -> None:
    assert legacy_font_encoding(font) == encoding
    assert legacy_font_is_capitals(font) is capitals


# --------------------------------------------------------------------------- TCVN3


@pytest.mark.parametrize(
    ("unicode", "tcvn3"),
    [
        ("Nguyễn Văn An", "NguyÔn V¨n An"),
        ("Trần Thị Hà", "TrÇn ThÞ Hµ"),
        ("Đường", "§\u00adêng"),
        ("đ", "®"),
        ("ĂÂÊÔƠƯĐ", "¡¢£¤¥¦§"),
        ("àáảãạ", "µ¸¶·¹"),
        ("ỳýỷỹỵ", "úýûüþ"),
        ("Ánh", "¸nh"),  # the normal font has no accented capitals
        ("Hello 123", "Hello 123"),
    ],
)
def test_unicode_to_tcvn3_table(unicode: str, tcvn3: str) -> None:
    assert unicode_to_tcvn3(unicode) == tcvn3


@pytest.mark.parametrize("letter", NON_ASCII_LETTERS)
def test_tcvn3_round_trip_every_letter(letter: str) -> None:
    encoded = unicode_to_tcvn3(letter)
    assert len(encoded) == 1
    assert encoded != letter or letter == "ý"  # TCVN3 puts ý at 0xFD, Latin-1's ý
    assert tcvn3_to_unicode(encoded) == tcvn3_lossy(letter)
    assert tcvn3_to_unicode(encoded, capitals=True) == letter.upper()


def test_tcvn3_codes_are_distinct_for_lower_case() -> None:
    lower = [ch for ch in NON_ASCII_LETTERS if ch.islower()]
    codes = [unicode_to_tcvn3(ch) for ch in lower]
    assert len(set(codes)) == len(lower) == 67


@pytest.mark.parametrize("text", SAMPLES)
def test_tcvn3_round_trip_samples(text: str) -> None:
    encoded = unicode_to_tcvn3(text)
    assert tcvn3_to_unicode(encoded) == tcvn3_lossy(text)
    assert looks_tcvn3(encoded)
    assert repair_legacy(encoded) == tcvn3_lossy(text)
    assert repair_legacy(encoded, "tcvn3") == tcvn3_lossy(text)


def test_tcvn3_capitals_font() -> None:
    encoded = unicode_to_tcvn3("NGUYỄN VĂN AN")
    assert encoded == "NGUYÔN V¡N AN"
    assert tcvn3_to_unicode(encoded, capitals=True) == "NGUYỄN VĂN AN"
    assert repair_legacy(encoded, "tcvn3", capitals=True) == "NGUYỄN VĂN AN"


vietnamese_text = st.lists(
    st.text(alphabet=VIETNAMESE_LETTERS, min_size=1, max_size=8), min_size=1, max_size=6
).map(" ".join)


@given(vietnamese_text)
def test_tcvn3_round_trip_property(text: str) -> None:
    assert tcvn3_to_unicode(unicode_to_tcvn3(text)) == tcvn3_lossy(text)
    assert tcvn3_to_unicode(unicode_to_tcvn3(text.upper()), capitals=True) == text.upper()


# --------------------------------------------------------------------------- VNI


@pytest.mark.parametrize(
    ("unicode", "vni"),
    [
        ("Nguyễn Văn An", "Nguyeãn Vaên An"),
        ("Trần Thị Ánh", "Traàn Thò AÙnh"),
        ("Đường", "Ñöôøng"),
        ("ơư", "ôö"),
        ("ỉĩịỵ", "æóòî"),
        ("Hello 123", "Hello 123"),
    ],
)
def test_unicode_to_vni_table(unicode: str, vni: str) -> None:
    assert unicode_to_vni(unicode) == vni


@pytest.mark.parametrize("letter", NON_ASCII_LETTERS)
def test_vni_round_trip_every_letter(letter: str) -> None:
    encoded = unicode_to_vni(letter)
    assert encoded != letter or letter in "ìíÌÍ"  # VNI keeps Latin-1's ì í
    assert vni_to_unicode(encoded) == letter


@pytest.mark.parametrize("text", SAMPLES)
def test_vni_round_trip_samples(text: str) -> None:
    encoded = unicode_to_vni(text)
    assert vni_to_unicode(encoded) == unicodedata.normalize("NFC", text)
    assert looks_vni(encoded)
    assert repair_legacy(encoded) == text
    assert repair_legacy(encoded, "vni") == text


def test_vni_mark_in_wrong_case_is_read() -> None:
    assert vni_to_unicode("AÙnh Aùnh") == "Ánh Ánh"


@given(vietnamese_text)
def test_vni_round_trip_property(text: str) -> None:
    assert vni_to_unicode(unicode_to_vni(text)) == text


# --------------------------------------------------------------------------- detection

GENUINE = [
    *SAMPLES,
    "José",
    "Müller",
    "Đặng Thị Ánh",
    "Tâm",
    "Hoà",
    "Toàn",
    "Hà Nội",
    "Thuý",
    "Khoá",
    "Lê Minh Tú",
    "François Müller",
    "ABC 123",
    "",
]


@pytest.mark.parametrize("text", GENUINE)
def test_genuine_text_is_not_legacy(text: str) -> None:
    for form in (text, unicodedata.normalize("NFD", text)):
        assert not looks_tcvn3(form)
        assert not looks_vni(form)
        assert repair_legacy(form) == clean_text(form)


@given(vietnamese_text)
def test_looks_tcvn3_false_on_genuine_unicode(text: str) -> None:
    assert not looks_tcvn3(text)
    assert not looks_tcvn3(unicodedata.normalize("NFD", text))


@given(vietnamese_text)
def test_looks_vni_false_on_genuine_nfd(text: str) -> None:
    assert not looks_vni(unicodedata.normalize("NFD", text))


def test_hint_does_not_touch_genuine_unicode() -> None:
    assert repair_legacy("Nguyễn Văn An", "tcvn3") == "Nguyễn Văn An"
    assert repair_legacy("Nguyễn Văn An", "vni") == "Nguyễn Văn An"
    assert repair_legacy("  Plain  text ", "tcvn3") == "Plain text"


def test_hint_converts_short_ambiguous_text() -> None:
    # "T©m" alone is too short to be sure without a hint.
    assert repair_legacy("T©m", "tcvn3") == "Tâm"
    assert repair_legacy("Taâm", "vni") == "Tâm"


@pytest.mark.parametrize(
    ("word", "ok"),
    [
        ("nguyễn", True),
        ("Quảng", True),
        ("khuya", True),
        ("thuở", True),
        ("nghiêng", True),
        ("gì", True),
        ("nguyeãn", False),
        ("vaên", False),
        ("jose", False),
        ("mỹller", False),
        ("v¨n", False),
        ("hoàá", False),
    ],
)
def test_plausible_syllable(word: str, ok: bool) -> None:
    assert plausible_syllable(word) is ok
