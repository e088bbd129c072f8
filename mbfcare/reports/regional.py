"""The workbook for the regional office (spec: regional-export.md), written from plain DTOs."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import xlsxwriter

from mbfcare.domain.collation import name_sort_key, vietnamese_sort_key
from mbfcare.domain.programme_spec import DELIVERY_WORDS, GroupRule
from mbfcare.domain.values import format_money
from mbfcare.io import safe_cells

__all__ = [
    "CHITIET_HEADERS",
    "KEY_DIGEST",
    "KEY_PROGRAMME",
    "KEY_PROVINCE",
    "KEY_YEAR",
    "KHAOSAT_HEADERS",
    "KHOQUA_HEADERS",
    "SHEETS",
    "THONGTIN_HEADERS",
    "TONGHOP_HEADERS",
    "WAREHOUSE",
    "CareRow",
    "GiftItemInfo",
    "GroupRule",
    "ProgrammeInfo",
    "RegionalWritten",
    "StockRow",
    "SurveyRow",
    "cell_text",
    "chitiet_digest",
    "chitiet_order",
    "delivery_text",
    "group_rule_text",
    "safe_text",
    "write_regional",
]

SHEETS = ("ChiTiet", "TongHop", "KhoQua", "KhaoSat", "ThongTin")

CHITIET_HEADERS = (
    "Tỉnh/TP", "Quận/Huyện", "Cửa hàng", "Đợt", "Tháng chăm sóc", "Nhóm", "Hình thức",
    "Số thuê bao", "Họ tên", "Loại thuê bao", "Cước chu kỳ n-3", "Cước chu kỳ n-4",
    "Cước chu kỳ n-5", "Mức cước căn cứ", "Năm sử dụng", "Loại quà", "Quà đã trao",
    "Ngày gửi SMS", "Chuẩn hóa thông tin", "Ngày trao quà", "Người trao quà",
    "Gói cước tư vấn", "Đăng ký gói", "Đã khảo sát", "Điểm hài lòng", "Kết quả", "Ghi chú",
)
TONGHOP_HEADERS = (
    "Đợt", "Nhóm", "Quận/Huyện", "Số KH trong danh sách", "Đã gửi SMS", "Đã trao quà",
    "Đã khảo sát", "Đã chuẩn hóa/thu thập", "Tỷ lệ hoàn thành",
)
KHOQUA_HEADERS = ("Loại quà", "Quà", "Cửa hàng", "Nhập", "Đã trao", "Còn lại")
KHAOSAT_HEADERS = ("Câu hỏi", "Trả lời", "Số phiếu", "Tỷ lệ")
THONGTIN_HEADERS = ("Thông tin", "Giá trị")

# ThongTin keys that `consolidate` reads back.
KEY_PROGRAMME = "Chương trình"
KEY_YEAR = "Năm"
KEY_PROVINCE = "Tỉnh/TP"
KEY_DIGEST = "SHA-256 ChiTiet"
# The audit log's latest line and hash when the file was exported (issue 8): a rewrite of the
# log's history after that no longer leads to this hash.
KEY_AUDIT_LINE = "Nhật ký thao tác đến dòng"
KEY_AUDIT_HASH = "SHA-256 nhật ký thao tác"

WAREHOUSE = "Kho"  # the office's warehouse, one per database (cli.md, `stock`)

MONEY_FORMAT = "#,##0"
DATE_FORMAT = "dd/mm/yyyy"
DATETIME_FORMAT = "dd/mm/yyyy hh:mm:ss"
PERCENT_FORMAT = "0.0%"

_SUBSCRIBER_TYPE = {"prepaid": "Trả trước", "postpaid": "Trả sau"}
_AGGREGATION = {
    "every_cycle": "every_cycle – cả ba chu kỳ n-3, n-4, n-5 đều đạt mức (mức căn cứ là chu kỳ "
                   "thấp nhất)",
    "average": "average – bình quân ba chu kỳ n-3, n-4, n-5 (làm tròn xuống đến đồng)",
}
RESULT_NOT_STARTED = "Chưa thực hiện"
RESULT_IN_PROGRESS = "Đang thực hiện"
RESULT_DONE = "Hoàn thành"
RESULT_AWAITING_GROUP = "Chờ quyết định nhóm"
RESULT_OUTCOMES = {"unreachable": "Không liên lạc được", "refused": "Từ chối",
                   "moved": "Chuyển đi", "other": "Khác"}
STEP_COUNT = 6



# --------------------------------------------------------------------------- DTOs


@dataclass(frozen=True, slots=True)
class CareRow:
    """One care-list entry as the exports show it (states listed, waiting, awaiting_group)."""

    batch: int
    care_month: str  # MM/YYYY
    state: str
    group: int | None
    delivery: str | None  # `visit` | `store`
    gift_type: int | None
    msisdn: str
    name: str
    subscriber_type: str  # `prepaid` | `postpaid`
    province: str
    district: str
    store: str
    charge_1: int  # cycle n-3
    charge_2: int  # cycle n-4
    charge_3: int  # cycle n-5
    basis: int
    tenure_years: int | None
    tenure_band: str
    waiting_rank: int | None
    note: str
    handed_over: dt.date | None
    has_work: bool
    standardised: bool | None
    # The work recorded (issue 5); defaults describe an entry nobody has worked on yet.
    item_name: str = ""
    sms_on: dt.date | None = None
    handed_by: str = ""
    offers: str = ""
    package_taken: str = ""
    surveyed: bool = False
    satisfaction: int | None = None
    outcome: str | None = None
    outcome_note: str = ""
    collected: bool = False
    steps_done: int = 0
    gift_owed: bool = False


@dataclass(frozen=True, slots=True)
class StockRow:
    """One gift item at one location (KhoQua)."""

    gift_type_name: str
    item_name: str
    location: str
    received: int
    handed_over: int
    on_hand: int


@dataclass(frozen=True, slots=True)
class SurveyRow:
    """One answer to one question, with how many forms gave it (KhaoSat)."""

    question: str
    answer: str
    count: int
    share: float


@dataclass(frozen=True, slots=True)
class GiftItemInfo:
    """One gift item of a gift type."""

    gift_type: int
    gift_type_name: str
    code: str
    name: str


@dataclass(frozen=True, slots=True)
class ProgrammeInfo:
    """What the workbook says about the programme."""

    name: str
    year: int
    province: str
    aggregation: str
    rule_version: int
    batches: tuple[tuple[int, str], ...]  # (number, MM/YYYY)
    groups: tuple[GroupRule, ...]
    gift_items: tuple[GiftItemInfo, ...]
    stock: tuple[StockRow, ...] = ()
    survey: tuple[SurveyRow, ...] = ()


@dataclass(frozen=True, slots=True)
class RegionalWritten:
    """What was written: data rows per sheet (header excluded) and the ChiTiet digest."""

    rows: dict[str, int]
    sha256: str


# --------------------------------------------------------------------------- text rules


def safe_text(value: str | None) -> str:
    """Imported text made safe for a spreadsheet cell: NFC, a `'` in front of anything that
    starts like a formula (`=`, `+`, `-`, `@`, tab, CR; a bare signed number such as
    `+84 912 345 678` stays as it is), control characters as spaces. Control characters
    would not survive the XML round trip unchanged (CR becomes LF) and break the digest.

    The one rule of every writer: `mbfcare.io.safe_cells`.
    """
    return safe_cells.safe_text(value)


def delivery_text(delivery: str | None) -> str:
    """`visit` -> `MBF đến tặng`, `store` -> `KH đến cửa hàng nhận`."""
    return DELIVERY_WORDS.get(delivery or "", "")


def group_rule_text(group: GroupRule) -> str:
    """A group's rule in words and as an interval, e.g. for the default group 2:
    `Nhóm 2: mức cước căn cứ từ 550.000 đ (tính cả mức này) đến dưới 700.000 đ (không tính
    mức này), khoảng [550.000 đ; 700.000 đ); KH đến cửa hàng nhận; Quà loại 2`.
    """
    parts = []
    if group.lower is not None:
        parts.append(("từ " if group.lower_inclusive else "trên ") + format_money(group.lower) +
                     (" (tính cả mức này)" if group.lower_inclusive else " (không tính mức này)"))
    if group.upper is not None:
        word = "đến " if group.upper_inclusive else ("đến dưới " if parts else "dưới ")
        parts.append(word + format_money(group.upper) +
                     (" (tính cả mức này)" if group.upper_inclusive else " (không tính mức này)"))
    band = " ".join(parts) or "mọi mức"
    left = "[" if group.lower is not None and group.lower_inclusive else "("
    right = "]" if group.upper is not None and group.upper_inclusive else ")"
    low = format_money(group.lower) if group.lower is not None else "-∞"
    high = format_money(group.upper) if group.upper is not None else "+∞"
    return (f"{group.name}: mức cước căn cứ {band}, khoảng {left}{low}; {high}{right}; "
            f"{delivery_text(group.delivery)}; Quà loại {group.gift_type}")


def cell_text(value: object) -> str:
    """A cell as the digest writes it: whole numbers without decimals, dates dd/mm/yyyy,
    blank as nothing, text as it is.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date):
        return value.strftime("%d/%m/%Y")
    return str(value)


def chitiet_digest(programme_name: str, province: str, rows: Iterable[Sequence[object]]) -> str:
    """`SHA-256 ChiTiet` of rows as read back: cells as text tab-joined, rows newline-joined,
    the programme name and the province as the first two lines; UTF-8, lower-case hex.
    """
    digest = hashlib.sha256()
    digest.update(programme_name.encode())
    digest.update(b"\n")
    digest.update(province.encode())
    for row in rows:
        digest.update(b"\n")
        digest.update("\t".join(cell_text(v) for v in row).encode())
    return digest.hexdigest()


def chitiet_order(row: CareRow) -> tuple[Any, ...]:
    """ChiTiet order: batch, group (gap cases last), district, store, name (given name first)."""
    return (row.batch, row.group if row.group is not None else 99,
            vietnamese_sort_key(row.district), vietnamese_sort_key(row.store),
            name_sort_key(row.name), row.msisdn)


def _result(row: CareRow) -> str:
    if row.state == "awaiting_group":
        return RESULT_AWAITING_GROUP
    if row.outcome:
        return RESULT_OUTCOMES.get(row.outcome, row.outcome)
    if row.steps_done >= STEP_COUNT:
        return RESULT_DONE
    if row.has_work or row.handed_over is not None:
        return RESULT_IN_PROGRESS
    return RESULT_NOT_STARTED


def _standardisation(row: CareRow) -> str:
    if row.standardised:
        return "Đã chuẩn hóa"
    return "Đã thu thập" if row.collected else "Chưa chuẩn hóa"


def _as_datetime(day: dt.date | None) -> dt.datetime | None:
    return dt.datetime(day.year, day.month, day.day) if day is not None else None


def _note(row: CareRow) -> str:
    parts = []
    if row.gift_owed:
        parts.append("Đang nợ quà")
    if row.outcome_note:
        parts.append(row.outcome_note)
    if row.state == "waiting":
        rank = f", thứ tự {row.waiting_rank}" if row.waiting_rank is not None else ""
        parts.append(f"Danh sách chờ (thiếu quà){rank}")
    if row.note:
        parts.append(row.note)
    return "; ".join(parts)


# --------------------------------------------------------------------------- writing


class _Sheet:
    """One constant-memory worksheet written row by row; typed writes, no guessing."""

    def __init__(self, book: Any, name: str, headers: Sequence[str], header_format: Any) -> None:
        self.ws = book.add_worksheet(name)
        self.width = len(headers)
        self.row = 0
        for col, header in enumerate(headers):
            self.ws.write_string(0, col, header, header_format)
        self.ws.freeze_panes(1, 0)

    def finish(self, *, autofilter: bool = True) -> int:
        if autofilter and self.row:
            self.ws.autofilter(0, 0, self.row, self.width - 1)
        return self.row


@dataclass
class _Tally:
    listed: int = 0
    sms: int = 0
    handed_over: int = 0
    surveyed: int = 0
    standardised: int = 0
    done: int = 0

    def add(self, other: _Tally) -> None:
        self.listed += other.listed
        self.sms += other.sms
        self.handed_over += other.handed_over
        self.surveyed += other.surveyed
        self.standardised += other.standardised
        self.done += other.done


def write_regional(
    path: Path,
    programme: ProgrammeInfo,
    rows: Iterable[CareRow],
    *,
    exported_at: dt.datetime,
    version: str,
    exported_by: str = "",
    audit_line: int = 0,
    audit_hash: str = "",
) -> RegionalWritten:
    """Write the regional workbook to `path` (overwritten); runs on a worker, no UI calls.

    Args:
        path: the `.xlsx` file to write.
        programme: the programme's name, province, batches, groups and gift items.
        rows: the care-list entries (any order; left_out entries must not be passed).
        exported_at: the export time (local, naive) printed in ThongTin.
        version: the software version printed in ThongTin.
        exported_by: who exported, printed in ThongTin.
        audit_line: the audit log's latest line, printed in ThongTin.
        audit_hash: that line's hash (the head of the chain), printed in ThongTin.

    Returns:
        Data rows per sheet and the `SHA-256 ChiTiet` digest written in ThongTin.
    """
    book = xlsxwriter.Workbook(str(path), {
        "constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
        "strings_to_numbers": False,
    })
    try:
        return _write_book(book, programme, rows, exported_at, version, exported_by,
                           (audit_line, audit_hash))
    finally:
        book.close()


def _write_book(
    book: Any, programme: ProgrammeInfo, rows: Iterable[CareRow], exported_at: dt.datetime,
    version: str, exported_by: str, audit_head: tuple[int, str] = (0, ""),
) -> RegionalWritten:
    header_format = book.add_format({"bold": True})
    money = book.add_format({"num_format": MONEY_FORMAT})
    date = book.add_format({"num_format": DATE_FORMAT})
    percent = book.add_format({"num_format": PERCENT_FORMAT})
    stamp = book.add_format({"num_format": DATETIME_FORMAT})

    detail = _Sheet(book, "ChiTiet", CHITIET_HEADERS, header_format)
    summary = _Sheet(book, "TongHop", TONGHOP_HEADERS, header_format)
    stock = _Sheet(book, "KhoQua", KHOQUA_HEADERS, header_format)
    survey = _Sheet(book, "KhaoSat", KHAOSAT_HEADERS, header_format)
    about = _Sheet(book, "ThongTin", THONGTIN_HEADERS, header_format)
    for col, width in enumerate((14, 18, 24, 6, 10, 6, 20, 12, 26, 11, 13, 13, 13, 13, 8, 10,
                                 16, 12, 15, 12, 18, 18, 14, 10, 10, 18, 40)):
        detail.ws.set_column(col, col, width)
    summary.ws.set_column(0, 8, 14)
    stock.ws.set_column(0, 5, 16)
    stock.ws.set_column(1, 1, 36)
    survey.ws.set_column(0, 3, 20)
    about.ws.set_column(0, 0, 26)
    about.ws.set_column(1, 1, 90)

    programme_name = safe_text(programme.name)
    province = safe_text(programme.province)
    digest = hashlib.sha256(f"{programme_name}\n{province}".encode())
    tallies: dict[tuple[int, int | None, str], _Tally] = {}
    done_results = (RESULT_DONE,)

    # ChiTiet, one pass: each cell is written and added to the digest as it will read back.
    ws = detail.ws
    write_string, write_number, write_datetime = ws.write_string, ws.write_number, \
        ws.write_datetime
    formats = [None] * len(CHITIET_HEADERS)
    for col in (10, 11, 12, 13):
        formats[col] = money
    r = 0
    for row in sorted(rows, key=chitiet_order):
        r += 1
        district = safe_text(row.district)
        result = _result(row)
        handed = row.handed_over
        values: tuple[str | int | dt.datetime | None, ...] = (
            safe_text(row.province), district, safe_text(row.store), row.batch, row.care_month,
            row.group, delivery_text(row.delivery), safe_text(row.msisdn), safe_text(row.name),
            _SUBSCRIBER_TYPE.get(row.subscriber_type, ""), row.charge_1, row.charge_2,
            row.charge_3, row.basis, row.tenure_years,
            f"Quà loại {row.gift_type}" if row.gift_type is not None else None,
            safe_text(row.item_name) if handed is not None else None, _as_datetime(row.sms_on),
            _standardisation(row), _as_datetime(handed), safe_text(row.handed_by),
            safe_text(row.offers), safe_text(row.package_taken),
            "Có" if row.surveyed else "Không", row.satisfaction, result,
            safe_text(_note(row)),
        )
        cells = []
        for col, value in enumerate(values):
            if value is None or value == "":
                cells.append("")
            elif type(value) is str:
                write_string(r, col, value)
                cells.append(value)
            elif type(value) is int:
                write_number(r, col, value, formats[col])
                cells.append(str(value))
            else:
                assert isinstance(value, dt.datetime)
                write_datetime(r, col, value, date)
                cells.append(value.strftime("%d/%m/%Y"))
        digest.update(("\n" + "\t".join(cells)).encode())

        key = (row.batch, row.group, district)
        tally = tallies.get(key)
        if tally is None:
            tally = tallies[key] = _Tally()
        tally.listed += 1
        tally.handed_over += handed is not None
        tally.sms += row.sms_on is not None
        tally.surveyed += row.surveyed
        tally.standardised += bool(row.standardised) or row.collected
        tally.done += result in done_results
    detail.row = r
    counts = {"ChiTiet": detail.finish()}
    sha = digest.hexdigest()

    # TongHop: (batch, group, district) rows, a total per batch, a grand total.
    def tally_row(batch: int | None, group: int | None, label: str, tally: _Tally) -> None:
        summary.row += 1
        s = summary.row
        if batch is not None:
            summary.ws.write_number(s, 0, batch)
        if group is not None:
            summary.ws.write_number(s, 1, group)
        if label:
            summary.ws.write_string(s, 2, label)
        for col, value in enumerate((tally.listed, tally.sms, tally.handed_over,
                                     tally.surveyed, tally.standardised), start=3):
            summary.ws.write_number(s, col, value)
        summary.ws.write_number(s, 8, tally.done / tally.listed if tally.listed else 0, percent)

    grand = _Tally()
    for batch in sorted({key[0] for key in tallies}):
        batch_total = _Tally()
        keys = sorted((k for k in tallies if k[0] == batch), key=lambda k: (
            k[1] if k[1] is not None else 99, vietnamese_sort_key(k[2])))
        for key in keys:
            tally_row(batch, key[1], key[2], tallies[key])
            batch_total.add(tallies[key])
        tally_row(batch, None, f"Cộng đợt {batch}", batch_total)
        grand.add(batch_total)
    tally_row(None, None, "Tổng cộng", grand)
    counts["TongHop"] = summary.finish()

    # KhoQua: every item at every location; an item never received shows 0 in the warehouse.
    stocked = {line.item_name for line in programme.stock}
    lines = list(programme.stock) + [
        StockRow(item.gift_type_name or f"Quà loại {item.gift_type}", item.name, WAREHOUSE,
                 0, 0, 0)
        for item in programme.gift_items if item.name not in stocked]
    for line in lines:
        stock.row += 1
        stock.ws.write_string(stock.row, 0, safe_text(line.gift_type_name))
        stock.ws.write_string(stock.row, 1, safe_text(line.item_name))
        stock.ws.write_string(stock.row, 2, safe_text(line.location))
        for col, value in enumerate((line.received, line.handed_over, line.on_hand), start=3):
            stock.ws.write_number(stock.row, col, value)
    counts["KhoQua"] = stock.finish()

    for answer in programme.survey:
        survey.row += 1
        survey.ws.write_string(survey.row, 0, safe_text(answer.question))
        survey.ws.write_string(survey.row, 1, safe_text(answer.answer))
        survey.ws.write_number(survey.row, 2, answer.count)
        survey.ws.write_number(survey.row, 3, answer.share, percent)
    counts["KhaoSat"] = survey.finish()

    info: list[tuple[str, object, Any]] = [
        (KEY_PROGRAMME, programme_name, None),
        (KEY_YEAR, programme.year, None),
        (KEY_PROVINCE, province, None),
    ]
    info += [(f"Tháng chăm sóc đợt {number}", month, None)
             for number, month in programme.batches]
    info.append(("Cách tính mức cước căn cứ",
                 _AGGREGATION.get(programme.aggregation, programme.aggregation), None))
    info += [(f"Quy tắc nhóm {g.number}", safe_text(group_rule_text(g)), None)
             for g in programme.groups]
    info += [
        ("Phiên bản quy tắc", programme.rule_version, None),
        ("Thời điểm xuất", exported_at.replace(microsecond=0, tzinfo=None), stamp),
        ("Người xuất", safe_text(exported_by), None),
        ("Phiên bản phần mềm", version, None),
        (KEY_AUDIT_LINE, audit_head[0], None),
        (KEY_AUDIT_HASH, audit_head[1], None),
    ]
    counts["ThongTin"] = len(info) + len(SHEETS) + 1
    info += [(f"Số dòng {sheet}", counts[sheet], None) for sheet in SHEETS]
    info.append((KEY_DIGEST, sha, None))
    for label, content, fmt in info:
        about.row += 1
        about.ws.write_string(about.row, 0, label)
        if isinstance(content, str):
            if content:
                about.ws.write_string(about.row, 1, content)
        elif isinstance(content, dt.datetime):
            about.ws.write_datetime(about.row, 1, content, fmt)
        elif isinstance(content, int):
            about.ws.write_number(about.row, 1, content)
    about.finish()
    return RegionalWritten(rows=counts, sha256=sha)
