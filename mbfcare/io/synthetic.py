"""Seeded generator of synthetic subscriber extracts (xlsx, xls, csv) with the truth alongside."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import random
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "FAST_HEADERS",
    "MessyOptions",
    "SyntheticSubscriber",
    "WrittenExtract",
    "generate_subscribers",
    "write_csv",
    "write_fast_csv",
    "write_fast_xlsx",
    "write_xls",
    "write_xlsx",
]

Cycle = tuple[int, int]
CellValue = str | int | float | dt.date | dt.datetime | None
Format = Literal["xlsx", "xls", "csv"]

DEFAULT_CYCLES: tuple[Cycle, ...] = ((2016, 12), (2017, 1), (2017, 2))

# --------------------------------------------------------------------------- the truth


@dataclass
class SyntheticSubscriber:
    """One synthetic subscriber as it must end up stored (NFC text, canonical number)."""

    msisdn: str
    legacy_msisdn: str | None
    name: str
    subscriber_type: str
    status: str
    activation_date: dt.date | None
    province: str
    district: str
    address: str | None
    id_number: str | None
    birth_date: dt.date | None
    in_other_programme: bool
    profile_standardised: bool
    offers: str | None
    store: str | None
    charges: dict[Cycle, int | None] = field(default_factory=dict)


# --------------------------------------------------------------------------- name pools

_FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng",
           "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý", "Đào", "Đoàn", "Trương", "Lương",
           "Mai", "Trịnh", "Đinh", "Lâm", "Tạ", "Cao", "Hà", "Tô"]
_FAMILY_W = [38, 11, 9.5, 7, 5.1, 4.3, 4.5, 3.9, 3.9, 2.1, 2, 1.4, 1.3, 1.3, 1, 0.5,
             0.8, 0.7, 0.7, 0.5, 0.5, 0.5, 0.5, 0.4, 0.3, 0.4, 0.4, 0.3]
_MIDDLE_M = ["Văn", "Hữu", "Đức", "Minh", "Quang", "Thanh", "Xuân", "Công", "Quốc",
             "Đình", "Tuấn", "Anh", "Hoàng", "Ngọc", "Trọng", "Bá", "Mạnh", "Thế"]
_MIDDLE_F = ["Thị", "Ngọc", "Thu", "Thanh", "Kim", "Minh", "Thùy", "Phương", "Hồng",
             "Mỹ", "Bích", "Diệu", "Khánh", "Quỳnh", "Hoài", "Bảo", "Hải", "Thúy"]
_GIVEN_M = ["An", "Bình", "Cường", "Dũng", "Đạt", "Hải", "Hiếu", "Hòa", "Hùng", "Huy",
            "Khánh", "Khoa", "Long", "Lộc", "Nam", "Nghĩa", "Phúc", "Phong", "Quân",
            "Quý", "Sơn", "Tài", "Thắng", "Thành", "Trung", "Tuấn", "Tùng", "Việt",
            "Vinh", "Vũ", "Đức", "Kiên", "Lâm", "Hưng", "Toàn", "Trí", "Thịnh", "Duy"]
_GIVEN_F = ["Anh", "Chi", "Dung", "Giang", "Hà", "Hạnh", "Hằng", "Hiền", "Hoa", "Hương",
            "Huyền", "Lan", "Liên", "Linh", "Loan", "Mai", "My", "Nga", "Ngân", "Nhung",
            "Oanh", "Phương", "Quỳnh", "Tâm", "Thảo", "Thủy", "Trang", "Trinh", "Uyên",
            "Vân", "Yến", "Ánh", "Diệp", "Ngọc", "Nhi", "Thư", "Vy", "Xuân"]
_STREETS = ["Lê Lợi", "Trần Hưng Đạo", "Nguyễn Huệ", "Hai Bà Trưng", "Lý Thường Kiệt",
            "Phan Chu Trinh", "Quang Trung", "Điện Biên Phủ", "Nguyễn Trãi", "Lê Duẩn",
            "Võ Thị Sáu", "Nguyễn Văn Cừ", "Trường Chinh", "Hùng Vương", "Lê Thánh Tông",
            "Phạm Văn Đồng", "Hoàng Diệu", "Bạch Đằng", "Tôn Đức Thắng", "Nguyễn Du",
            "Bà Triệu", "Lạc Long Quân", "Trần Phú", "Lê Hồng Phong"]
_WARDS = ["Trần Phú", "Quang Trung", "Tân Lập", "Hòa Bình", "Thống Nhất", "Minh Khai",
          "Hồng Hải", "Cao Xanh", "Tân Tiến", "Đồng Tâm", "Hợp Thành", "Phúc Thành",
          "An Lạc", "Hưng Đạo", "Quyết Thắng", "Tiền Phong"]
_OFFERS = ["C120", "C90N", "MAX90", "MAX200", "BL5", "D120", "K90", "ED100", "MIU"]
_NOTES = ["Đã gọi điện", "KH VIP", "Hẹn gọi lại", "Sai địa chỉ", "KH doanh nghiệp", "Kiểm tra lại"]

# Outside Region 5, so that the "in the company's area" rule has cases.
_OUTSIDE: dict[str, list[str]] = {
    "Hà Nội": ["Ba Đình", "Cầu Giấy", "Đống Đa", "Đông Anh", "Gia Lâm"],
    "Hồ Chí Minh": ["Quận 1", "Quận 3", "Bình Thạnh", "Gò Vấp", "Củ Chi"],
    "Đà Nẵng": ["Hải Châu", "Thanh Khê", "Sơn Trà", "Hòa Vang"],
}
_CITIES = frozenset({"Hải Phòng", "Hà Nội", "Hồ Chí Minh", "Đà Nẵng", "Cần Thơ"})
# 3-digit CCCD province codes (first digits of a 12-digit citizen ID); unknown ones get 0xx.
_CCCD_CODE = {"Hà Nội": 1, "Hải Phòng": 31, "Quảng Ninh": 22, "Hải Dương": 30, "Thái Bình": 34,
              "Hưng Yên": 33, "Bắc Ninh": 27, "Bắc Giang": 24, "Cao Bằng": 4, "Bắc Kạn": 6,
              "Lạng Sơn": 20, "Hà Giang": 2, "Tuyên Quang": 8, "Thái Nguyên": 19,
              "Đà Nẵng": 48, "Hồ Chí Minh": 79}

_MOBIFONE_PREFIXES = ["090", "093", "089", "070", "076", "077", "078", "079"]
_MOBIFONE_W = [22, 22, 8, 12, 9, 9, 9, 9]
_OTHER_PREFIXES = ["091", "094", "096", "097", "098", "086", "032", "092"]
# Quyết định 798/QĐ-BTTTT: MobiFone's pre-2018 eleven-digit prefixes, new -> old.
_LEGACY_OF = {"070": "0120", "079": "0121", "077": "0122", "076": "0126", "078": "0128"}

_STATUSES = ["active", "blocked_one_way", "blocked_two_way", "cancelled"]
_STATUS_W = [85, 7, 4, 4]


def _strip_prefix(name: str) -> str:
    for prefix in ("Thành phố ", "Thị xã ", "Quận ", "Huyện ", "TP. ", "TP "):
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


def _kv5_geography() -> dict[str, list[str]]:
    from mbfcare.domain import reference  # lazy: written by another module owner

    geo: dict[str, list[str]] = {}
    for province in reference.kv5_provinces_2017():
        name = str(getattr(province, "name", province))
        districts = [str(getattr(d, "name", d)) for d in reference.kv5_districts(name)]
        geo[name] = districts or [f"Thành phố {name}"]
    return geo


def _address(rng: random.Random, province: str, district: str) -> str:
    district_text = "quận" + district[4:] if district.startswith("Quận ") else district
    ward_word = rng.choice(["phường", "xã"])
    number = rng.randint(1, 399)
    if rng.random() < 0.3:
        house = f"Số {number} ngõ {rng.randint(1, 199)} đường {rng.choice(_STREETS)}"
    else:
        house = f"Số {number} đường {rng.choice(_STREETS)}"
    ward = f"{ward_word} {rng.choice(_WARDS)}"
    province_text = ("thành phố " if province in _CITIES else "tỉnh ") + province
    return f"{house}, {ward}, {district_text}, {province_text}"


def _random_date(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    return start + dt.timedelta(days=rng.randint(0, max(0, (end - start).days)))


def _charge(rng: random.Random, band: str) -> int:
    if band == "g1":
        value = rng.randint(700_001, 2_500_000)
    elif band == "g2":
        value = rng.randint(550_000, 699_999)
    elif band == "edge":
        return rng.choice([550_000, 699_999, 700_000, 700_001, 549_999])
    else:
        value = rng.randint(5_000, 549_999)
    return value - value % 1000 if rng.random() < 0.5 else value


def _charges(rng: random.Random, cycles: Sequence[Cycle],
             activation: dt.date | None) -> dict[Cycle, int | None]:
    kind = rng.choices(["g1", "g2", "low", "mixed", "edge"], [22, 22, 36, 12, 8])[0]
    result: dict[Cycle, int | None] = {}
    for cycle in cycles:
        band = rng.choice(["g1", "g2", "low", "edge"]) if kind == "mixed" else kind
        if kind == "edge" and rng.random() < 0.4:
            band = rng.choice(["g1", "g2"])
        value: int | None = _charge(rng, band)
        if rng.random() < 0.03:
            value = 0
        elif rng.random() < 0.02:
            value = None
        if activation is not None and (activation.year, activation.month) > cycle:
            value = None  # too new to have been charged in that cycle
        result[cycle] = value
    return result


def generate_subscribers(
    n: int,
    *,
    seed: int = 1,
    cycles: Sequence[Cycle] = DEFAULT_CYCLES,
    outside_area_share: float = 0.05,
    postpaid_share: float = 0.3,
    ported_share: float = 0.02,
    legacy_share: float = 0.02,
    new_subscriber_share: float = 0.03,
    exclude_msisdns: frozenset[str] = frozenset(),
) -> list[SyntheticSubscriber]:
    """Make `n` synthetic subscribers with unique numbers, reproducibly from `seed`.

    Args:
        n: how many subscribers.
        seed: the random seed; the same seed gives the same list.
        cycles: the billing cycles (year, month) that get charges.
        outside_area_share: share of subscribers in provinces outside Region 5.
        postpaid_share: share of postpaid subscribers.
        ported_share: share of numbers with another operator's prefix (ported in).
        legacy_share: share written in the pre-2018 eleven-digit form (only on the MobiFone
            prefixes that had one).
        new_subscriber_share: share activated inside the cycles (earlier cycles blank).
        exclude_msisdns: numbers not to use (e.g. already in another list).

    Returns:
        The subscribers, in generation order.
    """
    rng = random.Random(seed)
    kv5 = _kv5_geography()
    kv5_names = sorted(kv5)
    outside_names = sorted(_OUTSIDE)
    cycles = sorted(cycles)
    first_cycle = dt.date(cycles[0][0], cycles[0][1], 1) if cycles else dt.date(2017, 1, 1)
    used: set[str] = set(exclude_msisdns)
    subs: list[SyntheticSubscriber] = []
    while len(subs) < n:
        if rng.random() < ported_share:
            prefix = rng.choice(_OTHER_PREFIXES)
        else:
            prefix = rng.choices(_MOBIFONE_PREFIXES, _MOBIFONE_W)[0]
        msisdn = f"{prefix}{rng.randrange(10_000_000):07d}"
        if msisdn in used:
            continue
        used.add(msisdn)
        legacy = None
        if prefix in _LEGACY_OF and rng.random() < legacy_share * 2.5:
            legacy = _LEGACY_OF[prefix] + msisdn[3:]
        female = rng.random() < 0.5
        middle = rng.choice(_MIDDLE_F if female else _MIDDLE_M)
        if rng.random() < 0.15:
            middle += " " + rng.choice(_MIDDLE_F + _MIDDLE_M)
        given = rng.choice(_GIVEN_F if female else _GIVEN_M)
        name = f"{rng.choices(_FAMILY, _FAMILY_W)[0]} {middle} {given}"
        if rng.random() < outside_area_share:
            province = rng.choice(outside_names)
            district = rng.choice(_OUTSIDE[province])
        else:
            province = rng.choice(kv5_names)
            district = rng.choice(kv5[province])
        postpaid = rng.random() < postpaid_share
        roll = rng.random()
        activation: dt.date | None
        if roll < 0.03:
            activation = None
        elif roll < 0.03 + new_subscriber_share and len(cycles) > 1:
            y, m = cycles[rng.randrange(1, len(cycles))]
            activation = dt.date(y, m, rng.randint(1, 28))
        else:
            activation = _random_date(rng, dt.date(1996, 1, 1),
                                      first_cycle - dt.timedelta(days=1))
        birth = None if rng.random() < 0.15 else _random_date(
            rng, dt.date(1940, 1, 1), dt.date(1999, 12, 31))
        id_number: str | None
        id_roll = rng.random()
        if id_roll < 0.1:
            id_number = None
        elif id_roll < 0.55:
            id_number = f"{rng.randrange(10_000_000, 400_000_000):09d}"
            if rng.random() < 0.2:
                id_number = "0" + id_number[1:]
        else:
            code = _CCCD_CODE.get(province, rng.randint(1, 96))
            year = birth.year if birth else rng.randint(1950, 1999)
            sex_century = (0 if year < 2000 else 2) + (1 if female else 0)
            id_number = f"{code:03d}{sex_century}{year % 100:02d}{rng.randrange(1_000_000):06d}"
        address = None if rng.random() < (0.03 if postpaid else 0.12) else _address(
            rng, province, district)
        offers = None
        if rng.random() < 0.6:
            offers = ", ".join(rng.sample(_OFFERS, rng.randint(1, 3)))
        store = None if rng.random() < 0.1 else f"CH {_strip_prefix(district)}"
        subs.append(SyntheticSubscriber(
            msisdn=msisdn,
            legacy_msisdn=legacy,
            name=name,
            subscriber_type="postpaid" if postpaid else "prepaid",
            status=rng.choices(_STATUSES, _STATUS_W)[0],
            activation_date=activation,
            province=province,
            district=district,
            address=address,
            id_number=id_number,
            birth_date=birth,
            in_other_programme=rng.random() < 0.1,
            profile_standardised=rng.random() < 0.7,
            offers=offers,
            store=store,
            charges=_charges(rng, cycles, activation),
        ))
    return subs


# --------------------------------------------------------------------------- options


@dataclass
class MessyOptions:
    """How untidy the written extract is; the defaults turn every kind of mess on."""

    title_rows: bool = True
    column_number_row: bool = True
    totals_row: bool = True
    signature_rows: bool = True
    blank_rows: bool = True
    hidden_column: bool = True
    extra_sheets: bool = True
    charge_group_row: bool = True  # xlsx/xls: a row with "Cước" merged above the charge columns
    header_style: str = "mixed"  # "mixed" | "plain"
    charge_headers: str = "relative"  # "relative" | "named"
    care_month: Cycle | None = None  # None: three months after the latest cycle (n-3)
    msisdn_forms: bool = True
    money_as_text: bool = True
    nfd_share: float = 0.2
    nbsp: bool = True
    tcvn3_share: float = 0.0  # xlsx/xls only
    vni_share: float = 0.0  # xlsx/xls only
    dates: str = "mixed"  # "mixed" | "date" (real date cells; dd/mm/yyyy in CSV) | "text"
    values: str = "mixed"  # "mixed" type/status/flag spellings | "plain" (canonical Vietnamese)
    province_prefix: bool = True  # "Tỉnh X", "TP. X", "Thành phố X" on some rows
    duplicates: int = 0
    bad_rows: int = 0
    list_sheet: str = "Danh sách TB"


@dataclass
class WrittenExtract:
    """A written file and what an importer must make of it.

    Row numbers are 1-based sheet rows; for CSV they are record numbers (a quoted header
    with a line break inside is one record, as Excel shows it).
    """

    path: Path
    sheet: str | None
    header_row: int
    expected: dict[str, SyntheticSubscriber]
    expected_rejects: dict[int, str]
    data_rows: int
    columns: dict[str, int] = field(default_factory=dict)  # key -> 1-based column
    cycle_headers: dict[Cycle, str] = field(default_factory=dict)
    care_month: Cycle = (2017, 5)
    encoding: str | None = None
    delimiter: str | None = None


# --------------------------------------------------------------------------- sheet model


@dataclass
class _Cell:
    value: CellValue
    font: str | None = None
    bold: bool = False


@dataclass
class _Sheet:
    name: str
    rows: list[list[_Cell]] = field(default_factory=list)
    merges: list[tuple[int, int, int, int]] = field(default_factory=list)  # 0-based, inclusive
    hidden_columns: list[int] = field(default_factory=list)


@dataclass
class _Layout:
    sheets: list[_Sheet]
    list_index: int
    header_row: int
    expected: dict[str, SyntheticSubscriber]
    rejects: dict[int, str]
    data_rows: int
    columns: dict[str, int]
    cycle_headers: dict[Cycle, str]
    care_month: Cycle


_HEADERS: dict[str, list[str]] = {
    "stt": ["STT", "Stt", "Số TT"],
    "msisdn": ["Số thuê bao", "Số TB", "SĐT", "Số điện thoại", "So thue bao", "ISDN", "MSISDN",
               "Thuê bao"],
    "name": ["Họ tên", "Họ và tên", "Tên khách hàng", "Tên KH"],
    "type": ["Loại TB", "Loại thuê bao", "Hình thức TT", "Trả trước/Trả sau"],
    "status": ["Trạng thái", "Tình trạng"],
    "activation_date": ["Ngày kích hoạt", "Ngày hòa mạng", "Ngày KH", "Ngày đấu nối"],
    "birth_date": ["Ngày sinh"],
    "id_number": ["CMND/CCCD", "Số CMND", "Số CCCD", "Số giấy tờ"],
    "province": ["Tỉnh", "Tỉnh/TP", "Tỉnh/Thành phố"],
    "district": ["Quận/Huyện", "Huyện", "Quận"],
    "address": ["Địa chỉ", "Địa chỉ TBC", "Địa chỉ thông báo cước"],
    "note": ["Ghi chú nội bộ"],
    "store": ["Cửa hàng", "CH/TTGD"],
    "offers": ["Ưu đãi", "Ưu đãi có thể tham gia"],
    "in_other_programme": ["Đang tham gia CT CSKH khác", "Tham gia CT khác", "CT CSKH khác"],
    "profile_standardised": ["TT chuẩn hóa", "Chuẩn hóa", "Đã chuẩn hóa TT"],
}

_TYPE_VALUES = {
    "prepaid": ["Trả trước", "TT", "Prepaid"],
    "postpaid": ["Trả sau", "TS", "Postpaid"],
}
_STATUS_VALUES = {
    "active": ["Hoạt động 2 chiều", "2C", "Hoạt động"],
    "blocked_one_way": ["Chặn 1 chiều", "1C"],
    "blocked_two_way": ["Chặn 2 chiều"],
    "cancelled": ["Đã hủy"],
}
# Blank flags are never written: a blank cell means "not said", not "no".
_FLAG_VALUES = {True: ["Có", "x", "1"], False: ["Không", "0"]}
_STANDARDISED_VALUES = {True: ["Đã chuẩn hóa", "Có"], False: ["Chưa", "Không"]}

_BAD_MSISDN = ["abc", "12345", "0912 34"]
_BAD_STATUS = ["Tạm ngưng xx"]
_BAD_TYPE = ["Trả góp"]
_BAD_MONEY = ["12.34.5", "1.2.3"]

_EXCEL_EPOCH = dt.date(1899, 12, 30)


def _fold_header(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return unicodedata.normalize(
        "NFC", "".join(ch for ch in decomposed if not unicodedata.combining(ch)))


def _messy_header(rng: random.Random, text: str) -> str:
    if rng.random() < 0.25:
        text = _fold_header(text)
    if rng.random() < 0.25:
        text = text.upper()
    if " " in text and rng.random() < 0.2:
        text = text.replace(" ", "\n", 1)
    if rng.random() < 0.2:
        text = rng.choice([f" {text}", f"{text}  ", text.replace(" ", "  ", 1)])
    return text


def _months(cycle: Cycle) -> int:
    return cycle[0] * 12 + cycle[1] - 1


def _month_after(cycle: Cycle, months: int) -> Cycle:
    index = _months(cycle) + months
    return index // 12, index % 12 + 1


def _charge_header(rng: random.Random, cycle: Cycle, opts: MessyOptions, care: Cycle) -> str:
    gap = _months(care) - _months(cycle)
    year, month = cycle
    if opts.charge_headers == "relative":
        if gap < 1:
            raise ValueError(f"cycle {cycle} is not before the care month {care}")
        forms = [f"Cước T-{gap}", f"Cước n-{gap}", f"Cước chu kỳ n-{gap}"]
    else:
        forms = [f"Cước {month:02d}/{year}", f"Cước T{month}/{year}", f"DT {year}{month:02d}"]
        if 1 <= gap <= 12:
            forms.append(f"Cước tháng {month}")
    if opts.header_style == "plain":
        return forms[0]
    return _messy_header(rng, rng.choice(forms))


def _phone_groups(number: str) -> str:
    return f"+84 {number[1:4]} {number[4:7]} {number[7:]}"


def _msisdn_cell(rng: random.Random, sub: SyntheticSubscriber, opts: MessyOptions,
                 fmt: Format) -> _Cell:
    if sub.legacy_msisdn:
        return _Cell(sub.legacy_msisdn)
    number = sub.msisdn
    if not opts.msisdn_forms:
        return _Cell(number)
    form = rng.choices(["plain", "n84", "n9", "plus", "dots", "t84"], [50, 15, 10, 10, 10, 5])[0]
    sheet = fmt != "csv"
    if form == "n84":
        return _Cell(int("84" + number[1:]) if sheet else "84" + number[1:])
    if form == "n9":
        return _Cell(int(number[1:]) if sheet else number[1:])
    if form == "plus":
        return _Cell(_phone_groups(number))
    if form == "dots":
        return _Cell(f"{number[:4]}.{number[4:7]}.{number[7:]}")
    if form == "t84":
        return _Cell("84" + number[1:])
    return _Cell(number)


def _grouped(value: int, sep: str) -> str:
    return f"{value:,}".replace(",", sep)


def _money_cell(rng: random.Random, value: int | None, opts: MessyOptions, fmt: Format) -> _Cell:
    if value is None:
        return _Cell(None)
    sheet = fmt != "csv"
    if not opts.money_as_text or rng.random() < 0.5:
        if sheet and rng.random() < 0.05:
            return _Cell(value + 0.5)  # a fraction of a đồng, rounded down on import
        return _Cell(value if sheet else str(value))
    form = rng.choice(["dot", "comma", "space_d", "d", "dec_comma", "dec_dot"])
    if form == "dot":
        return _Cell(_grouped(value, "."))
    if form == "comma":
        return _Cell(_grouped(value, ","))
    if form == "space_d":
        return _Cell(_grouped(value, " ") + " đ")
    if form == "d":
        return _Cell(f"{value}đ")
    cents = rng.choice(["5", "50", "75", "99"])
    if form == "dec_comma":
        return _Cell(_grouped(value, ".") + "," + cents)
    return _Cell(_grouped(value, ",") + "." + cents)


def _date_cell(rng: random.Random, value: dt.date | None, opts: MessyOptions,
               fmt: Format) -> _Cell:
    if value is None:
        return _Cell(None)
    sheet = fmt != "csv"
    if opts.dates == "date":
        return _Cell(value if sheet else value.strftime("%d/%m/%Y"))
    if opts.dates == "text":
        return _Cell(value.strftime("%d/%m/%Y"))
    forms = ["dmy", "iso"] + (["date", "date", "serial"] if sheet else ["dmy"])
    if 2000 <= value.year <= 2029:  # two-digit years only where no century can be meant
        forms.append("short")
    form = rng.choice(forms)
    if form == "date":
        return _Cell(value)
    if form == "serial":
        return _Cell((value - _EXCEL_EPOCH).days)
    if form == "iso":
        return _Cell(value.isoformat())
    if form == "short":
        return _Cell(f"{value.day}/{value.month}/{value.year % 100:02d}")
    return _Cell(value.strftime("%d/%m/%Y"))


def _choose(rng: random.Random, values: list[str], opts: MessyOptions) -> str:
    return values[0] if opts.values == "plain" else rng.choice(values)


def _with_nbsp(rng: random.Random, text: str) -> str:
    if " " in text and rng.random() < 0.5:
        spaces = [i for i, ch in enumerate(text) if ch == " "]
        i = rng.choice(spaces)
        return text[:i] + "\u00a0" + text[i + 1:]
    return text + "\u00a0"


def _legacy_cells(texts: list[str | None], encoding: str) -> list[_Cell] | None:
    """The row's texts in TCVN3 or VNI with the matching font, or None if one would not survive."""
    from mbfcare.domain import vntext  # lazy: written by another module owner

    encode: Callable[[str], str] = vntext.unicode_to_vni
    decode: Callable[[str], str] = vntext.vni_to_unicode
    font = "VNI-Times"
    if encoding == "tcvn3":
        encode, decode, font = vntext.unicode_to_tcvn3, vntext.tcvn3_to_unicode, ".VnTime"
    cells = []
    for text in texts:
        if text is None:
            cells.append(_Cell(None))
            continue
        encoded = encode(text)
        if decode(encoded) != text:  # e.g. accented capitals, which the ABC font lacks
            return None
        cells.append(_Cell(encoded, font=font))
    return cells


def _text_cells(rng: random.Random, texts: list[str | None], opts: MessyOptions,
                fmt: Format) -> list[_Cell]:
    """Name and address of one row: legacy font, NFD and stray NBSP as the options say."""
    if fmt != "csv" and (opts.tcvn3_share > 0 or opts.vni_share > 0):
        roll = rng.random()
        legacy = None
        if roll < opts.tcvn3_share:
            legacy = _legacy_cells(texts, "tcvn3")
        elif roll < opts.tcvn3_share + opts.vni_share:
            legacy = _legacy_cells(texts, "vni")
        if legacy is not None:
            return legacy
    nfd = rng.random() < opts.nfd_share
    cells = []
    for text in texts:
        if text is None:
            cells.append(_Cell(None))
            continue
        if nfd:
            text = unicodedata.normalize("NFD", text)
        if opts.nbsp and rng.random() < 0.08:
            text = _with_nbsp(rng, text)
        cells.append(_Cell(text))
    return cells


def _province_text(rng: random.Random, province: str, opts: MessyOptions) -> str:
    if not opts.province_prefix or rng.random() < 0.6:
        return province
    if province in _CITIES:
        return rng.choice(["TP ", "TP. ", "Thành phố "]) + province
    return "Tỉnh " + province


def _variant(rng: random.Random, sub: SyntheticSubscriber) -> SyntheticSubscriber:
    """An earlier version of `sub` for a duplicate row: other charges and status."""
    charges: dict[Cycle, int | None] = {}
    for cycle, value in sub.charges.items():
        if value is None or rng.random() < 0.7:
            value = _charge(rng, rng.choice(["g1", "g2", "low"]))
        charges[cycle] = value
    status = rng.choice([s for s in _STATUSES if s != sub.status])
    return dataclasses.replace(sub, charges=charges, status=status, legacy_msisdn=None,
                               store=sub.store or "CH Trung tâm")


def _build(subs: Sequence[SyntheticSubscriber], opts: MessyOptions, seed: int,
           fmt: Format) -> _Layout:
    rng = random.Random(seed * 1_000_003 + {"xlsx": 1, "xls": 2, "csv": 3}[fmt])
    sheet_fmt = fmt != "csv"
    cycles = sorted({c for s in subs for c in s.charges}) or list(DEFAULT_CYCLES)
    care = opts.care_month or _month_after(max(cycles), 3)
    if opts.charge_headers == "relative":
        cycles.sort(reverse=True)

    # ---- columns
    keys = ["stt", "msisdn", "name", "type", "status", "activation_date", "birth_date",
            "id_number", "province", "district", "address"]
    if opts.hidden_column:
        keys.append("note")
    keys += ["store", "offers", "in_other_programme", "profile_standardised"]
    keys += [f"charge:{y:04d}-{m:02d}" for y, m in cycles]
    col = {k: i for i, k in enumerate(keys)}
    width = len(keys)
    headers: list[str] = []
    cycle_headers: dict[Cycle, str] = {}
    for key in keys:
        if key.startswith("charge:"):
            cycle = (int(key[7:11]), int(key[12:14]))
            text = _charge_header(rng, cycle, opts, care)
            cycle_headers[cycle] = text
        elif opts.header_style == "plain":
            text = _HEADERS[key][0]
        else:
            text = _messy_header(rng, rng.choice(_HEADERS[key]))
        headers.append(text)

    # ---- the list of data entries: (subscriber, kind)
    entries: list[tuple[SyntheticSubscriber, str]] = [(s, "ok") for s in subs]
    if opts.duplicates and subs:
        for target in rng.sample(list(subs), min(opts.duplicates, len(subs))):
            pos = next(i for i, (s, _) in enumerate(entries) if s is target)
            entries.insert(rng.randint(0, pos), (_variant(rng, target), "ok"))
    if opts.bad_rows:
        used = frozenset(s.msisdn for s in subs)
        fresh = generate_subscribers(opts.bad_rows, seed=seed * 7919 + 17, cycles=cycles,
                                     exclude_msisdns=used, legacy_share=0.0)
        kinds = ["bad_msisdn", "bad_status", "bad_type", "bad_money"]
        for i, bad in enumerate(fresh):
            entries.insert(rng.randint(0, len(entries)), (bad, kinds[i % len(kinds)]))

    last: dict[str, int] = {}
    for i, (s, kind) in enumerate(entries):
        if kind == "ok":
            last[s.msisdn] = i

    # ---- rows
    sheet = _Sheet(opts.list_sheet)
    rows = sheet.rows

    def blank() -> list[_Cell]:
        return [_Cell(None) for _ in range(width)]

    if opts.title_rows:
        for text, span in (("TỔNG CÔNG TY VIỄN THÔNG MOBIFONE", min(width, 5)),
                           ("CÔNG TY DỊCH VỤ MOBIFONE KHU VỰC 5", min(width, 5)),
                           (f"DANH SÁCH THUÊ BAO CHĂM SÓC KHÁCH HÀNG THÁNG "
                            f"{care[1]:02d}/{care[0]}", width),
                           ("(Số liệu trích xuất từ hệ thống tính cước)", width)):
            row = blank()
            row[0] = _Cell(text, bold=True)
            if span > 1:
                sheet.merges.append((len(rows), 0, len(rows), span - 1))
            rows.append(row)
        rows.append(blank())
    charge_cols = [col[k] for k in keys if k.startswith("charge:")]
    if opts.charge_group_row and sheet_fmt and charge_cols:
        row = blank()
        row[charge_cols[0]] = _Cell("Cước" if opts.header_style == "plain" else
                                    rng.choice(["Cước", "CƯỚC PHÁT SINH", "Doanh thu"]), bold=True)
        sheet.merges.append((len(rows), charge_cols[0], len(rows), charge_cols[-1]))
        rows.append(row)
    rows.append([_Cell(h, bold=True) for h in headers])
    header_row = len(rows)
    if opts.column_number_row:
        as_text = rng.random() < 0.5 or not sheet_fmt
        paren = rng.random() < 0.5
        rows.append([_Cell(f"({i + 1})" if paren else (str(i + 1) if as_text else i + 1))
                     for i in range(width)])

    blank_after: set[int] = set()
    if opts.blank_rows and len(entries) > 2:
        blank_after = set(rng.sample(range(len(entries) - 1), min(3, len(entries) - 2)))
    expected: dict[str, SyntheticSubscriber] = {}
    rejects: dict[int, str] = {}
    totals = [0] * width
    for i, (s, kind) in enumerate(entries):
        row = blank()
        row[col["stt"]] = _Cell(i + 1 if sheet_fmt else str(i + 1))
        row[col["msisdn"]] = _msisdn_cell(rng, s, opts, fmt)
        name_cell, address_cell = _text_cells(rng, [s.name, s.address], opts, fmt)
        row[col["name"]] = name_cell
        row[col["address"]] = address_cell
        row[col["type"]] = _Cell(_choose(rng, _TYPE_VALUES[s.subscriber_type], opts))
        row[col["status"]] = _Cell(_choose(rng, _STATUS_VALUES[s.status], opts))
        row[col["activation_date"]] = _date_cell(rng, s.activation_date, opts, fmt)
        row[col["birth_date"]] = _date_cell(rng, s.birth_date, opts, fmt)
        id_number = s.id_number
        if id_number and sheet_fmt and len(id_number) == 9 and id_number[0] != "0" and (
                rng.random() < 0.3):
            row[col["id_number"]] = _Cell(int(id_number))
        else:
            row[col["id_number"]] = _Cell(id_number)
        province = _province_text(rng, s.province, opts)
        district = s.district
        if opts.nbsp and rng.random() < 0.03:
            province += "\u00a0"
        row[col["province"]] = _Cell(province)
        row[col["district"]] = _Cell(district)
        if "note" in col and rng.random() < 0.3:
            row[col["note"]] = _Cell(rng.choice(_NOTES))
        row[col["store"]] = _Cell(s.store)
        row[col["offers"]] = _Cell(s.offers)
        flag = _choose(rng, _FLAG_VALUES[s.in_other_programme], opts)
        row[col["in_other_programme"]] = _Cell(int(flag) if flag.isdigit() and sheet_fmt and (
            rng.random() < 0.5) else flag)
        row[col["profile_standardised"]] = _Cell(
            _choose(rng, _STANDARDISED_VALUES[s.profile_standardised], opts))
        for cycle in cycles:
            c = col[f"charge:{cycle[0]:04d}-{cycle[1]:02d}"]
            value = s.charges.get(cycle)
            row[c] = _money_cell(rng, value, opts, fmt)
            if value is not None and kind != "bad_money":
                totals[c] += value
        row_number = len(rows) + 1
        if kind == "bad_msisdn":
            row[col["msisdn"]] = _Cell(rng.choice(_BAD_MSISDN))
            rejects[row_number] = kind
        elif kind == "bad_status":
            row[col["status"]] = _Cell(rng.choice(_BAD_STATUS))
            rejects[row_number] = kind
        elif kind == "bad_type":
            row[col["type"]] = _Cell(rng.choice(_BAD_TYPE))
            rejects[row_number] = kind
        elif kind == "bad_money":
            row[charge_cols[0]] = _Cell(rng.choice(_BAD_MONEY))
            rejects[row_number] = kind
        elif last[s.msisdn] != i:
            rejects[row_number] = "duplicate"
        else:
            expected[s.msisdn] = s
        rows.append(row)
        if i in blank_after:
            rows.append(blank())
    data_rows = len(entries)

    if opts.totals_row and entries:
        row = blank()
        row[0] = _Cell("Tổng cộng", bold=True)
        if sheet_fmt:
            sheet.merges.append((len(rows), 0, len(rows), 2))
        for c in charge_cols:
            row[c] = _Cell(totals[c] if sheet_fmt else str(totals[c]), bold=True)
        rows.append(row)
    if opts.signature_rows:
        rows.append(blank())
        left, middle, right = 1, max(2, width // 2), max(3, width - 3)
        row = blank()
        row[left], row[middle], row[right] = (
            _Cell("Người lập biểu", bold=True), _Cell("Trưởng phòng CSKH", bold=True),
            _Cell("Giám đốc", bold=True))
        rows.append(row)
        row = blank()
        row[left], row[middle], row[right] = _Cell("(Ký tên)"), _Cell("(Ký tên)"), _Cell(
            "(Ký tên, đóng dấu)")
        rows.append(row)
    if opts.hidden_column and sheet_fmt:
        sheet.hidden_columns.append(col["note"])

    sheets = [sheet]
    list_index = 0
    if opts.extra_sheets and sheet_fmt:
        guide = _Sheet("Hướng dẫn", [[_Cell("HƯỚNG DẪN SỬ DỤNG DANH SÁCH", bold=True)],
                                     [_Cell("1. Danh sách thuê bao nằm ở sheet "
                                            f"\"{opts.list_sheet}\".")],
                                     [_Cell("2. Không sửa tiêu đề các cột.")],
                                     [_Cell("3. Cước tính bằng đồng, chưa gồm VAT.")]])
        summary = _Sheet("Tổng hợp")
        summary.rows.append([_Cell("TỔNG HỢP THEO TỈNH", bold=True)])
        summary.rows.append([_Cell(t, bold=True) for t in ("Tỉnh/TP", "Số lượng", "Tổng cước (đ)")])
        by_province: dict[str, list[int]] = {}
        for s, _ in entries:
            acc = by_province.setdefault(s.province, [0, 0])
            acc[0] += 1
            acc[1] += sum(v for v in s.charges.values() if v is not None)
        for province in sorted(by_province):
            count, money = by_province[province]
            summary.rows.append([_Cell(province), _Cell(count), _Cell(money)])
        sheets = [guide, sheet, summary]
        list_index = 1
    return _Layout(sheets, list_index, header_row, expected, rejects, data_rows,
                   {k: i + 1 for k, i in col.items()}, cycle_headers, care)


# --------------------------------------------------------------------------- writers


def write_xlsx(path: str | Path, subs: Sequence[SyntheticSubscriber],
               options: MessyOptions | None = None, *, seed: int = 1) -> WrittenExtract:
    """Write an .xlsx extract with openpyxl (fonts, merges and hidden columns included).

    Args:
        path: where to write.
        subs: the subscribers, in file order.
        options: the mess to put in; default everything on.
        seed: seed for the layout choices (header spellings, value forms ...).

    Returns:
        The truth an importer must reach.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    opts = options or MessyOptions()
    layout = _build(subs, opts, seed, "xlsx")
    wb = Workbook()
    default = wb.active
    if default is not None:
        wb.remove(default)
    fonts: dict[tuple[str | None, bool], Font] = {}
    wrap = Alignment(wrap_text=True, vertical="center")
    for sheet in layout.sheets:
        ws = wb.create_sheet(sheet.name)
        for r, row in enumerate(sheet.rows, start=1):
            for c, cell in enumerate(row, start=1):
                if cell.value is None:
                    continue
                target = ws.cell(row=r, column=c, value=cell.value)
                if cell.font or cell.bold:
                    key = (cell.font, cell.bold)
                    if key not in fonts:
                        fonts[key] = Font(name=cell.font, bold=cell.bold) if cell.font else Font(
                            bold=cell.bold)
                    target.font = fonts[key]
                if isinstance(cell.value, dt.date):
                    target.number_format = "DD/MM/YYYY"
                elif isinstance(cell.value, str) and "\n" in cell.value:
                    target.alignment = wrap
        for r1, c1, r2, c2 in sheet.merges:
            ws.merge_cells(start_row=r1 + 1, start_column=c1 + 1, end_row=r2 + 1,
                           end_column=c2 + 1)
        for c in sheet.hidden_columns:
            ws.column_dimensions[get_column_letter(c + 1)].hidden = True
    wb.active = 0
    out = Path(path)
    wb.save(out)
    return _result(out, layout, opts, None, None)


def write_xls(path: str | Path, subs: Sequence[SyntheticSubscriber],
              options: MessyOptions | None = None, *, seed: int = 1) -> WrittenExtract:
    """Write a legacy .xls (BIFF8) extract with xlwt; at most 65,536 rows.

    Raises:
        ValueError: when the list does not fit an .xls sheet.
    """
    import xlwt  # test dependency (BSD); old Excel files

    opts = options or MessyOptions()
    layout = _build(subs, opts, seed, "xls")
    wb = xlwt.Workbook(encoding="utf-8")
    styles: dict[tuple[str | None, bool, bool], Any] = {}

    def style(font: str | None, bold: bool, is_date: bool) -> Any:
        key = (font, bold, is_date)
        if key not in styles:
            parts = []
            if font or bold:
                parts.append("font: " + ", ".join(
                    ([f"name {font}"] if font else []) + (["bold on"] if bold else [])))
            styles[key] = xlwt.easyxf(";".join(parts),
                                      num_format_str="DD/MM/YYYY" if is_date else "General")
        return styles[key]

    for sheet in layout.sheets:
        if len(sheet.rows) > 65_536:
            raise ValueError("an .xls sheet holds at most 65,536 rows")
        ws = wb.add_sheet(sheet.name, cell_overwrite_ok=True)
        merged_tops = {(r1, c1): (r2, c2) for r1, c1, r2, c2 in sheet.merges}
        for r, row in enumerate(sheet.rows):
            for c, cell in enumerate(row):
                if cell.value is None or (r, c) in merged_tops:
                    continue
                ws.write(r, c, cell.value,
                         style(cell.font, cell.bold, isinstance(cell.value, dt.date)))
        for (r1, c1), (r2, c2) in merged_tops.items():
            cell = sheet.rows[r1][c1]
            ws.write_merge(r1, r2, c1, c2, cell.value, style(cell.font, cell.bold, False))
        for c in sheet.hidden_columns:
            ws.col(c).hidden = True
    out = Path(path)
    wb.save(str(out))
    return _result(out, layout, opts, None, None)


def _cp1258_form(text: str) -> str:
    """Text Windows-1258 can encode: precomposed base letters plus combining tone marks."""
    out: list[str] = []
    for ch in unicodedata.normalize("NFC", text):
        try:
            ch.encode("cp1258")
        except UnicodeEncodeError:
            decomposed = unicodedata.normalize("NFD", ch)
            base, marks = decomposed[0], list(decomposed[1:])
            for i, mark in enumerate(marks):
                composed = unicodedata.normalize("NFC", base + mark)
                if len(composed) == 1 and _encodable(composed):
                    out.append(composed + "".join(marks[:i] + marks[i + 1:]))
                    break
            else:
                out.append(base + "".join(marks))
        else:
            out.append(ch)
    return "".join(out)


def _encodable(ch: str) -> bool:
    try:
        ch.encode("cp1258")
    except UnicodeEncodeError:
        return False
    return True


def _csv_text(value: CellValue, encoding: str) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y")
    text = str(value)
    return _cp1258_form(text) if encoding.lower().replace("-", "") == "cp1258" else text


def write_csv(path: str | Path, subs: Sequence[SyntheticSubscriber],
              options: MessyOptions | None = None, *, delimiter: str = ",",
              encoding: str = "utf-8-sig", seed: int = 1) -> WrittenExtract:
    """Write a CSV extract (only the list; no fonts, merges or hidden columns).

    Args:
        path: where to write.
        subs: the subscribers, in file order.
        options: the mess to put in (sheet-only options are ignored).
        delimiter: "," ";" or "\\t".
        encoding: "utf-8-sig", "utf-8", "utf-16" (with BOM) or "cp1258" (Vietnamese text is
            written with combining tone marks, the only way Windows-1258 holds it).
        seed: seed for the layout choices.

    Returns:
        The truth; row numbers are CSV record numbers.
    """
    opts = options or MessyOptions()
    layout = _build(subs, opts, seed, "csv")
    sheet = layout.sheets[layout.list_index]
    out = Path(path)
    with out.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh, delimiter=delimiter, lineterminator="\r\n")
        for row in sheet.rows:
            writer.writerow([_csv_text(cell.value, encoding) for cell in row])
    return _result(out, layout, opts, encoding, delimiter)


def _result(path: Path, layout: _Layout, opts: MessyOptions, encoding: str | None,
            delimiter: str | None) -> WrittenExtract:
    return WrittenExtract(
        path=path,
        sheet=None if encoding is not None else opts.list_sheet,
        header_row=layout.header_row,
        expected=layout.expected,
        expected_rejects=layout.rejects,
        data_rows=layout.data_rows,
        columns=layout.columns,
        cycle_headers=layout.cycle_headers,
        care_month=layout.care_month,
        encoding=encoding,
        delimiter=delimiter,
    )


# --------------------------------------------------------------------------- big files

FAST_HEADERS = ["STT", "Số thuê bao", "Họ tên", "Loại TB", "Trạng thái", "Ngày kích hoạt", "Tỉnh",
                "Quận/Huyện", "Địa chỉ", "CMND/CCCD", "Cước T-3", "Cước T-4", "Cước T-5",
                "Đang tham gia CT CSKH khác"]


def _fast_rows(n: int, seed: int) -> Iterator[tuple[int, str, bool, list[Any]]]:
    """(stt, msisdn text, msisdn is 84-form, the other 12 values) for `n` plain rows."""
    rng = random.Random(seed)
    geo = _kv5_geography()
    places = [(p, d) for p in sorted(geo) for d in geo[p]]
    places += [(p, d) for p in sorted(_OUTSIDE) for d in _OUTSIDE[p]]
    names = [f"{f} {m} {g}" for f in _FAMILY[:12] for m in _MIDDLE_M[:6] + _MIDDLE_F[:6]
             for g in (_GIVEN_M[:10] + _GIVEN_F[:10])]
    prefixes = _MOBIFONE_PREFIXES * 6 + _OTHER_PREFIXES[:2]
    legacy_prefixes = sorted(_LEGACY_OF)
    rand, randrange, choice = rng.random, rng.randrange, rng.choice
    base = dt.date(1996, 1, 1).toordinal()
    span = dt.date(2016, 11, 30).toordinal() - base
    dates = [dt.date.fromordinal(base + i).strftime("%d/%m/%Y") for i in range(span + 1)]
    for stt in range(1, n + 1):
        roll = rand()
        if roll < 0.015:
            prefix = choice(legacy_prefixes)
            msisdn, n84 = _LEGACY_OF[prefix] + f"{randrange(10_000_000):07d}", False
        else:
            number = f"{choice(prefixes)}{randrange(10_000_000):07d}"
            n84 = roll < 0.4
            msisdn = "84" + number[1:] if n84 else number
        province, district = choice(places)
        charges = []
        for _ in range(3):
            band = rand()
            if band < 0.04:
                charges.append(0)
            elif band < 0.07:
                charges.append(randrange(700_001, 3_000_000))
            elif band < 0.10:
                charges.append(randrange(550_000, 700_000))
            else:
                charges.append(randrange(5_000, 550_000))
        address = "" if rand() < 0.03 else (
            f"Số {randrange(1, 400)} đường {choice(_STREETS)}, {district}, {province}")
        id_number = "" if rand() < 0.02 else (
            f"{randrange(10_000_000, 400_000_000):09d}" if rand() < 0.3
            else f"{randrange(1, 97):03d}{randrange(4)}{randrange(100):02d}"
                 f"{randrange(1_000_000):06d}")
        yield stt, msisdn, n84, [
            choice(names), "Trả sau" if rand() < 0.22 else "Trả trước",
            "Hoạt động 2 chiều" if rand() < 0.86 else choice(["Chặn 1 chiều", "Chặn 2 chiều"]),
            dates[randrange(len(dates))], province, district, address, id_number,
            charges[0], charges[1], charges[2], "Có" if rand() < 0.12 else "Không"]


def write_fast_csv(path: str | Path, n: int, seed: int = 1) -> int:
    """Stream a large plain CSV (UTF-8 with BOM, CRLF) for benchmarks; returns the data rows.

    The header is `FAST_HEADERS`; numbers mix 0xxxxxxxxx, 84xxxxxxxxx and legacy 012xxxxxxxx.
    """
    with Path(path).open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow(FAST_HEADERS)
        chunk: list[list[Any]] = []
        for stt, msisdn, _n84, rest in _fast_rows(n, seed):
            chunk.append([stt, msisdn, *rest])
            if len(chunk) >= 10_000:
                writer.writerows(chunk)
                chunk.clear()
        writer.writerows(chunk)
    return n


def write_fast_xlsx(path: str | Path, n: int, seed: int = 1) -> int:
    """Stream a large plain .xlsx (xlsxwriter constant_memory) for benchmarks; returns the rows.

    The 84-form numbers are numeric cells, the others text; dates are dd/mm/yyyy text.

    Raises:
        ValueError: when `n` exceeds what one sheet holds.
    """
    import xlsxwriter

    if n > 1_048_575:
        raise ValueError("an .xlsx sheet holds at most 1,048,575 data rows")
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False,
                                         "strings_to_urls": False, "strings_to_formulas": False})
    ws = wb.add_worksheet("Danh sách")
    ws.write_row(0, 0, FAST_HEADERS, wb.add_format({"bold": True}))
    write_number, write_string = ws.write_number, ws.write_string
    for stt, msisdn, n84, rest in _fast_rows(n, seed):
        write_number(stt, 0, stt)
        if n84:
            write_number(stt, 1, int(msisdn))
        else:
            write_string(stt, 1, msisdn)
        for c, value in enumerate(rest, start=2):
            if isinstance(value, int):
                write_number(stt, c, value)
            elif value:
                write_string(stt, c, value)
    wb.close()
    return n
