"""The reports as workbooks for analysis: TienDo; KhaoSat and KhaoSat_TuLuan; KhoQua and
ChiTietTrao. Pure over the report DTOs of `mbfcare.services.reports`.

Headers bold and frozen, numbers as numbers, shares `0.0%`, dates real dates shown
dd/mm/yyyy, subscriber numbers text (the leading 0 stays), imported text through
`safe_text` (no formula can start a cell).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import xlsxwriter

from mbfcare.reports.regional import safe_text
from mbfcare.services.reports import (
    PROGRESS_COLUMNS,
    PROGRESS_NOTES,
    PROGRESS_RATE_TITLE,
    STOCK_COLUMNS,
    STOCK_NOTES,
    ProgressCounts,
    ProgressReport,
    StockFigures,
    StockReport,
    SurveyReport,
)

__all__ = [
    "ALL_PLACES",
    "CHITIETTRAO_HEADERS",
    "KHAOSAT_HEADERS",
    "KHOQUA_HEADERS",
    "TIENDO_HEADERS",
    "TULUAN_HEADERS",
    "WRITERS",
    "khoqua_headers",
    "write_progress_workbook",
    "write_stock_workbook",
    "write_survey_workbook",
]

NUMBER_FORMAT = "#,##0"
PERCENT_FORMAT = "0.0%"
MEAN_FORMAT = "0.00"
DATE_FORMAT = "dd/mm/yyyy"

TIENDO_HEADERS = ("Đợt", "Tháng chăm sóc", "Nhóm", "Quận/Huyện", "Cửa hàng",
                  *(title for _key, title in PROGRESS_COLUMNS), PROGRESS_RATE_TITLE)
KHAOSAT_HEADERS = ("Câu", "Câu hỏi", "Loại câu hỏi", "Quận/Huyện", "Cửa hàng", "Trả lời",
                   "Số phiếu", "Tỷ lệ", "Điểm trung bình")
TULUAN_HEADERS = ("Câu", "Câu hỏi", "Quận/Huyện", "Cửa hàng", "Đợt", "Số thuê bao", "Họ tên",
                  "Ngày khảo sát", "Ý kiến")
KHOQUA_HEADERS = ("Loại quà", "Mã quà", "Món quà", "Nơi",
                  *(title for _key, title in STOCK_COLUMNS))
CHITIETTRAO_HEADERS = ("Mã quà", "Món quà", "Nơi", "STT", "Ngày trao", "Số thuê bao", "Họ tên",
                       "Đợt", "Nhóm", "Người trao", "Mã biên bản")

ALL_PLACES = "Tất cả"
"""The district column of a question's overall rows in KhaoSat."""
TEXT_ANSWER = "(ý kiến ghi bằng chữ, xem KhaoSat_TuLuan)"
KIND_WORDS = {"scale": "Thang điểm 1–5", "single": "Chọn một", "multiple": "Chọn nhiều",
              "text": "Trả lời tự do"}


def khoqua_headers(batch: int | None) -> tuple[str, ...]:
    """KhoQua's headers: with a batch, a last column counts that batch's handovers."""
    return KHOQUA_HEADERS + ((f"Đã trao cho KH đợt {batch}",) if batch is not None else ())


class _Book:
    """An xlsxwriter workbook with the report's formats and typed writes."""

    def __init__(self, path: Path) -> None:
        self.book = xlsxwriter.Workbook(str(path), {
            "strings_to_formulas": False, "strings_to_urls": False,
            "strings_to_numbers": False,
        })
        self.header = self.book.add_format({"bold": True, "text_wrap": True,
                                            "valign": "top"})
        self.bold = self.book.add_format({"bold": True})
        self.number = self.book.add_format({"num_format": NUMBER_FORMAT})
        self.bold_number = self.book.add_format({"num_format": NUMBER_FORMAT, "bold": True})
        self.percent = self.book.add_format({"num_format": PERCENT_FORMAT})
        self.bold_percent = self.book.add_format({"num_format": PERCENT_FORMAT, "bold": True})
        self.mean = self.book.add_format({"num_format": MEAN_FORMAT})
        self.date = self.book.add_format({"num_format": DATE_FORMAT})
        self.text = self.book.add_format({"num_format": "@"})

    def sheet(self, name: str, headers: Sequence[str], widths: Sequence[float]) -> Any:
        ws = self.book.add_worksheet(name)
        for col, header in enumerate(headers):
            ws.write_string(0, col, header, self.header)
        for col, width in enumerate(widths):
            ws.set_column(col, col, width)
        ws.freeze_panes(1, 0)
        return ws

    def close(self) -> None:
        self.book.close()


def _write(ws: Any, row: int, col: int, value: object, fmt: Any = None) -> None:
    """One cell by its type; None and "" leave it empty."""
    if value is None or value == "":
        return
    if isinstance(value, str):
        ws.write_string(row, col, value, fmt)
    elif isinstance(value, dt.date):
        ws.write_datetime(row, col, dt.datetime(value.year, value.month, value.day), fmt)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        ws.write_number(row, col, value, fmt)
    else:  # pragma: no cover - every caller passes the types above
        raise TypeError(f"cannot write {type(value).__name__}")


def _finish(ws: Any, rows: int, width: int) -> int:
    if rows:
        ws.autofilter(0, 0, rows, width - 1)
    return rows


# --------------------------------------------------------------------------- progress


def write_progress_workbook(report: ProgressReport, path: Path) -> dict[str, int]:
    """TienDo: one row per batch × group × district × store, a subtotal per batch (bold, in
    the district column "Cộng đợt K") and the total ("Tổng cộng"); the definitions are the
    headers' notes.

    Returns:
        Rows written below the header, per sheet.
    """
    book = _Book(path)
    try:
        ws = book.sheet("TienDo", TIENDO_HEADERS,
                        (6, 10, 13, 20, 30, *(11,) * len(PROGRESS_COLUMNS), 11))
        ws.set_row(0, 45)
        first = 5
        notes = dict(zip(("on_list", "reached", "standardised", "done"), PROGRESS_NOTES,
                         strict=True))
        for index, (key, _title) in enumerate(PROGRESS_COLUMNS):
            if key in notes:
                ws.write_comment(0, first + index, notes[key], {"x_scale": 3, "y_scale": 2})
        ws.write_comment(0, first + len(PROGRESS_COLUMNS), PROGRESS_NOTES[-1],
                         {"x_scale": 3, "y_scale": 2})
        r = 0

        def counts(row: int, values: ProgressCounts, bold: bool) -> None:
            for index, (key, _title) in enumerate(PROGRESS_COLUMNS):
                ws.write_number(row, first + index, values.value(key),
                                book.bold_number if bold else book.number)
            ws.write_number(row, first + len(PROGRESS_COLUMNS), values.completion_rate,
                            book.bold_percent if bold else book.percent)

        for batch in report.batches:
            for line in batch.rows:
                r += 1
                ws.write_number(r, 0, line.batch)
                _write(ws, r, 1, batch.care_month)
                if line.group is not None:
                    ws.write_number(r, 2, line.group)
                else:
                    ws.write_string(r, 2, line.group_label)
                _write(ws, r, 3, safe_text(line.district))
                _write(ws, r, 4, safe_text(line.store))
                counts(r, line.counts, False)
            r += 1
            ws.write_number(r, 0, batch.batch, book.bold)
            _write(ws, r, 1, batch.care_month, book.bold)
            ws.write_string(r, 3, f"Cộng đợt {batch.batch}", book.bold)
            counts(r, batch.subtotal, True)
        r += 1
        ws.write_string(r, 3, "Tổng cộng", book.bold)
        counts(r, report.total, True)
        rows = {"TienDo": _finish(ws, r, len(TIENDO_HEADERS))}
    finally:
        book.close()
    return rows


# --------------------------------------------------------------------------- survey


def write_survey_workbook(report: SurveyReport, path: Path) -> dict[str, int]:
    """KhaoSat: per question, its answers overall (district "Tất cả") then per district and
    store: count, share of those who answered, and the mean of a scale on each of its rows.
    KhaoSat_TuLuan: every free-text answer with where and whom it came from.

    Returns:
        Rows written below the header, per sheet.
    """
    book = _Book(path)
    try:
        ws = book.sheet("KhaoSat", KHAOSAT_HEADERS, (6, 50, 15, 20, 30, 30, 10, 10, 12))
        r = 0
        for question in report.questions:
            scopes: list[tuple[str, str, int, Sequence[tuple[str, int]], float | None]] = [
                (ALL_PLACES, "", question.answered,
                 [(a.answer, a.count) for a in question.answers], question.mean)]
            scopes += [(p.district, p.store, p.answered, p.counts, p.mean)
                       for p in question.places]
            for district, store, answered, counts, mean in scopes:
                lines: Sequence[tuple[str, int, float]]
                if question.kind == "text":
                    share = answered / report.responses if report.responses else 0.0
                    lines = [(TEXT_ANSWER, answered, share)]
                else:
                    lines = [(answer, count, count / answered if answered else 0.0)
                             for answer, count in counts]
                for answer, count, share in lines:
                    r += 1
                    ws.write_number(r, 0, question.number)
                    ws.write_string(r, 1, safe_text(question.text))
                    ws.write_string(r, 2, KIND_WORDS.get(question.kind, question.kind))
                    _write(ws, r, 3, safe_text(district))
                    _write(ws, r, 4, safe_text(store))
                    ws.write_string(r, 5, safe_text(answer))
                    ws.write_number(r, 6, count, book.number)
                    ws.write_number(r, 7, share, book.percent)
                    if mean is not None:
                        ws.write_number(r, 8, mean, book.mean)
        rows = {"KhaoSat": _finish(ws, r, len(KHAOSAT_HEADERS))}

        ws = book.sheet("KhaoSat_TuLuan", TULUAN_HEADERS, (6, 40, 20, 30, 6, 13, 26, 13, 70))
        r = 0
        for free in report.free_text:
            r += 1
            ws.write_number(r, 0, free.question_number)
            ws.write_string(r, 1, safe_text(free.question))
            _write(ws, r, 2, safe_text(free.district))
            _write(ws, r, 3, safe_text(free.store))
            ws.write_number(r, 4, free.batch)
            ws.write_string(r, 5, safe_text(free.msisdn), book.text)
            _write(ws, r, 6, safe_text(free.name))
            _write(ws, r, 7, free.answered_on, book.date)
            ws.write_string(r, 8, safe_text(free.text))
        rows["KhaoSat_TuLuan"] = _finish(ws, r, len(TULUAN_HEADERS))
    finally:
        book.close()
    return rows


# --------------------------------------------------------------------------- stock


def write_stock_workbook(report: StockReport, path: Path) -> dict[str, int]:
    """KhoQua: per item × location the reconciliation, a total per item (bold, "Cộng") and
    the grand total; ChiTietTrao: the handovers behind "Đã trao", per item × location, with
    the code of the receipt printed (blank when none was).

    Returns:
        Rows written below the header, per sheet.
    """
    batch = report.info.batch
    headers = khoqua_headers(batch)
    book = _Book(path)
    try:
        ws = book.sheet("KhoQua", headers, (16, 14, 30, 30, *(10,) * (len(headers) - 4)))
        ws.write_comment(0, 4 + len(STOCK_COLUMNS) - 1, STOCK_NOTES[0],
                         {"x_scale": 3, "y_scale": 2})
        ws.write_comment(0, 4 + [k for k, _ in STOCK_COLUMNS].index("handed_over"),
                         STOCK_NOTES[1], {"x_scale": 3, "y_scale": 2})
        r = 0

        def figures(row: int, values: StockFigures, listed: int | None, bold: bool) -> None:
            fmt = book.bold_number if bold else book.number
            for index, (key, _title) in enumerate(STOCK_COLUMNS):
                ws.write_number(row, 4 + index, values.value(key), fmt)
            if batch is not None and listed is not None:
                ws.write_number(row, 4 + len(STOCK_COLUMNS), listed, fmt)

        for item in report.items:
            for line in item.lines:
                r += 1
                ws.write_string(r, 0, safe_text(item.gift_type_name))
                ws.write_string(r, 1, safe_text(item.item_code))
                ws.write_string(r, 2, safe_text(item.item_name))
                ws.write_string(r, 3, safe_text(line.location))
                figures(r, line.figures, len(line.handovers), False)
            r += 1
            ws.write_string(r, 0, safe_text(item.gift_type_name), book.bold)
            ws.write_string(r, 1, safe_text(item.item_code), book.bold)
            ws.write_string(r, 2, safe_text(item.item_name), book.bold)
            ws.write_string(r, 3, "Cộng", book.bold)
            figures(r, item.total, sum(len(line.handovers) for line in item.lines), True)
        r += 1
        ws.write_string(r, 0, "Tổng cộng", book.bold)
        figures(r, report.total, report.handovers, True)
        rows = {"KhoQua": _finish(ws, r, len(headers))}

        ws = book.sheet("ChiTietTrao", CHITIETTRAO_HEADERS,
                        (14, 30, 30, 6, 12, 13, 26, 6, 6, 22, 26))
        r = 0
        for item in report.items:
            for line in item.lines:
                for number, handover in enumerate(line.handovers, 1):
                    r += 1
                    ws.write_string(r, 0, safe_text(item.item_code))
                    ws.write_string(r, 1, safe_text(item.item_name))
                    ws.write_string(r, 2, safe_text(line.location))
                    ws.write_number(r, 3, number)
                    _write(ws, r, 4, handover.given_on, book.date)
                    ws.write_string(r, 5, safe_text(handover.msisdn), book.text)
                    _write(ws, r, 6, safe_text(handover.name))
                    ws.write_number(r, 7, handover.batch)
                    _write(ws, r, 8, handover.group)
                    _write(ws, r, 9, safe_text(handover.given_by))
                    _write(ws, r, 10, handover.receipt_code)
        rows["ChiTietTrao"] = _finish(ws, r, len(CHITIETTRAO_HEADERS))
    finally:
        book.close()
    return rows


WRITERS: dict[str, Callable[[Any, Path], dict[str, int]]] = {
    "progress": write_progress_workbook,
    "survey": write_survey_workbook,
    "stock": write_stock_workbook,
}
"""Report kind -> writer(report, path) -> rows per sheet."""
