#!/usr/bin/env python3
"""Classifying a batch over N imported subscribers, against one raw SQL pass, in the same run.

The database is built once (an import of a generated extract) and copied for each run:
  * baseline: one hand-written `sqlite3` query making the same decisions (joins of the three
    cycles, every eligibility check, the groups) and counting them, storing nothing;
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

from mbfcare.domain.actors import Actor

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

AREA = ("'Hải Phòng','Quảng Ninh','Hải Dương','Thái Bình','Hưng Yên','Bắc Ninh','Bắc Giang',"
        "'Cao Bằng','Bắc Kạn','Lạng Sơn','Hà Giang','Tuyên Quang','Thái Nguyên'")
AREA_NEW = ("'Hải Phòng','Quảng Ninh','Hưng Yên','Bắc Ninh','Cao Bằng','Lạng Sơn','Tuyên Quang',"
            "'Thái Nguyên'")
# The same decision, written by hand as one SELECT that only counts: the same eligibility
# checks (earlier batch, status, area by old or new name, the three exclusion sources, missing
# cycles) and the same groups, with nothing stored.
BASELINE_SQL = f"""
SELECT CASE
  WHEN EXISTS (SELECT 1 FROM care_cases cc WHERE cc.programme_id = 1 AND cc.subscriber_id = s.id
               AND cc.batch_id != 1) THEN 'on_earlier_batch'
  WHEN s.status != 'active' THEN 'not_active'
  WHEN NOT (s.province IN ({AREA}) OR s.province_new IN ({AREA_NEW})) OR s.province IS NULL
       THEN 'outside_area'
  WHEN s.in_other_programme = 1
       OR EXISTS (SELECT 1 FROM exclusions e WHERE e.programme_id = 1 AND e.msisdn = s.msisdn)
       OR EXISTS (SELECT 1 FROM care_cases o WHERE o.subscriber_id = s.id AND o.programme_id != 1
                  AND o.handed_over_at IS NOT NULL) THEN 'in_other_programme'
  WHEN c1.amount IS NULL OR c2.amount IS NULL OR c3.amount IS NULL THEN 'missing_cycle'
  WHEN min(c1.amount, c2.amount, c3.amount) > 700000 THEN 'group:1'
  WHEN min(c1.amount, c2.amount, c3.amount) >= 550000 THEN 'group:2'
  WHEN min(c1.amount, c2.amount, c3.amount) < 550000 THEN 'below_threshold'
  ELSE 'in_gap' END AS outcome, count(*)
FROM subscribers s
LEFT JOIN charges c1 ON c1.subscriber_id = s.id AND c1.cycle = 201612
LEFT JOIN charges c2 ON c2.subscriber_id = s.id AND c2.cycle = 201611
LEFT JOIN charges c3 ON c3.subscriber_id = s.id AND c3.cycle = 201610
GROUP BY outcome
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
    create_programme(factory, default_programme_spec(), actor=Actor("test"))
    import_subscribers(factory, extract, batch=1, actor=Actor("test"))
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
    result = classify_batch(factory, batch=1, actor=Actor("test"))
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "groups": result.groups, "in_gap": result.in_gap,
            "not_eligible": result.not_eligible,
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
    print("| subscribers | raw SQL pass (same decisions, counted) | MBF Care classify (stored) "
          "| ratio | peak memory |")
    print("|---:|---:|---:|---:|---:|")
    print(f"| {args.rows:,} | {base['seconds']:.2f} s | {ours['seconds']:.2f} s | "
          f"{ours['seconds'] / base['seconds']:.2f}× | {ours['peak_mb']:,.0f} MB |")
    print(f"baseline outcomes {base['groups']}; MBF Care groups {ours['groups']}, "
          f"gap {ours.get('in_gap')}, not eligible {ours.get('not_eligible')}", file=sys.stderr)


if __name__ == "__main__":
    main()
