#!/usr/bin/env python3
"""10,000 gift receipts with their QR codes in one PDF, against the same page without QR.

Both runs draw the real receipt page (`mbfcare.reports.pdf.receipts.draw_receipt`) on a
reportlab canvas, one `showPage` per receipt, in the same process: first the bare page (the
QR left out), then the page with its QR (segno matrix drawn as run-length rectangles in one
path). The goal is a QR page rate of at least 50% of the bare page rate, with memory flat:
the resident size is sampled every 1,000 pages and should not grow with the page count.

    python bench/bench_receipts.py [--receipts 10000] [--out DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from mbfcare.domain.codes import check_code, entry_code, new_token
from mbfcare.reports.pdf.data import (
    Customer,
    Printed,
    ReceiptData,
    load_form_settings,
)
from mbfcare.reports.pdf.receipts import render_receipts

FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi",
          "Đỗ", "Hồ", "Ngô", "Dương", "Lý", "Đào", "Đoàn", "Trương", "Lương"]
MIDDLE = ["Văn", "Thị", "Hữu", "Đức", "Minh", "Ngọc", "Thu", "Thanh", "Quang", "Kim", "Xuân"]
GIVEN = ["An", "Bình", "Cường", "Dũng", "Đạt", "Hải", "Hiếu", "Hòa", "Hùng", "Huy", "Khánh",
         "Lan", "Linh", "Mai", "Nga", "Phương", "Quỳnh", "Tâm", "Thảo", "Trang", "Vân", "Yến"]
DISTRICTS = ["Lê Chân", "Ngô Quyền", "Hồng Bàng", "Hải An", "Kiến An", "Dương Kinh"]
STREETS = ["Lê Lợi", "Trần Phú", "Lạch Tray", "Tô Hiệu", "Nguyễn Đức Cảnh", "Cầu Đất"]


def receipts(count: int, seed: int = 5) -> Iterator[ReceiptData]:
    """Synthetic receipts: both groups, half of them already handed over."""
    rng = random.Random(seed)
    for case_id in range(1, count + 1):
        token = new_token()
        printed = Printed(case_id, entry_code("receipt", 1, case_id, token),
                          check_code(case_id, token))
        district = rng.choice(DISTRICTS)
        group = 1 if rng.random() < 0.3 else 2
        customer = Customer(
            name=f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}",
            msisdn=f"090{rng.randrange(10**7):07d}",
            address=f"Số {rng.randrange(1, 300)} {rng.choice(STREETS)}, quận {district}",
            id_number=f"0310{rng.randrange(10**8):08d}" if rng.random() < 0.7 else "",
            birth_date=None, province="Hải Phòng", district=district,
            store=f"Cửa hàng MobiFone {district}")
        given = rng.random() < 0.5
        items = ("Balo kéo du lịch",) if group == 1 else (
            "Hộp đựng thực phẩm hút chân không", "Ô 2 khúc cầm tay")
        yield ReceiptData(
            printed, customer, "Chăm sóc khách hàng năm 2017", 1, "03/2017", group,
            "visit" if group == 1 else "store", f"Quà loại {group}", items,
            item_given=items[-1] if given else None,
            given_on=dt.date(2017, 3, 5 + case_id % 20) if given else None,
            given_by="Trần Thị Hà" if given else "")


def _rss_mb() -> float:
    """The resident size now (Linux: /proc; elsewhere the peak from `resource`)."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        import os

        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, AttributeError):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(count: int, out: Path, *, qr: bool) -> tuple[float, list[float], int]:
    """Render `count` receipts; returns seconds, RSS samples (MB), file size."""
    settings = load_form_settings()
    samples: list[float] = []

    def tick(done: int) -> None:
        if done % 1000 == 0:
            samples.append(_rss_mb())

    start = time.perf_counter()
    rendered = render_receipts(receipts(count), str(out), settings=settings,
                               on_document=tick, qr=qr)
    seconds = time.perf_counter() - start
    assert rendered.pages == count
    return seconds, samples, out.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--receipts", type=int, default=10_000)
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()))
    args = parser.parse_args()
    n = args.receipts
    # Warm up: fonts registered and subset caches filled, so neither run pays for them.
    run(50, args.out / "warmup.pdf", qr=True)
    bare_s, _bare_rss, bare_size = run(n, args.out / "receipts_bare.pdf", qr=False)
    qr_s, qr_rss, qr_size = run(n, args.out / "receipts_qr.pdf", qr=True)
    bare_rate, qr_rate = n / bare_s, n / qr_s
    print(f"{n:,} receipts, one A4 page each, one PDF")
    print(f"  bare page (no QR): {bare_s:7.1f} s  {bare_rate:7.0f} pages/s  "
          f"{bare_size / 2**20:6.1f} MB")
    print(f"  with QR          : {qr_s:7.1f} s  {qr_rate:7.0f} pages/s  "
          f"{qr_size / 2**20:6.1f} MB")
    print(f"  ratio QR/bare    : {qr_rate / bare_rate:7.0%}  (goal ≥ 50%)")
    if qr_rss:
        print(f"  RSS every 1,000 pages (QR run): {', '.join(f'{x:.0f}' for x in qr_rss)} MB"
              f"  (growth {qr_rss[-1] - qr_rss[0]:+.0f} MB)")


if __name__ == "__main__":
    main()
