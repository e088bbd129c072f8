"""Backup while the database is in use, a copy refused unless sound, and the integrity check
finding each kind of inconsistency made behind the application's back."""

from __future__ import annotations

import re
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest
from care_data import GROUP2, STORE, seed_listed
from sqlalchemy import create_engine, func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from tamper import run_sql

from mbfcare import db
from mbfcare.db import open_database, sqlite_path
from mbfcare.domain.actors import Actor
from mbfcare.domain.values import format_date, mask_msisdn
from mbfcare.errors import StorageError, UsageError
from mbfcare.models import CareCase, Handover, StockLocation, Subscriber
from mbfcare.services import care_work, maintenance, stock
from mbfcare.services.maintenance import backup_database, check_database

LAN = Actor("Lan", "admin")
O = "o-2-khuc"  # noqa: E741 (the item's name)
G2 = sorted(GROUP2)


def _file(db_url: str) -> Path:
    path = sqlite_path(db_url)
    assert path is not None
    return path


def _sql(db_url: str, *statements: str) -> None:
    """Edit the database directly, as someone with a database tool would (no app rules)."""
    run_sql(db_url, *statements)


@pytest.fixture
def worked(factory: sessionmaker[Session], programme_id: int) -> sessionmaker[Session]:
    """The listed batch with some care work: a receipt, a handover, an owed gift, a step,
    a closed entry."""
    seed_listed(factory, programme_id)
    stock.move_stock(factory, "receive", O, 10, actor=LAN, location=STORE,
                     programme_id=programme_id)
    care_work.record_handover(factory, G2[0], actor=LAN, item_code=O)
    care_work.record_handover(factory, G2[1], actor=LAN, item_code=O, owed=True)
    care_work.record_step(factory, G2[2], "sms", actor=LAN)
    care_work.record_outcome(factory, G2[3], "refused", actor=LAN, note="không nhận")
    return factory


def _case_id(factory: sessionmaker[Session], msisdn: str) -> int:
    with factory() as session:
        found = session.scalar(select(CareCase.id).join(
            Subscriber, Subscriber.id == CareCase.subscriber_id).where(Subscriber.msisdn == msisdn))
        assert found is not None
        return found


# --------------------------------------------------------------------------- backup


@pytest.mark.sqlite_only
def test_backup_while_another_connection_holds_a_write_transaction(
        worked: sessionmaker[Session], db_url: str, tmp_path: Path) -> None:
    writer = sqlite3.connect(_file(db_url), isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("INSERT INTO stock_locations (name, search_name, kind) "
                       "VALUES ('Cửa hàng chưa lưu', 'cua hang chua luu', 'store')")
        result = backup_database(db_url, tmp_path / "copy.sqlite")
    finally:
        writer.execute("COMMIT")
        writer.close()
    assert result.file == tmp_path / "copy.sqlite"
    assert result.verified is True
    assert result.bytes == result.file.stat().st_size > 0
    assert not (tmp_path / "copy.sqlite-wal").exists()
    assert not (tmp_path / "copy.sqlite.partial").exists()
    check = sqlite3.connect(result.file)
    try:
        assert check.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert check.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    finally:
        check.close()
    # The application opens the copy: committed work is there, the open transaction is not.
    engine, copy = open_database(f"sqlite:///{result.file.as_posix()}")
    try:
        with copy() as session:
            assert session.scalar(select(func.count()).select_from(CareCase)) == 16
            assert [h.status for h in session.scalars(select(Handover).order_by(Handover.id))
                    ] == ["given", "owed"]
            assert list(session.scalars(select(StockLocation.name))) == [STORE]
    finally:
        engine.dispose()
    # ... while the source did commit it afterwards.
    with worked() as session:
        assert "Cửa hàng chưa lưu" in session.scalars(select(StockLocation.name)).all()
    assert check_database(copy).ok


@pytest.mark.sqlite_only
def test_default_backup_file_is_time_stamped_in_the_backups_folder(
        worked: sessionmaker[Session], db_url: str, data_home: Path) -> None:
    first = backup_database(db_url)
    second = backup_database(create_engine(db_url))  # an engine works as well as a URL
    assert first.file.parent == second.file.parent == data_home / "backups"
    # Named after the database (test.sqlite) and why: a manual backup ("thu-cong").
    assert re.fullmatch(r"test-thu-cong-\d{4}-\d{2}-\d{2}_\d{6}(-\d+)?\.sqlite",
                        first.file.name)
    assert first.file != second.file and second.file.exists()
    assert first.text == (f"Đã sao lưu cơ sở dữ liệu vào {first.file} "
                          f"({maintenance.format_size(first.bytes)}); đã kiểm tra bản sao "
                          "toàn vẹn.")
    assert first.to_json() == {"file": str(first.file), "bytes": first.bytes,
                               "verified": True}


@pytest.mark.sqlite_only
def test_a_copy_that_fails_the_integrity_check_is_not_kept(
        worked: sessionmaker[Session], db_url: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(db, "verify_sqlite_copy", lambda path: "*** in database main *** "
                                                               "Page 7: btreeInitPage() error")
    out = tmp_path / "copy.sqlite"
    with pytest.raises(StorageError, match=r"không toàn vẹn \(\*\*\* in database main .*"
                                           r"nên đã bị xóa; chạy 'mbfcare check'"):
        backup_database(db_url, out)
    assert list(tmp_path.glob("copy.sqlite*")) == []


@pytest.mark.sqlite_only
def test_a_damaged_source_gives_no_backup(worked: sessionmaker[Session], db_url: str,
                                          tmp_path: Path) -> None:
    damaged = tmp_path / "damaged.sqlite"
    backup_database(db_url, damaged)
    conn = sqlite3.connect(damaged)
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'care_cases'"
                        ).fetchone()[0]
    conn.close()
    with damaged.open("r+b") as raw:  # garbage over the b-tree page of a table
        raw.seek((root - 1) * page_size)
        raw.write(b"\xff" * 64)
    assert db.verify_sqlite_copy(damaged) is not None
    out = tmp_path / "copy.sqlite"
    with pytest.raises(StorageError, match="không toàn vẹn"):
        backup_database(f"sqlite:///{damaged.as_posix()}", out)
    assert list(tmp_path.glob("copy.sqlite*")) == []


def test_verify_names_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"not a database at all " * 100)
    assert db.verify_sqlite_copy(garbage) == "file is not a database"


@pytest.mark.sqlite_only
def test_backup_refuses_what_it_cannot_copy(db_url: str, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="trong bộ nhớ"):
        backup_database("sqlite://")
    with pytest.raises(StorageError, match="Không có tệp cơ sở dữ liệu"):
        backup_database(f"sqlite:///{(tmp_path / 'none.sqlite').as_posix()}")
    assert not (tmp_path / "none.sqlite").exists()  # not created by trying
    with pytest.raises(UsageError, match="chính là cơ sở dữ liệu"):
        backup_database(db_url, _file(db_url))
    with pytest.raises(UsageError, match="Chỉ sao lưu được SQLite và PostgreSQL"):
        backup_database("mysql://u:p@host/db")


def test_postgresql_without_pg_dump_says_how_to_get_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(maintenance.shutil, "which", lambda name: None)
    with pytest.raises(UsageError, match=r"chưa cài pg_dump\. Cài PostgreSQL client"):
        backup_database("postgresql+psycopg://care:secret@db.local:5432/mbfcare")


def test_postgresql_backup_runs_pg_dump_with_the_password_out_of_sight(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls: list[tuple[list[str], dict[str, str] | None]] = []

    def fake_run(args: list[str], *, env: dict[str, str] | None = None,
                 **_kw: Any) -> subprocess.CompletedProcess[str]:
        calls.append((args, env))
        if args[0] == "/usr/bin/pg_dump":
            target = next(a for a in args if a.startswith("--file="))[len("--file="):]
            Path(target).write_bytes(b"PGDMP" + b"\0" * 95)
        return subprocess.CompletedProcess(args, 0, "", "")

    monkeypatch.setattr(maintenance.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(maintenance.subprocess, "run", fake_run)
    out = tmp_path / "pg.dump"
    result = backup_database("postgresql+psycopg://care:secret@db.local:5432/mbfcare", out)
    assert (result.file, result.bytes, result.verified) == (out, 100, True)
    (dump_args, env), (restore_args, _) = calls
    assert dump_args == ["/usr/bin/pg_dump", "--format=custom", "--no-password",
                         f"--file={out}.partial",
                         "--dbname=postgresql://care@db.local:5432/mbfcare"]
    assert env is not None and env["PGPASSWORD"] == "secret"
    assert not any("secret" in a for a in dump_args)
    assert restore_args == ["/usr/bin/pg_restore", "--list", f"{out}.partial"]
    assert not Path(f"{out}.partial").exists()


def test_postgresql_dump_failure_keeps_nothing(monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path) -> None:
    def failing(args: list[str], **_kw: Any) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(args, 1, "", "pg_dump: error: connection to "
                                                        "server failed\n")

    monkeypatch.setattr(maintenance.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(maintenance.subprocess, "run", failing)
    with pytest.raises(StorageError, match="connection to server failed"):
        backup_database("postgresql://care@db.local/mbfcare", tmp_path / "out" / "pg.dump")
    assert list((tmp_path / "out").iterdir()) == []


# --------------------------------------------------------------------------- check


def test_check_finds_nothing_wrong_in_recorded_work(worked: sessionmaker[Session]) -> None:
    result = check_database(worked)
    assert (result.ok, result.problems) == (True, [])
    # the state of the backups follows as information, not as a problem
    assert result.text.splitlines()[0] == "Cơ sở dữ liệu không có vấn đề."
    assert result.text.splitlines()[1:] == result.notes
    assert result.to_json() == {"ok": True, "problems": [], "notes": result.notes}


def test_check_on_an_empty_database(factory: sessionmaker[Session]) -> None:
    assert check_database(factory).ok


def _today() -> str:
    return format_date(care_work.local_today())


def _who(factory: sessionmaker[Session], msisdn: str) -> str:
    return f"Thuê bao {mask_msisdn(msisdn)} (hồ sơ số {_case_id(factory, msisdn)})"


def test_stock_balance_that_disagrees_with_the_ledger(
        worked: sessionmaker[Session], db_url: str) -> None:
    _sql(db_url, "UPDATE stock_balances SET on_hand = on_hand + 1")
    assert check_database(worked).problems == [
        f"Kho quà: Ô 2 khúc cầm tay tại {STORE} ghi còn 10 nhưng sổ kho cộng lại được 9."]
    _sql(db_url, "UPDATE stock_balances SET on_hand = on_hand - 1, handed_over = 0")
    assert check_database(worked).problems == [
        f"Kho quà: Ô 2 khúc cầm tay tại {STORE} ghi 'Trao quà' 0 nhưng sổ kho có 1."]


def test_ledger_lines_without_a_balance(worked: sessionmaker[Session], db_url: str) -> None:
    _sql(db_url, "DELETE FROM stock_balances")
    assert check_database(worked).problems == [
        f"Kho quà: sổ kho có 2 dòng về Ô 2 khúc cầm tay tại {STORE} nhưng không có số tồn "
        "kho."]


def test_a_deleted_step_row(worked: sessionmaker[Session], db_url: str) -> None:
    _sql(db_url, "DELETE FROM care_steps WHERE step = 'handover'")
    assert check_database(worked).problems == [
        f"{_who(worked, G2[0])}: hồ sơ ghi bước 'Trao quà' ngày {_today()} nhưng không có "
        "dòng bước này."]


def test_a_step_date_edited_on_one_side(worked: sessionmaker[Session], db_url: str) -> None:
    _sql(db_url, "UPDATE care_steps SET done_on = '2017-03-05' WHERE step = 'sms'")
    assert check_database(worked).problems == [
        f"{_who(worked, G2[2])}: bước 'Gửi SMS' ghi ngày {_today()} trong hồ sơ nhưng ngày "
        "05/03/2017 ở dòng bước."]


def test_a_handover_whose_entry_lost_its_date(worked: sessionmaker[Session],
                                              db_url: str) -> None:
    _sql(db_url, "UPDATE care_cases SET handover_on = NULL")
    who = _who(worked, G2[0])
    assert check_database(worked).problems == [
        f"{who}: đã trao quà nhưng hồ sơ thiếu ngày trao quà.",
        f"{who}: có dòng bước 'Trao quà' ngày {_today()} nhưng hồ sơ không ghi ngày."]
    _sql(db_url, "DELETE FROM care_steps WHERE step = 'handover'")
    assert check_database(worked).problems == [
        f"{who}: đã trao quà nhưng hồ sơ thiếu ngày trao quà và bước 'Trao quà'."]


def test_an_entry_handed_over_without_a_handover(worked: sessionmaker[Session],
                                                 db_url: str) -> None:
    _sql(db_url, "DELETE FROM handovers WHERE status = 'given'")
    assert check_database(worked).problems == [
        f"{_who(worked, G2[0])}: hồ sơ ghi đã trao quà ngày {_today()} nhưng không có lần "
        "trao quà nào."]


def test_owed_flag_and_owed_handover_disagree(worked: sessionmaker[Session],
                                              db_url: str) -> None:
    _sql(db_url, "UPDATE care_cases SET gift_owed = false")
    assert check_database(worked).problems == [
        f"{_who(worked, G2[1])}: có lần ghi nợ quà nhưng hồ sơ không ghi đang nợ quà."]
    _sql(db_url, "UPDATE care_cases SET gift_owed = true WHERE handover_on IS NOT NULL")
    assert check_database(worked).problems == [
        f"{_who(worked, G2[0])}: hồ sơ ghi đang nợ quà nhưng không có lần ghi nợ nào.",
        f"{_who(worked, G2[1])}: có lần ghi nợ quà nhưng hồ sơ không ghi đang nợ quà."]


def test_a_closed_entry_with_a_handover(worked: sessionmaker[Session], db_url: str) -> None:
    _sql(db_url, "UPDATE care_cases SET outcome = 'refused' WHERE handover_on IS NOT NULL")
    assert check_database(worked).problems == [
        f"{_who(worked, G2[0])}: đã đóng với kết quả 'Từ chối' nhưng đã được trao quà."]


def test_an_audit_line_edited_outside_the_application(
        worked: sessionmaker[Session], db_url: str) -> None:
    with pytest.raises((DBAPIError, sqlite3.Error), match="append-only"):
        run_sql(db_url, "UPDATE audit_log SET summary = 'sửa' WHERE id = 2", bypass=False)
    _sql(db_url, "UPDATE audit_log SET summary = 'sửa' WHERE id = 2")
    assert check_database(worked).problems == ["Nhật ký dòng 2: nội dung đã bị sửa."]


@pytest.mark.sqlite_only  # PostgreSQL enforces references itself, always
def test_a_broken_reference(worked: sessionmaker[Session], db_url: str) -> None:
    rowid = run_sql(db_url, "INSERT INTO care_steps (care_case_id, step, done_on, done_by, "
                    "recorded_by, recorded_at) VALUES (99999, 'sms', '2017-03-01', "
                    "'', '', '2017-03-01 00:00:00.000000')")
    assert check_database(worked).problems == [
        f"Bảng care_steps, dòng {rowid}: trỏ đến một dòng không có trong bảng care_cases."]


def test_many_problems_of_one_kind_are_summarised(worked: sessionmaker[Session], db_url: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(maintenance, "MAX_PER_CHECK", 2)
    _sql(db_url, "UPDATE care_cases SET sms_on = '2017-03-01'")
    problems = check_database(worked).problems
    assert len(problems) == 3
    assert problems[2] == "… và 14 trường hợp tương tự như trên."
    result = maintenance.CheckResult(False, problems)
    assert result.text.splitlines()[0] == "Tìm thấy 3 vấn đề:"
    assert result.text.splitlines()[1] == f"- {problems[0]}"


def test_format_size() -> None:
    assert [maintenance.format_size(n) for n in (812, 4608, 12_897_485, 3 * 1024 ** 3)] == [
        "812 byte", "4,5 KB", "12,3 MB", "3,0 GB"]
