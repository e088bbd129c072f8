"""Tests for provinces, the KV5 area and mobile number prefixes."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mbfcare.domain.reference import (
    ProvinceMatch,
    in_area,
    is_mobifone_prefix,
    kv5_districts,
    kv5_provinces_2017,
    legacy_msisdn_prefixes,
    match_province,
    new_province_of,
    new_provinces,
    old_provinces,
    operator_of,
)

KV5 = (
    "Hải Phòng", "Quảng Ninh", "Hải Dương", "Thái Bình", "Hưng Yên", "Bắc Ninh", "Bắc Giang",
    "Cao Bằng", "Bắc Kạn", "Lạng Sơn", "Hà Giang", "Tuyên Quang", "Thái Nguyên",
)  # fmt: skip


def test_counts() -> None:
    assert len(old_provinces()) == 63
    assert len(set(old_provinces())) == 63
    assert len(new_provinces()) == 34
    assert set(new_province_of(o) for o in old_provinces()) == set(new_provinces())


def test_kv5_2017() -> None:
    assert kv5_provinces_2017() == KV5
    assert {new_province_of(p) for p in KV5} == {
        "Hải Phòng", "Quảng Ninh", "Hưng Yên", "Bắc Ninh", "Thái Nguyên", "Tuyên Quang",
        "Lạng Sơn", "Cao Bằng",
    }  # fmt: skip


@pytest.mark.parametrize("province", KV5)
def test_kv5_districts(province: str) -> None:
    districts = kv5_districts(province)
    assert len(districts) >= 5
    assert len(set(districts)) == len(districts)
    for name in districts:
        assert name == unicodedata.normalize("NFC", name).strip()
        assert not name.lower().startswith(("huyện", "quận", "thị xã", "thành phố", "tp"))


def test_kv5_districts_any_spelling_and_outside() -> None:
    assert kv5_districts("tinh quang ninh")[0] == "Hạ Long"
    assert "Hồng Bàng" in kv5_districts("TP. Hải Phòng")
    assert kv5_districts("Hà Nội") == ()
    assert kv5_districts("Atlantis") == ()


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("Hà Giang", "Tuyên Quang"),
        ("Bắc Kạn", "Thái Nguyên"),
        ("Hải Dương", "Hải Phòng"),
        ("Thái Bình", "Hưng Yên"),
        ("Bắc Giang", "Bắc Ninh"),
        ("Quảng Ninh", "Quảng Ninh"),
        ("Thừa Thiên Huế", "Huế"),
        ("Bà Rịa - Vũng Tàu", "Hồ Chí Minh"),
        ("Bình Dương", "Hồ Chí Minh"),
        ("Hòa Bình", "Phú Thọ"),
        ("Nam Định", "Ninh Bình"),
        ("Kon Tum", "Quảng Ngãi"),
        ("Bình Định", "Gia Lai"),
        ("Đắk Nông", "Lâm Đồng"),
        ("Phú Yên", "Đắk Lắk"),
        ("Long An", "Tây Ninh"),
        ("Trà Vinh", "Vĩnh Long"),
        ("Tiền Giang", "Đồng Tháp"),
        ("Bạc Liêu", "Cà Mau"),
        ("Kiên Giang", "An Giang"),
        ("Yên Bái", "Lào Cai"),
        ("Quảng Bình", "Quảng Trị"),
        ("Quảng Nam", "Đà Nẵng"),
        ("Ninh Thuận", "Khánh Hòa"),
        ("Bình Phước", "Đồng Nai"),
        ("Hậu Giang", "Cần Thơ"),
        ("hà giang", "Tuyên Quang"),
    ],
)
def test_new_province_of(old: str, new: str) -> None:
    assert new_province_of(old) == new


def test_new_province_of_unknown() -> None:
    with pytest.raises(KeyError):
        new_province_of("Atlantis")


@pytest.mark.parametrize(
    ("text", "written", "old_names", "new_name"),
    [
        ("Quảng Ninh", "Quảng Ninh", ("Quảng Ninh",), "Quảng Ninh"),
        ("Tỉnh Quảng Ninh", "Quảng Ninh", ("Quảng Ninh",), "Quảng Ninh"),
        ("TỈNH HÀ GIANG", "HÀ GIANG", ("Hà Giang",), "Tuyên Quang"),
        ("tinh ha giang", "ha giang", ("Hà Giang",), "Tuyên Quang"),
        ("T. Bắc Kạn", "Bắc Kạn", ("Bắc Kạn",), "Thái Nguyên"),
        ("Bắc Cạn", "Bắc Cạn", ("Bắc Kạn",), "Thái Nguyên"),
        ("  hai   duong ", "hai duong", ("Hải Dương",), "Hải Phòng"),
        ("T/p Hà Nội", "Hà Nội", ("Hà Nội",), "Hà Nội"),
        ("HN", "HN", ("Hà Nội",), "Hà Nội"),
        ("TP HCM", "HCM", ("Hồ Chí Minh",), "Hồ Chí Minh"),
        ("TP.HCM", "HCM", ("Hồ Chí Minh",), "Hồ Chí Minh"),
        ("Sài Gòn", "Sài Gòn", ("Hồ Chí Minh",), "Hồ Chí Minh"),
        ("BR-VT", "BR-VT", ("Bà Rịa - Vũng Tàu",), "Hồ Chí Minh"),
        ("Bà Rịa-Vũng Tàu", "Bà Rịa-Vũng Tàu", ("Bà Rịa - Vũng Tàu",), "Hồ Chí Minh"),
        ("Huế", "Huế", ("Thừa Thiên Huế",), "Huế"),
        ("TT Huế", "TT Huế", ("Thừa Thiên Huế",), "Huế"),
        ("Thừa Thiên - Huế", "Thừa Thiên - Huế", ("Thừa Thiên Huế",), "Huế"),
        ("Thanh Hoá", "Thanh Hoá", ("Thanh Hóa",), "Thanh Hóa"),
        ("Tỉnh Đăk Lăk", "Đăk Lăk", ("Đắk Lắk", "Phú Yên"), "Đắk Lắk"),
        # A name that is both old and new lists itself first, then what was merged into it.
        ("TP. Hải Phòng", "Hải Phòng", ("Hải Phòng", "Hải Dương"), "Hải Phòng"),
        ("Thành phố Hải Phòng", "Hải Phòng", ("Hải Phòng", "Hải Dương"), "Hải Phòng"),
        ("Tuyên Quang", "Tuyên Quang", ("Tuyên Quang", "Hà Giang"), "Tuyên Quang"),
        ("Thái Bình", "Thái Bình", ("Thái Bình",), "Hưng Yên"),
    ],
)
def test_match_province(text: str, written: str, old_names: tuple[str, ...], new_name: str) -> None:
    for form in (text, unicodedata.normalize("NFD", text)):
        assert match_province(form) == ProvinceMatch(written, old_names, new_name)


@pytest.mark.parametrize("text", ["", "   ", "Paris", "Tỉnh", "TP.", "Hạ Long", "Quận 1"])
def test_match_province_unknown(text: str) -> None:
    assert match_province(text) is None


@pytest.mark.parametrize("name", ["Hà Nội", "Hải Phòng", "Bà Rịa - Vũng Tàu", "Hồ Chí Minh"])
@pytest.mark.parametrize("prefix", ["", "Tỉnh ", "TP ", "TP. ", "Thành phố ", "tp.", "THÀNH PHỐ "])
def test_match_province_prefixes(name: str, prefix: str) -> None:
    found = match_province(prefix + name)
    assert found is not None
    assert name in found.old_names


@given(st.sampled_from(KV5), st.sampled_from(["", "Tỉnh ", "TP. ", "T/p "]), st.booleans())
def test_every_kv5_spelling_is_in_area(name: str, prefix: str, fold_it: bool) -> None:
    text = prefix + name
    if fold_it:
        text = (
            "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
            .replace("Đ", "D")
            .replace("đ", "d")
            .upper()
        )
    found = match_province(text)
    assert found is not None and in_area(found, KV5)


def test_every_old_and_new_name_matches_itself() -> None:
    for old in old_provinces():
        found = match_province(old)
        assert found is not None and found.old_names[0] == old
    for new in new_provinces():
        found = match_province(new)
        assert found is not None and found.new_name == new


@pytest.mark.parametrize(
    ("text", "area", "expected"),
    [
        ("Quảng Ninh", KV5, True),
        ("Hà Nội", KV5, False),
        ("Bắc Kạn", KV5, True),
        ("Thái Nguyên", KV5, True),  # new name: both old parts in KV5
        ("Thái Nguyên", ("Bắc Kạn",), True),  # only partly in the area: the district decides
        ("Hồ Chí Minh", KV5, False),
        ("Tuyên Quang", ("Hà Giang",), True),
        ("Hà Giang", ("Tuyên Quang",), False),
    ],
)
def test_in_area(text: str, area: tuple[str, ...], expected: bool) -> None:
    found = match_province(text)
    assert found is not None
    assert in_area(found, area) is expected
    assert in_area(found, iter(area)) is expected


# --------------------------------------------------------------------------- numbers


def test_legacy_prefixes() -> None:
    legacy = legacy_msisdn_prefixes()
    assert len(legacy) == 21
    assert legacy["0120"] == "070"
    assert legacy["0121"] == "079"
    assert legacy["0122"] == "077"
    assert legacy["0126"] == "076"
    assert legacy["0128"] == "078"
    assert legacy["0169"] == "039"
    assert legacy["0199"] == "059"
    for old, new in legacy.items():
        assert len(old) == 4 and old.startswith("01")
        assert len(new) == 3 and new.startswith("0")
        assert operator_of(new + "1234567") is not None


@pytest.mark.parametrize(
    ("msisdn", "operator"),
    [
        ("0901234567", "mobifone"),
        ("0931234567", "mobifone"),
        ("0891234567", "mobifone"),
        ("0701234567", "mobifone"),
        ("0791234567", "mobifone"),
        ("0981234567", "viettel"),
        ("0321234567", "viettel"),
        ("0861234567", "viettel"),
        ("0911234567", "vinaphone"),
        ("0881234567", "vinaphone"),
        ("0831234567", "vinaphone"),
        ("0921234567", "vietnamobile"),
        ("0561234567", "vietnamobile"),
        ("0991234567", "gmobile"),
        ("0591234567", "gmobile"),
        ("0871234567", "itelecom"),
        ("0551234567", "reddi"),
        ("0241234567", None),  # Hà Nội landline area code
        ("01201234567", None),  # eleven digits: convert first
        ("090123456", None),
        ("090123456x", None),
        ("", None),
        ("1901234567", None),
    ],
)
def test_operator_of(msisdn: str, operator: str | None) -> None:
    assert operator_of(msisdn) == operator
    assert is_mobifone_prefix(msisdn) is (operator == "mobifone")


def test_mobifone_legacy_prefixes_convert_to_mobifone() -> None:
    legacy = legacy_msisdn_prefixes()
    for old in ("0120", "0121", "0122", "0126", "0128"):
        assert is_mobifone_prefix(legacy[old] + "1234567")
