"""Table-driven and property tests for the cell normalisers in `mbfcare.domain.values`."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mbfcare.domain.values import (
    Msisdn,
    ValueProblem,
    cycle_code,
    format_date,
    format_money,
    parse_date,
    parse_flag,
    parse_id_number,
    parse_money,
    parse_month,
    parse_msisdn,
    parse_status,
    parse_subscriber_type,
    shift_month,
)

# --------------------------------------------------------------------------- numbers

MSISDN_OK = [
    # (raw cell, number, original, ported)
    ("0912345678", "0912345678", None, True),  # 091 is Vinaphone's prefix: kept, flagged
    ("0901234567", "0901234567", None, False),
    ("84901234567", "0901234567", None, False),
    ("+84 901 234 567", "0901234567", None, False),
    ("+84901234567", "0901234567", None, False),
    ("0084901234567", "0901234567", None, False),
    ("901234567", "0901234567", None, False),
    (901234567, "0901234567", None, False),
    (901234567.0, "0901234567", None, False),
    (84901234567, "0901234567", None, False),
    (84901234567.0, "0901234567", None, False),
    ("0901.234.567", "0901234567", None, False),
    ("0901-234-567", "0901234567", None, False),
    ("(090) 1234567", "0901234567", None, False),
    (" 0901234567 ", "0901234567", None, False),
    ("0901\u00a0234\u00a0567", "0901234567", None, False),
    ('="0901234567"', "0901234567", None, False),
    ("'0901234567", "0901234567", None, False),
    ("0912.345.678", "0912345678", None, True),
    ("84912345678", "0912345678", None, True),
    ("+84 912 345 678", "0912345678", None, True),
    ("912345678", "0912345678", None, True),
    (912345678, "0912345678", None, True),
    (912345678.0, "0912345678", None, True),
    (84912345678.0, "0912345678", None, True),
    # Pre-2018 eleven-digit numbers, converted with the original kept.
    ("01201234567", "0701234567", "01201234567", False),
    ("01211234567", "0791234567", "01211234567", False),
    ("01221234567", "0771234567", "01221234567", False),
    ("01261234567", "0761234567", "01261234567", False),
    ("01281234567", "0781234567", "01281234567", False),
    ("1201234567", "0701234567", "01201234567", False),  # Excel lost the zero
    (1201234567, "0701234567", "01201234567", False),
    (1201234567.0, "0701234567", "01201234567", False),
    ("841201234567", "0701234567", "01201234567", False),
    (841201234567, "0701234567", "01201234567", False),
    ("+84 120 123 4567", "0701234567", "01201234567", False),
    ("01681234567", "0381234567", "01681234567", True),  # Viettel legacy: converted, ported
    # Other operators' numbers: kept and flagged ported.
    ("0981234567", "0981234567", None, True),
    ("0861234567", "0861234567", None, True),
    ("0321234567", "0321234567", None, True),
    ("0921234567", "0921234567", None, True),
    ("0891234567", "0891234567", None, False),
    ("0931234567", "0931234567", None, False),
]


@pytest.mark.parametrize(("raw", "number", "original", "ported"), MSISDN_OK)
def test_parse_msisdn_accepts(raw: object, number: str, original: str | None,
                              ported: bool) -> None:
    assert parse_msisdn(raw) == Msisdn(number, original, ported)


MSISDN_BAD = [
    ("02253123456", "bad_msisdn"),  # Hải Phòng landline
    ("0225312345", "bad_msisdn"),  # a 10-digit landline form
    ("abc", "bad_msisdn"),
    ("12345", "bad_msisdn"),
    ("0912 34", "bad_msisdn"),
    ("091234567890", "bad_msisdn"),
    ("01101234567", "bad_msisdn"),  # no such legacy prefix
    ("0112345678", "bad_msisdn"),
    ("0612345678", "bad_msisdn"),
    ("0412345678", "bad_msisdn"),
    ("09123456a8", "bad_msisdn"),
    ("９１２３４５６７８", "bad_msisdn"),  # full-width digits are not ASCII
    (9.12345678e8 + 0.5, "bad_msisdn"),
    (-912345678, "bad_msisdn"),
    (-912345678.0, "bad_msisdn"),
    (True, "bad_msisdn"),
    ("", "missing_msisdn"),
    ("   ", "missing_msisdn"),
    ("\u00a0", "missing_msisdn"),
    (None, "missing_msisdn"),
    (float("nan"), "missing_msisdn"),
]


@pytest.mark.parametrize(("raw", "code"), MSISDN_BAD)
def test_parse_msisdn_rejects(raw: object, code: str) -> None:
    with pytest.raises(ValueProblem) as info:
        parse_msisdn(raw)
    assert info.value.code == code
    assert info.value.value is raw or info.value.value == raw or raw != raw  # nan != nan


MOBIFONE_PREFIXES = ["089", "090", "093", "070", "076", "077", "078", "079"]


def _forms(number: str) -> list[object]:
    rest = number[1:]
    return [
        number,
        "84" + rest,
        "+84" + rest,
        f"+84 {rest[:3]} {rest[3:6]} {rest[6:]}",
        rest,
        int(rest),
        float(rest),
        int("84" + rest),
        float("84" + rest),
        f"{number[:4]}.{number[4:7]}.{number[7:]}",
        f"{number[:4]} {number[4:7]} {number[7:]}",
        f"{number[:4]}-{number[4:7]}-{number[7:]}",
        "00" + "84" + rest,
        f" {number}\u00a0",
    ]


@settings(max_examples=150, deadline=None)
@given(prefix=st.sampled_from(MOBIFONE_PREFIXES), tail=st.integers(0, 9_999_999))
def test_every_written_form_of_a_mobifone_number_normalises_to_itself(prefix: str,
                                                                      tail: int) -> None:
    number = f"{prefix}{tail:07d}"
    for form in _forms(number):
        parsed = parse_msisdn(form)
        assert parsed.number == number, form
        assert parsed.ported is False, form
        assert parsed.original is None, form


LEGACY_MOBIFONE = {"0120": "070", "0121": "079", "0122": "077", "0126": "076", "0128": "078"}


@settings(max_examples=100, deadline=None)
@given(old=st.sampled_from(sorted(LEGACY_MOBIFONE)), tail=st.integers(0, 9_999_999))
def test_every_form_of_a_legacy_number_converts_and_keeps_the_original(old: str,
                                                                       tail: int) -> None:
    original = f"{old}{tail:07d}"
    expected = LEGACY_MOBIFONE[old] + f"{tail:07d}"
    for form in (original, original[1:], int(original[1:]), float(original[1:]),
                 "84" + original[1:], "+84 " + original[1:]):
        assert parse_msisdn(form) == Msisdn(expected, original, False), form


# --------------------------------------------------------------------------- money

MONEY_OK = [
    (700000, 700000),
    (700000.0, 700000),
    (700000.99, 700000),
    (0, 0),
    (0.0, 0),
    ("700.000", 700000),
    ("700,000", 700000),
    ("700 000 đ", 700000),
    ("700 000đ", 700000),
    ("700000đ", 700000),
    ("700000 đ", 700000),
    ("700.000 đ", 700000),
    ("700.000đ", 700000),
    ("700.000 VND", 700000),
    ("700.000 VNĐ", 700000),
    ("700.000 đồng", 700000),
    ("700\u00a0000", 700000),
    ("700000", 700000),
    ("  700000  ", 700000),
    ("1.234.567", 1234567),
    ("1,234,567", 1234567),
    ("1 234 567", 1234567),
    ("1.234,56", 1234),
    ("1,234.56", 1234),
    ("1.234,5", 1234),
    ("700000,99", 700000),
    ("700000.5", 700000),
    ("0", 0),
    ("0 đ", 0),
    ("", None),
    ("   ", None),
    (None, None),
    (float("nan"), None),
]


@pytest.mark.parametrize(("raw", "expected"), MONEY_OK)
def test_parse_money_accepts(raw: object, expected: int | None) -> None:
    result = parse_money(raw)
    assert result == expected
    assert result is None or type(result) is int


MONEY_BAD = [
    "12.34.5",
    "1.2.3",
    "1.234.56.7",
    "1.234,567,89",
    "-700000",
    "-700.000",
    -1,
    -0.5,
    float("inf"),
    "abc",
    "700k",
    "7e5",
    "1.23.456",
    "1,234.567,89",
    "1.234,567.89",
    True,
    False,
]


@pytest.mark.parametrize("raw", MONEY_BAD)
def test_parse_money_rejects(raw: object) -> None:
    with pytest.raises(ValueProblem) as info:
        parse_money(raw)
    assert info.value.code == "bad_money"


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=10**15))
def test_money_written_with_thousands_dots_round_trips(amount: int) -> None:
    dotted = f"{amount:,}".replace(",", ".")
    assert parse_money(dotted) == amount
    assert parse_money(dotted + " đ") == amount
    assert parse_money(f"{amount:,}") == amount
    assert parse_money(format_money(amount)) == amount
    assert parse_money(amount) == amount
    assert parse_money(str(amount)) == amount


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=10**12), st.integers(min_value=0, max_value=99))
def test_money_decimals_round_down(amount: int, cents: int) -> None:
    dotted = f"{amount:,}".replace(",", ".")
    assert parse_money(f"{dotted},{cents:02d}") == amount
    assert parse_money(f"{amount:,}.{cents:02d}") == amount


def _money_outcome(value: object) -> None:
    try:
        result = parse_money(value)
    except ValueProblem:
        return
    assert result is None or (type(result) is int and result >= 0), (value, result)


@settings(max_examples=1000, deadline=None)
@given(st.text())
def test_parse_money_on_arbitrary_text_never_negative_never_other_errors(text: str) -> None:
    _money_outcome(text)


@settings(max_examples=1000, deadline=None)
@given(st.text(alphabet="0123456789.,- đ\u00a0VNDvnd+e", max_size=20))
def test_parse_money_on_money_like_text_never_negative_never_other_errors(text: str) -> None:
    _money_outcome(text)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.integers(), st.floats(allow_nan=True, allow_infinity=True)))
def test_parse_money_on_numbers_never_negative_never_other_errors(value: float) -> None:
    _money_outcome(value)


@pytest.mark.parametrize("text", ["²", "¹²³", "½", "①"])
def test_parse_money_unicode_digit_like_text_is_a_value_problem(text: str) -> None:
    # str.isdigit() is True for these, but int() cannot read them.
    with pytest.raises(ValueProblem):
        parse_money(text)


def test_format_money() -> None:
    assert format_money(700000) == "700.000 đ"
    assert format_money(0) == "0 đ"
    assert format_money(None) == ""
    assert format_money(1234567) == "1.234.567 đ"


# --------------------------------------------------------------------------- dates

DATES_OK = [
    (dt.date(2017, 2, 1), dt.date(2017, 2, 1)),
    (dt.datetime(2017, 2, 1, 13, 45), dt.date(2017, 2, 1)),
    (42736, dt.date(2017, 1, 1)),
    (42736.0, dt.date(2017, 1, 1)),
    (42736.75, dt.date(2017, 1, 1)),
    ("42736", dt.date(2017, 1, 1)),
    ("01/02/2017", dt.date(2017, 2, 1)),
    ("1/2/2017", dt.date(2017, 2, 1)),
    ("1/2/17", dt.date(2017, 2, 1)),
    ("01-02-2017", dt.date(2017, 2, 1)),
    ("01.02.2017", dt.date(2017, 2, 1)),
    ("2017-02-01", dt.date(2017, 2, 1)),
    ("2017-2-1", dt.date(2017, 2, 1)),
    ("2017-02-01 00:00:00", dt.date(2017, 2, 1)),
    ("2017-02-01T08:30", dt.date(2017, 2, 1)),
    ("31/12/2017", dt.date(2017, 12, 31)),
    ("29/02/2016", dt.date(2016, 2, 29)),
    (" 13/05/1985 ", dt.date(1985, 5, 13)),
    ("13/05/85", dt.date(1985, 5, 13)),
    ("5/6/30", dt.date(2030, 6, 5)),
    ("5/6/31", dt.date(1931, 6, 5)),
    ("", None),
    (None, None),
    ("  ", None),
]


@pytest.mark.parametrize(("raw", "expected"), DATES_OK)
def test_parse_date_accepts(raw: object, expected: dt.date | None) -> None:
    result = parse_date(raw)
    assert result == expected
    assert result is None or type(result) is dt.date


DATES_BAD = [
    "12/31/2017",  # month-first is never read
    "31/13/2017",
    "32/01/2017",
    "29/02/2017",
    "2017/02/30",
    "abc",
    "1/2",
    "Feb 1 2017",
    12,
    10**9,
    -42736,
    True,
]


@pytest.mark.parametrize("raw", DATES_BAD)
def test_parse_date_rejects(raw: object) -> None:
    with pytest.raises(ValueProblem) as info:
        parse_date(raw)
    assert info.value.code == "bad_date"


@settings(max_examples=200, deadline=None)
@given(st.dates(min_value=dt.date(1950, 1, 1), max_value=dt.date(2100, 12, 31)))
def test_dates_round_trip_through_every_form(day: dt.date) -> None:
    assert parse_date(format_date(day)) == day
    assert parse_date(day.isoformat()) == day
    assert parse_date((day - dt.date(1899, 12, 30)).days) == day
    assert parse_date(dt.datetime.combine(day, dt.time(23, 59))) == day


def test_format_date() -> None:
    assert format_date(dt.date(2017, 2, 1)) == "01/02/2017"
    assert format_date(None) == ""


# --------------------------------------------------------------------------- months

@pytest.mark.parametrize(("text", "expected"), [
    ("05/2017", (2017, 5)),
    ("5/2017", (2017, 5)),
    ("12/2017", (2017, 12)),
    (" 09/2017 ", (2017, 9)),
    ("2017-05", (2017, 5)),
    ("05-2017", (2017, 5)),
    ("05.2017", (2017, 5)),
])
def test_parse_month_accepts(text: str, expected: tuple[int, int]) -> None:
    assert parse_month(text) == expected


@pytest.mark.parametrize("text", ["13/2017", "00/2017", "2017", "05/17", "abc", "", "05/1800"])
def test_parse_month_rejects(text: str) -> None:
    with pytest.raises(ValueProblem) as info:
        parse_month(text)
    assert info.value.code == "bad_month"


@pytest.mark.parametrize(("start", "delta", "expected"), [
    ((2017, 9), -3, (2017, 6)),
    ((2017, 9), -5, (2017, 4)),
    ((2017, 3), -3, (2016, 12)),
    ((2017, 3), -5, (2016, 10)),
    ((2017, 12), 1, (2018, 1)),
    ((2017, 1), -1, (2016, 12)),
    ((2017, 1), -13, (2015, 12)),
    ((2017, 6), 0, (2017, 6)),
])
def test_shift_month(start: tuple[int, int], delta: int, expected: tuple[int, int]) -> None:
    assert shift_month(*start, delta) == expected


@settings(max_examples=200, deadline=None)
@given(st.integers(1990, 2100), st.integers(1, 12), st.integers(-600, 600))
def test_shift_month_inverts(year: int, month: int, delta: int) -> None:
    y, m = shift_month(year, month, delta)
    assert 1 <= m <= 12
    assert shift_month(y, m, -delta) == (year, month)


def test_cycle_code() -> None:
    assert cycle_code(2017, 6) == 201706
    assert cycle_code(2016, 12) == 201612


# --------------------------------------------------------------------------- types, statuses

TYPES = [
    ("Trả trước", "prepaid"), ("trả trước", "prepaid"), ("TRẢ TRƯỚC", "prepaid"),
    ("Tra truoc", "prepaid"), ("TT", "prepaid"), ("tt", "prepaid"), ("Prepaid", "prepaid"),
    ("PREPAID", "prepaid"), (" Trả\u00a0trước ", "prepaid"),
    ("Tra\u0309 tru\u031bo\u031bc", "prepaid"),  # NFD
    ("Trả sau", "postpaid"), ("trả sau", "postpaid"), ("TRẢ SAU", "postpaid"),
    ("Tra sau", "postpaid"), ("TS", "postpaid"), ("ts", "postpaid"), ("Postpaid", "postpaid"),
    ("postpaid", "postpaid"),
]


@pytest.mark.parametrize(("raw", "expected"), TYPES)
def test_parse_subscriber_type(raw: str, expected: str) -> None:
    assert parse_subscriber_type(raw) == expected


@pytest.mark.parametrize(("raw", "code"), [
    ("Trả góp", "bad_type"), ("X", "bad_type"), ("1", "bad_type"), ("", "missing_type"),
    (None, "missing_type"), ("  ", "missing_type"),
])
def test_parse_subscriber_type_rejects(raw: object, code: str) -> None:
    with pytest.raises(ValueProblem) as info:
        parse_subscriber_type(raw)
    assert info.value.code == code


STATUSES = [
    ("Hoạt động 2 chiều", "active"), ("hoạt động 2 chiều", "active"),
    ("HOẠT ĐỘNG 2 CHIỀU", "active"), ("Hoat dong 2 chieu", "active"), ("2C", "active"),
    ("2c", "active"), ("Hoạt động", "active"), ("Hoạt  động", "active"),
    ("Hoa\u0323t đô\u0323ng 2 chiê\u0300u", "active"),  # NFD
    ("Chặn 1 chiều", "blocked_one_way"), ("chan 1 chieu", "blocked_one_way"),
    ("1C", "blocked_one_way"), ("1c", "blocked_one_way"),
    ("Chặn 2 chiều", "blocked_two_way"), ("CHAN 2 CHIEU", "blocked_two_way"),
    ("Đã hủy", "cancelled"), ("Đã huỷ", "cancelled"), ("da huy", "cancelled"),
    ("ĐÃ HỦY", "cancelled"),
]


@pytest.mark.parametrize(("raw", "expected"), STATUSES)
def test_parse_status(raw: str, expected: str) -> None:
    assert parse_status(raw) == expected


@pytest.mark.parametrize(("raw", "code"), [
    ("Tạm ngưng xx", "bad_status"), ("3C", "bad_status"), ("", "missing_status"),
    (None, "missing_status"),
])
def test_parse_status_rejects(raw: object, code: str) -> None:
    with pytest.raises(ValueProblem) as info:
        parse_status(raw)
    assert info.value.code == code
    assert info.value.value == raw


# --------------------------------------------------------------------------- flags

FLAGS = [
    ("Có", True), ("có", True), ("CÓ", True), ("Co", True), ("x", True), ("X", True),
    ("1", True), (1, True), (1.0, True), (True, True),
    ("Không", False), ("không", False), ("KHÔNG", False), ("Khong", False), ("0", False),
    (0, False), (0.0, False), (False, False),
    ("", None), (None, None), ("  ", None),
]


@pytest.mark.parametrize(("raw", "expected"), FLAGS)
def test_parse_flag(raw: object, expected: bool | None) -> None:
    assert parse_flag(raw) is expected


STANDARDISED = [
    ("Đã chuẩn hóa", True), ("Đã chuẩn hoá", True), ("da chuan hoa", True), ("Có", True),
    ("Chưa", False), ("chua", False), ("Không", False), ("Chưa chuẩn hóa", False),
    ("", None), (None, None),
]


@pytest.mark.parametrize(("raw", "expected"), STANDARDISED)
def test_parse_flag_standardised(raw: object, expected: bool | None) -> None:
    assert parse_flag(raw, standardised=True) is expected


@pytest.mark.parametrize("raw", ["Đã chuẩn hóa", "Chưa chuẩn hóa", "maybe", "2", 2])
def test_parse_flag_rejects_unknown(raw: object) -> None:
    with pytest.raises(ValueProblem) as info:
        parse_flag(raw)
    assert info.value.code == "bad_flag"


# --------------------------------------------------------------------------- id numbers

@pytest.mark.parametrize(("raw", "expected"), [
    ("012345678", "012345678"),
    (12345678, "012345678"),  # Excel dropped one leading zero of a CMND
    (12345678.0, "012345678"),
    (123456789, "123456789"),
    (123456789.0, "123456789"),
    ("031085001234", "031085001234"),
    (31085001234, "031085001234"),  # CCCD lost its zero
    (31085001234.0, "031085001234"),
    ("031 085 001 234", "031085001234"),
    ("'012345678", "012345678"),
    ("012.345.678", "012345678"),
    ("B1234567", "B1234567"),  # passport kept as written
    ("", None),
    (None, None),
])
def test_parse_id_number(raw: object, expected: str | None) -> None:
    assert parse_id_number(raw) == expected
