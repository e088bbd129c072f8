"""Importing subscriber extracts and exclusion lists: exact, one transaction, every row accounted.

Every data row ends imported, updated, unchanged or rejected (with its reason, in the rejects
workbook). The file is read once; rows are normalised and written in chunks inside one
transaction. When the same subscriber appears twice, the later row is kept: the first pass
notes the duplicates, and if there are any the work is rolled back to a savepoint and done
again knowing which rows are superseded, so that the earlier rows leave no trace.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session, sessionmaker

from mbfcare import paths
from mbfcare.domain.headers import field_labels, resolve_month
from mbfcare.domain.reference import match_province
from mbfcare.domain.values import (
    ValueProblem,
    cycle_code,
    format_cycle,
    is_blank,
    parse_contact_number,
    parse_date,
    parse_flag,
    parse_id_number,
    parse_month,
    parse_money,
    parse_msisdn,
    parse_status,
    parse_subscriber_type,
    shift_month,
)
from mbfcare.domain.vntext import repair_legacy
from mbfcare.errors import Cancelled, ImportFileError, UsageError
from mbfcare.io.layout import (
    HEADER_SCAN_ROWS,
    ColumnMap,
    find_header,
    is_blank_row,
    is_column_number_row,
    is_repeated_header,
    is_signature_row,
    is_totals_row,
)
from mbfcare.io.rejects import RejectedRow, write_rejects
from mbfcare.io.tabular import SheetRows, TableFile, open_table
from mbfcare.models import ImportRun
from mbfcare.models.base import utcnow
from mbfcare.services.progress import NullProgress, Progress
from mbfcare.services.programmes import get_batch, resolve_programme_id
from mbfcare.uow import UnitOfWork

logger = logging.getLogger(__name__)

CHUNK_ROWS = 5000

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


class _RowProblems(Exception):
    def __init__(self, problems: list[tuple[str, int, object]]) -> None:
        super().__init__(problems)
        self.problems = problems  # (code, column index, value)


class _Restart(Exception):
    """Raised inside the first pass when a duplicate means the rows must be done again."""


# --- finding the list ---------------------------------------------------------------------

@dataclass
class _Located:
    sheet: SheetRows
    columns: ColumnMap
    head: list[tuple[int, list[Any]]]  # rows already read while looking for the header
    rows: Iterator[tuple[int, list[Any]]]


def _locate(table: TableFile, sheet_name: str | None) -> _Located:
    """The sheet holding the list (the named one, else the best header) and its header."""
    names = [sheet_name] if sheet_name is not None else table.sheet_names
    if sheet_name is not None and table.kind != "csv" and sheet_name not in table.sheet_names:
        raise ImportFileError(
            f"Tệp {table.path.name} không có sheet '{sheet_name}'. Các sheet có: "
            f"{', '.join(table.sheet_names)}."
        )
    best: _Located | None = None
    best_score = -1
    for name in names or [None]:
        sheet = table.rows(name)
        head = []
        for item in sheet.rows:
            head.append(item)
            if len(head) >= HEADER_SCAN_ROWS:
                break
        columns = find_header(head, sheet.hidden_columns, sheet.first_column)
        if columns is None:
            continue
        score = len(columns.fields) + len(columns.charges)
        if score > best_score:
            best, best_score = _Located(sheet, columns, head, sheet.rows), score
    if best is None:
        where = f"sheet nào của tệp {table.path.name}" if table.kind != "csv" else \
            f"tệp {table.path.name}"
        raise ImportFileError(
            f"Không tìm thấy dòng tiêu đề có cột số thuê bao (ví dụ 'Số thuê bao', 'Số TB', "
            f"'MSISDN') trong {where}. Kiểm tra tệp có đúng là danh sách thuê bao không."
        )
    return best


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
                amount = parse_money(cells[col] if col < width else None)
            except ValueProblem as exc:
                problems.append((exc.code, col, exc.value))
                continue
            if amount is not None:
                charges.append((cycle, amount))
        if problems or number is None:
            raise _RowProblems(problems)
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
        new_rows, new_charges = [], []
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

@dataclass
class _Counts:
    rows_read: int = 0
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)
    reasons: Counter[str] = field(default_factory=Counter)


def _data_rows(located: _Located, rows: Iterator[tuple[int, list[Any]]]
               ) -> Iterator[tuple[int, list[Any]]]:
    """The data rows under the header: no blank, column-number, repeated header, totals or
    signature rows; after a totals or signature line, only rows that carry a number."""
    columns = located.columns
    msisdn_col = columns.fields["msisdn"]
    footer = False
    first = True
    for number, cells in rows:
        if number <= columns.header_row or is_blank_row(cells):
            continue
        if first:
            first = False
            if is_column_number_row(cells):
                continue
        msisdn_cell = cells[msisdn_col] if msisdn_col < len(cells) else None
        if is_repeated_header(cells, columns):
            continue
        if is_totals_row(cells, msisdn_cell):
            footer = True
            continue
        if footer and is_blank(msisdn_cell):
            continue
        if is_blank(msisdn_cell) and is_signature_row(cells):
            footer = True
            continue
        yield number, cells


def _all_rows(located: _Located) -> Iterator[tuple[int, list[Any]]]:
    yield from located.head
    yield from located.rows


def _reason_text(code: str, header: str | None, value: object, other_row: int | None = None
                 ) -> str:
    base = REASONS.get(code, code)
    if code == "duplicate":
        return f"trùng số thuê bao với dòng {other_row} (giữ dòng sau)"
    shown = "" if value is None else str(value).strip()
    where = f" ở cột '{header}'" if header else ""
    return f"{base}{where}: '{shown}'" if shown else f"{base}{where}"


def _run_pass(
    located: _Located, rows: Iterator[tuple[int, list[Any]]], normalise: Callable[..., Any],
    store: Any, progress: Progress, total: int | None, superseded: dict[str, int] | None,
) -> tuple[_Counts, dict[str, int] | None]:
    """One pass over the data rows. With `superseded` None, the first duplicate switches the
    pass to scanning only; it then returns the map of duplicated numbers to their last row."""
    counts = _Counts()
    headers = located.columns.headers
    seen: dict[str, int] = {}
    duplicated: set[str] = set()
    last_seen_dup = False
    chunk: list[tuple[str, tuple[Any, ...], list[tuple[int, int]]]] = []

    def flush() -> None:
        if chunk and not last_seen_dup:
            imported, updated, unchanged = store.write(chunk)
            counts.imported += imported
            counts.updated += updated
            counts.unchanged += unchanged
        chunk.clear()

    for row_number, cells in _data_rows(located, rows):
        counts.rows_read += 1
        try:
            number, values, charges = normalise(cells)
        except _RowProblems as exc:
            code, col, value = exc.problems[0] if exc.problems else ("missing_msisdn", 0, None)
            reason = "; ".join(
                _reason_text(c, headers[i] if i < len(headers) else None, v)
                for c, i, v in exc.problems
            ) or REASONS["missing_msisdn"]
            counts.rejected.append(RejectedRow(row_number, list(cells), reason))
            counts.reasons[code] += 1
            continue
        if superseded is None:
            if number in seen:
                last_seen_dup = True
                duplicated.add(number)
            seen[number] = row_number
            if last_seen_dup:
                continue
        else:
            last = superseded.get(number)
            if last is not None and last != row_number:
                counts.rejected.append(RejectedRow(
                    row_number, list(cells), _reason_text("duplicate", None, None, last)))
                counts.reasons["duplicate"] += 1
                counts.duplicates += 1
                continue
        chunk.append((number, values, charges))
        if len(chunk) >= CHUNK_ROWS:
            flush()
            if progress.cancelled():
                raise Cancelled("Đã hủy nhập dữ liệu; không có gì thay đổi.")
            progress.report(row_number, total or 0, "")
    flush()
    if superseded is None and last_seen_dup:
        return counts, {number: seen[number] for number in duplicated}
    return counts, None


# --- entry points ---------------------------------------------------------------------------

def _required_check(columns: ColumnMap, required: Sequence[str], table: TableFile,
                    sheet: str | None) -> None:
    labels = field_labels()
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


def _finish(session: Session, run: ImportRun, result: ImportResult, counts: _Counts,
            located: _Located, table: TableFile, write_file: bool) -> None:
    result.rows_read = counts.rows_read
    result.imported, result.updated = counts.imported, counts.updated
    result.unchanged = counts.unchanged
    result.rejected = len(counts.rejected)
    result.duplicates = counts.duplicates
    result.reasons = dict(counts.reasons)
    if counts.rejected and write_file:
        result.rejects_file = str(write_rejects(
            paths.rejects_dir(), table.path, located.sheet.name, located.columns.headers,
            counts.rejected, located.sheet.first_column))
    run.rows_read, run.imported, run.updated = result.rows_read, result.imported, result.updated
    run.unchanged, run.rejected, run.duplicates = result.unchanged, result.rejected, \
        result.duplicates
    run.rejects_file = result.rejects_file
    run.finished_at = utcnow()
    run.details = {"reasons": result.reasons, "columns": result.columns,
                   "cycles": result.cycles, "ignored_columns": result.ignored_columns}
    session.flush()


def _execute(
    factory: sessionmaker[Session], path: Path, *, kind: str, programme_id: int | None,
    batch: int | None, care_month: str | None, sheet: str | None, strict: bool, dry_run: bool,
    user: str, progress: Progress,
) -> ImportResult:
    table = open_table(path)
    try:
        with UnitOfWork(factory, write=True) as uow:
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
            if batch is not None:
                batch_row = get_batch(session, pid, batch)
                if care is not None:
                    batch_row.care_year, batch_row.care_month = care
                care = (batch_row.care_year, batch_row.care_month)
            located = _locate(table, sheet)
            columns = located.columns
            result = ImportResult(
                kind=kind, file=str(path), sha256=table.sha256, sheet=located.sheet.name,
                header_row=columns.header_row, programme_id=pid, dry_run=dry_run,
                care_month=f"{care[1]:02d}/{care[0]}" if care else None,
                columns={name: columns.headers[col] for name, col in columns.fields.items()},
            )
            conn = session.connection()
            if kind == "subscribers":
                _required_check(columns, ("msisdn", "subscriber_type", "status"), table,
                                located.sheet.name)
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
                result.cycles = [format_cycle(c) for c in sorted(set(cycles.values()))]
                normalise: Callable[..., Any] = _SubscriberRows(
                    columns, cycles, located.sheet.legacy_encoding, conn.dialect.name == "sqlite")
            else:
                _required_check(columns, ("msisdn",), table, located.sheet.name)
                normalise = _exclusion_rows(columns, located.sheet.legacy_encoding)
            result.ignored_columns = list(columns.ignored)
            run = ImportRun(
                programme_id=pid, kind=kind, file_name=str(path), file_sha256=table.sha256,
                sheet=located.sheet.name, header_row=columns.header_row,
                care_month=result.care_month, user=user,
            )
            session.add(run)
            session.flush()
            result.import_id = run.id
            store = _SubscriberStore(conn, run.id) if kind == "subscribers" else \
                _ExclusionStore(conn, run.id, pid)
            total = located.sheet.total_rows
            savepoint = session.begin_nested()
            session.connection()  # emits the SAVEPOINT now: the store writes on the raw connection
            counts, superseded = _run_pass(located, _all_rows(located), normalise, store,
                                           progress, total, None)
            if superseded is not None:
                savepoint.rollback()
                store = _SubscriberStore(conn, run.id) if kind == "subscribers" else \
                    _ExclusionStore(conn, run.id, pid)
                counts, _ = _run_pass(located, _reread(table, located), normalise, store,
                                      progress, total, superseded)
            else:
                savepoint.commit()
            refuse = strict and counts.rejected
            _finish(session, run, result, counts, located, table, write_file=True)
            if refuse:
                raise ImportFileError(
                    f"Tệp {path.name} có {len(counts.rejected)} dòng bị từ chối nên không nhập "
                    f"dòng nào (chế độ --strict). Xem lý do trong {result.rejects_file}."
                )
            progress.report(total or counts.rows_read, total or counts.rows_read, "")
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


def _reread(table: TableFile, located: _Located) -> Iterator[tuple[int, list[Any]]]:
    return table.rows(located.sheet.name).rows


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
            raise _RowProblems([(exc.code, msisdn_col, exc.value)]) from exc
        source = text(cells[source_col]) if source_col is not None and source_col < width else None
        note = text(cells[note_col]) if note_col is not None and note_col < width else None
        return number.number, (source, note), []
    return normalise


def import_subscribers(
    factory: sessionmaker[Session], path: Path, *, programme_id: int | None = None,
    batch: int | None = None, care_month: str | None = None, sheet: str | None = None,
    strict: bool = False, dry_run: bool = False, user: str = "",
    progress: Progress | None = None,
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
        user: who imports (recorded with the run).
        progress: progress and cancel token.

    Returns:
        The counts, the rejects workbook and what was recognised.

    Raises:
        ImportFileError: the file is refused as a whole; nothing changed.
        UsageError: a needed option is missing or wrong.
        NotFoundError: no such programme or batch.
        Cancelled: the user cancelled; nothing changed.
    """
    return _execute(factory, path, kind="subscribers", programme_id=programme_id, batch=batch,
                    care_month=care_month, sheet=sheet, strict=strict, dry_run=dry_run,
                    user=user, progress=progress or NullProgress())


def import_exclusions(
    factory: sessionmaker[Session], path: Path, *, programme_id: int | None = None,
    sheet: str | None = None, dry_run: bool = False, user: str = "",
    progress: Progress | None = None,
) -> ImportResult:
    """Import a list of subscribers already in another current programme (same rules)."""
    return _execute(factory, path, kind="exclusions", programme_id=programme_id, batch=None,
                    care_month=None, sheet=sheet, strict=False, dry_run=dry_run, user=user,
                    progress=progress or NullProgress())


def stored_counts(factory: sessionmaker[Session]) -> dict[str, int]:
    """Rows in the main tables (for checks that an operation changed nothing)."""
    with UnitOfWork(factory) as uow:
        return {
            name: int(uow.session.execute(text(f"SELECT COUNT(*) FROM {name}")).scalar_one())
            for name in ("subscribers", "charges", "exclusions", "import_runs")
        }
