#!/usr/bin/env python3
"""Regional export speed against openpyxl's write-only mode writing the same cells, same run.

Builds a database with N synthetic subscribers and care-list entries (one `executemany` per
table, not timed), then times:
  * MBF Care: `export_regional` end to end (read the care list in one unit of work, map to
    DTOs, sort the Vietnamese way, write the five sheets with xlsxwriter, digest);
  * the writer alone (`write_regional` on DTOs already in memory);
  * openpyxl write-only writing the same cells (read back from MBF Care's file with
    python-calamine, not timed), plain values, and again with the number formats as
    `WriteOnlyCell`s (money `#,##0`, dates `dd/mm/yyyy`, `0.0%`) like the real file.
The goal: MBF Care at most 1.5x openpyxl write-only.

    python bench/bench_regional.py                # 100,000 rows
    python bench/bench_regional.py --rows 20000 --repeat 3
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from mbfcare.domain.actors import Actor

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi",
          "Đỗ", "Hồ", "Ngô", "Dương", "Lý"]
MIDDLE = ["Văn", "Thị", "Hữu", "Đức", "Minh", "Ngọc", "Thanh", "Quang", "Thu", "Bảo", ""]
GIVEN = ["An", "Anh", "Ánh", "Bình", "Cường", "Dũng", "Đức", "Giang", "Hà", "Hải", "Hoa",
         "Hùng", "Hương", "Khánh", "Lan", "Linh", "Long", "Mai", "Nam", "Nga", "Phong",
         "Phương", "Quân", "Sơn", "Tâm", "Thảo", "Trang", "Tuấn", "Việt", "Yến"]
DISTRICTS = {
    "Hải Phòng": ["Hồng Bàng", "Lê Chân", "Ngô Quyền", "Kiến An", "Hải An", "Thủy Nguyên"],
    "Quảng Ninh": ["Hạ Long", "Cẩm Phả", "Uông Bí", "Móng Cái"],
    "Bắc Ninh": ["Từ Sơn", "Quế Võ", "Tiên Du"],
}


def build_database(path: Path, rows: int, seed: int = 5) -> str:
    """A migrated SQLite database with the default programme and `rows` care-list entries."""
    from sqlalchemy import insert

    from mbfcare.db import make_engine, make_session_factory, migrate
    from mbfcare.models import CareCase, Subscriber
    from mbfcare.services.programmes import create_programme, default_programme_spec

    url = f"sqlite:///{path.as_posix()}"
    engine = make_engine(url)
    migrate(engine, url)
    pid = create_programme(make_session_factory(engine), default_programme_spec(),
                           actor=Actor("test"))
    rng = random.Random(seed)
    now = dt.datetime.now(dt.UTC)
    subscribers: list[dict[str, Any]] = []
    cases: list[dict[str, Any]] = []
    batch_ids = list(range(1, 5))
    for i in range(1, rows + 1):
        province = rng.choice(list(DISTRICTS))
        district = rng.choice(DISTRICTS[province])
        middle = rng.choice(MIDDLE)
        name = " ".join(w for w in (rng.choice(FAMILY), middle, rng.choice(GIVEN)) if w)
        roll = rng.random()
        state, group = ("awaiting_group", None) if roll < 0.02 else \
            ("waiting", 2) if roll < 0.05 else ("listed", 1 if roll < 0.4 else 2)
        basis = 700000 if group is None else rng.randrange(700001, 2000000) if group == 1 \
            else rng.randrange(550000, 700000)
        store = f"CH {district}" if group == 2 else None
        subscribers.append({
            "id": i, "msisdn": f"09{i:08d}", "ported": False,
            "subscriber_type": "prepaid" if rng.random() < 0.7 else "postpaid",
            "status": "active", "name": name, "province": province, "district": district,
            "store": store, "profile_standardised": rng.random() < 0.5, "updated_at": now,
        })
        cases.append({
            "programme_id": pid, "batch_id": rng.choice(batch_ids), "subscriber_id": i,
            "state": state, "reason_code": state, "group_number": group,
            "delivery": {1: "visit", 2: "store"}.get(group or 0), "gift_type_number": group,
            "basis": basis, "cycle_1": 201612, "cycle_2": 201611, "cycle_3": 201610,
            "charge_1": basis, "charge_2": basis + rng.randrange(0, 50000),
            "charge_3": basis + rng.randrange(0, 50000), "aggregation": "every_cycle",
            "rule_version": 1, "subscriber_type": subscribers[-1]["subscriber_type"],
            "subscriber_status": "active", "province": province, "district": district,
            "store": store, "tenure_years": rng.randrange(0, 20), "tenure_band": "5–10 năm",
            "waiting_rank": i if state == "waiting" else None, "has_work": False,
            "created_at": now,
        })
    with engine.begin() as conn:
        conn.execute(insert(Subscriber), subscribers)
        conn.execute(insert(CareCase), cases)
    engine.dispose()
    return url


def read_cells(path: Path) -> dict[str, list[list[Any]]]:
    """Every sheet's cells as they read back (calamine), ints kept as ints."""
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_path(str(path))
    sheets = {}
    for name in book.sheet_names:
        rows = []
        for r in book.get_sheet_by_name(name).to_python():
            rows.append([None if v == "" else int(v) if isinstance(v, float) and v.is_integer()
                         else v for v in r])
        sheets[name] = rows
    return sheets


def openpyxl_write(path: Path, sheets: dict[str, list[list[Any]]], *, formats: bool) -> float:
    """Time openpyxl write-only writing the cells (optionally with number formats)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    start = time.perf_counter()
    wb = Workbook(write_only=True)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        money_cols = {10, 11, 12, 13} if name == "ChiTiet" else set()
        for r, values in enumerate(rows):
            if not formats or r == 0:
                ws.append(values)
                continue
            out: list[Any] = []
            for c, v in enumerate(values):
                if isinstance(v, dt.datetime | dt.date):
                    cell = WriteOnlyCell(ws, value=v)
                    cell.number_format = "dd/mm/yyyy"
                    out.append(cell)
                elif c in money_cols and isinstance(v, int):
                    cell = WriteOnlyCell(ws, value=v)
                    cell.number_format = "#,##0"
                    out.append(cell)
                elif name == "TongHop" and c == 8:
                    cell = WriteOnlyCell(ws, value=v)
                    cell.number_format = "0.0%"
                    out.append(cell)
                else:
                    out.append(v)
            ws.append(out)
    wb.save(path)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=1, help="best of N runs")
    args = parser.parse_args()

    from mbfcare.db import make_engine, make_session_factory
    from mbfcare.reports.regional import write_regional
    from mbfcare.services import exporting
    from mbfcare.uow import UnitOfWork

    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        t0 = time.perf_counter()
        url = build_database(tmp / "bench.sqlite", args.rows)
        print(f"database with {args.rows:,} care-list entries built in "
              f"{time.perf_counter() - t0:.1f} s (not timed)")
        engine = make_engine(url)
        factory = make_session_factory(engine)

        full, writer, plain, formatted = [], [], [], []
        for _ in range(args.repeat):
            start = time.perf_counter()
            result = exporting.export_regional(factory, tmp / "mbfcare.xlsx",
                                               actor=Actor("bench"))
            full.append(time.perf_counter() - start)

            with UnitOfWork(factory) as uow:
                from mbfcare.models import Programme

                programme = uow.session.get(Programme, result.programme_id)
                assert programme is not None
                info = exporting._programme_info(programme)
                rows = exporting._care_rows(uow.session, programme.id, programme.provinces,
                                            exporting.REGIONAL_STATES)
            start = time.perf_counter()
            write_regional(tmp / "writer.xlsx", info, rows, exported_at=dt.datetime.now(),
                           version="bench")
            writer.append(time.perf_counter() - start)

            cells = read_cells(tmp / "mbfcare.xlsx")
            plain.append(openpyxl_write(tmp / "openpyxl.xlsx", cells, formats=False))
            formatted.append(openpyxl_write(tmp / "openpyxl_fmt.xlsx", cells, formats=True))
        engine.dispose()

    n = result.rows["ChiTiet"]
    best = min(full), min(writer), min(plain), min(formatted)
    print(f"ChiTiet rows: {n:,} (TongHop {result.rows['TongHop']}, KhoQua "
          f"{result.rows['KhoQua']}); best of {args.repeat}")
    print(f"  MBF Care export_regional (DB read + DTOs + sort + write): {best[0]:7.2f} s")
    print(f"  MBF Care write_regional only (DTOs in memory):              {best[1]:7.2f} s")
    print(f"  openpyxl write-only, same cells, plain values:              {best[2]:7.2f} s")
    print(f"  openpyxl write-only, same cells, with number formats:       {best[3]:7.2f} s")
    print(f"ratio export_regional / openpyxl plain:     {best[0] / best[2]:.2f}x (goal <= 1.5x)")
    print(f"ratio export_regional / openpyxl formatted: {best[0] / best[3]:.2f}x")
    print(f"ratio write_regional  / openpyxl plain:     {best[1] / best[2]:.2f}x")


if __name__ == "__main__":
    main()
