"""The rejects workbook: every row that was not stored, as it was written, with the reason."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import xlsxwriter

from mbfcare.io.safe_cells import safe_text, xlsxwriter_options

_UNSAFE_NAME = re.compile(r'[<>:"/\\|?*\x00-\x1f]+')


@dataclass(frozen=True)
class RejectedRow:
    """A data row that was not stored."""

    row: int  # 1-based row number in the sheet or file
    cells: list[Any]
    reason: str


def write_rejects(
    folder: Path,
    source: Path,
    sheet: str | None,
    headers: list[str],
    rows: list[RejectedRow],
    first_column: int = 0,
) -> Path:
    """Write `rows` to `folder/<source>_tu-choi_<time>.xlsx` and return its path.

    Every original value is written as text (`write_string`, through `safe_text`), so a cell
    that starts with `=` never becomes a formula, now or when edited in Excel. xlsxwriter
    streams the rows (a file with thousands of rejects takes a fraction of a second).
    """
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")[:-3]
    stem = _UNSAFE_NAME.sub("_", source.stem)[:80]
    target = folder / f"{stem}_tu-choi_{stamp}.xlsx"
    workbook = xlsxwriter.Workbook(str(target), xlsxwriter_options(constant_memory=True))
    try:
        out = workbook.add_worksheet("Dòng bị từ chối")
        bold = workbook.add_format({"bold": True, "bg_color": "#FDE9E7", "text_wrap": True})
        wrap = workbook.add_format({"text_wrap": True, "valign": "top"})
        titles = [
            "Sheet",
            "Dòng",
            "Lý do",
            *(
                " ".join(h.split()) or f"(cột {i + 1 + first_column})"
                for i, h in enumerate(headers)
            ),
        ]
        out.set_column(0, 0, 16)
        out.set_column(1, 1, 7)
        out.set_column(2, 2, 60)
        out.set_column(3, len(titles) - 1, 18)
        out.freeze_panes(1, 0)
        for col, title in enumerate(titles):
            out.write_string(0, col, title, bold)
        label = sheet or source.name
        for line, item in enumerate(sorted(rows, key=lambda r: r.row), start=1):
            out.write_string(line, 0, label)
            out.write_number(line, 1, item.row)
            out.write_string(line, 2, item.reason, wrap)
            for col, value in enumerate(item.cells, start=3):
                if value is None or value == "":
                    continue
                if isinstance(value, float) and value.is_integer():
                    value = int(value)
                out.write_string(line, col, safe_text(str(value)))
        out.autofilter(0, 0, len(rows), len(titles) - 1)
    finally:
        workbook.close()
    return target
