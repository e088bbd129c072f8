"""Cells safe to write into a workbook or a CSV file: no formula injection, no control characters.

Every writer of MBF Care (workbooks through xlsxwriter, CSV through `csv.writer`) sends the
values that come from users or extracts through this module.

The rule, after OWASP's "CSV Injection" guidance:

* Numbers are written as numbers (a negative charge stays the number -5000, never text).
* Text whose first non-blank character is `=`, `+`, `-`, `@`, a tab or a carriage return
  would be read as a formula by Excel or LibreOffice when the CSV is opened or the cell is
  edited; it gets a leading apostrophe (`'=HYPERLINK(...)`), which makes it plain text.
* The one exception is text that is only a signed number, `+84 912 345 678`, `-12,5` or
  `-1.234.567`: digits, spaces and separators cannot call a function or reach another cell,
  so a phone number in international form keeps its `+`.
* Workbooks also store every text as a string cell (xlsxwriter's `write_string`, with
  `strings_to_formulas` off; openpyxl cells with `data_type = "s"`), so a text is never a
  formula there even without the apostrophe; the apostrophe stays so that the cell does not
  turn into a formula when someone edits it in Excel and presses Enter.
* Other control characters become spaces: they do not survive the XML of a workbook
  unchanged and would split a CSV line.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

# OWASP CSV injection: a cell starting with one of these may be read as a formula.
FORMULA_START = frozenset("=+-@\t\r")
_SIGNED_NUMBER = re.compile(r"[+-] ?\d[\d .,]*")
_CONTROLS = {cp: " " for cp in range(32)} | {0x7F: " "}

# Options for every `xlsxwriter.Workbook`: text stays text, never a formula, link or number.
XLSXWRITER_OPTIONS: dict[str, bool] = {
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
}


def needs_quote(value: str) -> bool:
    """Whether `value` would be read as a formula (see the module's rule)."""
    stripped = value.lstrip(" \u00a0")
    if not stripped or stripped[0] not in FORMULA_START:
        return False
    # a bare signed number (`+84 912 345 678`, `-12,5`) is read as a number, not a formula
    return not (stripped[0] in "+-" and _SIGNED_NUMBER.fullmatch(stripped.rstrip()))


def safe_text(value: str | None) -> str:
    """Text made safe for a spreadsheet cell: NFC, `'` before a formula, controls as spaces.

    Args:
        value: the text (None and "" give "").

    Returns:
        The text to write.
    """
    if not value:
        return ""
    if not value.isascii() and not unicodedata.is_normalized("NFC", value):
        value = unicodedata.normalize("NFC", value)
    if needs_quote(value):
        value = "'" + value
    if not value.isprintable():
        value = value.translate(_CONTROLS)
    return value


def csv_cell(value: object) -> object:
    """A value ready for `csv.writer`: numbers as they are, text made safe, None as "".

    Dates are written `dd/mm/yyyy` (how Vietnamese offices read them).
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float | Decimal):
        return value
    if isinstance(value, dt.datetime):
        return value.strftime("%d/%m/%Y %H:%M")
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y")
    return safe_text(str(value))


def csv_row(values: Iterable[object]) -> list[object]:
    """`csv_cell` of every value of a row."""
    return [csv_cell(v) for v in values]


def xlsxwriter_options(**extra: Any) -> dict[str, Any]:
    """`XLSXWRITER_OPTIONS` plus the writer's own (e.g. `constant_memory=True`)."""
    return {**XLSXWRITER_OPTIONS, **extra}


def write_cell(sheet: Any, row: int, col: int, value: object, cell_format: Any = None) -> None:
    """Write one value into an xlsxwriter worksheet by its type; text always as a string.

    None and "" leave the cell empty; numbers are numbers; dates are dates (give a date
    `cell_format`); anything else is text through `safe_text`.
    """
    if value is None or value == "":
        return
    if isinstance(value, bool):
        sheet.write_boolean(row, col, value, cell_format)
    elif isinstance(value, int | float | Decimal):
        sheet.write_number(row, col, float(value) if isinstance(value, Decimal) else value,
                           cell_format)
    elif isinstance(value, dt.date):
        moment = value if isinstance(value, dt.datetime) else dt.datetime.combine(value,
                                                                                  dt.time())
        sheet.write_datetime(row, col, moment, cell_format)
    else:
        sheet.write_string(row, col, safe_text(str(value)), cell_format)


def set_text_cell(cell: Any, value: str | None) -> None:
    """Put text into an openpyxl cell as a string cell (openpyxl makes `=…` a formula).

    Args:
        cell: an `openpyxl.cell.Cell`.
        value: the text.
    """
    cell.value = safe_text(value)
    cell.data_type = "s"
