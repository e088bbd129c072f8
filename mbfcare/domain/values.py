"""Normalisers for the values found in extracts: numbers, money, dates, types, statuses, flags.

Each parser takes a raw cell (str, float, int, bool, date or datetime, as the spreadsheet
reader returns it; blank cells are `""` or None) and either returns the canonical value or
raises `ValueProblem` carrying a reason code and the offending value, so that the importer
can write one plain sentence per rejected row.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from mbfcare.domain.reference import is_mobifone_prefix, legacy_msisdn_prefixes, operator_of
from mbfcare.domain.vntext import fold


class SubscriberType(StrEnum):
    """Trả trước / trả sau."""

    PREPAID = "prepaid"
    POSTPAID = "postpaid"


class SubscriberStatus(StrEnum):
    """The subscriber's state when the data was extracted."""

    ACTIVE = "active"
    BLOCKED_ONE_WAY = "blocked_one_way"
    BLOCKED_TWO_WAY = "blocked_two_way"
    CANCELLED = "cancelled"


class ValueProblem(ValueError):
    """A cell whose value cannot be understood; `code` names the kind of problem."""

    def __init__(self, code: str, value: object) -> None:
        super().__init__(f"{code}: {value!r}")
        self.code = code
        self.value = value


def is_blank(value: object) -> bool:
    """True for an empty cell: None, "" or only spaces (including non-breaking ones)."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, float):
        return math.isnan(value)
    return False


# --- numbers -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Msisdn:
    """A subscriber number in the 10-digit national form, with what the file said."""

    number: str
    original: str | None  # the pre-2018 eleven-digit form when it was converted
    ported: bool  # the prefix belongs to another operator (kept, flagged)


_SEPARATORS = re.compile(r"[\s.\-()/_'’`]+")
_MOBILE_FIRST = frozenset("35789")


def _digits_of(value: object) -> str:
    if isinstance(value, bool):
        raise ValueProblem("bad_msisdn", value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not value.is_integer() or value <= 0:
            raise ValueProblem("bad_msisdn", value)
        return str(int(value))
    text = str(value).strip()
    if text.startswith("="):  # Excel text formula ="0912345678"
        text = text.strip('="')
    text = _SEPARATORS.sub("", text.replace("\u00a0", ""))
    if text.startswith("+"):
        text = text[1:]
    if text.startswith("00"):
        text = text[2:]
    if not text.isdigit() or not text.isascii():
        raise ValueProblem("bad_msisdn", value)
    return text


def parse_msisdn(value: object) -> Msisdn:
    """Bring a subscriber number in any usual written form to `0xxxxxxxxx`.

    Accepts 0912345678, 84912345678, +84 912 345 678, 912345678 (leading zero lost),
    0912.345.678, numeric cells, and the eleven-digit numbers converted in 2018
    (01201234567 -> 0701234567, original kept). Another operator's prefix is kept and
    flagged `ported`, since numbers may be carried between operators since 2018.

    Raises:
        ValueProblem: code ``bad_msisdn`` when the value is not a Vietnamese mobile number.
    """
    if type(value) is str and len(value) == 10 and value[0] == "0" and value.isdigit():
        digits = value  # the common case, checked first: a 10-digit text cell
    elif is_blank(value):
        raise ValueProblem("missing_msisdn", value)
    else:
        digits = _digits_of(value)
    if digits.startswith("84") and len(digits) in (11, 12):
        digits = "0" + digits[2:]
    elif not digits.startswith("0") and len(digits) in (9, 10):
        digits = "0" + digits
    original: str | None = None
    if len(digits) == 11 and digits.startswith("01"):
        new_prefix = legacy_msisdn_prefixes().get(digits[:4])
        if new_prefix is None:
            raise ValueProblem("bad_msisdn", value)
        original = digits
        digits = new_prefix + digits[4:]
    if len(digits) != 10 or digits[0] != "0" or digits[1] not in _MOBILE_FIRST:
        raise ValueProblem("bad_msisdn", value)
    if operator_of(digits) is None:
        raise ValueProblem("bad_msisdn", value)
    return Msisdn(digits, original, not is_mobifone_prefix(digits))


def msisdn_international(number: str) -> str:
    """`0912345678` -> `84912345678`, the form SMS gateways take."""
    return "84" + number[1:]


def format_msisdn(number: str) -> str:
    """`0912345678` -> `0912 345 678`, how numbers are shown on screen."""
    if len(number) == 10 and number.isdigit():
        return f"{number[:4]} {number[4:7]} {number[7:]}"
    return number


def format_number(value: int) -> str:
    """`1234567` -> `1.234.567` (Vietnamese digit grouping)."""
    return f"{value:,}".replace(",", ".")


def mask_msisdn(number: str) -> str:
    """A number safe for logs: `0912***678`."""
    if len(number) < 7:
        return "***"
    return number[:4] + "***" + number[-3:]


# --- money ---------------------------------------------------------------------------------

_CURRENCY = re.compile(r"(?i)\s*(vnd|vnđ|đồng|dong|đ|d)\s*$")
_MONEY = re.compile(
    r"(?P<int>\d+|\d{1,3}(?:(?P<sep>[., ])\d{3})(?:(?P=sep)\d{3})*)(?:(?P<dsep>[.,])\d{1,2})?",
    re.ASCII,  # "²" or "①" are digits to str.isdigit, not amounts
)
_GROUP_SEPS = re.compile(r"[., ]")


def parse_money(value: object) -> int | None:
    """Charges in whole đồng; blank is None ("not known"), never 0.

    `.` and `,` followed by groups of three digits are thousands separators; followed by one
    or two digits at the end they are decimals, rounded down to whole đồng.

    Raises:
        ValueProblem: code ``bad_money`` for text that is not an amount, or a negative one.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueProblem("bad_money", value)
    if isinstance(value, int):
        if value < 0:
            raise ValueProblem("bad_money", value)
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if value < 0 or math.isinf(value):
            raise ValueProblem("bad_money", value)
        return math.floor(value)
    text = str(value).strip().replace("\u00a0", " ").replace("\u202f", " ")
    if not text:
        return None
    text = _CURRENCY.sub("", text).strip()
    if text.isascii() and text.isdigit():
        return int(text)
    match = _MONEY.fullmatch(text)
    if match is None:
        raise ValueProblem("bad_money", value)
    integer, decimal_sep = match.group("int"), match.group("dsep")
    if integer.isdigit():
        return int(integer)
    separators = set(_GROUP_SEPS.findall(integer))
    if len(separators) != 1 or decimal_sep in separators:
        raise ValueProblem("bad_money", value)
    return int(_GROUP_SEPS.sub("", integer))


def format_money(amount: int | None) -> str:
    """`700000` -> `700.000 đ` (Vietnamese thousands separator)."""
    if amount is None:
        return ""
    return f"{amount:,}".replace(",", ".") + " đ"


# --- dates ---------------------------------------------------------------------------------

_EXCEL_EPOCH = dt.date(1899, 12, 30)
_DATE_DMY = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})$", re.ASCII)
_DATE_ISO = re.compile(
    r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$", re.ASCII
)


def parse_date(value: object) -> dt.date | None:
    """A date from a real date cell, an Excel serial number, or day-first text.

    Text forms: dd/mm/yyyy, d/m/yy, dd-mm-yyyy, dd.mm.yyyy, yyyy-mm-dd (never month-first).
    Two-digit years up to 30 are 20xx, the rest 19xx.

    Raises:
        ValueProblem: code ``bad_date``.
    """
    if is_blank(value):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, bool):
        raise ValueProblem("bad_date", value)
    if isinstance(value, int | float):
        if not 1000 <= value < 80000:  # 1902..2119: anything else is not a date serial
            raise ValueProblem("bad_date", value)
        return _EXCEL_EPOCH + dt.timedelta(days=math.floor(value))
    return _parse_date_text(str(value).strip(), value)


@lru_cache(maxsize=65536)
def _parse_date_text(text: str, value: object) -> dt.date:
    try:
        match = _DATE_DMY.match(text)
        if match:
            day, month, year = (int(g) for g in match.groups())
            if len(match.group(3)) == 2:
                year += 2000 if year <= 30 else 1900
            return dt.date(year, month, day)
        match = _DATE_ISO.match(text)
        if match:
            year, month, day = (int(g) for g in match.groups())
            return dt.date(year, month, day)
        if text.isascii() and text.replace(".", "", 1).isdigit():
            parsed = parse_date(float(text))
            if parsed is not None:
                return parsed
    except ValueError:
        pass
    raise ValueProblem("bad_date", value)


def format_date(value: dt.date | None) -> str:
    """`dd/mm/yyyy`, the only way dates are shown to users."""
    return value.strftime("%d/%m/%Y") if value else ""


def parse_month(text: str) -> tuple[int, int]:
    """`MM/YYYY` (or `M/YYYY`, `YYYY-MM`) -> (year, month).

    Raises:
        ValueProblem: code ``bad_month``.
    """
    text = text.strip()
    match = re.fullmatch(r"(\d{1,2})[/.\-](\d{4})", text) or None
    if match:
        month, year = int(match.group(1)), int(match.group(2))
    else:
        match = re.fullmatch(r"(\d{4})-(\d{1,2})", text)
        if not match:
            raise ValueProblem("bad_month", text)
        year, month = int(match.group(1)), int(match.group(2))
    if not 1 <= month <= 12 or not 1990 <= year <= 2100:
        raise ValueProblem("bad_month", text)
    return year, month


def cycle_code(year: int, month: int) -> int:
    """A billing cycle as an integer `yyyymm`, how cycles are stored."""
    return year * 100 + month


def shift_month(year: int, month: int, delta: int) -> tuple[int, int]:
    """The month `delta` months after (before, if negative) the given one."""
    index = year * 12 + (month - 1) + delta
    return index // 12, index % 12 + 1


def format_cycle(code: int) -> str:
    """`201706` -> `06/2017`."""
    return f"{code % 100:02d}/{code // 100}"


# --- categorical values --------------------------------------------------------------------


def _table(pairs: dict[str, tuple[str, ...]]) -> dict[str, str]:
    return {fold(word): key for key, words in pairs.items() for word in words}


_TYPES = _table(
    {
        SubscriberType.PREPAID: (
            "Trả trước",
            "TT",
            "Prepaid",
            "Pre-paid",
            "Pre",
            "TRT",
            "Trả trước (TT)",
        ),
        SubscriberType.POSTPAID: (
            "Trả sau",
            "TS",
            "Postpaid",
            "Post-paid",
            "Post",
            "TRS",
            "Trả sau (TS)",
        ),
    }
)

_STATUSES = _table(
    {
        SubscriberStatus.ACTIVE: (
            "Hoạt động 2 chiều",
            "Hoạt động hai chiều",
            "2C",
            "2 chiều",
            "Hoạt động",
            "Đang hoạt động",
            "HĐ",
            "HD2C",
            "Active",
            "Hoạt động bình thường",
            "Normal",
        ),
        SubscriberStatus.BLOCKED_ONE_WAY: (
            "Chặn 1 chiều",
            "Chặn một chiều",
            "1C",
            "Khóa 1 chiều",
            "Khoá 1 chiều",
            "Blocked one way",
            "One-way blocked",
            "Chặn 1C",
        ),
        SubscriberStatus.BLOCKED_TWO_WAY: (
            "Chặn 2 chiều",
            "Chặn hai chiều",
            "Khóa 2 chiều",
            "Khoá 2 chiều",
            "Blocked two way",
            "Two-way blocked",
            "Chặn 2C",
            "Blocked",
        ),
        SubscriberStatus.CANCELLED: (
            "Đã hủy",
            "Đã huỷ",
            "Hủy",
            "Huỷ",
            "Cancelled",
            "Canceled",
            "Đã thanh lý",
            "Thanh lý",
            "Rời mạng",
            "Đã rời mạng",
        ),
    }
)

_YES = frozenset(
    fold(w)
    for w in (
        "Có",
        "x",
        "1",
        "Yes",
        "Y",
        "True",
        "Rồi",
        "Đã tham gia",
        "Đang tham gia",
        "v",
        "✓",
        "✔",
        "Tham gia",
    )
)
_NO = frozenset(
    fold(w)
    for w in (
        "Không",
        "0",
        "No",
        "N",
        "False",
        "Chưa",
        "K",
        "Ko",
        "Chưa tham gia",
        "Không tham gia",
    )
)
_STANDARDISED_YES = _YES | frozenset(
    fold(w) for w in ("Đã chuẩn hóa", "Đã chuẩn hoá", "Chuẩn hóa", "Đã CH", "Đạt", "Standardised")
)
_STANDARDISED_NO = _NO | frozenset(
    fold(w) for w in ("Chưa chuẩn hóa", "Chưa chuẩn hoá", "Chưa CH", "Không đạt")
)


def _key(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return fold(str(value))


@lru_cache(maxsize=4096)
def parse_subscriber_type(value: object) -> SubscriberType:
    """`Trả trước`, `TT`, `Prepaid` ... -> prepaid; `Trả sau`, `TS`, `Postpaid` -> postpaid.

    Raises:
        ValueProblem: ``missing_type`` or ``bad_type``.
    """
    if is_blank(value):
        raise ValueProblem("missing_type", value)
    found = _TYPES.get(_key(value))
    if found is None:
        raise ValueProblem("bad_type", value)
    return SubscriberType(found)


@lru_cache(maxsize=4096)
def parse_status(value: object) -> SubscriberStatus:
    """`Hoạt động 2 chiều`, `2C`, `Chặn 1 chiều`, `Đã hủy` ... to the status.

    Raises:
        ValueProblem: ``missing_status`` or ``bad_status``.
    """
    if is_blank(value):
        raise ValueProblem("missing_status", value)
    found = _STATUSES.get(_key(value))
    if found is None:
        raise ValueProblem("bad_status", value)
    return SubscriberStatus(found)


@lru_cache(maxsize=4096)
def parse_flag(value: object, *, standardised: bool = False) -> bool | None:
    """Yes/no columns (`Có`/`Không`, `x`/blank, `1`/`0`); blank is None ("not said").

    Raises:
        ValueProblem: ``bad_flag``.
    """
    if is_blank(value):
        return None
    if isinstance(value, bool):
        return value
    key = _key(value)
    yes, no = (_STANDARDISED_YES, _STANDARDISED_NO) if standardised else (_YES, _NO)
    if key in yes:
        return True
    if key in no:
        return False
    raise ValueProblem("bad_flag", value)


_ID_NUMBER = re.compile(r"^(\d{9}|\d{12})$")


def parse_id_number(value: object) -> str | None:
    """CMND (9 digits) or CCCD (12 digits) as text, leading zeros restored for numeric cells.

    Passport-like or odd values are kept as written (cleaned), since the extract is the source.
    """
    if is_blank(value):
        return None
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))
        if len(text) in (8, 11):  # Excel dropped one leading zero
            text = "0" + text
        return text
    if isinstance(value, int) and not isinstance(value, bool):
        return parse_id_number(float(value))
    text = re.sub(r"[\s.\u00a0]", "", str(value)).lstrip("'")
    if text.isdigit() and len(text) in (8, 11):  # a numeric cell lost its leading zero
        text = "0" + text
    return text or None


def parse_contact_number(value: object) -> str | None:
    """A contact number: normalised like a subscriber number when it is one, else kept."""
    if is_blank(value):
        return None
    try:
        return parse_msisdn(value).number
    except ValueProblem:
        return re.sub(r"\s+", " ", str(value)).strip()
