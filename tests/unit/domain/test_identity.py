"""Identity data for profile standardisation: CMND/CCCD numbers, birth dates, names."""

from __future__ import annotations

import datetime as dt
import unicodedata

import pytest

from mbfcare.domain.identity import (
    IdNumber,
    IdProblem,
    ProfileInput,
    age_on,
    cccd_province,
    cccd_provinces,
    check_id_against_birth,
    parse_id_number,
    title_case_name,
    validate_profile,
)

TODAY = dt.date(2025, 6, 15)


# --- numbers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "kind", "number"),
    [
        ("001085012345", "cccd", "001085012345"),
        ("001 085 012 345", "cccd", "001085012345"),
        ("031.195.000.111", "cccd", "031195000111"),
        ("022-3-05-123456", "cccd", "022305123456"),
        (" 079090000001 ", "cccd", "079090000001"),
        ("'034185000999", "cccd", "034185000999"),  # Excel's text marker
        ("123456789", "cmnd", "123456789"),
        ("031 234 567", "cmnd", "031234567"),
    ],
)
def test_parse_id_number_accepts_usual_forms(typed: str, kind: str, number: str) -> None:
    assert parse_id_number(typed) == IdNumber(kind, number)


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("00108501234", "Số CCCD phải có 12 chữ số (đã nhập 11)."),
        ("0010850123456", "Số CCCD phải có 12 chữ số (đã nhập 13)."),
        ("1234567890", "Số CCCD phải có 12 chữ số (đã nhập 10)."),
        ("12345678", "Số CMND phải có 9 chữ số, số CCCD phải có 12 chữ số (đã nhập 8)."),
        ("099085012345", "Mã tỉnh 099 ở đầu số CCCD không tồn tại."),
        ("003085012345", "Mã tỉnh 003 ở đầu số CCCD không tồn tại."),
        ("00108501234O", "Số CMND/CCCD chỉ được gồm chữ số (có ký tự 'O')."),
        ("B1234567", "Số CMND/CCCD chỉ được gồm chữ số (có ký tự 'B')."),
        ("000000000", "Số CMND không thể toàn chữ số 0."),
        ("", "Chưa nhập số CMND/CCCD."),
        ("   ", "Chưa nhập số CMND/CCCD."),
    ],
)
def test_parse_id_number_refuses_with_a_sentence(typed: str, message: str) -> None:
    with pytest.raises(IdProblem) as caught:
        parse_id_number(typed)
    assert str(caught.value) == message
    assert isinstance(caught.value, ValueError)


def test_province_codes_are_the_63_of_the_ministry_list() -> None:
    codes = cccd_provinces()
    assert len(codes) == 63
    assert codes["001"] == "Hà Nội"
    assert codes["031"] == "Hải Phòng"
    assert codes["022"] == "Quảng Ninh"
    assert codes["030"] == "Hải Dương"
    assert codes["033"] == "Hưng Yên"
    assert codes["034"] == "Thái Bình"
    assert codes["035"] == "Hà Nam"
    assert codes["036"] == "Nam Định"
    assert codes["037"] == "Ninh Bình"
    assert codes["048"] == "Đà Nẵng"
    assert codes["079"] == "Hồ Chí Minh"
    assert codes["096"] == "Cà Mau"
    assert all(len(code) == 3 and code.isdigit() for code in codes)
    assert all(unicodedata.is_normalized("NFC", name) for name in codes.values())


def test_cccd_parts() -> None:
    man_1985 = parse_id_number("031085012345")
    assert man_1985.province_code == "031"
    assert cccd_province(man_1985) == "Hải Phòng"
    assert man_1985.birth_year == 1985
    assert man_1985.is_female is False
    woman_2001 = parse_id_number("022301000001")
    assert woman_2001.birth_year == 2001
    assert woman_2001.is_female is True


@pytest.mark.parametrize(
    ("digit", "year"),
    [
        ("0", 1985),
        ("1", 1985),
        ("2", 2085),
        ("3", 2085),
        ("4", 2185),
        ("5", 2185),
        ("6", 2285),
        ("7", 2285),
        ("8", 2385),
        ("9", 2385),
    ],
)
def test_century_digit_follows_circular_07_2016(digit: str, year: int) -> None:
    assert parse_id_number(f"001{digit}85012345").birth_year == year


def test_cmnd_carries_no_province_sex_or_year() -> None:
    cmnd = parse_id_number("031234567")
    assert (cmnd.province_code, cmnd.is_female, cmnd.birth_year) == (None, None, None)
    assert cccd_province(cmnd) is None
    assert str(cmnd) == "031234567"


# --- number against date of birth ----------------------------------------------------------


def test_check_id_against_birth_agreeing() -> None:
    assert check_id_against_birth(parse_id_number("001085012345"), dt.date(1985, 9, 5)) is None
    assert check_id_against_birth(parse_id_number("001305012345"), dt.date(2005, 1, 1)) is None


def test_check_id_against_birth_wrong_year() -> None:
    problem = check_id_against_birth(parse_id_number("001085012345"), dt.date(1986, 1, 2))
    assert problem == "Số CCCD ghi năm sinh 1985 (85), nhưng ngày sinh là 02/01/1986."


def test_check_id_against_birth_wrong_century() -> None:
    problem = check_id_against_birth(parse_id_number("001285012345"), dt.date(1985, 1, 2))
    assert problem == (
        "Chữ số thứ 4 của số CCCD là 2, tức sinh trong các năm 2000–2099, "
        "nhưng ngày sinh là 02/01/1985."
    )


def test_check_id_against_birth_nothing_to_compare() -> None:
    assert check_id_against_birth(parse_id_number("123456789"), dt.date(1985, 1, 2)) is None
    assert check_id_against_birth(parse_id_number("001085012345"), None) is None


# --- names, ages ---------------------------------------------------------------------------


def test_title_case_name() -> None:
    assert title_case_name("NGUYỄN VĂN ĐỨC") == "Nguyễn Văn Đức"
    assert title_case_name("trần thị ánh") == "Trần Thị Ánh"
    assert title_case_name("h'hen niê") == "H'Hen Niê"


def test_age_on_counts_whole_years() -> None:
    assert age_on(dt.date(2011, 6, 15), TODAY) == 14
    assert age_on(dt.date(2011, 6, 16), TODAY) == 13
    assert age_on(dt.date(2004, 2, 29), dt.date(2018, 2, 28)) == 13
    assert age_on(dt.date(2004, 2, 29), dt.date(2018, 3, 1)) == 14


# --- the whole form ------------------------------------------------------------------------


def _validate(
    name: str = "Nguyễn Văn An",
    id_text: str = "031085012345",
    birth: str = "05/09/1985",
    address: str = "12 Lê Lợi, Ngô Quyền, Hải Phòng",
) -> tuple[ProfileInput | None, dict[str, str]]:
    return validate_profile(name, id_text, birth, address, today=TODAY)


def test_validate_profile_cleans_a_good_form() -> None:
    decomposed = unicodedata.normalize("NFD", "  NGUYỄN   VĂN  AN ")
    profile, problems = _validate(name=decomposed, address=" 12  Lê Lợi,\u00a0Hải Phòng ")
    assert problems == {}
    assert profile == ProfileInput(
        "Nguyễn Văn An",
        IdNumber("cccd", "031085012345"),
        dt.date(1985, 9, 5),
        "12 Lê Lợi, Hải Phòng",
    )
    assert unicodedata.is_normalized("NFC", profile.name)


def test_validate_profile_keeps_mixed_case_names() -> None:
    profile, _ = _validate(name="Lê thị McLan")
    assert profile is not None
    assert profile.name == "Lê thị McLan"


def test_validate_profile_accepts_cmnd_and_apostrophe_names() -> None:
    profile, problems = _validate(name="KSOR H'NHUNG", id_text="241 234 567")
    assert problems == {}
    assert profile is not None
    assert profile.name == "Ksor H'Nhung"
    assert profile.id_number == IdNumber("cmnd", "241234567")


def test_validate_profile_accepts_ddmmyyyy_without_separators() -> None:
    profile, problems = _validate(birth="05091985")
    assert problems == {}
    assert profile is not None
    assert profile.birth_date == dt.date(1985, 9, 5)


def test_validate_profile_reports_every_field() -> None:
    profile, problems = validate_profile("", "", "", "", today=TODAY)
    assert profile is None
    assert problems == {
        "name": "Chưa nhập họ tên.",
        "id_number": "Chưa nhập số CMND/CCCD.",
        "birth_date": "Chưa nhập ngày sinh.",
        "address": "Chưa nhập địa chỉ.",
    }


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("An", "Họ tên phải có ít nhất hai chữ (họ và tên)."),
        ("Nguyễn Văn 3", "Họ tên chỉ được gồm chữ cái, dấu cách và dấu nháy (có ký tự '3')."),
        ("Nguyễn-Văn An", "Họ tên chỉ được gồm chữ cái, dấu cách và dấu nháy (có ký tự '-')."),
    ],
)
def test_validate_profile_name_rules(name: str, message: str) -> None:
    assert _validate(name=name) == (None, {"name": message})


@pytest.mark.parametrize(
    ("birth", "message"),
    [
        ("1985", "Ngày sinh phải có đủ ngày, tháng, năm (nhập ngày/tháng/năm, ví dụ 05/09/1980)."),
        (
            "31/02/1985",
            "Ngày sinh '31/02/1985' không đúng (nhập ngày/tháng/năm, ví dụ 05/09/1980).",
        ),
        ("01/01/2026", "Ngày sinh 01/01/2026 ở sau ngày hôm nay."),
        ("16/06/2011", "Khách hàng phải đủ 14 tuổi (ngày sinh cho thấy 13 tuổi)."),
        (
            "01/01/1900",
            "Ngày sinh 01/01/1900 cho thấy 125 tuổi, quá 120 tuổi; hãy kiểm tra lại năm sinh.",
        ),
    ],
)
def test_validate_profile_birth_rules(birth: str, message: str) -> None:
    # A CMND, so that the CCCD year check does not also fire.
    assert _validate(id_text="123456789", birth=birth) == (None, {"birth_date": message})


def test_validate_profile_birth_at_the_limits() -> None:
    assert _validate(id_text="123456789", birth="15/06/2011")[1] == {}
    assert _validate(id_text="123456789", birth="16/06/1904")[1] == {}


def test_validate_profile_short_address() -> None:
    assert _validate(address="HP ") == (
        None,
        {"address": "Địa chỉ quá ngắn (cần ít nhất 5 ký tự)."},
    )


def test_validate_profile_id_must_agree_with_birth() -> None:
    profile, problems = _validate(id_text="031086012345")
    assert profile is None
    assert problems == {
        "id_number": "Số CCCD ghi năm sinh 1986 (86), nhưng ngày sinh là 05/09/1985."
    }


def test_validate_profile_bad_id_skips_the_agreement_check() -> None:
    _, problems = _validate(id_text="099085012345", birth="01/01/1990")
    assert problems == {"id_number": "Mã tỉnh 099 ở đầu số CCCD không tồn tại."}
