"""`mbfcare record bulk FILE`: a district's returned list recorded from the command line."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.cli import main
from mbfcare.db import make_engine, make_session_factory
from mbfcare.domain.actors import Actor
from mbfcare.models import CareStep, Handover
from mbfcare.services import stock
from tests.accounts_data import add_account, sign_in_as
from tests.care_data import seed_listed
from tests.unit.services.test_bulk_recording import write_returned_list


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def run_json(*argv: str) -> dict[str, Any]:
    code, text = run(*argv, "--json")
    assert code == 0, text
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    return json.loads(lines[0])


@pytest.fixture
def listed_db(db_url: str) -> Iterator[tuple[str, sessionmaker[Session]]]:
    assert run("--db", db_url, "programme", "create")[0] == 0
    engine = make_engine(db_url)
    factory = make_session_factory(engine)
    seed_listed(factory, 1)
    stock.move_stock(factory, "receive", "balo-keo", 10, actor=Actor("Lan", "admin"))
    stock.move_stock(factory, "receive", "o-2-khuc", 5, actor=Actor("Lan", "admin"),
                     location="Cửa hàng MobiFone Lê Chân")
    yield db_url, factory
    engine.dispose()


def _stored(factory: sessionmaker[Session]) -> tuple[int, int]:
    with factory() as session:
        return (session.scalar(select(func.count()).select_from(CareStep)) or 0,
                session.scalar(select(func.count()).select_from(Handover)) or 0)


def test_record_bulk_json_dry_run_then_for_real(
        listed_db: tuple[str, sessionmaker[Session]], tmp_path: Path, data_home: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    db_url, factory = listed_db
    add_account(factory, "ha", "head", full_name="Phạm Thu Hà", district="Lê Chân")
    sign_in_as(monkeypatch, "ha")
    path = write_returned_list(tmp_path / "le_chan.xlsx")
    dry = run_json("--db", db_url, "record", "bulk", str(path), "--dry-run")
    assert _stored(factory) == (0, 0)
    assert dry["dry_run"] is True
    real = run_json("--db", db_url, "record", "bulk", str(path))
    for data in (dry, real):
        assert (data["rows_read"], data["recorded"], data["unchanged"], data["rejected"]) == (
            10, 5, 2, 3)
        assert data["per_action"]["handover"] == 3
        assert data["per_action"]["sms"] == 3
        assert data["per_action"]["outcome"] == 1
        assert data["reasons"] == {"step_order": 1, "not_found": 1, "not_servable": 1}
        assert (data["sheet"], data["header_row"]) == ("Lê Chân", 4)
        assert Path(data["rejects_file"]).parent == data_home / "rejects"
    assert real["dry_run"] is False
    # handovers: 2 home visits + 1 store pick-up; steps: their 3 handover rows + 3 SMS
    assert _stored(factory) == (6, 3)
    again = run_json("--db", db_url, "record", "bulk", str(path), "--sheet", "Lê Chân")
    assert (again["recorded"], again["unchanged"], again["rejected"]) == (0, 7, 3)
    assert _stored(factory) == (6, 3)


def test_record_bulk_human_text(listed_db: tuple[str, sessionmaker[Session]],
                                tmp_path: Path) -> None:
    db_url, _ = listed_db
    path = write_returned_list(tmp_path / "le_chan.xlsx")
    code, text = run("--db", db_url, "record", "bulk", str(path))
    assert code == 0
    lines = text.splitlines()
    assert lines[0] == f"Đã ghi kết quả từ {path}, sheet 'Lê Chân', tiêu đề ở dòng 4."
    assert lines[1] == "Số dòng đọc: 10 · có ghi: 5 · không đổi: 2 · từ chối: 3."
    assert lines[2] == "Theo bước: Gửi SMS: 3 · Trao quà: 3 · Kết quả: 1."
    assert lines[3].startswith("Lý do từ chối: ")
    assert "Không có trong danh sách chăm sóc: 1" in lines[3]
    assert lines[4].startswith("Các dòng bị từ chối và lý do: ")


def test_refused_file_exits_3(listed_db: tuple[str, sessionmaker[Session]], tmp_path: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    db_url, factory = listed_db
    path = tmp_path / "chi_co_so.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "DS"
    sheet.append(["Số thuê bao", "Họ tên"])
    sheet.append(["0901000001", "An"])
    book.save(path)
    code, text = run("--db", db_url, "record", "bulk", str(path))
    assert (code, text) == (3, "")
    err = capsys.readouterr().err.strip()
    assert err.startswith("Lỗi: Sheet 'DS' của tệp chi_co_so.xlsx có cột số thuê bao nhưng "
                          "không có cột kết quả nào")
    assert len(err.splitlines()) == 1
    assert _stored(factory) == (0, 0)


def test_viewer_role_exits_4(listed_db: tuple[str, sessionmaker[Session]], tmp_path: Path,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    db_url, factory = listed_db
    add_account(factory, "xem", "viewer")
    sign_in_as(monkeypatch, "xem")
    path = write_returned_list(tmp_path / "le_chan.xlsx")
    assert run("--db", db_url, "record", "bulk", str(path))[0] == 4
    assert _stored(factory) == (0, 0)


def test_missing_sheet_exits_3(listed_db: tuple[str, sessionmaker[Session]],
                               tmp_path: Path) -> None:
    db_url, _ = listed_db
    path = write_returned_list(tmp_path / "le_chan.xlsx")
    assert run("--db", db_url, "record", "bulk", str(path), "--sheet", "Hồng Bàng")[0] == 3
