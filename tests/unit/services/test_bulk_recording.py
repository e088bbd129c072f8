"""Bulk recording from a district's returned list: counts, database, stock, rejects, dry run."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.domain.actors import Actor
from mbfcare.errors import Cancelled, ImportFileError, RuleError
from mbfcare.models import AuditEntry, CareCase, CareStep, Handover, StockMovement, Subscriber
from mbfcare.services import care_work, stock
from mbfcare.services.bulk_recording import ACTIONS, BulkResult, match_column, record_from_file
from tests.care_data import STORE, seed_listed

Factory = sessionmaker[Session]
LAN = Actor("Lan", "admin")
HEAD = Actor("Phạm Thu Hà", "head")
SHEET = "Lê Chân"
HEADERS = ["STT", "So thue bao", "Họ tên", "Địa chỉ", "Ngay gui SMS", "Ngày trao quà",
           "Món quà", "Người trao", "Kết quả", "Ghi chú"]
# (number as written, name, sms, handover, item, by, outcome, note)
ROWS: list[tuple[Any, ...]] = [
    # group 1, number without its leading zero; SMS already recorded (blank here = kept)
    (901000001, "Nguyễn Văn An", None, dt.datetime(2017, 9, 5), "Balo kéo", "Phạm Thu Hà",
     None, None),
    # group 1 in 84… form; dates as text
    (84901000003, "Hoàng Văn Giang", "02/09/2017", "05/09/2017", None, "Trần Văn Bình", None,
     None),
    # group 2: SMS only, the handover cell blank (no change)
    ("0902000001", "Khách Hàng Số 1", dt.datetime(2017, 9, 1), None, None, None, None, None),
    # group 2: handover before the SMS -> the whole row rejected, its SMS not stored either
    ("0902000002", "Khách Hàng Số 2", "03/09/2017", "02/09/2017", "Ô 2 khúc", None, None,
     None),
    # group 2: SMS and handover of the umbrella at the store
    ("0902000003", "Khách Hàng Số 3", "01/09/2017", dt.datetime(2017, 9, 6), "Ô 2 khúc",
     "GDV Mai", None, None),
    # a number on no list
    ("0905123456", "Người Lạ", "01/09/2017", "05/09/2017", None, None, None, None),
    # the gap case, still awaiting its group
    ("0903000001", "Lê Văn Cường", None, "05/09/2017", None, None, None, None),
    # an outcome, without diacritics
    ("0902000004", "Khách Hàng Số 4", None, None, None, None, "Khong lien lac duoc",
     "Gọi 3 lần không nghe máy"),
    # nothing done yet
    ("0902000005", "Khách Hàng Số 5", None, None, None, None, None, None),
    # the same as row 8 again (the same SMS date, written as text): unchanged
    ("0902000001", "Khách Hàng Số 1", "01/09/2017", None, None, None, None, None),
]
FIRST_DATA_ROW = 6


def write_returned_list(path: Path, rows: list[tuple[Any, ...]] = ROWS,
                        headers: list[str] = HEADERS) -> Path:
    """The list Lê Chân sends back: two title rows (merged), the header, column numbers, the
    rows, a totals line and the signature."""
    book = openpyxl.Workbook()
    guide = book.active
    assert guide is not None
    guide.title = "Hướng dẫn"
    guide["A1"] = "Điền ngày đã làm vào các cột ngày; để trống nếu chưa làm."
    sheet = book.create_sheet(SHEET)
    sheet["A1"] = "DANH SÁCH KHÁCH HÀNG CHĂM SÓC – QUẬN LÊ CHÂN"
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(headers))
    sheet["A2"] = "Đợt 1 (tháng chăm sóc 03/2017) – kết quả thực hiện"
    sheet.merge_cells(start_row=2, start_column=1, end_row=2, end_column=len(headers))
    sheet.append([])
    sheet.append(headers)
    sheet.append([f"({i})" for i in range(1, len(headers) + 1)])
    for i, (number, name, sms, handover, item, by, outcome, note) in enumerate(rows, 1):
        sheet.append([i, number, name, "12 Lê Lợi", sms, handover, item, by, outcome, note])
        for cell in sheet[sheet.max_row][4:6]:
            if isinstance(cell.value, dt.datetime):
                cell.number_format = "dd/mm/yyyy"
    sheet.append([])
    sheet.append(["Tổng cộng", None, f"{len(rows)} KH"])
    sheet.append([None, None, "Người lập biểu", None, None, "Trưởng MF Lê Chân"])
    book.save(path)
    return path


@pytest.fixture
def listed(factory: Factory, programme_id: int) -> Factory:
    seed_listed(factory, programme_id)
    stock.move_stock(factory, "receive", "balo-keo", 10, actor=LAN)
    stock.move_stock(factory, "receive", "o-2-khuc", 5, actor=LAN, location=STORE)
    # done before the list came back: stays, since its cell in the file is blank
    care_work.record_step(factory, "0901000001", "sms", actor=LAN, on=dt.date(2017, 9, 1))
    return factory


def _case(session: Session, msisdn: str) -> CareCase:
    case = session.scalar(select(CareCase).join(Subscriber, Subscriber.id ==
                                                CareCase.subscriber_id)
                          .where(Subscriber.msisdn == msisdn))
    assert case is not None
    return case


def _snapshot(factory: Factory) -> dict[str, Any]:
    with factory() as session:
        return {
            "steps": session.scalar(select(func.count()).select_from(CareStep)),
            "handovers": session.scalar(select(func.count()).select_from(Handover)),
            "movements": session.scalar(select(func.count()).select_from(StockMovement)),
            "audit": session.scalar(select(func.count()).select_from(AuditEntry)),
            "outcomes": session.scalar(select(func.count()).select_from(CareCase)
                                       .where(CareCase.outcome.is_not(None))),
        }


def _on_hand(factory: Factory) -> dict[tuple[str, str], int]:
    return {(b.item_code, b.location): b.on_hand for b in stock.balances(factory)}


def _counts(result: BulkResult) -> tuple[int, int, int, int]:
    return result.rows_read, result.recorded, result.unchanged, result.rejected


def test_returned_list_is_recorded(listed: Factory, tmp_path: Path, data_home: Path) -> None:
    path = write_returned_list(tmp_path / "DS Le Chan tra ve.xlsx")
    result = record_from_file(listed, path, actor=HEAD)

    assert (result.sheet, result.header_row) == (SHEET, 4)
    assert _counts(result) == (10, 5, 2, 3)
    assert result.per_action == {"sms": 3, "data_check": 0, "handover": 3,
                                 "package_advice": 0, "questions": 0, "survey": 0,
                                 "outcome": 1}
    assert result.reasons == {"step_order": 1, "not_found": 1, "not_servable": 1}
    assert result.columns["Số thuê bao"] == "So thue bao"
    assert result.columns["Ngày gửi SMS"] == "Ngay gui SMS"
    assert "Họ tên" in result.ignored_columns and "Địa chỉ" in result.ignored_columns
    assert not result.dry_run

    with listed() as session:
        an = _case(session, "0901000001")
        assert (an.sms_on, an.handover_on) == (dt.date(2017, 9, 1), dt.date(2017, 9, 5))
        given = session.scalar(select(Handover).where(Handover.care_case_id == an.id))
        assert given is not None
        assert (given.status, given.given_on, given.given_by, given.given_at) == (
            "given", dt.date(2017, 9, 5), "Phạm Thu Hà", None)
        assert given.recorded_by == "Phạm Thu Hà"
        giang = _case(session, "0901000003")
        assert (giang.sms_on, giang.handover_on) == (dt.date(2017, 9, 2), dt.date(2017, 9, 5))
        # who handed over is the row's; the SMS was sent by the care department
        by = dict(session.execute(select(CareStep.step, CareStep.done_by)
                                  .where(CareStep.care_case_id == giang.id)).all())
        assert by == {"sms": "Phạm Thu Hà", "handover": "Trần Văn Bình"}
        one = _case(session, "0902000001")
        assert (one.sms_on, one.handover_on) == (dt.date(2017, 9, 1), None)
        # the rejected row left nothing, not even its valid SMS date
        two = _case(session, "0902000002")
        assert (two.sms_on, two.handover_on, two.has_work) == (None, None, False)
        assert session.scalar(select(func.count()).select_from(CareStep)
                              .where(CareStep.care_case_id == two.id)) == 0
        three = _case(session, "0902000003")
        assert (three.sms_on, three.handover_on) == (dt.date(2017, 9, 1), dt.date(2017, 9, 6))
        four = _case(session, "0902000004")
        assert (four.outcome, four.outcome_note) == ("unreachable", "Gọi 3 lần không nghe máy")
        gap = _case(session, "0903000001")
        assert (gap.state, gap.handover_on) == ("awaiting_group", None)
        five = _case(session, "0902000005")
        assert not five.has_work
        summaries = list(session.scalars(select(AuditEntry.summary)))
        assert any("tệp DS Le Chan tra ve.xlsx" in s for s in summaries)

    # one item left the warehouse per home visit, one umbrella the store
    on_hand = _on_hand(listed)
    assert on_hand[("balo-keo", "Kho")] == 8
    assert on_hand[("o-2-khuc", STORE)] == 4

    # the rejects workbook: the original cells as text and the reason of each row
    assert result.rejects_file is not None
    rejects = Path(result.rejects_file)
    assert rejects.parent == data_home / "rejects"
    book = openpyxl.load_workbook(rejects)
    sheet = book.active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][:3] == ("Sheet", "Dòng", "Lý do")
    assert values[0][3:] == tuple(HEADERS)
    assert [v[1] for v in values[1:]] == [FIRST_DATA_ROW + 3, FIRST_DATA_ROW + 5,
                                          FIRST_DATA_ROW + 6]
    assert all(v[0] == SHEET for v in values[1:])
    reasons = [str(v[2]) for v in values[1:]]
    assert "Trao quà không thể trước ngày gửi SMS (03/09/2017)" in reasons[0]
    assert "Không có thuê bao 0905 123 456" in reasons[1]
    assert "chờ quyết định nhóm" in reasons[2]
    assert values[1][4] == "0902000002"  # text stays text, leading zero kept
    assert values[1][9] == "Ô 2 khúc"
    assert [r for r, _, _ in result.rejected_sample] == [9, 11, 12]
    assert result.rejected_sample[0][1] == "0902000002"


def test_dry_run_changes_nothing(listed: Factory, tmp_path: Path) -> None:
    path = write_returned_list(tmp_path / "tra_ve.xlsx")
    before, stock_before = _snapshot(listed), _on_hand(listed)
    dry = record_from_file(listed, path, actor=HEAD, dry_run=True)
    assert dry.dry_run
    assert _snapshot(listed) == before
    assert _on_hand(listed) == stock_before
    real = record_from_file(listed, path, actor=HEAD)
    assert _counts(dry) == _counts(real) == (10, 5, 2, 3)
    assert dry.per_action == real.per_action
    assert dry.reasons == real.reasons


def test_same_file_twice_is_unchanged(listed: Factory, tmp_path: Path) -> None:
    path = write_returned_list(tmp_path / "tra_ve.xlsx")
    record_from_file(listed, path, actor=HEAD)
    after_first, stock_first = _snapshot(listed), _on_hand(listed)
    second = record_from_file(listed, path, actor=HEAD)
    assert _counts(second) == (10, 0, 7, 3)
    assert second.per_action == dict.fromkeys(ACTIONS, 0)
    assert second.reasons == {"step_order": 1, "not_found": 1, "not_servable": 1}
    assert _snapshot(listed) == after_first
    assert _on_hand(listed) == stock_first


def test_cancel_rolls_back(listed: Factory, tmp_path: Path) -> None:
    path = write_returned_list(tmp_path / "tra_ve.xlsx")
    before, stock_before = _snapshot(listed), _on_hand(listed)

    class CancelAfter:
        def __init__(self, checks: int) -> None:
            self.checks = checks
            self.reports: list[tuple[int, int, str]] = []

        def report(self, done: int, total: int, text: str = "") -> None:
            self.reports.append((done, total, text))

        def cancelled(self) -> bool:
            self.checks -= 1
            return self.checks < 0

    progress = CancelAfter(4)  # three rows recorded, then the user cancels
    with pytest.raises(Cancelled):
        record_from_file(listed, path, actor=HEAD, progress=progress)
    assert _snapshot(listed) == before
    assert _on_hand(listed) == stock_before
    assert progress.reports[0] == (0, 0, "Đang đọc tệp…")


def test_progress_reaches_the_total(listed: Factory, tmp_path: Path) -> None:
    path = write_returned_list(tmp_path / "tra_ve.xlsx")
    reports: list[tuple[int, int]] = []

    class Recording:
        def report(self, done: int, total: int, text: str = "") -> None:
            reports.append((done, total))

        def cancelled(self) -> bool:
            return False

    record_from_file(listed, path, actor=HEAD, progress=Recording())
    assert reports[-1] == (10, 10)


def test_conflicting_duplicates_are_rejected(listed: Factory, tmp_path: Path) -> None:
    rows: list[tuple[Any, ...]] = [
        ("0902000006", "Số 6", "01/09/2017", None, None, None, None, None),
        ("0902000007", "Số 7", "01/09/2017", None, None, None, None, None),
        ("0902000006", "Số 6", "02/09/2017", None, None, None, None, None),
        ("0902000007", "Số 7", "01/09/2017", None, None, None, None, None),
    ]
    result = record_from_file(listed, write_returned_list(tmp_path / "trung.xlsx", rows),
                              actor=HEAD)
    assert _counts(result) == (4, 1, 1, 2)
    assert result.reasons == {"duplicate_conflict": 2}
    first = result.rejected_sample[0]
    assert first[0] == FIRST_DATA_ROW
    assert first[2] == (f"Trùng số thuê bao với dòng {FIRST_DATA_ROW + 2} nhưng khác "
                        "ngày gửi SMS; sửa cho thống nhất rồi ghi lại.")
    with listed() as session:
        assert _case(session, "0902000006").sms_on is None
        assert _case(session, "0902000007").sms_on == dt.date(2017, 9, 1)


def test_handover_rules_in_bulk(listed: Factory, tmp_path: Path) -> None:
    for number in ("0901000001", "0901000003"):
        care_work.record_handover(listed, number, actor=LAN, on=dt.date(2017, 9, 4))
    care_work.record_outcome(listed, "0902000008", "refused", actor=LAN)
    rows: list[tuple[Any, ...]] = [
        # handed over on another day already: the refusal names the first handover
        ("0901000001", "An", None, "05/09/2017", None, None, None, None),
        # the same day as recorded: unchanged
        ("0901000003", "Giang", None, "04/09/2017", None, None, None, None),
        # group 2 gets a container: the store has none
        ("0902000009", "Số 9", None, "05/09/2017", "hop-thuc-pham", None, None, None),
        # group 2 without saying which of the two items
        ("0902000010", "Số 10", None, "05/09/2017", None, None, None, None),
        # an item nobody knows
        ("0902000011", "Số 11", None, "05/09/2017", "Quạt điện", None, None, None),
        # closed with an outcome already
        ("0902000008", "Số 8", "01/09/2017", None, None, None, None, None),
        # a date that cannot be read
        ("0902000012", "Số 12", "31/02/2017", None, None, None, None, None),
        # an outcome not in the list
        ("0902000012", "Số 12", None, None, None, None, "Đi công tác", None),
        # a date in the future
        ("0901000002", "Dung", None, (dt.date.today() + dt.timedelta(days=3)).strftime(
            "%d/%m/%Y"), None, None, None, None),
    ]
    result = record_from_file(listed, write_returned_list(tmp_path / "quy_tac.xlsx", rows),
                              actor=HEAD)
    assert _counts(result) == (9, 0, 1, 8)
    assert result.reasons == {
        "already_handed_over": 1, "out_of_stock": 1, "missing_item": 1, "bad_item": 1,
        "closed": 1, "bad_date": 1, "bad_outcome": 1, "step_order": 1}
    reasons = {row: reason for row, _, reason in result.rejected_sample}
    assert "Đã trao quà ngày 04/09/2017 tại Kho" in reasons[FIRST_DATA_ROW]
    assert "không trao lần hai" in reasons[FIRST_DATA_ROW]
    assert reasons[FIRST_DATA_ROW + 2] == (
        f"{STORE} đã hết Hộp đựng thực phẩm hút chân không; ghi nợ quà hoặc chuyển quà từ "
        "kho khác đến.")
    assert "cần chọn" in reasons[FIRST_DATA_ROW + 3]
    assert "Món quà 'Quạt điện' không rõ" in reasons[FIRST_DATA_ROW + 4]
    assert "đã đóng với kết quả 'Từ chối'" in reasons[FIRST_DATA_ROW + 5]
    assert reasons[FIRST_DATA_ROW + 6] == (
        "Ngày không đọc được ở cột 'Ngay gui SMS': '31/02/2017' (viết dd/mm/yyyy).")
    assert reasons[FIRST_DATA_ROW + 7].startswith("Kết quả 'Đi công tác' không rõ")
    assert "chưa tới" in reasons[FIRST_DATA_ROW + 8]
    assert _on_hand(listed)[("balo-keo", "Kho")] == 8


def test_other_steps_and_package_value(listed: Factory, tmp_path: Path) -> None:
    path = tmp_path / "buoc_khac.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Số TB", "Ngày kiểm tra thông tin", "Ngày tặng quà", "Quà đã trao",
                  "Nơi trao", "Gói cước đăng ký", "Ngày giải đáp", "Ngày khảo sát",
                  "Nhận xét của quận"])
    sheet.append(["0901000003", "04/09/2017", "05/09/2017", "balo-keo", "Tại nhà KH",
                  "MAX90", "05/09/2017", "06/09/2017", "KH rất vui"])
    book.save(path)
    result = record_from_file(listed, path, actor=HEAD)
    assert _counts(result) == (1, 1, 0, 0)
    assert result.per_action == {"sms": 0, "data_check": 1, "handover": 1,
                                 "package_advice": 1, "questions": 1, "survey": 1,
                                 "outcome": 0}
    assert result.ignored_columns == ["Nhận xét của quận"]
    with listed() as session:
        case = _case(session, "0901000003")
        assert (case.data_check_on, case.handover_on, case.package_advice_on,
                case.questions_on, case.survey_on) == (
            dt.date(2017, 9, 4), dt.date(2017, 9, 5), dt.date(2017, 9, 5),
            dt.date(2017, 9, 5), dt.date(2017, 9, 6))
        advice = session.scalar(select(CareStep).where(CareStep.care_case_id == case.id,
                                                       CareStep.step == "package_advice"))
        assert advice is not None and advice.value == "MAX90"


def test_csv_with_two_level_header(listed: Factory, tmp_path: Path) -> None:
    path = tmp_path / "tra_ve.csv"
    path.write_text(
        "DANH SÁCH KH NHÓM 2 – LÊ CHÂN\n"
        "Số thuê bao;Kết quả thực hiện;\n"
        ";Ngày nhắn tin;Lý do không trao\n"
        "0902000006;01/09/2017;\n"
        "0902000007;;Từ chối\n", encoding="utf-8-sig")
    result = record_from_file(listed, path, actor=HEAD)
    assert result.header_row == 3
    assert (result.sheet, _counts(result)) == (None, (2, 2, 0, 0))
    assert result.per_action["sms"] == 1 and result.per_action["outcome"] == 1


def test_file_without_number_or_action_column_is_refused(listed: Factory,
                                                         tmp_path: Path) -> None:
    before = _snapshot(listed)
    no_action = tmp_path / "chi_so.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "DS"
    sheet.append(["Số thuê bao", "Họ tên", "Địa chỉ"])
    sheet.append(["0901000001", "An", "12 Lê Lợi"])
    book.save(no_action)
    with pytest.raises(ImportFileError) as refused:
        record_from_file(listed, no_action, actor=HEAD)
    assert str(refused.value).startswith(
        "Sheet 'DS' của tệp chi_so.xlsx có cột số thuê bao nhưng không có cột kết quả nào")
    assert refused.value.exit_code == 3

    no_number = tmp_path / "khong_so.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Họ tên", "Ngày trao quà"])
    sheet.append(["An", "05/09/2017"])
    book.save(no_number)
    with pytest.raises(ImportFileError, match="Không tìm thấy dòng tiêu đề có cột số thuê bao"):
        record_from_file(listed, no_number, actor=HEAD)
    assert _snapshot(listed) == before


def test_viewer_may_not_record(listed: Factory, tmp_path: Path) -> None:
    path = write_returned_list(tmp_path / "tra_ve.xlsx")
    with pytest.raises(RuleError, match="không được ghi hàng loạt"):
        record_from_file(listed, path, actor=Actor("Khách", "viewer"))


@pytest.mark.parametrize(("header", "kind"), [
    ("Số thuê bao", "msisdn"), ("So TB", "msisdn"), ("MSISDN", "msisdn"),
    ("Số điện thoại", "msisdn"), ("Ngày gửi SMS", "sms"), ("NGAY NHAN TIN", "sms"),
    ("Ngày kiểm tra dữ liệu", "data_check"), ("Ngày kiểm tra thông tin", "data_check"),
    ("Ngày trao quà", "handover"), ("ngay tang qua", "handover"),
    ("Ngày trao quà (dd/mm/yyyy)", "handover"), ("Ngày trao quà thực tế", "handover"),
    ("Món quà", "item"), ("Quà đã trao", "item"), ("Người trao", "by"),
    ("Người thực hiện", "by"), ("Nơi trao", "location"), ("Cửa hàng trao", "location"),
    ("Gói cước đăng ký", "package_value"), ("Gói cước tư vấn", "package_value"),
    ("Ngày tư vấn", "package_advice"), ("Ngày giải đáp", "questions"),
    ("Ngày khảo sát", "survey"), ("Kết quả", "outcome"), ("Lý do không trao", "outcome"),
    ("Ghi chú", "note"), ("Họ tên", None), ("Địa chỉ", None), ("Cửa hàng", None),
])
def test_match_column(header: str, kind: str | None) -> None:
    assert match_column(header) == kind


@pytest.mark.sqlite_only
def test_recording_from_a_file_backs_the_database_up_first(listed: Factory, tmp_path: Path,
                                                           data_home: Path) -> None:
    path = tmp_path / "tra_ve.csv"
    path.write_text("Số thuê bao;Ngày nhắn tin\n0902000006;01/09/2017\n", encoding="utf-8-sig")
    record_from_file(listed, path, actor=HEAD, dry_run=True)
    assert list((data_home / "backups").glob("*truoc-nhap*")) == []  # a dry run: none
    record_from_file(listed, path, actor=HEAD)
    assert len(list((data_home / "backups").glob("*truoc-nhap*.sqlite"))) == 1
