#!/usr/bin/env python3
"""Import speed and memory against the raw libraries, measured in the same run.

For each format, three child processes run one after another on the same file:
  * A: the raw libraries read the file (pyarrow for CSV, python-calamine for XLSX) and insert
    its rows into one flat SQLite table with one `executemany` transaction, no checks;
  * B: the same read, then the same rows into MBF Care's own schema (a subscriber row and one
    charge row per billing cycle, with its indexes), one `executemany` transaction, no checks;
  * MBF Care: `import_subscribers` into a fresh database (programme created first, not timed).
Each prints its wall time and peak resident memory; this script prints the ratio.

    python bench/bench_import.py --rows 1000000            # generates the files if missing
    python bench/bench_import.py --rows 100000 --formats csv
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mbfcare.domain.actors import Actor

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL")


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _baseline(path: Path, db: Path) -> dict[str, float]:
    import sqlite3

    start = time.perf_counter()
    if path.suffix == ".csv":
        import pyarrow as pa
        import pyarrow.csv as pacsv

        table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
            column_types={name: pa.string() for name in _csv_header(path)}))
        columns = [table.column(i).to_pylist() for i in range(table.num_columns)]
        rows = zip(*columns, strict=True)
        width = table.num_columns
    else:
        from python_calamine import CalamineWorkbook

        sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0)
        iterator = sheet.iter_rows()
        header = next(iterator)
        width = len(header)
        rows = (tuple(r) for r in iterator)
    conn = sqlite3.connect(db, isolation_level=None)
    for pragma in PRAGMAS:
        conn.execute(pragma)
    cols = ", ".join(f"c{i}" for i in range(width))
    conn.execute(f"CREATE TABLE t (id INTEGER PRIMARY KEY, {cols})")
    conn.execute("BEGIN")
    conn.executemany(f"INSERT INTO t ({cols}) VALUES ({', '.join('?' * width)})", rows)
    conn.execute("COMMIT")
    return {"seconds": time.perf_counter() - start, "peak_mb": _peak_mb()}


def _baseline_schema(path: Path, db: Path) -> dict[str, float]:
    """Raw read, then the same rows into MBF Care's own tables (subscribers + one charge row
    per cycle), one executemany transaction, no normalisation at all."""
    import sqlite3

    from mbfcare.db import make_engine, migrate

    url = f"sqlite:///{db}"
    migrate(make_engine(url), url)
    start = time.perf_counter()
    if path.suffix == ".csv":
        import pyarrow as pa
        import pyarrow.csv as pacsv

        table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
            column_types={name: pa.string() for name in _csv_header(path)}))
        rows = list(zip(*(table.column(i).to_pylist() for i in range(table.num_columns)),
                        strict=True))
    else:
        from python_calamine import CalamineWorkbook

        sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0)
        iterator = sheet.iter_rows()
        next(iterator)
        rows = [tuple(r) for r in iterator]
    conn = sqlite3.connect(db, isolation_level=None)
    for pragma in PRAGMAS:
        conn.execute(pragma)
    conn.execute("PRAGMA foreign_keys=OFF")
    conn.execute("PRAGMA cache_size=-262144")
    conn.execute("BEGIN")
    # columns of the generated extract: STT, number, name, type, status, activation date,
    # province, district, address, ID number, T-3, T-4, T-5, other programme
    conn.executemany(
        "INSERT OR IGNORE INTO subscribers (id, msisdn, ported, name, subscriber_type, status, "
        "activation_date, province, district, address, id_number, in_other_programme, "
        "updated_at) VALUES (?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, '2026-01-01')",
        ((i, str(r[1]), r[2], r[3], r[4], str(r[5]), r[6], r[7], r[8], r[9], r[13])
         for i, r in enumerate(rows, 1)))
    conn.executemany(
        "INSERT OR IGNORE INTO charges (subscriber_id, cycle, amount) VALUES (?, 201612, ?), "
        "(?, 201611, ?), (?, 201610, ?)",
        ((i, r[10], i, r[11], i, r[12]) for i, r in enumerate(rows, 1)))
    conn.execute("COMMIT")
    return {"seconds": time.perf_counter() - start, "peak_mb": _peak_mb()}


def _csv_header(path: Path) -> list[str]:
    with path.open(encoding="utf-8-sig") as handle:
        return handle.readline().rstrip("\r\n").split(",")


def _mbfcare(path: Path, db: Path) -> dict[str, float]:
    from mbfcare.db import open_database
    from mbfcare.services.importing import import_subscribers
    from mbfcare.services.programmes import create_programme, default_programme_spec

    _, factory = open_database(f"sqlite:///{db}")
    create_programme(factory, default_programme_spec(), actor=Actor("test"))
    start = time.perf_counter()
    result = import_subscribers(factory, path, batch=1, actor=Actor("test"))
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "peak_mb": _peak_mb(), "imported": result.imported,
            "rejected": result.rejected, "rows_read": result.rows_read}


def _child(kind: str, path: Path) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, MBFCARE_HOME=tmp)
        out = subprocess.run(
            [sys.executable, __file__, "--child", kind, str(path), str(Path(tmp) / "b.sqlite")],
            check=True, capture_output=True, text=True, env=env)
        return json.loads(out.stdout.strip().splitlines()[-1])


def _ensure(data: Path, rows: int, fmt: str) -> Path:
    from mbfcare.io.synthetic import write_fast_csv, write_fast_xlsx

    path = data / f"extract_{rows}.{fmt}"
    if not path.exists():
        print(f"generating {path} …", file=sys.stderr)
        (write_fast_csv if fmt == "csv" else write_fast_xlsx)(path, rows, seed=20261125)
    return path


def main() -> None:
    """Run the comparison and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--formats", default="csv,xlsx")
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "mbfcare-bench")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, path, db = args.child
        runner = {"baseline": _baseline, "schema": _baseline_schema, "mbfcare": _mbfcare}[kind]
        result = runner(Path(path), Path(db))
        print(json.dumps(result))
        return
    args.data.mkdir(parents=True, exist_ok=True)
    print("| format | rows | A: read + executemany, one flat table | B: read + executemany "
          "into MBF Care's tables | MBF Care import | ratio to A | ratio to B | peak memory |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for fmt in args.formats.split(","):
        path = _ensure(args.data, args.rows, fmt)
        flat = _child("baseline", path)
        schema = _child("schema", path)
        ours = _child("mbfcare", path)
        print(f"| {fmt.upper()} | {args.rows:,} | {flat['seconds']:.1f} s | "
              f"{schema['seconds']:.1f} s | {ours['seconds']:.1f} s | "
              f"{ours['seconds'] / flat['seconds']:.2f}× | "
              f"{ours['seconds'] / schema['seconds']:.2f}× | {ours['peak_mb']:,.0f} MB |",
              flush=True)


if __name__ == "__main__":
    main()
