"""Importing subscriber extracts and exclusion lists: exact, one transaction, every row accounted.

Every data row ends imported, updated, unchanged or rejected (with its reason, in the rejects
workbook). The file is read once; rows are normalised and written in chunks inside one
transaction. When the same subscriber appears twice, the later row is kept: the first pass
notes the duplicates, and if there are any the work is rolled back to a savepoint and done
again knowing which rows are superseded, so that the earlier rows leave no trace.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session, sessionmaker

from mbfcare import paths
from mbfcare.domain.actors import Actor
from mbfcare.domain.headers import (
    ChargeHeader,
    field_labels,
    parse_charge_header,
    resolve_month,
)
from mbfcare.domain.reference import match_province
from mbfcare.domain.values import (
    ValueProblem,
    cycle_code,
    format_cycle,
    parse_contact_number,
    parse_date,
    parse_flag,
    parse_id_number,
    parse_month,
    parse_msisdn,
    parse_status,
    parse_subscriber_type,
    shift_month,
)
from mbfcare.domain.vntext import repair_legacy
from mbfcare.errors import Cancelled, ImportFileError, UsageError
from mbfcare.io.frames import SheetFrame, release_memory
from mbfcare.io.layout import (
    HEADER_SCAN_ROWS,
    ColumnMap,
    find_header,
    header_at,
    is_blank_row,
    is_column_number_row,
    is_repeated_header,
    is_signature_row,
    is_totals_row,
)
from mbfcare.io.normalise import (
    CATEGORICAL,
    blank_to_null,
    date_column,
    id_number_column,
    map_distinct,
    money_column,
    msisdn_column,
    parse_charge,
    text_column,
)
from mbfcare.io.rejects import RejectedRow, write_rejects
from mbfcare.io.tabular import TableFile, legacy_cells, open_table
from mbfcare.models import ImportRun
from mbfcare.models.base import utcnow
from mbfcare.services.backups import backup_before_import
from mbfcare.services.programmes import get_batch, resolve_programme_id
from mbfcare.services.progress import NullProgress, Progress
from mbfcare.uow import UnitOfWork

logger = logging.getLogger(__name__)

CHUNK_ROWS = 5000
REJECTED_SAMPLE = 20
CHARGE_KEY = "charge:"  # mapping key of a charge column: "charge:<its header, e.g. Cước T-3>"
FRAME_CHUNK_ROWS = 50_000

# Stored subscriber fields, in the order of the value tuple a row normalises to.
SUBSCRIBER_FIELDS = (
    "msisdn_original", "subscriber_type", "status", "name", "activation_date", "province",
    "province_new", "district", "address", "id_number", "birth_date", "contact_number", "store",
    "in_other_programme", "profile_standardised", "offers",
)
_DATE_FIELDS = frozenset({"activation_date", "birth_date"})

REASONS = {
    "missing_msisdn": "Thiếu số thuê bao",
    "bad_msisdn": "Số thuê bao không hợp lệ",
    "missing_type": "Thiếu loại thuê bao (trả trước/trả sau)",
    "bad_type": "Loại thuê bao không rõ (dùng Trả trước hoặc Trả sau)",
    "missing_status": "Thiếu trạng thái thuê bao",
    "bad_status": "Trạng thái không rõ (ví dụ: Hoạt động 2 chiều, Chặn 1 chiều, Đã hủy)",
    "bad_money": "Cước không đọc được",
    "bad_date": "Ngày không đọc được (cần dạng dd/mm/yyyy)",
    "bad_flag": "Giá trị không rõ (dùng Có hoặc Không)",
    "bad_province": "Không nhận ra tỉnh/thành phố",
    "duplicate": "Trùng số thuê bao",
}


@dataclass
class ImportResult:
    """What came of an import; `to_json()` is the command line's JSON output."""

    kind: str
    file: str
    sha256: str
    sheet: str | None
    header_row: int
    rows_read: int = 0
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    duplicates: int = 0
    rejects_file: str | None = None
    reasons: dict[str, int] = field(default_factory=dict)
    columns: dict[str, str] = field(default_factory=dict)
    cycles: list[str] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    care_month: str | None = None
    import_id: int | None = None
    programme_id: int | None = None
    dry_run: bool = False
    already_imported: bool = False
    # The first rejected rows (sheet row, reason), for a preview on screen; not in the JSON.
    rejected_sample: list[tuple[int, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The fields as JSON-ready values."""
        return {
            "rows_read": self.rows_read, "imported": self.imported, "updated": self.updated,
            "unchanged": self.unchanged, "rejected": self.rejected,
            "duplicates": self.duplicates, "rejects_file": self.rejects_file,
            "reasons": self.reasons, "file": self.file, "sha256": self.sha256,
            "sheet": self.sheet, "header_row": self.header_row, "columns": self.columns,
            "cycles": self.cycles, "ignored_columns": self.ignored_columns,
            "care_month": self.care_month, "import_id": self.import_id,
            "programme_id": self.programme_id, "dry_run": self.dry_run,
            "already_imported": self.already_imported, "kind": self.kind,
        }


class _RowProblemsError(Exception):
    def __init__(self, problems: list[tuple[str, int, object]]) -> None:
        super().__init__(problems)
        self.problems = problems  # (code, column index, value)


# --- finding the list ---------------------------------------------------------------------

def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


# --- normalising one row --------------------------------------------------------------------

def _text_converter(hint: str | None) -> Callable[[object], str | None]:
    def convert(value: object) -> str | None:
        if value is None or value == "":
            return None
        if isinstance(value, float):
            return str(int(value)) if value.is_integer() else str(value)
        if not isinstance(value, str):
            return str(value)
        cleaned = repair_legacy(value, hint)
        return cleaned or None
    return convert


def _as_sqlite_date(value: dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


@dataclass
class _SubscriberRows:
    """Turns the cells of a data row into (msisdn, ported, values, charges)."""

    columns: ColumnMap
    charge_cycles: dict[int, int]  # column -> cycle code
    legacy: str | None
    sqlite: bool

    def __post_init__(self) -> None:
        text = _text_converter(self.legacy)
        date = (lambda v: _as_sqlite_date(parse_date(v))) if self.sqlite else parse_date

        def province(value: object) -> tuple[str, str] | None:
            written = text(value)
            if written is None:
                return None
            match = match_province(written)
            if match is None:
                raise ValueProblem("bad_province", value)
            return (match.old_names[0] if len(match.old_names) == 1 else match.new_name,
                    match.new_name)

        converters: dict[str, Callable[[object], Any]] = {
            "subscriber_type": lambda v: parse_subscriber_type(v).value,
            "status": lambda v: parse_status(v).value,
            "name": text, "district": text, "address": text, "store": text, "offers": text,
            "activation_date": date, "birth_date": date,
            "id_number": parse_id_number, "contact_number": parse_contact_number,
            "in_other_programme": parse_flag,
            "profile_standardised": lambda v: parse_flag(v, standardised=True),
            "province": province,
        }
        self._msisdn_col = self.columns.fields["msisdn"]
        self._plan = [
            (SUBSCRIBER_FIELDS.index(name), col, converters[name])
            for name, col in self.columns.fields.items() if name in converters
        ]
        self._province_slot = SUBSCRIBER_FIELDS.index("province")
        self._charges = sorted(self.charge_cycles.items())

    def __call__(self, cells: Sequence[Any]) -> tuple[str, tuple[Any, ...], list[tuple[int, int]]]:
        width = len(cells)
        problems: list[tuple[str, int, object]] = []
        values: list[Any] = [None] * len(SUBSCRIBER_FIELDS)
        col = self._msisdn_col
        number = None
        try:
            number = parse_msisdn(cells[col] if col < width else None)
        except ValueProblem as exc:
            problems.append((exc.code, col, exc.value))
        for slot, col, convert in self._plan:
            try:
                values[slot] = convert(cells[col] if col < width else None)
            except ValueProblem as exc:
                problems.append((exc.code, col, exc.value))
        charges = []
        for col, cycle in self._charges:
            try:
                amount = parse_charge(cells[col] if col < width else None)
            except ValueProblem as exc:
                problems.append((exc.code, col, exc.value))
                continue
            if amount is not None:
                charges.append((cycle, amount))
        if problems or number is None:
            raise _RowProblemsError(problems)
        province = values[self._province_slot]
        if province is not None:
            values[self._province_slot], values[self._province_slot + 1] = province
        values[0] = number.original
        return number.number, (number.ported, *values), charges


# --- writing ------------------------------------------------------------------------------

class _SubscriberStore:
    """Chunked writes on the import's connection, with the driver's executemany."""

    def __init__(self, conn: Connection, run_id: int) -> None:
        self.conn = conn
        self.sqlite = conn.dialect.name == "sqlite"
        self.run_id = run_id
        now = utcnow()
        self.now: object = now.strftime("%Y-%m-%d %H:%M:%S.%f") if self.sqlite else now
        self.now_literal = now.strftime("%Y-%m-%d %H:%M:%S.%f") + ("" if self.sqlite else "+00")
        mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        self.mark = mark
        cols = ("ported", *SUBSCRIBER_FIELDS)
        self._select = f"SELECT id, msisdn, {', '.join(cols)} FROM subscribers WHERE msisdn IN "
        self._insert = (
            f"INSERT INTO subscribers (id, msisdn, {', '.join(cols)}, first_import_id, "
            f"last_import_id, updated_at) VALUES ({', '.join([mark] * (len(cols) + 5))})"
        )
        self._update = (
            f"UPDATE subscribers SET {', '.join(f'{c} = {mark}' for c in cols)}, "
            f"last_import_id = {mark}, updated_at = {mark} WHERE id = {mark}"
        )
        self._insert_charge = f"INSERT INTO charges (subscriber_id, cycle, amount) VALUES " \
                              f"({mark}, {mark}, {mark})"
        self._upsert_charge = self._insert_charge + \
            " ON CONFLICT (subscriber_id, cycle) DO UPDATE SET amount = excluded.amount"
        if self.sqlite:
            # A big page cache keeps the msisdn index in memory while a million rows go in.
            conn.exec_driver_sql("PRAGMA cache_size=-262144")
            self._next_id = int(conn.exec_driver_sql(
                "SELECT COALESCE(MAX(id), 0) FROM subscribers").scalar_one()) + 1

    def _ids(self, count: int) -> list[int]:
        if self.sqlite:
            # The import holds SQLite's write lock (BEGIN IMMEDIATE), so no one else inserts.
            first = self._next_id
            self._next_id += count
            return list(range(first, first + count))
        rows = self.conn.execute(
            text("SELECT nextval(pg_get_serial_sequence('subscribers', 'id')) "
                 "FROM generate_series(1, :n)"), {"n": count})
        return [int(r[0]) for r in rows]

    def known_numbers(self, numbers: pl.Series) -> list[str]:
        """Which of these numbers are stored already (none at all on a first import)."""
        if self.conn.exec_driver_sql("SELECT 1 FROM subscribers LIMIT 1").first() is None:
            return []
        return list(self.existing(numbers.to_list()))

    def insert_statements(self, part: pl.DataFrame, cycles: list[int], ids: list[int]
                          ) -> list[tuple[str, list[tuple[Any, ...]]]]:
        """The INSERTs for subscribers known to be new and their charges (no database use,
        so a helper thread can prepare the next chunk while SQLite writes this one).

        Columns blank in the whole chunk are left out of the statement and the import's own
        constants are written as literals: fewer values to bind is what makes a million rows
        go in quickly.
        """
        required = {"msisdn", "ported", "subscriber_type", "status"}
        fields = [
            name for name in ("msisdn", "ported", *SUBSCRIBER_FIELDS)
            if name in required or part[name].null_count() < part.height
        ]
        marks = ", ".join([self.mark] * (len(fields) + 1))
        sql = (
            f"INSERT INTO subscribers (id, {', '.join(fields)}, first_import_id, last_import_id, "
            f"updated_at) VALUES ({marks}, {int(self.run_id)}, {int(self.run_id)}, "
            f"'{self.now_literal}')"
        )
        # zip over whole columns builds the row tuples in C, cheaper than frame.rows()
        statements = [(sql, list(zip(ids, *(part[name].to_list() for name in fields),
                                     strict=True)))]
        if not cycles:
            return statements
        columns = [f"{_CHARGE_PREFIX}{cycle}" for cycle in cycles]
        charges = part.select(pl.Series("id", ids, dtype=pl.Int64), *columns)
        complete = charges.select(pl.all_horizontal(pl.col(c).is_not_null() for c in columns)
                                  ).to_series()
        full = charges.filter(complete)
        if full.height:
            # One statement per subscriber inserting all its cycles: a third of the statement
            # executions of one row per statement.
            values = ", ".join(f"({self.mark}, {int(c)}, {self.mark})" for c in cycles)
            id_list = full["id"].to_list()
            params: list[list[Any]] = []
            for column in columns:
                params.extend((id_list, full[column].to_list()))
            statements.append((
                f"INSERT INTO charges (subscriber_id, cycle, amount) VALUES {values}",
                list(zip(*params, strict=True))))
        partial = charges.filter(~complete)
        for cycle, column in zip(cycles, columns, strict=True):
            present = partial.select("id", column).drop_nulls(column)
            if present.height:
                statements.append((
                    f"INSERT INTO charges (subscriber_id, cycle, amount) VALUES "
                    f"({self.mark}, {int(cycle)}, {self.mark})",
                    list(zip(present["id"].to_list(), present[column].to_list(), strict=True))))
        return statements

    def insert_frame(self, fresh: pl.DataFrame, cycles: list[int], progress: Progress,
                     done: int, total: int) -> int:
        """Insert subscribers known to be new, chunk by chunk; returns how many."""
        for part in fresh.iter_slices(FRAME_CHUNK_ROWS):
            self._execute_all(self.insert_statements(part, cycles, self._ids(part.height)))
            done += part.height
            if progress.cancelled():
                raise Cancelled("Đã hủy nhập dữ liệu; không có gì thay đổi.")
            progress.report(done, total, "")
        return fresh.height

    def _execute_all(self, statements: list[tuple[str, list[tuple[Any, ...]]]]) -> None:
        if self.sqlite:
            # The driver's own executemany, on the session's connection and transaction.
            cursor = self.conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            try:
                for sql, rows in statements:
                    cursor.executemany(sql, rows)
            finally:
                cursor.close()
            return
        for sql, rows in statements:
            self.conn.exec_driver_sql(sql, rows)

    def existing(self, numbers: Sequence[str]) -> dict[str, tuple[int, tuple[Any, ...]]]:
        found: dict[str, tuple[int, tuple[Any, ...]]] = {}
        for start in range(0, len(numbers), 900):
            part = numbers[start:start + 900]
            sql = self._select + "(" + ", ".join([self.mark] * len(part)) + ")"
            for row in self.conn.exec_driver_sql(sql, tuple(part)):
                found[row[1]] = (row[0], tuple(row[2:]))
        return found

    def stored_charges(self, ids: Sequence[int]) -> dict[tuple[int, int], int]:
        found: dict[tuple[int, int], int] = {}
        for start in range(0, len(ids), 900):
            part = ids[start:start + 900]
            sql = "SELECT subscriber_id, cycle, amount FROM charges WHERE subscriber_id IN (" + \
                  ", ".join([self.mark] * len(part)) + ")"
            for sid, cycle, amount in self.conn.exec_driver_sql(sql, tuple(part)):
                found[(sid, cycle)] = amount
        return found

    def write(self, chunk: list[tuple[str, tuple[Any, ...], list[tuple[int, int]]]]
              ) -> tuple[int, int, int]:
        """Insert new subscribers, update changed ones; (imported, updated, unchanged)."""
        existing = self.existing([number for number, _, _ in chunk])
        new_rows: list[tuple[Any, ...]] = []
        new_charges: list[tuple[int, int, int]] = []
        fresh = [row for row in chunk if row[0] not in existing]
        for sid, (number, values, charges) in zip(self._ids(len(fresh)), fresh, strict=True):
            new_rows.append((sid, number, *values, self.run_id, self.run_id, self.now))
            new_charges.extend((sid, cycle, amount) for cycle, amount in charges)
        updates, changed_charges = [], []
        unchanged = 0
        if existing:
            stored = self.stored_charges([sid for sid, _ in existing.values()])
            for number, values, charges in chunk:
                if number not in existing:
                    continue
                sid, old = existing[number]
                merged = tuple(o if n is None else n for n, o in zip(values, old, strict=True))
                new_charges_here = [(sid, c, a) for c, a in charges if stored.get((sid, c)) != a]
                if merged != old:
                    updates.append((*merged, self.run_id, self.now, sid))
                if new_charges_here:
                    changed_charges.extend(new_charges_here)
                if merged == old and not new_charges_here:
                    unchanged += 1
        touched = {row[-1] for row in updates} | {sid for sid, _, _ in changed_charges}
        if new_rows:
            self.conn.exec_driver_sql(self._insert, new_rows)
            self.conn.exec_driver_sql(self._insert_charge, new_charges) if new_charges else None
        if updates:
            self.conn.exec_driver_sql(self._update, updates)
        if changed_charges:
            self.conn.exec_driver_sql(self._upsert_charge, changed_charges)
            only_charges = touched - {row[-1] for row in updates}
            if only_charges:
                self.conn.exec_driver_sql(
                    f"UPDATE subscribers SET last_import_id = {self.mark}, updated_at = "
                    f"{self.mark} WHERE id = {self.mark}",
                    [(self.run_id, self.now, sid) for sid in only_charges])
        return len(new_rows), len(touched), unchanged


class _ExclusionStore:
    """Exclusion list writes for one programme."""

    def __init__(self, conn: Connection, run_id: int, programme_id: int) -> None:
        self.conn, self.run_id, self.programme_id = conn, run_id, programme_id
        self.mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        self.now: object = utcnow()
        if conn.dialect.name == "sqlite":
            self.now = utcnow().strftime("%Y-%m-%d %H:%M:%S.%f")

    def write(self, chunk: list[tuple[str, tuple[Any, ...], list[tuple[int, int]]]]
              ) -> tuple[int, int, int]:
        m = self.mark
        found: dict[str, tuple[int, tuple[Any, ...]]] = {}
        numbers = [number for number, _, _ in chunk]
        for start in range(0, len(numbers), 900):
            part = numbers[start:start + 900]
            sql = (f"SELECT id, msisdn, source, note FROM exclusions WHERE programme_id = {m} "
                   f"AND msisdn IN ({', '.join([m] * len(part))})")
            for row in self.conn.exec_driver_sql(sql, (self.programme_id, *part)):
                found[row[1]] = (row[0], (row[2], row[3]))
        inserts, updates, unchanged = [], [], 0
        for number, values, _ in chunk:
            if number not in found:
                inserts.append((self.programme_id, number, *values, self.run_id, self.now))
                continue
            xid, old = found[number]
            merged = tuple(o if n is None else n for n, o in zip(values, old, strict=True))
            if merged != old:
                updates.append((*merged, self.run_id, xid))
            else:
                unchanged += 1
        if inserts:
            self.conn.exec_driver_sql(
                f"INSERT INTO exclusions (programme_id, msisdn, source, note, import_id, "
                f"created_at) VALUES ({m}, {m}, {m}, {m}, {m}, {m})", inserts)
        if updates:
            self.conn.exec_driver_sql(
                f"UPDATE exclusions SET source = {m}, note = {m}, import_id = {m} WHERE id = {m}",
                updates)
        return len(inserts), len(updates), unchanged


# --- the pass over the rows -----------------------------------------------------------------

def _reason_text(code: str, header: str | None, value: object, other_row: int | None = None
                 ) -> str:
    base = REASONS.get(code, code)
    if code == "duplicate":
        return f"trùng số thuê bao với dòng {other_row} (giữ dòng sau)"
    shown = "" if value is None else str(value).strip()
    where = f" ở cột '{' '.join(header.split())}'" if header else ""
    return f"{base}{where}: '{shown}'" if shown else f"{base}{where}"


# --- entry points ---------------------------------------------------------------------------

def _required_check(columns: ColumnMap, required: Sequence[str], table: TableFile,
                    sheet: str | None) -> None:
    labels = field_labels()
    for name, cols in columns.doubled.items():
        where = f"sheet '{sheet}', dòng {columns.header_row}" if sheet else \
            f"dòng {columns.header_row}"
        named = " và ".join(
            f"'{' '.join(columns.headers[c].split())}' (cột {_column_letter(c)})" for c in cols)
        raise ImportFileError(
            f"Tệp {table.path.name} ({where}) có hai cột cùng là {labels.get(name, name)}: "
            f"{named}. Xóa hoặc đổi tên cột thừa rồi nhập lại."
        )
    missing = [labels.get(name, name) for name in required if name not in columns.fields]
    if missing:
        where = f"sheet '{sheet}', dòng {columns.header_row}" if sheet else \
            f"dòng {columns.header_row}"
        raise ImportFileError(
            f"Tệp {table.path.name} ({where}) thiếu cột bắt buộc: {', '.join(missing)}. "
            "Thêm cột đó vào tệp rồi nhập lại."
        )


def _resolve_cycles(columns: ColumnMap, care: tuple[int, int] | None, table: TableFile
                    ) -> dict[int, int]:
    cycles: dict[int, int] = {}
    unresolved = []
    for col, header in sorted(columns.charges.items()):
        month = resolve_month(header, care[0] if care else None, care[1] if care else None)
        if month is None:
            unresolved.append(columns.headers[col])
            continue
        code = cycle_code(*month)
        if code in cycles.values():
            columns.ignored.append(columns.headers[col])
            continue
        cycles[col] = code
    if unresolved:
        raise UsageError(
            f"Các cột cước {', '.join(repr(h) for h in unresolved)} của tệp {table.path.name} "
            "tính theo tháng chăm sóc: cho biết đợt (--batch K) hoặc tháng chăm sóc "
            "(--care-month MM/YYYY)."
        )
    return cycles


@dataclass
class Located:
    sheet: str | None
    frame: SheetFrame
    columns: ColumnMap
    hidden: frozenset[int]
    legacy: str | None
    legacy_cells: dict[tuple[int, int], str] | None = None


def _locate(table: TableFile, sheet_name: str | None, *, header_row: int | None = None,
            mapping: Mapping[str, int] | None = None) -> Located:
    """The sheet holding the list (the named one, else the best header) and its header.

    `header_row` and `mapping` are the user's choices (the import wizard); they replace what
    was detected.

    Raises:
        ImportFileError: no header found (and none given).
        UsageError: the header row or a mapped column is not in the sheet.
    """
    names: list[str | None] = [sheet_name] if sheet_name is not None else \
        list(table.sheet_names) if table.kind != "csv" else [None]
    best: Located | None = None
    best_score = -1
    if header_row is not None and len(names) == 1:
        frame, hidden, legacy = table.frame(names[0])
        best = Located(names[0], frame, _header_at_row(frame, header_row, hidden, table),
                        hidden, legacy)
        names = []
    for name in names:
        frame, hidden, legacy = table.frame(name)
        head = [(frame.first_row + i, list(row))
                for i, row in enumerate(frame.frame.head(HEADER_SCAN_ROWS).rows())]
        columns = find_header(head, hidden, frame.first_column)
        if columns is None:
            continue
        score = len(columns.fields) + len(columns.charges)
        if score > best_score:
            best, best_score = Located(name, frame, columns, hidden, legacy), score
    if best is None and header_row is not None and names:
        frame, hidden, legacy = table.frame(names[0])
        best = Located(names[0], frame, ColumnMap(header_row, []), hidden, legacy)
    if best is not None and header_row is not None and names:
        best.columns = _header_at_row(best.frame, header_row, best.hidden, table)
    if best is None:
        where = f"sheet nào của tệp {table.path.name}" if table.kind != "csv" else \
            f"tệp {table.path.name}"
        raise ImportFileError(
            f"Không tìm thấy dòng tiêu đề có cột số thuê bao (ví dụ 'Số thuê bao', 'Số TB', "
            f"'MSISDN') trong {where}. Kiểm tra tệp có đúng là danh sách thuê bao không."
        )
    if mapping is not None:
        best.columns = _apply_mapping(best.columns, mapping, best.frame.frame.width)
    if best.sheet is not None:
        best.legacy_cells = legacy_cells(table.path, best.sheet, table.kind)
        if best.legacy_cells is not None:
            best.legacy = None  # the font of each cell decides, not the workbook
    return best


def _header_at_row(frame: SheetFrame, header_row: int, hidden: frozenset[int],
                   table: TableFile) -> ColumnMap:
    """The columns row `header_row` names (1-based sheet row chosen by the user)."""
    last = frame.first_row + frame.frame.height - 1
    if not frame.first_row <= header_row <= last:
        raise UsageError(
            f"Dòng tiêu đề {header_row} không có trong tệp {table.path.name} (danh sách nằm ở "
            f"các dòng {frame.first_row}–{last})."
        )
    cells = list(frame.frame.row(header_row - frame.first_row))
    return header_at(header_row, cells, hidden, frame.first_column)


def _apply_mapping(columns: ColumnMap, mapping: Mapping[str, int], width: int) -> ColumnMap:
    """The user's mapping (field or `charge:<header>` -> 0-based column) instead of the
    detected one; fields it leaves out are not read.

    Raises:
        UsageError: an unknown field, a column outside the sheet, or a column used twice.
    """
    labels = field_labels()
    fields: dict[str, int] = {}
    charges: dict[int, ChargeHeader] = {}
    used: dict[int, str] = {}
    for key, col in mapping.items():
        name = labels.get(key, key.removeprefix(CHARGE_KEY))
        if isinstance(col, bool) or not isinstance(col, int) or not 0 <= col < width:
            raise UsageError(
                f"Cột {col} ghép cho '{name}' không có trong tệp (tệp có {width} cột, "
                f"đánh số từ 0)."
            )
        if col in used:
            raise UsageError(
                f"Cột {_column_letter(col)} được ghép cho cả '{used[col]}' và '{name}'. Mỗi "
                "cột chỉ ghép cho một trường."
            )
        used[col] = name
        if key.startswith(CHARGE_KEY):
            charge = parse_charge_header(key[len(CHARGE_KEY):])
            if charge is None:
                raise UsageError(
                    f"'{name}' không phải tên cột cước (ví dụ 'Cước T-3' hoặc 'Cước 06/2017')."
                )
            charges[col] = charge
        elif key in labels:
            fields[key] = col
        else:
            raise UsageError(f"Không có trường '{key}' để ghép cột.")
    headers = columns.headers + [""] * (width - len(columns.headers))
    ignored = [h for i, h in enumerate(headers) if h and i not in used]
    return ColumnMap(columns.header_row, headers, fields, charges, ignored)


def data_row_indexes(located: Located) -> pl.Series:
    """Frame indexes of the data rows: no title, header, blank, column-number, repeated
    header, totals or signature rows; after a totals or signature line, only rows that carry a
    number count."""
    frame, columns = located.frame.frame, located.columns
    header_index = columns.header_row - located.frame.first_row
    msisdn = pl.col(f"c{columns.fields['msisdn']}")
    blank_cell = [pl.col(c).is_null() | (pl.col(c).str.strip_chars().str.len_bytes() == 0)
                  for c in frame.columns]
    marks = frame.with_row_index("i").select(
        "i",
        pl.all_horizontal(blank_cell).alias("blank"),
        (msisdn.is_null() | msisdn.str.contains(r"[^\d\s.\-+()/'’`_=]") |
         (msisdn.str.strip_chars().str.len_bytes() == 0)).fill_null(True).alias("special"),
    ).filter((pl.col("i") > header_index) & ~pl.col("blank"))
    indexes = marks["i"].to_list()
    special = set(marks.filter(pl.col("special"))["i"].to_list())
    if indexes and is_column_number_row(frame.row(indexes[0])):
        special.discard(indexes[0])
        indexes = indexes[1:]
    keep: list[int] = []
    footer = False
    msisdn_col = columns.fields["msisdn"]
    for index in indexes:
        if index not in special:
            keep.append(index)
            continue
        cells = frame.row(index)
        msisdn_cell = cells[msisdn_col]
        if is_repeated_header(cells, columns):
            continue
        if is_totals_row(cells, msisdn_cell) or is_signature_row(cells):
            footer = True
            continue
        if footer:  # under the totals or signatures, only rows carrying a number count
            continue
        keep.append(index)
    return pl.Series("i", keep, dtype=pl.UInt32)


def _reason_for(normalise: Callable[..., Any], cells: Sequence[Any], headers: list[str]
                ) -> tuple[str, str] | None:
    """(first problem code, the sentence) for a row, or None if the row is fine."""
    try:
        normalise(cells)
    except _RowProblemsError as exc:
        code = exc.problems[0][0] if exc.problems else "missing_msisdn"
        reason = "; ".join(
            _reason_text(c, headers[i] if i < len(headers) else None, v)
            for c, i, v in exc.problems) or REASONS["missing_msisdn"]
        return code, reason
    return None


@dataclass
class _Outcome:
    valid: pl.DataFrame  # rowno, msisdn, then the stored values and charges
    rejected: list[RejectedRow]
    reasons: Counter[str]
    rows_read: int
    duplicates: int = 0


_CHARGE_PREFIX = "charge_"


class _NoDataRowsError(Exception):
    """Nothing under the header (refused by the caller, which knows the file)."""


def _normalise_subscribers(located: Located, cycles: dict[int, int], sqlite: bool,
                           python_rows: _SubscriberRows) -> _Outcome:
    """Normalise every data row column-wise; reasons for rejected rows come from the row path."""
    indexes = data_row_indexes(located)
    if not len(indexes):
        raise _NoDataRowsError
    fields = located.columns.fields
    source = located.frame.frame
    if len(indexes) and int(indexes[-1]) - int(indexes[0]) + 1 == len(indexes):
        data = source.slice(int(indexes[0]), len(indexes))  # contiguous: no copy
    else:
        data = source[indexes]
    rowno = (indexes.cast(pl.Int64) + located.frame.first_row).alias("rowno")
    width = data.width
    length = data.height
    used = sorted({c for c in [*fields.values(), *cycles] if c < width})
    # One parallel pass turns cells holding only spaces into blanks, for every column read.
    cleaned = data.select(blank_to_null(pl.col(f"c{c}")).alias(f"c{c}") for c in used)

    def raw(col: int | None) -> pl.Series:
        if col is None or col >= width:
            return pl.Series([None] * length, dtype=pl.String)
        return cleaned[f"c{col}"]

    errors = pl.Series([False] * length, dtype=pl.Boolean)
    out: dict[str, pl.Series] = {}
    cell_fonts = located.legacy_cells
    first_column = located.frame.first_column

    def hints(col: int | None) -> pl.Series | None:
        if not cell_fonts or col is None:
            return None
        absolute = col + first_column
        return pl.Series([cell_fonts.get((r, absolute)) for r in rowno.to_list()],
                         dtype=pl.String)
    def msisdn_task() -> tuple[dict[str, pl.Series], pl.Series]:
        numbers, ported, original = msisdn_column(raw(fields["msisdn"]))
        return ({"msisdn": numbers.values, "ported": ported, "msisdn_original": original},
                numbers.errors | numbers.values.is_null())

    def categorical_task(name: str) -> tuple[dict[str, pl.Series], pl.Series]:
        parse, dtype = CATEGORICAL[name]
        column = raw(fields.get(name))
        result = map_distinct(column, parse, dtype)
        failed = result.errors | column.is_null() if name in ("subscriber_type", "status") \
            else result.errors
        return {name: result.values}, failed

    def text_task(name: str) -> tuple[dict[str, pl.Series], pl.Series]:
        result = text_column(raw(fields.get(name)), located.legacy, hints(fields.get(name)))
        return {name: result.values}, result.errors

    def date_task(name: str) -> tuple[dict[str, pl.Series], pl.Series]:
        result = date_column(raw(fields.get(name)))
        values = result.values.dt.to_string("%Y-%m-%d") if sqlite else result.values
        return {name: values}, result.errors

    def id_task() -> tuple[dict[str, pl.Series], pl.Series]:
        result = id_number_column(raw(fields.get("id_number")))
        return {"id_number": result.values}, result.errors

    def province_task() -> tuple[dict[str, pl.Series], pl.Series]:
        written = text_column(raw(fields.get("province")), located.legacy,
                              hints(fields.get("province"))).values
        matches: dict[str, tuple[str, str]] = {}
        bad: list[str] = []
        for value in written.drop_nulls().unique().to_list():
            match = match_province(value)
            if match is None:
                bad.append(value)
            else:
                matches[value] = (match.old_names[0] if len(match.old_names) == 1
                                  else match.new_name, match.new_name)
        keys = list(matches)
        return ({
            "province": written.replace_strict(keys, [m[0] for m in matches.values()],
                                               default=None, return_dtype=pl.String),
            "province_new": written.replace_strict(keys, [m[1] for m in matches.values()],
                                                   default=None, return_dtype=pl.String),
        }, written.is_in(bad) if bad else pl.Series([False] * length, dtype=pl.Boolean))

    def money_task(col: int, cycle: int) -> tuple[dict[str, pl.Series], pl.Series]:
        result = money_column(raw(col))
        return {f"{_CHARGE_PREFIX}{cycle}": result.values}, result.errors

    tasks: list[Callable[[], tuple[dict[str, pl.Series], pl.Series]]] = [
        msisdn_task, id_task, province_task,
        *(functools.partial(categorical_task, n) for n in (
            "subscriber_type", "status", "in_other_programme", "profile_standardised",
            "contact_number")),
        *(functools.partial(text_task, n) for n in ("name", "address", "district", "store",
                                                    "offers")),
        *(functools.partial(date_task, n) for n in ("activation_date", "birth_date")),
        *(functools.partial(money_task, col, cycle) for col, cycle in sorted(cycles.items())),
    ]
    # polars lets go of the GIL while it works, so two columns are done at once on two cores.
    with ThreadPoolExecutor(max_workers=2) as pool:
        for values, failed in pool.map(lambda task: task(), tasks):
            out.update(values)
            errors = errors | failed
    errors = errors.fill_null(True)
    order = ["msisdn", "ported", *SUBSCRIBER_FIELDS,
             *(f"{_CHARGE_PREFIX}{c}" for c in sorted(cycles.values()))]
    frame = pl.DataFrame([rowno, *(out[k].alias(k) for k in order)])
    valid = frame.filter(~errors)
    rejected: list[RejectedRow] = []
    reasons: Counter[str] = Counter()
    rescued = []
    headers = located.columns.headers
    for i in errors.arg_true().to_list():
        cells = data.row(i)
        found = _reason_for(python_rows, cells, headers)
        if found is None:  # the row path accepts what the column path doubted: trust it
            number, values, charges = python_rows(cells)
            by_cycle = dict(charges)
            rescued.append((int(rowno[i]), number, *values,
                            *(by_cycle.get(c) for c in sorted(cycles.values()))))
            continue
        reasons[found[0]] += 1
        rejected.append(RejectedRow(int(rowno[i]), list(cells), found[1]))
    if rescued:
        valid = pl.concat([valid, pl.DataFrame(rescued, schema=valid.schema, orient="row")])
    return _Outcome(valid, rejected, reasons, length)


def _normalise_rows(located: Located, normalise: Callable[..., Any]) -> _Outcome:
    """Row-by-row normalisation (small lists such as exclusions)."""
    indexes = data_row_indexes(located)
    data = located.frame.frame[indexes]
    headers = located.columns.headers
    rows, rejected, reasons = [], [], Counter[str]()
    for i, cells in zip(indexes.to_list(), data.iter_rows(), strict=True):
        number = i + located.frame.first_row
        try:
            msisdn, values, _ = normalise(cells)
        except _RowProblemsError:
            found = _reason_for(normalise, cells, headers)
            assert found is not None
            reasons[found[0]] += 1
            rejected.append(RejectedRow(number, list(cells), found[1]))
            continue
        rows.append((number, msisdn, *values))
    valid = pl.DataFrame(rows, schema={"rowno": pl.Int64, "msisdn": pl.String,
                                       "source": pl.String, "note": pl.String}, orient="row")
    return _Outcome(valid, rejected, reasons, data.height)


def _drop_superseded(outcome: _Outcome, located: Located) -> None:
    """The later row of a subscriber is kept; earlier ones are rejected as duplicates."""
    valid = outcome.valid.with_columns(pl.col("rowno").max().over("msisdn").alias("_last"))
    earlier = valid.filter(pl.col("rowno") != pl.col("_last"))
    if earlier.height:
        frame = located.frame
        for row, last in earlier.select("rowno", "_last").iter_rows():
            cells = frame.frame.row(row - frame.first_row)
            outcome.rejected.append(RejectedRow(row, list(cells),
                                                _reason_text("duplicate", None, None, last)))
        outcome.reasons["duplicate"] += earlier.height
        outcome.duplicates = earlier.height
    outcome.valid = valid.filter(pl.col("rowno") == pl.col("_last")).drop("_last").sort("rowno")


def _write(outcome: _Outcome, store: Any, cycles: list[int], progress: Progress
           ) -> tuple[int, int, int]:
    """Write the valid rows; (imported, updated, unchanged).

    Subscribers not yet stored are inserted straight from the frame (ids assigned in bulk,
    charges unpivoted by polars); the others go through the row-by-row comparison, since
    only a changed value may update them.
    """
    imported = updated = unchanged = 0
    valid = outcome.valid
    total = valid.height
    charge_start = valid.width - len(cycles)
    done = 0
    if isinstance(store, _SubscriberStore):
        known = store.known_numbers(valid["msisdn"])
        fresh = valid.filter(~pl.col("msisdn").is_in(known)) if known else valid
        # In number order the unique index on msisdn grows at its end, not at random pages.
        fresh = fresh.sort("msisdn")
        valid = valid.filter(pl.col("msisdn").is_in(known)) if known else valid.clear()
        imported += store.insert_frame(fresh, cycles, progress, done, total)
        done += fresh.height
    for part in valid.iter_slices(CHUNK_ROWS):
        chunk = []
        for row in part.iter_rows():
            charges = [(c, a) for c, a in zip(cycles, row[charge_start:], strict=True)
                       if a is not None]
            chunk.append((row[1], row[2:charge_start], charges))
        i, u, n = store.write(chunk)
        imported, updated, unchanged = imported + i, updated + u, unchanged + n
        done += part.height
        if progress.cancelled():
            raise Cancelled("Đã hủy nhập dữ liệu; không có gì thay đổi.")
        progress.report(done, total, "")
    return imported, updated, unchanged


def _execute(
    factory: sessionmaker[Session], path: Path, *, kind: str, programme_id: int | None,
    batch: int | None, care_month: str | None, sheet: str | None, strict: bool, dry_run: bool,
    user: str, progress: Progress, header_row: int | None = None,
    mapping: Mapping[str, int] | None = None,
) -> ImportResult:
    table = open_table(path)
    try:
        if not dry_run:  # issue 8: a verified backup before every import (if anything changed)
            backup_before_import(factory)
        # Read what the file is checked against, then let go: the file is read and checked
        # without holding the write lock, so the other desks keep working during an import.
        with UnitOfWork(factory) as uow:
            session = uow.session
            pid = resolve_programme_id(session, programme_id)
            care: tuple[int, int] | None = None
            if care_month is not None:
                try:
                    care = parse_month(care_month)
                except ValueProblem as exc:
                    raise UsageError(
                        f"Tháng chăm sóc '{care_month}' không hợp lệ: viết MM/YYYY, ví dụ 09/2017."
                    ) from exc
            new_care_month = batch is not None and care is not None
            if batch is not None:
                batch_row = get_batch(session, pid, batch)
                care = care or (batch_row.care_year, batch_row.care_month)
            sqlite = session.get_bind().dialect.name == "sqlite"
        progress.report(0, 0, "Đang đọc tệp…")
        located = _locate(table, sheet, header_row=header_row, mapping=mapping)
        columns = located.columns
        result = ImportResult(
            kind=kind, file=str(path), sha256=table.sha256, sheet=located.sheet,
            header_row=columns.header_row, programme_id=pid, dry_run=dry_run,
            care_month=f"{care[1]:02d}/{care[0]}" if care else None,
            columns={name: columns.headers[col] for name, col in columns.fields.items()},
        )
        cycle_list: list[int] = []
        if kind == "subscribers":
            _required_check(columns, ("msisdn", "subscriber_type", "status"), table,
                            located.sheet)
            cycles = _resolve_cycles(columns, care, table)
            if not cycles:
                raise ImportFileError(
                    f"Tệp {path.name} không có cột cước nào (ví dụ 'Cước T-3' hoặc "
                    "'Cước 06/2017'). Thêm các cột cước rồi nhập lại."
                )
            if batch is not None and care is not None:
                needed = [cycle_code(*shift_month(*care, -k)) for k in (3, 4, 5)]
                absent = [format_cycle(c) for c in needed if c not in cycles.values()]
                if absent:
                    raise ImportFileError(
                        f"Tệp {path.name} thiếu cột cước chu kỳ {', '.join(absent)} mà đợt "
                        f"{batch} (tháng chăm sóc {care[1]:02d}/{care[0]}) cần. Thêm các "
                        "cột đó rồi nhập lại."
                    )
            cycle_list = sorted(set(cycles.values()))
            result.cycles = [format_cycle(c) for c in cycle_list]
            try:
                outcome = _normalise_subscribers(
                    located, cycles, sqlite,
                    _SubscriberRows(columns, cycles, located.legacy, sqlite))
            except _NoDataRowsError:
                outcome = _Outcome(pl.DataFrame(), [], Counter(), 0)
        else:
            _required_check(columns, ("msisdn",), table, located.sheet)
            outcome = _normalise_rows(located, _exclusion_rows(columns, located.legacy))
        if outcome.rows_read == 0:
            where = f"sheet '{located.sheet}', " if located.sheet else ""
            raise ImportFileError(
                f"Tệp {path.name} ({where}tiêu đề ở dòng {columns.header_row}) không có dòng "
                "dữ liệu nào dưới dòng tiêu đề. Kiểm tra đã chọn đúng tệp và sheet chưa."
            )
        result.ignored_columns = list(columns.ignored)
        _drop_superseded(outcome, located)
        cells = located.frame.frame.height * located.frame.frame.width
        located.frame.frame = pl.DataFrame()  # the text cells are no longer needed
        release_memory(cells)
        with UnitOfWork(factory, bulk=True) as uow:
            session = uow.session
            if new_care_month and batch is not None and care is not None:
                batch_row = get_batch(session, pid, batch)
                batch_row.care_year, batch_row.care_month = care
            conn = session.connection()
            run = ImportRun(
                programme_id=pid, kind=kind, file_name=str(path), file_sha256=table.sha256,
                sheet=located.sheet, header_row=columns.header_row,
                care_month=result.care_month, user=user,
            )
            session.add(run)
            session.flush()
            result.import_id = run.id
            store = _SubscriberStore(conn, run.id) if kind == "subscribers" else \
                _ExclusionStore(conn, run.id, pid)
            refuse = strict and bool(outcome.rejected)
            if not refuse:
                result.imported, result.updated, result.unchanged = _write(
                    outcome, store, cycle_list, progress)
            result.rows_read = outcome.rows_read
            result.rejected = len(outcome.rejected)
            result.duplicates = outcome.duplicates
            result.reasons = dict(outcome.reasons)
            result.rejected_sample = [
                (r.row, r.reason)
                for r in sorted(outcome.rejected, key=lambda r: r.row)[:REJECTED_SAMPLE]]
            if outcome.rejected:
                result.rejects_file = str(write_rejects(
                    paths.rejects_dir(), table.path, located.sheet, columns.headers,
                    outcome.rejected, located.frame.first_column))
            if refuse:
                raise ImportFileError(
                    f"Tệp {path.name} có {result.rejected} dòng bị từ chối nên không nhập "
                    f"dòng nào (chế độ --strict). Xem lý do trong {result.rejects_file}."
                )
            run.rows_read, run.imported, run.updated = (result.rows_read, result.imported,
                                                        result.updated)
            run.unchanged, run.rejected = result.unchanged, result.rejected
            run.duplicates, run.rejects_file = result.duplicates, result.rejects_file
            run.finished_at = utcnow()
            run.details = {"reasons": result.reasons, "columns": result.columns,
                           "cycles": result.cycles, "ignored_columns": result.ignored_columns}
            session.flush()
            if dry_run:
                return result
            uow.commit()
            logger.info(
                "import %s #%d: %d rows, %d new, %d updated, %d unchanged, %d rejected",
                kind, run.id, result.rows_read, result.imported, result.updated,
                result.unchanged, result.rejected,
            )
            return result
    finally:
        table.close()




def _exclusion_rows(columns: ColumnMap, legacy: str | None) -> Callable[..., Any]:
    text = _text_converter(legacy)
    msisdn_col = columns.fields["msisdn"]
    source_col = columns.fields.get("source")
    note_col = columns.fields.get("note")

    def normalise(cells: Sequence[Any]) -> tuple[str, tuple[Any, ...], list[tuple[int, int]]]:
        width = len(cells)
        try:
            number = parse_msisdn(cells[msisdn_col] if msisdn_col < width else None)
        except ValueProblem as exc:
            raise _RowProblemsError([(exc.code, msisdn_col, exc.value)]) from exc
        source = text(cells[source_col]) if source_col is not None and source_col < width else None
        note = text(cells[note_col]) if note_col is not None and note_col < width else None
        return number.number, (source, note), []
    return normalise


def import_subscribers(
    factory: sessionmaker[Session], path: Path, *, programme_id: int | None = None,
    batch: int | None = None, care_month: str | None = None, sheet: str | None = None,
    strict: bool = False, dry_run: bool = False, actor: Actor,
    progress: Progress | None = None, header_row: int | None = None,
    mapping: Mapping[str, int] | None = None,
) -> ImportResult:
    """Import a subscriber extract in one transaction. Runs on a worker: no UI calls here.

    Args:
        factory: session factory of the database.
        path: the `.xlsx`, `.xlsm`, `.xls` or `.csv` file.
        programme_id: the programme (may be None when only one exists).
        batch: the batch whose care month names relative charge columns (`Cước T-3`).
        care_month: `MM/YYYY`; with `batch`, sets that batch's care month first.
        sheet: the sheet holding the list (found automatically when None).
        strict: refuse the whole file if any row is rejected.
        dry_run: do everything, report the counts, then roll back.
        actor: who imports (recorded with the run; needs the `import` permission).
        progress: progress and cancel token.
        header_row: the 1-based sheet row of the header, instead of the one found.
        mapping: field (or `charge:<charge header>`) -> 0-based column, instead of the
            columns found; fields left out are not read (see `FilePreview.mapping`).

    Returns:
        The counts, the rejects workbook and what was recognised.

    Raises:
        PermissionProblem: the actor may not import.
        ImportFileError: the file is refused as a whole; nothing changed.
        UsageError: a needed option is missing or wrong.
        NotFoundError: no such programme or batch.
        Cancelled: the user cancelled; nothing changed.
    """
    actor.require("import")
    return _execute(factory, path, kind="subscribers", programme_id=programme_id, batch=batch,
                    care_month=care_month, sheet=sheet, strict=strict, dry_run=dry_run,
                    user=actor.name, progress=progress or NullProgress(), header_row=header_row,
                    mapping=mapping)


def import_exclusions(
    factory: sessionmaker[Session], path: Path, *, programme_id: int | None = None,
    sheet: str | None = None, dry_run: bool = False, actor: Actor,
    progress: Progress | None = None,
) -> ImportResult:
    """Import a list of subscribers already in another current programme (same rules).

    Raises:
        PermissionProblem: the actor may not import.
    """
    actor.require("import")
    return _execute(factory, path, kind="exclusions", programme_id=programme_id, batch=None,
                    care_month=None, sheet=sheet, strict=False, dry_run=dry_run,
                    user=actor.name,
                    progress=progress or NullProgress())


def stored_counts(factory: sessionmaker[Session]) -> dict[str, int]:
    """Rows in the main tables (for checks that an operation changed nothing)."""
    with UnitOfWork(factory) as uow:
        return {
            name: int(uow.session.execute(text(f"SELECT COUNT(*) FROM {name}")).scalar_one())
            for name in ("subscribers", "charges", "exclusions", "import_runs")
        }


# --- previewing a file (the import wizard) --------------------------------------------------

PREVIEW_ROWS = 50
SAMPLE_VALUES = 3
_SAMPLE_SCAN_ROWS = 60
REQUIRED_FIELDS = ("msisdn", "subscriber_type", "status")
# The fields a subscriber extract may map, in the order the wizard lists them.
MAPPABLE_FIELDS = (
    "msisdn", "subscriber_type", "status", "name", "activation_date", "province", "district",
    "address", "id_number", "birth_date", "contact_number", "store", "in_other_programme",
    "profile_standardised", "offers",
)
NO_CHARGES = "charges"  # in `FilePreview.missing` when no charge column is mapped


@dataclass(frozen=True)
class SheetInfo:
    """A sheet of the file and how many rows it holds (its last used row)."""

    name: str | None
    rows: int


@dataclass(frozen=True)
class FieldMatch:
    """One line of the column mapping: a field (or a charge column) and where it is."""

    key: str  # canonical field, or "charge:<header>"
    label: str  # the field's usual header, or the charge column's header
    column: int | None  # 0-based column in the row, None when not found
    header: str  # the header cell of that column ("" when none)
    samples: tuple[str, ...]  # the first non-blank values under the header
    required: bool
    charge: ChargeHeader | None = None


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    return str(value)


@dataclass(frozen=True)
class FilePreview:
    """What the import wizard shows before anything is read into the database.

    `rows` are the first sheet rows as text, `rows[0]` being sheet row `first_row`.
    `header_row` is 1-based (None when no header was found nor given); `fields` lists every
    mappable field then every charge column with the column found for it.
    """

    path: str
    kind: str
    sheets: tuple[SheetInfo, ...]
    sheet: str | None
    rows: tuple[tuple[str, ...], ...]
    first_row: int
    first_column: int
    hidden_columns: frozenset[int]  # 0-based sheet columns
    detected_header_row: int | None
    header_row: int | None
    headers: tuple[str, ...]
    fields: tuple[FieldMatch, ...]
    missing: tuple[str, ...]  # required fields without a column (and NO_CHARGES)
    below: tuple[tuple[str, ...], ...] = ()  # non-blank rows under the header (samples)

    @property
    def width(self) -> int:
        """Number of columns in the preview."""
        return max((len(r) for r in (*self.rows, self.headers)), default=0)

    @property
    def mapping(self) -> dict[str, int]:
        """The mapping found, in the form `import_subscribers(mapping=…)` takes."""
        return {f.key: f.column for f in self.fields if f.column is not None}

    def column_samples(self, column: int, count: int = SAMPLE_VALUES) -> tuple[str, ...]:
        """The first `count` non-blank values under the header in `column`."""
        found: list[str] = []
        for row in self.below:
            value = row[column].strip() if column < len(row) else ""
            if value:
                found.append(" ".join(value.split()))
                if len(found) == count:
                    break
        return tuple(found)

    def with_header_row(self, header_row: int) -> FilePreview:
        """The same preview read with another header row (one of `rows`); no file access.

        Raises:
            UsageError: the row is not among the previewed rows.
        """
        index = header_row - self.first_row
        if not 0 <= index < len(self.rows):
            raise UsageError(
                f"Dòng tiêu đề {header_row} không nằm trong {len(self.rows)} dòng xem trước "
                f"(dòng {self.first_row}–{self.first_row + len(self.rows) - 1})."
            )
        return _build_preview(
            path=self.path, kind=self.kind, sheets=self.sheets, sheet=self.sheet,
            rows=self.rows, first_row=self.first_row, first_column=self.first_column,
            hidden=self.hidden_columns, detected=self.detected_header_row,
            header_row=header_row, below=_rows_below(self.rows[index + 1:]),
        )


def _rows_below(rows: Sequence[Sequence[str]]) -> tuple[tuple[str, ...], ...]:
    """Non-blank rows under a header, without the row of column numbers."""
    found = [tuple(r) for r in rows if not is_blank_row(r)]
    if found and is_column_number_row(found[0]):
        found = found[1:]
    return tuple(found[:_SAMPLE_SCAN_ROWS])


def _build_preview(*, path: str, kind: str, sheets: tuple[SheetInfo, ...], sheet: str | None,
                   rows: tuple[tuple[str, ...], ...], first_row: int, first_column: int,
                   hidden: frozenset[int], detected: int | None, header_row: int | None,
                   below: tuple[tuple[str, ...], ...], header_cells: Sequence[str] | None = None
                   ) -> FilePreview:
    labels = field_labels()
    columns: ColumnMap | None = None
    if header_row is not None:
        cells = header_cells if header_cells is not None else rows[header_row - first_row]
        columns = header_at(header_row, list(cells), hidden, first_column)
    preview = FilePreview(
        path=path, kind=kind, sheets=sheets, sheet=sheet, rows=rows, first_row=first_row,
        first_column=first_column, hidden_columns=hidden, detected_header_row=detected,
        header_row=header_row, headers=tuple(columns.headers) if columns else (), fields=(),
        missing=(), below=below,
    )
    found = columns.fields if columns else {}
    headers = preview.headers
    matches: list[FieldMatch] = []
    for name in MAPPABLE_FIELDS:
        col = found.get(name)
        matches.append(FieldMatch(
            key=name, label=labels.get(name, name), column=col,
            header=headers[col] if col is not None else "",
            samples=preview.column_samples(col) if col is not None else (),
            required=name in REQUIRED_FIELDS,
        ))
    for col, charge in sorted(columns.charges.items()) if columns else ():
        matches.append(FieldMatch(
            key=f"{CHARGE_KEY}{headers[col]}", label=" ".join(headers[col].split()), column=col,
            header=headers[col], samples=preview.column_samples(col), required=False,
            charge=charge,
        ))
    missing = [name for name in REQUIRED_FIELDS if name not in found]
    if not (columns and columns.charges):
        missing.append(NO_CHARGES)
    return dataclasses.replace(preview, fields=tuple(matches), missing=tuple(missing))


def preview_file(path: Path, sheet: str | None = None, header_row: int | None = None
                 ) -> FilePreview:
    """Look into an extract without importing: sheets, first rows, header row and mapping.

    Read-only and without a database; runs on a worker: no UI calls here.

    Args:
        path: the `.xlsx`, `.xlsm`, `.xls` or `.csv` file.
        sheet: the sheet to show (the one holding the list when None).
        header_row: the 1-based header row (found automatically when None).

    Returns:
        The preview; `header_row` is None when no row names a subscriber number.

    Raises:
        ImportFileError: the file cannot be read, or has no such sheet.
        UsageError: `header_row` is not a row of the sheet.
    """
    table = open_table(path)
    try:
        names: list[str | None] = list(table.sheet_names) if table.kind != "csv" else [None]
        wanted = [sheet] if sheet is not None and table.kind != "csv" else names
        if sheet is not None and sheet not in names and table.kind != "csv":
            raise ImportFileError(
                f"Tệp {path.name} không có sheet '{sheet}'. Các sheet có: "
                f"{', '.join(str(n) for n in names)}."
            )
        infos: dict[str | None, SheetInfo] = {}
        best: tuple[int, str | None, SheetFrame, frozenset[int], ColumnMap | None] | None = None
        for name in names:
            if name not in wanted and name is not None:
                continue
            frame, hidden, _ = table.frame(name)
            infos[name] = SheetInfo(name, frame.first_row - 1 + frame.frame.height
                                    if frame.frame.height else 0)
            head = [(frame.first_row + i, list(row))
                    for i, row in enumerate(frame.frame.head(HEADER_SCAN_ROWS).rows())]
            columns = find_header(head, hidden, frame.first_column)
            # a sheet with a header beats one without; then the fuller header, then more rows
            score = (len(columns.fields) + len(columns.charges)) * 10**9 if columns else 0
            score += frame.frame.height
            if best is None or score > best[0]:
                best = (score, name, frame, hidden, columns)
        # the sheets not read (another one was asked for): count their rows cheaply
        for name in names:
            if name not in infos:
                infos[name] = SheetInfo(name, table.rows(name).total_rows or 0)
        assert best is not None
        _, chosen, frame, hidden, detected = best
        data = frame.frame
        rows = tuple(tuple(_cell_text(v) for v in row) for row in data.head(PREVIEW_ROWS).rows())
        header = header_row if header_row is not None else (
            detected.header_row if detected else None)
        below: tuple[tuple[str, ...], ...] = ()
        cells: tuple[str, ...] | None = None
        if header is not None:
            last = frame.first_row + data.height - 1
            if not frame.first_row <= header <= last:
                raise UsageError(
                    f"Dòng tiêu đề {header} không có trong tệp {path.name} (các dòng "
                    f"{frame.first_row}–{last})."
                )
            index = header - frame.first_row
            cells = tuple(_cell_text(v) for v in data.row(index))
            under = data.slice(index + 1, _SAMPLE_SCAN_ROWS * 2).rows()
            below = _rows_below([tuple(_cell_text(v) for v in r) for r in under])
        return _build_preview(
            path=str(path), kind=table.kind, sheets=tuple(infos[n] for n in names),
            sheet=chosen, rows=rows, first_row=frame.first_row,
            first_column=frame.first_column, hidden=hidden,
            detected=detected.header_row if detected else None, header_row=header,
            below=below, header_cells=cells,
        )
    finally:
        table.close()
