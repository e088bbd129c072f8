"""Checks on the identity data collected to standardise a profile (chuẩn hóa thông tin).

The information collection form asks for name, CMND/CCCD number, date of birth and address.
Staff type them from the paper form, so every check answers with one Vietnamese sentence
the clerk can act on, and the number's own structure is used to catch typing slips: a CCCD
carries its province of registration, the century and sex, and the year of birth.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from dataclasses import dataclass
from functools import cache

from mbfcare.domain.values import ValueProblem, format_date, parse_date
from mbfcare.domain.vntext import VIETNAMESE_LETTERS, clean_text
from mbfcare.paths import reference_file

__all__ = [
    "MAX_AGE",
    "MIN_AGE",
    "IdNumber",
    "IdProblem",
    "ProfileInput",
    "age_on",
    "cccd_province",
    "cccd_provinces",
    "check_id_against_birth",
    "parse_id_number",
    "title_case_name",
    "validate_profile",
]

MIN_AGE = 14  # the age from which a citizen holds an identity card
MAX_AGE = 120

CCCD = "cccd"
CMND = "cmnd"


def _century_start(digit: int) -> int:
    """Thông tư 07/2016/TT-BCA, Điều 7: the 4th digit is century and sex, men even, women odd.

    0/1 are born 1900–1999, 2/3 2000–2099, 4/5 2100–2199, 6/7 2200–2299, 8/9 2300–2399.
    """
    return 1900 + 100 * (digit // 2)


class IdProblem(ValueError):
    """An identity number that cannot be right; the message is one sentence for the user."""


@dataclass(frozen=True, slots=True)
class IdNumber:
    """A CMND (9 digits) or CCCD (12 digits) number, digits only."""

    kind: str  # "cccd" or "cmnd"
    number: str

    @property
    def province_code(self) -> str | None:
        """The CCCD's three-digit province code (None for a CMND, whose scheme differs)."""
        return self.number[:3] if self.kind == CCCD else None

    @property
    def is_female(self) -> bool | None:
        """The sex written in a CCCD's 4th digit (odd is female); None for a CMND."""
        return int(self.number[3]) % 2 == 1 if self.kind == CCCD else None

    @property
    def birth_year(self) -> int | None:
        """The year of birth a CCCD encodes (century digit + two year digits); None for a CMND."""
        if self.kind != CCCD:
            return None
        return _century_start(int(self.number[3])) + int(self.number[4:6])

    def __str__(self) -> str:
        return self.number


@cache
def cccd_provinces() -> dict[str, str]:
    """Province code ("001") -> province name, from `cccd_provinces.toml`."""
    with reference_file("cccd_provinces.toml").open("rb") as fh:
        codes: dict[str, str] = tomllib.load(fh)["codes"]
    return codes


def cccd_province(number: IdNumber) -> str | None:
    """The province a CCCD was registered in (its old, pre-2025 name); None for a CMND."""
    code = number.province_code
    return None if code is None else cccd_provinces().get(code)


# Spaces, dots and dashes typed between digit groups; a leading "'" is Excel's text marker.
_ID_SEPARATORS = re.compile(r"[\s.\-\u2010-\u2015]+")


def parse_id_number(text: str) -> IdNumber:
    """Read a CMND or CCCD number as typed ("001 085 012345", "001.085.012.345").

    Twelve digits are a CCCD (the 12-digit CMND issued 2012–2016 has the same structure);
    nine digits are a CMND. A CCCD's first three digits must be a province code.

    Raises:
        IdProblem: empty, not digits, wrong length, or an unknown province code.
    """
    raw = clean_text(text)
    if not raw:
        raise IdProblem("Chưa nhập số CMND/CCCD.")
    digits = _ID_SEPARATORS.sub("", raw.lstrip("'"))
    bad = next((ch for ch in digits if not ("0" <= ch <= "9")), None)
    if bad is not None:
        raise IdProblem(f"Số CMND/CCCD chỉ được gồm chữ số (có ký tự '{bad}').")
    count = len(digits)
    if count == 9:
        if digits == "0" * 9:
            raise IdProblem("Số CMND không thể toàn chữ số 0.")
        return IdNumber(CMND, digits)
    if count < 9:
        raise IdProblem(f"Số CMND phải có 9 chữ số, số CCCD phải có 12 chữ số (đã nhập {count}).")
    if count != 12:
        raise IdProblem(f"Số CCCD phải có 12 chữ số (đã nhập {count}).")
    code = digits[:3]
    if code not in cccd_provinces():
        raise IdProblem(f"Mã tỉnh {code} ở đầu số CCCD không tồn tại.")
    return IdNumber(CCCD, digits)


def check_id_against_birth(id_number: IdNumber, birth: dt.date | None) -> str | None:
    """Whether a CCCD's century and year digits agree with the date of birth.

    A CMND carries no year, and without a date there is nothing to compare: both pass.

    Returns:
        A sentence naming the disagreement, or None when they agree.
    """
    year = id_number.birth_year
    if year is None or birth is None or year == birth.year:
        return None
    if year // 100 != birth.year // 100:
        return (
            f"Chữ số thứ 4 của số CCCD là {id_number.number[3]}, tức sinh trong các năm "
            f"{year // 100 * 100}–{year // 100 * 100 + 99}, nhưng ngày sinh là "
            f"{format_date(birth)}."
        )
    return (
        f"Số CCCD ghi năm sinh {year} ({id_number.number[4:6]}), nhưng ngày sinh là "
        f"{format_date(birth)}."
    )


@dataclass(frozen=True, slots=True)
class ProfileInput:
    """A checked profile from the information collection form, ready to store."""

    name: str
    id_number: IdNumber
    birth_date: dt.date
    address: str


_NAME_LETTERS = frozenset(VIETNAMESE_LETTERS)
_APOSTROPHES = "'’"  # Central Highlands names: H'Hen Niê, Ksor H'Nhung


def title_case_name(name: str) -> str:
    """`NGUYỄN VĂN AN` / `nguyễn văn an` -> `Nguyễn Văn An`; each part after an apostrophe too.

    `str.title()` would also do that, but it capitalises after any non-letter, so it is kept
    to the letters and apostrophes a name may hold.
    """
    words = []
    for word in name.split(" "):
        parts = re.split(f"([{_APOSTROPHES}])", word)
        words.append("".join(part[:1].upper() + part[1:].lower() for part in parts))
    return " ".join(words)


def _check_name(text: str) -> tuple[str | None, str | None]:
    """(cleaned name, problem)."""
    name = clean_text(text)
    if not name:
        return None, "Chưa nhập họ tên."
    bad = next(
        (ch for ch in name if ch not in _NAME_LETTERS and ch != " " and ch not in _APOSTROPHES),
        None,
    )
    if bad is not None:
        return None, f"Họ tên chỉ được gồm chữ cái, dấu cách và dấu nháy (có ký tự '{bad}')."
    if len(name.split(" ")) < 2:
        return None, "Họ tên phải có ít nhất hai chữ (họ và tên)."
    # Mixed case is left alone: the customer may write "McDonald" or "DiCaprio" on purpose.
    if name == name.lower() or name == name.upper():
        name = title_case_name(name)
    return name, None


def age_on(birth: dt.date, today: dt.date) -> int:
    """Whole years of age on `today` (someone born on 29 February turns a year older on 1 March)."""
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def _check_birth(text: str, today: dt.date) -> tuple[dt.date | None, str | None]:
    """(date of birth, problem)."""
    typed = clean_text(text)
    if not typed:
        return None, "Chưa nhập ngày sinh."
    example = "nhập ngày/tháng/năm, ví dụ 05/09/1980"
    if typed.isdigit():
        # `parse_date` reads bare numbers as Excel serials; typed, "1980" means only a year.
        if len(typed) != 8:
            return None, f"Ngày sinh phải có đủ ngày, tháng, năm ({example})."
        typed = f"{typed[:2]}/{typed[2:4]}/{typed[4:]}"  # ddmmyyyy typed without separators
    try:
        birth = parse_date(typed)
    except ValueProblem:
        birth = None
    if birth is None:
        return None, f"Ngày sinh '{typed}' không đúng ({example})."
    if birth > today:
        return None, f"Ngày sinh {format_date(birth)} ở sau ngày hôm nay."
    age = age_on(birth, today)
    if age < MIN_AGE:
        return None, f"Khách hàng phải đủ {MIN_AGE} tuổi (ngày sinh cho thấy {age} tuổi)."
    if age > MAX_AGE:
        return None, (
            f"Ngày sinh {format_date(birth)} cho thấy {age} tuổi, quá {MAX_AGE} tuổi; "
            "hãy kiểm tra lại năm sinh."
        )
    return birth, None


_MIN_ADDRESS = 5


def _check_address(text: str) -> tuple[str | None, str | None]:
    """(cleaned address, problem)."""
    address = clean_text(text)
    if not address:
        return None, "Chưa nhập địa chỉ."
    if len(address) < _MIN_ADDRESS:
        return None, f"Địa chỉ quá ngắn (cần ít nhất {_MIN_ADDRESS} ký tự)."
    return address, None


def validate_profile(
    name: str, id_text: str, birth_text: str, address: str, *, today: dt.date
) -> tuple[ProfileInput | None, dict[str, str]]:
    """Check the four fields of the information collection form together.

    Every field is checked, so the form can mark all its problems at once. The CCCD's year
    digits are compared with the date of birth only when both are readable; a disagreement
    is reported on "id_number".

    Returns:
        (profile, {}) when everything is right, else (None, {field: sentence}) with fields
        among "name", "id_number", "birth_date", "address".
    """
    problems: dict[str, str] = {}
    clean_name, problem = _check_name(name)
    if problem:
        problems["name"] = problem
    id_number: IdNumber | None = None
    try:
        id_number = parse_id_number(id_text)
    except IdProblem as exc:
        problems["id_number"] = str(exc)
    birth, problem = _check_birth(birth_text, today)
    if problem:
        problems["birth_date"] = problem
    clean_address, problem = _check_address(address)
    if problem:
        problems["address"] = problem
    if id_number is not None and birth is not None:
        problem = check_id_against_birth(id_number, birth)
        if problem:
            problems["id_number"] = problem
    if problems or not (clean_name and id_number and birth and clean_address):
        return None, problems
    return ProfileInput(clean_name, id_number, birth, clean_address), {}
