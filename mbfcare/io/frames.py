"""Read a whole sheet (or CSV) into a polars frame of text cells, fast and without guessing.

Every cell is read as text (numbers as their digits, dates as ISO text), so that no leading
zero is lost and no number becomes a float; the importer interprets the text. Workbooks are
parsed by calamine in Rust (fastexcel); CSV by polars' reader.
"""

from __future__ import annotations

import contextlib
import csv
import ctypes
import gc
import io
import re
import sys
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import fastexcel
import polars as pl

from mbfcare.errors import ImportFileError

_FIRST_VALUE_CELL = re.compile(rb'<c r="[A-Z]+(\d+)"[^>]*?>(?:(?!</c>).)*?<(?:v|is)>', re.S)


@dataclass(frozen=True)
class CsvFormat:
    """How a CSV file is written."""

    encoding: str
    delimiter: str
    legacy: str | None = None


@dataclass
class SheetFrame:
    """A sheet as text columns `c0, c1, …`, with the sheet row number of its first row."""

    frame: pl.DataFrame
    first_row: int  # 1-based sheet row (or CSV record) number of frame row 0
    first_column: int  # 0-based sheet column of `c0`


# Below this many cells a read is small: a full collection (which walks every object of the
# process, seconds in a long-lived window or test run) would cost more than it gives back.
BIG_READ_CELLS = 2_000_000


def release_memory(cells: int = BIG_READ_CELLS) -> None:
    """Give freed memory back to the system after a big read (glibc keeps it otherwise).

    calamine frees a large sheet through the C allocator while polars allocates from its own,
    so without this the two would add up in the peak. Only glibc has `malloc_trim`; elsewhere
    this does nothing.

    The cycle collector runs only on the main thread: on a worker (the window's database
    runner) it could free Qt objects owned by the GUI thread, which crashes Qt; the window
    collects on its own thread (`ui.garbage`).
    """
    if cells >= BIG_READ_CELLS and threading.current_thread() is threading.main_thread():
        gc.collect()
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6").malloc_trim(0)


def _name_columns(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.rename({old: f"c{i}" for i, old in enumerate(frame.columns)})


def _xlsx_first_row(path: Path, sheet_part: str | None) -> int:
    """Row number of the first cell holding a value (calamine drops the empty rows above)."""
    if sheet_part is None:
        return 1
    try:
        with zipfile.ZipFile(path) as archive, archive.open(sheet_part) as handle:
            data = b""
            while len(data) < 16 * 1024 * 1024:
                block = handle.read(1 << 16)
                if not block:
                    break
                data += block
                start = data.find(b"<sheetData")
                if start >= 0:
                    match = _FIRST_VALUE_CELL.search(data, start)
                    if match:
                        return int(match.group(1))
    except (KeyError, zipfile.BadZipFile, ValueError):
        pass
    return 1


def read_workbook_sheet(path: Path, sheet: str, sheet_part: str | None) -> SheetFrame:
    """All cells of `sheet` as text.

    Raises:
        ImportFileError: the sheet cannot be read.
    """
    try:
        reader = fastexcel.read_excel(str(path))
        data = reader.load_sheet(sheet, header_row=None, dtypes="string")
        columns = data.available_columns()
        first_column = columns[0].absolute_index if columns else 0
        frame = data.to_polars()
        del data, reader
        release_memory(frame.height * frame.width)
    except Exception as exc:  # fastexcel raises its own hierarchy; all mean "cannot read"
        detail = " ".join(str(exc).split()).split(" Context:")[0][:160]
        raise ImportFileError(
            f"Không đọc được sheet '{sheet}' của tệp {path.name} ({detail}). Mở bằng Excel, lưu "
            "lại dạng .xlsx rồi nhập lại."
        ) from exc
    return SheetFrame(_name_columns(frame), _xlsx_first_row(path, sheet_part), first_column)


def read_rows_frame(rows: list[list[object]], first_row: int, first_column: int) -> SheetFrame:
    """A frame from rows already in memory (legacy .xls files, which are small)."""
    width = max((len(r) for r in rows), default=0)
    data = {
        f"c{i}": [_as_text(r[i]) if i < len(r) else None for r in rows] for i in range(width)
    }
    return SheetFrame(pl.DataFrame(data, schema={k: pl.String for k in data}), first_row,
                      first_column)


def _as_text(value: object) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def read_csv_frame(path: Path, fmt: CsvFormat) -> SheetFrame:
    """All records of a CSV file as text, whatever the width of the title lines above.

    Raises:
        ImportFileError: the file cannot be parsed.
    """
    text_head: IO[str]
    if fmt.encoding in ("utf-8", "utf-8-sig"):
        source: Path | io.BytesIO = path
        text_head = path.open("r", encoding=fmt.encoding, newline="")
    else:
        decoded = path.read_bytes().decode(fmt.encoding, errors="replace")
        source = io.BytesIO(decoded.encode("utf-8"))
        text_head = io.StringIO(decoded, newline="")
    with text_head:
        reader = csv.reader(text_head, delimiter=fmt.delimiter)
        widths = [len(row) for _, row in zip(range(200), reader, strict=False)]
    width = max(widths, default=1)
    try:
        frame = pl.read_csv(
            source, has_header=False, infer_schema=False, separator=fmt.delimiter,
            truncate_ragged_lines=True, missing_columns="insert",
            schema={f"c{i}": pl.String for i in range(width)}, encoding="utf8",
            raise_if_empty=False, quote_char='"',
        )
    except pl.exceptions.ComputeError as exc:
        if "utf-8" in str(exc).lower() and fmt.encoding in ("utf-8", "utf-8-sig"):
            return read_csv_frame(path, CsvFormat("cp1258", fmt.delimiter, fmt.legacy))
        raise _csv_error(path, exc) from exc
    except pl.exceptions.PolarsError as exc:
        raise _csv_error(path, exc) from exc
    return SheetFrame(frame, 1, 0)


_COLUMN_NUMBER = re.compile(r"column number (\d+)")
_OFFSET = re.compile(r"offset in the file is (\d+) bytes")


def _csv_error(path: Path, exc: Exception) -> ImportFileError:
    """polars' several-paragraph message turned into one sentence that says where."""
    text = str(exc)
    column, offset = _COLUMN_NUMBER.search(text), _OFFSET.search(text)
    where = "".join([f", cột {column.group(1)}" if column else "",
                     f", khoảng byte {offset.group(1)}" if offset else ""])
    if "not properly escaped" in text or "quote" in text.lower():
        what = "một ô mở dấu nháy kép (\") mà không đóng, thường do tệp bị cắt ngang"
    else:
        what = " ".join(text.split("\n")[0].split())[:120]
    return ImportFileError(
        f"Tệp {path.name} không đọc được dạng CSV ({what}{where}). Mở bằng Excel, lưu lại dạng "
        "CSV UTF-8 rồi nhập lại."
    )
