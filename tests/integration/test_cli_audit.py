"""`mbfcare audit`, `mbfcare programme close|purge` and the checks of personal data exports."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.cli import main
from tests.care_data import seed_listed
from tests.tamper import run_sql


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def run_json(*argv: str) -> dict[str, Any]:
    code, text = run(*argv, "--json")
    assert code == 0, text
    result: dict[str, Any] = json.loads(text)
    return result


@pytest.fixture
def db(db_url: str, factory: sessionmaker[Session], programme_id: int) -> str:
    seed_listed(factory, programme_id)
    return db_url


def test_exports_are_listed_and_exported_by_the_audit_command(db: str, tmp_path: Path) -> None:
    assert run("--db", db, "list", "--out", str(tmp_path / "ds.csv"))[0] == 0
    assert run("--db", db, "export", "regional", "--out", str(tmp_path / "kv5.xlsx"))[0] == 0
    found = run_json("--db", db, "audit", "--action", "export")
    assert found["total"] == 2 and found["chain_ok"] is True
    assert [e["summary"].split(":")[0] for e in found["entries"]] == [
        "Tệp gửi MBF KV5", "Danh sách chăm sóc"]
    code, text = run("--db", db, "audit", "--action", "export", "--text", "kv5")
    assert code == 0 and "kv5.xlsx" in text and "ds.csv" not in text
    assert "Chuỗi nhật ký nguyên vẹn đến dòng" in text
    assert run_json("--db", db, "audit", "--user", "nobody")["total"] == 0
    out = tmp_path / "nhat_ky.xlsx"
    exported = run_json("--db", db, "audit", "--from", "2020-01-01", "--action", "export",
                        "--out", str(out))
    assert exported["rows"] == 2
    rows = list(openpyxl.load_workbook(out).active.iter_rows(min_row=2, values_only=True))
    assert {r[3] for r in rows} == {"export"}
    code, text = run("--db", db, "audit", "--from", "25/11/2026")
    assert code == 2


def test_check_names_the_first_edited_audit_line(db: str, tmp_path: Path) -> None:
    run("--db", db, "list", "--out", str(tmp_path / "a.csv"))
    run("--db", db, "list", "--out", str(tmp_path / "b.csv"))
    run("--db", db, "list", "--out", str(tmp_path / "c.csv"))
    first = run_json("--db", db, "audit")["entries"][-1]["id"]
    assert run("--db", db, "check")[0] == 0
    run_sql(db, f"UPDATE audit_log SET summary = 'không có gì' WHERE id = {first + 1}")
    code, text = run("--db", db, "check")
    assert code == 4
    assert f"Nhật ký dòng {first + 1}: nội dung đã bị sửa." in text
    found = run_json("--db", db, "audit")
    assert found["chain_ok"] is False and found["chain_first_bad_id"] == first + 1


def test_close_and_purge_need_confirmation(db: str) -> None:
    code, _ = run("--db", db, "programme", "purge", "--yes")
    assert code == 4  # still open
    code, _ = run("--db", db, "programme", "close")
    assert code == 2  # no --yes
    assert run_json("--db", db, "programme", "close", "--yes")["status"] == "closed"
    code, _ = run("--db", db, "programme", "purge")
    assert code == 2  # the preview is shown, nothing erased without --yes
    purged = run_json("--db", db, "programme", "purge", "--yes")
    assert purged["subscribers"] == 16 and purged["care_cases_kept"] == 16
    assert run_json("--db", db, "programme", "purge", "--yes")["already"] is True
    found = run_json("--db", db, "audit", "--action", "purge_personal_data")
    assert found["total"] == 1


def test_a_clerk_may_export_only_his_store_and_not_read_the_log(
        db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MBFCARE_NEW_PASSWORD", "mật khẩu dài 1234")
    assert run("--db", db, "user", "add", "quantri", "--name", "Trần Quản Trị", "--role",
               "admin")[0] == 0
    monkeypatch.setenv("MBFCARE_USER", "quantri")
    monkeypatch.setenv("MBFCARE_PASSWORD", "mật khẩu dài 1234")
    assert run("--db", db, "user", "add", "tu", "--name", "Lê Văn Tư", "--role", "clerk",
               "--store", "Cửa hàng MobiFone Lê Chân")[0] == 0
    monkeypatch.setenv("MBFCARE_USER", "tu")
    listed = run_json("--db", db, "list", "--out", str(tmp_path / "tu.csv"))
    assert listed["rows"] == 15
    code, _ = run("--db", db, "list", "--out", str(tmp_path / "x.csv"), "--store", "CH khác")
    assert code == 4 and not (tmp_path / "x.csv").exists()
    assert run("--db", db, "export", "regional", "--out", str(tmp_path / "kv5.xlsx"))[0] == 4
    assert run("--db", db, "audit")[0] == 4
    assert run("--db", db, "programme", "close", "--yes")[0] == 4
    monkeypatch.setenv("MBFCARE_USER", "quantri")
    found = run_json("--db", db, "audit", "--user", "Lê Văn Tư", "--action", "export")
    assert found["total"] == 1
    assert found["entries"][0]["summary"] == (
        "Danh sách chăm sóc: tu.csv, 15 dòng (cửa hàng Cửa hàng MobiFone Lê Chân)")
