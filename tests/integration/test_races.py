"""Four workstations racing on one database, released at the same instant by a lock the test
holds: one gift per subscriber, stock never below zero, and a negative control that shows the
harness would see a double handover if the database did not refuse it.

On PostgreSQL the four processes are held on a table lock until all of them have read the
entry and are about to write (the server's lock table shows them waiting), so the race is
real every time, not a matter of timing. On SQLite a writer takes the file's write lock at
`BEGIN IMMEDIATE`, so the four queue behind the lock the test holds and are released together.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from mbfcare.cli import main
from mbfcare.domain.values import format_msisdn
from mbfcare.models import CareStep, Handover, StockBalance
from tests.care_data import GROUP2, STORE, seed_listed

REPO = Path(__file__).resolve().parents[2]
G2 = sorted(GROUP2)
RACERS = 4

# A racer: imports done before it reports ready, so the race is the command itself.
# MBFCARE_RACE_UNGUARDED (negative control only) removes the ORM's row-version check, the
# last guard left once the test has dropped the unique constraints.
_RACER = """
import os, sys
from mbfcare.cli import main
if os.environ.get("MBFCARE_RACE_UNGUARDED") == "1":
    from mbfcare.models import CareCase
    CareCase.__mapper__.version_id_col = None
    CareCase.__mapper__._version_id_prop = None
print("ready", flush=True)
sys.exit(main(sys.argv[1:]))
"""


def _cli(*argv: str) -> int:
    return main(list(argv))


@pytest.fixture
def db(factory: sessionmaker[Session], programme_id: int, db_url: str) -> str:
    seed_listed(factory, programme_id)
    assert _cli("--db", db_url, "stock", "receive", "--item", "o-2-khuc", "--qty", "10",
                "--location", STORE) == 0
    return db_url


def _is_postgres(db_url: str) -> bool:
    return make_url(db_url).get_backend_name() == "postgresql"


@contextmanager
def _gate(db_url: str) -> Iterator[None]:
    """Hold the lock every racer's write needs; the racers pile up behind it until exit."""
    if _is_postgres(db_url):
        engine = create_engine(db_url, poolclass=NullPool)
        with engine.connect() as conn:
            trans = conn.begin()
            # SHARE lets the racers read (find the entry, check for a first handover) and
            # stops each at its INSERT: all four have decided before any of them writes.
            conn.execute(text("LOCK TABLE handovers IN SHARE MODE"))
            yield
            trans.commit()
        engine.dispose()
        return
    path = make_url(db_url).database
    assert path
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        yield
        conn.execute("COMMIT")
    finally:
        conn.close()


def _waiting_on_handovers(db_url: str) -> int:
    engine = create_engine(db_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(
                "SELECT count(*) FROM pg_locks WHERE NOT granted "
                "AND relation = 'handovers'::regclass")).scalar_one())
    finally:
        engine.dispose()


def _race(db_url: str, commands: list[list[str]], tmp_path: Path,
          unguarded: bool = False) -> list[tuple[int, str]]:
    """Run one process per command against the gate; their exit codes and error text."""
    script = tmp_path / "racer.py"
    script.write_text(_RACER, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO),
           "MBFCARE_RACE_UNGUARDED": "1" if unguarded else "0"}
    with _gate(db_url):
        procs = [subprocess.Popen([sys.executable, str(script), "--db", db_url, *cmd],
                                  env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True, encoding="utf-8")
                 for cmd in commands]
        for proc in procs:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 60
        if _is_postgres(db_url):
            # Every racer has read the entry and now waits to insert its handover.
            while _waiting_on_handovers(db_url) < len(procs):
                assert time.monotonic() < deadline, "the racers never reached the lock"
                time.sleep(0.05)
        else:
            # They block in BEGIN IMMEDIATE (busy timeout 10 s); give them time to get there.
            time.sleep(1.5)
    results = []
    for proc in procs:
        _out, err = proc.communicate(timeout=120)
        results.append((proc.returncode, err))
    return results


def _handovers(factory: sessionmaker[Session]) -> list[tuple[int, str]]:
    with factory() as session:
        return [(h.subscriber_id, h.given_by) for h in
                session.scalars(select(Handover).order_by(Handover.id))]


def test_four_workstations_one_subscriber_exactly_one_gift(
        db: str, factory: sessionmaker[Session], tmp_path: Path) -> None:
    results = _race(db, [["record", "handover", G2[0], "--item", "o-2-khuc",
                          "--by", f"GDV {i}"] for i in range(RACERS)], tmp_path)
    assert sorted(code for code, _ in results) == [0, 4, 4, 4], results
    winner = next(i for i, (code, _) in enumerate(results) if code == 0)
    for code, err in results:
        if code == 4:
            # The clear refusal: who already handed the gift over, and that it is not given twice.
            assert err.startswith(f"Lỗi: {format_msisdn(G2[0])}: Đã trao quà ngày ")
            assert f"GDV {winner}" in err and "không trao lần hai" in err
            assert "Traceback" not in err
    handed = _handovers(factory)
    assert len(handed) == 1 and handed[0][1] == f"GDV {winner}"
    with factory() as session:
        assert session.scalar(select(StockBalance.on_hand)) == 9
        assert session.scalar(select(func.count()).select_from(CareStep)
                              .where(CareStep.step == "handover")) == 1


def test_four_workstations_never_take_stock_below_zero(
        db: str, factory: sessionmaker[Session], tmp_path: Path) -> None:
    # Leave two in the store: four customers, four desks, two gifts.
    assert _cli("--db", db, "stock", "write-off", "--item", "o-2-khuc", "--qty", "8",
                "--location", STORE, "--reason", "hỏng") == 0
    results = _race(db, [["record", "handover", number, "--item", "o-2-khuc"]
                         for number in G2[:RACERS]], tmp_path)
    assert sorted(code for code, _ in results) == [0, 0, 4, 4]
    for code, err in results:
        if code == 4:
            assert f"{STORE} đã hết Ô 2 khúc cầm tay" in err and "Traceback" not in err
    assert len(_handovers(factory)) == 2
    with factory() as session:
        balance = session.scalars(select(StockBalance)).one()
        assert (balance.on_hand, balance.handed_over) == (0, 2)


@pytest.mark.postgres_only
def test_negative_control_without_the_guards_the_race_hands_over_four_times(
        db: str, factory: sessionmaker[Session], tmp_path: Path) -> None:
    """The same race with the unique constraints dropped and the row-version check off: the
    harness sees four gifts to one subscriber, so the tests above can fail."""
    engine = create_engine(db, poolclass=NullPool)
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE handovers DROP CONSTRAINT "
                          "uq_handovers_programme_id_subscriber_id"))
        conn.execute(text("ALTER TABLE care_steps DROP CONSTRAINT "
                          "uq_care_steps_care_case_id_step"))
    engine.dispose()
    results = _race(db, [["record", "handover", G2[0], "--item", "o-2-khuc",
                          "--by", f"GDV {i}"] for i in range(RACERS)], tmp_path,
                    unguarded=True)
    assert [code for code, _ in results] == [0] * RACERS, [err for _, err in results]
    handed = _handovers(factory)
    assert len(handed) == RACERS and len({sub for sub, _ in handed}) == 1
