"""Backups of the SQLite database as the user sees them: made when needed, listed, restored.

When: at start and on close of the window, before every migration (`mbfcare.db.migrate`) and
every import, and while the window is open at least every `BackupPolicy.minutes` minutes if
the database changed. "Changed" means the database file or its write-ahead log was written
after the newest backup was started (file times, which every process writing the file moves,
unlike `PRAGMA data_version`, which only sees other connections of one process).

PostgreSQL databases are backed up on the server (`pg_dump`); these functions say so
instead of doing nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

from mbfcare import backup_files, db
from mbfcare.backup_files import BackupFile, BackupPolicy
from mbfcare.domain.actors import Actor
from mbfcare.domain.values import format_number
from mbfcare.errors import ImportFileError, StorageError, UsageError

logger = logging.getLogger(__name__)

POSTGRES_TEXT = ("Cơ sở dữ liệu PostgreSQL do máy chủ sao lưu (pg_dump, hằng ngày, theo lịch "
                 "của quản trị); chương trình không tự sao lưu nó. Khôi phục bằng pg_restore "
                 "trên máy chủ.")
IN_USE_TEXT = ("Cơ sở dữ liệu {file} đang được mở ở cửa sổ MBF Care hoặc chương trình khác; "
               "đóng tất cả rồi khôi phục lại.")
SIDE_FILES = ("-wal", "-shm", "-journal")
"""What SQLite keeps beside a database file; never to be applied to another file."""


def database_file(url: str) -> Path | None:
    """The SQLite file of `url`, None for PostgreSQL and in-memory SQLite.

    Raises:
        UsageError: the URL cannot be understood.
    """
    try:
        make_url(url)
    except ArgumentError as exc:
        raise UsageError(f"Địa chỉ cơ sở dữ liệu không hợp lệ: {url!r}.") from exc
    return db.sqlite_path(url)


def factory_url(factory: sessionmaker[Session]) -> str | None:
    """The URL (with its password) of the database a session factory opens, if bound."""
    bind = factory.kw.get("bind")
    url = getattr(bind, "url", None)
    return None if url is None else url.render_as_string(hide_password=False)


# --------------------------------------------------------------------------- listing


@dataclass(frozen=True)
class BackupList:
    """The backups of one database, newest first.

    Attributes:
        database: the SQLite file (None for PostgreSQL).
        folder: where its backups are.
        backups: newest first.
        note: a sentence instead of a list (PostgreSQL), else "".
    """

    database: Path | None
    folder: Path
    backups: tuple[BackupFile, ...]
    note: str = ""

    @property
    def newest(self) -> BackupFile | None:
        """The newest backup, if any."""
        return self.backups[0] if self.backups else None


def list_database_backups(url: str, policy: BackupPolicy | None = None) -> BackupList:
    """The backups of the database at `url`. Runs on a worker: no UI calls here."""
    policy = policy or BackupPolicy.current()
    path = database_file(url)
    if path is None:
        return BackupList(None, policy.folder, (), POSTGRES_TEXT)
    return BackupList(path, policy.folder,
                      tuple(backup_files.list_backups(path, policy.folder)))


def format_taken_at(when: dt.datetime) -> str:
    """`14:30 ngày 24/11/2026`: how a backup's time is told to the user."""
    return f"{when:%H:%M} ngày {when:%d/%m/%Y}"


def format_age(age: dt.timedelta) -> str:
    """`35 phút`, `5 giờ`, `3 ngày`."""
    minutes = max(int(age.total_seconds() // 60), 0)
    if minutes < 60:
        return f"{minutes} phút"
    if minutes < 48 * 60:
        return f"{minutes // 60} giờ"
    return f"{format_number(minutes // (24 * 60))} ngày"


def backup_state(url: str, policy: BackupPolicy | None = None,
                 now: dt.datetime | None = None) -> str:
    """One sentence about the backups (for `mbfcare check`): how many, how old the newest."""
    listing = list_database_backups(url, policy)
    if listing.note:
        return listing.note
    newest = listing.newest
    if newest is None:
        return f"Chưa có bản sao lưu nào trong {listing.folder}."
    age = (now or dt.datetime.now()) - newest.taken_at
    return (f"Sao lưu: {format_number(len(listing.backups))} bản trong {listing.folder}; bản "
            f"mới nhất lúc {format_taken_at(newest.taken_at)} ({format_age(age)} trước).")


# --------------------------------------------------------------------------- making


def changed_since(database: Path, backup: BackupFile | None) -> bool:
    """Whether the file or its write-ahead log was written after `backup` was started."""
    if backup is None:
        return True
    started = backup.taken_at.timestamp()
    for suffix in ("", "-wal"):
        try:
            written = os.stat(f"{database}{suffix}").st_mtime
        except FileNotFoundError:
            continue
        # The name keeps whole seconds: a write in the same second counts as a change.
        if written >= started:
            return True
    return False


def backup_if_changed(url: str, policy: BackupPolicy | None = None,
                      kind: str = backup_files.AUTOMATIC) -> BackupFile | None:
    """A verified backup when the SQLite file changed since the newest one, else None.

    Runs on a worker: no UI calls here. None also for PostgreSQL (the server's job) and for
    a database file that does not exist yet.

    Raises:
        StorageError: the copy could not be made or is not sound; nothing was kept.
    """
    path = database_file(url)
    if path is None or not path.is_file():
        return None
    policy = policy or BackupPolicy.current()
    backups = backup_files.list_backups(path, policy.folder)
    if not changed_since(path, backup_files.newest(backups)):
        logger.debug("backup skipped: %s unchanged", path)
        return None
    return db.make_backup(path, kind, policy)


def backup_now(url: str, policy: BackupPolicy | None = None) -> BackupFile:
    """A verified backup whether or not anything changed ("Sao lưu ngay").

    Raises:
        UsageError: a PostgreSQL database (backed up on the server) or in-memory SQLite.
        StorageError: the copy could not be made or is not sound.
    """
    path = database_file(url)
    if path is None:
        raise UsageError(POSTGRES_TEXT if url.startswith("postgresql") else
                         "Cơ sở dữ liệu trong bộ nhớ không có tệp để sao lưu.")
    return db.make_backup(path, backup_files.MANUAL, policy)


def backup_before_import(factory: sessionmaker[Session]) -> BackupFile | None:
    """The backup every import makes first (when the database changed since the last one).

    Raises:
        StorageError: the backup failed, so the import does not start.
    """
    url = factory_url(factory)
    if url is None:
        return None
    return backup_if_changed(url, kind=backup_files.BEFORE_IMPORT)


# --------------------------------------------------------------------------- restoring


@dataclass(frozen=True)
class RestoreResult:
    """What a restore did.

    Attributes:
        database: the file restored.
        restored: the backup now in its place.
        safety: the backup of the replaced database (`…-truoc-khoi-phuc-…`), if it was sound.
        damaged: where the replaced database went when it was damaged instead.
    """

    database: Path
    restored: BackupFile
    safety: BackupFile | None
    damaged: Path | None

    @property
    def text(self) -> str:
        """The sentence for the user."""
        done = (f"Đã khôi phục {self.database} từ bản sao lưu lúc "
                f"{format_taken_at(self.restored.taken_at)}.")
        if self.safety is not None:
            return done + f" Dữ liệu trước khi khôi phục được giữ ở {self.safety.file}."
        if self.damaged is not None:
            return done + f" Tệp cũ bị hỏng được cất ở {self.damaged}."
        return done

    def to_json(self) -> dict[str, object]:
        """The JSON the command line prints."""
        return {"database": str(self.database), "restored": str(self.restored.file),
                "taken_at": self.restored.taken_at.isoformat(),
                "safety_backup": str(self.safety.file) if self.safety else None,
                "damaged": str(self.damaged) if self.damaged else None}


def verify_backup(file: Path) -> str | None:
    """None when `file` is a sound MBF Care database this version can open, else why not."""
    problem = db.verify_sqlite_copy(file)
    if problem is not None:
        return problem
    try:
        conn = sqlite3.connect(f"{file.resolve().as_uri()}?mode=ro", uri=True)
        try:
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return "không phải cơ sở dữ liệu MBF Care"
    if row is None:
        return "không phải cơ sở dữ liệu MBF Care"
    known = _known_revisions()
    if str(row[0]) not in known:
        return "được tạo bởi phiên bản MBF Care mới hơn phiên bản này"
    return None


def _known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(db.alembic_config("sqlite://"))
    return {rev.revision for rev in script.walk_revisions()}


def _quick_check(conn: sqlite3.Connection) -> str | None:
    rows = [str(r[0]) for r in conn.execute("PRAGMA quick_check(20)")]
    return None if rows == ["ok"] else "; ".join(rows)


def _damage(exc: sqlite3.Error) -> bool:
    text = str(exc).lower()
    return "not a database" in text or "malformed" in text or "corrupt" in text


class _Exclusive:
    """The database file held so nobody else reads or writes it (rollback-journal mode).

    Leaving WAL mode needs every other connection gone, and `BEGIN EXCLUSIVE` in that mode
    shuts readers out too: while held, the file is a quiet, self-contained copy.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.damage: str | None = None
        self._conn: sqlite3.Connection | None = None

    def __enter__(self) -> _Exclusive:
        conn = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=rw", uri=True,
                               timeout=1.0, isolation_level=None)
        try:
            try:
                mode = str(conn.execute("PRAGMA journal_mode=DELETE").fetchone()[0])
                if mode.lower() != "delete":
                    raise sqlite3.OperationalError("database is locked")
                conn.execute("BEGIN EXCLUSIVE")
                self.damage = _quick_check(conn)
            except sqlite3.DatabaseError as exc:
                if not _damage(exc):
                    raise
                self.damage = str(exc)
        except sqlite3.Error as exc:
            conn.close()
            raise StorageError(IN_USE_TEXT.format(file=self.path)) from exc
        self._conn = conn
        return self

    def release(self) -> None:
        """Let the file go (before it is replaced on Windows, which cannot replace open files)."""
        if self._conn is not None:
            try:
                self._conn.rollback()
            finally:
                self._conn.close()
                self._conn = None

    def __exit__(self, *_exc: object) -> None:
        self.release()


def _remove_side_files(path: Path) -> None:
    for suffix in SIDE_FILES:
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _copy_in(source: Path, target: Path) -> Path:
    """Copy `source` beside `target` under a temporary name, flushed to disk."""
    temporary = target.with_name(target.name + ".restoring")
    temporary.unlink(missing_ok=True)
    shutil.copyfile(source, temporary)
    with open(temporary, "rb+") as handle:
        os.fsync(handle.fileno())
    return temporary


def move_aside(path: Path) -> Path:
    """Move a damaged database and its side files to `<name>.damaged` (`.damaged-2` …)."""
    target = path.with_name(path.name + ".damaged")
    number = 2
    while target.exists():
        target = path.with_name(f"{path.name}.damaged-{number}")
        number += 1
    path.replace(target)
    for suffix in ("-wal", "-shm"):
        side = Path(f"{path}{suffix}")
        if side.exists():
            side.replace(Path(f"{target}{suffix}"))
    Path(f"{path}-journal").unlink(missing_ok=True)
    logger.warning("damaged database moved to %s", target)
    return target


def _safety_copy(lock: _Exclusive, policy: BackupPolicy, now: dt.datetime) -> BackupFile:
    """Copy the held (quiet, journal-free) file as `…-truoc-khoi-phuc-…`, verified."""
    path = lock.path
    target = backup_files.next_backup_path(path, policy.folder, backup_files.BEFORE_RESTORE,
                                           now)
    partial = target.with_name(target.name + ".partial")
    try:
        policy.folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, partial)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise StorageError(f"Không sao lưu được cơ sở dữ liệu hiện tại trước khi khôi phục "
                           f"({exc}); chưa thay đổi gì.") from exc
    problem = db.verify_sqlite_copy(partial)
    if problem is not None:
        partial.unlink(missing_ok=True)
        raise StorageError(f"Bản sao của cơ sở dữ liệu hiện tại không toàn vẹn ({problem}); "
                           "chưa thay đổi gì.")
    partial.replace(target)
    return BackupFile(target, now, backup_files.BEFORE_RESTORE, target.stat().st_size)


def restore_backup(url: str, backup: Path, policy: BackupPolicy | None = None,
                   now: dt.datetime | None = None, *, actor: Actor | None = None
                   ) -> RestoreResult:
    """Put a backup in place of the SQLite database, keeping the current one first.

    The backup is verified; the current database, held so that no one else uses it, is
    copied as `…-truoc-khoi-phuc-<time>.sqlite` (or, when damaged, moved aside as
    `.damaged`); its WAL and shared-memory files are checkpointed away, so none of them can
    be applied to the restored file; the backup is copied beside it and renamed over it.
    Runs on a worker: no UI calls here; the caller has closed its own connections.

    Args:
        url: the database.
        backup: the backup file to put in its place.
        policy: where backups go (the safety copy) and how many stay.
        now: the time of the safety copy's name.
        actor: who asks (only an administrator restores); None for a damaged database,
            which has no accounts left to ask, and for the command line's own check.

    Raises:
        PermissionProblem: the actor is not an administrator.
        UsageError: PostgreSQL (restored on the server) or in-memory SQLite.
        ImportFileError: the backup is missing, damaged, or not an MBF Care database.
        StorageError: the database is in use elsewhere, or the files cannot be written.
    """
    if actor is not None:
        actor.require("users")
    path = database_file(url)
    if path is None:
        raise UsageError(POSTGRES_TEXT if url.startswith("postgresql") else
                         "Cơ sở dữ liệu trong bộ nhớ không có tệp để khôi phục.")
    policy = policy or BackupPolicy.current()
    when = (now or dt.datetime.now()).replace(microsecond=0)
    if not backup.is_file():
        raise ImportFileError(f"Không có tệp sao lưu {backup}.")
    problem = verify_backup(backup)
    if problem is not None:
        raise ImportFileError(f"Không khôi phục từ {backup}: bản sao lưu {problem}; chọn bản "
                              "khác.")
    if backup.resolve() == path.resolve():
        raise UsageError(f"{backup} chính là cơ sở dữ liệu đang dùng; chọn một bản sao lưu.")
    parsed = backup_files.parse_backup_name(path, backup.name)
    taken_at = parsed[1] if parsed else dt.datetime.fromtimestamp(backup.stat().st_mtime)
    restored = BackupFile(backup, taken_at, parsed[0] if parsed else "", backup.stat().st_size)
    safety: BackupFile | None = None
    damaged: Path | None = None
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        temporary = _copy_in(backup, path)
        if path.exists():
            with _Exclusive(path) as lock:
                if lock.damage is None:
                    safety = _safety_copy(lock, policy, when)
                if os.name == "nt":
                    lock.release()
                if lock.damage is not None:
                    lock.release()
                    damaged = move_aside(path)
                _remove_side_files(path)
                temporary.replace(path)
        else:
            _remove_side_files(path)
            temporary.replace(path)
    except OSError as exc:
        raise StorageError(f"Không thay được tệp {path} ({exc}); đóng các chương trình đang "
                           "mở nó rồi khôi phục lại.") from exc
    finally:
        # Refused or failed half-way: the copy of the backup must not stay beside the file.
        Path(f"{path}.restoring").unlink(missing_ok=True)
    backup_files.prune_backups(path, policy, when)
    logger.info("restored %s from %s (safety copy %s)", path, backup,
                safety.file if safety else None)
    return RestoreResult(path, restored, safety, damaged)


def latest_backup(url: str, policy: BackupPolicy | None = None) -> BackupFile:
    """The newest backup of the database.

    Raises:
        UsageError: PostgreSQL, or no backup yet.
    """
    listing = list_database_backups(url, policy)
    if listing.note:
        raise UsageError(listing.note)
    if listing.newest is None:
        raise UsageError(f"Chưa có bản sao lưu nào của {listing.database} trong "
                         f"{listing.folder}.")
    return listing.newest


__all__ = ["POSTGRES_TEXT", "BackupList", "RestoreResult", "backup_before_import",
           "backup_if_changed", "backup_now", "backup_state", "changed_since", "database_file",
           "factory_url", "format_age", "format_taken_at", "latest_backup",
           "list_database_backups", "move_aside", "restore_backup", "verify_backup"]
