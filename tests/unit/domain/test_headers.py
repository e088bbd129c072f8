"""Tests for header recognition: canonical fields and charge columns."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mbfcare.domain.headers import (
    ChargeHeader,
    field_labels,
    header_key,
    match_field,
    parse_charge_header,
    resolve_month,
)


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("Số  thuê\nbao", "so thue bao"),
        ("Số thuê bao:", "so thue bao"),
        ("  SỐ THUÊ BAO (*) ", "so thue bao"),
        ("Địa chỉ", "dia chi"),
        ("Tỉnh/TP", "tinh/tp"),
        ("No.", "no"),
        ("Cước n – 3", "cuoc n - 3"),
        (None, ""),
        (123, "123"),
    ],
)
def test_header_key(raw: object, key: str) -> None:
    assert header_key(raw) == key


@given(st.text())
def test_header_key_idempotent(text: str) -> None:
    assert header_key(header_key(text)) == header_key(text)


FIELDS = [
    # from import-formats.md, verbatim
    ("Số thuê bao", "msisdn"),
    ("Số TB", "msisdn"),
    ("SĐT", "msisdn"),
    ("Số điện thoại", "msisdn"),
    ("So thue bao", "msisdn"),
    ("ISDN", "msisdn"),
    ("MSISDN", "msisdn"),
    ("Thuê bao", "msisdn"),
    ("Loại TB", "subscriber_type"),
    ("Loại thuê bao", "subscriber_type"),
    ("Hình thức TT", "subscriber_type"),
    ("Trả trước/Trả sau", "subscriber_type"),
    ("Trạng thái", "status"),
    ("Tình trạng", "status"),
    ("Đang tham gia CT CSKH khác", "in_other_programme"),
    ("Tham gia CT khác", "in_other_programme"),
    ("CT CSKH khác", "in_other_programme"),
    ("TT chuẩn hóa", "profile_standardised"),
    ("Chuẩn hóa", "profile_standardised"),
    ("Đã chuẩn hóa TT", "profile_standardised"),
    ("Tỉnh", "province"),
    ("Tỉnh/TP", "province"),
    ("Tỉnh/Thành phố", "province"),
    ("Quận/Huyện", "district"),
    ("Huyện", "district"),
    ("Quận", "district"),
    ("Địa chỉ", "address"),
    ("Địa chỉ TBC", "address"),
    ("Địa chỉ thông báo cước", "address"),
    ("Số CMND", "id_number"),
    ("CMND/CCCD", "id_number"),
    ("Số CCCD", "id_number"),
    ("Số giấy tờ", "id_number"),
    ("Cửa hàng", "store"),
    ("CH/TTGD", "store"),
    ("Ngày kích hoạt", "activation_date"),
    ("Ngày hòa mạng", "activation_date"),
    ("Ngày KH", "activation_date"),
    ("Ngày đấu nối", "activation_date"),
    # from the brief and common variants
    ("Họ tên", "name"),
    ("Tên khách hàng", "name"),
    ("Tên KH", "name"),
    ("Tên thuê bao", "name"),
    ("Họ và tên", "name"),
    ("Customer name", "name"),
    ("Ngày sinh", "birth_date"),
    ("Số liên hệ", "contact_number"),
    ("SĐT liên hệ", "contact_number"),
    ("Điện thoại liên hệ", "contact_number"),
    ("Số điện thoại liên hệ", "contact_number"),
    ("Gói cước ưu đãi", "offers"),
    ("Gói KM được tham gia", "offers"),
    ("Ưu đãi", "offers"),
    ("Offers", "offers"),
    # exclusion lists
    ("Chương trình đang tham gia", "source"),
    ("Tên chương trình", "source"),
    ("Ghi chú", "note"),
    ("Lý do", "note"),
    ("STT", "row_number"),
    ("TT", "row_number"),
    ("No.", "row_number"),
    # tolerant forms
    ("Số  thuê\nbao", "msisdn"),
    ("SO THUE BAO", "msisdn"),
    ("so t.b", "msisdn"),
    ("Số T.B", "msisdn"),
    ("cmnd / cccd", "id_number"),
    ("Tỉnh / TP", "province"),
    ("Quận / Huyện", "district"),
    ("Số thuê bao (*)", "msisdn"),
    ("Số thuê bao:", "msisdn"),
    ("Loại TB (TT/TS)", "subscriber_type"),
    ("Ngày KH TB", "activation_date"),
    ("Địa chỉ thông báo cước (TBC)", "address"),
    ("Trạng thái TB hiện tại", "status"),
    ("Họ tên chủ thuê bao", "name"),
    ("Số ĐT liên hệ khác", "contact_number"),
    ("Mã CH", "store"),
    ("Tỉnh phát sinh cước", "province"),
    ("Subscriber type", "subscriber_type"),
    ("Status", "status"),
    ("Address", "address"),
    ("Date of birth", "birth_date"),
    ("Activation date", "activation_date"),
    ("Store", "store"),
    ("Phone number", "msisdn"),
    ("So\u0302\u0301 thue\u0302 bao", "msisdn"),  # NFD
]


@pytest.mark.parametrize(("text", "field"), FIELDS)
def test_match_field(text: str, field: str) -> None:
    assert match_field(text) == field


@pytest.mark.parametrize(
    "text",
    [
        "",
        None,
        "Ghi chú nội bộ",
        "Cước T-3",
        "Cước 06/2017",
        "DT 201706",
        "Loại cước",
        "Tổng cộng",
        "Tính cước",
        "Column1",
        "(1)",
    ],
)
def test_match_field_none(text: object) -> None:
    assert match_field(text) is None


def test_field_labels_cover_all_fields() -> None:
    labels = field_labels()
    assert set(labels) == {f for _, f in FIELDS}
    for field, label in labels.items():
        assert match_field(label) == field


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Cước T-3", ChargeHeader(offset=3)),
        ("Cước n-3", ChargeHeader(offset=3)),
        ("Cước chu kỳ n-3", ChargeHeader(offset=3)),
        ("Cuoc T-3", ChargeHeader(offset=3)),
        ("Cước tháng n-3", ChargeHeader(offset=3)),
        ("CƯỚC N-5", ChargeHeader(offset=5)),
        ("Cước n – 4", ChargeHeader(offset=4)),
        ("Cước T-3 (đ)", ChargeHeader(offset=3)),
        ("Cước phát sinh T-5", ChargeHeader(offset=5)),
        ("Charge M-3", ChargeHeader(offset=3)),
        ("Cước 06/2017", ChargeHeader(year=2017, month=6)),
        ("Cước T6/2017", ChargeHeader(year=2017, month=6)),
        ("Cước T06/2017", ChargeHeader(year=2017, month=6)),
        ("Cước tháng 6/2017", ChargeHeader(year=2017, month=6)),
        ("Cước tháng 06-2017", ChargeHeader(year=2017, month=6)),
        ("Cước\ntháng 06/2017", ChargeHeader(year=2017, month=6)),
        ("DT 201706", ChargeHeader(year=2017, month=6)),
        ("Doanh thu 06/2017", ChargeHeader(year=2017, month=6)),
        ("Cước 6/17", ChargeHeader(year=2017, month=6)),
        ("Tiền cước 12/2016", ChargeHeader(year=2016, month=12)),
        ("Revenue 2017-06", ChargeHeader(year=2017, month=6)),
        ("Cước tháng 6", ChargeHeader(month=6)),
        ("Cước T6", ChargeHeader(month=6)),
        ("Cuoc thang 6", ChargeHeader(month=6)),
        ("Tiền cước tháng 11", ChargeHeader(month=11)),
    ],
)
def test_parse_charge_header(text: str, expected: ChargeHeader) -> None:
    assert parse_charge_header(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Loại cước",
        "Gói cước",
        "Cước",
        "Cước tháng 13",
        "Cước 13/2017",
        "Tổng cước 3 tháng",
        "Số thuê bao",
        "Doanh thu",
        "Cước T-0",
        "",
        None,
    ],
)
def test_parse_charge_header_none(text: object) -> None:
    assert parse_charge_header(text) is None


@pytest.mark.parametrize(
    ("header", "care", "expected"),
    [
        (ChargeHeader(offset=3), (2017, 9), (2017, 6)),
        (ChargeHeader(offset=5), (2017, 9), (2017, 4)),
        (ChargeHeader(offset=3), (2017, 3), (2016, 12)),
        (ChargeHeader(offset=5), (2017, 3), (2016, 10)),
        (ChargeHeader(offset=3), (None, None), None),
        (ChargeHeader(year=2017, month=6), (2017, 9), (2017, 6)),
        (ChargeHeader(year=2017, month=6), (None, None), (2017, 6)),
        (ChargeHeader(month=6), (2017, 9), (2017, 6)),
        (ChargeHeader(month=9), (2017, 9), (2016, 9)),
        (ChargeHeader(month=12), (2017, 3), (2016, 12)),
        (ChargeHeader(month=6), (None, None), None),
        (ChargeHeader(), (2017, 9), None),
    ],
)
def test_resolve_month(
    header: ChargeHeader, care: tuple[int | None, int | None], expected: tuple[int, int] | None
) -> None:
    assert resolve_month(header, care[0], care[1]) == expected


@given(st.integers(2000, 2100), st.integers(1, 12), st.integers(1, 24))
def test_resolve_relative_property(year: int, month: int, offset: int) -> None:
    resolved = resolve_month(ChargeHeader(offset=offset), year, month)
    assert resolved is not None
    y, m = resolved
    assert 1 <= m <= 12
    assert (year * 12 + month) - (y * 12 + m) == offset


@given(st.integers(2000, 2100), st.integers(1, 12), st.integers(1, 12))
def test_resolve_month_only_is_latest_before(year: int, month: int, named: int) -> None:
    resolved = resolve_month(ChargeHeader(month=named), year, month)
    assert resolved is not None
    y, m = resolved
    distance = (year * 12 + month) - (y * 12 + m)
    assert m == named and 1 <= distance <= 12


@given(st.integers(1, 12), st.integers(2000, 2099))
def test_named_month_headers_round_trip(month: int, year: int) -> None:
    for text in (f"Cước {month:02d}/{year}", f"Cước T{month}/{year}", f"DT {year}{month:02d}"):
        assert parse_charge_header(text) == ChargeHeader(year=year, month=month)
