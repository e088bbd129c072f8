"""Bulk recording: the list a district sends back, with the work done, recorded in one go.

A returned list is the care list (or any list of numbers) with columns filled in by the
district: "Ngày gửi SMS", "Ngày trao quà", "Món quà", "Kết quả"… Each filled cell is one
action, recorded with the same rules as the desk and the command line (`care_work`'s
session-level functions), all rows in one transaction. A blank cell means "no change", never
"erase". Every data row ends recorded (something new), unchanged (nothing new), or rejected
with its reason in the rejects workbook; a rejected row leaves nothing behind (a savepoint
per row). The file is read with the import machinery (`io.tabular`, `io.layout`).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import tomllib
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mbfcare import paths
from mbfcare.domain.actors import Actor, PermissionProblem
from mbfcare.domain.headers import header_key, match_field
from mbfcare.domain.steps import OUTCOME_LABELS, STEP_LABELS, StepProblem
from mbfcare.domain.values import (
    ValueProblem,
    format_date,
    format_msisdn,
    format_number,
    parse_date,
    parse_msisdn,
)
from mbfcare.domain.vntext import fold, repair_legacy
from mbfcare.errors import Cancelled, ImportFileError, MbfCareError, NotFoundError
from mbfcare.io.layout import HEADER_SCAN_ROWS, ColumnMap
from mbfcare.io.rejects import RejectedRow, write_rejects
from mbfcare.io.tabular import TableFile, open_table
from mbfcare.models import CareCase, CareStep, GiftItem, GiftType, Handover
from mbfcare.services import care_work, stock
from mbfcare.services.backups import backup_before_import

# The import's own data-row filter (title, header, column-number, totals, signature rows),
# so a returned list is cut exactly as an extract is.
from mbfcare.services.importing import Located, data_row_indexes
from mbfcare.services.programmes import resolve_programme_id
from mbfcare.services.progress import NullProgress, Progress
from mbfcare.uow import UnitOfWork

logger = logging.getLogger(__name__)

STEP_ACTIONS = ("sms", "data_check", "handover", "package_advice", "questions", "survey")
ACTIONS = (*STEP_ACTIONS, "outcome")
"""What a row may record, in the order it is recorded (the order of the care steps)."""

ACTION_LABELS = {**STEP_LABELS, "outcome": "Kết quả"}

# Columns that hold something to record (a file needs one of them); the others qualify them.
_ACTION_COLUMNS = frozenset({*STEP_ACTIONS, "package_value", "outcome"})
_DATE_COLUMNS = frozenset(STEP_ACTIONS)
_TEXT_COLUMNS = ("item", "by", "location", "package_value", "outcome", "note")

REJECTED_SAMPLE = 20
_PROGRESS_EVERY = 25

REASONS = {
    "missing_msisdn": "Thiếu số thuê bao",
    "bad_msisdn": "Số thuê bao không hợp lệ",
    "bad_date": "Ngày không đọc được",
    "missing_date": "Thiếu ngày của bước",
    "bad_item": "Món quà không rõ",
    "bad_outcome": "Kết quả không rõ",
    "note_needed": "Kết quả 'Khác' cần ghi chú",
    "duplicate_conflict": "Trùng số thuê bao nhưng khác nội dung",
    "not_found": "Không có trong danh sách chăm sóc",
    "out_of_scope": "Không thuộc quận/huyện hoặc cửa hàng của người ghi",
    "not_servable": "Chưa phục vụ được (chờ quyết định nhóm hoặc danh sách chờ)",
    "closed": "Đã đóng với kết quả",
    "already_handed_over": "Đã trao quà (hoặc ghi nợ) trước đó",
    "handed_over": "Đã nhận quà, không đóng với kết quả",
    "missing_item": "Thiếu món quà (loại quà có nhiều món)",
    "already_recorded": "Bước đã ghi với ngày khác",
    "out_of_stock": "Hết quà ở nơi trao",
    "bad_location": "Không có nơi để quà",
    "step_order": "Sai thứ tự hoặc ngày của các bước",
    "refused": "Không ghi được",
}

# "Kết quả" columns often say the gift was given; that is no outcome to record.
_DONE_WORDS = frozenset({
    "da trao", "da tang", "da trao qua", "da tang qua", "da nhan", "da nhan qua", "hoan thanh",
    "thanh cong", "xong", "ok", "dat", "da giao", "da giao qua", "done", "given",
})
_OUTCOME_WORDS = {
    "unreachable": ("khong lien lac duoc", "khong lien lac dc", "khong lien he duoc",
                    "khong lien lac", "khong lien he", "khong lien lac duoc voi kh",
                    "khong nghe may", "thue bao khong lien lac duoc", "kll", "kldd",
                    "unreachable"),
    "refused": ("tu choi", "kh tu choi", "khach hang tu choi", "tu choi nhan qua",
                "khong nhan", "khong nhan qua", "refused"),
    "moved": ("chuyen di", "da chuyen di", "chuyen di noi khac", "chuyen noi khac",
              "chuyen dia ban", "moved"),
    "other": ("khac", "ly do khac", "other"),
}
_OUTCOME_BY_WORD = {word: key for key, words in _OUTCOME_WORDS.items() for word in words}
# A home visit is handed over at the customer's home: the gift leaves the warehouse.
_AT_HOME = re.compile(r"^(tai |o )?(nha|tan nha|nha kh|nha khach hang|tai nha kh|nha rieng)\b")
_PARENTHESES = re.compile(r"\([^)]*\)")


# --------------------------------------------------------------------------- results


@dataclass
class BulkResult:
    """What came of recording a returned list; `to_json()` is the command line's output."""

    file: str
    sheet: str | None
    header_row: int
    dry_run: bool = False
    programme_id: int | None = None
    rows_read: int = 0
    recorded: int = 0
    unchanged: int = 0
    rejected: int = 0
    per_action: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ACTIONS, 0))
    reasons: dict[str, int] = field(default_factory=dict)
    rejects_file: str | None = None
    columns: dict[str, str] = field(default_factory=dict)
    ignored_columns: list[str] = field(default_factory=list)
    # The first rejected rows (sheet row, number as written, reason), for the screen.
    rejected_sample: list[tuple[int, str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The fields as JSON-ready values."""
        return {
            "rows_read": self.rows_read, "recorded": self.recorded,
            "unchanged": self.unchanged, "rejected": self.rejected,
            "per_action": dict(self.per_action), "reasons": dict(self.reasons),
            "rejects_file": self.rejects_file, "dry_run": self.dry_run, "file": self.file,
            "sheet": self.sheet, "header_row": self.header_row, "columns": dict(self.columns),
            "ignored_columns": list(self.ignored_columns), "programme_id": self.programme_id,
        }


# --------------------------------------------------------------------------- the header


@cache
def _synonyms() -> tuple[dict[str, str], dict[str, str]]:
    """(folded header -> column kind, compact header -> column kind) from headers.toml."""
    with paths.reference_file("headers.toml").open("rb") as handle:
        data = tomllib.load(handle)
    exact: dict[str, str] = {}
    compact: dict[str, str] = {}
    for kind, row in data["recording"].items():
        for synonym in row["synonyms"]:
            key = header_key(synonym)
            exact.setdefault(key, kind)
            compact.setdefault(_compact(key), kind)
    return exact, compact


@cache
def column_labels() -> dict[str, str]:
    """Column kind -> its usual Vietnamese header (for messages)."""
    with paths.reference_file("headers.toml").open("rb") as handle:
        data = tomllib.load(handle)
    return {kind: row["label"] for kind, row in data["recording"].items()}


def _compact(key: str) -> str:
    return re.sub(r"[^0-9a-z]+", "", key)


# Keyword rules on the folded header, tried when no synonym matched ("Ngày trao quà thực tế",
# "Ngày gửi SMS (dd/mm/yyyy)"…).
_RULES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern)) for kind, pattern in (
        ("handover", r"\bngay\b.*\b(trao|tang|nhan qua|giao qua)\b"),
        ("sms", r"\bngay\b.*\b(sms|nhan tin|tin nhan|gui tin)\b"),
        ("data_check", r"\bngay\b.*\bkiem tra\b"),
        ("package_advice", r"\bngay\b.*\btu van\b"),
        ("questions", r"\bngay\b.*\bgiai dap\b"),
        ("survey", r"\bngay\b.*\bkhao sat\b"),
        ("package_value", r"\bgoi (cuoc )?(dang ky|tu van|kh chon|da chon)\b"),
        ("item", r"\b(mon qua|qua da (trao|tang)|loai qua da|ten qua|ma qua)\b"),
        ("by", r"\bnguoi (trao|tang|thuc hien|di tang)\b|\bcan bo thuc hien\b"),
        ("location", r"\b(noi|cua hang|dia diem|kho) (trao|tang|lay qua|xuat)\b"),
        ("outcome", r"^ket qua\b|\bly do khong (trao|tang|nhan)\b"),
        ("note", r"^ghi chu\b"),
    )
)


def match_column(text: object) -> str | None:
    """The kind of a returned list's header cell: an action, a qualifier, `msisdn` or None."""
    if not isinstance(text, str) or not text.strip():
        return None
    key = header_key(text)
    exact, compact = _synonyms()
    for candidate in (key, " ".join(_PARENTHESES.sub(" ", key).split())):
        if candidate in exact:
            return exact[candidate]
        if _compact(candidate) in compact:
            return compact[_compact(candidate)]
    for kind, pattern in _RULES:
        if pattern.search(key):
            return kind
    return "msisdn" if match_field(text) == "msisdn" else None


def _read_header(cells: Sequence[Any]) -> dict[str, int]:
    """Column kind -> its leftmost column in a header row."""
    found: dict[str, int] = {}
    for index, cell in enumerate(cells):
        kind = match_column(cell)
        if kind is not None:
            found.setdefault(kind, index)
    return found


def _usable(found: dict[str, int]) -> bool:
    return "msisdn" in found and bool(_ACTION_COLUMNS & found.keys())


def _header_candidates(rows: list[tuple[int, list[Any]]]
                       ) -> list[tuple[int, list[Any], dict[str, int]]]:
    """Each row read as a header; a two-level header (a merged "Số TB" over two rows, the
    actions in the second) is read with the row above filling the blank cells."""
    out = []
    previous: list[Any] | None = None
    for number, cells in rows:
        found = _read_header(cells)
        if not _usable(found) and previous is not None:
            merged = [c if isinstance(c, str) and c.strip() else
                      (previous[i] if i < len(previous) else c) for i, c in enumerate(cells)]
            both = _read_header(merged)
            if _usable(both) and len(both) > len(found):
                cells, found = merged, both
        out.append((number, cells, found))
        previous = cells
    return out


def _column_map(number: int, cells: Sequence[Any], found: dict[str, int]) -> ColumnMap:
    headers = ["" if c is None else " ".join(str(c).split()) for c in cells]
    used = set(found.values())
    ignored = [h for i, h in enumerate(headers) if h and i not in used]
    return ColumnMap(number, headers, dict(found), {}, ignored)


def _locate(table: TableFile, sheet: str | None, header_row: int | None) -> Located:
    """The sheet and header of the returned list (the named ones, else the best found).

    Raises:
        ImportFileError: no number column, or no column of work done.
    """
    names: list[str | None] = [sheet] if sheet is not None else \
        list(table.sheet_names) if table.kind != "csv" else [None]
    best: tuple[int, Located] | None = None
    numbers_in: str | None = None  # a sheet with a number column but nothing recorded
    for name in names:
        frame, hidden, legacy = table.frame(name)
        if header_row is not None:
            index = header_row - frame.first_row
            if not 0 <= index < frame.frame.height:
                continue
            rows = [(frame.first_row + i, list(frame.frame.row(i)))
                    for i in range(max(index - 1, 0), index + 1)]
            candidates = [c for c in _header_candidates(rows) if c[0] == header_row]
        else:
            head = [(frame.first_row + i, list(row))
                    for i, row in enumerate(frame.frame.head(HEADER_SCAN_ROWS).rows())]
            candidates = _header_candidates(head)
        for number, cells, found in candidates:
            if not _usable(found):
                if "msisdn" in found and numbers_in is None:
                    numbers_in = _where(table, name)
                continue
            if best is None or len(found) > best[0]:
                best = (len(found), Located(name, frame, _column_map(number, cells, found),
                                             hidden, legacy))
    if best is not None:
        return best[1]
    if numbers_in is not None:
        raise ImportFileError(
            f"{numbers_in[0].upper()}{numbers_in[1:]} có cột số thuê bao nhưng không có cột "
            "kết quả nào (ví dụ 'Ngày gửi SMS', 'Ngày trao quà', 'Kết quả'). Thêm cột đó, điền "
            "ngày đã làm rồi ghi lại.")
    at_row = f" ở dòng {header_row}" if header_row is not None else ""
    raise ImportFileError(
        f"Không tìm thấy dòng tiêu đề{at_row} có cột số thuê bao (ví dụ 'Số thuê bao', "
        f"'Số TB', 'MSISDN') trong {_where(table, sheet)}. Kiểm tra tệp có đúng là danh "
        "sách quận/huyện gửi lại không.")


def _where(table: TableFile, sheet: str | None) -> str:
    if table.kind == "csv":
        return f"tệp {table.path.name}"
    if sheet is None:
        return f"sheet nào của tệp {table.path.name}"
    return f"sheet '{sheet}' của tệp {table.path.name}"


# --------------------------------------------------------------------------- one row


class _RowRejected(Exception):
    """A row cannot be recorded: (reason code, the sentence for the rejects workbook)."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass
class _Row:
    """A data row read: the number and the work it says was done."""

    row: int
    cells: list[Any]
    written: str  # the number as written
    msisdn: str = ""
    dates: dict[str, dt.date] = field(default_factory=dict)
    item: str | None = None
    by: str = ""
    location: str | None = None
    package_value: str | None = None
    outcome: str | None = None
    note: str = ""

    def facts(self) -> dict[str, object]:
        """What the row says, for comparing two rows of the same subscriber."""
        out: dict[str, object] = dict(self.dates)
        if self.item:
            out["item"] = fold(self.item)
        if self.package_value:
            out["package_value"] = fold(self.package_value)
        if self.outcome:
            out["outcome"] = self.outcome
        return out

    def has_work(self) -> bool:
        """Whether the row asks to record anything."""
        return bool(self.dates or self.package_value or self.outcome)


def _header_of(headers: list[str], col: int) -> str:
    return headers[col] if col < len(headers) and headers[col] else f"cột {col + 1}"


def _parse_row(number: int, cells: list[Any], columns: ColumnMap, legacy: str | None) -> _Row:
    """Read one data row's values (no database here).

    Raises:
        _RowRejected: a value cannot be understood.
    """
    fields, headers = columns.fields, columns.headers

    def cell(kind: str) -> Any:
        col = fields.get(kind)
        if col is None or col >= len(cells):
            return None
        value = cells[col]
        if isinstance(value, str) and not value.strip():
            return None
        return value

    def text(kind: str) -> str | None:
        value = cell(kind)
        if value is None:
            return None
        return repair_legacy(str(value), legacy) or None

    written = "" if cell("msisdn") is None else str(cell("msisdn")).strip()
    row = _Row(number, cells, written)
    try:
        row.msisdn = parse_msisdn(cell("msisdn")).number
    except ValueProblem as exc:
        if exc.code == "missing_msisdn":
            raise _RowRejected("missing_msisdn", "Thiếu số thuê bao.") from exc
        raise _RowRejected("bad_msisdn", f"Số thuê bao không hợp lệ: '{written}'.") from exc
    for step in STEP_ACTIONS:
        value = cell(step)
        if value is None:
            continue
        try:
            day = parse_date(value)
        except ValueProblem as exc:
            header = _header_of(headers, fields[step])
            raise _RowRejected("bad_date", f"Ngày không đọc được ở cột '{header}': "
                               f"'{str(value).strip()}' (viết dd/mm/yyyy).") from exc
        if day is not None:
            row.dates[step] = day
    row.item, row.by = text("item"), text("by") or ""
    row.package_value = text("package_value")
    row.note = text("note") or ""
    place = text("location")
    row.location = None if place is None or _AT_HOME.match(fold(place)) else place
    said = text("outcome")
    if said is not None:
        key = _words(said)
        if key in _OUTCOME_BY_WORD:
            row.outcome = _OUTCOME_BY_WORD[key]
        elif key not in _DONE_WORDS:
            raise _RowRejected(
                "bad_outcome", f"Kết quả '{said}' không rõ; dùng: "
                + ", ".join(OUTCOME_LABELS.values()) + " (hoặc để trống).")
    if row.outcome == "other" and not row.note:
        raise _RowRejected("note_needed", "Kết quả 'Khác' cần ghi chú (cột 'Ghi chú') nói rõ "
                           "chuyện gì.")
    if row.item and "handover" not in row.dates:
        raise _RowRejected("missing_date", f"Có món quà '{row.item}' nhưng thiếu ngày trao "
                           "quà.")
    return row


def _conflicts(rows: list[_Row]) -> dict[int, str]:
    """Rows of the same subscriber that say different things: sheet row -> the sentence."""
    by_number: dict[str, list[_Row]] = defaultdict(list)
    for row in rows:
        by_number[row.msisdn].append(row)
    out: dict[int, str] = {}
    labels = {kind: label[0].lower() + label[1:] for kind, label in column_labels().items()}
    for group in by_number.values():
        if len(group) < 2:
            continue
        differ: dict[int, set[str]] = defaultdict(set)
        for i, first in enumerate(group):
            for second in group[i + 1:]:
                a, b = first.facts(), second.facts()
                keys = {k for k in a.keys() & b.keys() if a[k] != b[k]}
                differ[first.row] |= keys
                differ[second.row] |= keys
        if not any(differ.values()):
            continue
        for row in group:
            others = ", ".join(str(r.row) for r in group if r is not row)
            what = ", ".join(labels[k] for k in sorted(set().union(*differ.values())))
            out[row.row] = (f"Trùng số thuê bao với dòng {others} nhưng khác {what}; sửa cho "
                            "thống nhất rồi ghi lại.")
    return out


def _words(text: str) -> str:
    return " ".join(re.sub(r"[^0-9a-z]+", " ", fold(text)).split())


def _resolve_item(session: Session, case: CareCase, text: str) -> str:
    """The code of the item a cell names: its code, its name, or the start of its name
    ("Ô 2 khúc" for "Ô 2 khúc cầm tay"), the items of the case's own gift type first.

    Raises:
        _RowRejected: no item, or several, answer to the text.
    """
    wanted = _words(text)
    own = session.scalar(select(GiftType.id).where(
        GiftType.programme_id == case.programme_id, GiftType.number == case.gift_type_number))
    items = sorted(session.scalars(select(GiftItem).where(
        GiftItem.programme_id == case.programme_id).order_by(GiftItem.id)),
        key=lambda i: i.gift_type_id != own)
    for item in items:
        if wanted and wanted in (_words(item.code), _words(item.name)):
            return item.code
    if len(wanted) >= 2:
        starting = [i for i in items if _words(i.name).startswith(wanted)]
        own_starting = [i for i in starting if i.gift_type_id == own]
        for found in (own_starting, starting):
            if len(found) == 1:
                return found[0].code
    raise _RowRejected("bad_item", f"Món quà '{text}' không rõ; dùng mã hoặc tên: "
                       + ", ".join(f"{i.code} ({i.name})" for i in items) + ".")


def _stock_empty(session: Session, case: CareCase, item_code: str | None,
                 location: str | None) -> bool:
    """Whether the place the gift would leave from has none of it (to name the reason)."""
    place = stock.find_location(session, location or care_work.default_location_name(case))
    if place is None:
        return True
    codes = [item_code] if item_code else [
        i.code for i in session.scalars(select(GiftItem).join(GiftType).where(
            GiftType.programme_id == case.programme_id,
            GiftType.number == case.gift_type_number))]
    for code in codes:
        try:
            item = stock.find_item(session, case.programme_id, code)
        except NotFoundError:
            continue
        if stock.balance_on_hand(session, item.id, place.id) > 0:
            return False
    return True


def _classify(exc: MbfCareError, hint: str) -> str:
    if isinstance(exc, care_work.AlreadyHandedOver):
        return "already_handed_over"
    if isinstance(exc.__cause__, StepProblem):
        return "step_order"
    return hint


def _record_row(session: Session, programme_id: int, row: _Row, actor: Actor,
                source: str) -> list[str]:
    """Record what a row says in the caller's transaction; the actions that changed.

    Raises:
        _RowRejected: the row breaks a rule (the caller rolls its savepoint back).
    """
    try:
        case = care_work.find_case(session, programme_id, row.msisdn)
    except MbfCareError as exc:
        raise _RowRejected("not_found", str(exc)) from exc
    try:
        care_work.require_case(actor, case, row.msisdn)
    except PermissionProblem as exc:
        raise _RowRejected("out_of_scope", str(exc)) from exc
    done: list[str] = []
    for action in ACTIONS:
        if action == "handover":
            changed = "handover" in row.dates and _handover(session, case, row, actor, source)
        elif action == "outcome":
            changed = row.outcome is not None and _outcome(session, case, row, actor)
        elif action == "package_advice":
            changed = _package(session, case, row, actor, source)
        elif action in row.dates:
            day = row.dates[action]
            try:
                # The SMS is sent by the care department, not by the person who met the
                # customer ("Người trao"), so it is recorded as done by whoever records it.
                by = "" if action == "sms" else row.by
                changed = care_work.record_step_in(session, case, action, on=day, by=by,
                                                   value=None, actor=actor, source=source)
            except MbfCareError as exc:
                raise _RowRejected(_classify(exc, _step_hint(session, case, action, day)),
                                   str(exc)) from exc
        else:
            changed = False
        if changed:
            done.append(action)
    return done


def _state_hint(case: CareCase) -> str | None:
    if case.state != "listed":
        return "not_servable"
    if case.outcome:
        return "closed"
    return None


def _step_hint(session: Session, case: CareCase, step: str, day: dt.date) -> str:
    """Why a step was refused, as a reason code (the sentence comes from the rule)."""
    found = _state_hint(case)
    if found is not None:
        return found
    return "already_recorded" if _step_differs(session, case, step, day) else "refused"


def _step_differs(session: Session, case: CareCase, step: str, day: dt.date) -> bool:
    existing = session.scalar(select(CareStep.done_on).where(CareStep.care_case_id == case.id,
                                                             CareStep.step == step))
    return existing is not None and existing != day


def _handover(session: Session, case: CareCase, row: _Row, actor: Actor, source: str) -> bool:
    day = row.dates["handover"]
    code = _resolve_item(session, case, row.item) if row.item else None
    first = session.scalar(select(Handover).where(Handover.programme_id == case.programme_id,
                                                  Handover.subscriber_id == case.subscriber_id))
    if first is not None and first.status == "given" and first.given_on == day:
        given = session.get(GiftItem, first.item_id)
        if code is not None and given is not None and given.code != code:
            raise _RowRejected(
                "already_handed_over",
                f"{format_msisdn(row.msisdn)}: đã trao {given.name} ngày {format_date(day)}, "
                f"tệp ghi món khác ('{row.item}'); muốn sửa thì hủy lần trao quà rồi ghi lại.")
        return False
    hint = _state_hint(case)
    if hint is None:
        if row.location and stock.find_location(session, row.location) is None:
            hint = "bad_location"
        elif code is None and _item_count(session, case) > 1:
            hint = "missing_item"
        elif first is None and _stock_empty(session, case, code, row.location):
            hint = "out_of_stock"
        else:
            hint = "refused"
    try:
        care_work.record_handover_in(session, case, item_code=code, location=row.location,
                                     by=row.by, on=day, live=False, actor=actor, source=source)
    except MbfCareError as exc:
        raise _RowRejected(_classify(exc, hint), str(exc)) from exc
    return True


def _package(session: Session, case: CareCase, row: _Row, actor: Actor, source: str) -> bool:
    day = row.dates.get("package_advice")
    if day is None and row.package_value:
        # The advice is given when the customer is met: the day of the handover.
        day = row.dates.get("handover") or case.handover_on
        if day is None:
            raise _RowRejected("missing_date", f"Có gói cước '{row.package_value}' nhưng "
                               "thiếu ngày tư vấn (và chưa có ngày trao quà).")
    if day is None:
        return False
    try:
        return care_work.record_step_in(session, case, "package_advice", on=day, by=row.by,
                                        value=row.package_value, actor=actor, source=source)
    except MbfCareError as exc:
        raise _RowRejected(_classify(exc, _step_hint(session, case, "package_advice", day)),
                           str(exc)) from exc


def _item_count(session: Session, case: CareCase) -> int:
    return len(list(session.scalars(select(GiftItem.id).join(GiftType).where(
        GiftType.programme_id == case.programme_id,
        GiftType.number == case.gift_type_number))))


def _outcome(session: Session, case: CareCase, row: _Row, actor: Actor) -> bool:
    assert row.outcome is not None
    if case.outcome == row.outcome and (not row.note or row.note == (case.outcome_note or "")):
        return False
    if case.outcome and case.outcome != row.outcome:
        raise _RowRejected(
            "closed", f"Thuê bao {format_msisdn(row.msisdn)} đã đóng với kết quả "
            f"'{OUTCOME_LABELS[case.outcome]}'; hủy kết quả đó trước khi ghi kết quả khác.")
    note = row.note or (case.outcome_note or "")
    try:
        care_work.record_outcome_in(session, case, row.outcome, note=note,
                                    on=care_work.local_today(), actor=actor)
    except MbfCareError as exc:
        hint = _state_hint(case) or ("handed_over" if case.handover_on is not None
                                     or case.gift_owed else "refused")
        raise _RowRejected(_classify(exc, hint), str(exc)) from exc
    return True


# --------------------------------------------------------------------------- entry point


def record_from_file(
    factory: sessionmaker[Session], path: Path, *, programme_id: int | None = None,
    sheet: str | None = None, header_row: int | None = None, dry_run: bool = False,
    actor: Actor, progress: Progress | None = None,
) -> BulkResult:
    """Record the work a returned list says was done, in one transaction. Runs on a worker: no
    UI calls here.

    Args:
        factory: session factory of the database.
        path: the `.xlsx`, `.xlsm`, `.xls` or `.csv` list sent back by a district.
        programme_id: the programme (may be None when only one exists).
        sheet: the sheet holding the list (found automatically when None).
        header_row: the 1-based sheet row of the header, instead of the one found.
        dry_run: do everything, count, then roll back.
        actor: who records (needs the `bulk` permission); rows outside his district are
            rejected with their reason.
        progress: progress and cancel token.

    Returns:
        The counts (recorded, unchanged, rejected, per action, reasons) and the rejects
        workbook.

    Raises:
        ImportFileError: the file is refused as a whole (no number column, no column of work
            done, unreadable); nothing changed.
        PermissionProblem: the actor may not record in bulk.
        NotFoundError: no such programme.
        Cancelled: the user cancelled; nothing changed.
    """
    actor.require("bulk")
    progress = progress or NullProgress()
    table = open_table(path)
    try:
        if not dry_run:  # a file of many results: a verified backup first (when changed)
            backup_before_import(factory)
        with UnitOfWork(factory, write=True) as uow:
            session = uow.session
            pid = resolve_programme_id(session, programme_id)
            progress.report(0, 0, "Đang đọc tệp…")
            located = _locate(table, sheet, header_row)
            columns = located.columns
            names = {**column_labels(), "msisdn": "Số thuê bao"}
            result = BulkResult(
                file=str(path), sheet=located.sheet, header_row=columns.header_row,
                dry_run=dry_run, programme_id=pid,
                columns={names.get(k, k): columns.headers[c]
                         for k, c in sorted(columns.fields.items(), key=lambda kv: kv[1])},
                ignored_columns=list(columns.ignored))
            indexes = data_row_indexes(located).to_list()
            frame = located.frame
            rows: list[_Row] = []
            rejected: list[RejectedRow] = []
            reasons: Counter[str] = Counter()
            samples: list[tuple[int, str, str]] = []

            def reject(row: int, cells: list[Any], written: str, code: str, reason: str) -> None:
                rejected.append(RejectedRow(row, cells, reason))
                reasons[code] += 1
                samples.append((row, written, reason))

            for index in indexes:
                cells = list(frame.frame.row(index))
                number = frame.first_row + index
                try:
                    rows.append(_parse_row(number, cells, columns, located.legacy))
                except _RowRejected as exc:
                    col = columns.fields["msisdn"]
                    written = str(cells[col] or "").strip() if col < len(cells) else ""
                    reject(number, cells, written, exc.code, exc.reason)
            conflicts = _conflicts(rows)
            total = len(indexes)
            source = f"tệp {path.name}"
            result.rows_read = total
            for done_rows, row in enumerate(rows, start=1):
                if progress.cancelled():
                    raise Cancelled("Đã hủy ghi kết quả từ tệp; không có gì thay đổi.")
                if row.row in conflicts:
                    reject(row.row, row.cells, row.written, "duplicate_conflict",
                           conflicts[row.row])
                elif not row.has_work():
                    result.unchanged += 1
                else:
                    try:
                        with session.begin_nested():
                            changed = _record_row(session, pid, row, actor, source)
                    except _RowRejected as exc:
                        reject(row.row, row.cells, row.written, exc.code, exc.reason)
                    else:
                        if changed:
                            result.recorded += 1
                            for action in changed:
                                result.per_action[action] += 1
                        else:
                            result.unchanged += 1
                if done_rows % _PROGRESS_EVERY == 0 or done_rows == len(rows):
                    progress.report(done_rows + total - len(rows), total,
                                    f"Đã xem {format_number(done_rows)} dòng")
            if progress.cancelled():
                raise Cancelled("Đã hủy ghi kết quả từ tệp; không có gì thay đổi.")
            result.rejected = len(rejected)
            result.reasons = dict(reasons)
            result.rejected_sample = sorted(samples)[:REJECTED_SAMPLE]
            if rejected:
                result.rejects_file = str(write_rejects(
                    paths.rejects_dir(), table.path, located.sheet, columns.headers, rejected,
                    frame.first_column))
            if dry_run:
                return result
            uow.commit()
    finally:
        table.close()
    logger.info("bulk recording %s: %d rows, %d recorded, %d unchanged, %d rejected",
                path.name, result.rows_read, result.recorded, result.unchanged, result.rejected)
    return result
