"""Open a spreadsheet or CSV file safely and hand out its rows; no interpretation here.

`.xlsx`/`.xlsm`/`.xls` are read with python-calamine (the file is parsed once, in Rust);
CSV with the stdlib reader, streamed. Whole-file problems (not a spreadsheet, encrypted,
corrupt, too large, a zip bomb, an XML part declaring a DTD, a sheet beyond Excel's grid, a
CSV mixing encodings or with a line over 1 MB) raise `ImportFileError`, one sentence naming
the file (and the part, line or column), before anything is read into memory or stored.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from defusedxml import ElementTree
from python_calamine import CalamineError, CalamineWorkbook

from mbfcare.domain.vntext import legacy_font_encoding, looks_tcvn3, looks_vni
from mbfcare.errors import ImportFileError
from mbfcare.io.frames import (
    CsvFormat,
    SheetFrame,
    read_csv_frame,
    read_rows_frame,
    read_workbook_sheet,
)

MAX_FILE_BYTES = 1024 * 1024 * 1024  # 1 GiB: well above a 1,000,000-row extract
MAX_UNZIPPED_BYTES = 4 * 1024 * 1024 * 1024
MAX_ZIP_RATIO = 150  # real workbooks compress about 5-15 times
CSV_SNIFF_LINES = 60

CSV_MAX_LINE = 1024 * 1024  # a real row is a few hundred bytes; 1 MB is no list
# Excel's grid: a sheet beyond it is no export of any real system (and would make the reader
# allocate rows x columns cells).
MAX_SHEET_ROWS = 1_048_576
MAX_SHEET_COLUMNS = 16_384
# A worksheet part bigger than this, compressed as real ones are (5-15 times), is not
# scanned cell by cell before reading: the scan would cost seconds on a million-row extract.
SCAN_ALWAYS_BYTES = 32 * 1024 * 1024
SCAN_RATIO = 25

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# Files people pick by mistake, named after what they are.
_OTHER_FILES = (
    (b"%PDF", "tệp PDF"),
    (b"\x89PNG", "một ảnh PNG"),
    (b"\xff\xd8\xff", "một ảnh JPEG"),
    (b"GIF8", "một ảnh GIF"),
    (b"Rar!", "tệp nén RAR"),
    (b"7z\xbc\xaf", "tệp nén 7-Zip"),
    (b"\x1f\x8b", "tệp nén gzip"),
    (b"MZ", "một chương trình Windows"),
    (b"\x7fELF", "một chương trình"),
)
_ZIP_MAGIC = b"PK\x03\x04"
_ENCRYPTED_MARK = "EncryptionInfo".encode("utf-16-le")


@dataclass
class SheetRows:
    """The rows of one sheet (or of a CSV file), with what is known about its layout."""

    name: str | None
    rows: Iterator[tuple[int, list[Any]]]  # (1-based row number, cells)
    first_column: int = 0  # 0-based sheet column of cells[0]
    hidden_columns: frozenset[int] = frozenset()  # 0-based sheet columns
    legacy_encoding: str | None = None  # "tcvn3" / "vni" when the file uses legacy fonts
    total_rows: int | None = None


@dataclass
class TableFile:
    """An opened extract: its kind, sheets, digest and size."""

    path: Path
    kind: str  # "xlsx", "xls" or "csv"
    sha256: str
    size: int
    sheet_names: list[str] = field(default_factory=list)
    _workbook: CalamineWorkbook | None = None
    _csv: CsvFormat | None = None

    def rows(self, sheet: str | None) -> SheetRows:
        """Rows of `sheet` (ignored for CSV).

        Raises:
            ImportFileError: no such sheet, or the sheet cannot be read.
        """
        if self._csv is not None:
            return SheetRows(
                None, _csv_rows(self.path, self._csv), legacy_encoding=self._csv.legacy
            )
        assert self._workbook is not None
        if sheet not in self.sheet_names:
            raise ImportFileError(
                f"Tệp {self.path.name} không có sheet '{sheet}'. Các sheet có: "
                f"{', '.join(self.sheet_names)}."
            )
        try:
            data = self._workbook.get_sheet_by_name(sheet)
        except (CalamineError, ValueError) as exc:
            raise reader_error(self.path, exc, sheet) from exc
        start = data.start
        hidden, legacy = frozenset[int](), None
        if self.kind == "xlsx":
            hidden, legacy = _xlsx_layout(self.path, sheet)
        rows = ((i, list(r)) for i, r in enumerate(data.iter_rows(), 1))
        return SheetRows(sheet, rows, start[1] if start else 0, hidden, legacy, data.height)

    def frame(self, sheet: str | None) -> tuple[SheetFrame, frozenset[int], str | None]:
        """The whole sheet as text columns, its hidden columns and legacy font encoding.

        Raises:
            ImportFileError: the sheet cannot be read.
        """
        if self._csv is not None:
            return read_csv_frame(self.path, self._csv), frozenset(), self._csv.legacy
        if sheet not in self.sheet_names:
            raise ImportFileError(
                f"Tệp {self.path.name} không có sheet '{sheet}'. Các sheet có: "
                f"{', '.join(self.sheet_names)}."
            )
        if self.kind == "xlsx":
            hidden, legacy = _xlsx_layout(self.path, sheet)
            return (
                read_workbook_sheet(self.path, sheet, _xlsx_sheet_part(self.path, sheet)),
                hidden,
                legacy,
            )
        rows = self.rows(sheet)
        return (
            read_rows_frame([cells for _, cells in rows.rows], 1, rows.first_column),
            rows.hidden_columns,
            rows.legacy_encoding,
        )

    def close(self) -> None:
        """Release the parsed workbook."""
        if self._workbook is not None:
            self._workbook.close()
            self._workbook = None


def file_digest(path: Path) -> str:
    """SHA-256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def open_table(path: Path, *, max_bytes: int = MAX_FILE_BYTES) -> TableFile:
    """Check and open an extract.

    Raises:
        ImportFileError: missing, empty, too large, encrypted, corrupt, unsafe or not a table.
    """
    name = path.name
    if path.is_dir():
        raise ImportFileError(
            f"{path} là một thư mục, không phải tệp danh sách. Chọn tệp .xlsx hoặc .csv "
            "trong thư mục đó."
        )
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(16)
    except FileNotFoundError as exc:
        raise ImportFileError(f"Không tìm thấy tệp {path}. Kiểm tra lại đường dẫn.") from exc
    except PermissionError as exc:
        raise ImportFileError(
            f"Không có quyền đọc tệp {name} ({path.parent}). Đóng tệp trong Excel hoặc nhờ IT "
            "cấp quyền đọc rồi thử lại."
        ) from exc
    except OSError as exc:
        raise ImportFileError(
            f"Không mở được tệp {name} ({exc.strerror}). Đóng tệp trong Excel rồi thử lại."
        ) from exc
    if size == 0:
        raise ImportFileError(f"Tệp {name} rỗng.")
    if size > max_bytes:
        raise ImportFileError(
            f"Tệp {name} quá lớn ({_n(size)} byte, tối đa {_n(max_bytes // 1024 // 1024)} MB). "
            "Chia danh sách thành nhiều tệp rồi nhập từng tệp."
        )
    sha = file_digest(path)
    if head.startswith(_ZIP_MAGIC):
        _check_zip(path)
        return _open_workbook(path, "xlsx", sha, size)
    if head.startswith(_OLE_MAGIC):
        with path.open("rb") as handle:
            if _ENCRYPTED_MARK in handle.read(min(size, 64 * 1024 * 1024)):
                raise ImportFileError(
                    f"Tệp {name} được đặt mật khẩu. Mở bằng Excel, bỏ mật khẩu, lưu lại rồi nhập."
                )
        return _open_workbook(path, "xls", sha, size)
    for magic, what in _OTHER_FILES:
        if head.startswith(magic):
            raise ImportFileError(
                f"Tệp {name} là {what}, không phải bảng tính hay tệp CSV. Chọn tệp danh sách "
                "(.xlsx, .xls hoặc .csv)."
            )
    fmt = _sniff_csv(path)
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        raise ImportFileError(
            f"Tệp {name} mang đuôi {path.suffix} nhưng không phải bảng tính Excel (nội dung là "
            "văn bản). Nếu là danh sách CSV, đổi đuôi tệp thành .csv rồi nhập lại."
        )
    return TableFile(path, "csv", sha, size, [path.stem], _csv=fmt)


def _open_workbook(path: Path, kind: str, sha: str, size: int) -> TableFile:
    try:
        workbook = CalamineWorkbook.from_path(str(path))
        names = [
            m.name for m in workbook.sheets_metadata if str(m.typ).endswith("WorkSheet")
        ] or list(workbook.sheet_names)
    except (CalamineError, ValueError, OSError) as exc:
        raise reader_error(path, exc) from exc
    return TableFile(path, kind, sha, size, names, _workbook=workbook)


def reader_error(path: Path, exc: BaseException, sheet: str | None = None) -> ImportFileError:
    """The refusal for a workbook its reader gave up on, in one line."""
    detail = " ".join(str(exc).split())
    if "declared uncompressed size" in detail:
        return ImportFileError(
            f"Tệp {path.name} bị từ chối: một phần của tệp giải nén ra lớn hơn kích thước nó "
            "khai báo, dấu hiệu của tệp độc hại (zip bomb). Lưu lại từ Excel rồi nhập lại."
        )
    detail = detail.split(" Context:")[0][:160]
    where = f"sheet '{sheet}' của tệp {path.name}" if sheet else f"tệp {path.name}"
    return ImportFileError(
        f"Không đọc được {where}: tệp bị hỏng hoặc không phải bảng tính Excel ({detail}). "
        "Mở bằng Excel, lưu lại dạng .xlsx rồi nhập lại."
    )


def _check_zip(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            names = {i.filename for i in infos}
            if "xl/workbook.xml" not in names and "xl/workbook.bin" not in names:
                raise ImportFileError(
                    f"Tệp {path.name} là tệp nén nhưng không phải bảng tính Excel."
                )
            unzipped = sum(i.file_size for i in infos)
            packed = sum(i.compress_size for i in infos) or 1
    except zipfile.BadZipFile as exc:
        raise ImportFileError(
            f"Tệp {path.name} bị hỏng (không giải nén được). Lưu lại từ Excel rồi nhập lại."
        ) from exc
    if unzipped > MAX_UNZIPPED_BYTES or (
        unzipped > 50 * 1024 * 1024 and unzipped / packed > MAX_ZIP_RATIO
    ):
        raise ImportFileError(
            f"Tệp {path.name} bị từ chối: khi giải nén lớn bất thường "
            f"({unzipped / 1024 / 1024:.0f} MB từ {packed / 1024 / 1024:.1f} MB), có thể là tệp "
            "độc hại (zip bomb). Lưu lại từ Excel rồi nhập lại."
        )
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if info.filename.lower().endswith((".xml", ".rels", ".vml")):
                    _check_prolog(path, archive, info)
            for info in archive.infolist():
                if info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml"):
                    ratio = info.file_size / max(info.compress_size, 1)
                    if info.file_size <= SCAN_ALWAYS_BYTES or ratio > SCAN_RATIO:
                        _check_grid(path, archive, info)
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as exc:
        detail = " ".join(str(exc).split())[:120]
        if "CRC" in detail:
            # Also what a member that decompresses beyond its declared size looks like.
            raise ImportFileError(
                f"Tệp {path.name} bị từ chối: một phần của tệp không khớp kích thước và mã "
                f"kiểm tra nó khai báo ({detail}): tệp hỏng hoặc độc hại (zip bomb). Lưu lại từ "
                "Excel rồi nhập lại."
            ) from exc
        raise ImportFileError(
            f"Tệp {path.name} bị hỏng (không giải nén được: {detail}). Lưu lại từ Excel rồi "
            "nhập lại."
        ) from exc


_PROLOG_ITEM = re.compile(rb"\s*(<\?.*?\?>|<!--.*?-->)", re.S)
_DOCTYPE = re.compile(rb"\s*<!DOCTYPE", re.I)


def _check_prolog(path: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """Refuse a part that declares a DTD: Excel never writes one, and a DTD is how entity
    expansion ("billion laughs") and external entities (XXE) get in.

    A DTD may only stand before the root element, so reading the prolog (declarations,
    comments, processing instructions) is enough; a prolog longer than 1 MB is refused too.
    """
    with archive.open(info) as handle:
        head = handle.read(1 << 20)
    if head.startswith(codecs.BOM_UTF8):
        head = head[3:]
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        head = head.decode("utf-16", errors="replace").encode("utf-8")
    pos = 0
    while True:
        match = _PROLOG_ITEM.match(head, pos)
        if match is None:
            break
        pos = match.end()
    if _DOCTYPE.match(head, pos) or (len(head) >= 1 << 20 and pos >= len(head) - 16):
        raise ImportFileError(
            f"Tệp {path.name} bị từ chối: phần {info.filename} có khai báo DTD/thực thể XML "
            "(Excel không bao giờ ghi), dấu hiệu của tệp độc hại. Mở tệp bằng Excel, lưu lại "
            "rồi nhập lại."
        )


# A reference beyond the grid has 3+ letters or 7+ digits: one pass finds those rare cells
# (the literal prefix keeps the scan at C speed; single quotes are looked for only if present).
_FAR_REF = re.compile(rb'r="(?:[A-Z]{3,}\d*|[A-Z]{0,2}\d{7,})')
_FAR_REF_SINGLE = re.compile(rb"r='(?:[A-Z]{3,}\d*|[A-Z]{0,2}\d{7,})")
_REF_PARTS = re.compile(rb"r=.([A-Z]*)(\d*)")
_ROW_TAG = re.compile(rb"<(?:\w+:)?row[\s>/]")
_CELL_TAG = re.compile(rb"<(?:\w+:)?c[\s>/]")


def _check_grid(path: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """Refuse a worksheet that goes beyond Excel's grid (1,048,576 rows, 16,384 columns).

    The reader builds a rectangle of every row and column up to the farthest cell, so one
    cell at row 10,000,000 or a row of 2,000,000 cells would take gigabytes (and, for the
    row, minutes). Cells normally carry their reference (`r="B7"`); rows and cells without
    one are counted one after the other, as the reader places them.
    """
    rows = 0
    tail = b""
    with archive.open(info) as handle:
        while True:
            block = handle.read(16 << 20)
            if not block:
                break
            data = tail + block
            cut = data.rfind(b">") + 1
            data, tail = data[:cut], data[cut:]
            if rows == 0:
                _check_dimension(path, info, data)
            far = _FAR_REF.findall(data)
            if b"r='" in data:
                far += _FAR_REF_SINGLE.findall(data)
            for ref in far:
                parts = _REF_PARTS.match(ref)
                assert parts is not None
                letters, number = parts.groups()
                if number and int(number) > MAX_SHEET_ROWS:
                    _grid_refused(path, info, f"có ô ở dòng {_n(int(number))}")
                if letters and _column_index(letters) + 1 > MAX_SHEET_COLUMNS:
                    _grid_refused(path, info, f"có ô ở cột {letters.decode()}")
            # `<x:row>` (a namespace prefix) is rare: only then the slower exact count.
            rows += len(_ROW_TAG.findall(data)) if b":row" in data else data.count(b"<row")
            if rows > MAX_SHEET_ROWS:
                _grid_refused(path, info, f"có hơn {_n(MAX_SHEET_ROWS)} dòng")
            cells = data.count(b"<c ") + data.count(b"<c>") + data.count(b":c ")
            with_ref = data.count(b'<c r="') + data.count(b':c r="')
            if cells > with_ref:
                _check_row_widths(path, info, data)


_DIMENSION = re.compile(rb"""<(?:\w+:)?dimension\s+ref=["'][A-Z]*\d*:?([A-Z]*)(\d*)["']""")


def _check_dimension(path: Path, info: zipfile.ZipInfo, data: bytes) -> None:
    """The sheet's declared size (the reader reserves memory for it) must fit Excel's grid."""
    match = _DIMENSION.search(data, 0, 1 << 16)
    if match is None:
        return
    letters, number = match.groups()
    if number and int(number) > MAX_SHEET_ROWS:
        _grid_refused(path, info, f"khai báo {_n(int(number))} dòng")
    if letters and _column_index(letters) + 1 > MAX_SHEET_COLUMNS:
        _grid_refused(path, info, f"khai báo cột cuối {letters.decode()}")


def _check_row_widths(path: Path, info: zipfile.ZipInfo, data: bytes) -> None:
    """Cells without a reference: none of the rows of `data` may hold more than 16,384."""
    for row in re.split(rb"</(?:\w+:)?row>", data):
        if len(row) > MAX_SHEET_COLUMNS * 7 and len(_CELL_TAG.findall(row)) > MAX_SHEET_COLUMNS:
            _grid_refused(path, info, f"có dòng hơn {_n(MAX_SHEET_COLUMNS)} cột")


def _n(number: int) -> str:
    return f"{number:,}".replace(",", ".")


def _grid_refused(path: Path, info: zipfile.ZipInfo, what: str) -> None:
    raise ImportFileError(
        f"Tệp {path.name} bị từ chối: {info.filename} {what}, vượt quá giới hạn của Excel "
        f"({_n(MAX_SHEET_ROWS)} dòng, {_n(MAX_SHEET_COLUMNS)} cột), có thể là tệp độc hại. "
        "Xuất lại danh sách từ hệ thống rồi nhập lại."
    )


# --- xlsx layout: hidden columns and legacy Vietnamese fonts --------------------------------

_REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_MAIN_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_COL_TAG = re.compile(rb"<(?:\w+:)?col\b([^>]*)/?>")
_ATTR = re.compile(rb'(\w+)="([^"]*)"')


_CELL_STYLE = re.compile(rb'<c r="([A-Z]{1,3})(\d+)"[^>]*?\ss="(\d+)"')


def _column_index(letters: bytes) -> int:
    index = 0
    for ch in letters:
        index = index * 26 + (ch - 64)
    return index - 1


def legacy_cells(path: Path, sheet: str, kind: str) -> dict[tuple[int, int], str] | None:
    """Cells written in a TCVN3 or VNI font: {(sheet row, 0-based column): encoding}.

    None when the workbook uses no such font (the common case, and then nothing is scanned).
    """
    if kind == "xls":
        return _xls_legacy_cells(path, sheet)
    if kind != "xlsx":
        return None
    try:
        with zipfile.ZipFile(path) as archive:
            if "xl/styles.xml" not in archive.namelist():
                return None
            styles = ElementTree.fromstring(archive.read("xl/styles.xml"))
            fonts: list[str | None] = []
            fonts_parent = styles.find(f"{_MAIN_NS}fonts")
            for font in fonts_parent if fonts_parent is not None else []:
                name = font.find(f"{_MAIN_NS}name")
                fonts.append(legacy_font_encoding(name.get("val")) if name is not None else None)
            if not any(fonts):
                return None
            xfs_parent = styles.find(f"{_MAIN_NS}cellXfs")
            xf_encoding: dict[int, str] = {}
            for i, xf in enumerate(xfs_parent if xfs_parent is not None else []):
                font_id = int(xf.get("fontId", "0"))
                if font_id < len(fonts) and fonts[font_id]:
                    xf_encoding[i] = str(fonts[font_id])
            part = _xlsx_sheet_part(path, sheet)
            if not xf_encoding or part is None:
                return {}
            data = archive.read(part)
    except (zipfile.BadZipFile, KeyError, ValueError, ElementTree.ParseError):
        return None
    found: dict[tuple[int, int], str] = {}
    for match in _CELL_STYLE.finditer(data):
        encoding = xf_encoding.get(int(match.group(3)))
        if encoding:
            found[(int(match.group(2)), _column_index(match.group(1)))] = encoding
    return found


def _xls_legacy_cells(path: Path, sheet: str) -> dict[tuple[int, int], str] | None:
    try:
        import xlrd

        book = xlrd.open_workbook(str(path), formatting_info=True, on_demand=True)
        fonts = [legacy_font_encoding(font.name) for font in book.font_list]
        if not any(fonts):
            return None
        data = book.sheet_by_name(sheet)
        found: dict[tuple[int, int], str] = {}
        for row in range(data.nrows):
            for col in range(data.ncols):
                if data.cell_type(row, col) != xlrd.XL_CELL_TEXT:
                    continue
                encoding = fonts[int(book.xf_list[data.cell_xf_index(row, col)].font_index)]
                if encoding:
                    found[(row + 1, col)] = encoding
        return found
    except Exception:
        return None


def _xlsx_sheet_part(path: Path, sheet: str) -> str | None:
    """The zip member holding `sheet` (e.g. `xl/worksheets/sheet1.xml`)."""
    try:
        with zipfile.ZipFile(path) as archive:
            workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
            rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
            targets = {r.get("Id"): r.get("Target", "") for r in rels}
            for element in workbook.iter(f"{_MAIN_NS}sheet"):
                if element.get("name") == sheet:
                    target = str(targets.get(element.get(f"{_REL_NS}id"), ""))
                    return target.lstrip("/") if target.startswith("/") else "xl/" + target
    except (zipfile.BadZipFile, KeyError, ValueError, ElementTree.ParseError):
        return None
    return None


def _xlsx_layout(path: Path, sheet: str) -> tuple[frozenset[int], str | None]:
    """Hidden columns of `sheet` and the legacy encoding its fonts imply (best effort)."""
    try:
        with zipfile.ZipFile(path) as archive:
            legacy = None
            if "xl/styles.xml" in archive.namelist():
                styles = ElementTree.fromstring(archive.read("xl/styles.xml"))
                for font_name in styles.iter(f"{_MAIN_NS}name"):
                    legacy = legacy_font_encoding(font_name.get("val")) or legacy
            workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
            rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
            targets = {r.get("Id"): r.get("Target", "") for r in rels}
            part = None
            for element in workbook.iter(f"{_MAIN_NS}sheet"):
                if element.get("name") == sheet:
                    target = targets.get(element.get(f"{_REL_NS}id"), "")
                    part = target.lstrip("/") if target.startswith("/") else "xl/" + target
            hidden: set[int] = set()
            if part and part in archive.namelist():
                with archive.open(part) as handle:
                    head = b""
                    while b"<sheetData" not in head and len(head) < 4 * 1024 * 1024:
                        block = handle.read(65536)
                        if not block:
                            break
                        head += block
                for match in _COL_TAG.finditer(head.split(b"<sheetData")[0]):
                    attrs = dict(_ATTR.findall(match.group(1)))
                    if attrs.get(b"hidden") in (b"1", b"true"):
                        first, last = int(attrs.get(b"min", b"1")), int(attrs.get(b"max", b"1"))
                        hidden.update(range(first - 1, min(last, first + 1000)))
            return frozenset(hidden), legacy
    except (zipfile.BadZipFile, KeyError, ValueError, ElementTree.ParseError):
        return frozenset(), None


# --- CSV ------------------------------------------------------------------------------------


# Vietnamese letters in UTF-8 (ạ…ỹ, â ê ô, đ, ơ ư): in a file otherwise Windows-1258 they can
# only come from a second encoding pasted in.
_UTF8_VIETNAMESE = re.compile(rb"\xe1[\xba\xbb][\x80-\xbf]|\xc3[\x80-\xbd]|\xc4[\x90\x91]|"
                              rb"\xc6[\xa0\xa1\xaf\xb0]")
# Bytes that Windows-1258 leaves undefined.
_NOT_CP1258 = re.compile(rb"[\x81\x8a\x8d-\x90\x9a\x9d\x9e]")


def _mixed(path: Path, offset: int, data: bytes, what: str) -> ImportFileError:
    line = data.count(b"\n", 0, offset) + 1
    return ImportFileError(
        f"Tệp {path.name} trộn nhiều bảng mã: {what} ở dòng {_n(line)}. Mở tệp bằng Excel hoặc "
        "Notepad, lưu lại dạng CSV UTF-8 rồi nhập lại."
    )


def _detect_encoding(path: Path) -> str:
    with path.open("rb") as handle:
        head = handle.read(4)
        if head.startswith(codecs.BOM_UTF8):
            encoding = "utf-8-sig"
        elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"
        elif len(head) >= 4 and head[1] == 0 and head[3] == 0:
            return "utf-16-le"
        else:
            encoding = "utf-8"
        handle.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        checked = 0
        seen_utf8 = False
        block = b""
        try:
            for block in iter(lambda: handle.read(1 << 22), b""):
                if b"\x00" in block:
                    raise _nul_error(path, handle, checked, block)
                # The first blocks decide the encoding; polars' strict UTF-8 reader checks
                # the rest (and the reader falls back to Windows-1258 if it finds a bad byte).
                if checked < 8 << 20:
                    decoder.decode(block)
                    seen_utf8 = seen_utf8 or not block.isascii()
                    checked += len(block)
        except UnicodeDecodeError as exc:
            good = block[: exc.start]
            if seen_utf8 or _UTF8_VIETNAMESE.search(good):
                raise _mixed(path, exc.start, block,
                             f"phần đầu là UTF-8 nhưng có byte không phải UTF-8 "
                             f"(0x{block[exc.start]:02X})") from exc
            sample = block[exc.start:]
            if len(_UTF8_VIETNAMESE.findall(sample)) >= 2:
                found = _UTF8_VIETNAMESE.search(sample)
                assert found is not None
                raise _mixed(path, exc.start + found.start(), block,
                             "chữ Windows-1258 lẫn với chữ UTF-8") from exc
            bad = _NOT_CP1258.search(block)
            if bad is not None:
                raise _mixed(path, bad.start(), block,
                             f"byte 0x{block[bad.start()]:02X} không thuộc UTF-8 hay "
                             "Windows-1258") from exc
            return "cp1258"
    return encoding


def _nul_error(path: Path, handle: IO[bytes], checked: int, block: bytes) -> ImportFileError:
    """The refusal for a file holding NUL bytes: UTF-16 pasted into text, or binary data."""
    first = block.index(b"\x00")
    start = max(0, first - 64)
    window = block[start: first + 256]
    half = window[(first - start) % 2::2]
    if half.count(0) > len(half) // 3:  # every other byte NUL: UTF-16 text
        line = block.count(b"\n", 0, first) + 1
        return ImportFileError(
            f"Tệp {path.name} trộn nhiều bảng mã: có chữ UTF-16 (không có BOM) quanh dòng "
            f"{_n(line)}. Mở tệp bằng Excel hoặc Notepad, lưu lại dạng CSV UTF-8 rồi nhập lại."
        )
    return ImportFileError(
        f"Tệp {path.name} không phải bảng tính hay tệp CSV (có dữ liệu nhị phân ở byte "
        f"{_n(checked + first)}). Chọn tệp danh sách (.xlsx, .xls hoặc .csv)."
    )


def _sniff_csv(path: Path) -> CsvFormat:
    encoding = _detect_encoding(path)
    lines: list[str] = []
    try:
        with path.open("r", encoding=encoding, newline="") as handle:
            for number in range(1, CSV_SNIFF_LINES + 1):
                line = handle.readline(CSV_MAX_LINE + 1)
                if not line:
                    break
                if len(line) > CSV_MAX_LINE:
                    raise ImportFileError(
                        f"Tệp {path.name} có dòng {number} dài hơn "
                        f"{CSV_MAX_LINE // 1024 // 1024} MB: đây không phải danh sách thuê bao. "
                        "Kiểm tra đã chọn đúng tệp chưa."
                    )
                lines.append(line)
    except UnicodeError as exc:
        raise ImportFileError(
            f"Không đọc được chữ trong tệp {path.name} (bảng mã {encoding}: "
            f"{' '.join(str(exc).split())[:100]}). Lưu lại dạng CSV UTF-8 rồi nhập lại."
        ) from exc
    best, best_score = ",", -1
    for delimiter in (",", ";", "\t", "|"):
        try:
            counts = [
                len(r) for r in csv.reader(lines, delimiter=delimiter)
                if any(c.strip() for c in r)
            ]
        except csv.Error:
            continue
        if not counts:
            continue
        widest = max(counts)
        score = sum(1 for c in counts if c == widest) * (widest > 1) * widest
        if score > best_score:
            best, best_score = delimiter, score
    if best_score <= 0:
        raise ImportFileError(
            f"Tệp {path.name} không phải bảng tính: không tìm thấy các cột (dấu phẩy, chấm phẩy "
            "hoặc tab)."
        )
    legacy = None
    if encoding == "cp1258":
        # Bytes that are not UTF-8 may be Windows-1258, or TCVN3/VNI text read as such.
        sample = path.read_bytes()[: 1 << 20].decode("latin-1")
        if looks_tcvn3(sample):
            return CsvFormat("latin-1", best, "tcvn3")
        if looks_vni(sample):
            return CsvFormat("cp1252", best, "vni")
    return CsvFormat(encoding, best, legacy)


def _csv_rows(path: Path, fmt: CsvFormat) -> Iterator[tuple[int, list[Any]]]:
    handle: IO[str] = path.open("r", encoding=fmt.encoding, errors="replace", newline="")
    with handle:
        reader = csv.reader(handle, delimiter=fmt.delimiter)
        try:
            yield from ((i, row) for i, row in enumerate(reader, 1))
        except csv.Error as exc:
            raise ImportFileError(
                f"Tệp {path.name} hỏng ở dòng {reader.line_num}: {exc}. Sửa dòng đó rồi nhập lại."
            ) from exc
