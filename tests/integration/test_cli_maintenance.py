"""`backup` and `check` from the command line: the copy, its JSON, and exit status 4 when the
check finds a problem."""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.cli import main
from mbfcare.services import backups
from tests.care_data import GROUP2, STORE, seed_listed
from tests.tamper import run_sql

G2 = sorted(GROUP2)


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


@pytest.fixture
def db(factory: sessionmaker[Session], programme_id: int, db_url: str) -> str:
    seed_listed(factory, programme_id)
    for argv in (("stock", "receive", "--item", "o-2-khuc", "--qty", "5", "--location", STORE),
                 ("record", "handover", G2[0], "--item", "o-2-khuc")):
        code, text = run("--db", db_url, "--user", "Lan", *argv)
        assert code == 0, text
    return db_url


@pytest.mark.sqlite_only
def test_backup_prints_the_file_and_its_size(db: str, tmp_path: Path) -> None:
    out = tmp_path / "sao-luu.sqlite"
    code, text = run("--db", db, "backup", "--out", str(out), "--json")
    assert code == 0
    data = json.loads(text)
    assert data == {"file": str(out), "bytes": out.stat().st_size, "verified": True}
    conn = sqlite3.connect(out)
    try:
        assert conn.execute("SELECT count(*) FROM handovers").fetchone() == (1,)
    finally:
        conn.close()
    code, text = run("--db", db, "backup")
    assert code == 0
    assert text.startswith("Đã sao lưu cơ sở dữ liệu vào ")
    assert "backups" in text and text.rstrip().endswith("đã kiểm tra bản sao toàn vẹn.")


def test_backup_of_a_missing_file_fails_with_a_sentence(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = run("--db", f"sqlite:///{(tmp_path / 'none.sqlite').as_posix()}", "backup")
    assert code == 1
    assert "Không có tệp cơ sở dữ liệu" in capsys.readouterr().err


def test_check_exits_0_when_sound_and_4_with_the_problems(db: str) -> None:
    code, text = run("--db", db, "check")
    assert (code, text.splitlines()[0]) == (0, "Cơ sở dữ liệu không có vấn đề.")
    code, text = run("--db", db, "check", "--json")
    data = json.loads(text)
    assert (code, data["ok"], data["problems"]) == (0, True, [])
    # the backups' state as information: none yet on SQLite; the server's job on PostgreSQL
    assert data["notes"] == [backups.backup_state(db)]

    run_sql(db, "UPDATE stock_balances SET on_hand = on_hand + 1")
    problem = f"Kho quà: Ô 2 khúc cầm tay tại {STORE} ghi còn 5 nhưng sổ kho cộng lại được 4."
    code, text = run("--db", db, "check", "--json")
    data = json.loads(text)
    assert (code, data["ok"], data["problems"]) == (4, False, [problem])
    code, text = run("--db", db, "check")
    assert (code, text.splitlines()[:2]) == (4, ["Tìm thấy 1 vấn đề:", f"- {problem}"])
    assert text.splitlines()[2:] == data["notes"]
