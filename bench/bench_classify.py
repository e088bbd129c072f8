#!/usr/bin/env python3
"""Classifying a batch over N imported subscribers, against one raw SQL pass, in the same run.

The database is built once (an import of a generated extract) and copied for each run:
  * baseline: one `sqlite3` query joining the three cycles and computing the same groups
    (`GROUP BY` over the CASE), i.e. the decision work without storing anything;
  * MBF Care: `classify_batch` for batch 1, storing the care list and every left-out reason.

    python bench/bench_classify.py --rows 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

BASELINE_SQL = """
SELECT CASE WHEN b > 700000 THEN 1 WHEN b >= 550000 AND b < 700000 THEN 2
            WHEN b < 550000 THEN 0 ELSE -1 END AS g, count(*)
FROM (SELECT min(c1.amount, c2.amount, c3.amount) AS b
      FROM subscribers s
      JOIN charges c1 ON c1.subscriber_id = s.id AND c1.cycle = 201612
      JOIN charges c2 ON c2.subscriber_id = s.id AND c2.cycle = 201611
      JOIN charges c3 ON c3.subscriber_id = s.id AND c3.cycle = 201610
      WHERE s.status = 'active')
GROUP BY g
"""


def _build(data: Path, rows: int) -> Path:
    db = data / f"classify_{rows}.sqlite"
    if db.exists():
        return db
    from mbfcare.db import open_database
    from mbfcare.io.synthetic import write_fast_csv
    from mbfcare.services.importing import import_subscribers
    from mbfcare.services.programmes import create_programme, default_programme_spec

    extract = data / f"extract_{rows}.csv"
    if not extract.exists():
        write_fast_csv(extract, rows, seed=20261125)
    os.environ["MBFCARE_HOME"] = str(data)
    _, factory = open_database(f"sqlite:///{db}")
    create_programme(factory, default_programme_spec())
    import_subscribers(factory, extract, batch=1)
    return db


def _child(kind: str, db: Path) -> dict[str, float]:
    import sqlite3

    if kind == "baseline":
        conn = sqlite3.connect(db)
        start = time.perf_counter()
        result = conn.execute(BASELINE_SQL).fetchall()
        seconds = time.perf_counter() - start
        return {"seconds": seconds, "groups": dict(result),
                "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    from mbfcare.db import open_database
    from mbfcare.services.classification import classify_batch

    _, factory = open_database(f"sqlite:///{db}")
    start = time.perf_counter()
    result = classify_batch(factory, batch=1)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "groups": result.groups, "in_gap": result.in_gap,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    """Build the database if needed, run both, print a Markdown row."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "mbfcare-bench")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args.child[0], Path(args.child[1])), default=str))
        return
    args.data.mkdir(parents=True, exist_ok=True)
    source = _build(args.data, args.rows)
    results = {}
    for kind in ("baseline", "mbfcare"):
        with tempfile.TemporaryDirectory() as tmp:
            db = Path(tmp) / "copy.sqlite"
            shutil.copy(source, db)
            out = subprocess.run([sys.executable, __file__, "--child", kind, str(db)],
                                 check=True, capture_output=True, text=True,
                                 env=dict(os.environ, MBFCARE_HOME=tmp))
            results[kind] = json.loads(out.stdout.strip().splitlines()[-1])
    base, ours = results["baseline"], results["mbfcare"]
    print("| subscribers | raw SQL pass (groups only) | MBF Care classify (stored) | ratio | "
          "peak memory |")
    print("|---:|---:|---:|---:|---:|")
    print(f"| {args.rows:,} | {base['seconds']:.2f} s | {ours['seconds']:.2f} s | "
          f"{ours['seconds'] / base['seconds']:.2f}× | {ours['peak_mb']:,.0f} MB |")
    print(f"baseline groups {base['groups']}; MBF Care groups {ours['groups']}, "
          f"gap {ours.get('in_gap')}", file=sys.stderr)


if __name__ == "__main__":
    main()
