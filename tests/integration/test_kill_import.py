"""A power cut in the middle of an import, twenty times: `SIGKILL` at points spread over the
reading, the writing, the commit and the end of a 300,000-row import. After each kill the
database passes its integrity check and holds the whole import or none of it; a last import
then accounts for every row exactly once.

The kill points follow the import's own phases as the file system shows them: the write-ahead
log appears when the single write transaction starts (the rows are read and checked before),
the database file grows when the commit is checkpointed, and the log is emptied at the end.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.db import sqlite_path, verify_sqlite_copy
from mbfcare.domain.actors import Actor
from mbfcare.models import Charge, ImportRun, Subscriber
from mbfcare.services import care_work, stock
from mbfcare.services.maintenance import check_database
from tests.care_data import GAP, GROUP1, GROUP2, STORE, seed_listed

ROWS = 300_000
REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.sqlite_only  # about the file on disk; a server rolls back by itself


@dataclass(frozen=True)
class KillPoint:
    """When to kill, on the scale of a whole import measured first: reading and inserting in
    memory for `share` of the time before the log appears; writing the log until it holds
    `share` of its full size (the commit record comes last); `after` seconds into the copy of
    the committed log into the file."""

    phase: str  # "read" (before the log), "write" (log growing), "commit" (file grew)
    share: float = 0.0
    after: float = 0.0


# 4 while reading and inserting, 10 while the transaction is written before its commit
# record, 6 while the committed log is copied into the file.
POINTS = (
    [KillPoint("read", share=f) for f in (0.15, 0.4, 0.65, 0.9)]
    + [KillPoint("write", share=k / 11) for k in range(10)]
    + [KillPoint("commit", after=s) for s in (0.0, 0.002, 0.004, 0.008, 0.012, 0.02)]
)


def _write_extract(path: Path) -> None:
    """300,000 eligible-looking subscribers, the columns an extract cannot do without."""
    rng = random.Random(20261125)
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        out.write("Số thuê bao,Loại TB,Trạng thái,Cước T-3,Cước T-4,Cước T-5\r\n")
        out.writelines(
            f"09{i:08d},{'Trả sau' if i % 3 else 'Trả trước'},Hoạt động 2 chiều,"
            f"{rng.randint(100_000, 2_000_000)},{rng.randint(100_000, 2_000_000)},"
            f"{rng.randint(100_000, 2_000_000)}\r\n" for i in range(ROWS))


def _sizes(db: Path) -> tuple[int, int]:
    wal = db.with_name(db.name + "-wal")
    try:
        main = db.stat().st_size
    except FileNotFoundError:
        main = 0
    try:
        log = wal.stat().st_size
    except FileNotFoundError:
        log = 0
    return main, log


def _run(argv: list[str], db: Path, point: KillPoint | None,
         scale: tuple[float, int]) -> tuple[str, float, int]:
    """Start the import and kill it at `point` (None: let it finish); the last phase the
    process reached, the seconds before its log appeared and the largest log seen.

    `scale` is what a whole import took: seconds before the log appeared, and its full size.
    """
    start_main, _ = _sizes(db)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    began = time.monotonic()
    seen: dict[str, float] = {"read": began}
    largest = 0
    before_log, full_log = scale
    while proc.poll() is None:
        now = time.monotonic()
        main, log = _sizes(db)
        largest = max(largest, log)
        if log > 0:
            seen.setdefault("write", now)
        if main > start_main:
            seen.setdefault("commit", now)
        if point is not None and point.phase in seen and (
                now - began >= point.share * before_log if point.phase == "read"
                else log >= point.share * full_log if point.phase == "write"
                else now - seen[point.phase] >= point.after):
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            return max(seen, key=seen.__getitem__), 0.0, largest
        time.sleep(0.0002)
    proc.wait(timeout=30)
    assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
    return "finished", seen.get("write", began) - began, largest


def _restore(db: Path, before: Path) -> None:
    for leftover in (db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        leftover.unlink(missing_ok=True)
    shutil.copy(before, db)


def _counts(factory: sessionmaker[Session]) -> tuple[int, int, int]:
    with factory() as session:
        return (session.scalar(select(func.count()).select_from(Subscriber)) or 0,
                session.scalar(select(func.count()).select_from(Charge)) or 0,
                session.scalar(select(func.count()).select_from(ImportRun)) or 0)


def _last_run_finished(factory: sessionmaker[Session]) -> bool:
    with factory() as session:
        run = session.scalars(select(ImportRun).order_by(ImportRun.id.desc()).limit(1)).one()
        return run.finished_at is not None and run.rows_read == ROWS


@pytest.fixture(scope="module")
def extract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("extract") / "ds_300k.csv"
    _write_extract(path)
    return path


def test_sigkill_at_twenty_points_leaves_all_or_nothing(
        factory: sessionmaker[Session], programme_id: int, db_url: str, extract: Path,
        tmp_path: Path) -> None:
    engine = factory.kw["bind"]
    db = sqlite_path(db_url)
    assert db is not None
    argv = [sys.executable, "-m", "mbfcare", "--db", db_url, "import", "subscribers",
            str(extract), "--batch", "1"]
    engine.dispose()
    before = tmp_path / "before.sqlite"
    shutil.copy(db, before)  # no log beside it: every connection is closed
    empty = _counts(factory)
    # One whole import first, to learn how large its log grows (the kill points' scale).
    _, before_log, full_log = _run(argv, db, None, (0.0, 0))
    assert before_log > 0.5 and full_log > 10 * 2**20
    engine.dispose()
    _restore(db, before)
    whole_imports = 0
    reached: Counter[str] = Counter()
    for point in POINTS:
        # Our connections closed, SQLite folds the log back: each import starts without one.
        engine.dispose()
        assert _sizes(db)[1] == 0
        reached[_run(argv, db, point, (before_log, full_log))[0]] += 1
        # The file opens and is sound, WAL recovery included ...
        assert verify_sqlite_copy(db) is None, point
        assert check_database(factory).ok, point
        # ... and holds the whole import or nothing of it: either the killed import left no
        # trace, or it committed all its rows and its finished run.
        now = _counts(factory)
        if now != empty:
            assert now == (ROWS, 3 * ROWS, empty[2] + 1), (point, now)
            assert _last_run_finished(factory), point
            whole_imports += 1
            # Back to the empty database, so that the next kill hits a first import again.
            engine.dispose()
            _restore(db, before)
    # Every kill came before the end, most of them inside the write transaction; every kill
    # during the write left nothing, every kill after the commit the whole import.
    # (On a quiet machine the last checkpoint can finish before the latest kill: that import
    # is simply whole.)
    assert reached["read"] >= 2 and reached["write"] >= 10, reached
    assert reached["finished"] <= 2 and whole_imports >= reached["commit"], reached
    # A last import accounts for every row exactly once, whatever the kills left.
    done = subprocess.run([*argv, "--json"], env={**os.environ, "PYTHONPATH": str(REPO)},
                          capture_output=True, text=True, encoding="utf-8", check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["rows_read"] == ROWS
    assert (result["imported"] + result["updated"] + result["unchanged"]
            + result["rejected"]) == ROWS
    assert (result["imported"], result["rejected"]) == (ROWS, 0)
    assert _counts(factory) == (ROWS, 3 * ROWS, empty[2] + 1)
    assert verify_sqlite_copy(db) is None and check_database(factory).ok
    print(f"\nkills: {dict(reached)}; whole imports found after a kill: {whole_imports}")


def test_the_desk_keeps_working_while_an_import_reads_its_file(
        factory: sessionmaker[Session], programme_id: int, db_url: str, extract: Path) -> None:
    """The import reads and checks its file before it takes the write lock: a handover at the
    desk meanwhile is recorded at once, not refused as "database busy"."""
    seed_listed(factory, programme_id)
    stock.move_stock(factory, "receive", "o-2-khuc", 1, actor=Actor("Lan"), location=STORE)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    importing = subprocess.Popen(
        [sys.executable, "-m", "mbfcare", "--db", db_url, "import", "subscribers",
         str(extract), "--batch", "1"], env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE)
    time.sleep(1.0)  # well inside the reading, long before the write
    began = time.monotonic()
    handed = care_work.record_handover(factory, sorted(GROUP2)[0], actor=Actor("Hà"),
                                       item_code="o-2-khuc")
    took = time.monotonic() - began
    still_importing = importing.poll() is None
    assert importing.wait(timeout=300) == 0, importing.stderr.read() if importing.stderr else ""
    assert handed.status == "given" and handed.on_hand == 0
    assert still_importing and took < 2.0, took
    assert _counts(factory)[0] == ROWS + len(GROUP1) + len(GROUP2) + len(GAP)
