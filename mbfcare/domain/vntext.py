"""Vietnamese text helpers: cleaning, folding and legacy TCVN3 / VNI repair."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

__all__ = [
    "VIETNAMESE_LETTERS",
    "clean_text",
    "fold",
    "legacy_font_encoding",
    "legacy_font_is_capitals",
    "looks_tcvn3",
    "looks_vni",
    "plausible_syllable",
    "repair_legacy",
    "tcvn3_to_unicode",
    "unicode_to_tcvn3",
    "unicode_to_vni",
    "vni_to_unicode",
]

# --------------------------------------------------------------------------- cleaning

_ZERO_WIDTH = {0x200B: None, 0x200C: None, 0x200D: None, 0xFEFF: None, 0x2060: None}


_ZERO_WIDTH_RE = re.compile("[\u200b\u200c\u200d\ufeff\u2060]")


def clean_text(value: str) -> str:
    """NFC, zero-width characters removed, all whitespace runs (NBSP, line breaks) -> one space."""
    if value.isascii():
        return " ".join(value.split())
    if _ZERO_WIDTH_RE.search(value):
        value = value.translate(_ZERO_WIDTH)
    if not unicodedata.is_normalized("NFC", value):
        value = unicodedata.normalize("NFC", value)
    # str.split() already treats NBSP, U+2007, U+202F and line breaks as whitespace.
    return " ".join(value.split())


_FOLD_TABLE: dict[int, str | None] = {cp: None for cp in range(0x0300, 0x0370)}
_FOLD_TABLE[ord("đ")] = "d"
_FOLD_TABLE[ord("Đ")] = "d"


def fold(value: str) -> str:
    """Clean, lowercase, drop diacritics and turn đ into d: the key for matching and search."""
    value = clean_text(value).lower()
    if value.isascii():
        return value
    return unicodedata.normalize("NFD", value).translate(_FOLD_TABLE)


# --------------------------------------------------------------------------- alphabet

# The 12 vowels, each with its 6 tones (none, grave, acute, hook, tilde, dot below).
_VOWEL_ROWS_LOWER = (
    "aàáảãạ",
    "ăằắẳẵặ",
    "âầấẩẫậ",
    "eèéẻẽẹ",
    "êềếểễệ",
    "iìíỉĩị",
    "oòóỏõọ",
    "ôồốổỗộ",
    "ơờớởỡợ",
    "uùúủũụ",
    "ưừứửữự",
    "yỳýỷỹỵ",
)
_CONSONANTS_LOWER = "bcdđghklmnpqrstvx"
_LOWER_LETTERS = "".join(_VOWEL_ROWS_LOWER) + _CONSONANTS_LOWER
#: Every letter of the Vietnamese alphabet with every tone, both cases (NFC), incl. f j w z.
VIETNAMESE_LETTERS = _LOWER_LETTERS + _LOWER_LETTERS.upper() + "fjwzFJWZ"
_NON_ASCII_VIET = frozenset(ch for ch in VIETNAMESE_LETTERS if not ch.isascii())

# --------------------------------------------------------------------------- TCVN3 (ABC)

# TCVN3 (TCVN 5712:1993 VN3, the "ABC" fonts) as its bytes read as Latin-1 / Windows-1252.
# Lower-case letters with tones, in the order of _VOWEL_ROWS_LOWER (plain vowel first).
_TCVN3_ROWS = (
    "aµ¸¶·¹",
    "¨»¾¼½Æ",
    "©ÇÊÈÉË",
    "eÌÐÎÏÑ",
    "ªÒÕÓÔÖ",
    "i×ÝØÜÞ",
    "oßãáâä",
    "«åèæçé",
    "¬êíëìî",
    "uïóñòô",
    "\u00adõøö÷ù",
    "yúýûüþ",
)
# The only capitals of the normal ABC fonts.
_TCVN3_CAPITALS = {"Ă": "¡", "Â": "¢", "Ê": "£", "Ô": "¤", "Ơ": "¥", "Ư": "¦", "Đ": "§"}

_TCVN3_DECODE: dict[int, str] = {ord("®"): "đ"}
_TCVN3_ENCODE: dict[int, str] = {ord("đ"): "®"}
for _uni_row, _tcvn_row in zip(_VOWEL_ROWS_LOWER, _TCVN3_ROWS, strict=True):
    for _uni, _tcvn in zip(_uni_row, _tcvn_row, strict=True):
        if _uni.isascii():
            continue
        # "ý" is its own code (0xFD) but is still listed so that "Ý" encodes to it.
        _TCVN3_DECODE[ord(_tcvn)] = _uni
        _TCVN3_ENCODE[ord(_uni)] = _tcvn
        # The normal font has no accented capitals: they fall back to the lower-case code.
        _TCVN3_ENCODE.setdefault(ord(_uni.upper()), _tcvn)
for _uni, _tcvn in _TCVN3_CAPITALS.items():
    _TCVN3_DECODE[ord(_tcvn)] = _uni
    _TCVN3_ENCODE[ord(_uni)] = _tcvn
_TCVN3_CHARS = frozenset(chr(cp) for cp in _TCVN3_DECODE)


def tcvn3_to_unicode(value: str, *, capitals: bool = False) -> str:
    """Decode TCVN3 (ABC) text read as Latin-1; `capitals=True` for the ".VnXxxH" fonts.

    The normal ABC fonts hold accented letters in lower case only (plus Ă Â Ê Ô Ơ Ư Đ),
    so their accented capitals come back in lower case. The "H" fonts draw every letter
    as a capital from the same codes: with `capitals=True` the result is upper-cased.
    """
    result = value.translate(_TCVN3_DECODE)
    return result.upper() if capitals else result


def unicode_to_tcvn3(value: str) -> str:
    """Encode to TCVN3 (ABC) as read as Latin-1, e.g. "Nguyễn Văn An" -> "NguyÔn V¨n An".

    Accented capitals other than Ă Â Ê Ô Ơ Ư Đ, which the normal font lacks, are written with
    their lower-case codes ("Ánh" -> "¸nh"), as a typist using the normal font would get.
    """
    return unicodedata.normalize("NFC", value).translate(_TCVN3_ENCODE)


# --------------------------------------------------------------------------- VNI Windows

# VNI Windows as its bytes read as Windows-1252: base letter + mark characters.
_VNI_TONES_LOWER = ("", "ø", "ù", "û", "õ", "ï")  # none, grave, acute, hook, tilde, dot
_VNI_TONES_UPPER = ("", "Ø", "Ù", "Û", "Õ", "Ï")
_VNI_CIRC_LOWER = ("â", "à", "á", "å", "ã", "ä")  # circumflex with each tone
_VNI_CIRC_UPPER = ("Â", "À", "Á", "Å", "Ã", "Ä")
_VNI_BREVE_LOWER = ("ê", "è", "é", "ú", "ü", "ë")
_VNI_BREVE_UPPER = ("Ê", "È", "É", "Ú", "Ü", "Ë")
_VNI_I_LOWER = ("i", "ì", "í", "æ", "ó", "ò")  # i has single-byte forms
_VNI_I_UPPER = ("I", "Ì", "Í", "Æ", "Ó", "Ò")


def _vni_rows(upper: bool) -> dict[str, tuple[str, ...]]:
    tones = _VNI_TONES_UPPER if upper else _VNI_TONES_LOWER
    circ = _VNI_CIRC_UPPER if upper else _VNI_CIRC_LOWER
    breve = _VNI_BREVE_UPPER if upper else _VNI_BREVE_LOWER
    a, e, o, u, y = ("A", "E", "O", "U", "Y") if upper else ("a", "e", "o", "u", "y")
    horn_o, horn_u = ("Ô", "Ö") if upper else ("ô", "ö")
    y_row = [y + t for t in tones]
    y_row[5] = "Î" if upper else "î"  # ỵ is a single byte
    return {
        "a": tuple(a + t for t in tones),
        "ă": tuple(a + t for t in breve),
        "â": tuple(a + t for t in circ),
        "e": tuple(e + t for t in tones),
        "ê": tuple(e + t for t in circ),
        "i": _VNI_I_UPPER if upper else _VNI_I_LOWER,
        "o": tuple(o + t for t in tones),
        "ô": tuple(o + t for t in circ),
        "ơ": tuple(horn_o + t for t in tones),
        "u": tuple(u + t for t in tones),
        "ư": tuple(horn_u + t for t in tones),
        "y": tuple(y_row),
    }


_VNI_ENCODE: dict[int, str] = {ord("đ"): "ñ", ord("Đ"): "Ñ"}
_VNI_DECODE: dict[str, str] = {"ñ": "đ", "Ñ": "Đ"}
for _upper in (False, True):
    _rows = _vni_rows(_upper)
    for _uni_row in _VOWEL_ROWS_LOWER:
        for _uni, _vni in zip(_uni_row, _rows[_uni_row[0]], strict=True):
            _u = _uni.upper() if _upper else _uni
            if not _u.isascii():  # ì í Ì Í are their own codes but still VNI letters
                _VNI_ENCODE[ord(_u)] = _vni
                _VNI_DECODE[_vni] = _u
# Marks typed in the "wrong" case after a base letter are still read (the base decides the case).
for _seq, _uni in list(_VNI_DECODE.items()):
    if len(_seq) == 2:
        for _mark in {_seq[1].lower(), _seq[1].upper()}:
            _VNI_DECODE.setdefault(_seq[0] + _mark, _uni)
_VNI_RE = re.compile("|".join(re.escape(s) for s in sorted(_VNI_DECODE, key=len, reverse=True)))
_VNI_CHARS = frozenset(ch for seq in _VNI_DECODE for ch in seq if not ch.isascii())


def vni_to_unicode(value: str) -> str:
    """Decode VNI Windows text read as Windows-1252, e.g. "Nguyeãn Vaên An" -> "Nguyễn Văn An"."""
    if value.isascii():
        return value
    return _VNI_RE.sub(lambda m: _VNI_DECODE[m.group(0)], value)


def unicode_to_vni(value: str) -> str:
    """Encode to VNI Windows as read as Windows-1252 (capitals use the capital marks)."""
    return unicodedata.normalize("NFC", value).translate(_VNI_ENCODE)


# --------------------------------------------------------------------------- fonts


def legacy_font_encoding(font_name: str | None) -> str | None:
    """ "tcvn3" for the ABC ".Vn..." fonts, "vni" for the "VNI-..." fonts, else None."""
    if not font_name:
        return None
    name = font_name.strip().lower()
    if re.match(r"vni[-_ ]", name):
        return "vni"
    if name.startswith(".vn") or re.match(r"vn[a-z0-9]", name):
        return "tcvn3"
    return None


def legacy_font_is_capitals(font_name: str | None) -> bool:
    """True for the ABC capitals fonts (".VnTimeH", ".VnArialH", ".Vn3DH"...)."""
    return (
        legacy_font_encoding(font_name) == "tcvn3"
        and font_name is not None
        and (font_name.strip().endswith("H"))
    )


# --------------------------------------------------------------------------- heuristics

_ONSET = r"(?:ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|b|c|d|đ|g|h|k|l|m|n|p|r|s|t|v|x)?"
_NUCLEI_TEXT = (
    "a ă â e ê i o ô ơ u ư y ai ao au ay âu ây eo êu ia iê iu oa oă oe oi oo ôi ơi ua uâ uê ui "
    "uô uơ uy ưa ưi ươ ưu yê iêu oai oao oay oeo uây uôi uya uyê uyu ươi ươu yêu uêu"
)
_NUCLEI = _NUCLEI_TEXT.split()
_SYLLABLE_RE = re.compile(
    _ONSET + "(?:" + "|".join(sorted(_NUCLEI, key=len, reverse=True)) + ")(?:ch|ng|nh|c|m|n|p|t)?"
)
_TONE_MARKS = {0x0300: None, 0x0301: None, 0x0303: None, 0x0309: None, 0x0323: None}
_TOKEN_SPLIT_RE = re.compile(r"[\s!-@\[-`{-~]+")  # ASCII spaces, digits and punctuation


@lru_cache(maxsize=8192)
def plausible_syllable(word: str) -> bool:
    """Whether `word` reads as one Vietnamese syllable (onset, vowel nucleus, coda, <= 1 tone)."""
    nfd = unicodedata.normalize("NFD", word.lower())
    bare = nfd.translate(_TONE_MARKS)
    if len(nfd) - len(bare) > 1:
        return False
    return _SYLLABLE_RE.fullmatch(unicodedata.normalize("NFC", bare)) is not None


def _bad_words(text: str) -> tuple[int, int]:
    """(implausible, total) among the words that hold a non-ASCII character."""
    bad = total = 0
    for token in _TOKEN_SPLIT_RE.split(text):
        if token and not token.isascii():
            total += 1
            if not plausible_syllable(token):
                bad += 1
    return bad, total


def _only_legacy_chars(value: str, charset: frozenset[str]) -> bool:
    """True when there is non-ASCII text and every non-ASCII character is in `charset`."""
    found = False
    for ch in value:
        if ch > "\x7f":
            if ch not in charset:
                return False
            found = True
    return found


def _confident(original: str, converted: str) -> bool:
    if converted == original:
        return False
    bad_before, _ = _bad_words(original)
    bad_after, total_after = _bad_words(converted)
    if bad_after >= bad_before:
        return False
    return bad_after * 5 <= total_after  # at most one word in five left unreadable


_TCVN3_LEGACY_CHARS = _TCVN3_CHARS
_VNI_LEGACY_CHARS = _VNI_CHARS


# TCVN3 codes that are not themselves Vietnamese letters (µ ¸ ¨ Þ Ç ...): genuine text never
# has them, so without a font hint one of them must be present.
_TCVN3_SIGNAL_CHARS = frozenset(_TCVN3_CHARS - _NON_ASCII_VIET)


def looks_tcvn3(value: str) -> bool:
    """Heuristic: TCVN3-only text with a non-Vietnamese code that reads as Vietnamese converted.

    A single word made only of codes that are also Vietnamese letters ("NguyÔn") is not
    enough without a hint; pass the cell's font (or a column-wide decision) as `hint`.
    """
    if value.isascii() or not _only_legacy_chars(value, _TCVN3_LEGACY_CHARS):
        return False
    if _TCVN3_SIGNAL_CHARS.isdisjoint(value):
        return False
    return _confident(value, tcvn3_to_unicode(value))


def looks_vni(value: str) -> bool:
    """Heuristic: text made only of VNI codes that reads as Vietnamese once converted."""
    if value.isascii() or not _only_legacy_chars(value, _VNI_LEGACY_CHARS):
        return False
    return _confident(value, vni_to_unicode(value))


# Any character outside both legacy repertoires proves the text is genuine Unicode; checked in C
# so that a million names cost almost nothing.
_GENUINE_RE = re.compile(
    "[^\x00-\x7f"
    + "".join(re.escape(ch) for ch in sorted(_TCVN3_LEGACY_CHARS | _VNI_LEGACY_CHARS))
    + "]"
)


def repair_legacy(value: str, hint: str | None = None, *, capitals: bool = False) -> str:
    """Convert legacy TCVN3/VNI text to clean Unicode when it is (or, with a hint, may be) so.

    With `hint` ("tcvn3" or "vni", e.g. from the cell's font) the text is converted when all
    its non-ASCII characters belong to that encoding. Without a hint only text that
    `looks_tcvn3` / `looks_vni` is converted. Anything else is only cleaned.
    """
    if not value.isascii():
        if hint is None and _GENUINE_RE.search(value):
            return clean_text(value)  # a character no legacy encoding produces: real Unicode
        if hint == "tcvn3":
            if _only_legacy_chars(value, _TCVN3_LEGACY_CHARS):
                value = tcvn3_to_unicode(value, capitals=capitals)
        elif hint == "vni":
            if _only_legacy_chars(value, _VNI_LEGACY_CHARS):
                value = vni_to_unicode(value)
        elif looks_tcvn3(value):
            value = tcvn3_to_unicode(value, capitals=capitals)
        elif looks_vni(value):
            value = vni_to_unicode(value)
    elif hint == "tcvn3" and capitals:
        value = value.upper()
    return clean_text(value)


# Every character that TCVN3 or VNI text shows when read as Windows-1252; text with any other
# non-ASCII character is genuine Unicode.
LEGACY_CHARS: frozenset[str] = frozenset(_TCVN3_LEGACY_CHARS | _VNI_LEGACY_CHARS)
