"""The rejects workbook: every row that was not stored, as it was written, with the reason."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill

_UNSAFE_NAME = re.compile(r'[<>:"/\\|?*\x00-\x1f]+')


@dataclass(frozen=True)
class RejectedRow:
    """A data row that was not stored."""

    row: int  # 1-based row number in the sheet or file
    cells: list[Any]
    reason: str


def _cell_text(value: Any) -> Any:
    if value is None or value == "":
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dt.datetime | dt.date | int | float):
        return value
    return str(value)


def write_rejects(folder: Path, source: Path, sheet: str | None, headers: list[str],
                  rows: list[RejectedRow], first_column: int = 0) -> Path:
    """Write `rows` to `folder/<source>_tu-choi_<time>.xlsx` and return its path.

    Text is always written as text (a cell starting with `=` stays a string, never a formula).
    """
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")[:-3]
    stem = _UNSAFE_NAME.sub("_", source.stem)[:80]
    target = folder / f"{stem}_tu-choi_{stamp}.xlsx"
    workbook = Workbook(write_only=True)
    sheet_out = workbook.create_sheet("Dòng bị từ chối")
    sheet_out.freeze_panes = "A2"
    sheet_out.column_dimensions["C"].width = 60
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="FDE9E7")
    titles = ["Sheet", "Dòng", "Lý do", *(h or f"(cột {i + 1 + first_column})"
                                          for i, h in enumerate(headers))]
    header_cells = []
    for title in titles:
        cell = WriteOnlyCell(sheet_out, value=title)
        cell.font = bold
        cell.fill = fill
        header_cells.append(cell)
    sheet_out.append(header_cells)
    width = len(headers)
    wrap = Alignment(wrap_text=True, vertical="top")
    for item in sorted(rows, key=lambda r: r.row):
        out = [WriteOnlyCell(sheet_out, value=sheet or source.name),
               WriteOnlyCell(sheet_out, value=item.row)]
        reason = WriteOnlyCell(sheet_out, value=item.reason)
        reason.alignment = wrap
        out.append(reason)
        values = list(item.cells) + [None] * max(0, width - len(item.cells))
        for value in values:
            cell = WriteOnlyCell(sheet_out, value=_cell_text(value))
            if isinstance(cell.value, str):
                cell.data_type = "s"  # never a formula, whatever the text starts with
            out.append(cell)
        sheet_out.append(out)
    workbook.save(target)
    return target
