"""`mbfcare restore` lists and restores backups; every command recovers a damaged file first;
`mbfcare check` tells the backups' state."""

from __future__ import annotations

import io
import json
import os
import sqlite3
from pathlib import Path

import pytest

from mbfcare.cli import main
from mbfcare.db import sqlite_path

pytestmark = pytest.mark.sqlite_only


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def _programmes(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("SELECT count(*) FROM programmes").fetchone()[0])
    finally:
        conn.close()


@pytest.fixture
def db(db_url: str) -> str:
    code, text = run("--db", db_url, "programme", "create")
    assert code == 0, text
    return db_url


def test_restore_lists_then_restores_the_latest(db: str, data_home: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    code, text = run("--db", db, "restore")
    assert (code, text.strip()) == (0, f"Chưa có bản sao lưu nào của {sqlite_path(db)} trong "
                                       f"{data_home / 'backups'}.")
    code, text = run("--db", db, "backup", "--json")
    assert code == 0
    made = Path(json.loads(text)["file"])
    code, text = run("--db", db, "programme", "create")  # a second programme after the backup
    assert code == 0
    path = sqlite_path(db)
    assert path is not None and _programmes(path) == 2

    code, text = run("--db", db, "restore")
    assert code == 0
    lines = text.splitlines()
    assert lines[0] == f"Các bản sao lưu của {path} trong {data_home / 'backups'}:"
    assert "Sao lưu ngay" in lines[1] and lines[1].endswith(f"{made.name}  (mới nhất)")
    assert lines[-1] == "Khôi phục: mbfcare restore TỆP hoặc mbfcare restore --latest"
    code, text = run("--db", db, "restore", "--json")
    listed = json.loads(text)
    assert [b["file"] for b in listed["backups"]] == [str(made)]
    assert listed["backups"][0]["newest"] is True and listed["backups"][0]["kind"] == "thu-cong"

    code, text = run("--db", db, "restore", "--latest", "--json")
    assert code == 0, capsys.readouterr().err
    result = json.loads(text)
    assert result["restored"] == str(made)
    assert Path(result["safety_backup"]).name.startswith("test-truoc-khoi-phuc-")
    assert _programmes(path) == 1
    assert _programmes(Path(result["safety_backup"])) == 2

    # by name, from the listing
    code, text = run("--db", db, "restore", Path(result["safety_backup"]).name)
    assert code == 0 and text.startswith(f"Đã khôi phục {path} từ bản sao lưu lúc ")
    assert _programmes(path) == 2


def test_restore_refusals_are_sentences(db: str, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "hong.sqlite"
    bad.write_bytes(os.urandom(4096))
    assert run("--db", db, "restore", str(bad))[0] == 3
    assert "bản sao lưu file is not a database; chọn bản khác." in capsys.readouterr().err
    assert run("--db", db, "restore", str(bad), "--latest")[0] == 2
    assert run("--db", db, "restore", "--latest")[0] == 2
    assert "Chưa có bản sao lưu nào" in capsys.readouterr().err
    code, _ = run("--db", "postgresql+psycopg://u@127.0.0.1:1/x", "restore")
    assert code == 0


def test_every_command_recovers_a_damaged_file_first(
        db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("--db", db, "backup")[0] == 0
    path = sqlite_path(db)
    assert path is not None
    path.write_bytes(os.urandom(65536))
    capsys.readouterr()
    code, text = run("--db", db, "programme", "list", "--json")
    assert code == 0 and len(json.loads(text)["programmes"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Chú ý: Tệp cơ sở dữ liệu bị hỏng nên đã được cất sang "
                          f"{path}.damaged; đã khôi phục bản sao lưu lúc ")
    assert "Công việc ghi sau giờ đó cần nhập lại." in err
    assert _programmes(path) == 1


def test_no_backup_stops_with_where_the_damaged_file_is(
        db: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = sqlite_path(db)
    assert path is not None
    path.write_bytes(os.urandom(65536))
    code, _ = run("--db", db, "programme", "list")
    assert code == 1
    err = capsys.readouterr().err
    assert f"Tệp cơ sở dữ liệu {path} bị hỏng" in err and "Traceback" not in err
    assert path.exists()  # left for support to rescue


def test_check_tells_the_age_of_the_newest_backup(db: str) -> None:
    run("--db", db, "backup")
    code, text = run("--db", db, "check")
    assert code == 0
    lines = text.splitlines()
    assert lines[0] == "Cơ sở dữ liệu không có vấn đề."
    assert lines[1].startswith("Sao lưu: 1 bản trong ") and lines[1].endswith("(0 phút trước).")
