"""Keeping the database safe: a consistent backup while it is in use, and an integrity check.

`backup_database` copies a live SQLite file with the online backup API (the one backup
function in `mbfcare.db`, also used before a migration) and keeps the copy only when it
passes `PRAGMA integrity_check`; a PostgreSQL database is dumped with `pg_dump`.

`check_database` looks for what should never happen: a damaged file, a broken reference, an
audit log edited outside the application, and care data that disagrees with itself (stock
balances against the ledger, handovers against the entries, step dates against the steps).
Each problem is one sentence naming the record, with the phone number masked.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, and_, case, exists, func, or_, select, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.orm import Session, aliased, sessionmaker

from mbfcare import backup_files, paths
from mbfcare.backup_files import BackupFile, BackupPolicy
from mbfcare.db import backup_sqlite, make_backup, sqlite_path
from mbfcare.domain.steps import OUTCOME_LABELS, STEP_LABELS, STEPS
from mbfcare.domain.values import format_date, format_number, mask_msisdn
from mbfcare.errors import StorageError, UsageError
from mbfcare.models import (
    CareCase,
    CareStep,
    GiftItem,
    Handover,
    StockBalance,
    StockLocation,
    StockMovement,
    Subscriber,
)
from mbfcare.services import audit, backups
from mbfcare.services.stock import MOVEMENT_LABELS
from mbfcare.uow import UnitOfWork

logger = logging.getLogger(__name__)

MAX_PER_CHECK = 50
"""Problems listed per kind of check; beyond that one sentence says how many more."""

PG_DUMP_HELP = ("Cài PostgreSQL client (cùng phiên bản với máy chủ: bộ cài PostgreSQL cho "
                "Windows, hoặc 'apt install postgresql-client') và thêm thư mục bin vào PATH, "
                "hoặc nhờ quản trị sao lưu trên máy chủ cơ sở dữ liệu.")


def format_size(size: int) -> str:
    """A file size the way people read it: `812 byte`, `4,5 KB`, `12,3 MB`."""
    if size < 1024:
        return f"{format_number(size)} byte"
    value, unit = float(size) / 1024, "KB"
    for bigger in ("MB", "GB"):
        if value < 1024:
            break
        value, unit = value / 1024, bigger
    return f"{value:.1f} {unit}".replace(".", ",")


# --------------------------------------------------------------------------- backup


@dataclass(frozen=True)
class BackupResult:
    """A backup that was kept: where, how big, and whether the copy was checked."""

    file: Path
    bytes: int
    verified: bool

    @property
    def text(self) -> str:
        """The sentence for the user."""
        checked = ("đã kiểm tra bản sao toàn vẹn" if self.verified
                   else "chưa kiểm tra được bản sao (không có pg_restore)")
        return (f"Đã sao lưu cơ sở dữ liệu vào {self.file} ({format_size(self.bytes)}); "
                f"{checked}.")

    def to_json(self) -> dict[str, Any]:
        """The JSON the command line prints."""
        return {"file": str(self.file), "bytes": self.bytes, "verified": self.verified}


def _stamp() -> str:
    return dt.datetime.now().strftime("%Y-%m-%d_%H%M%S")


def default_backup_file(suffix: str = ".sqlite") -> Path:
    """A new file in the data folder's `backups/`, named by the time: `mbfcare-…_143012.sqlite`."""
    folder = paths.backups_dir()
    stem = f"mbfcare-{_stamp()}"
    target = folder / f"{stem}{suffix}"
    number = 2
    while target.exists():  # two backups in the same second
        target = folder / f"{stem}-{number}{suffix}"
        number += 1
    return target


def backup_database(source: str | Engine | None = None, out: Path | None = None
                    ) -> BackupResult:
    """A consistent copy of the database while it may be in use.

    Args:
        source: the database URL or an engine on it (None: the default database).
        out: where to write the copy (default: a time-stamped file in the backups folder).

    Raises:
        UsageError: not a database that can be backed up here, or `pg_dump` is missing.
        StorageError: the copy could not be made or is not sound; nothing was kept.
    """
    if isinstance(source, Engine):
        url = source.url.render_as_string(hide_password=False)
    else:
        url = source or paths.default_db_url()
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise UsageError(f"Địa chỉ cơ sở dữ liệu không hợp lệ: {url!r}.") from exc
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        return _pg_dump(url, out or default_backup_file(".dump"))
    if backend != "sqlite":
        raise UsageError(f"Chỉ sao lưu được SQLite và PostgreSQL, không phải '{backend}'.")
    path = sqlite_path(url)
    if path is None:
        raise UsageError("Cơ sở dữ liệu trong bộ nhớ không có tệp để sao lưu.")
    if out is None:
        # Into the backups folder, named after the database, thinned like the automatic ones.
        if not path.is_file():
            raise StorageError(f"Không có tệp cơ sở dữ liệu '{path}' để sao lưu.")
        kept = make_backup(path, backup_files.MANUAL)
        return BackupResult(kept.file, kept.size, True)
    target = out
    if target.exists() and target.resolve() == path.resolve():
        raise UsageError(f"Tệp sao lưu '{target}' chính là cơ sở dữ liệu; chọn tệp khác.")
    backup_sqlite(path, target)
    logger.info("backup of %s written to %s", path, target)
    return BackupResult(target, target.stat().st_size, True)


def _pg_dump(url: str, target: Path) -> BackupResult:
    """`pg_dump --format=custom` into `target`, the password passed through the environment."""
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise UsageError(f"Không sao lưu được PostgreSQL: máy này chưa cài pg_dump. "
                         f"{PG_DUMP_HELP}")
    parsed = make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    # libpq understands postgresql://user@host:port/db?sslmode=…, not SQLAlchemy's driver name.
    conninfo = URL.create("postgresql", username=parsed.username, host=parsed.host,
                          port=parsed.port, database=parsed.database,
                          query=parsed.query).render_as_string(hide_password=False)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    done = subprocess.run([pg_dump, "--format=custom", "--no-password", f"--file={partial}",
                           f"--dbname={conninfo}"],
                          env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        partial.unlink(missing_ok=True)
        reason = (done.stderr.strip().splitlines() or ["không rõ lý do"])[-1]
        raise StorageError(f"pg_dump không sao lưu được cơ sở dữ liệu ({reason}).")
    verified = False
    pg_restore = shutil.which("pg_restore")
    if pg_restore is not None:
        listed = subprocess.run([pg_restore, "--list", str(partial)], capture_output=True,
                                text=True, check=False)
        if listed.returncode != 0:
            partial.unlink(missing_ok=True)
            raise StorageError("Bản sao lưu do pg_dump ghi không đọc lại được nên đã bị xóa "
                               f"({listed.stderr.strip()}).")
        verified = True
    partial.replace(target)
    logger.info("pg_dump written to %s", target)
    return BackupResult(target, target.stat().st_size, verified)


# --------------------------------------------------------------------------- check


@dataclass(frozen=True)
class CheckResult:
    """What the integrity check found: `ok` when nothing."""

    ok: bool
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """Information that is not a problem (the state of the backups)."""

    @property
    def text(self) -> str:
        """The report for the user."""
        if self.ok:
            return "\n".join(["Cơ sở dữ liệu không có vấn đề.", *self.notes])
        return "\n".join([f"Tìm thấy {format_number(len(self.problems))} vấn đề:",
                          *(f"- {p}" for p in self.problems), *self.notes])

    def to_json(self) -> dict[str, Any]:
        """The JSON the command line prints."""
        return {"ok": self.ok, "problems": list(self.problems), "notes": list(self.notes)}


def _capped(sentences: Sequence[str]) -> list[str]:
    if len(sentences) <= MAX_PER_CHECK:
        return list(sentences)
    rest = len(sentences) - MAX_PER_CHECK
    return [*sentences[:MAX_PER_CHECK],
            f"… và {format_number(rest)} trường hợp tương tự như trên."]


def _who(msisdn: str, case_id: int) -> str:
    return f"Thuê bao {mask_msisdn(msisdn)} (hồ sơ số {case_id})"


def _sqlite_file(session: Session) -> list[str]:
    rows = [str(r[0]) for r in session.execute(text("PRAGMA integrity_check(100)"))]
    if rows == ["ok"]:
        return []
    return [f"Tệp cơ sở dữ liệu bị hỏng: {row}. Khôi phục từ bản sao lưu gần nhất."
            for row in rows]


def _sqlite_references(session: Session) -> list[str]:
    return [f"Bảng {table}, dòng {rowid}: trỏ đến một dòng không có trong bảng {parent}."
            for table, rowid, parent, _fk in session.execute(text("PRAGMA foreign_key_check"))]


_COUNTERS = {"received": "receive", "transferred_in": "transfer_in",
             "transferred_out": "transfer_out", "handed_over": "handover",
             "returned": "return", "written_off": "write_off"}


def _stock(session: Session) -> list[str]:
    m = StockMovement
    sums = (select(m.item_id, m.location_id, func.sum(m.quantity).label("total"),
                   *(func.sum(case((m.kind == kind, func.abs(m.quantity)), else_=0))
                     .label(kind) for kind in _COUNTERS.values()))
            .group_by(m.item_id, m.location_id).subquery())
    b = StockBalance
    rows = session.execute(
        select(GiftItem.name, StockLocation.name, b.on_hand,
               *(getattr(b, counter) for counter in _COUNTERS),
               func.coalesce(sums.c.total, 0),
               *(func.coalesce(sums.c[kind], 0) for kind in _COUNTERS.values()))
        .join(GiftItem, GiftItem.id == b.item_id)
        .join(StockLocation, StockLocation.id == b.location_id)
        .outerjoin(sums, and_(sums.c.item_id == b.item_id, sums.c.location_id == b.location_id))
        .order_by(StockLocation.name, GiftItem.name))
    found: list[str] = []
    width = len(_COUNTERS)
    for row in rows:
        item, place, on_hand = row[0], row[1], row[2]
        kept, ledger = row[3:3 + width], row[4 + width:]
        total = row[3 + width]
        if on_hand != total:
            found.append(f"Kho quà: {item} tại {place} ghi còn {format_number(on_hand)} nhưng "
                         f"sổ kho cộng lại được {format_number(total)}.")
        for kind, have, should in zip(_COUNTERS.values(), kept, ledger, strict=True):
            if have != should:
                found.append(f"Kho quà: {item} tại {place} ghi '{MOVEMENT_LABELS[kind]}' "
                             f"{format_number(have)} nhưng sổ kho có {format_number(should)}.")
    orphans = session.execute(
        select(GiftItem.name, StockLocation.name, func.count())
        .select_from(m)
        .join(GiftItem, GiftItem.id == m.item_id)
        .join(StockLocation, StockLocation.id == m.location_id)
        .where(~exists().where(b.item_id == m.item_id, b.location_id == m.location_id))
        .group_by(GiftItem.name, StockLocation.name))
    found += [f"Kho quà: sổ kho có {format_number(n)} dòng về {item} tại {place} nhưng không "
              "có số tồn kho." for item, place, n in orphans]
    return found


def _given_handovers(session: Session) -> list[str]:
    step = aliased(CareStep)
    rows = session.execute(
        select(CareCase.id, Subscriber.msisdn, CareCase.handover_on, Handover.given_on,
               exists().where(step.care_case_id == CareCase.id, step.step == "handover"))
        .select_from(Handover)
        .join(CareCase, CareCase.id == Handover.care_case_id)
        .join(Subscriber, Subscriber.id == CareCase.subscriber_id)
        .where(Handover.status == "given",
               or_(CareCase.handover_on.is_(None), Handover.given_on.is_(None),
                   CareCase.handover_on != Handover.given_on))
        .order_by(CareCase.id))
    found: list[str] = []
    for case_id, msisdn, case_on, given_on, has_step in rows:
        who = _who(msisdn, case_id)
        if case_on is None:
            missing = "ngày trao quà" + ("" if has_step else " và bước 'Trao quà'")
            found.append(f"{who}: đã trao quà nhưng hồ sơ thiếu {missing}.")
        elif given_on is None:
            found.append(f"{who}: lần trao quà không ghi ngày trao.")
        else:
            found.append(f"{who}: hồ sơ ghi trao quà ngày {format_date(case_on)} nhưng lần "
                         f"trao quà ghi ngày {format_date(given_on)}.")
    return found


def _cases_without_handover(session: Session) -> list[str]:
    rows = session.execute(
        select(CareCase.id, Subscriber.msisdn, CareCase.handover_on)
        .join(Subscriber, Subscriber.id == CareCase.subscriber_id)
        .where(CareCase.handover_on.is_not(None),
               ~exists().where(Handover.care_case_id == CareCase.id,
                               Handover.status == "given"))
        .order_by(CareCase.id))
    return [f"{_who(msisdn, case_id)}: hồ sơ ghi đã trao quà ngày {format_date(on)} nhưng "
            "không có lần trao quà nào." for case_id, msisdn, on in rows]


def _owed(session: Session) -> list[str]:
    owed = exists().where(Handover.care_case_id == CareCase.id, Handover.status == "owed")
    rows = session.execute(
        select(CareCase.id, Subscriber.msisdn, CareCase.gift_owed)
        .join(Subscriber, Subscriber.id == CareCase.subscriber_id)
        .where(or_(and_(CareCase.gift_owed.is_(True), ~owed),
                   and_(CareCase.gift_owed.is_not(True), owed)))
        .order_by(CareCase.id))
    return [f"{_who(msisdn, case_id)}: hồ sơ ghi đang nợ quà nhưng không có lần ghi nợ nào."
            if flag else
            f"{_who(msisdn, case_id)}: có lần ghi nợ quà nhưng hồ sơ không ghi đang nợ quà."
            for case_id, msisdn, flag in rows]


def _closed_with_handover(session: Session) -> list[str]:
    rows = session.execute(
        select(CareCase.id, Subscriber.msisdn, CareCase.outcome, Handover.status)
        .join(Subscriber, Subscriber.id == CareCase.subscriber_id)
        .join(Handover, Handover.care_case_id == CareCase.id)
        .where(CareCase.outcome.is_not(None))
        .order_by(CareCase.id))
    return [f"{_who(msisdn, case_id)}: đã đóng với kết quả "
            f"'{OUTCOME_LABELS.get(str(outcome), outcome)}' nhưng "
            + ("đã được trao quà." if status == "given" else "đang được ghi nợ quà.")
            for case_id, msisdn, outcome, status in rows]


def _step_dates(session: Session) -> list[str]:
    found: list[str] = []
    for step in STEPS:
        column = getattr(CareCase, f"{step}_on")
        row = aliased(CareStep)
        rows = session.execute(
            select(CareCase.id, Subscriber.msisdn, column, row.done_on)
            .join(Subscriber, Subscriber.id == CareCase.subscriber_id)
            .outerjoin(row, and_(row.care_case_id == CareCase.id, row.step == step))
            .where(or_(and_(column.is_(None), row.id.is_not(None)),
                       and_(column.is_not(None), row.id.is_(None)),
                       column != row.done_on))
            .order_by(CareCase.id))
        label = STEP_LABELS[step]
        for case_id, msisdn, case_on, done_on in rows:
            who = _who(msisdn, case_id)
            if done_on is None:
                found.append(f"{who}: hồ sơ ghi bước '{label}' ngày {format_date(case_on)} "
                             "nhưng không có dòng bước này.")
            elif case_on is None:
                found.append(f"{who}: có dòng bước '{label}' ngày {format_date(done_on)} "
                             "nhưng hồ sơ không ghi ngày.")
            else:
                found.append(f"{who}: bước '{label}' ghi ngày {format_date(case_on)} trong hồ "
                             f"sơ nhưng ngày {format_date(done_on)} ở dòng bước.")
    return found


_CHECKS: tuple[tuple[str, Callable[[Session], list[str]]], ...] = (
    ("số tồn kho quà", _stock),
    ("các lần trao quà", _given_handovers),
    ("ngày trao quà của hồ sơ", _cases_without_handover),
    ("quà đang nợ", _owed),
    ("hồ sơ đã đóng", _closed_with_handover),
    ("ngày các bước chăm sóc", _step_dates),
)


def _run(label: str, check: Callable[[], list[str]]) -> list[str]:
    try:
        return _capped(check())
    except (DBAPIError, StorageError) as exc:
        reason = exc.orig if isinstance(exc, DBAPIError) else exc
        return [f"Không kiểm tra được {label} ({reason})."]


def check_database(factory: sessionmaker[Session], policy: BackupPolicy | None = None
                   ) -> CheckResult:
    """Look for damage and for care data that disagrees with itself; read-only.

    On SQLite the file itself (`PRAGMA integrity_check`) and the references
    (`PRAGMA foreign_key_check`) are checked first; then the audit chain; then the
    consistency of the care data, each as one set-based query. The state of the backups
    (how many, how old the newest) is added as a note, not a problem.
    """
    problems: list[str] = []

    def in_session(check: Callable[[Session], list[str]]) -> Callable[[], list[str]]:
        def run() -> list[str]:
            with UnitOfWork(factory) as uow:
                return check(uow.session)
        return run

    with UnitOfWork(factory) as uow:
        dialect = uow.session.get_bind().dialect.name
    if dialect == "sqlite":
        problems += _run("tệp cơ sở dữ liệu", in_session(_sqlite_file))
        problems += _run("các liên kết giữa bảng", in_session(_sqlite_references))
    problems += _run("nhật ký thay đổi", lambda: audit.verify_chain(factory))
    for label, check in _CHECKS:
        problems += _run(label, in_session(check))
    logger.info("database check: %d problem(s)", len(problems))
    url = backups.factory_url(factory)
    notes = [backups.backup_state(url, policy)] if url is not None else []
    return CheckResult(not problems, problems, notes)


# --------------------------------------------------------------------------- recovery


@dataclass(frozen=True)
class RecoveryReport:
    """A damaged database found at start, and what was done about it.

    Attributes:
        database: the database file.
        problem: what the quick check found.
        damaged: where the damaged file went (None: left in place, no good backup).
        restored: the backup put in its place (None: none was sound).
        skipped: newer backups that failed their own check.
    """

    database: Path
    problem: str
    damaged: Path | None
    restored: BackupFile | None
    skipped: tuple[Path, ...] = ()

    @property
    def text(self) -> str:
        """The sentences for the user."""
        if self.restored is None:
            return (f"Tệp cơ sở dữ liệu {self.database} bị hỏng ({self.problem}) và không có "
                    "bản sao lưu nào dùng được để khôi phục. Đừng xóa hay ghi đè tệp này; hãy "
                    "gọi bộ phận hỗ trợ (IT) để cứu dữ liệu.")
        return (f"Tệp cơ sở dữ liệu bị hỏng nên đã được cất sang {self.damaged}; đã khôi phục "
                f"bản sao lưu lúc {backups.format_taken_at(self.restored.taken_at)}. Công việc "
                "ghi sau giờ đó cần nhập lại.")

    def to_json(self) -> dict[str, Any]:
        """The JSON form (logs, tests)."""
        return {"database": str(self.database), "problem": self.problem,
                "damaged": str(self.damaged) if self.damaged else None,
                "restored": str(self.restored.file) if self.restored else None,
                "taken_at": self.restored.taken_at.isoformat() if self.restored else None,
                "skipped": [str(p) for p in self.skipped]}


def quick_check_file(path: Path) -> str | None:
    """What `PRAGMA quick_check` finds wrong with an SQLite file, None when it looks sound.

    A file that cannot be opened for another reason (locked, no permission) is not called
    damaged: opening the database reports that with its own sentence.
    """
    import sqlite3

    try:
        # Read-only: the check must not checkpoint a left-over WAL into a damaged file.
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
        try:
            rows = [str(r[0]) for r in conn.execute("PRAGMA quick_check(20)")]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        text = str(exc).lower()
        if "not a database" in text or "malformed" in text or "corrupt" in text:
            return str(exc)
        return None
    return None if rows == ["ok"] else "; ".join(rows)


def recover_if_damaged(url: str, policy: BackupPolicy | None = None
                       ) -> RecoveryReport | None:
    """At start: quick-check the SQLite file; if damaged, put the newest sound backup back.

    The damaged file (with its -wal/-shm) is moved aside as `<name>.damaged` (`.damaged-2`
    …) only when a sound backup replaces it; with none, it stays where it is, so that nothing
    starts over on an empty database by mistake. Runs before the database is opened.

    Returns:
        None when the file is sound, absent or not SQLite; else what was found and done.

    Raises:
        StorageError: the damaged file could not be moved (open in another program).
    """
    path = backups.database_file(url)
    if path is None or not path.is_file():
        return None
    problem = quick_check_file(path)
    if problem is None:
        return None
    logger.error("database %s failed its quick check: %s", path, problem)
    policy = policy or BackupPolicy.current()
    skipped: list[Path] = []
    good: BackupFile | None = None
    for candidate in backup_files.list_backups(path, policy.folder):
        if backups.verify_backup(candidate.file) is None:
            good = candidate
            break
        logger.warning("backup %s is not sound, trying an older one", candidate.file)
        skipped.append(candidate.file)
    if good is None:
        return RecoveryReport(path, problem, None, None, tuple(skipped))
    temporary = path.with_name(path.name + ".restoring")
    try:
        shutil.copyfile(good.file, temporary)
        damaged = backups.move_aside(path)
        temporary.replace(path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise StorageError(f"Tệp cơ sở dữ liệu {path} bị hỏng nhưng không cất sang bên được "
                           f"({exc}); đóng các chương trình đang mở nó rồi mở lại.") from exc
    logger.warning("database %s restored from %s", path, good.file)
    return RecoveryReport(path, problem, damaged, good, tuple(skipped))


__all__ = ["BackupResult", "CheckResult", "RecoveryReport", "backup_database",
           "check_database", "default_backup_file", "format_size", "quick_check_file",
           "recover_if_damaged"]
