#!/usr/bin/env python3
"""The care list screen over 1,000,000 subscribers and 100,000 care-list entries, offscreen.

The database is built once (plain `sqlite3` executemany of synthetic rows, `search_name`
filled) and cached in the temp folder. Then, in one offscreen Qt process, it measures what a
clerk waits for: opening the screen until the first page is painted, a district filter, a
search by number in the `84…` form, a search by name without diacritics and a sort by the
charge basis; each is timed from the action until the view has repainted with the answer.

    python bench/bench_care_list.py [--subscribers 1000000] [--entries 100000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from mbfcare.domain.actors import Actor

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi",
          "Đỗ", "Hồ", "Ngô", "Dương", "Lý", "Đào", "Đoàn", "Trương", "Lương"]
MIDDLE = ["Văn", "Thị", "Hữu", "Đức", "Minh", "Ngọc", "Thu", "Thanh", "Quang", "Kim", "Xuân"]
GIVEN = ["An", "Bình", "Cường", "Dũng", "Đạt", "Hải", "Hiếu", "Hòa", "Hùng", "Huy", "Khánh",
         "Lan", "Linh", "Mai", "Nga", "Phương", "Quỳnh", "Tâm", "Thảo", "Trang", "Vân", "Yến"]
PROVINCES = {
    "Hải Phòng": ["Lê Chân", "Ngô Quyền", "Hồng Bàng", "Hải An", "Kiến An", "Dương Kinh",
                  "Đồ Sơn", "An Dương", "An Lão", "Kiến Thụy", "Thủy Nguyên", "Tiên Lãng"],
    "Quảng Ninh": ["Hạ Long", "Cẩm Phả", "Uông Bí", "Móng Cái", "Đông Triều", "Quảng Yên"],
    "Hải Dương": ["TP Hải Dương", "Chí Linh", "Kinh Môn", "Nam Sách", "Gia Lộc", "Tứ Kỳ"],
    "Thái Bình": ["TP Thái Bình", "Đông Hưng", "Hưng Hà", "Kiến Xương", "Tiền Hải"],
    "Bắc Ninh": ["TP Bắc Ninh", "Từ Sơn", "Tiên Du", "Yên Phong", "Quế Võ", "Thuận Thành"],
}
PREFIXES = ["090", "093", "089", "070", "076", "077", "078", "079"]
TARGETS = {"open": 1.0, "filter": 0.3}


def _build(data: Path, subscribers: int, entries: int) -> Path:
    """The cached database: migrated schema, the default programme, bulk-inserted rows."""
    db = data / f"carelist_{subscribers}_{entries}.sqlite"
    from mbfcare.db import open_database

    if db.exists():
        # A file cached by an older version is brought to the current schema first.
        os.environ["MBFCARE_HOME"] = str(data)
        engine, _factory = open_database(f"sqlite:///{db}")
        engine.dispose()
        return db
    from mbfcare.domain.vntext import fold
    from mbfcare.services.programmes import create_programme, default_programme_spec

    partial_db = db.with_suffix(".building")
    partial_db.unlink(missing_ok=True)
    os.environ["MBFCARE_HOME"] = str(data)
    engine, factory = open_database(f"sqlite:///{partial_db}")
    programme_id = create_programme(factory, default_programme_spec(), actor=Actor("test"))
    engine.dispose()
    rng = random.Random(20170905)
    places = [(p, d) for p, ds in PROVINCES.items() for d in ds]
    names = [f"{f} {m} {g}" for f in FAMILY for m in MIDDLE for g in GIVEN]
    folded = {n: fold(n) for n in names}
    now = dt.datetime(2017, 3, 1, tzinfo=dt.UTC).isoformat(sep=" ")
    conn = sqlite3.connect(partial_db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    batch_ids = dict(conn.execute(
        "SELECT number, id FROM batches WHERE programme_id = ?", (programme_id,)).fetchall())
    start = time.perf_counter()
    facts: list[tuple[str, str, str]] = []

    def subscriber_rows() -> Iterator[tuple[object, ...]]:
        for i in range(1, subscribers + 1):
            # A bijection of i onto 7 digits per prefix keeps numbers unique without a set.
            msisdn = PREFIXES[i % len(PREFIXES)] + f"{(i * 7919) % 10_000_000:07d}"
            name = rng.choice(names)
            province, district = rng.choice(places)
            facts.append((name, province, district))
            yield (i, msisdn, 0, rng.choice(("prepaid", "postpaid")), "active", name,
                   province, district, f"CH {district}", now)

    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO subscribers (id, msisdn, ported, subscriber_type, status, name, province,"
        " district, store, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?)", subscriber_rows())

    def care_rows() -> Iterator[tuple[object, ...]]:
        chosen = rng.sample(range(1, subscribers + 1), entries)
        for k, sid in enumerate(chosen):
            name, province, district = facts[sid - 1]
            batch = 1 if k < entries * 7 // 10 else 2
            charges = [rng.randrange(500_000, 2_000_000, 1000) for _ in range(3)]
            basis = min(charges)
            roll = rng.random()
            if basis > 700_000:
                state, group, delivery, reason = "listed", 1, "visit", "group_1"
            elif basis >= 550_000:
                state, group, delivery, reason = "listed", 2, "store", "group_2"
            else:
                state, group, delivery, reason = "awaiting_group", None, None, "in_gap"
            rank = None
            if state == "listed" and roll < 0.05:
                state, reason, rank = "waiting", "waiting_for_stock", k
            years = rng.randrange(0, 22)
            band = "0–2 năm" if years < 2 else "2–5 năm" if years < 5 else \
                "5–10 năm" if years < 10 else "Trên 10 năm"
            responsible = (f"Trưởng MobiFone {district}" if delivery == "visit"
                           else f"Giao dịch viên CH {district}" if delivery else None)
            care = (201612, 201611, 201610) if batch == 1 else (201703, 201702, 201701)
            yield (programme_id, batch_ids[batch], sid, state, reason, group, delivery,
                   group, basis, *care, *charges, "every_cycle", 1, "postpaid", "active",
                   province, district, f"CH {district}", folded[name], responsible, years,
                   band, rank, 0, now)

    conn.executemany(
        "INSERT INTO care_cases (programme_id, batch_id, subscriber_id, state, reason_code,"
        " group_number, delivery, gift_type_number, basis, cycle_1, cycle_2, cycle_3, charge_1,"
        " charge_2, charge_3, aggregation, rule_version, subscriber_type, subscriber_status,"
        " province, district, store, search_name, responsible, tenure_years, tenure_band,"
        " waiting_rank, has_work, created_at)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", care_rows())
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    partial_db.rename(db)
    print(f"built {db} in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return db


def _measure(db: Path) -> list[tuple[str, float, float | None, str]]:
    from PySide6.QtCore import QEvent, QEventLoop, QObject, Qt, QTimer
    from PySide6.QtWidgets import QApplication

    from mbfcare.db import make_engine, make_session_factory
    from mbfcare.services.queries import CareListFilter, care_list_ids
    from mbfcare.ui.care_list import CareListWidget
    from mbfcare.ui.tasks import TaskRunner

    app = QApplication.instance() or QApplication([])  # kept alive until the end
    engine = make_engine(f"sqlite:///{db}")
    factory = make_session_factory(engine)
    with sqlite3.connect(db) as conn:
        some = conn.execute(
            "SELECT s.msisdn, c.search_name FROM care_cases c JOIN subscribers s"
            " ON s.id = c.subscriber_id ORDER BY c.id LIMIT 1 OFFSET 4321").fetchone()
    number, folded_name = some

    class PaintWatch(QObject):
        painted = False

        def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's
            if event.type() == QEvent.Type.Paint:
                self.painted = True
            return False

    runner = TaskRunner()
    watch = PaintWatch()
    results: list[tuple[str, float, float | None, str]] = []

    def wait(done: Callable[[], bool], timeout: float = 30.0) -> None:
        # An event loop that idles in C, as the application's does: a Python busy-wait
        # would hold the GIL and slow the worker thread down.
        if done():
            return
        loop = QEventLoop()
        timer = QTimer()
        timer.setInterval(1)
        deadline = time.perf_counter() + timeout

        def check() -> None:
            if done() or time.perf_counter() > deadline:
                loop.quit()

        timer.timeout.connect(check)
        timer.start()
        loop.exec()
        timer.stop()
        if not done():
            raise TimeoutError

    start = time.perf_counter()
    widget = CareListWidget(factory, runner)
    widget.resize(1400, 800)
    loaded: list[int] = []
    widget.model.ids_loaded.connect(loaded.append)
    widget.table.viewport().installEventFilter(watch)
    widget.set_programme(1, None)
    widget.show()
    wait(lambda: bool(loaded) and loaded[-1] > 0)
    watch.painted = False
    widget.table.viewport().update()
    wait(lambda: watch.painted)
    total = loaded[-1]
    results.append(("Open the screen, first page painted", time.perf_counter() - start,
                    TARGETS["open"], f"{total:,} entries"))
    wait(lambda: not runner.is_busy())

    def timed(label: str, action: Callable[[], None], target: float | None) -> None:
        loaded.clear()
        watch.painted = False
        begin = time.perf_counter()
        action()
        wait(lambda: bool(loaded))
        watch.painted = False
        widget.table.viewport().update()
        wait(lambda: watch.painted)
        seconds = time.perf_counter() - begin
        results.append((label, seconds, target, f"{loaded[-1]:,} rows"))
        wait(lambda: not runner.is_busy())

    def reset() -> None:
        loaded.clear()
        widget._search_edit.blockSignals(True)
        widget._search_edit.clear()
        widget._search_edit.blockSignals(False)
        for combo in widget._combos():
            combo.blockSignals(True)
            combo.setCurrentIndex(0)
            combo.blockSignals(False)
        widget._on_filter_changed()
        wait(lambda: bool(loaded))
        wait(lambda: not runner.is_busy())

    district = widget._district_combo
    timed("Filter by district", lambda: district.setCurrentIndex(3), TARGETS["filter"])
    reset()

    def search(text: str) -> Callable[[], None]:
        def act() -> None:
            widget._search_edit.setText(text)
            widget._on_filter_changed()  # skip the 250 ms typing pause
        return act

    timed(f"Search by number `84{number[1:]}`", search("84" + number[1:]), TARGETS["filter"])
    reset()
    words = " ".join(folded_name.split()[-2:])
    timed(f"Search by name `{words}` (no diacritics)", search(words), TARGETS["filter"])
    reset()
    column = widget.model.column_of("basis")
    timed("Sort by basis (header click)",
          lambda: widget.table.sortByColumn(column, Qt.SortOrder.DescendingOrder),
          TARGETS["filter"])
    # The service alone, for reference (no Qt).
    begin = time.perf_counter()
    care_list_ids(factory, CareListFilter(programme_id=1), "name", actor=Actor("test"))
    results.append(("`care_list_ids`, all entries by name (service only)",
                    time.perf_counter() - begin, None, ""))
    widget.close()
    engine.dispose()
    del app
    return results


def main() -> None:
    """Build the database if needed, measure, print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subscribers", type=int, default=1_000_000)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--data", type=Path,
                        default=Path(tempfile.gettempdir()) / "mbfcare-bench")
    args = parser.parse_args()
    args.data.mkdir(parents=True, exist_ok=True)
    db = _build(args.data, args.subscribers, args.entries)
    results = _measure(db)
    print(f"Care list: {args.subscribers:,} subscribers, {args.entries:,} entries, "
          f"SQLite {sqlite3.sqlite_version}\n")
    print("| Action | Time | Target | Result |")
    print("|---|---:|---:|---|")
    for label, seconds, target, note in results:
        goal = f"< {target * 1000:.0f} ms" if target else "–"
        verdict = "" if target is None else (" ✓" if seconds < target else " ✗")
        print(f"| {label} | {seconds * 1000:.0f} ms{verdict} | {goal} | {note} |")


if __name__ == "__main__":
    main()
