"""`record` and `stock` from the command line, and two workstations racing on one database:
one gift per subscriber and a stock that never goes negative, decided by SQLite itself."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.cli import main
from mbfcare.models import Handover, StockBalance
from tests.accounts_data import add_account, sign_in_as
from tests.care_data import GROUP1, GROUP2, STORE, seed_listed

REPO = Path(__file__).resolve().parents[2]
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


def test_record_and_stock_commands(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    received = run_json("--db", db, "--user", "Lan", "stock", "receive", "--item", "o-2-khuc",
                        "--qty", "10", "--location", STORE)
    assert (received["left"], received["location"]) == (10, STORE)
    handed = run_json("--db", db, "--user", "Hà", "record", "handover", "+84 " + G2[0][1:],
                      "--item", "o-2-khuc")
    assert (handed["status"], handed["on_hand"], handed["location"]) == ("given", 9, STORE)
    code, _ = run("--db", db, "record", "handover", G2[0], "--item", "o-2-khuc")
    assert code == 4
    assert "không trao lần hai" in capsys.readouterr().err
    step = run_json("--db", db, "record", "step", G2[0], "--step", "survey", "--value", "4")
    assert (step["step"], step["changed"]) == ("survey", True)
    closed = run_json("--db", db, "record", "outcome", G2[1], "--outcome", "refused",
                      "--note", "không nhận")
    assert closed["outcome"] == "refused"
    shown = run_json("--db", db, "stock", "show")["stock"]
    assert shown == [{"item": "o-2-khuc", "item_name": "Ô 2 khúc cầm tay", "gift_type": 2,
                      "location": STORE, "location_kind": "store", "received": 10,
                      "transferred_in": 0, "transferred_out": 0, "handed_over": 1,
                      "returned": 0, "written_off": 0, "owed": 0, "left": 9}]
    # home visit: from the warehouse, which has nothing yet
    code, _ = run("--db", db, "record", "handover", sorted(GROUP1)[0])
    assert code == 4
    assert "Kho đã hết Balo" in capsys.readouterr().err
    code, text = run("--db", db, "stock", "show")
    assert "Ô 2 khúc cầm tay" in text and "9" in text


def test_undo_from_the_command_line_needs_role(db: str, factory: sessionmaker[Session],
                                               capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    run_json("--db", db, "stock", "receive", "--item", "o-2-khuc", "--qty", "1", "--location",
             STORE)
    run_json("--db", db, "record", "handover", G2[0], "--item", "o-2-khuc")
    add_account(factory, "lan", "clerk", store=STORE)
    add_account(factory, "ha", "head", district="Lê Chân")
    sign_in_as(monkeypatch, "lan")
    code, _ = run("--db", db, "record", "undo", G2[0], "--what", "handover", "--reason", "nhầm")
    assert code == 4
    sign_in_as(monkeypatch, "ha")
    undone = run_json("--db", db, "record", "undo", G2[0], "--what", "handover", "--reason",
                      "nhầm")
    assert undone["undone"] == "handover"
    assert run_json("--db", db, "stock", "show")["stock"][0]["left"] == 1


_RACER = """
import sys, time
from mbfcare.cli import main
start, args = float(sys.argv[1]), sys.argv[2:]
while time.time() < start:
    time.sleep(0.001)
sys.exit(main(args))
"""


def _race(db: str, commands: list[list[str]], tmp_path: Path) -> list[int]:
    """Start one process per command, released at the same instant; their exit codes."""
    import time

    script = tmp_path / "racer.py"
    script.write_text(_RACER, encoding="utf-8")
    start = time.time() + 2.0
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [subprocess.Popen([sys.executable, str(script), str(start), "--db", db, *cmd],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for cmd in commands]
    return [p.wait(timeout=120) for p in procs]


def test_two_workstations_same_handover_exactly_one_wins(
        db: str, factory: sessionmaker[Session], tmp_path: Path) -> None:
    run_json("--db", db, "stock", "receive", "--item", "o-2-khuc", "--qty", "5", "--location",
             STORE)
    codes = _race(db, [["record", "handover", G2[0], "--item", "o-2-khuc", "--by", f"GDV {i}"]
                       for i in range(2)], tmp_path)
    assert sorted(codes) == [0, 4]
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Handover)) == 1
        assert session.scalar(select(StockBalance.on_hand)) == 4


def test_concurrent_handovers_never_take_more_than_the_stock(
        db: str, factory: sessionmaker[Session], tmp_path: Path) -> None:
    run_json("--db", db, "stock", "receive", "--item", "o-2-khuc", "--qty", "2", "--location",
             STORE)
    codes = _race(db, [["record", "handover", number, "--item", "o-2-khuc"]
                       for number in G2[:4]], tmp_path)
    assert sorted(codes) == [0, 0, 4, 4]
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Handover)) == 2
        assert session.scalar(select(StockBalance.on_hand)) == 0
        assert session.scalar(select(StockBalance.handed_over)) == 2
