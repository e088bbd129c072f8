"""`mbfcare user …` and signing in on the command line (MBFCARE_USER / MBFCARE_PASSWORD)."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.cli import main
from mbfcare.models import AuditEntry
from tests.accounts_data import PASSWORD, add_account, sign_in_as
from tests.care_data import STORE, seed_listed


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def run_json(*argv: str) -> dict[str, Any]:
    code, text = run(*argv, "--json")
    assert code == 0, text
    return json.loads(text)


@pytest.fixture
def db(factory: sessionmaker[Session], programme_id: int, db_url: str) -> str:
    seed_listed(factory, programme_id)
    return db_url


def test_first_admin_then_sign_in_required(db: str, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    # No account yet: commands run as the local administrator, as before.
    assert run("--db", db, "programme", "list")[0] == 0
    monkeypatch.setenv("MBFCARE_NEW_PASSWORD", PASSWORD)
    assert run("--db", db, "user", "add", "lan", "--name", "Lê Thị Lan", "--role",
               "clerk", "--store", STORE)[0] == 4
    assert "tạo quản trị đầu tiên trước" in capsys.readouterr().err
    made = run_json("--db", db, "user", "add", "QuanTri", "--name", "Trần Quản Trị",
                    "--role", "admin")
    assert (made["username"], made["role"]) == ("quantri", "admin")

    # From now on every command needs a sign-in.
    monkeypatch.delenv("MBFCARE_USER", raising=False)
    monkeypatch.delenv("MBFCARE_PASSWORD", raising=False)
    assert run("--db", db, "programme", "list") == (4, "")
    err = capsys.readouterr().err.strip()
    assert err == ("Lỗi: Cần đăng nhập: đặt MBFCARE_USER và MBFCARE_PASSWORD (cho tập lệnh), "
                   "hoặc thêm --user TÊN để nhập mật khẩu.")
    monkeypatch.setenv("MBFCARE_USER", "quantri")
    monkeypatch.setenv("MBFCARE_PASSWORD", "sai-mat-khau-roi")
    assert run("--db", db, "programme", "list")[0] == 4
    assert "Tên đăng nhập hoặc mật khẩu không đúng." in capsys.readouterr().err
    sign_in_as(monkeypatch, "quantri")
    assert run_json("--db", db, "programme", "list")["programmes"][0]["id"] == 1


def test_admin_manages_users(db: str, factory: sessionmaker[Session],
                             monkeypatch: pytest.MonkeyPatch,
                             capsys: pytest.CaptureFixture[str]) -> None:
    add_account(factory, "quantri", "admin")
    sign_in_as(monkeypatch, "quantri")
    monkeypatch.setenv("MBFCARE_NEW_PASSWORD", PASSWORD)
    run_json("--db", db, "user", "add", "lan", "--name", "Lê Thị Lan", "--role", "clerk",
             "--store", STORE)
    assert run("--db", db, "user", "add", "ha", "--name", "Hà", "--role", "head")[0] == 2
    assert "cần chọn quận/huyện" in capsys.readouterr().err
    code, text = run("--db", db, "user", "list")
    assert code == 0
    assert text.splitlines() == [f"lan\tLê Thị Lan\tGiao dịch viên – {STORE}",
                                 "quantri\tQuản Trị Viên\tQuản trị (Phòng CSKH)"]
    assert run_json("--db", db, "user", "disable", "lan")["active"] is False
    sign_in_as(monkeypatch, "lan")
    assert run("--db", db, "programme", "list")[0] == 4
    assert "đã bị khóa" in capsys.readouterr().err
    sign_in_as(monkeypatch, "quantri")
    assert run_json("--db", db, "user", "enable", "lan")["active"] is True
    monkeypatch.setenv("MBFCARE_NEW_PASSWORD", "mat-khau-moi-cua-lan")
    assert run("--db", db, "user", "reset", "lan") == (0, "Đã đặt mật khẩu mới cho lan.\n")

    # Lan signs in with the new password and changes it herself.
    monkeypatch.setenv("MBFCARE_USER", "lan")
    monkeypatch.setenv("MBFCARE_PASSWORD", "mat-khau-moi-cua-lan")
    monkeypatch.setenv("MBFCARE_NEW_PASSWORD", "mat-khau-rieng-cua-lan")
    assert run("--db", db, "user", "passwd") == (0, "Đã đổi mật khẩu.\n")
    monkeypatch.setenv("MBFCARE_PASSWORD", "mat-khau-rieng-cua-lan")
    # A clerk does not manage users.
    assert run("--db", db, "user", "list")[0] == 4
    assert "không được quản lý người dùng" in capsys.readouterr().err
    with factory() as s:
        actions = list(s.scalars(select(AuditEntry.action).where(AuditEntry.entity == "user")))
    for action in ("user_create", "sign_in", "sign_in_failed", "user_disable", "user_enable",
                   "user_reset_password", "user_change_password"):
        assert action in actions


def test_clerk_cannot_change_the_programme_from_the_command_line(
        db: str, factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    add_account(factory, "lan", "clerk", full_name="Lê Thị Lan", store=STORE)
    sign_in_as(monkeypatch, "lan")
    for argv in (("programme", "create"), ("classify", "--batch", "2"),
                 ("decide", "0903000001", "--group", "1", "--note", "x")):
        assert run("--db", db, *argv) == (4, "")
        err = capsys.readouterr().err.strip()
        assert err == ("Lỗi: Vai trò Giao dịch viên không được thay đổi chương trình; cần: "
                       "Quản trị (Phòng CSKH).")
    # Another store's customer is refused; his own store's is found.
    assert run("--db", db, "explain", "0901000002")[0] == 4
    assert "không thuộc cửa hàng" in capsys.readouterr().err
    assert run("--db", db, "explain", "0902000001")[0] == 0
    sign_in_as(monkeypatch, "quantri")
    assert len(run_json("--db", db, "programme", "list")["programmes"]) == 1


def test_wrong_user_option_is_a_sign_in(db: str, factory: sessionmaker[Session],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    add_account(factory, "quantri", "admin")
    monkeypatch.delenv("MBFCARE_USER", raising=False)
    monkeypatch.setenv("MBFCARE_PASSWORD", PASSWORD)
    assert run("--db", db, "--user", "QUANTRI", "programme", "list")[0] == 0
    assert run("--db", db, "--user", "ai-do", "programme", "list")[0] == 4
