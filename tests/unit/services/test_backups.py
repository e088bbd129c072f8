"""Backups made when needed, restored safely, and a damaged file replaced at start."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from mbfcare import backup_files
from mbfcare.backup_files import BackupPolicy
from mbfcare.db import make_engine, make_session_factory, sqlite_path
from mbfcare.errors import ImportFileError, StorageError, UsageError
from mbfcare.services import backups, maintenance
from mbfcare.uow import BUSY_TEXT, UnitOfWork

pytestmark = pytest.mark.sqlite_only

PG = "postgresql+psycopg://care:secret@db.local/mbfcare"


@pytest.fixture
def policy(tmp_path: Path) -> BackupPolicy:
    return BackupPolicy(tmp_path / "sao-luu")


@pytest.fixture
def db_file(db_url: str) -> Path:
    """The test database with a few hundred pages of rows (so that damage lands in data)."""
    path = sqlite_path(db_url)
    assert path is not None
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("CREATE TABLE filler (id INTEGER PRIMARY KEY, note TEXT)")
        conn.executemany("INSERT INTO filler (note) VALUES (?)",
                         [(f"dòng {i} " + "x" * 200,) for i in range(3000)])
    conn.close()
    _age(path)
    return path


def _age(path: Path, seconds: int = 3600) -> None:
    """Make the file look written an hour ago (so a backup taken now is newer)."""
    past = time.time() - seconds
    os.utime(path, (past, past))


def _rows(path: Path, sql: str = "SELECT count(*) FROM filler") -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute(sql).fetchone()[0])
    finally:
        conn.close()


def _write(path: Path, note: str = "mới") -> None:
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("INSERT INTO filler (note) VALUES (?)", (note,))
    conn.close()


def _corrupt(path: Path) -> None:
    """Overwrite pages in the middle of the file with garbage, as a failing disk would."""
    size = path.stat().st_size
    with open(path, "r+b") as handle:
        handle.seek((size // 2) // 4096 * 4096)
        handle.write(b"\xde\xad\xbe\xef" * 4096)  # four pages


# --------------------------------------------------------------------------- making


def test_backup_if_changed_backs_up_once_until_the_file_changes(
        db_url: str, db_file: Path, policy: BackupPolicy) -> None:
    first = backups.backup_if_changed(db_url, policy)
    assert first is not None and first.kind == "" and first.file.parent == policy.folder
    assert first.file.name.startswith("test-") and _rows(first.file) == 3000
    assert backups.backup_if_changed(db_url, policy) is None  # nothing changed since
    _write(db_file)
    second = backups.backup_if_changed(db_url, policy, kind=backup_files.BEFORE_IMPORT)
    assert second is not None and second.kind == "truoc-nhap" and _rows(second.file) == 3001
    listing = backups.list_database_backups(db_url, policy)
    assert [b.file for b in listing.backups] == [second.file, first.file]
    assert listing.newest == second


def test_a_write_in_the_wal_counts_as_a_change(db_url: str, db_file: Path,
                                               policy: BackupPolicy) -> None:
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:  # WAL mode: the write stays in the -wal while open
            conn.execute(text("SELECT 1"))
        assert backups.backup_if_changed(db_url, policy) is not None
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO filler (note) VALUES ('qua WAL')"))
        made = backups.backup_if_changed(db_url, policy)
        assert made is not None and _rows(made.file) == 3001
    finally:
        engine.dispose()


def test_postgresql_is_the_servers_job(policy: BackupPolicy) -> None:
    assert backups.backup_if_changed(PG, policy) is None
    listing = backups.list_database_backups(PG, policy)
    assert listing.backups == () and "pg_dump" in listing.note
    with pytest.raises(UsageError, match="pg_dump"):
        backups.backup_now(PG, policy)
    with pytest.raises(UsageError, match="pg_restore"):
        backups.restore_backup(PG, Path("x.sqlite"), policy)
    assert "máy chủ" in backups.backup_state(PG, policy)


def test_backup_state_tells_the_age_of_the_newest(db_url: str, db_file: Path,
                                                  policy: BackupPolicy) -> None:
    assert backups.backup_state(db_url, policy) == \
        f"Chưa có bản sao lưu nào trong {policy.folder}."
    made = backups.backup_now(db_url, policy)
    later = made.taken_at + dt.timedelta(hours=5, minutes=3)
    assert backups.backup_state(db_url, policy, later) == (
        f"Sao lưu: 1 bản trong {policy.folder}; bản mới nhất lúc "
        f"{made.taken_at:%H:%M} ngày {made.taken_at:%d/%m/%Y} (5 giờ trước).")


def test_check_reports_the_backups_as_a_note(db_url: str, db_file: Path,
                                             policy: BackupPolicy) -> None:
    backups.backup_now(db_url, policy)
    engine = make_engine(db_url)
    try:
        result = maintenance.check_database(make_session_factory(engine), policy)
    finally:
        engine.dispose()
    assert result.ok and result.problems == []
    assert len(result.notes) == 1 and result.notes[0].startswith("Sao lưu: 1 bản trong ")
    assert result.text.splitlines()[1] == result.notes[0]
    assert result.to_json()["notes"] == result.notes


def test_import_backs_up_first(factory: Any, programme_id: int, db_file: Path, data_home: Path,
                               tmp_path: Path) -> None:
    from mbfcare.domain.actors import Actor
    from mbfcare.services.importing import import_exclusions

    sheet = tmp_path / "dang-tham-gia.csv"
    sheet.write_text("Số thuê bao,Ghi chú\n0912345678,CT khác\n0912345679,CT khác\n",
                     encoding="utf-8")
    import_exclusions(factory, sheet, programme_id=programme_id, actor=Actor("Lan"))
    made = backup_files.list_backups(db_file, data_home / "backups")
    assert [b.kind for b in made] == ["truoc-nhap"]
    # a dry run changes nothing and backs nothing up
    import_exclusions(factory, sheet, programme_id=programme_id, dry_run=True,
                      actor=Actor("Lan"))
    assert len(backup_files.list_backups(db_file, data_home / "backups")) == 1


# --------------------------------------------------------------------------- busy


def test_a_busy_file_gives_a_sentence_not_a_hang(db_url: str, db_file: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MBFCARE_BUSY_TIMEOUT_MS", "200")
    holder = sqlite3.connect(db_file, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    engine = make_engine(db_url)
    try:
        started = time.monotonic()
        with pytest.raises(StorageError) as caught, \
                UnitOfWork(make_session_factory(engine), write=True):
            pass
        assert str(caught.value) == BUSY_TEXT == \
            "Cơ sở dữ liệu đang bận vì máy khác đang ghi; thử lại sau ít phút."
        assert time.monotonic() - started < 5
        holder.execute("ROLLBACK")
        # once free, state is read again from the database: the unit works
        with UnitOfWork(make_session_factory(engine), write=True) as uow:
            uow.session.execute(text("INSERT INTO filler (note) VALUES ('sau khi rảnh')"))
            uow.commit()
    finally:
        holder.close()
        engine.dispose()
    assert _rows(db_file) == 3001


# --------------------------------------------------------------------------- restore


def test_restore_puts_the_backup_back_and_keeps_the_current_data(
        db_url: str, db_file: Path, policy: BackupPolicy) -> None:
    old = backups.backup_now(db_url, policy)
    _write(db_file, "sau bản sao lưu")
    result = backups.restore_backup(db_url, old.file, policy)
    assert _rows(db_file) == 3000
    assert result.restored.file == old.file and result.damaged is None
    assert result.safety is not None and result.safety.kind == "truoc-khoi-phuc"
    assert result.safety.file.name.startswith("test-truoc-khoi-phuc-")
    assert _rows(result.safety.file) == 3001
    assert not Path(f"{db_file}-wal").exists() and not Path(f"{db_file}-shm").exists()
    assert result.text.startswith(f"Đã khôi phục {db_file} từ bản sao lưu lúc ")
    assert str(result.safety.file) in result.text


def test_an_old_wal_is_never_applied_to_the_restored_file(
        db_url: str, db_file: Path, policy: BackupPolicy) -> None:
    old = backups.backup_now(db_url, policy)
    # A process that died with its last write only in the -wal (no checkpoint on close).
    script = ("import os, sqlite3, sys\n"
              "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
              "c.execute('PRAGMA journal_mode=WAL'); c.execute('PRAGMA wal_autocheckpoint=0')\n"
              "c.execute(\"INSERT INTO filler (note) VALUES ('chỉ trong WAL')\")\n"
              "os._exit(0)\n")
    subprocess.run([sys.executable, "-c", script, str(db_file)], check=True)
    assert Path(f"{db_file}-wal").stat().st_size > 0
    result = backups.restore_backup(db_url, old.file, policy)
    assert _rows(db_file) == 3000
    assert result.safety is not None and _rows(result.safety.file) == 3001  # kept, not lost
    assert maintenance.quick_check_file(db_file) is None


def test_restore_is_refused_while_the_database_is_open(
        db_url: str, db_file: Path, policy: BackupPolicy) -> None:
    old = backups.backup_now(db_url, policy)
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT count(*) FROM filler"))
            with pytest.raises(StorageError, match="đang được mở ở cửa sổ MBF Care hoặc "
                                                   "chương trình khác; đóng tất cả"):
                backups.restore_backup(db_url, old.file, policy)
    finally:
        engine.dispose()
    assert _rows(db_file) == 3000
    assert [b.kind for b in backup_files.list_backups(db_file, policy.folder)] == ["thu-cong"]
    # nothing left half-way beside the file (its own -wal/-shm went with the last connection)
    assert sorted(p.name for p in db_file.parent.glob("test.sqlite*")) == ["test.sqlite"]


def test_restore_refuses_a_bad_backup(db_url: str, db_file: Path, policy: BackupPolicy,
                                      tmp_path: Path) -> None:
    garbage = tmp_path / "rac.sqlite"
    garbage.write_bytes(os.urandom(8192))
    with pytest.raises(ImportFileError, match=r"rac\.sqlite: bản sao lưu file is not a database"):
        backups.restore_backup(db_url, garbage, policy)
    other = tmp_path / "khac.sqlite"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE t (x)")
    conn.close()
    with pytest.raises(ImportFileError, match="không phải cơ sở dữ liệu MBF Care"):
        backups.restore_backup(db_url, other, policy)
    with pytest.raises(ImportFileError, match="Không có tệp sao lưu"):
        backups.restore_backup(db_url, tmp_path / "none.sqlite", policy)
    assert _rows(db_file) == 3000


def test_restore_over_a_damaged_file_moves_it_aside(
        db_url: str, db_file: Path, policy: BackupPolicy) -> None:
    old = backups.backup_now(db_url, policy)
    db_file.write_bytes(os.urandom(40960))
    result = backups.restore_backup(db_url, old.file, policy)
    assert result.safety is None
    assert result.damaged == db_file.with_name("test.sqlite.damaged")
    assert result.damaged.stat().st_size == 40960
    assert _rows(db_file) == 3000


# --------------------------------------------------------------------------- start-up check


def test_a_sound_file_needs_no_recovery(db_url: str, db_file: Path,
                                        policy: BackupPolicy) -> None:
    assert maintenance.recover_if_damaged(db_url, policy) is None
    assert maintenance.recover_if_damaged(PG, policy) is None


@pytest.mark.parametrize("damage", ["pages", "random"])
def test_a_damaged_file_is_replaced_by_the_newest_sound_backup(
        db_url: str, db_file: Path, policy: BackupPolicy, damage: str) -> None:
    older = backups.backup_now(db_url, policy)
    _write(db_file)
    newer = backups.backup_now(db_url, policy)
    # a newer backup that is itself damaged is passed over
    broken = policy.folder / backup_files.backup_name(
        db_file, "", newer.taken_at + dt.timedelta(minutes=5))
    broken.write_bytes(os.urandom(8192))
    if damage == "pages":
        _corrupt(db_file)
    else:
        db_file.write_bytes(os.urandom(65536))
    Path(f"{db_file}-wal").write_bytes(b"")
    report = maintenance.recover_if_damaged(db_url, policy)
    assert report is not None
    assert report.restored == newer and report.skipped == (broken,)
    assert report.damaged == db_file.with_name("test.sqlite.damaged")
    assert report.damaged.exists() and Path(f"{report.damaged}-wal").exists()
    assert _rows(db_file) == 3001 and maintenance.quick_check_file(db_file) is None
    assert report.text == (
        f"Tệp cơ sở dữ liệu bị hỏng nên đã được cất sang {report.damaged}; đã khôi phục bản "
        f"sao lưu lúc {newer.taken_at:%H:%M} ngày {newer.taken_at:%d/%m/%Y}. Công việc ghi "
        "sau giờ đó cần nhập lại.")
    assert older.file.exists()
    # a second damage goes beside the first, never over it
    db_file.write_bytes(os.urandom(65536))
    again = maintenance.recover_if_damaged(db_url, policy)
    assert again is not None and again.damaged == db_file.with_name("test.sqlite.damaged-2")


def test_no_sound_backup_leaves_the_file_where_it_is(
        db_url: str, db_file: Path, policy: BackupPolicy) -> None:
    _corrupt(db_file)
    report = maintenance.recover_if_damaged(db_url, policy)
    assert report is not None and report.restored is None and report.damaged is None
    assert db_file.exists()
    assert f"Tệp cơ sở dữ liệu {db_file} bị hỏng" in report.text
    assert "gọi bộ phận hỗ trợ (IT)" in report.text


@pytest.mark.parametrize(("minutes", "text"), [(0, "0 phút"), (59, "59 phút"), (60, "1 giờ"),
                                               (47 * 60 + 59, "47 giờ"), (48 * 60, "2 ngày"),
                                               (1500 * 24 * 60, "1.500 ngày")])
def test_age_is_told_in_minutes_hours_or_days(minutes: int, text: str) -> None:
    assert backups.format_age(dt.timedelta(minutes=minutes)) == text
