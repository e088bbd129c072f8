"""The stock workbook: three sheets, bold headers, numbers as numbers, real dates, text numbers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pytest
from care_data import GROUP2, STORE, seed_listed
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.domain.actors import Actor
from mbfcare.errors import StorageError, UsageError
from mbfcare.reports.stock_workbook import (
    QUANO_HEADERS,
    SHEETS,
    SOKHO_HEADERS,
    TONKHO_HEADERS,
    export_stock,
    write_stock_workbook,
)
from mbfcare.services import care_work, stock
from mbfcare.services.stock import OwedDTO

KT = Actor("Kiểm thử")  # who exports in these tests (an administrator)

LAN = Actor("Lan", "admin")


@pytest.fixture
def stocked(factory: sessionmaker[Session], programme_id: int) -> sessionmaker[Session]:
    seed_listed(factory, programme_id)
    stock.move_stock(factory, "receive", "balo-keo", 1500, actor=LAN, programme_id=programme_id)
    stock.move_stock(factory, "receive", "o-2-khuc", 30, actor=LAN, programme_id=programme_id)
    stock.move_stock(factory, "transfer", "o-2-khuc", 12, actor=LAN, to_location=STORE,
                     reason="=SUM(A1)", programme_id=programme_id)
    promised = care_work.local_today() + dt.timedelta(days=3)
    numbers = list(GROUP2)
    care_work.record_handover(factory, numbers[0], actor=LAN, programme_id=programme_id,
                              item_code="o-2-khuc")
    care_work.record_handover(factory, numbers[1], actor=LAN, programme_id=programme_id,
                              item_code="hop-thuc-pham", owed=True, promised_on=promised)
    return factory


def test_writes_three_sheets_with_typed_cells(
        stocked: sessionmaker[Session], programme_id: int, tmp_path: Path) -> None:
    out = tmp_path / "kho.xlsx"
    written = export_stock(stocked, out, programme_id, active="QuaNo", actor=KT)
    assert written.rows == {"TonKho": 4, "SoKho": 5, "QuaNo": 1}
    assert written.text.startswith("Đã xuất kho quà ra tệp kho.xlsx: 4 dòng tồn kho")

    book = openpyxl.load_workbook(out)
    assert book.sheetnames == list(SHEETS)
    assert book.active.title == "QuaNo"
    for name, headers in zip(SHEETS, (TONKHO_HEADERS, SOKHO_HEADERS, QUANO_HEADERS),
                             strict=True):
        ws = book[name]
        assert tuple(c.value for c in ws[1]) == headers
        assert all(c.font.bold for c in ws[1])

    tonkho = book["TonKho"]
    rows = {(r[0].value, r[1].value): r for r in tonkho.iter_rows(min_row=2)}
    balo = rows[("Kho", "Balo kéo du lịch")]
    assert balo[2].value == 1 and balo[3].value == 1500 and balo[10].value == 1500
    assert isinstance(balo[10].value, int) and balo[10].number_format == "#,##0"
    store = rows[(STORE, "Ô 2 khúc cầm tay")]
    assert [c.value for c in store[3:]] == [0, 12, 0, 1, 0, 0, 0, 11]
    owed_only = rows[(STORE, "Hộp đựng thực phẩm hút chân không")]
    assert (owed_only[9].value, owed_only[10].value) == (1, 0)

    sokho = book["SoKho"]
    lines = [[c.value for c in r] for r in sokho.iter_rows(min_row=2)]
    assert [line[1] for line in lines] == ["Trao quà", "Chuyển đến", "Chuyển đi", "Nhập kho",
                                          "Nhập kho"]
    handover = next(r for r in sokho.iter_rows(min_row=2) if r[1].value == "Trao quà")
    assert handover[4].value == -1 and handover[4].number_format == "+#,##0;-#,##0;0"
    assert handover[8].value == next(iter(GROUP2)) and handover[8].data_type == "s"
    assert isinstance(handover[0].value, dt.datetime)
    assert handover[0].number_format == "dd/mm/yyyy hh:mm"
    assert abs(handover[0].value - dt.datetime.now()) < dt.timedelta(minutes=5)  # local time
    transfer = next(r for r in sokho.iter_rows(min_row=2) if r[1].value == "Chuyển đi")
    assert transfer[7].value == "'=SUM(A1)" and transfer[7].data_type == "s"  # never a formula
    assert transfer[5].value == STORE

    quano = book["QuaNo"]
    [owed] = list(quano.iter_rows(min_row=2))
    assert owed[0].value == list(GROUP2)[1] and owed[0].data_type == "s"
    assert owed[1].value == "Khách Hàng Số 2"
    assert owed[4].is_date and owed[4].number_format == "dd/mm/yyyy"
    assert owed[4].value.date() == care_work.local_today()
    assert owed[5].value.date() == care_work.local_today() + dt.timedelta(days=3)
    assert owed[6].value is None  # not overdue


def test_the_ledger_sheet_follows_the_screen_filter(
        stocked: sessionmaker[Session], programme_id: int, tmp_path: Path) -> None:
    out = tmp_path / "kho.xlsx"
    written = export_stock(stocked, out, programme_id, kind="receive", location="Kho", actor=KT)
    assert written.rows["SoKho"] == 2
    ws = openpyxl.load_workbook(out)["SoKho"]
    assert [r[1].value for r in ws.iter_rows(min_row=2)] == ["Nhập kho", "Nhập kho"]
    assert openpyxl.load_workbook(out).active.title == "TonKho"


def test_a_past_promise_is_marked_overdue(tmp_path: Path) -> None:
    owed = OwedDTO(1, 1, "0902000007", "Trần Văn Bình", "o-2-khuc", "Ô 2 khúc cầm tay", STORE,
                   dt.datetime(2017, 3, 20, 2, 0, tzinfo=dt.UTC), dt.date(2017, 3, 25), "")
    out = tmp_path / "no.xlsx"
    rows = write_stock_workbook(out, [], [], [owed], today=dt.date(2017, 3, 26))
    assert rows == {"TonKho": 0, "SoKho": 0, "QuaNo": 1}
    row = next(openpyxl.load_workbook(out)["QuaNo"].iter_rows(min_row=2))
    assert row[5].value == dt.datetime(2017, 3, 25) and row[6].value == "quá hẹn"


def test_refuses_a_wrong_file_name_and_reports_an_unwritable_one(
        stocked: sessionmaker[Session], programme_id: int, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"đuôi \.xlsx"):
        export_stock(stocked, tmp_path / "kho.csv", programme_id, actor=KT)
    with pytest.raises(UsageError, match="không tồn tại"):
        export_stock(stocked, tmp_path / "nowhere" / "kho.xlsx", programme_id, actor=KT)
    taken = tmp_path / "taken.xlsx"
    taken.mkdir()  # a folder where the file should go: the replace fails
    with pytest.raises(StorageError, match="Không ghi được tệp"):
        export_stock(stocked, taken, programme_id, actor=KT)
    assert not list(tmp_path.glob(".*.tmp.xlsx"))
