"""The regional workbook read back with openpyxl: sheets, headers, types, injection, digest."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from mbfcare.reports.regional import (
    CareRow,
    GiftItemInfo,
    GroupRule,
    ProgrammeInfo,
    RegionalWritten,
    cell_text,
    chitiet_digest,
    group_rule_text,
    safe_text,
    write_regional,
)

CHITIET = [
    "Tỉnh/TP", "Quận/Huyện", "Cửa hàng", "Đợt", "Tháng chăm sóc", "Nhóm", "Hình thức",
    "Số thuê bao", "Họ tên", "Loại thuê bao", "Cước chu kỳ n-3", "Cước chu kỳ n-4",
    "Cước chu kỳ n-5", "Mức cước căn cứ", "Năm sử dụng", "Loại quà", "Quà đã trao",
    "Ngày gửi SMS", "Chuẩn hóa thông tin", "Ngày trao quà", "Người trao quà",
    "Gói cước tư vấn", "Đăng ký gói", "Đã khảo sát", "Điểm hài lòng", "Kết quả", "Ghi chú",
]
TONGHOP = ["Đợt", "Nhóm", "Quận/Huyện", "Số KH trong danh sách", "Đã gửi SMS", "Đã trao quà",
           "Đã khảo sát", "Đã chuẩn hóa/thu thập", "Tỷ lệ hoàn thành"]
KHOQUA = ["Loại quà", "Quà", "Cửa hàng", "Nhập", "Đã trao", "Còn lại"]
KHAOSAT = ["Câu hỏi", "Trả lời", "Số phiếu", "Tỷ lệ"]

PROGRAMME = ProgrammeInfo(
    name="Chăm sóc khách hàng năm 2017", year=2017, province="MobiFone KV5",
    aggregation="every_cycle", rule_version=1,
    batches=((1, "03/2017"), (2, "06/2017")),
    groups=(
        GroupRule(1, "Nhóm 1", 700000, False, None, False, "visit", 1),
        GroupRule(2, "Nhóm 2", 550000, True, 700000, False, "store", 2),
    ),
    gift_items=(
        GiftItemInfo(1, "Quà loại 1", "balo-keo", "Balo kéo du lịch"),
        GiftItemInfo(2, "Quà loại 2", "hop-thuc-pham", "Hộp đựng thực phẩm hút chân không"),
        GiftItemInfo(2, "Quà loại 2", "o-2-khuc", "Ô 2 khúc cầm tay"),
    ),
)


def row(**kw: Any) -> CareRow:
    base: dict[str, Any] = dict(
        batch=1, care_month="03/2017", state="listed", group=1, delivery="visit", gift_type=1,
        msisdn="0901234567", name="Nguyễn Văn An", subscriber_type="prepaid",
        province="Hải Phòng", district="Hồng Bàng", store="", charge_1=800000,
        charge_2=900000, charge_3=750000, basis=750000, tenure_years=6, tenure_band="5–10 năm",
        waiting_rank=None, note="", handed_over=None, has_work=False, standardised=None)
    base.update(kw)
    return CareRow(**base)


ROWS = [
    row(),
    row(msisdn="0912345678", name="Trần Thị Ánh", group=2, delivery="store", gift_type=2,
        district="Lê Chân", store="CH Lê Chân", basis=600000, standardised=True),
    row(msisdn="0923456789", name="Lê Bảo Anh", group=2, delivery="store", gift_type=2,
        district="Lê Chân", store="CH Lê Chân", basis=560000, subscriber_type="postpaid"),
    row(msisdn="0934567890", name="Phạm Đức", state="awaiting_group", group=None, delivery=None,
        gift_type=None, basis=700000, charge_1=700000, charge_2=700000, charge_3=700000),
    row(msisdn="0945678901", name='=HYPERLINK("http://evil.example","Bấm")',
        district="Ngô Quyền", handed_over=dt.date(2017, 3, 20), has_work=True),
    row(msisdn="0956789012", name="Hoàng Dũng", state="waiting", group=2, delivery="store",
        gift_type=2, district="Lê Chân", store="CH Lê Chân", waiting_rank=3, basis=551000),
    row(batch=2, care_month="06/2017", msisdn="0967890123", name="Vũ Thị Bình",
        province="Quảng Ninh", district="Hạ Long", note="+84 gọi lại sau", tenure_years=None),
]


def write(tmp_path: Path, rows: list[CareRow] = ROWS) -> tuple[Path, RegionalWritten]:
    path = tmp_path / "kv5.xlsx"
    written = write_regional(path, PROGRAMME, rows,
                             exported_at=dt.datetime(2017, 4, 2, 9, 30, 15), version="9.9.9",
                             exported_by="Nguyễn Thu Hà")
    return path, written


def readback(path: Path) -> openpyxl.Workbook:
    return openpyxl.load_workbook(path)


def data_rows(ws: Any) -> list[list[Any]]:
    return [list(r) for r in ws.iter_rows(min_row=2, values_only=True)]


def as_dicts(ws: Any) -> list[dict[str, Any]]:
    header = [c.value for c in ws[1]]
    return [dict(zip(header, r, strict=True)) for r in data_rows(ws)]


def info_of(wb: openpyxl.Workbook) -> dict[str, Any]:
    return {k: v for k, v in data_rows(wb["ThongTin"])}


def test_sheets_and_headers_exactly(tmp_path: Path) -> None:
    path, _ = write(tmp_path)
    wb = readback(path)
    assert wb.sheetnames == ["ChiTiet", "TongHop", "KhoQua", "KhaoSat", "ThongTin"]
    assert [c.value for c in wb["ChiTiet"][1]] == CHITIET
    assert [c.value for c in wb["TongHop"][1]] == TONGHOP
    assert [c.value for c in wb["KhoQua"][1]] == KHOQUA
    assert [c.value for c in wb["KhaoSat"][1]] == KHAOSAT
    assert [c.value for c in wb["ThongTin"][1]] == ["Thông tin", "Giá trị"]


def test_frozen_header_autofilter_no_merged_cells(tmp_path: Path) -> None:
    path, written = write(tmp_path)
    wb = readback(path)
    for ws in wb.worksheets:
        assert ws.freeze_panes == "A2", ws.title
        assert not ws.merged_cells.ranges, ws.title
        if ws.max_row > 1:
            last = openpyxl.utils.get_column_letter(ws.max_column)
            assert ws.auto_filter.ref == f"A1:{last}{ws.max_row}", ws.title
    assert written.rows["ChiTiet"] == len(ROWS)
    assert wb["ChiTiet"].auto_filter.ref == f"A1:AA{len(ROWS) + 1}"


def test_chitiet_cell_types(tmp_path: Path) -> None:
    path, _ = write(tmp_path)
    ws = readback(path)["ChiTiet"]
    col = {h: i + 1 for i, h in enumerate(CHITIET)}
    for r in range(2, ws.max_row + 1):
        phone = ws.cell(r, col["Số thuê bao"])
        assert isinstance(phone.value, str) and phone.value.startswith("0")
        assert len(phone.value) == 10 and phone.data_type == "s"
        for header in ("Cước chu kỳ n-3", "Cước chu kỳ n-4", "Cước chu kỳ n-5",
                       "Mức cước căn cứ"):
            money = ws.cell(r, col[header])
            assert type(money.value) is int and money.number_format == "#,##0"
        assert type(ws.cell(r, col["Đợt"]).value) is int
        month = ws.cell(r, col["Tháng chăm sóc"]).value
        assert isinstance(month, str) and len(month) == 7 and month[2] == "/"
        assert ws.cell(r, col["Đã khảo sát"]).value == "Không"
        for later in ("Quà đã trao", "Ngày gửi SMS", "Người trao quà", "Gói cước tư vấn",
                      "Đăng ký gói", "Điểm hài lòng"):
            assert ws.cell(r, col[later]).value is None
    rows = as_dicts(ws)
    handed = next(r for r in rows if r["Số thuê bao"] == "0945678901")
    date_cell = ws.cell(
        2 + rows.index(handed), col["Ngày trao quà"])
    assert isinstance(date_cell.value, dt.datetime)
    assert date_cell.value == dt.datetime(2017, 3, 20)
    assert date_cell.number_format == "dd/mm/yyyy"
    assert handed["Kết quả"] == "Đang thực hiện"


def test_chitiet_values(tmp_path: Path) -> None:
    path, _ = write(tmp_path)
    rows = {r["Số thuê bao"]: r for r in as_dicts(readback(path)["ChiTiet"])}
    an = rows["0901234567"]
    assert (an["Tỉnh/TP"], an["Quận/Huyện"], an["Cửa hàng"], an["Nhóm"], an["Hình thức"],
            an["Loại quà"], an["Loại thuê bao"], an["Kết quả"], an["Chuẩn hóa thông tin"]) == (
        "Hải Phòng", "Hồng Bàng", None, 1, "MBF đến tặng", "Quà loại 1", "Trả trước",
        "Chưa thực hiện", "Chưa chuẩn hóa")
    assert (an["Mức cước căn cứ"], an["Năm sử dụng"], an["Tháng chăm sóc"]) == (
        750000, 6, "03/2017")
    anh = rows["0912345678"]
    assert (anh["Hình thức"], anh["Loại quà"], anh["Chuẩn hóa thông tin"], anh["Cửa hàng"]) == (
        "KH đến cửa hàng nhận", "Quà loại 2", "Đã chuẩn hóa", "CH Lê Chân")
    assert rows["0923456789"]["Loại thuê bao"] == "Trả sau"
    gap = rows["0934567890"]
    assert gap["Nhóm"] is None and gap["Kết quả"] == "Chờ quyết định nhóm"
    assert gap["Hình thức"] is None and gap["Loại quà"] is None
    waiting = rows["0956789012"]
    assert waiting["Kết quả"] == "Chưa thực hiện"
    assert waiting["Ghi chú"] == "Danh sách chờ (thiếu quà), thứ tự 3"
    binh = rows["0967890123"]
    assert (binh["Đợt"], binh["Tháng chăm sóc"], binh["Năm sử dụng"]) == (2, "06/2017", None)


def test_formula_injection_is_neutralised(tmp_path: Path) -> None:
    path, _ = write(tmp_path)
    ws = readback(path)["ChiTiet"]
    rows = {r["Số thuê bao"]: r for r in as_dicts(ws)}
    assert rows["0945678901"]["Họ tên"] == '\'=HYPERLINK("http://evil.example","Bấm")'
    assert rows["0967890123"]["Ghi chú"] == "'+84 gọi lại sau"
    for cells in ws.iter_rows(min_row=2):
        for cell in cells:
            assert cell.data_type != "f"
            if isinstance(cell.value, str):
                assert cell.value[0] not in "=+-@\t\r"


@pytest.mark.parametrize(("raw", "safe"), [
    ("=1+1", "'=1+1"), ("+84", "+84"), ("-2", "-2"), ("+84 912 345 678", "+84 912 345 678"),
    ("+1+1", "'+1+1"), ("-2+cmd|' /C calc'!A0", "'-2+cmd|' /C calc'!A0"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "' x"), ("\r=x", "' =x"), ("Lê\nChân", "Lê Chân"), ("", ""), (None, ""),
    ("Nguye\u0302\u0303n", "Nguyễn"), ("an-toàn", "an-toàn"),
])
def test_safe_text(raw: str | None, safe: str) -> None:
    assert safe_text(raw) == safe


def test_chitiet_order(tmp_path: Path) -> None:
    path, _ = write(tmp_path)
    rows = as_dicts(readback(path)["ChiTiet"])
    # batch, group (gap last), district, store, given name first
    assert [r["Số thuê bao"] for r in rows] == [
        "0901234567", "0945678901",  # đợt 1, nhóm 1: Hồng Bàng before Ngô Quyền
        "0923456789", "0912345678", "0956789012",  # nhóm 2, Lê Chân: Anh, Ánh, Dũng
        "0934567890",  # the gap case
        "0967890123",  # đợt 2
    ]


def recompute_digest(wb: openpyxl.Workbook) -> str:
    info = info_of(wb)
    lines = [info["Chương trình"], info["Tỉnh/TP"]]
    for values in wb["ChiTiet"].iter_rows(min_row=2, values_only=True):
        cells = []
        for v in values:
            if v is None:
                cells.append("")
            elif isinstance(v, dt.datetime):
                cells.append(v.strftime("%d/%m/%Y"))
            elif isinstance(v, float) and v.is_integer():
                cells.append(str(int(v)))
            else:
                cells.append(str(v))
        lines.append("\t".join(cells))
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def test_digest_matches_the_rows_read_back(tmp_path: Path) -> None:
    path, written = write(tmp_path)
    wb = readback(path)
    info = info_of(wb)
    assert info["SHA-256 ChiTiet"] == written.sha256
    assert recompute_digest(wb) == written.sha256
    assert len(written.sha256) == 64 and written.sha256 == written.sha256.lower()
    # the public helper agrees with the independent recomputation
    chitiet = list(wb["ChiTiet"].iter_rows(min_row=2, values_only=True))
    assert chitiet_digest(info["Chương trình"], info["Tỉnh/TP"], chitiet) == written.sha256


def test_digest_detects_an_edit(tmp_path: Path) -> None:
    path, written = write(tmp_path)
    wb = readback(path)
    wb["ChiTiet"]["I2"] = "Người Khác"
    edited = tmp_path / "edited.xlsx"
    wb.save(edited)
    assert recompute_digest(readback(edited)) != written.sha256


def test_empty_list_digest_is_the_two_header_lines(tmp_path: Path) -> None:
    path, written = write(tmp_path, [])
    wb = readback(path)
    expected = hashlib.sha256(b"Ch\xc4\x83m s\xc3\xb3c kh\xc3\xa1ch h\xc3\xa0ng n\xc4\x83m 2017"
                              b"\nMobiFone KV5").hexdigest()
    assert written.sha256 == expected == info_of(wb)["SHA-256 ChiTiet"]
    assert wb["ChiTiet"].max_row == 1
    totals = as_dicts(wb["TongHop"])
    assert totals == [{"Đợt": None, "Nhóm": None, "Quận/Huyện": "Tổng cộng",
                       "Số KH trong danh sách": 0, "Đã gửi SMS": 0, "Đã trao quà": 0,
                       "Đã khảo sát": 0, "Đã chuẩn hóa/thu thập": 0, "Tỷ lệ hoàn thành": 0}]


def test_tonghop_rows_totals_and_percentages(tmp_path: Path) -> None:
    path, written = write(tmp_path)
    ws = readback(path)["TongHop"]
    rows = as_dicts(ws)
    keys = [(r["Đợt"], r["Nhóm"], r["Quận/Huyện"], r["Số KH trong danh sách"]) for r in rows]
    assert keys == [
        (1, 1, "Hồng Bàng", 1), (1, 1, "Ngô Quyền", 1), (1, 2, "Lê Chân", 3),
        (1, None, "Hồng Bàng", 1), (1, None, "Cộng đợt 1", 6),
        (2, 1, "Hạ Long", 1), (2, None, "Cộng đợt 2", 1),
        (None, None, "Tổng cộng", 7),
    ]
    assert written.rows["TongHop"] == len(rows)
    by_label = {r["Quận/Huyện"]: r for r in rows}
    assert by_label["Ngô Quyền"]["Đã trao quà"] == 1
    assert by_label["Lê Chân"]["Đã chuẩn hóa/thu thập"] == 1
    assert by_label["Tổng cộng"]["Đã trao quà"] == 1
    assert by_label["Tổng cộng"]["Đã gửi SMS"] == 0 and by_label["Tổng cộng"]["Đã khảo sát"] == 0
    for r in range(2, ws.max_row + 1):
        cell = ws.cell(r, 9)
        assert isinstance(cell.value, int | float) and 0 <= cell.value <= 1
        assert cell.number_format == "0.0%"
        for c in range(4, 9):
            assert type(ws.cell(r, c).value) is int


def test_khoqua_lists_every_item_in_the_warehouse(tmp_path: Path) -> None:
    path, _ = write(tmp_path)
    rows = as_dicts(readback(path)["KhoQua"])
    assert rows == [
        {"Loại quà": "Quà loại 1", "Quà": "Balo kéo du lịch", "Cửa hàng": "Kho", "Nhập": 0,
         "Đã trao": 0, "Còn lại": 0},
        {"Loại quà": "Quà loại 2", "Quà": "Hộp đựng thực phẩm hút chân không",
         "Cửa hàng": "Kho", "Nhập": 0, "Đã trao": 0, "Còn lại": 0},
        {"Loại quà": "Quà loại 2", "Quà": "Ô 2 khúc cầm tay", "Cửa hàng": "Kho", "Nhập": 0,
         "Đã trao": 0, "Còn lại": 0},
    ]


def test_khaosat_header_only(tmp_path: Path) -> None:
    path, written = write(tmp_path)
    ws = readback(path)["KhaoSat"]
    assert ws.max_row == 1 and written.rows["KhaoSat"] == 0


def test_thongtin(tmp_path: Path) -> None:
    path, written = write(tmp_path)
    wb = readback(path)
    info = info_of(wb)
    assert info["Chương trình"] == "Chăm sóc khách hàng năm 2017"
    assert info["Năm"] == 2017
    assert info["Tỉnh/TP"] == "MobiFone KV5"
    assert info["Tháng chăm sóc đợt 1"] == "03/2017"
    assert info["Tháng chăm sóc đợt 2"] == "06/2017"
    assert info["Cách tính mức cước căn cứ"].startswith("every_cycle")
    assert "trên 700.000 đ (không tính mức này)" in info["Quy tắc nhóm 1"]
    assert "(700.000 đ; +∞)" in info["Quy tắc nhóm 1"]
    assert "từ 550.000 đ (tính cả mức này) đến dưới 700.000 đ (không tính mức này)" in info[
        "Quy tắc nhóm 2"]
    assert "[550.000 đ; 700.000 đ)" in info["Quy tắc nhóm 2"]
    assert info["Thời điểm xuất"] == dt.datetime(2017, 4, 2, 9, 30, 15)
    assert info["Người xuất"] == "Nguyễn Thu Hà"
    assert info["Phiên bản phần mềm"] == "9.9.9"
    for sheet in ("ChiTiet", "TongHop", "KhoQua", "KhaoSat", "ThongTin"):
        assert info[f"Số dòng {sheet}"] == written.rows[sheet] == wb[sheet].max_row - 1
    stamp = next(c for c in wb["ThongTin"]["B"] if isinstance(c.value, dt.datetime))
    assert stamp.number_format.startswith("dd/mm/yyyy")


def test_group_rule_text_inclusive_upper_and_open_lower() -> None:
    text = group_rule_text(GroupRule(3, "Nhóm 3", None, True, 550000, True, "store", 2))
    assert "đến 550.000 đ (tính cả mức này)" in text and "(-∞; 550.000 đ]" in text


@pytest.mark.parametrize(("value", "text"), [
    (None, ""), (700000, "700000"), (700000.0, "700000"), (0.5, "0.5"), ("x", "x"),
    (dt.datetime(2017, 3, 5), "05/03/2017"), (dt.date(2017, 12, 1), "01/12/2017"),
])
def test_cell_text(value: object, text: str) -> None:
    assert cell_text(value) == text
