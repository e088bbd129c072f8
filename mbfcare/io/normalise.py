"""Column-wise normalisation of a whole list with polars, exact by construction.

The simple, common forms (a 10-digit number, `700.000`, `0912345678`, a clean name) are
recognised by expressions in Rust. Everything else goes through the same Python parsers the
row-by-row path uses, once per distinct value, so both paths give identical results; the
domain parsers stay the single definition of what a value means.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import polars as pl

from mbfcare.domain.reference import is_mobifone_prefix, operator_of
from mbfcare.domain.values import (
    ValueProblem,
    parse_contact_number,
    parse_date,
    parse_flag,
    parse_id_number,
    parse_money,
    parse_msisdn,
    parse_status,
    parse_subscriber_type,
)
from mbfcare.domain.vntext import LEGACY_CHARS, repair_legacy

_ZERO_WIDTH = "[\u200b\u200c\u200d\ufeff\u2060]"
_GENUINE = "[^\\x00-\\x7f" + "".join(f"\\x{{{ord(c):X}}}" for c in sorted(LEGACY_CHARS)) + "]"


def _mobile_prefixes() -> tuple[list[str], list[str]]:
    valid, mobifone = [], []
    for a in "35789":
        for b in "0123456789":
            prefix = f"0{a}{b}"
            if operator_of(prefix + "0000000") is not None:
                valid.append(prefix)
                if is_mobifone_prefix(prefix + "0000000"):
                    mobifone.append(prefix)
    return valid, mobifone


def blank_to_null(column: pl.Expr) -> pl.Expr:
    """Cells holding only spaces count as blank."""
    return pl.when(column.str.strip_chars().str.len_bytes() == 0).then(None).otherwise(column)


class ColumnResult:
    """Values of one field for every row, and which rows could not be understood."""

    def __init__(self, values: pl.Series, errors: pl.Series) -> None:
        self.values = values
        self.errors = errors


def map_distinct(raw: pl.Series, parse: Callable[[str], Any], dtype: pl.DataType
                  ) -> ColumnResult:
    """Apply a Python parser once per distinct value."""
    ok: dict[str, Any] = {}
    bad: list[str] = []
    for value in raw.drop_nulls().unique().to_list():
        try:
            ok[value] = parse(value)
        except ValueProblem:
            bad.append(value)
    if ok:
        values = raw.replace_strict(list(ok), list(ok.values()), default=None,
                                    return_dtype=dtype)
    else:
        values = pl.Series(raw.name, [None] * len(raw), dtype=dtype)
    return ColumnResult(values, raw.is_in(bad) if bad else pl.Series([False] * len(raw)))


def _with_fallback(raw: pl.Series, fast: pl.Series, parse: Callable[[str], Any],
                   dtype: pl.DataType) -> ColumnResult:
    """`fast` where it recognised the value; the Python parser for the rest."""
    need = raw.is_not_null() & fast.is_null()
    if not need.any():
        return ColumnResult(fast, pl.Series([False] * len(raw)))
    slow = map_distinct(raw.filter(need), parse, dtype)
    values = fast.scatter(need.arg_true(), slow.values) if len(slow.values) else fast
    errors = pl.Series([False] * len(raw))
    if slow.errors.any():
        errors = errors.scatter(need.arg_true(), slow.errors)
    return ColumnResult(values, errors)


_COMBINING = "[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]"
_UNTIDY_SPACE = r"\s\s|[^\S ]|^\s|\s$"


def _fix_where(series: pl.Series, mask: pl.Series, fix: Callable[[pl.Series], pl.Series]
               ) -> pl.Series:
    """Apply an expensive fix only to the rows that need it."""
    mask = mask.fill_null(False)
    if not mask.any():
        return series
    positions = mask.arg_true()
    return series.scatter(positions, fix(series.gather(positions)))


def clean_series(raw: pl.Series) -> pl.Series:
    """`clean_text` for a whole column: zero-width characters out, NFC, single spaces."""
    cleaned = _fix_where(raw, raw.str.contains(_ZERO_WIDTH),
                         lambda s: s.str.replace_all(_ZERO_WIDTH, ""))
    # Only text holding combining marks can change under NFC (Vietnamese has every letter
    # precomposed), so the costly normalisation runs on those rows alone.
    cleaned = _fix_where(cleaned, cleaned.str.contains(_COMBINING),
                         lambda s: s.str.normalize("NFC"))
    cleaned = _fix_where(cleaned, cleaned.str.contains(_UNTIDY_SPACE),
                         lambda s: s.str.replace_all(r"\s+", " ").str.strip_chars())
    return _fix_where(cleaned, cleaned.str.len_bytes() == 0,
                      lambda s: pl.Series([None] * len(s), dtype=pl.String))


def text_column(raw: pl.Series, legacy: str | None, hints: pl.Series | None = None
                ) -> ColumnResult:
    """Names, addresses and other free text: NFC, one space, TCVN3/VNI repaired.

    `legacy` is the encoding of the whole file (CSV); `hints` the encoding of each cell's font
    (workbooks), which is more precise: genuine Unicode in a normal font is never converted.
    """
    cleaned = clean_series(raw)
    suspicious = raw.str.contains(r"[^\x00-\x7f]") & ~raw.str.contains(_GENUINE)
    suspicious = suspicious.fill_null(False)
    if hints is not None:
        suspicious = suspicious | (hints.is_not_null() & raw.is_not_null())
    if not suspicious.any():
        return ColumnResult(cleaned, pl.Series([False] * len(raw)))
    positions = suspicious.arg_true()
    values = raw.gather(positions).to_list()
    cell_hints = hints.gather(positions).to_list() if hints is not None else [legacy] * len(values)
    cache: dict[tuple[str, str | None], str | None] = {}
    repaired = []
    for value, hint in zip(values, cell_hints, strict=True):
        key = (value, hint)
        if key not in cache:
            cache[key] = repair_legacy(value, hint) or None
        repaired.append(cache[key])
    fixed = cleaned.scatter(positions, pl.Series(repaired, dtype=pl.String))
    return ColumnResult(fixed, pl.Series([False] * len(raw)))


def msisdn_column(raw: pl.Series) -> tuple[ColumnResult, pl.Series, pl.Series]:
    """Numbers to `0xxxxxxxxx`; also whether ported and the pre-2018 original."""
    valid, mobifone = _mobile_prefixes()
    digits = raw.str.replace_all(r"[\s.\-()/_'’`]", "")
    fast = pl.select(
        pl.when(digits.str.contains(r"^0[35789]\d{8}$")).then(digits)
        .when(digits.str.contains(r"^84[35789]\d{8}$")).then(pl.lit("0") + digits.str.slice(2))
        .when(digits.str.contains(r"^[35789]\d{8}$")).then(pl.lit("0") + digits)
        .otherwise(None)
    ).to_series()
    fast = pl.select(pl.when(fast.str.slice(0, 3).is_in(valid)).then(fast).otherwise(None)
                     ).to_series()
    parsed: dict[str, Any] = {}

    def parse(value: str) -> str:
        number = parse_msisdn(value)
        parsed[value] = number
        return number.number

    numbers = _with_fallback(raw, fast, parse, pl.String())
    original = pl.Series([None] * len(raw), dtype=pl.String)
    if parsed:
        original = raw.replace_strict(
            list(parsed), [p.original for p in parsed.values()], default=None,
            return_dtype=pl.String())
    ported = ~numbers.values.str.slice(0, 3).is_in(mobifone)
    return numbers, ported.fill_null(False), original


# No monthly charge comes near 10^12 đồng; above it a value is a typo or junk (and would
# not fit the 64-bit columns of the frame and the database).
MAX_CHARGE = 10**12


def parse_charge(value: object) -> int | None:
    """`parse_money`, refusing amounts no bill can have.

    Raises:
        ValueProblem: code ``bad_money``.
    """
    amount = parse_money(value)
    if amount is not None and amount > MAX_CHARGE:
        raise ValueProblem("bad_money", value)
    return amount


def money_column(raw: pl.Series) -> ColumnResult:
    """Charges in whole đồng (None when blank)."""
    text = raw.str.strip_chars()
    fast = pl.select(
        pl.when(text.str.contains(r"^\d{1,15}$")).then(text)
        .when(text.str.contains(r"^\d{1,3}(\.\d{3}){1,4}$")).then(text.str.replace_all(".", "",
                                                                                       literal=True))
        .when(text.str.contains(r"^\d{1,3}(,\d{3}){1,4}$")).then(text.str.replace_all(",", "",
                                                                                      literal=True))
        .otherwise(None).cast(pl.Int64)
    ).to_series()
    return _with_fallback(raw, fast, parse_charge, pl.Int64())


def id_number_column(raw: pl.Series) -> ColumnResult:
    """CMND/CCCD as text."""
    fast = pl.select(pl.when(raw.str.contains(r"^(\d{9}|\d{12})$")).then(raw).otherwise(None)
                     ).to_series()
    return _with_fallback(raw, fast, parse_id_number, pl.String())


def date_column(raw: pl.Series) -> ColumnResult:
    """Dates (distinct values are few: parsed once each)."""
    def parse(value: str) -> dt.date | None:
        return parse_date(value)
    return map_distinct(raw, parse, pl.Date())


CATEGORICAL: dict[str, tuple[Callable[[str], Any], pl.DataType]] = {
    "subscriber_type": (lambda v: parse_subscriber_type(v).value, pl.String()),
    "status": (lambda v: parse_status(v).value, pl.String()),
    "in_other_programme": (parse_flag, pl.Boolean()),
    "profile_standardised": (lambda v: parse_flag(v, standardised=True), pl.Boolean()),
    "contact_number": (parse_contact_number, pl.String()),
}
