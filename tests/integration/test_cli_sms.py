"""`mbfcare sms` in process: the gateway file, marking step 1, opt-out and the templates."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.cli import main
from mbfcare.models import CareStep
from tests.care_data import GAP, GROUP1, GROUP2, STORE, seed_listed

G2 = sorted(GROUP2)


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


def test_sms_csv_as_in_the_contract(db: str, tmp_path: Path) -> None:
    out = tmp_path / "dot1.csv"
    data = run_json("--db", db, "sms", "--batch", "1", "--out", str(out))
    assert (data["batch"], data["messages"], data["opted_out"], data["skipped"]) == (1, 15, 0, 1)
    assert data["file"] == str(out)
    assert data["encoding_counts"] == {"GSM-7": 0, "UCS-2": 15}
    assert data["parts"] >= 15
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    with out.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["So thue bao", "Noi dung"]
    numbers = {r[0] for r in rows[1:]}
    assert numbers == {"84" + n[1:] for n in {**GROUP1, **GROUP2}}
    assert "84" + next(iter(GAP))[1:] not in numbers
    invitation = dict(rows[1:])["84" + G2[0][1:]]
    assert STORE in invitation


def test_sms_xlsx_without_diacritics(db: str, tmp_path: Path) -> None:
    out = tmp_path / "dot1.xlsx"
    data = run_json("--db", db, "sms", "--batch", "1", "--out", str(out), "--no-diacritics",
                    "--deadline", "2017-03-31")
    assert data["encoding_counts"] == {"GSM-7": 15, "UCS-2": 0}
    assert data["deadline"] == "2017-03-31"
    ws = openpyxl.load_workbook(out).active
    assert ws is not None
    assert ws.cell(row=2, column=1).data_type == "s"
    assert all(str(ws.cell(row=r, column=2).value).isascii() for r in range(2, 17))
    assert "31/03/2017" in str(ws.cell(row=2, column=2).value)


def test_mark_sent_opt_out_and_human_text(db: str, factory: sessionmaker[Session]) -> None:
    code, text = run("--db", db, "--user", "Hà", "sms", "opt-out", "+84 " + G2[0][1:])
    assert code == 0 and "không nhận SMS" in text
    code, text = run("--db", db, "sms", "--batch", "1")
    assert code == 0
    assert "Đợt 1: 14 tin nhắn" in text and "1 KH từ chối nhận SMS" in text
    marked = run_json("--db", db, "--user", "Hà", "sms", "--batch", "1", "--mark-sent",
                      "--at", "2017-03-05")
    assert marked["marked"]["recorded"] == 14
    assert marked["marked"]["on"] == "2017-03-05"
    again = run_json("--db", db, "sms", "--batch", "1", "--mark-sent", "--at", "2017-03-05")
    assert (again["marked"]["recorded"], again["marked"]["already_recorded"]) == (0, 14)
    with factory() as session:
        assert len(session.scalars(select(CareStep).where(CareStep.step == "sms")).all()) == 14
    undone = run_json("--db", db, "sms", "opt-out", G2[0], "--undo")
    assert (undone["opt_out"], undone["changed"]) == (False, True)


def test_templates_show_edit_and_refuse(db: str, tmp_path: Path) -> None:
    shown = run_json("--db", db, "sms", "templates")
    assert shown["is_default"] is True
    code, text = run("--db", db, "sms", "templates")
    assert code == 0 and "{cua_hang}" in text and "GSM-7" in text
    edited = run_json("--db", db, "--user", "Lan", "sms", "templates", "--invitation",
                      "Mời {ten} đến {cua_hang}, hạn {han}.", "--deadline-days", "7")
    assert (edited["invitation"], edited["deadline_days"]) == (
        "Mời {ten} đến {cua_hang}, hạn {han}.", 7)
    assert edited["notice"] == shown["notice"]
    code, _ = run("--db", db, "sms", "templates", "--notice", "Chào {ten} {ngay}")
    assert code == 2
    out = tmp_path / "x.csv"
    run_json("--db", db, "sms", "--batch", "1", "--out", str(out), "--deadline", "2017-03-31")
    assert f"Mời Khách Hàng Số 1 đến {STORE}, hạn 31/03/2017." in out.read_text("utf-8-sig")
    reset = run_json("--db", db, "sms", "templates", "--reset")
    assert reset["is_default"] is True


def test_usage_and_rule_errors(db: str, tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    assert run("--db", db, "sms", "--out", str(tmp_path / "x.csv"))[0] == 2
    assert "--batch" in capsys.readouterr().err
    assert run("--db", db, "sms", "--batch", "1", "--out", str(tmp_path / "x.txt"))[0] == 2
    assert run("--db", db, "sms", "--batch", "7", "--out", str(tmp_path / "x.csv"))[0] == 4
    assert run("--db", db, "sms", "--batch", "2", "--out", str(tmp_path / "x.csv"))[0] == 4
    assert run("--db", db, "sms", "opt-out", "0999999999")[0] == 4
    assert not (tmp_path / "x.csv").exists()
