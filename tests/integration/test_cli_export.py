"""The `mbfcare export regional` and `mbfcare list` commands over a real database."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import select

from mbfcare.cli import main
from mbfcare.db import make_engine, make_session_factory
from mbfcare.models import Batch, CareCase, Subscriber
from mbfcare.uow import UnitOfWork


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def run_json(*argv: str) -> dict[str, Any]:
    code, text = run(*argv)
    assert code == 0, text
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    result: dict[str, Any] = json.loads(lines[0])
    return result


@pytest.fixture
def db(db_url: str) -> str:
    """A database with the default programme and a small care list in batches 1 and 2."""
    assert run_json("--db", db_url, "programme", "create", "--json") == {"programme_id": 1}
    engine = make_engine(db_url)
    people = [
        ("0901234567", "Nguyễn Văn An", 1, "listed", 1, "Hồng Bàng", ""),
        ("0912345678", "Trần Thị Ánh", 1, "listed", 2, "Lê Chân", "CH Lê Chân"),
        ("0923456789", "Lê Bảo Anh", 1, "listed", 2, "Lê Chân", "CH Lê Chân"),
        ("0934567890", "Phạm Đức", 1, "awaiting_group", None, "Hồng Bàng", ""),
        ("0945678901", "=HYPERLINK(\"http://x\",\"x\")", 1, "listed", 1, "Ngô Quyền", ""),
        ("0956789012", "Hoàng Dũng", 2, "waiting", 2, "Lê Chân", "CH Lê Chân"),
        ("0967890123", "Đỗ Văn Cường", 2, "left_out", None, "Lê Chân", ""),
    ]
    with UnitOfWork(make_session_factory(engine), write=True) as uow:
        batches = {b.number: b.id for b in uow.session.scalars(select(Batch))}
        for msisdn, name, batch, state, group, district, store in people:
            sub = Subscriber(msisdn=msisdn, name=name, subscriber_type="prepaid",
                             status="active", province="TP. Hải Phòng", district=district)
            uow.session.add(sub)
            uow.session.flush()
            basis = {1: 800000, 2: 600000}.get(group or 0, 700000)
            uow.session.add(CareCase(
                programme_id=1, batch_id=batches[batch], subscriber_id=sub.id, state=state,
                reason_code=state, group_number=group,
                delivery={1: "visit", 2: "store"}.get(group or 0), gift_type_number=group,
                basis=basis, cycle_1=201612, cycle_2=201611, cycle_3=201610, charge_1=basis,
                charge_2=basis, charge_3=basis, aggregation="every_cycle", rule_version=1,
                subscriber_type="prepaid", subscriber_status="active",
                province="TP. Hải Phòng", district=district, store=store or None,
                tenure_years=3, tenure_band="2–5 năm",
                waiting_rank=1 if state == "waiting" else None))
        uow.commit()
    engine.dispose()
    return db_url


def test_export_regional_json(db: str, tmp_path: Path) -> None:
    out = tmp_path / "kv5.xlsx"
    data = run_json("--db", db, "export", "regional", "--out", str(out), "--json")
    assert data["file"] == str(out) and data["programme_id"] == 1
    assert data["rows"]["ChiTiet"] == 6 and data["rows"]["KhaoSat"] == 0
    assert data["file_sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["ChiTiet", "TongHop", "KhoQua", "KhaoSat", "ThongTin"]
    info = dict(r for r in wb["ThongTin"].iter_rows(min_row=2, values_only=True))
    assert info["SHA-256 ChiTiet"] == data["sha256"]
    chitiet = list(wb["ChiTiet"].iter_rows(min_row=2, values_only=True))
    assert {r[0] for r in chitiet} == {"Hải Phòng"}
    assert any(r[8] == "'=HYPERLINK(\"http://x\",\"x\")" for r in chitiet)


def test_export_regional_text_and_programme_option(db: str, tmp_path: Path) -> None:
    out = tmp_path / "kv5.xlsx"
    code, text = run("--db", db, "export", "regional", "--programme", "1", "--out", str(out))
    assert code == 0, text
    assert str(out) in text and "SHA-256 ChiTiet:" in text and "ChiTiet: 6" in text


def test_export_regional_refusals(db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                  ) -> None:
    assert run("--db", db, "export", "regional", "--out", str(tmp_path / "kv5.csv"))[0] == 2
    assert "xlsx" in capsys.readouterr().err
    assert run("--db", db, "export", "regional")[0] == 2  # --out is required
    code, _ = run("--db", db, "export", "regional", "--programme", "7",
                  "--out", str(tmp_path / "kv5.xlsx"))
    assert code == 4
    assert not (tmp_path / "kv5.xlsx").exists()


def test_list_csv_and_xlsx(db: str, tmp_path: Path) -> None:
    out = tmp_path / "ds.csv"
    data = run_json("--db", db, "list", "--out", str(out), "--batch", "1", "--group", "2",
                    "--district", "le chan", "--json")
    assert data["rows"] == 2 and data["format"] == "csv"
    assert data["filters"] == {"batch": 1, "group": 2, "district": "le chan"}
    with out.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    assert [r[2] for r in rows[1:]] == ["Lê Bảo Anh", "Trần Thị Ánh"]

    xlsx = tmp_path / "ds.xlsx"
    data = run_json("--db", db, "list", "--out", str(xlsx), "--store", "CH LÊ CHÂN", "--json")
    assert data["rows"] == 3
    ws = openpyxl.load_workbook(xlsx).active
    assert ws is not None
    assert [r[13] for r in ws.iter_rows(min_row=2, values_only=True)] == [
        "Trong danh sách", "Trong danh sách", "Danh sách chờ"]


def test_list_refusals(db: str, tmp_path: Path) -> None:
    assert run("--db", db, "list", "--out", str(tmp_path / "ds.txt"))[0] == 2
    assert run("--db", db, "list", "--out", str(tmp_path / "ds.csv"), "--group", "3")[0] == 2
    assert run("--db", db, "list", "--out", str(tmp_path / "ds.csv"), "--batch", "9")[0] == 4
    code, text = run("--db", db, "list", "--out", str(tmp_path / "ds.csv"))
    assert code == 0 and "7 dòng" in text
