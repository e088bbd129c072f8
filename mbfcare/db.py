"""Engine, sessions, SQLite pragmas, migrations at start and backups; no Qt here."""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from mbfcare import paths
from mbfcare.errors import StorageError, UsageError

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite's own transaction handling would defer BEGIN; we issue BEGIN ourselves so
    # that write transactions can be IMMEDIATE and readers never block writers (WAL).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
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
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        event.listen(engine, "checkin", _sqlite_checkin)
        return engine
    return create_engine(url, pool_pre_ping=True)


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
            stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
            backup = backup_sqlite(path, paths.backups_dir() / f"truoc-nang-cap-{stamp}.sqlite")
            logger.info("backup before migration: %s", backup)
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


def open_database(url: str | None = None) -> tuple[Engine, sessionmaker[Session]]:
    """Engine and session factory for `url` (default database if None), migrated to head."""
    url = url or paths.default_db_url()
    engine = make_engine(url)
    migrate(engine, url)
    return engine, make_session_factory(engine)


def describe(url: str) -> str:
    """A short, password-free description of the database for the status bar and logs."""
    path = sqlite_path(url)
    if path is not None:
        return str(path)
    return make_url(url).render_as_string(hide_password=True)
