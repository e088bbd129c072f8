"""The regional office's merged workbook (`mbfcare consolidate`), written from plain DTOs.

Four sheets: `ChiTiet` (the provinces' rows, same columns as theirs plus the source),
`TongHop` (per province and overall, the province workbook's measures), `VanDe` (every
problem found) and `ThongTin` (what was merged, with a `SHA-256 ChiTiet` computed the same way
as the provinces' own, see regional-export.md).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import xlsxwriter

from mbfcare.domain.collation import vietnamese_sort_key
from mbfcare.reports.regional import (
    CHITIET_HEADERS,
    DATE_FORMAT,
    DATETIME_FORMAT,
    KEY_AUDIT_HASH,
    KEY_AUDIT_LINE,
    KEY_DIGEST,
    KEY_PROGRAMME,
    KEY_PROVINCE,
    KEY_YEAR,
    MONEY_FORMAT,
    PERCENT_FORMAT,
    RESULT_AWAITING_GROUP,
    RESULT_DONE,
    THONGTIN_HEADERS,
    TONGHOP_HEADERS,
    safe_text,
)

__all__ = [
    "ALL_PROVINCES",
    "CONSOLIDATED_CHITIET_HEADERS",
    "CONSOLIDATED_SHEETS",
    "CONSOLIDATED_TONGHOP_HEADERS",
    "NO_PROVINCE",
    "TOTAL_LABEL",
    "VANDE_HEADERS",
    "ConsolidatedWriter",
    "ConsolidatedWritten",
    "ConsolidationInfo",
    "ProblemLine",
    "SourceLine",
    "Tally",
    "TallyKey",
    "column",
    "tally_key",
]

CONSOLIDATED_SHEETS = ("ChiTiet", "TongHop", "VanDe", "ThongTin")
SOURCE_HEADERS = ("Tỉnh nguồn", "Tệp nguồn")
CONSOLIDATED_CHITIET_HEADERS = (*CHITIET_HEADERS, *SOURCE_HEADERS)
CONSOLIDATED_TONGHOP_HEADERS = ("Tỉnh/TP", *TONGHOP_HEADERS)
VANDE_HEADERS = ("Tệp", "Tỉnh nguồn", "Sheet", "Dòng", "Số thuê bao", "Vấn đề", "Cách xử lý")

ALL_PROVINCES = "Toàn vùng"
TOTAL_LABEL = "Tổng cộng"
NO_PROVINCE = "(không ghi tỉnh)"


def column(header: str) -> int:
    """0-based index of a province ChiTiet column, e.g. `column("Số thuê bao") == 7`."""
    return CHITIET_HEADERS.index(header)


_PROVINCE = column("Tỉnh/TP")
_DISTRICT = column("Quận/Huyện")
_BATCH = column("Đợt")
_GROUP = column("Nhóm")
_MSISDN = column("Số thuê bao")
_SMS = column("Ngày gửi SMS")
_STANDARDISED = column("Chuẩn hóa thông tin")
_HANDED_ON = column("Ngày trao quà")
_SURVEYED = column("Đã khảo sát")
_RESULT = column("Kết quả")
_MONEY = frozenset(column(h) for h in ("Cước chu kỳ n-3", "Cước chu kỳ n-4", "Cước chu kỳ n-5",
                                        "Mức cước căn cứ"))
_WIDTHS = (14, 18, 24, 6, 10, 6, 20, 12, 26, 11, 13, 13, 13, 13, 8, 10, 16, 12, 15, 12, 18, 18,
           14, 10, 10, 18, 40, 16, 30)
STANDARDISED_WORDS = frozenset({"Đã chuẩn hóa", "Đã thu thập"})

TallyKey = tuple[str, int | None, int | None, str]  # province, batch, group, district


def _whole(value: object) -> int | None:
    """A cell holding a whole number (as read back: int or integral float), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _blank(value: object) -> bool:
    return value is None or value == ""


def tally_key(cells: Sequence[object]) -> TallyKey:
    """Where a ChiTiet row (cells as read back) counts in TongHop: province, batch, group,
    district (blank text as ``""``)."""
    province = cells[_PROVINCE]
    district = cells[_DISTRICT]
    return (str(province) if not _blank(province) else "", _whole(cells[_BATCH]),
            _whole(cells[_GROUP]), str(district) if not _blank(district) else "")


@dataclass(slots=True)
class Tally:
    """The province TongHop's measures for a set of ChiTiet rows."""

    listed: int = 0
    sms: int = 0
    handed_over: int = 0
    surveyed: int = 0
    standardised: int = 0
    done: int = 0

    def count(self, cells: Sequence[object]) -> None:
        """Count one ChiTiet row (cells as read back), as the province export counts it."""
        self.listed += 1
        self.sms += not _blank(cells[_SMS])
        self.handed_over += not _blank(cells[_HANDED_ON])
        self.surveyed += cells[_SURVEYED] == "Có"
        self.standardised += cells[_STANDARDISED] in STANDARDISED_WORDS
        self.done += cells[_RESULT] == RESULT_DONE

    def add(self, other: Tally) -> None:
        """Add another tally to this one."""
        self.listed += other.listed
        self.sms += other.sms
        self.handed_over += other.handed_over
        self.surveyed += other.surveyed
        self.standardised += other.standardised
        self.done += other.done

    def measures(self) -> tuple[int, int, int, int, int]:
        """`Số KH trong danh sách`, `Đã gửi SMS`, `Đã trao quà`, `Đã khảo sát`,
        `Đã chuẩn hóa/thu thập`."""
        return (self.listed, self.sms, self.handed_over, self.surveyed, self.standardised)

    @property
    def rate(self) -> float:
        """`Tỷ lệ hoàn thành`: rows `Hoàn thành` over rows listed."""
        return self.done / self.listed if self.listed else 0.0


@dataclass(frozen=True, slots=True)
class ProblemLine:
    """One line of VanDe: where (file, sheet, row, number), what, and what was done."""

    file: str
    province: str
    sheet: str
    row: int | None
    msisdn: str
    what: str
    action: str

    def to_json(self) -> dict[str, Any]:
        """The fields as JSON-ready values."""
        return {"file": self.file, "province": self.province, "sheet": self.sheet,
                "row": self.row, "msisdn": self.msisdn, "what": self.what,
                "action": self.action}


@dataclass(frozen=True, slots=True)
class SourceLine:
    """A province workbook merged: its name, province, export time, digest and rows."""

    file: str
    province: str
    exported_at: dt.datetime | None
    sha256: str
    rows: int
    kept: int
    audit_line: int | None = None  # the province's audit log line and hash (its ThongTin)
    audit_hash: str = ""


@dataclass(frozen=True, slots=True)
class ConsolidationInfo:
    """What ThongTin says about the merge."""

    programme: str
    year: int | None
    sources: tuple[SourceLine, ...]
    refused: tuple[tuple[str, str], ...]  # (file, reason)
    duplicates: int
    consolidated_at: dt.datetime
    version: str
    user: str = ""


@dataclass(frozen=True, slots=True)
class ConsolidatedWritten:
    """What was written: data rows per sheet and the merged ChiTiet digest."""

    rows: dict[str, int]
    sha256: str


def province_line(sources: Sequence[SourceLine]) -> str:
    """ThongTin's `Tỉnh/TP` of the merged workbook (the digest's second line): the sources'
    provinces, each once, in Vietnamese order, comma-separated."""
    names = {safe_text(s.province) for s in sources}
    return ", ".join(sorted(names, key=vietnamese_sort_key))


class _Sheet:
    def __init__(self, book: Any, name: str, headers: Sequence[str], bold: Any) -> None:
        self.ws = book.add_worksheet(name)
        self.width = len(headers)
        self.row = 0
        for col, header in enumerate(headers):
            self.ws.write_string(0, col, header, bold)
        self.ws.freeze_panes(1, 0)

    def finish(self) -> int:
        if self.row:
            self.ws.autofilter(0, 0, self.row, self.width - 1)
        return self.row


class ConsolidatedWriter:
    """Writes the merged workbook in constant memory: ChiTiet row by row with `add`, then the
    other sheets with `finish`. Use as a context manager so the file is always closed.

    Args:
        path: the `.xlsx` file to write (overwritten).
        programme: the programme name (the digest's first line).
        provinces: ThongTin's `Tỉnh/TP` (the digest's second line), see `province_line`.
    """

    def __init__(self, path: Path, programme: str, provinces: str) -> None:
        self._book = xlsxwriter.Workbook(str(path), {
            "constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
            "strings_to_numbers": False,
        })
        book = self._book
        self._bold = book.add_format({"bold": True})
        self._money = book.add_format({"num_format": MONEY_FORMAT})
        self._date = book.add_format({"num_format": DATE_FORMAT})
        self._stamp = book.add_format({"num_format": DATETIME_FORMAT})
        self._percent = book.add_format({"num_format": PERCENT_FORMAT})
        self._detail = _Sheet(book, "ChiTiet", CONSOLIDATED_CHITIET_HEADERS, self._bold)
        self._summary = _Sheet(book, "TongHop", CONSOLIDATED_TONGHOP_HEADERS, self._bold)
        self._problems = _Sheet(book, "VanDe", VANDE_HEADERS, self._bold)
        self._about = _Sheet(book, "ThongTin", THONGTIN_HEADERS, self._bold)
        for col, width in enumerate(_WIDTHS):
            self._detail.ws.set_column(col, col, width)
        self._summary.ws.set_column(0, 9, 14)
        self._summary.ws.set_column(3, 3, 20)
        for col, width in enumerate((26, 14, 9, 7, 12, 90, 40)):
            self._problems.ws.set_column(col, col, width)
        self._about.ws.set_column(0, 0, 30)
        self._about.ws.set_column(1, 1, 90)
        self._programme = safe_text(programme)
        self._provinces = safe_text(provinces)
        self._digest = hashlib.sha256(f"{self._programme}\n{self._provinces}".encode())
        self.tallies: dict[TallyKey, Tally] = {}
        self._closed = False

    def __enter__(self) -> ConsolidatedWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Close the workbook (writes the file); safe to call twice."""
        if not self._closed:
            self._closed = True
            self._book.close()

    def add(self, cells: Sequence[object], province: str, file: str) -> None:
        """Append one province row (its cells as read back, in CHITIET_HEADERS order) with its
        source, and count it for TongHop."""
        self._detail.row += 1
        r = self._detail.row
        ws = self._detail.ws
        texts = []
        width = len(CHITIET_HEADERS)
        values = [*(cells[:width]), *([""] * (width - len(cells))), safe_text(province),
                  safe_text(file)]
        for col, value in enumerate(values):
            if _blank(value):
                texts.append("")
                continue
            whole = _whole(value)
            if col == _MSISDN and whole is not None:  # numbers stay text
                value = str(whole)
            if isinstance(value, str):
                text = safe_text(value)
                ws.write_string(r, col, text)
            elif isinstance(value, bool):
                ws.write_boolean(r, col, value)
                text = "TRUE" if value else "FALSE"
            elif isinstance(value, int | float):
                number = whole if whole is not None else value
                ws.write_number(r, col, number, self._money if col in _MONEY else None)
                text = str(number)
            elif isinstance(value, dt.date):  # datetime too
                ws.write_datetime(r, col, value, self._date)
                text = value.strftime("%d/%m/%Y")
            else:  # a time or duration read from an odd cell: kept as text
                text = safe_text(str(value))
                ws.write_string(r, col, text)
            texts.append(text)
        self._digest.update(("\n" + "\t".join(texts)).encode())
        key = tally_key(values)
        tally = self.tallies.get(key)
        if tally is None:
            tally = self.tallies[key] = Tally()
        tally.count(values)

    def finish(self, problems: Sequence[ProblemLine], info: ConsolidationInfo
               ) -> ConsolidatedWritten:
        """Write TongHop (from the rows added), VanDe and ThongTin, and close the file."""
        counts = {"ChiTiet": self._detail.finish()}
        sha = self._digest.hexdigest()
        counts["TongHop"] = self._write_summary()
        for line in problems:
            self._problems.row += 1
            p, ws = self._problems.row, self._problems.ws
            for col, text in enumerate((line.file, line.province, line.sheet)):
                if text:
                    ws.write_string(p, col, safe_text(text))
            if line.row is not None:
                ws.write_number(p, 3, line.row)
            for col, text in enumerate((line.msisdn, line.what, line.action), start=4):
                if text:
                    ws.write_string(p, col, safe_text(text))
        counts["VanDe"] = self._problems.finish()
        counts["ThongTin"] = self._write_about(info, counts, sha)
        self.close()
        return ConsolidatedWritten(rows=counts, sha256=sha)

    def _summary_row(self, province: str, batch: int | None, group: int | None, label: str,
                     tally: Tally) -> None:
        self._summary.row += 1
        s, ws = self._summary.row, self._summary.ws
        ws.write_string(s, 0, safe_text(province))
        if batch is not None:
            ws.write_number(s, 1, batch)
        if group is not None:
            ws.write_number(s, 2, group)
        if label:
            ws.write_string(s, 3, safe_text(label))
        for col, value in enumerate(tally.measures(), start=4):
            ws.write_number(s, col, value)
        ws.write_number(s, 9, tally.rate, self._percent)

    def _write_summary(self) -> int:
        """Per province: one row per (batch, group, district), a total per batch and the
        province's total (`Tổng cộng`); then `Toàn vùng`: per (batch, group) (gap cases labelled
        `Chờ quyết định nhóm`), per batch, and the grand total."""
        def group_order(group: int | None) -> int:
            return group if group is not None else 99

        by_province: dict[str, list[TallyKey]] = {}
        for key in self.tallies:
            by_province.setdefault(key[0], []).append(key)
        overall: dict[tuple[int | None, int | None], Tally] = {}
        for province in sorted(by_province, key=vietnamese_sort_key):
            shown = province or NO_PROVINCE
            keys = sorted(by_province[province], key=lambda k: (
                k[1] if k[1] is not None else 0, group_order(k[2]), vietnamese_sort_key(k[3])))
            province_total = Tally()
            for batch in dict.fromkeys(k[1] for k in keys):
                batch_total = Tally()
                for key in (k for k in keys if k[1] == batch):
                    tally = self.tallies[key]
                    self._summary_row(shown, batch, key[2], key[3], tally)
                    batch_total.add(tally)
                    overall.setdefault((batch, key[2]), Tally()).add(tally)
                self._summary_row(shown, batch, None,
                                  f"Cộng đợt {batch}" if batch is not None else "Cộng", batch_total)
                province_total.add(batch_total)
            self._summary_row(shown, None, None, TOTAL_LABEL, province_total)
        grand = Tally()
        batches = sorted({b for b, _g in overall}, key=lambda b: b if b is not None else 0)
        for batch in batches:
            batch_total = Tally()
            for group in sorted((g for b, g in overall if b == batch), key=group_order):
                self._summary_row(ALL_PROVINCES, batch, group,
                                  "" if group is not None else RESULT_AWAITING_GROUP,
                                  overall[(batch, group)])
                batch_total.add(overall[(batch, group)])
            self._summary_row(ALL_PROVINCES, batch, None,
                              f"Cộng đợt {batch}" if batch is not None else "Cộng", batch_total)
            grand.add(batch_total)
        self._summary_row(ALL_PROVINCES, None, None, TOTAL_LABEL, grand)
        return self._summary.finish()

    def _write_about(self, info: ConsolidationInfo, counts: dict[str, int], sha: str) -> int:
        rows: list[tuple[str, object]] = [
            (KEY_PROGRAMME, self._programme),
            (KEY_YEAR, info.year),
            (KEY_PROVINCE, self._provinces),
            ("Số tệp đã gộp", len(info.sources)),
        ]
        for number, source in enumerate(info.sources, start=1):
            rows += [
                (f"Tệp {number}", source.file),
                (f"Tệp {number} – Tỉnh/TP", source.province),
                (f"Tệp {number} – Thời điểm xuất", source.exported_at),
                (f"Tệp {number} – SHA-256 ChiTiet", source.sha256),
                (f"Tệp {number} – Số dòng ChiTiet", source.rows),
                (f"Tệp {number} – Số dòng đã gộp", source.kept),
                (f"Tệp {number} – {KEY_AUDIT_LINE}", source.audit_line),
                (f"Tệp {number} – {KEY_AUDIT_HASH}", source.audit_hash),
            ]
        rows.append(("Số tệp không gộp", len(info.refused)))
        rows += [(f"Tệp không gộp {number}", f"{file}: {reason}")
                 for number, (file, reason) in enumerate(info.refused, start=1)]
        rows += [
            ("Số thuê bao trùng", info.duplicates),
            ("Thời điểm tổng hợp", info.consolidated_at.replace(microsecond=0, tzinfo=None)),
            ("Người tổng hợp", info.user),
            ("Phiên bản phần mềm", info.version),
        ]
        total = len(rows) + len(CONSOLIDATED_SHEETS) + 2
        counts = {**counts, "ThongTin": total}
        rows += [(f"Số dòng {sheet}", counts[sheet]) for sheet in CONSOLIDATED_SHEETS]
        rows.append(("Cách tính SHA-256 ChiTiet",
                     "như tệp của tỉnh (regional-export.md): các dòng ChiTiet kể cả hai cột "
                     "nguồn; hai dòng đầu là tên chương trình và Tỉnh/TP ở trên"))
        rows.append((KEY_DIGEST, sha))
        ws = self._about.ws
        for label, value in rows:
            self._about.row += 1
            a = self._about.row
            ws.write_string(a, 0, label)
            if isinstance(value, str):
                if value:
                    ws.write_string(a, 1, safe_text(value))
            elif isinstance(value, dt.datetime):
                ws.write_datetime(a, 1, value, self._stamp)
            elif isinstance(value, int):
                ws.write_number(a, 1, value)
        self._about.finish()
        return total
