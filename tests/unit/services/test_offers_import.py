"""The offers file (gói cước ưu đãi per subscriber): messy headers and rows, every row
accounted for, blank cells changing nothing, a second import changing nothing."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.domain.actors import Actor
from mbfcare.errors import ImportFileError
from mbfcare.models import AuditEntry, Subscriber
from mbfcare.services import audit
from mbfcare.services import care_work as cw
from mbfcare.services import profiles as pr
from tests.care_data import seed_listed

NFD = "NFD"


@pytest.fixture
def listed(factory: sessionmaker[Session], programme_id: int) -> sessionmaker[Session]:
    # Seeded offers: "MAX90, C120" for 0901000001, 0902000001, 0902000011, 0903000001.
    return seed_listed(factory, programme_id)


def _offers(factory: sessionmaker[Session]) -> dict[str, str | None]:
    with factory() as session:
        return {n: o for n, o in session.execute(select(Subscriber.msisdn, Subscriber.offers))}


def _messy(path: Path) -> Path:
    book = openpyxl.Workbook()
    ws = book.active
    assert ws is not None
    ws.title = "Gói KM"
    ws.append(["DANH SÁCH GÓI CƯỚC ƯU ĐÃI THEO THUÊ BAO – ĐỢT 1"])
    ws.append(["(kèm theo công văn số 123/MBF5-CSKH)"])
    ws.append([])
    ws.append([unicodedata.normalize(NFD, "STT"), unicodedata.normalize(NFD, "Số thuê bao"),
               unicodedata.normalize(NFD, "Họ tên"),
               unicodedata.normalize(NFD, "Khuyến mại có thể tham gia")])
    ws.append(["(1)", "(2)", "(3)", "(4)"])
    ws.append([1, 901000002, "Phạm Thị Dung", "D120, MAX90"])  # number without its 0: new
    ws.append([2, "0901000001", "Nguyễn Văn An", "C120 / MAX200"])  # different: updated
    ws.append([3, "84902000001", "Khách Hàng Số 1", "MAX90;C120"])  # same offers: unchanged
    ws.append([4, "0902000002", "Khách Hàng Số 2", None])  # blank: no change
    ws.append([5, "0999999999", "Người Lạ", "MAX90"])  # not in the database
    ws.append([6, "12345", "Số Sai", "C90"])  # not a number
    ws.append([7, "0902000003", "Khách Hàng Số 3", "A1"])  # superseded by row 8 below
    ws.append([8, "0902000003", "Khách Hàng Số 3", "B2"])
    ws.append(["Tổng cộng", None, None, "8 thuê bao"])
    ws.append([])
    ws.append([None, "Người lập biểu", None, "Trưởng phòng CSKH"])
    book.save(path)
    return path


def test_messy_file_every_row_accounted(listed: sessionmaker[Session],
                                        tmp_path: Path) -> None:
    before = _offers(listed)
    result = pr.import_offers(listed, _messy(tmp_path / "goi km.xlsx"), actor=Actor("lan"))

    assert (result.sheet, result.header_row) == ("Gói KM", 4)
    assert result.columns == {"msisdn": unicodedata.normalize(NFD, "Số thuê bao"),
                              "offers": unicodedata.normalize(NFD, "Khuyến mại có thể tham gia")}
    assert (result.rows_read, result.imported, result.updated, result.unchanged,
            result.rejected, result.duplicates) == (8, 2, 1, 2, 3, 1)
    assert result.reasons == {"unknown": 1, "bad_msisdn": 1, "duplicate": 1}
    assert result.text == ("Đã nhập gói cước ưu đãi: 8 dòng · mới 2 · cập nhật 1 · không đổi "
                           "2 · từ chối 3.")
    after = _offers(listed)
    assert after["0901000002"] == "D120, MAX90"
    assert after["0901000001"] == "C120, MAX200"
    assert after["0902000001"] == "MAX90, C120"
    assert after["0902000002"] is None
    assert after["0902000003"] == "B2"
    changed = {n for n in after if after[n] != before[n]}
    assert changed == {"0901000002", "0901000001", "0902000003"}

    assert result.rejects_file is not None
    sheet = openpyxl.load_workbook(result.rejects_file).active
    assert sheet is not None
    rejected = {(r[1], r[2]) for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert rejected == {
        (10, "Thuê bao không có trong cơ sở dữ liệu: 0999 999 999 (nhập danh sách thuê bao "
             "trước)"),
        (11, "Số thuê bao không hợp lệ: '12345'"),
        (12, "trùng số thuê bao với dòng 13 (giữ dòng sau)"),
    }
    assert result.rejected_sample[0] == (10, "Thuê bao không có trong cơ sở dữ liệu: "
                                             "0999 999 999 (nhập danh sách thuê bao trước)")

    # One audit entry sums the import up.
    entries = [e for e in audit.entries(listed) if e.action == "import_offers"]
    assert len(entries) == 1
    assert entries[0].user == "lan" and entries[0].after is not None
    assert entries[0].after["updated"] == 1 and entries[0].after["imported"] == 2
    assert entries[0].summary == "Nhập gói cước ưu đãi từ goi km.xlsx: 2 mới, 1 cập nhật, " \
                                 "3 từ chối"

    # The desk shows the new offers.
    assert cw.desk_lookup(listed, "0901000001", actor=Actor("test")).offers == ("C120", "MAX200")

    # The same file again changes nothing.
    again = pr.import_offers(listed, tmp_path / "goi km.xlsx", actor=Actor("test"))
    assert (again.imported, again.updated, again.unchanged, again.rejected) == (0, 0, 5, 3)
    assert _offers(listed) == after


def test_dry_run_changes_nothing(listed: sessionmaker[Session], tmp_path: Path) -> None:
    before = _offers(listed)
    with listed() as session:
        audit_rows = len(session.scalars(select(AuditEntry.id)).all())
    result = pr.import_offers(listed, _messy(tmp_path / "km.xlsx"), dry_run=True,
                              actor=Actor("test"))
    assert result.dry_run and (result.imported, result.updated) == (2, 1)
    assert result.text.startswith("Kiểm tra (chưa lưu): 8 dòng")
    assert _offers(listed) == before
    with listed() as session:
        assert len(session.scalars(select(AuditEntry.id)).all()) == audit_rows


def test_csv_without_diacritics_and_a_package_column(listed: sessionmaker[Session],
                                                     tmp_path: Path) -> None:
    path = tmp_path / "goi.csv"
    path.write_text("So TB;Goi cuoc hien tai;Goi cuoc co the tham gia\n"
                    "0902000004;D60;MAX90 | C90\n"
                    "902000005;D60;\n", encoding="utf-8")
    result = pr.import_offers(listed, path, actor=Actor("test"))
    assert result.columns == {"msisdn": "So TB", "offers": "Goi cuoc co the tham gia"}
    assert (result.imported, result.unchanged, result.rejected) == (1, 1, 0)
    assert _offers(listed)["0902000004"] == "MAX90, C90"


def test_two_offers_columns_are_merged(listed: sessionmaker[Session], tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    ws = book.active
    assert ws is not None
    ws.append(["Số TB", "Gói cước ưu đãi", "Khuyến mãi"])
    ws.append(["0902000006", "MAX90", "Tặng 50% data; MAX90"])
    book.save(tmp_path / "two.xlsx")
    result = pr.import_offers(listed, tmp_path / "two.xlsx", actor=Actor("test"))
    assert result.imported == 1
    assert _offers(listed)["0902000006"] == "MAX90, Tặng 50% data"


def test_a_file_without_an_offers_column_is_refused(listed: sessionmaker[Session],
                                                    tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    ws = book.active
    assert ws is not None
    ws.append(["Số thuê bao", "Họ tên"])
    ws.append(["0902000006", "Khách Hàng Số 6"])
    book.save(tmp_path / "none.xlsx")
    with pytest.raises(ImportFileError, match="cột gói cước ưu đãi"):
        pr.import_offers(listed, tmp_path / "none.xlsx", actor=Actor("test"))
    with pytest.raises(ImportFileError, match="sheet 'Khác'"):
        pr.import_offers(listed, tmp_path / "none.xlsx", sheet="Khác", actor=Actor("test"))


@pytest.mark.sqlite_only
def test_an_offers_import_backs_the_database_up_first(listed: sessionmaker[Session],
                                                      tmp_path: Path, data_home: Path) -> None:
    path = tmp_path / "goi.csv"
    path.write_text("So TB;Goi cuoc co the tham gia\n0902000004;MAX90\n", encoding="utf-8")
    pr.import_offers(listed, path, dry_run=True, actor=Actor("test"))
    assert list((data_home / "backups").glob("*truoc-nhap*")) == []  # a dry run: none
    pr.import_offers(listed, path, actor=Actor("test"))
    assert len(list((data_home / "backups").glob("*truoc-nhap*.sqlite"))) == 1
