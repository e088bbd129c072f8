"""`consolidate`: provinces' workbooks made by the real export, merged, checked and read back.

Each province has its own database and programme (`province` set), a classified batch 1 and
some recorded work (SMS, handovers, one entry done in all six steps), so that the SMS, handover
and survey columns have values. Files are edited with openpyxl the way someone would in Excel.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil
import time
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.db import make_engine, make_session_factory
from mbfcare.domain.actors import Actor, PermissionProblem
from mbfcare.errors import Cancelled, ImportFileError, UsageError
from mbfcare.models import Charge, ImportRun, Programme, Subscriber
from mbfcare.reports.consolidated import (
    CONSOLIDATED_CHITIET_HEADERS,
    CONSOLIDATED_TONGHOP_HEADERS,
    VANDE_HEADERS,
)
from mbfcare.reports.regional import (
    CHITIET_HEADERS,
    TONGHOP_HEADERS,
    CareRow,
    GiftItemInfo,
    ProgrammeInfo,
    chitiet_digest,
    group_rule_text,
    write_regional,
)
from mbfcare.services import care_work as cw
from mbfcare.services import stock
from mbfcare.services.classification import classify_batch
from mbfcare.services.consolidation import ConsolidationResult, consolidate, parse_rule
from mbfcare.services.exporting import export_regional
from mbfcare.services.programmes import create_programme, default_programme_spec, group_rules

LAN = Actor("Lan", "admin")
CYCLES = (201612, 201611, 201610)
PROGRAMME = "Chăm sóc khách hàng năm 2017"
MEASURES = TONGHOP_HEADERS[3:8]
D = dt.date

# Province -> (number prefix, two districts). Each gets 3 home visits, 4 store pick-ups and one
# subscriber at exactly 700.000 đ (the gap, awaiting a group decision).
PROVINCES = {
    "Hải Phòng": ("0911", ("Lê Chân", "Hồng Bàng")),
    "Quảng Ninh": ("0912", ("Hạ Long", "Cẩm Phả")),
    "Thái Bình": ("0913", ("Thái Thụy", "Vũ Thư")),
    "Hưng Yên": ("0914", ("Văn Lâm", "Mỹ Hào")),
}
SHARED = "0911000005"  # a Hải Phòng store pick-up who is also on Hưng Yên's list
GIVEN_NAMES = ("An", "Bình", "Cường", "Dung", "Giang", "Hà", "Khánh", "Lan")


def people(province: str) -> dict[str, tuple[str, str, tuple[int, int, int], bool]]:
    prefix, (first, second) = PROVINCES[province]
    charges = [(900000, 950000, 1000000), (812000, 790000, 905000), (750000, 760000, 770000),
               (600000, 650000, 560000), (610000, 620000, 630000), (555000, 690000, 700000),
               (680000, 600000, 650000), (700000, 800000, 900000)]
    found = {}
    for i, amounts in enumerate(charges, start=1):
        found[f"{prefix}{i:06d}"] = (f"Nguyễn Văn {GIVEN_NAMES[i - 1]}",
                                     first if i % 2 else second, amounts, i % 3 != 0)
    if province == "Hưng Yên":
        found[SHARED] = ("Trần Thị Chuyển", first, (620000, 640000, 660000), False)
    return found


def build_province(factory: sessionmaker[Session], province: str, *, name: str = PROGRAMME,
                   year: int = 2017) -> None:
    spec = dataclasses.replace(default_programme_spec(), province=province, name=name,
                               year=year)
    pid = create_programme(factory, spec, actor=Actor("test"))
    with factory.begin() as session:
        run = ImportRun(programme_id=pid, kind="subscribers", file_name="thang3.xlsx",
                        file_sha256="0" * 64, user="lan",
                        started_at=dt.datetime(2017, 3, 2, 3, 0, tzinfo=dt.UTC))
        session.add(run)
        session.flush()
        for number, (person, district, charges, standardised) in people(province).items():
            sub = Subscriber(
                msisdn=number, ported=False, subscriber_type="prepaid", status="active",
                name=person, province=province, district=district, store=f"CH {district}",
                address="12 Lê Lợi", activation_date=dt.date(2010, 5, 1),
                profile_standardised=standardised,
                id_number="031080001234" if standardised else None,
                first_import_id=run.id, last_import_id=run.id)
            session.add(sub)
            session.flush()
            for cycle, amount in zip(CYCLES, charges, strict=True):
                session.add(Charge(subscriber_id=sub.id, cycle=cycle, amount=amount))
    classify_batch(factory, programme_id=pid, batch=1, actor=Actor("lan"))
    prefix, (_first, second) = PROVINCES[province]
    if province == "Hưng Yên":
        return  # listed, nobody worked on yet
    # Work: two invitations sent, one store handover, one home visit done in all six steps.
    stock.move_stock(factory, "receive", "o-2-khuc", 5, actor=LAN, location=f"CH {second}")
    stock.move_stock(factory, "receive", "balo-keo", 5, actor=LAN)
    cw.record_step(factory, f"{prefix}000004", "sms", actor=LAN, on=D(2017, 3, 3))
    cw.record_step(factory, f"{prefix}000006", "sms", actor=LAN, on=D(2017, 3, 3))
    cw.record_handover(factory, f"{prefix}000004", actor=LAN, item_code="o-2-khuc",
                       by="Phạm Thu Hà", on=D(2017, 3, 6))
    done = f"{prefix}000001"
    cw.record_step(factory, done, "sms", actor=LAN, on=D(2017, 3, 3))
    cw.record_step(factory, done, "data_check", actor=LAN, on=D(2017, 3, 4))
    cw.record_handover(factory, done, actor=LAN, item_code="balo-keo", by="Đỗ Văn Nam",
                       on=D(2017, 3, 5))
    for step, value in (("package_advice", "MAX90"), ("questions", None), ("survey", None)):
        cw.record_step(factory, done, step, actor=LAN, on=D(2017, 3, 5), value=value)


def next_second() -> None:
    """Export times are kept to the second: make the next export strictly later."""
    time.sleep(1.05 - (time.time() % 1))


@pytest.fixture(scope="module")
def workbooks(template_db: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The provinces' workbooks, exported in this order (Hưng Yên last, one second later),
    plus `other`: a workbook of the 2018 programme."""
    folder = tmp_path_factory.mktemp("provinces")
    found = {}
    for key, province, extra in (
        ("Hải Phòng", "Hải Phòng", {}), ("Quảng Ninh", "Quảng Ninh", {}),
        ("Thái Bình", "Thái Bình", {}), ("Hưng Yên", "Hưng Yên", {}),
        ("other", "Thái Bình", {"name": "Chăm sóc khách hàng năm 2018", "year": 2018}),
    ):
        db = folder / f"{key}.sqlite"
        shutil.copy(template_db, db)
        engine = make_engine(f"sqlite:///{db.as_posix()}")
        factory = make_session_factory(engine)
        build_province(factory, province, **extra)
        if key == "Hưng Yên":
            next_second()
        out = folder / f"{key.replace(' ', '_')}.xlsx"
        export_regional(factory, out, actor=Actor(f"CSKH {province}"))
        engine.dispose()
        found[key] = out
    return found


@pytest.fixture
def copies(workbooks: dict[str, Path], tmp_path: Path) -> dict[str, Path]:
    """Copies of the workbooks in this test's folder (so that tests may edit them)."""
    found = {}
    for key, path in workbooks.items():
        found[key] = tmp_path / path.name
        shutil.copy(path, found[key])
    return found


# --------------------------------------------------------------------------- reading back


def as_dicts(ws: Any) -> list[dict[str, Any]]:
    rows = list(ws.iter_rows(values_only=True))
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


def info_of(wb: openpyxl.Workbook) -> dict[str, Any]:
    return {k: v for k, v in wb["ThongTin"].iter_rows(min_row=2, values_only=True)}


def own_total(path: Path) -> tuple[int, ...]:
    """The province workbook's own TongHop grand total."""
    rows = as_dicts(openpyxl.load_workbook(path)["TongHop"])
    total = next(r for r in rows if r["Quận/Huyện"] == "Tổng cộng")
    return tuple(total[m] for m in MEASURES)


def data_rows(path: Path) -> list[tuple[Any, ...]]:
    return list(openpyxl.load_workbook(path)["ChiTiet"].iter_rows(min_row=2, values_only=True))


def row_of(path: Path, msisdn: str) -> int:
    ws = openpyxl.load_workbook(path)["ChiTiet"]
    return next(r for r in range(2, ws.max_row + 1) if ws.cell(r, 8).value == msisdn)


def merge(paths: list[Path], tmp_path: Path, **kw: Any) -> tuple[ConsolidationResult, Path]:
    out = tmp_path / "kv5_tong_hop.xlsx"
    return consolidate(paths, out, user="Phòng CSKH KV5", **kw), out


def vande(out: Path) -> list[dict[str, Any]]:
    return as_dicts(openpyxl.load_workbook(out)["VanDe"])


# --------------------------------------------------------------------------- clean merge


def test_clean_merge(copies: dict[str, Path], tmp_path: Path) -> None:
    files = [copies["Hải Phòng"], copies["Quảng Ninh"], copies["Thái Bình"]]
    result, out = merge(files, tmp_path)

    assert result.refused == [] and result.duplicates == [] and result.problems == []
    assert result.programme == PROGRAMME and result.year == 2017
    assert [m.province for m in result.merged] == ["Hải Phòng", "Quảng Ninh", "Thái Bình"]
    assert [m.rows for m in result.merged] == [8, 8, 8]
    assert [m.kept for m in result.merged] == [8, 8, 8]
    assert result.rows == 24 and result.sheets["ChiTiet"] == 24 and result.sheets["VanDe"] == 0

    data = json.loads(json.dumps(result.to_json()))
    assert data["file"] == str(out) and data["rows"] == 24
    assert data["refused"] == [] and data["duplicates"] == [] and data["problems"] == 0
    assert [(m["file"], m["province"], m["rows"]) for m in data["merged"]] == [
        (str(files[0]), "Hải Phòng", 8), (str(files[1]), "Quảng Ninh", 8),
        (str(files[2]), "Thái Bình", 8)]
    for merged, path in zip(data["merged"], files, strict=True):
        assert merged["sha256"] == info_of(openpyxl.load_workbook(path))["SHA-256 ChiTiet"]

    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["ChiTiet", "TongHop", "VanDe", "ThongTin"]
    # every province row, unchanged, with its source at the end
    merged_rows = sorted(wb["ChiTiet"].iter_rows(min_row=2, values_only=True), key=str)
    expected = sorted(((*row, province, path.name) for path, province in zip(
        files, ("Hải Phòng", "Quảng Ninh", "Thái Bình"), strict=True)
        for row in data_rows(path)), key=str)
    assert merged_rows == expected

    # TongHop: each province's total equals its own workbook's; the region's is their sum
    summary = as_dicts(wb["TongHop"])
    totals = {r["Tỉnh/TP"]: tuple(r[m] for m in MEASURES) for r in summary
              if r["Quận/Huyện"] == "Tổng cộng"}
    for path, province in zip(files, ("Hải Phòng", "Quảng Ninh", "Thái Bình"), strict=True):
        assert totals[province] == own_total(path)
    assert totals["Toàn vùng"] == tuple(sum(t) for t in zip(
        *(own_total(p) for p in files), strict=True))
    assert totals["Toàn vùng"] == (24, 9, 6, 3, 18)  # 3 × (8 listed, 3 SMS, 2 gifts, 1 survey)
    grand = next(r for r in summary if r["Tỉnh/TP"] == "Toàn vùng"
                 and r["Quận/Huyện"] == "Tổng cộng")
    assert grand["Tỷ lệ hoàn thành"] == pytest.approx(3 / 24)
    # the region's rows by group: 3 × 3 home visits, 3 × 4 store pick-ups, 3 gap cases
    region = {(r["Đợt"], r["Nhóm"], r["Quận/Huyện"]): r["Số KH trong danh sách"]
              for r in summary if r["Tỉnh/TP"] == "Toàn vùng"}
    assert region == {(1, 1, None): 9, (1, 2, None): 12, (1, None, "Chờ quyết định nhóm"): 3,
                      (1, None, "Cộng đợt 1"): 24, (None, None, "Tổng cộng"): 24}
    lines = {(r["Tỉnh/TP"], r["Đợt"], r["Nhóm"], r["Quận/Huyện"]): r["Số KH trong danh sách"]
             for r in summary}
    assert lines[("Hải Phòng", 1, 2, "Lê Chân")] == 2
    assert lines[("Hải Phòng", 1, None, "Cộng đợt 1")] == 8

    info = info_of(wb)
    assert info["Chương trình"] == PROGRAMME and info["Năm"] == 2017
    assert info["Tỉnh/TP"] == "Hải Phòng, Quảng Ninh, Thái Bình"
    assert info["Số tệp đã gộp"] == 3 and info["Số tệp không gộp"] == 0
    assert info["Tệp 1"] == files[0].name and info["Tệp 1 – Tỉnh/TP"] == "Hải Phòng"
    assert isinstance(info["Tệp 1 – Thời điểm xuất"], dt.datetime)
    assert info["Tệp 2 – SHA-256 ChiTiet"] == data["merged"][1]["sha256"]
    assert info["Tệp 3 – Số dòng ChiTiet"] == 8 and info["Tệp 3 – Số dòng đã gộp"] == 8
    assert info["Người tổng hợp"] == "Phòng CSKH KV5"
    assert isinstance(info["Thời điểm tổng hợp"], dt.datetime)
    assert info["Số dòng ChiTiet"] == 24 and info["Số dòng VanDe"] == 0
    assert info["Số dòng ThongTin"] == wb["ThongTin"].max_row - 1
    assert info["Số dòng TongHop"] == wb["TongHop"].max_row - 1
    # the merged digest, computed the province way over the rows as they read back
    rows = list(wb["ChiTiet"].iter_rows(min_row=2, values_only=True))
    assert chitiet_digest(info["Chương trình"], info["Tỉnh/TP"], rows) == result.sha256
    assert info["SHA-256 ChiTiet"] == result.sha256 == data["sha256"]


def test_every_sheet_read_back_header_by_header(copies: dict[str, Path],
                                                 tmp_path: Path) -> None:
    _result, out = merge([copies["Hải Phòng"], copies["Quảng Ninh"]], tmp_path)
    wb = openpyxl.load_workbook(out)
    detail = wb["ChiTiet"]
    assert [c.value for c in detail[1]] == list(CONSOLIDATED_CHITIET_HEADERS)
    assert CONSOLIDATED_CHITIET_HEADERS[:27] == CHITIET_HEADERS
    assert CONSOLIDATED_CHITIET_HEADERS[27:] == ("Tỉnh nguồn", "Tệp nguồn")
    assert [c.value for c in wb["TongHop"][1]] == list(CONSOLIDATED_TONGHOP_HEADERS)
    assert [c.value for c in wb["VanDe"][1]] == list(VANDE_HEADERS)
    assert [c.value for c in wb["ThongTin"][1]] == ["Thông tin", "Giá trị"]
    for name in wb.sheetnames:
        assert wb[name].freeze_panes == "A2"
        assert not wb[name].merged_cells.ranges
    assert detail.auto_filter.ref == "A1:AC17"

    header = [c.value for c in detail[1]]
    col = {h: i for i, h in enumerate(header)}
    cells = {row[col["Số thuê bao"]].value: row for row in detail.iter_rows(min_row=2)}
    done = cells["0911000001"]
    assert done[col["Số thuê bao"]].data_type == "s"
    assert done[col["Số thuê bao"]].value == "0911000001"
    for money in ("Cước chu kỳ n-3", "Cước chu kỳ n-4", "Cước chu kỳ n-5", "Mức cước căn cứ"):
        assert isinstance(done[col[money]].value, int)
        assert done[col[money]].number_format == "#,##0"
    assert done[col["Mức cước căn cứ"]].value == 900000
    for day, expected in (("Ngày gửi SMS", dt.datetime(2017, 3, 3)),
                          ("Ngày trao quà", dt.datetime(2017, 3, 5))):
        assert done[col[day]].value == expected
        assert done[col[day]].number_format == "dd/mm/yyyy"
    assert done[col["Đợt"]].value == 1 and done[col["Nhóm"]].value == 1
    assert done[col["Tháng chăm sóc"]].value == "03/2017"
    assert done[col["Quà đã trao"]].value == "Balo kéo du lịch"
    assert done[col["Người trao quà"]].value == "Đỗ Văn Nam"
    assert done[col["Đăng ký gói"]].value == "MAX90"
    assert done[col["Đã khảo sát"]].value == "Có"
    assert done[col["Kết quả"]].value == "Hoàn thành"
    assert done[col["Tỉnh nguồn"]].value == "Hải Phòng"
    assert done[col["Tệp nguồn"]].value == copies["Hải Phòng"].name
    gap = cells["0912000008"]
    assert gap[col["Nhóm"]].value is None and gap[col["Kết quả"]].value == "Chờ quyết định nhóm"
    assert gap[col["Tỉnh nguồn"]].value == "Quảng Ninh"

    for row in wb["TongHop"].iter_rows(min_row=2):
        assert all(isinstance(c.value, int) for c in row[4:9])
        assert isinstance(row[9].value, int | float) and row[9].number_format == "0.0%"
    stamp = next(r for r in wb["ThongTin"].iter_rows(min_row=2) if r[0].value ==
                 "Thời điểm tổng hợp")[1]
    assert isinstance(stamp.value, dt.datetime) and stamp.number_format == "dd/mm/yyyy hh:mm:ss"


# --------------------------------------------------------------------------- edited files


def test_edited_charge_is_refused_and_its_row_shown(copies: dict[str, Path],
                                                    tmp_path: Path) -> None:
    edited = copies["Hải Phòng"]
    row = row_of(edited, "0911000002")
    wb = openpyxl.load_workbook(edited)
    assert wb["ChiTiet"].cell(row, 12).value == 790000  # Cước chu kỳ n-4, the basis
    wb["ChiTiet"].cell(row, 12).value = 690000  # lowered after export
    wb.save(edited)

    result, out = merge([edited, copies["Quảng Ninh"], copies["Thái Bình"]], tmp_path)
    assert [m.province for m in result.merged] == ["Quảng Ninh", "Thái Bình"]
    assert result.rows == 16
    [refused] = result.to_json()["refused"]
    assert refused["file"] == str(edited) and refused["code"] == "edited"
    assert refused["province"] == "Hải Phòng"
    assert refused["reason"] == (
        "Tệp đã bị sửa sau khi xuất: SHA-256 ChiTiet ghi trong ThongTin không khớp với dữ liệu "
        "sheet ChiTiet (1 dòng đáng ngờ, xem sheet VanDe).")

    problems = [p for p in vande(out) if p["Tệp"] == edited.name]
    assert problems[0]["Sheet"] == "ThongTin"
    assert "chứng tỏ tệp đã bị sửa sau khi xuất" in problems[0]["Vấn đề"]
    assert f"Các dòng đáng ngờ tìm được (không khớp những gì tệp xuất luôn ghi): {row}." in \
        problems[0]["Vấn đề"]
    suspicious = [p for p in problems if p["Sheet"] == "ChiTiet"]
    assert suspicious == [{
        "Tệp": edited.name, "Tỉnh nguồn": "Hải Phòng", "Sheet": "ChiTiet", "Dòng": row,
        "Số thuê bao": "0911000002",
        "Vấn đề": f"Dòng {row} đáng ngờ (có thể đã bị sửa sau khi xuất): Mức cước căn cứ "
                  "790.000 đ khác mức thấp nhất của ba chu kỳ (690.000 đ, cách tính "
                  "every_cycle).",
        "Cách xử lý": "Không gộp (tệp bị từ chối).",
    }]
    assert all(r[-2] != "Hải Phòng" for r in data_rows(out))


def test_edit_that_cannot_be_located_is_said_honestly(copies: dict[str, Path],
                                                      tmp_path: Path) -> None:
    edited = copies["Quảng Ninh"]
    wb = openpyxl.load_workbook(edited)
    wb["ChiTiet"]["I3"] = "Tên Đã Sửa"
    wb.save(edited)
    result, out = merge([edited, copies["Thái Bình"]], tmp_path)
    assert result.refused[0].code == "edited"
    assert result.refused[0].reason.endswith("không khớp với dữ liệu sheet ChiTiet.")
    [problem] = [p for p in vande(out) if p["Tệp"] == edited.name]
    assert "Không tìm ra dòng nào sai rõ ràng" in problem["Vấn đề"]
    assert problem["Cách xử lý"].startswith("Không gộp tệp này")


def test_edited_file_rows_are_checked_against_the_export_rules(copies: dict[str, Path],
                                                               tmp_path: Path) -> None:
    edited = copies["Thái Bình"]
    wb = openpyxl.load_workbook(edited)
    ws = wb["ChiTiet"]
    col = {c.value: c.column for c in ws[1]}
    rows = {ws.cell(r, col["Số thuê bao"]).value: r for r in range(2, ws.max_row + 1)}
    ws.cell(rows["0913000003"], col["Nhóm"]).value = 2  # a home visit moved to group 2
    ws.cell(rows["0913000004"], col["Số thuê bao"]).value = 913000004  # number, not text
    ws.cell(rows["0913000006"], col["Ngày gửi SMS"]).value = "hôm qua"
    ws.cell(rows["0913000007"], col["Kết quả"]).value = "Hoàn thành"
    note = ws.cell(rows["0913000002"], col["Ghi chú"])
    note.value = "=1+1"
    note.data_type = "s"  # typed as text, as Excel keeps a formula typed after a quote
    wb.save(edited)
    result, out = merge([edited, copies["Hải Phòng"]], tmp_path)
    assert result.refused[0].code == "edited"
    found = {p["Dòng"]: p["Vấn đề"] for p in vande(out)
             if p["Tệp"] == edited.name and p["Sheet"] == "ChiTiet"}
    assert "mức cước căn cứ 750.000 đ thuộc Nhóm 1, không phải Nhóm 2" in \
        found[rows["0913000003"]]
    assert "Hình thức 'MBF đến tặng' khác hình thức của Nhóm 2" in found[rows["0913000003"]]
    assert "Số thuê bao 913.000.004 là số hoặc trống, không phải chữ" in \
        found[rows["0913000004"]]
    assert "Ngày gửi SMS 'hôm qua' không phải ngày" in found[rows["0913000006"]]
    assert "Kết quả 'Hoàn thành' nhưng thiếu Ngày gửi SMS, Ngày trao quà, khảo sát" in \
        found[rows["0913000007"]]
    assert "ô Ghi chú bắt đầu bằng '='" in found[rows["0913000002"]]
    assert set(found) == {rows[n] for n in ("0913000002", "0913000003", "0913000004",
                                            "0913000006", "0913000007")}
    # moving a row to another group also shows against the file's own TongHop
    summary = [p["Vấn đề"] for p in vande(out)
               if p["Tệp"] == edited.name and p["Sheet"] == "TongHop"]
    assert summary == [
        "TongHop dòng 2 (Đợt 1, Nhóm 1, Thái Thụy) không khớp ChiTiet: Số KH trong danh sách "
        "ghi 2, ChiTiet có 1.",
        "TongHop dòng 4 (Đợt 1, Nhóm 2, Thái Thụy) không khớp ChiTiet: Số KH trong danh sách "
        "ghi 2, ChiTiet có 3.",
    ]


def test_notes_typed_beside_the_table_are_not_merged(copies: dict[str, Path],
                                                     tmp_path: Path) -> None:
    path = copies["Quảng Ninh"]
    wb = openpyxl.load_workbook(path)
    wb["ChiTiet"]["AC4"] = "đã gọi lại"  # beside the 27 columns: not part of the digest
    wb.save(path)
    result, out = merge([path], tmp_path)
    assert result.refused == [] and result.rows == 8
    [problem] = vande(out)
    assert (problem["Sheet"], problem["Dòng"]) == ("ChiTiet", 4)
    assert problem["Vấn đề"] == ("Có dữ liệu ngoài 27 cột của mẫu (từ dòng 4); phần này không "
                                 "được SHA-256 bảo vệ và không được gộp.")
    assert all(len(r) == 29 and "đã gọi lại" not in r for r in data_rows(out))


def test_tonghop_edited_alone_is_merged_and_noted(copies: dict[str, Path],
                                                  tmp_path: Path) -> None:
    path = copies["Hải Phòng"]
    wb = openpyxl.load_workbook(path)
    ws = wb["TongHop"]
    total = next(r for r in range(2, ws.max_row + 1) if ws.cell(r, 3).value == "Tổng cộng")
    ws.cell(total, 6).value = 99  # Đã trao quà
    wb.save(path)
    result, out = merge([path, copies["Quảng Ninh"]], tmp_path)
    assert result.refused == [] and result.rows == 16  # ChiTiet is intact (the digest says so)
    [problem] = vande(out)
    assert problem["Sheet"] == "TongHop" and problem["Dòng"] == total
    assert problem["Vấn đề"] == (
        f"TongHop dòng {total} (Tổng cộng) không khớp ChiTiet: Đã trao quà ghi 99, ChiTiet có "
        "2. TongHop không được SHA-256 bảo vệ nên đã bị sửa hoặc tính sai.")
    assert problem["Cách xử lý"] == "Vẫn gộp; số liệu tổng hợp được tính lại từ ChiTiet."
    summary = as_dicts(openpyxl.load_workbook(out)["TongHop"])
    hp = next(r for r in summary if r["Tỉnh/TP"] == "Hải Phòng" and r["Quận/Huyện"] ==
              "Tổng cộng")
    assert hp["Đã trao quà"] == 2


# --------------------------------------------------------------------------- duplicates


def test_duplicate_across_files_kept_once_from_the_later_export(
        copies: dict[str, Path], tmp_path: Path) -> None:
    hp, hy = copies["Hải Phòng"], copies["Hưng Yên"]
    hp_row, hy_row = row_of(hp, SHARED), row_of(hy, SHARED)
    # Hưng Yên was exported later: its copy is kept whatever the order of the files
    for order in ([hp, hy], [hy, hp]):
        result, out = merge(order, tmp_path)
        assert result.refused == []
        assert result.rows == 8 + 9 - 1
        data = json.loads(json.dumps(result.to_json()))
        [dup] = data["duplicates"]
        assert dup["msisdn"] == SHARED
        assert (dup["kept"]["file"], dup["kept"]["province"], dup["kept"]["row"]) == (
            str(hy), "Hưng Yên", hy_row)
        assert [(a["file"], a["province"], a["row"]) for a in dup["also_in"]] == [
            (str(hp), "Hải Phòng", hp_row)]
        assert dup["kept"]["exported_at"] > dup["also_in"][0]["exported_at"]
        assert {m["province"]: (m["rows"], m["kept"]) for m in data["merged"]} == {
            "Hải Phòng": (8, 7), "Hưng Yên": (9, 9)}

        rows = [r for r in data_rows(out) if r[7] == SHARED]
        assert len(rows) == 1 and rows[0][-2:] == ("Hưng Yên", hy.name)
        assert rows[0][0] == "Hưng Yên" and rows[0][19] is None  # not handed over there

        problems = vande(out)
        lines = [p for p in problems if p["Số thuê bao"] == SHARED]
        assert len(lines) == 1
        assert lines[0]["Tệp"] == hp.name and lines[0]["Dòng"] == hp_row
        assert f"cũng có trong tệp {hy.name} (Hưng Yên, dòng {hy_row}" in lines[0]["Vấn đề"]
        assert "giữ bản của tệp xuất sau" in lines[0]["Vấn đề"]
        assert any(p["Vấn đề"] == f"Tệp {hp.name} có 1 dòng trùng thuê bao với tệp {hy.name} "
                                  f"(Hưng Yên); giữ bản của tệp {hy.name}." for p in problems)

        # never counted twice: the region's total is one less than the sum of the files'
        summary = as_dicts(openpyxl.load_workbook(out)["TongHop"])
        totals = {r["Tỉnh/TP"]: r for r in summary if r["Quận/Huyện"] == "Tổng cộng"}
        assert totals["Toàn vùng"]["Số KH trong danh sách"] == 16
        assert own_total(hp)[0] + own_total(hy)[0] == 17
        assert totals["Hải Phòng"]["Số KH trong danh sách"] == 7
        assert totals["Hưng Yên"]["Số KH trong danh sách"] == 9


def test_duplicate_row_added_inside_a_file_breaks_its_digest(
        copies: dict[str, Path], tmp_path: Path) -> None:
    """Decided: a row copied inside a province file is an edit (the digest breaks), so the
    file is refused; VanDe names the copied row and the TongHop counts it no longer matches."""
    edited = copies["Quảng Ninh"]
    wb = openpyxl.load_workbook(edited)
    ws = wb["ChiTiet"]
    ws.append([c.value for c in ws[3]])
    last = ws.max_row
    number = ws.cell(3, 8).value
    wb.save(edited)
    result, out = merge([edited, copies["Thái Bình"]], tmp_path)
    assert result.refused[0].code == "edited" and result.duplicates == []
    problems = [p for p in vande(out) if p["Tệp"] == edited.name]
    row = next(p for p in problems if p["Sheet"] == "ChiTiet")
    assert row["Dòng"] == last and row["Số thuê bao"] == number
    assert f"trùng số thuê bao {number} với dòng 3" in row["Vấn đề"]
    assert any(p["Sheet"] == "TongHop" and "Số KH trong danh sách ghi 8, ChiTiet có 9" in
               p["Vấn đề"] for p in problems)
    assert any(p["Sheet"] == "ThongTin" and "ThongTin ghi 8 dòng ChiTiet nhưng sheet ChiTiet "
               "có 9 dòng" in p["Vấn đề"] for p in problems)


def test_duplicate_inside_an_intact_file_is_kept_once(copies: dict[str, Path],
                                                     tmp_path: Path) -> None:
    """A file whose digest holds but lists a number twice (an older or faulty export): merged,
    the number kept once (its first row), and reported."""
    spec = default_programme_spec()
    row = CareRow(
        batch=1, care_month="03/2017", state="listed", group=1, delivery="visit", gift_type=1,
        msisdn="0915000001", name="Lý Văn Tám", subscriber_type="prepaid", province="Bắc Ninh",
        district="Từ Sơn", store="", charge_1=800000, charge_2=900000, charge_3=750000,
        basis=750000, tenure_years=6, tenure_band="5–10 năm", waiting_rank=None, note="",
        handed_over=None, has_work=False, standardised=True)
    twice = dataclasses.replace(row, district="Yên Phong", sms_on=D(2017, 3, 3), has_work=True)
    other = dataclasses.replace(row, msisdn="0915000002", name="Lý Thị Chín")
    info = ProgrammeInfo(
        name=spec.name, year=spec.year, province="Bắc Ninh", aggregation=spec.aggregation,
        rule_version=1, batches=((1, "03/2017"),),
        groups=tuple(spec.groups), gift_items=(GiftItemInfo(1, "Quà loại 1", "balo-keo",
                                                            "Balo kéo du lịch"),))
    path = tmp_path / "bac_ninh.xlsx"
    write_regional(path, info, [row, twice, other], exported_at=dt.datetime(2017, 3, 10, 8),
                   version="0.1.0")
    result, out = merge([path, copies["Thái Bình"]], tmp_path)
    assert result.refused == []
    [dup] = result.to_json()["duplicates"]
    assert dup["msisdn"] == "0915000001"
    # rows: 2 Lý Thị Chín, 3 Lý Văn Tám (Từ Sơn), 4 Lý Văn Tám again (Yên Phong)
    assert (dup["kept"]["file"], dup["kept"]["row"]) == (str(path), 3)
    assert [(a["file"], a["province"], a["row"]) for a in dup["also_in"]] == [
        (str(path), "Bắc Ninh", 4)]
    assert result.merged[0].province == "Bắc Ninh" and result.merged[0].kept == 2
    assert result.rows == 2 + 8
    line = next(p for p in vande(out) if p["Số thuê bao"] == "0915000001")
    assert line["Dòng"] == 4 and "trùng với dòng 3 của cùng tệp; giữ dòng 3" in line["Vấn đề"]
    summary = as_dicts(openpyxl.load_workbook(out)["TongHop"])
    bn = next(r for r in summary if r["Tỉnh/TP"] == "Bắc Ninh" and r["Quận/Huyện"] ==
              "Tổng cộng")
    assert (bn["Số KH trong danh sách"], bn["Đã gửi SMS"]) == (2, 0)


# --------------------------------------------------------------------------- refused files


def test_another_programme_is_refused(copies: dict[str, Path], tmp_path: Path) -> None:
    # A copy whose ThongTin says another year (ThongTin is not in the digest).
    year_changed = tmp_path / "hai_phong_2018.xlsx"
    wb = openpyxl.load_workbook(copies["Hải Phòng"])
    ws = wb["ThongTin"]
    year_row = next(r for r in range(2, ws.max_row + 1) if ws.cell(r, 1).value == "Năm")
    ws.cell(year_row, 2).value = 2018
    wb.save(year_changed)
    result, out = merge([copies["other"], copies["Quảng Ninh"], year_changed,
                         copies["Thái Bình"]], tmp_path)
    assert [m.province for m in result.merged] == ["Quảng Ninh", "Thái Bình"]
    refused = {Path(r["file"]).name: r for r in result.to_json()["refused"]}
    assert refused[copies["other"].name]["code"] == "programme"
    assert refused[copies["other"].name]["reason"] == (
        "Thuộc chương trình khác: 'Chăm sóc khách hàng năm 2018' năm 2018 (các tệp được gộp là "
        "'Chăm sóc khách hàng năm 2017' năm 2017); không gộp lẫn chương trình.")
    assert refused[year_changed.name]["code"] == "programme"
    assert "'Chăm sóc khách hàng năm 2017' năm 2018" in refused[year_changed.name]["reason"]
    assert {p["Tệp"] for p in vande(out)} == {copies["other"].name, year_changed.name}
    assert info_of(openpyxl.load_workbook(out))["Số tệp không gộp"] == 2


def test_unreadable_and_foreign_files_are_refused(copies: dict[str, Path],
                                                  tmp_path: Path) -> None:
    text = tmp_path / "danh_sach.xlsx"
    text.write_text("Số thuê bao,Họ tên\n0912345678,An\n", encoding="utf-8")
    foreign = tmp_path / "bang_khac.xlsx"
    wb = openpyxl.Workbook()
    wb.active.title = "ChiTiet"
    wb.active.append(["Số thuê bao", "Họ tên"])
    wb.create_sheet("TongHop")
    wb.create_sheet("ThongTin")
    wb.save(foreign)
    no_sheets = tmp_path / "khong_co_sheet.xlsx"
    openpyxl.Workbook().save(no_sheets)
    missing = tmp_path / "khong_co.xlsx"
    result, out = merge([text, copies["Hải Phòng"], foreign, no_sheets, missing], tmp_path)
    assert [m.province for m in result.merged] == ["Hải Phòng"]
    refused = {Path(r.file).name: r for r in result.refused}
    assert refused["danh_sach.xlsx"].code == "unreadable"
    assert refused["danh_sach.xlsx"].reason == (
        "Không phải tệp Excel .xlsx xuất từ MBF Care (đây là tệp văn bản, có thể chỉ bị đổi "
        "đuôi).")
    assert refused["bang_khac.xlsx"].code == "format"
    assert refused["bang_khac.xlsx"].reason == (
        "Không đúng mẫu tệp gửi MBF KV5: dòng tiêu đề sheet ThongTin không đúng mẫu: ô A1 là "
        "'', cần 'Thông tin'.")
    assert refused["khong_co_sheet.xlsx"].reason == (
        "Không đúng mẫu tệp gửi MBF KV5: thiếu sheet ChiTiet, TongHop, ThongTin.")
    assert refused["khong_co.xlsx"].code == "unreadable"
    assert refused["khong_co.xlsx"].reason.startswith("Không đọc được tệp: Không tìm thấy tệp")
    assert {p["Tệp"] for p in vande(out)} == {"danh_sach.xlsx", "bang_khac.xlsx",
                                              "khong_co_sheet.xlsx", "khong_co.xlsx"}


def test_same_file_twice_and_a_consolidated_file(copies: dict[str, Path],
                                                 tmp_path: Path) -> None:
    _first, out = merge([copies["Hải Phòng"], copies["Quảng Ninh"]], tmp_path)
    merged_again = tmp_path / "da_tong_hop.xlsx"
    shutil.copy(out, merged_again)
    again = tmp_path / "hai_phong_ban_sao.xlsx"
    shutil.copy(copies["Hải Phòng"], again)
    result, _out = merge([copies["Hải Phòng"], again, merged_again], tmp_path)
    assert result.rows == 8 and result.duplicates == []
    refused = {Path(r.file).name: r for r in result.refused}
    assert refused[again.name].code == "same_file"
    assert refused[again.name].reason == (
        f"Cùng nội dung với tệp {copies['Hải Phòng'].name} (tệp được nêu hai lần); chỉ gộp "
        "một lần.")
    assert refused[merged_again.name].code == "format"
    assert "Đây là tệp đã tổng hợp" in refused[merged_again.name].reason


def test_nothing_usable_refuses_the_whole_run(copies: dict[str, Path], tmp_path: Path) -> None:
    text = tmp_path / "a.xlsx"
    text.write_text("không phải bảng tính", encoding="utf-8")
    edited = copies["Hải Phòng"]
    wb = openpyxl.load_workbook(edited)
    wb["ChiTiet"]["I2"] = "Người Khác"
    wb.save(edited)
    out = tmp_path / "tong_hop.xlsx"
    with pytest.raises(ImportFileError) as caught:
        consolidate([text, edited], out)
    message = str(caught.value)
    assert message.startswith("Không gộp được tệp nào: a.xlsx – Không phải tệp Excel .xlsx xuất "
                              "từ MBF Care (đây là tệp văn bản")
    assert message.endswith(f"; {edited.name} – Tệp đã bị sửa sau khi xuất: SHA-256 ChiTiet "
                            "ghi trong ThongTin không khớp với dữ liệu sheet ChiTiet.")
    assert not out.exists()
    # a file of another programme alone is that programme's consolidation
    result, _out = merge([copies["other"]], tmp_path)
    assert result.year == 2018 and result.rows == 8


def test_output_checks(copies: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"phải có đuôi \.xlsx"):
        consolidate([copies["Hải Phòng"]], tmp_path / "tong_hop.csv")
    with pytest.raises(UsageError, match="không tồn tại"):
        consolidate([copies["Hải Phòng"]], tmp_path / "khong_co" / "tong_hop.xlsx")
    with pytest.raises(UsageError, match="trùng với một tệp cần gộp"):
        consolidate([copies["Hải Phòng"]], copies["Hải Phòng"])
    with pytest.raises(UsageError, match="ít nhất một tệp"):
        consolidate([], tmp_path / "tong_hop.xlsx")


class _Progress:
    def __init__(self, cancel_after: int | None = None) -> None:
        self.reports: list[tuple[int, int, str]] = []
        self.cancel_after = cancel_after

    def report(self, done: int, total: int, text: str = "") -> None:
        self.reports.append((done, total, text))

    def cancelled(self) -> bool:
        return self.cancel_after is not None and len(self.reports) >= self.cancel_after


def test_progress_and_cancel(copies: dict[str, Path], tmp_path: Path) -> None:
    progress = _Progress()
    files = [copies["Hải Phòng"], copies["Quảng Ninh"]]
    merge(files, tmp_path, progress=progress)
    assert progress.reports[0] == (0, 4, f"Đang kiểm tra {files[0].name}")
    assert progress.reports[2] == (2, 4, f"Đang gộp {files[0].name}")
    assert progress.reports[-1] == (4, 4, "")
    out = tmp_path / "huy.xlsx"
    with pytest.raises(Cancelled):
        consolidate(files, out, progress=_Progress(cancel_after=3))
    assert not out.exists() and not list(tmp_path.glob(".huy*"))


def test_group_rules_read_back_from_their_words(factory: sessionmaker[Session]) -> None:
    pid = create_programme(factory, default_programme_spec(), actor=Actor("test"))
    with factory() as session:
        programme = session.get(Programme, pid)
        assert programme is not None
        rules = group_rules(programme)
    for rule in rules:
        assert parse_rule(rule.number, group_rule_text(rule)) == dataclasses.replace(
            rule, name=f"Nhóm {rule.number}")
    assert parse_rule(1, "Nhóm 1: mọi mức") is None


def test_each_province_s_audit_chain_head_is_carried(copies: dict[str, Path], tmp_path: Path,
                                                     factory: sessionmaker[Session]) -> None:
    from sqlalchemy import select

    from mbfcare.models import AuditEntry

    paths = [copies["Hải Phòng"], copies["Quảng Ninh"]]
    heads = {}
    for path in paths:
        about = info_of(openpyxl.load_workbook(path))
        heads[about["Tỉnh/TP"]] = (about["Nhật ký thao tác đến dòng"],
                                   about["SHA-256 nhật ký thao tác"])
        assert len(about["SHA-256 nhật ký thao tác"]) == 64
    result, out = merge(paths, tmp_path, actor=Actor("Phòng CSKH KV5"), factory=factory)
    about = info_of(openpyxl.load_workbook(out))
    for number in (1, 2):
        province = about[f"Tệp {number} – Tỉnh/TP"]
        assert (about[f"Tệp {number} – Nhật ký thao tác đến dòng"],
                about[f"Tệp {number} – SHA-256 nhật ký thao tác"]) == heads[province]
    # The merged file holds personal data: recorded in the regional office's own log.
    with factory() as session:
        entry = session.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1))
        assert entry is not None and entry.action == "export"
        assert entry.after is not None and entry.after["kind"] == "consolidated"
        assert entry.after["rows"] == result.rows
    with pytest.raises(PermissionProblem):
        merge(paths, tmp_path, actor=Actor("KV5", "viewer"))
