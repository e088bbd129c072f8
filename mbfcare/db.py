"""Engine, sessions, SQLite pragmas, migrations at start and backups; no Qt here."""

from __future__ import annotations

import datetime as dt
import logging
import os
import sqlite3
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from mbfcare import backup_files, paths
from mbfcare.backup_files import BackupFile, BackupPolicy
from mbfcare.errors import StorageError, UsageError

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

BUSY_TIMEOUT_MS = 10_000
"""How long a writer waits for another one before the user is told the database is busy."""
BUSY_TIMEOUT_ENV = "MBFCARE_BUSY_TIMEOUT_MS"
"""Overrides `BUSY_TIMEOUT_MS` (tests make it short; an office with slow disks longer)."""


def busy_timeout_ms() -> int:
    """`MBFCARE_BUSY_TIMEOUT_MS` when it is a whole number of milliseconds, else 10 s."""
    value = os.environ.get(BUSY_TIMEOUT_ENV, "")
    return int(value) if value.isdigit() else BUSY_TIMEOUT_MS


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite's own transaction handling would defer BEGIN; we issue BEGIN ourselves so
    # that write transactions can be IMMEDIATE and readers never block writers (WAL).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms()}")
    cursor.execute("PRAGMA journal_mode=WAL")
    # A printed receipt must never describe a handover that a power cut rolled back.
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    options = conn.get_execution_options()
    if options.get("mbfcare_bulk", False):
        # A bulk load writes rows whose keys it made itself; checking a parent row for each
        # of millions of children costs seconds. The pragma only works outside a transaction,
        # and `_sqlite_checkin` turns the checks back on when the connection is returned.
        conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
    conn.exec_driver_sql("BEGIN IMMEDIATE" if options.get("mbfcare_write", False) else "BEGIN")


def _sqlite_checkin(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def sqlite_path(url: str) -> Path | None:
    """The file behind an SQLite URL, or None for other databases and in-memory SQLite."""
    parsed = make_url(url)
    if (
        parsed.get_backend_name() != "sqlite"
        or not parsed.database
        or parsed.database == ":memory:"
    ):
        return None
    return Path(parsed.database)


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets WAL, foreign keys and a busy timeout.

    Raises:
        UsageError: the URL cannot be understood.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise UsageError(f"Địa chỉ cơ sở dữ liệu không hợp lệ: {url!r}.") from exc
    if parsed.get_backend_name() == "sqlite":
        path = sqlite_path(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": busy_timeout_ms() / 1000})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        event.listen(engine, "checkin", _sqlite_checkin)
        return engine
    if parsed.get_backend_name() == "postgresql":
        return _postgres_engine(parsed)
    return create_engine(url, pool_pre_ping=True)


def _postgres_engine(parsed: URL) -> Engine:
    """A PostgreSQL engine through psycopg 3, whatever driver the URL names (or none)."""
    if parsed.drivername in ("postgresql", "postgres"):
        # A plain `postgresql://` would pick psycopg2, which MBF Care does not install.
        parsed = parsed.set(drivername="postgresql+psycopg")
    try:
        return create_engine(
            parsed, pool_pre_ping=True,
            # Each workstation names itself in the server's activity view.
            connect_args={"application_name": "MBF Care", "connect_timeout": 10})
    except ModuleNotFoundError as exc:
        raise UsageError(
            "Thiếu thư viện kết nối PostgreSQL (psycopg); cài bằng lệnh "
            "'pip install \"mbfcare[postgres]\"' rồi mở lại.") from exc


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions whose objects stay readable after commit (DTOs are built from them)."""
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str) -> Config:
    """An Alembic config built in code, so the installed app migrates without alembic.ini."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["configure_logger"] = False
    return cfg


def current_revision(engine: Engine) -> str | None:
    """The schema revision the database is at (None for an empty database)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    """The newest schema revision this version of the software knows."""
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def verify_sqlite_copy(path: Path) -> str | None:
    """None when the SQLite file opens and `PRAGMA integrity_check` says ok, else what is wrong."""
    try:
        conn = sqlite3.connect(str(path))
        try:
            rows = [str(r[0]) for r in conn.execute("PRAGMA integrity_check(20)")]
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return str(exc)
    return None if rows == ["ok"] else "; ".join(rows)


def backup_sqlite(source: Path, target: Path) -> Path:
    """A consistent, verified copy of a live SQLite file (the online backup API, WAL included).

    The copy is written beside `target` under a temporary name, checked with
    `verify_sqlite_copy` and only then moved to `target`, so a failed backup leaves nothing
    behind and never half-overwrites an older backup.

    Raises:
        StorageError: the source cannot be read, or the copy is not sound.
    """
    if not source.is_file():
        raise StorageError(f"Không có tệp cơ sở dữ liệu '{source}' để sao lưu.")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        # mode=rw: never create an empty database where the source was expected.
        src = sqlite3.connect(source.resolve().as_uri() + "?mode=rw", uri=True, timeout=30)
        try:
            dst = sqlite3.connect(str(partial))
            try:
                src.backup(dst)
                # One self-contained file: no -wal/-shm beside the backup.
                dst.execute("PRAGMA journal_mode=DELETE")
            finally:
                dst.close()
        finally:
            src.close()
    except sqlite3.Error as exc:
        partial.unlink(missing_ok=True)
        raise StorageError(f"Không sao lưu được '{source}' ({exc}). Kiểm tra chỗ trống trên "
                           f"đĩa và quyền ghi vào '{target.parent}'.") from exc
    problem = verify_sqlite_copy(partial)
    if problem is not None:
        partial.unlink(missing_ok=True)
        raise StorageError(f"Bản sao lưu của '{source}' không toàn vẹn ({problem}) nên đã bị "
                           "xóa; chạy 'mbfcare check' để kiểm tra cơ sở dữ liệu gốc.")
    partial.replace(target)
    return target


def make_backup(database: Path, kind: str, policy: BackupPolicy | None = None,
                now: dt.datetime | None = None) -> BackupFile:
    """A verified backup of `database` in the policy's folder, then the old ones thinned.

    Args:
        database: the SQLite file.
        kind: why (`backup_files.KINDS`), part of the file name.
        policy: folder and counts (default: the stored settings).
        now: the time in the name (default: now).

    Raises:
        StorageError: the copy could not be made or is not sound; nothing was kept.
    """
    policy = policy or BackupPolicy.current()
    when = (now or dt.datetime.now()).replace(microsecond=0)
    try:
        policy.folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(f"Không tạo được thư mục sao lưu '{policy.folder}' ({exc}); chọn "
                           "thư mục khác trong Cài đặt > Cơ sở dữ liệu.") from exc
    target = backup_files.next_backup_path(database, policy.folder, kind, when)
    backup_sqlite(database, target)
    gone = backup_files.prune_backups(database, policy, when)
    logger.info("backup (%s) written to %s; %d old backup(s) removed", kind or "automatic",
                target, len(gone))
    return BackupFile(target, when, kind, target.stat().st_size)


def migrate(engine: Engine, url: str) -> bool:
    """Bring the database to the newest schema, backing an older SQLite file up first.

    Returns:
        True if a migration ran.

    Raises:
        StorageError: the database cannot be opened or migrated.
    """
    try:
        current = current_revision(engine)
        head = head_revision()
        if current == head:
            return False
        path = sqlite_path(url)
        if current is not None and path is not None and path.exists():
            backup = make_backup(path, backup_files.BEFORE_MIGRATION)
            logger.info("backup before migration: %s", backup.file)
        with engine.begin() as conn:
            cfg = alembic_config(url)
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
        logger.info("database migrated from %s to %s", current, head)
        return True
    except OperationalError as exc:
        raise StorageError(
            f"Không mở được cơ sở dữ liệu ({exc.orig}). Kiểm tra đường dẫn và quyền ghi."
        ) from exc


def check_location(url: str) -> None:
    """Refuse an SQLite file on a network share, a network drive or a cloud-synced folder.

    Two machines writing one SQLite file through a share, or a sync client copying it while
    it is written, corrupt it; `MBFCARE_ALLOW_SHARED_FOLDER=1` lets an administrator who
    knows the risk through.

    Raises:
        StorageError: the sentence naming the place and what to do instead.
    """
    path = sqlite_path(url)
    if path is None:
        return
    problem = paths.shared_folder_problem(path)
    if problem is not None:
        raise StorageError(problem)


def open_database(url: str | None = None) -> tuple[Engine, sessionmaker[Session]]:
    """Engine and session factory for `url` (default database if None), migrated to head.

    Raises:
        StorageError: the file is on a shared folder, or cannot be opened or migrated.
    """
    url = url or paths.default_db_url()
    check_location(url)
    engine = make_engine(url)
    migrate(engine, url)
    return engine, make_session_factory(engine)


def describe(url: str) -> str:
    """A short, password-free description of the database for the status bar and logs."""
    path = sqlite_path(url)
    if path is not None:
        return str(path)
    return make_url(url).render_as_string(hide_password=True)
