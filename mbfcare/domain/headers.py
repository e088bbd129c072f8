"""Recognising the header cells of subscriber extracts: fields and charge columns."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache, lru_cache

from mbfcare.domain.vntext import fold
from mbfcare.paths import reference_file

__all__ = [
    "ChargeHeader",
    "field_labels",
    "header_key",
    "match_field",
    "parse_charge_header",
    "resolve_month",
]

_DASHES = str.maketrans({"–": "-", "—": "-", "−": "-", "‐": "-", "‑": "-"})
_REQUIRED_MARK_RE = re.compile(r"\(\s*\*\s*\)|\*")
_EDGE_PUNCT = " :;.,-_#'\"`"


def header_key(text: object) -> str:
    """Fold a header cell: no accents, đ -> d, lower case, one space, no edge punctuation."""
    if text is None:
        return ""
    raw = str(text).translate(_DASHES)
    folded = _REQUIRED_MARK_RE.sub(" ", fold(raw))
    return " ".join(folded.split()).strip(_EDGE_PUNCT)


def _compact(key: str) -> str:
    return re.sub(r"[^0-9a-z]+", "", key)


@cache
def _synonyms() -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """(folded synonym -> field, compact synonym -> field, field -> label)."""
    with reference_file("headers.toml").open("rb") as fh:
        data = tomllib.load(fh)
    exact: dict[str, str] = {}
    compact: dict[str, str] = {}
    labels: dict[str, str] = {}
    for field, row in data["fields"].items():
        labels[field] = row["label"]
        for synonym in row["synonyms"]:
            key = header_key(synonym)
            exact.setdefault(key, field)
            compact.setdefault(_compact(key), field)
    return exact, compact, labels


def field_labels() -> dict[str, str]:
    """Canonical field -> its usual Vietnamese header (for messages and templates)."""
    return dict(_synonyms()[2])


# Keyword rules on the folded key, tried in order when no synonym matched exactly.
_RULES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (field, re.compile(pattern))
    for field, pattern in (
        ("contact_number", r"\blien he\b|\bcontact\b"),
        ("birth_date", r"\bngay sinh\b|\bsinh ngay\b|\bbirth"),
        (
            "activation_date",
            r"\bngay\b.*\b(kich hoat|hoa mang|kh|hm|dau noi|dang ky|active)\b"
            r"|\bactivat",
        ),
        ("id_number", r"\b(cmnd|cccd|cmt|chung minh|can cuoc|ho chieu|giay to|gttt|passport)\b"),
        ("profile_standardised", r"\bchuan hoa\b|\bstandardi[sz]"),
        ("in_other_programme", r"\b(ct|chuong trinh|cskh)\b.*\bkhac\b|\bother program"),
        ("offers", r"\buu dai\b|\bkhuyen mai\b|\bgoi km\b|\boffers?\b|\bpromotion"),
        ("status", r"\b(trang thai|tinh trang|status)\b"),
        (
            "subscriber_type",
            r"\bloai (tb|thue bao|hinh)\b|\bhinh thuc (tt|thanh toan)\b"
            r"|\btra truoc\b.*\btra sau\b|\b(sub(scriber)? )?type\b",
        ),
        ("store", r"\b(cua hang|ttgd|ch/ttgd|diem giao dich|trung tam giao dich|store|shop)\b"),
        ("address", r"\bdia chi\b|\baddress\b"),
        ("district", r"\b(quan|huyen|district)\b"),
        ("province", r"^(ma )?tinh\b(?! cuoc)|\b(tinh/ ?tp|tinh/ ?thanh pho|province)\b"),
        ("name", r"\bho (va )?ten\b|\bten (kh|khach hang|thue bao|tb|chu)\b|\bname\b"),
        (
            "msisdn",
            r"\bso (tb|thue bao|dien thoai|dt|may|di dong)\b|\b(sdt|isdn|msisdn|dtdd)\b"
            r"|\bthue bao\b|\bphone\b|\bmobile\b",
        ),
        ("row_number", r"^(so )?(stt|tt|thu tu)$"),
    )
)


@lru_cache(maxsize=4096)
def _match_key(key: str) -> str | None:
    if not key:
        return None
    exact, compact, _ = _synonyms()
    if key in exact:
        return exact[key]
    squeezed = _compact(key)
    if squeezed in compact:
        return compact[squeezed]
    if _parse_key(key) is not None:
        return None
    # Normalise "so t.b", "cmnd / cccd", "tinh / tp" before the keyword rules.
    spaced = " ".join(re.sub(r"(?<=\b[a-z])\.(?=[a-z]\b)", "", key).replace(" / ", "/").split())
    for field, pattern in _RULES:
        if pattern.search(spaced):
            return field
    return None


def match_field(text: object) -> str | None:
    """The canonical field of a header cell, or None (charge columns also give None)."""
    return _match_key(header_key(text))


# --------------------------------------------------------------------------- charges


@dataclass(frozen=True)
class ChargeHeader:
    """A charge column: relative to the care month (offset) or a named month (year optional)."""

    offset: int | None = None  # "Cước T-3" -> 3: the cycle is the care month minus 3
    year: int | None = None  # "Cước 06/2017" -> 2017
    month: int | None = None  # "Cước 06/2017" / "Cước tháng 6" -> 6


_CHARGE_WORD = (
    r"(?:tong\s+)?(?:tien\s+cuoc|cuoc(?:\s+phi)?|doanh\s+thu|dt|charges?|revenue|rev)"
    r"(?:\s+(?:phat\s+sinh|su\s+dung|nong|tb|thue\s+bao|dich\s+vu|vien\s+thong))?"
)
_MONTH_WORD = r"(?:thang|chu\s+ky|ky|t|m|month|cycle)"
_UNIT = r"(?:\s*\(?\s*(?:d|vnd|dong|nghin dong|\d+\s*d)?\s*\)?)?"
_RELATIVE_RE = re.compile(
    rf"{_CHARGE_WORD}\s*(?:{_MONTH_WORD}\s*)*(?:n|t|m)\s*-\s*(\d{{1,2}}){_UNIT}"
)
_MONTH_YEAR_RE = re.compile(
    rf"{_CHARGE_WORD}\s*(?:{_MONTH_WORD}\s*)*(\d{{1,2}})\s*[/.\-]\s*(\d{{4}}|\d{{2}}){_UNIT}"
)
_YEAR_MONTH_RE = re.compile(
    rf"{_CHARGE_WORD}\s*(?:{_MONTH_WORD}\s*)*(\d{{4}})\s*[/.\-]?\s*(\d{{2}}){_UNIT}"
)
_MONTH_ONLY_RE = re.compile(rf"{_CHARGE_WORD}\s*(?:{_MONTH_WORD}\s*)+(\d{{1,2}}){_UNIT}")


def _year(text: str) -> int | None:
    year = int(text)
    if len(text) == 2:
        year += 2000
    return year if 1990 <= year <= 2100 else None


@lru_cache(maxsize=4096)
def _parse_key(key: str) -> ChargeHeader | None:
    if not key:
        return None
    m = _RELATIVE_RE.fullmatch(key)
    if m:
        offset = int(m.group(1))
        return ChargeHeader(offset=offset) if 1 <= offset <= 36 else None
    m = _YEAR_MONTH_RE.fullmatch(key)
    if m:
        year, month = _year(m.group(1)), int(m.group(2))
        return ChargeHeader(year=year, month=month) if year and 1 <= month <= 12 else None
    m = _MONTH_YEAR_RE.fullmatch(key)
    if m:
        month, year = int(m.group(1)), _year(m.group(2))
        return ChargeHeader(year=year, month=month) if year and 1 <= month <= 12 else None
    m = _MONTH_ONLY_RE.fullmatch(key)
    if m:
        month = int(m.group(1))
        return ChargeHeader(month=month) if 1 <= month <= 12 else None
    return None


def parse_charge_header(text: object) -> ChargeHeader | None:
    """Read a charge column header ("Cước T-3", "Cước 06/2017", "DT 201706", "Cước tháng 6")."""
    return _parse_key(header_key(text))


def resolve_month(
    header: ChargeHeader, care_year: int | None, care_month: int | None
) -> tuple[int, int] | None:
    """(year, month) of the billing cycle a charge column holds, for a batch's care month.

    Relative columns and month-only columns need the care month (None without it); a month
    without a year is the latest such month strictly before the care month.
    """
    if header.offset is not None:
        if care_year is None or care_month is None:
            return None
        index = care_year * 12 + (care_month - 1) - header.offset
        return index // 12, index % 12 + 1
    if header.month is None:
        return None
    if header.year is not None:
        return header.year, header.month
    if care_year is None or care_month is None:
        return None
    if header.month < care_month:
        return care_year, header.month
    return care_year - 1, header.month
