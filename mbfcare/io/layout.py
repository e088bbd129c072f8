"""Find the list inside a sheet: the header row, the column of each field, the data rows."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mbfcare.domain.headers import ChargeHeader, header_key, match_field, parse_charge_header
from mbfcare.domain.vntext import fold

HEADER_SCAN_ROWS = 40
# Fields whose column must be unambiguous: two visible columns for one of them would make
# the import pick one silently (the number, or the status that decides eligibility).
KEY_FIELDS = frozenset({"msisdn", "subscriber_type", "status"})

# Lines that close a list: totals and the signature block (folded, without diacritics).
_TOTALS = re.compile(r"^(tong cong|tong so|tong|cong|total|grand total)\b")
_SIGNATURE = re.compile(
    r"(nguoi lap|lap bieu|truong phong|pho phong|giam doc|ky ten|ky, ghi ro|ky ghi ro|"
    r"xac nhan|thu truong|ke toan truong|ngay \d{1,2} thang \d{1,2} nam|"
    r"\bngay\b.*\bthang\b.*\bnam\b)"
)
_COLUMN_NUMBER = re.compile(r"^\(?\[?([0-9]{1,3}|[a-z]{1,2})\]?\)?$")


@dataclass
class ColumnMap:
    """Where each field of the list lives in the row (indexes into the row's cells)."""

    header_row: int  # 1-based row number in the sheet
    headers: list[str]  # the header cells as written
    fields: dict[str, int] = field(default_factory=dict)
    charges: dict[int, ChargeHeader] = field(default_factory=dict)  # column -> header
    ignored: list[str] = field(default_factory=list)
    # Key fields named by two visible columns: field -> those columns (an ambiguous list)
    doubled: dict[str, list[int]] = field(default_factory=dict)


def _text(cell: Any) -> str:
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell).strip()


def score_header(cells: Sequence[Any]) -> tuple[int, dict[str, list[int]], dict[int, ChargeHeader]]:
    """How much a row looks like the header: the fields and charge columns it names."""
    fields: dict[str, list[int]] = {}
    charges: dict[int, ChargeHeader] = {}
    for index, cell in enumerate(cells):
        if not isinstance(cell, str) or not cell.strip():
            continue
        charge = parse_charge_header(cell)
        if charge is not None:
            charges[index] = charge
            continue
        name = match_field(cell)
        if name is not None:
            fields.setdefault(name, []).append(index)
    score = len(fields) + min(len(charges), 3)
    return score, fields, charges


def find_header(
    rows: Iterable[tuple[int, Sequence[Any]]],
    hidden: frozenset[int] = frozenset(),
    first_column: int = 0,
) -> ColumnMap | None:
    """The best header among the first rows, or None if no row names a subscriber number.

    When a field is named by two columns, a visible one wins over a hidden one, then the
    leftmost.
    """
    best: tuple[int, int, Sequence[Any], dict[str, list[int]], dict[int, ChargeHeader]] | None
    best = None
    for number, cells in rows:
        score, fields, charges = score_header(cells)
        if "msisdn" not in fields or score < 2:
            continue
        if best is None or score > best[0]:
            best = (score, number, cells, fields, charges)
    if best is None:
        return None
    _, number, cells, _, _ = best
    return header_at(number, cells, hidden, first_column)


def header_at(
    number: int,
    cells: Sequence[Any],
    hidden: frozenset[int] = frozenset(),
    first_column: int = 0,
) -> ColumnMap:
    """The columns a given row names when read as the header (the user's choice of row).

    When a field is named by two columns, a visible one wins over a hidden one, then the
    leftmost.
    """
    _, fields, charges = score_header(cells)
    chosen: dict[str, int] = {}
    doubled: dict[str, list[int]] = {}
    for name, columns in fields.items():
        visible = [c for c in columns if c + first_column not in hidden]
        chosen[name] = (visible or columns)[0]
        if name in KEY_FIELDS and len(visible) > 1:
            doubled[name] = visible
    used = set(chosen.values()) | set(charges)
    headers = [_text(c) for c in cells]
    ignored = [h for i, h in enumerate(headers) if h and i not in used]
    return ColumnMap(number, headers, chosen, charges, ignored, doubled)


def is_blank_row(cells: Sequence[Any]) -> bool:
    """A row that holds nothing."""
    for cell in cells:
        if cell is None or cell == "":
            continue
        if isinstance(cell, str) and not cell.strip():
            continue
        return False
    return True


def is_column_number_row(cells: Sequence[Any]) -> bool:
    """The row of column numbers under a header: (1) (2) (3) ... or 1 2 3 or A B C."""
    values = [fold(_text(c)) for c in cells if _text(c)]
    if len(values) < 3:
        return False
    return all(_COLUMN_NUMBER.match(v) for v in values)


def row_texts(cells: Sequence[Any]) -> list[str]:
    """The folded text of the non-empty cells."""
    return [fold(c) for c in cells if isinstance(c, str) and c.strip()]


def is_totals_row(cells: Sequence[Any], msisdn_cell: Any) -> bool:
    """A `Tổng cộng` line under the list (never a row that carries a subscriber number)."""
    if not (
        msisdn_cell is None
        or msisdn_cell == ""
        or (
            isinstance(msisdn_cell, str)
            and (not msisdn_cell.strip() or _TOTALS.match(fold(msisdn_cell)))
        )
    ):
        return False
    texts = row_texts(cells)
    return bool(texts) and any(_TOTALS.match(t) for t in texts[:3])


def is_signature_row(cells: Sequence[Any]) -> bool:
    """A signature or place-and-date line under the list."""
    texts = row_texts(cells)
    return bool(texts) and any(_SIGNATURE.search(t) for t in texts)


def is_repeated_header(cells: Sequence[Any], columns: ColumnMap) -> bool:
    """The header printed again further down (lists pasted page by page)."""
    index = columns.fields["msisdn"]
    if index >= len(cells):
        return False
    cell = cells[index]
    if not isinstance(cell, str) or not cell or cell[0] in "0123456789+(":
        return False
    return header_key(cell) == header_key(columns.headers[index])
