"""`mbfcare consolidate`: the regional office (MBF KV5) merges provinces' workbooks.

Spec: regional-export.md, "Consolidation at the regional office". Each file is checked —
readable, the fixed format, the programme (name and year in ThongTin), and its
`SHA-256 ChiTiet` recomputed from the cells as they read back. A file that cannot be used is
left out and named with the reason; the others are merged. A subscriber appears once: where
two files (or two rows of one file) hold the same number, the copy from the later export is
kept and every source is listed.

The digest proves that a file was edited but not where. To show the changed rows, an edited
file's rows are checked against what the export always writes (the charge basis from the three
cycles under the file's own rule, the group from the basis, the fixed words, dates, numbers as
text, one row per number, the result against the work recorded) and against the file's own
TongHop; the rows that fail are listed in VanDe as suspicious, and VanDe says honestly that
the other changed cells cannot be told.

Two passes keep memory flat for a whole region: the first checks every file and keeps only
the numbers; the second re-reads the files that are used and streams their rows into the
merged workbook. No Qt here; runs on a worker.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from mbfcare import __version__
from mbfcare.domain.actors import Actor
from mbfcare.domain.collation import vietnamese_sort_key
from mbfcare.domain.programme_spec import DELIVERY_WORDS, GroupRule
from mbfcare.domain.rules import below_all, group_of
from mbfcare.domain.values import format_money, format_number
from mbfcare.errors import Cancelled, ImportFileError, UsageError
from mbfcare.io.tabular import TableFile, open_table
from mbfcare.reports.consolidated import (
    CONSOLIDATED_CHITIET_HEADERS,
    ConsolidatedWriter,
    ConsolidationInfo,
    ProblemLine,
    SourceLine,
    Tally,
    column,
    province_line,
    tally_key,
)
from mbfcare.reports.regional import (
    CHITIET_HEADERS,
    KEY_AUDIT_HASH,
    KEY_AUDIT_LINE,
    KEY_DIGEST,
    KEY_PROGRAMME,
    KEY_PROVINCE,
    KEY_YEAR,
    RESULT_AWAITING_GROUP,
    RESULT_DONE,
    RESULT_IN_PROGRESS,
    RESULT_NOT_STARTED,
    RESULT_OUTCOMES,
    THONGTIN_HEADERS,
    TONGHOP_HEADERS,
    cell_text,
    chitiet_digest,
)
from mbfcare.services.exporting import atomic_output
from mbfcare.services.progress import NullProgress, Progress

logger = logging.getLogger(__name__)

__all__ = [
    "KEY_EXPORTED_AT",
    "ConsolidationResult",
    "Duplicate",
    "MergedFile",
    "RefusedFile",
    "SourceRef",
    "consolidate",
    "parse_rule",
]

KEY_EXPORTED_AT = "Thời điểm xuất"
KEY_AGGREGATION = "Cách tính mức cước căn cứ"
KEY_RULE = "Quy tắc nhóm "
KEY_MONTH = "Tháng chăm sóc đợt "
KEY_ROWS = "Số dòng ChiTiet"
NEEDED_SHEETS = ("ChiTiet", "TongHop", "ThongTin")
OTHER_SHEETS = ("KhoQua", "KhaoSat")

# Refusal codes, for scripts (`refused[].code` in the JSON).
UNREADABLE, FORMAT, SAME_FILE, PROGRAMME, EDITED = (
    "unreadable", "format", "same_file", "programme", "edited")

ACTION_REFUSED = "Không gộp tệp này; đề nghị tỉnh xuất lại tệp từ MBF Care và gửi lại."
ACTION_REFUSED_ROW = "Không gộp (tệp bị từ chối)."
ACTION_MERGED = "Vẫn gộp; số liệu tổng hợp được tính lại từ ChiTiet."
ACTION_NOTE = "Vẫn gộp."

_NUMBER = re.compile(r"0\d{9}")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_RULE_RANGE = re.compile(r"khoảng ([\[(])(-∞|[\d.]+ đ); (\+∞|[\d.]+ đ)([\])])")
_RULE_GIFT = re.compile(r"Quà loại (\d+)\s*$")
_FORMULA_START = frozenset("=+-@")

_MSISDN = column("Số thuê bao")
_BATCH = column("Đợt")
_MONTH = column("Tháng chăm sóc")
_GROUP = column("Nhóm")
_DELIVERY = column("Hình thức")
_TYPE = column("Loại thuê bao")
_CHARGES = (column("Cước chu kỳ n-3"), column("Cước chu kỳ n-4"), column("Cước chu kỳ n-5"))
_BASIS = column("Mức cước căn cứ")
_YEARS = column("Năm sử dụng")
_GIFT = column("Loại quà")
_ITEM = column("Quà đã trao")
_SMS = column("Ngày gửi SMS")
_STANDARDISED = column("Chuẩn hóa thông tin")
_HANDED_ON = column("Ngày trao quà")
_SURVEYED = column("Đã khảo sát")
_SCORE = column("Điểm hài lòng")
_RESULT = column("Kết quả")
_WIDTH = len(CHITIET_HEADERS)

_TYPES = frozenset({"Trả trước", "Trả sau"})
_STANDARDISATION = frozenset({"Đã chuẩn hóa", "Đã thu thập", "Chưa chuẩn hóa"})
_YES_NO = frozenset({"Có", "Không"})
_RESULTS = frozenset({RESULT_DONE, RESULT_IN_PROGRESS, RESULT_NOT_STARTED, RESULT_AWAITING_GROUP,
                      *RESULT_OUTCOMES.values()})


# --------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class SourceRef:
    """One copy of a subscriber: the file, its province, the sheet row and the export time."""

    file: str
    province: str
    row: int
    exported_at: dt.datetime | None

    def to_json(self) -> dict[str, Any]:
        """The fields as JSON-ready values."""
        return {"file": self.file, "province": self.province, "row": self.row,
                "exported_at": self.exported_at.isoformat() if self.exported_at else None}


@dataclass(frozen=True, slots=True)
class Duplicate:
    """A subscriber found more than once: the copy kept and the others left out."""

    msisdn: str
    kept: SourceRef
    also_in: tuple[SourceRef, ...]

    def to_json(self) -> dict[str, Any]:
        """The fields as JSON-ready values."""
        return {"msisdn": self.msisdn, "kept": self.kept.to_json(),
                "also_in": [ref.to_json() for ref in self.also_in]}


@dataclass(frozen=True, slots=True)
class MergedFile:
    """A province workbook merged: its data rows, and how many were kept (not duplicates)."""

    file: str
    province: str
    rows: int
    kept: int
    exported_at: dt.datetime | None
    sha256: str

    def to_json(self) -> dict[str, Any]:
        """The fields as JSON-ready values."""
        return {"file": self.file, "province": self.province, "rows": self.rows,
                "kept": self.kept,
                "exported_at": self.exported_at.isoformat() if self.exported_at else None,
                "sha256": self.sha256}


@dataclass(frozen=True, slots=True)
class RefusedFile:
    """A file left out, with the reason as one sentence and a code (`unreadable`, `format`,
    `same_file`, `programme`, `edited`)."""

    file: str
    reason: str
    code: str
    province: str = ""

    def to_json(self) -> dict[str, Any]:
        """The fields as JSON-ready values."""
        return {"file": self.file, "reason": self.reason, "code": self.code,
                "province": self.province}


@dataclass
class ConsolidationResult:
    """What `consolidate` did; `to_json()` is the command line's JSON output."""

    file: str
    programme: str
    year: int | None
    merged: list[MergedFile]
    refused: list[RefusedFile]
    duplicates: list[Duplicate]
    problems: list[ProblemLine]
    rows: int
    sheets: dict[str, int]
    sha256: str
    consolidated_at: dt.datetime

    def to_json(self) -> dict[str, Any]:
        """The fields as JSON-ready values (`problems` is the number of VanDe lines)."""
        return {
            "file": self.file, "programme": self.programme, "year": self.year,
            "merged": [m.to_json() for m in self.merged],
            "refused": [r.to_json() for r in self.refused],
            "duplicates": [d.to_json() for d in self.duplicates],
            "rows": self.rows, "sheets": dict(self.sheets), "problems": len(self.problems),
            "sha256": self.sha256, "consolidated_at": self.consolidated_at.isoformat(),
        }

    @property
    def text(self) -> str:
        """The command line's human summary, in Vietnamese."""
        lines = [f"Đã tổng hợp {format_number(len(self.merged))} tệp của chương trình "
                 f"'{self.programme}' ({format_number(self.rows)} thuê bao) vào: {self.file}"]
        lines += [f"  Đã gộp: {Path(m.file).name} – {m.province}, {format_number(m.kept)}/"
                  f"{format_number(m.rows)} dòng" for m in self.merged]
        lines += [f"  Không gộp: {Path(r.file).name} – {r.reason}" for r in self.refused]
        if self.duplicates:
            lines.append(f"Thuê bao trùng: {format_number(len(self.duplicates))} (mỗi thuê bao "
                         "chỉ giữ một bản, của lần xuất sau; xem sheet VanDe).")
        if self.problems:
            lines.append(f"Vấn đề tìm thấy: {format_number(len(self.problems))} – xem sheet "
                         "VanDe.")
        lines.append(f"SHA-256 ChiTiet: {self.sha256}")
        return "\n".join(lines)


# --------------------------------------------------------------------------- reading


class _Refused(Exception):
    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass
class _Source:
    """A file after the first pass; only the numbers are kept, not the rows."""

    index: int
    path: Path
    name: str
    file_sha256: str
    programme: str = ""
    year: int | None = None
    province: str = ""
    exported_at: dt.datetime | None = None
    written_digest: str = ""
    read_digest: str = ""
    audit_line: int | None = None
    audit_hash: str = ""
    rows: int = 0
    numbers: dict[str, list[int]] = field(default_factory=dict)
    rules: tuple[str, ...] = ()
    problems: list[ProblemLine] = field(default_factory=list)
    suspicious: list[ProblemLine] = field(default_factory=list)
    refused: RefusedFile | None = None
    dropped: set[int] = field(default_factory=set)

    @property
    def edited(self) -> bool:
        return self.read_digest != self.written_digest

    def problem(self, sheet: str, row: int | None, what: str, action: str,
                msisdn: str = "") -> ProblemLine:
        return ProblemLine(self.name, self.province, sheet, row, msisdn, what, action)


def _blank(value: object) -> bool:
    return value is None or value == ""


def _whole(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _text(value: object) -> str:
    return "" if _blank(value) else cell_text(value).strip()


def _shown(value: object) -> str:
    """A cell as quoted in a problem sentence."""
    if _blank(value):
        return "(trống)"
    if isinstance(value, int | float) and not isinstance(value, bool):
        whole = _whole(value)
        return format_number(whole) if whole is not None else str(value)
    return f"'{cell_text(value)}'"


def _sheet(table: TableFile, name: str) -> list[list[Any]]:
    """All rows of a sheet from row 1, each padded on the left to column A; trailing wholly
    blank rows (formatting Excel may leave below the data) dropped."""
    try:
        sheet = table.rows(name)
    except ImportFileError as exc:
        raise _Refused(UNREADABLE, f"Không đọc được tệp: {exc}") from exc
    pad = [""] * sheet.first_column
    rows = [pad + cells for _number, cells in sheet.rows]
    while rows and all(_blank(v) for v in rows[-1]):
        rows.pop()
    return rows


def _not_xlsx(kind: str) -> _Refused:
    return _Refused(UNREADABLE, f"Không phải tệp Excel .xlsx xuất từ MBF Care (đây là {kind}, "
                                "có thể chỉ bị đổi đuôi).")


def _sniffed_kind(path: Path) -> str | None:
    """`tệp .xls` or `tệp văn bản` when the file is plainly not a workbook, else None."""
    try:
        with path.open("rb") as f:
            head = f.read(8)
    except OSError:
        return None
    if head.startswith(b"PK"):
        return None
    return "tệp .xls" if head.startswith(b"\xd0\xcf\x11\xe0") else "tệp văn bản"


def _open(path: Path) -> TableFile:
    try:
        table = open_table(path)
    except ImportFileError as exc:
        # The reader's advice (e.g. "rename it .csv") is for imports; here the only file
        # that can be used is a workbook MBF Care exported.
        kind = _sniffed_kind(path)
        if kind is not None:
            raise _not_xlsx(kind) from exc
        raise _Refused(UNREADABLE, f"Không đọc được tệp: {exc}") from exc
    if table.kind != "xlsx":
        table.close()
        raise _not_xlsx("tệp .xls" if table.kind == "xls" else "tệp văn bản")
    return table


def _check_header(cells: Sequence[object], expected: Sequence[str], sheet: str) -> str | None:
    """What is wrong with a header row, or None."""
    found = [_text(v) for v in cells]
    found += [""] * (len(expected) - len(found))
    for col, header in enumerate(expected):
        if found[col] != header:
            letter = _column_letter(col)
            return (f"dòng tiêu đề sheet {sheet} không đúng mẫu: ô {letter}1 là "
                    f"'{found[col]}', cần '{header}'")
    extra = [v for v in found[len(expected):] if v]
    if extra:
        return f"sheet {sheet} có cột thừa ngoài mẫu ('{extra[0]}')"
    return None


def _column_letter(col: int) -> str:
    letters = ""
    col += 1
    while col:
        col, rest = divmod(col - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _as_datetime(value: object) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        for fmt in ("%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y", "%Y-%m-%dT%H:%M:%S",
                    "%Y-%m-%d %H:%M:%S"):
            try:
                return dt.datetime.strptime(value.strip(), fmt)
            except ValueError:
                continue
    return None


def _money_value(text: str) -> int | None:
    if text in ("-∞", "+∞"):
        return None
    return int(text.replace(" đ", "").replace(".", ""))


def parse_rule(number: int, text: str) -> GroupRule | None:
    """A group's rule back from its ThongTin words (regional.group_rule_text), or None."""
    match = _RULE_RANGE.search(text)
    if match is None:
        return None
    delivery = next((key for key, words in DELIVERY_WORDS.items() if words in text), "")
    gift = _RULE_GIFT.search(text)
    return GroupRule(number, f"Nhóm {number}", _money_value(match.group(2)),
                     match.group(1) == "[", _money_value(match.group(3)), match.group(4) == "]",
                     delivery, int(gift.group(1)) if gift else 0)


@dataclass(frozen=True)
class _Rules:
    """What a file's ThongTin says its rows must follow."""

    aggregation: str  # `every_cycle`, `average` or "" (unknown)
    groups: tuple[GroupRule, ...]
    months: dict[int, str]


def _rules(about: dict[str, object]) -> _Rules:
    aggregation = _text(about.get(KEY_AGGREGATION))
    kind = next((k for k in ("every_cycle", "average") if aggregation.startswith(k)), "")
    groups = []
    months = {}
    for key, value in about.items():
        if key.startswith(KEY_RULE) and key[len(KEY_RULE):].isdigit():
            rule = parse_rule(int(key[len(KEY_RULE):]), _text(value))
            if rule is not None:
                groups.append(rule)
        elif key.startswith(KEY_MONTH) and key[len(KEY_MONTH):].isdigit():
            months[int(key[len(KEY_MONTH):])] = _text(value)
    return _Rules(kind, tuple(sorted(groups, key=lambda g: g.number)), months)


def _read_about(rows: list[list[Any]]) -> dict[str, object]:
    problem = _check_header(rows[0] if rows else [], THONGTIN_HEADERS, "ThongTin")
    if problem:
        raise _Refused(FORMAT, f"Không đúng mẫu tệp gửi MBF KV5: {problem}.")
    about: dict[str, object] = {}
    for cells in rows[1:]:
        key = _text(cells[0]) if cells else ""
        if key and key not in about:
            about[key] = cells[1] if len(cells) > 1 else ""
    for key in (KEY_PROGRAMME, KEY_YEAR, KEY_PROVINCE, KEY_DIGEST):
        if key not in about:
            raise _Refused(FORMAT, f"Không đúng mẫu tệp gửi MBF KV5: sheet ThongTin thiếu dòng "
                                   f"'{key}'.")
    return about


def _inspect(index: int, path: Path) -> _Source:
    """The first pass over one file: format, ThongTin, digest, numbers, checks."""
    name = path.name
    table = _open(path)
    try:
        source = _Source(index, path, name, table.sha256)
        missing = [s for s in NEEDED_SHEETS if s not in table.sheet_names]
        if missing:
            raise _Refused(FORMAT, "Không đúng mẫu tệp gửi MBF KV5: thiếu sheet "
                                   f"{', '.join(missing)}.")
        about = _read_about(_sheet(table, "ThongTin"))
        source.programme = _text(about[KEY_PROGRAMME])
        source.year = _whole(about[KEY_YEAR])
        source.province = _text(about[KEY_PROVINCE])
        source.written_digest = _text(about[KEY_DIGEST]).lower()
        source.rules = tuple(_text(v) for k, v in about.items()
                             if k.startswith(KEY_RULE) or k == KEY_AGGREGATION)
        source.exported_at = _as_datetime(about.get(KEY_EXPORTED_AT))
        # Files exported before the audit chain was printed have neither line.
        source.audit_line = _whole(about.get(KEY_AUDIT_LINE))
        source.audit_hash = _text(about.get(KEY_AUDIT_HASH, "")).lower()
        if not _HEX64.fullmatch(source.written_digest):
            raise _Refused(FORMAT, "Không đúng mẫu tệp gửi MBF KV5: 'SHA-256 ChiTiet' trong "
                                   "sheet ThongTin không phải một mã SHA-256.")
        if source.exported_at is None:
            source.problems.append(source.problem(
                "ThongTin", None, "Không đọc được 'Thời điểm xuất'; khi trùng thuê bao, tệp này "
                "được coi là xuất sớm nhất.", ACTION_NOTE))
        for sheet in OTHER_SHEETS:
            if sheet not in table.sheet_names:
                source.problems.append(source.problem(
                    sheet, None, f"Tệp thiếu sheet {sheet} (không dùng khi tổng hợp).",
                    ACTION_NOTE))

        detail = _sheet(table, "ChiTiet")
        header = detail[0] if detail else []
        if [_text(v) for v in header][:len(CONSOLIDATED_CHITIET_HEADERS)] == list(
                CONSOLIDATED_CHITIET_HEADERS):
            raise _Refused(FORMAT, "Đây là tệp đã tổng hợp (có cột Tỉnh nguồn, Tệp nguồn), "
                                   "không phải tệp của một tỉnh; gộp các tệp gốc của các tỉnh.")
        problem = _check_header(header, CHITIET_HEADERS, "ChiTiet")
        if problem:
            raise _Refused(FORMAT, f"Không đúng mẫu tệp gửi MBF KV5: {problem}.")
        data = detail[1:]
        source.rows = len(data)
        source.read_digest = chitiet_digest(
            source.programme, source.province, (cells[:_WIDTH] for cells in data))
        outside = 0
        for number, cells in enumerate(data, start=2):
            key = _msisdn_key(cells)
            if key:
                source.numbers.setdefault(key, []).append(number)
            if not outside and any(not _blank(v) for v in cells[_WIDTH:]):
                outside = number
        if outside:
            source.problems.append(source.problem(
                "ChiTiet", outside, f"Có dữ liệu ngoài {_WIDTH} cột của mẫu (từ dòng {outside}); "
                "phần này không được SHA-256 bảo vệ và không được gộp.", ACTION_NOTE))

        stated = _whole(about.get(KEY_ROWS))
        if stated is not None and stated != source.rows:
            source.problems.append(source.problem(
                "ThongTin", None, f"ThongTin ghi {format_number(stated)} dòng ChiTiet nhưng "
                f"sheet ChiTiet có {format_number(source.rows)} dòng.",
                ACTION_NOTE if not source.edited else ACTION_REFUSED))
        own = _own_summary(source, table)
        if source.edited:
            source.suspicious = _suspicious_rows(source, data, _rules(about))
        source.problems += _compare_summary(source, data, own)
        return source
    finally:
        table.close()


def _msisdn_key(cells: Sequence[object]) -> str:
    value = cells[_MSISDN] if len(cells) > _MSISDN else ""
    whole = _whole(value) if not isinstance(value, str) else None
    return str(whole) if whole is not None else _text(value)


# --------------------------------------------------------------------------- checks


def _own_summary(source: _Source, table: TableFile
                 ) -> dict[tuple[int | None, int | None, str], tuple[int, tuple[int, ...]]] | None:
    """The file's own TongHop detail rows: (batch, group, district) -> (row, measures)."""
    rows = _sheet(table, "TongHop")
    problem = _check_header(rows[0] if rows else [], TONGHOP_HEADERS, "TongHop")
    if problem:
        source.problems.append(source.problem(
            "TongHop", 1, f"Không so được TongHop với ChiTiet: {problem}.", ACTION_MERGED))
        return None
    own: dict[tuple[int | None, int | None, str], tuple[int, tuple[int, ...]]] = {}
    for number, cells in enumerate(rows[1:], start=2):
        cells = cells + [""] * (len(TONGHOP_HEADERS) - len(cells))
        label = _text(cells[2])
        measures = tuple(_whole(v) or 0 for v in cells[3:8])
        if _blank(cells[0]) and label == "Tổng cộng":
            own[(None, None, "*")] = (number, measures)
        elif label.startswith("Cộng đợt") and _blank(cells[1]):
            own[(_whole(cells[0]), None, "*")] = (number, measures)
        else:
            own[(_whole(cells[0]), _whole(cells[1]), label)] = (number, measures)
    return own


_MEASURES = ("Số KH trong danh sách", "Đã gửi SMS", "Đã trao quà", "Đã khảo sát",
             "Đã chuẩn hóa/thu thập")


def _compare_summary(
    source: _Source, data: list[list[Any]],
    own: dict[tuple[int | None, int | None, str], tuple[int, tuple[int, ...]]] | None,
) -> list[ProblemLine]:
    """The file's TongHop against counts recomputed from its ChiTiet (TongHop is not covered
    by the digest, so it is checked separately)."""
    if own is None:
        return []
    counted: dict[tuple[int | None, int | None, str], Tally] = {}
    for raw in data:
        cells = raw[:_WIDTH] + [""] * (_WIDTH - len(raw))
        _province, batch, group, district = tally_key(cells)
        for key in ((batch, group, district), (batch, None, "*"), (None, None, "*")):
            counted.setdefault(key, Tally()).count(cells)
    action = ACTION_REFUSED_ROW if source.edited else ACTION_MERGED
    problems = []

    def where(key: tuple[int | None, int | None, str]) -> str:
        batch, group, district = key
        if key == (None, None, "*"):
            return "Tổng cộng"
        if district == "*":
            return f"Cộng đợt {batch}"
        group_text = f"Nhóm {group}" if group is not None else "chờ quyết định nhóm"
        return f"Đợt {batch}, {group_text}, {district or '(không ghi quận/huyện)'}"

    for key in sorted(set(counted) | set(own), key=lambda k: (
            k[0] is None, k[0] or 0, k[2] == "*", k[1] if k[1] is not None else 99,
            vietnamese_sort_key(k[2]))):
        tally = counted.get(key)
        mine = tally.measures() if tally else (0, 0, 0, 0, 0)
        if key not in own:
            problems.append(source.problem(
                "TongHop", None, f"TongHop thiếu dòng {where(key)}: ChiTiet có "
                f"{format_number(mine[0])} KH.", action))
            continue
        row, theirs = own[key]
        wrong = [f"{label} ghi {format_number(t)}, ChiTiet có {format_number(m)}"
                 for label, t, m in zip(_MEASURES, theirs, mine, strict=True) if t != m]
        if wrong:
            problems.append(source.problem(
                "TongHop", row, f"TongHop dòng {row} ({where(key)}) không khớp ChiTiet: "
                f"{'; '.join(wrong)}." + ("" if source.edited else
                                          " TongHop không được SHA-256 bảo vệ nên đã bị sửa "
                                          "hoặc tính sai."), action))
    return problems


def _suspicious_rows(source: _Source, data: list[list[Any]], rules: _Rules
                     ) -> list[ProblemLine]:
    """Rows of an edited file that differ from anything the export writes."""
    problems = []
    first_row: dict[str, int] = {}
    for number, cells in enumerate(data, start=2):
        key = _msisdn_key(cells)
        found = _row_findings(cells, rules)
        if key and key in first_row:
            found.append(f"trùng số thuê bao {key} với dòng {first_row[key]} (mỗi thuê bao chỉ "
                         "có một dòng)")
        elif key:
            first_row[key] = number
        if found:
            problems.append(source.problem(
                "ChiTiet", number, f"Dòng {number} đáng ngờ (có thể đã bị sửa sau khi xuất): "
                f"{'; '.join(found)}.", ACTION_REFUSED_ROW, key))
    return problems


def _row_findings(raw: Sequence[object], rules: _Rules) -> list[str]:
    """What in a ChiTiet row the export would never have written."""
    if all(_blank(v) for v in raw):
        return ["dòng trống giữa dữ liệu (tệp xuất không có dòng trống)"]
    cells = list(raw[:_WIDTH]) + [""] * (_WIDTH - len(raw))
    found: list[str] = []
    extra = [v for v in raw[_WIDTH:] if not _blank(v)]
    if extra:
        found.append(f"có dữ liệu ngoài {_WIDTH} cột của mẫu ({_shown(extra[0])})")

    msisdn = cells[_MSISDN]
    if not isinstance(msisdn, str):
        found.append(f"Số thuê bao {_shown(msisdn)} là số hoặc trống, không phải chữ "
                     "(mất số 0 đầu?)")
    elif not _NUMBER.fullmatch(msisdn):
        found.append(f"Số thuê bao {_shown(msisdn)} không đúng dạng 10 chữ số 0xxxxxxxxx")

    batch = _whole(cells[_BATCH]) if not isinstance(cells[_BATCH], str) else None
    if batch is None or (rules.months and batch not in rules.months):
        found.append(f"Đợt {_shown(cells[_BATCH])} không có trong ThongTin")
    elif rules.months and _text(cells[_MONTH]) != rules.months[batch]:
        found.append(f"Tháng chăm sóc {_shown(cells[_MONTH])} khác tháng của đợt {batch} "
                     f"({rules.months[batch]})")

    amounts: list[int] = []
    for col in (*_CHARGES, _BASIS):
        value = cells[col]
        whole = _whole(value) if isinstance(value, int | float) else None
        if whole is None or whole < 0:
            found.append(f"{CHITIET_HEADERS[col]} {_shown(value)} không phải số tiền")
        else:
            amounts.append(whole)
    basis: int | None = None
    if len(amounts) == 4:
        *charges, basis = amounts
        if rules.aggregation == "every_cycle" and basis != min(charges):
            found.append(f"Mức cước căn cứ {format_money(basis)} khác mức thấp nhất của ba chu "
                         f"kỳ ({format_money(min(charges))}, cách tính every_cycle)")
        elif rules.aggregation == "average" and basis != sum(charges) // 3:
            found.append(f"Mức cước căn cứ {format_money(basis)} khác bình quân ba chu kỳ "
                         f"({format_money(sum(charges) // 3)}, cách tính average)")

    found += _group_findings(cells, rules, basis)

    for col, allowed in ((_TYPE, _TYPES), (_STANDARDISED, _STANDARDISATION),
                         (_SURVEYED, _YES_NO), (_RESULT, _RESULTS)):
        if _text(cells[col]) not in allowed:
            found.append(f"{CHITIET_HEADERS[col]} {_shown(cells[col])} không phải giá trị của "
                         "mẫu")
    for col in (_SMS, _HANDED_ON):
        if not _blank(cells[col]) and not isinstance(cells[col], dt.date):
            found.append(f"{CHITIET_HEADERS[col]} {_shown(cells[col])} không phải ngày")
    score = cells[_SCORE]
    if not _blank(score) and (isinstance(score, str) or _whole(score) not in range(1, 6)):
        found.append(f"Điểm hài lòng {_shown(score)} không phải số từ 1 đến 5")
    years = cells[_YEARS]
    if not _blank(years) and (isinstance(years, str) or _whole(years) not in range(0, 100)):
        found.append(f"Năm sử dụng {_shown(years)} không phải số năm")
    if not _blank(cells[_ITEM]) and _blank(cells[_HANDED_ON]):
        found.append("có Quà đã trao nhưng không có Ngày trao quà")

    result = _text(cells[_RESULT])
    if result == RESULT_DONE:
        missing = [label for label, ok in (
            ("Ngày gửi SMS", not _blank(cells[_SMS])),
            ("Ngày trao quà", not _blank(cells[_HANDED_ON])),
            ("khảo sát", cells[_SURVEYED] == "Có")) if not ok]
        if missing:
            found.append(f"Kết quả 'Hoàn thành' nhưng thiếu {', '.join(missing)}")
    elif result == RESULT_NOT_STARTED and (
            not _blank(cells[_SMS]) or not _blank(cells[_HANDED_ON]) or cells[_SURVEYED] == "Có"):
        found.append("Kết quả 'Chưa thực hiện' nhưng đã có việc được ghi (SMS, trao quà hoặc "
                     "khảo sát)")

    for col, value in enumerate(cells):
        if isinstance(value, str) and value[:1] in _FORMULA_START:
            found.append(f"ô {CHITIET_HEADERS[col]} bắt đầu bằng '{value[0]}' mà không có dấu "
                         "' phía trước (tệp xuất luôn thêm dấu này)")
    return found



def _group_findings(cells: Sequence[object], rules: _Rules, basis: int | None) -> list[str]:
    found = []
    groups = {g.number: g for g in rules.groups}
    group_cell = cells[_GROUP]
    result = _text(cells[_RESULT])
    if _blank(group_cell):
        if result != RESULT_AWAITING_GROUP:
            found.append(f"không có Nhóm nhưng Kết quả là {_shown(cells[_RESULT])}, không phải "
                         f"'{RESULT_AWAITING_GROUP}'")
        elif basis is not None and groups:
            fits = group_of(rules.groups, basis)
            if fits is not None:
                found.append(f"đang chờ quyết định nhóm nhưng mức cước căn cứ "
                             f"{format_money(basis)} thuộc Nhóm {fits}")
        return found
    number = _whole(group_cell) if not isinstance(group_cell, str) else None
    if number is None or (groups and number not in groups):
        found.append(f"Nhóm {_shown(group_cell)} không có trong quy tắc nhóm của ThongTin")
        return found
    rule = groups.get(number)
    if rule is None:
        return found
    if result == RESULT_AWAITING_GROUP:
        found.append(f"có Nhóm {number} nhưng Kết quả là '{RESULT_AWAITING_GROUP}'")
    if basis is not None:
        fits = group_of(rules.groups, basis)
        if fits is not None and fits != number:
            found.append(f"mức cước căn cứ {format_money(basis)} thuộc Nhóm {fits}, không phải "
                         f"Nhóm {number}")
        elif fits is None and below_all(rules.groups, basis):
            found.append(f"mức cước căn cứ {format_money(basis)} thấp hơn mức của mọi nhóm")
    delivery = DELIVERY_WORDS.get(rule.delivery, "")
    if delivery and _text(cells[_DELIVERY]) != delivery:
        found.append(f"Hình thức {_shown(cells[_DELIVERY])} khác hình thức của Nhóm {number} "
                     f"('{delivery}')")
    if rule.gift_type and _text(cells[_GIFT]) != f"Quà loại {rule.gift_type}":
        found.append(f"Loại quà {_shown(cells[_GIFT])} khác loại quà của Nhóm {number} "
                     f"('Quà loại {rule.gift_type}')")
    return found


# --------------------------------------------------------------------------- merging


def _when(value: dt.datetime | None) -> str:
    return value.strftime("%d/%m/%Y %H:%M:%S") if value else "không rõ thời điểm xuất"


def _choose_programme(sources: Sequence[_Source]) -> tuple[str, int | None]:
    """The programme most usable files belong to; a tie goes to the first file's."""
    votes = Counter((s.programme, s.year) for s in sources)
    best = max(votes.values())
    return next((s.programme, s.year) for s in sources if votes[(s.programme, s.year)] == best)


def _refuse(source: _Source, code: str, reason: str) -> None:
    source.refused = RefusedFile(str(source.path), reason, code, source.province)


def _resolve_duplicates(used: Sequence[_Source]) -> tuple[list[Duplicate], list[ProblemLine]]:
    """One copy per number: the later export wins, then the file named first, then the first
    row. Marks the rows left out in each source's `dropped`."""
    copies: dict[str, list[tuple[_Source, int]]] = {}
    for source in used:
        for number, rows in source.numbers.items():
            copies.setdefault(number, []).extend((source, row) for row in rows)
    duplicates: list[Duplicate] = []
    problems: list[tuple[int, int, ProblemLine]] = []
    pairs: Counter[tuple[int, int]] = Counter()
    oldest = dt.datetime.min
    for number, found in copies.items():
        if len(found) < 2:
            continue
        kept_source, kept_row = max(found, key=lambda c: (c[0].exported_at or oldest,
                                                          -c[0].index, -c[1]))
        kept = SourceRef(str(kept_source.path), kept_source.province, kept_row,
                         kept_source.exported_at)
        others = []
        for source, row in found:
            if source is kept_source and row == kept_row:
                continue
            source.dropped.add(row)
            others.append(SourceRef(str(source.path), source.province, row, source.exported_at))
            pairs[(source.index, kept_source.index)] += 1
            if source is kept_source:
                why = f"trùng với dòng {kept_row} của cùng tệp; giữ dòng {kept_row}"
            else:
                why = (f"cũng có trong tệp {kept_source.name} ({kept_source.province}, dòng "
                       f"{kept_row}, xuất {_when(kept_source.exported_at)}); giữ bản của tệp "
                       "xuất sau" if kept_source.exported_at != source.exported_at else
                       f"cũng có trong tệp {kept_source.name} ({kept_source.province}, dòng "
                       f"{kept_row}), cùng thời điểm xuất; giữ bản của tệp được nêu trước")
            problems.append((source.index, row, source.problem(
                "ChiTiet", row, f"Thuê bao {number} xuất hiện hơn một lần: dòng {row} của tệp "
                f"{source.name} ({source.province}, xuất {_when(source.exported_at)}) {why}.",
                "Bỏ dòng này; chỉ tính một lần trong ChiTiet và TongHop.", number)))
        duplicates.append(Duplicate(number, kept, tuple(others)))
    by_index = {s.index: s for s in used}
    summary = [
        by_index[a].problem("ChiTiet", None, (
            f"Tệp {by_index[a].name} có {format_number(n)} dòng trùng thuê bao với tệp "
            f"{by_index[b].name} ({by_index[b].province}); giữ bản của tệp "
            f"{by_index[b].name}.") if a != b else (
            f"Tệp {by_index[a].name} có {format_number(n)} dòng trùng số thuê bao với dòng khác "
            "của chính tệp này."), "Chỉ giữ một bản mỗi thuê bao.")
        for (a, b), n in sorted(pairs.items())]
    problems.sort(key=lambda p: (p[0], p[1]))
    return duplicates, summary + [line for _index, _row, line in problems]


def _check_out(out: Path, paths: Sequence[Path]) -> None:
    if out.suffix.lower() != ".xlsx":
        raise UsageError(f"Tệp kết quả '{out.name}' phải có đuôi .xlsx.")
    if not out.parent.is_dir():
        raise UsageError(f"Thư mục '{out.parent}' không tồn tại: tạo thư mục hoặc chọn nơi khác.")
    target = out.resolve()
    for path in paths:
        if Path(path).resolve() == target:
            raise UsageError(f"Tệp kết quả '{out.name}' trùng với một tệp cần gộp; chọn tên "
                             "khác cho tệp kết quả.")


def _merged_rows(source: _Source, progress: Progress) -> Iterator[list[Any]]:
    """The second pass: the rows of a used file that are kept, as read back."""
    table = _open(source.path)
    try:
        if table.sha256 != source.file_sha256:
            raise ImportFileError(f"Tệp {source.name} đã thay đổi trong lúc tổng hợp; chạy lại "
                                  "lệnh tổng hợp.")
        for number, cells in enumerate(_sheet(table, "ChiTiet")[1:], start=2):
            if number % 5000 == 0 and progress.cancelled():
                raise Cancelled("Đã hủy tổng hợp; không có tệp nào được ghi.")
            if number not in source.dropped:
                yield cells[:_WIDTH]
    except _Refused as exc:  # pragma: no cover - it was readable a moment ago
        raise ImportFileError(f"Tệp {source.name}: {exc.reason}") from exc
    finally:
        table.close()


def consolidate(
    paths: Sequence[Path], out: Path, *, progress: Progress | None = None, user: str = "",
    actor: Actor | None = None, factory: sessionmaker[Session] | None = None,
) -> ConsolidationResult:
    """Merge provinces' regional workbooks of one programme into one workbook.

    Files that cannot be used (unreadable, not the format, the same file twice, another
    programme, edited after export) are left out and named with the reason; the others are
    merged. The programme is the one most files belong to (a tie: the first file's).

    Args:
        paths: the provinces' `.xlsx` workbooks (`mbfcare export regional`).
        out: the merged `.xlsx` to write (replaced if it exists).
        progress: progress and cancel token.
        user: who merged, printed in ThongTin (default: the actor's name).
        actor: who merges; the merged file holds personal data, so the role must allow
            `export_personal`. Given with `factory`, the export is recorded in that
            database's audit log.
        factory: the regional office's database, for the audit entry.

    Returns:
        What was merged, refused and duplicated, the problems listed in VanDe, and the file.

    Raises:
        UsageError: no file given, `out` is not an `.xlsx` in an existing folder, or is one of
            the inputs.
        ImportFileError: no file can be used (each reason named); nothing written.
        PermissionProblem: the actor may not write personal data.
        Cancelled: the user cancelled; nothing written.
        StorageError: the output could not be written.
    """
    if actor is not None:
        actor.require("export_personal")
        user = user or actor.name
    progress = progress or NullProgress()
    paths = [Path(p) for p in paths]
    out = Path(out)
    if not paths:
        raise UsageError("Cần ít nhất một tệp của tỉnh để tổng hợp.")
    _check_out(out, paths)
    steps = 2 * len(paths)

    sources: list[_Source] = []
    for index, path in enumerate(paths):
        if progress.cancelled():
            raise Cancelled("Đã hủy tổng hợp; không có tệp nào được ghi.")
        progress.report(index, steps, f"Đang kiểm tra {path.name}")
        try:
            source = _inspect(index, path)
        except _Refused as exc:
            source = _Source(index, path, path.name, "")
            _refuse(source, exc.code, exc.reason)
            source.problems.append(source.problem("", None, exc.reason, ACTION_REFUSED))
        sources.append(source)

    seen: dict[str, _Source] = {}
    for source in sources:
        if source.refused is not None:
            continue
        first = seen.setdefault(source.file_sha256, source)
        if first is not source:
            reason = (f"Cùng nội dung với tệp {first.name} (tệp được nêu hai lần); chỉ gộp "
                      "một lần.")
            _refuse(source, SAME_FILE, reason)
            source.problems = [source.problem("", None, reason, "Không gộp lần thứ hai.")]
    candidates = [s for s in sources if s.refused is None]
    programme, year = _choose_programme(candidates) if candidates else ("", None)
    for source in candidates:
        if (source.programme, source.year) != (programme, year):
            reason = (f"Thuộc chương trình khác: '{source.programme}' năm "
                      f"{source.year if source.year is not None else '?'} (các tệp được gộp là "
                      f"'{programme}' năm {year}); không gộp lẫn chương trình.")
            _refuse(source, PROGRAMME, reason)
            source.problems = [source.problem("ThongTin", None, reason, ACTION_REFUSED)]
            source.suspicious = []
        elif source.edited:
            count = len(source.suspicious)
            reason = ("Tệp đã bị sửa sau khi xuất: SHA-256 ChiTiet ghi trong ThongTin không khớp "
                      "với dữ liệu sheet ChiTiet" + (
                          f" ({format_number(count)} dòng đáng ngờ, xem sheet VanDe)."
                          if count else "."))
            _refuse(source, EDITED, reason)
            if count:
                rows = ", ".join(str(p.row) for p in source.suspicious[:20]) + (
                    ", …" if count > 20 else "")
                found = (f"Các dòng đáng ngờ tìm được (không khớp những gì tệp xuất luôn ghi): "
                         f"{rows}. Ô khác có thể cũng đã bị sửa mà không kiểm chứng được.")
            else:
                found = ("Không tìm ra dòng nào sai rõ ràng: ô bị sửa là ô không kiểm chứng được "
                         "(như họ tên, quận/huyện, ghi chú) hoặc dòng đã bị xóa/đổi chỗ.")
            source.problems.insert(0, source.problem(
                "ThongTin", None, "SHA-256 ChiTiet không khớp: ghi trong tệp "
                f"{source.written_digest}, tính lại từ ChiTiet {source.read_digest}. Điều này "
                f"chứng tỏ tệp đã bị sửa sau khi xuất nhưng không chỉ ra ô nào. {found}",
                ACTION_REFUSED))
    used = [s for s in sources if s.refused is None]
    refused = [s.refused for s in sources if s.refused is not None]
    if not used:
        raise ImportFileError("Không gộp được tệp nào: " + "; ".join(
            f"{Path(r.file).name} – {r.reason.rstrip('.')}" for r in refused) + ".")

    rules = {s.rules for s in used if s.rules}
    problems: list[ProblemLine] = []
    for source in sources:
        problems += source.problems + source.suspicious
        if source.refused is None and len(rules) > 1 and source.rules != used[0].rules:
            problems.append(source.problem(
                "ThongTin", None, f"Quy tắc nhóm hoặc cách tính mức cước căn cứ của tệp khác "
                f"tệp {used[0].name}; kiểm tra lại cấu hình chương trình của tỉnh.", ACTION_NOTE))
    duplicates, duplicate_problems = _resolve_duplicates(used)
    problems += duplicate_problems

    order = sorted(used, key=lambda s: (vietnamese_sort_key(s.province),
                                        s.exported_at or dt.datetime.min, s.index))
    lines = tuple(SourceLine(s.name, s.province, s.exported_at, s.written_digest, s.rows,
                             s.rows - len(s.dropped), s.audit_line, s.audit_hash)
                  for s in order)
    consolidated_at = dt.datetime.now().replace(microsecond=0)
    info = ConsolidationInfo(
        programme=programme, year=year, sources=lines,
        refused=tuple((Path(r.file).name, r.reason) for r in refused),
        duplicates=len(duplicates), consolidated_at=consolidated_at, version=__version__,
        user=user)
    with atomic_output(out, ".xlsx") as tmp, \
            ConsolidatedWriter(tmp, programme, province_line(lines)) as writer:
        for step, source in enumerate(order, start=len(paths)):
            if progress.cancelled():
                raise Cancelled("Đã hủy tổng hợp; không có tệp nào được ghi.")
            progress.report(step, steps, f"Đang gộp {source.name}")
            for cells in _merged_rows(source, progress):
                writer.add(cells, source.province, source.name)
        written = writer.finish(problems, info)
    progress.report(steps, steps, "")
    if actor is not None and factory is not None:
        from mbfcare.services.data_protection import audit_export

        audit_export(factory, actor, kind="consolidated", file=out,
                     count=written.rows["ChiTiet"], programme_id=None,
                     details={"files": len(used), "refused": len(refused)})
    logger.info("consolidated %d files (%d refused, %d duplicates): %d rows, %s", len(used),
                len(refused), len(duplicates), written.rows["ChiTiet"], out.name)
    return ConsolidationResult(
        file=str(out), programme=programme, year=year,
        merged=[MergedFile(str(s.path), s.province, s.rows, s.rows - len(s.dropped),
                           s.exported_at, s.written_digest) for s in order],
        refused=refused, duplicates=duplicates, problems=problems,
        rows=written.rows["ChiTiet"], sheets=written.rows, sha256=written.sha256,
        consolidated_at=consolidated_at)

