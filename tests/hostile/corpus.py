"""A corpus of malformed and hostile import files, generated on demand (nothing binary committed).

Each maker writes one file (or directory) into a folder and returns a `Case`: the path, and a
fragment the refusal sentence must contain, so that a generic "cannot read" message does not
pass for the precise one. The same small valid extract is the seed of most cases.
"""

from __future__ import annotations

import os
import random
import struct
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

CARE_MONTH = "05/2017"
HEADER = ["Số thuê bao", "Họ tên", "Loại TB", "Trạng thái", "Cước T-3", "Cước T-4", "Cước T-5"]
ROWS = [
    ["0901234567", "Nguyễn Văn An", "Trả trước", "Hoạt động 2 chiều", "700000", "700000",
     "700000"],
    ["0931234567", "Trần Thị Bình", "Trả sau", "2C", "600000", "650000", "610000"],
    ["0761234567", "Lê Hoàng Cường", "Trả trước", "Hoạt động 2 chiều", "580000", "590000",
     "600000"],
]


@dataclass(frozen=True)
class Case:
    """A hostile file and a fragment its refusal must contain (lower-case, NFC)."""

    path: Path
    expect: str


# --- a minimal workbook, part by part -------------------------------------------------------

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
    'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.'
    'openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.sharedStrings+xml"/></Types>'
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>'
)
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
XML_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


def workbook_xml(prolog: str = "") -> str:
    """`xl/workbook.xml` with one sheet named `Danh sách`; `prolog` goes before the root."""
    return (f'{XML_DECL}{prolog}<workbook xmlns="{_MAIN}" xmlns:r="{_RELS}"><sheets>'
            '<sheet name="Danh sách" sheetId="1" r:id="rId1"/></sheets></workbook>')


def _column(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def shared_strings(rows: list[list[str]]) -> tuple[list[str], dict[str, int]]:
    """The distinct texts of `rows` and their index in `xl/sharedStrings.xml`."""
    texts: dict[str, int] = {}
    for row in rows:
        for value in row:
            texts.setdefault(value, len(texts))
    return list(texts), texts


def shared_strings_xml(texts: list[str], prolog: str = "", extra: str = "") -> str:
    """`xl/sharedStrings.xml` for `texts`; `extra` is appended as one more string item."""
    items = "".join(f"<si><t>{_escape(t)}</t></si>" for t in texts)
    if extra:
        items += f"<si><t>{extra}</t></si>"
    count = len(texts) + bool(extra)
    return (f'{XML_DECL}{prolog}<sst xmlns="{_MAIN}" count="{count}" uniqueCount="{count}">'
            f"{items}</sst>")


def sheet_xml(rows: list[list[str]], index: dict[str, int], *, prolog: str = "",
              dimension: str | None = None, extra_row: str = "") -> str:
    """`xl/worksheets/sheet1.xml`: every cell a shared string (text, as extracts have it)."""
    body = []
    for r, row in enumerate(rows, 1):
        cells = "".join(f'<c r="{_column(c)}{r}" t="s"><v>{index[v]}</v></c>'
                        for c, v in enumerate(row))
        body.append(f'<row r="{r}">{cells}</row>')
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    return (f'{XML_DECL}{prolog}<worksheet xmlns="{_MAIN}">{dim}<sheetData>{"".join(body)}'
            f"{extra_row}</sheetData></worksheet>")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def write_parts(path: Path, parts: dict[str, str | bytes]) -> Path:
    """A zip with `parts` (deflated), the shape of an `.xlsx`."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return path


def valid_parts(rows: list[list[str]] | None = None) -> dict[str, str | bytes]:
    """The parts of a small valid extract (header and three subscribers)."""
    rows = rows if rows is not None else [HEADER, *ROWS]
    texts, index = shared_strings(rows)
    return {
        "[Content_Types].xml": _CONTENT_TYPES,
        "_rels/.rels": _ROOT_RELS,
        "xl/workbook.xml": workbook_xml(),
        "xl/_rels/workbook.xml.rels": _WORKBOOK_RELS,
        "xl/sharedStrings.xml": shared_strings_xml(texts),
        "xl/worksheets/sheet1.xml": sheet_xml(rows, index),
    }


def valid_xlsx(path: Path) -> Path:
    """A small extract the importer accepts (the seed of the broken ones)."""
    return write_parts(path, valid_parts())


def valid_csv_text(rows: list[list[str]] | None = None) -> str:
    """The same extract as CSV text."""
    rows = rows if rows is not None else [HEADER, *ROWS]
    return "".join(",".join(row) + "\r\n" for row in rows)


# --- the cases ------------------------------------------------------------------------------

_LAUGHS = (
    '<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
        for i in range(1, 10)
    )
    + "]>"
)
_XXE = '<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'


def _empty(folder: Path) -> Case:
    path = folder / "rong.xlsx"
    path.write_bytes(b"")
    return Case(path, "rỗng")


def _truncated(folder: Path) -> Case:
    data = valid_xlsx(folder / "seed.xlsx").read_bytes()
    (folder / "seed.xlsx").unlink()
    path = folder / "cat-do.xlsx"
    path.write_bytes(data[: len(data) // 2])
    return Case(path, "hỏng")


def _broken_central_directory(folder: Path) -> Case:
    data = bytearray(valid_xlsx(folder / "seed.xlsx").read_bytes())
    (folder / "seed.xlsx").unlink()
    start = data.find(b"PK\x01\x02")
    data[start:start + 46] = os.urandom(46)  # the first central directory entry is noise
    path = folder / "muc-luc-hong.xlsx"
    path.write_bytes(bytes(data))
    return Case(path, "hỏng")


def _zip_bomb_sheet(folder: Path) -> Case:
    path = folder / "bom-sheet.xlsx"
    parts = valid_parts()
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            if name != "xl/worksheets/sheet1.xml":
                archive.writestr(name, data)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
            member.write(f'{XML_DECL}<worksheet xmlns="{_MAIN}"><sheetData>'.encode())
            block = b'<row><c t="s"><v>0</v></c></row>' * 32768
            for _ in range(300 * 1024 * 1024 // len(block)):
                member.write(block)
            member.write(b"</sheetData></worksheet>")
    return Case(path, "độc hại")


def _zip_bomb_shared_strings(folder: Path) -> Case:
    path = folder / "bom-chuoi.xlsx"
    parts = valid_parts()
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            if name != "xl/sharedStrings.xml":
                archive.writestr(name, data)
        with archive.open("xl/sharedStrings.xml", "w", force_zip64=True) as member:
            member.write(f'{XML_DECL}<sst xmlns="{_MAIN}">'.encode())
            block = b"<si><t>" + b"A" * 65536 + b"</t></si>"
            for _ in range(400 * 1024 * 1024 // len(block)):
                member.write(block)
            member.write(b"</sst>")
    return Case(path, "độc hại")


def _zip_bomb_lying_sizes(folder: Path) -> Case:
    """A bomb whose headers claim a tiny member: only decompressing tells the truth."""
    path = folder / "bom-noi-doi.xlsx"
    _zip_bomb_shared_strings(folder).path.rename(path)
    data = bytearray(path.read_bytes())
    _patch_sizes(data, "xl/sharedStrings.xml", 4096)
    path.write_bytes(bytes(data))
    return Case(path, "độc hại")


def _patch_sizes(data: bytearray, name: str, size: int) -> None:
    """Make the local header and central directory entry of `name` claim `size` bytes."""
    encoded = name.encode()
    pos = 0
    while True:
        pos = data.find(encoded, pos)
        if pos < 0:
            return
        for signature, name_at, size_at in ((b"PK\x03\x04", 30, 22), (b"PK\x01\x02", 46, 24)):
            head = pos - name_at
            if head >= 0 and data[head:head + 4] == signature:
                extra_len = struct.unpack_from("<H", data, head + name_at - 2)[0]
                if data[head + size_at:head + size_at + 4] == b"\xff\xff\xff\xff":
                    # zip64: the real sizes sit in the extra field (uncompressed first)
                    extra = head + name_at + len(encoded)
                    end = extra + extra_len
                    while extra + 4 <= end:
                        tag, length = struct.unpack_from("<HH", data, extra)
                        if tag == 1:
                            struct.pack_into("<Q", data, extra + 4, size)
                        extra += 4 + length
                else:
                    struct.pack_into("<I", data, head + size_at, size)
        pos += len(encoded)


def _with_part(folder: Path, name: str, part: str, content: str) -> Path:
    parts = valid_parts()
    parts[part] = content
    return write_parts(folder / name, parts)


def _laughs_shared_strings(folder: Path) -> Case:
    texts, _ = shared_strings([HEADER, *ROWS])
    return Case(_with_part(folder, "cuoi-chuoi.xlsx", "xl/sharedStrings.xml",
                           shared_strings_xml(texts, _LAUGHS, "&lol9;")),
                "xl/sharedstrings.xml")


def _laughs_sheet(folder: Path) -> Case:
    rows = [HEADER, *ROWS]
    _, index = shared_strings(rows)
    extra = '<row r="9"><c r="A9" t="inlineStr"><is><t>&lol9;</t></is></c></row>'
    return Case(_with_part(folder, "cuoi-sheet.xlsx", "xl/worksheets/sheet1.xml",
                           sheet_xml(rows, index, prolog=_LAUGHS, extra_row=extra)),
                "xl/worksheets/sheet1.xml")


def _laughs_workbook(folder: Path) -> Case:
    return Case(_with_part(folder, "cuoi-workbook.xlsx", "xl/workbook.xml",
                           workbook_xml(_LAUGHS)), "xl/workbook.xml")


def _xxe_workbook(folder: Path) -> Case:
    content = workbook_xml(_XXE).replace('name="Danh sách"', 'name="&xxe;"')
    return Case(_with_part(folder, "xxe-workbook.xlsx", "xl/workbook.xml", content),
                "xl/workbook.xml")


def _xxe_shared_strings(folder: Path) -> Case:
    texts, _ = shared_strings([HEADER, *ROWS])
    return Case(_with_part(folder, "xxe-chuoi.xlsx", "xl/sharedStrings.xml",
                           shared_strings_xml(texts, _XXE, "&xxe;")), "xl/sharedstrings.xml")


def _xxe_sheet(folder: Path) -> Case:
    rows = [HEADER, *ROWS]
    _, index = shared_strings(rows)
    extra = '<row r="9"><c r="A9" t="inlineStr"><is><t>&xxe;</t></is></c></row>'
    return Case(_with_part(folder, "xxe-sheet.xlsx", "xl/worksheets/sheet1.xml",
                           sheet_xml(rows, index, prolog=_XXE, extra_row=extra)),
                "xl/worksheets/sheet1.xml")


def _two_million_columns(folder: Path) -> Case:
    rows = [HEADER, *ROWS]
    _, index = shared_strings(rows)
    wide = '<row r="5">' + '<c t="n"><v>1</v></c>' * 2_000_000 + "</row>"
    return Case(_with_part(folder, "hai-trieu-cot.xlsx", "xl/worksheets/sheet1.xml",
                           sheet_xml(rows, index, extra_row=wide)), "cột")


def _far_column(folder: Path) -> Case:
    """One cell at column 2,000,000 (Excel stops at 16,384, `XFD`)."""
    rows = [HEADER, *ROWS]
    _, index = shared_strings(rows)
    far = f'<row r="5"><c r="{_column(1_999_999)}5" t="n"><v>1</v></c></row>'
    return Case(_with_part(folder, "cot-xa.xlsx", "xl/worksheets/sheet1.xml",
                           sheet_xml(rows, index, extra_row=far)), "cột")


def _ten_million_rows(folder: Path) -> Case:
    """A dimension claiming 10^7 rows and one cell really there, as a bomb would."""
    rows = [HEADER, *ROWS]
    _, index = shared_strings(rows)
    far = '<row r="10000000"><c r="G10000000" t="n"><v>1</v></c></row>'
    return Case(_with_part(folder, "muoi-trieu-dong.xlsx", "xl/worksheets/sheet1.xml",
                           sheet_xml(rows, index, dimension="A1:XFD10000000", extra_row=far)),
                "dòng")


def _ten_million_dimension(folder: Path) -> Case:
    """Only the dimension lies (10^7 rows, every column); the cells are few."""
    rows = [HEADER, *ROWS]
    _, index = shared_strings(rows)
    return Case(_with_part(folder, "kich-thuoc-gia.xlsx", "xl/worksheets/sheet1.xml",
                           sheet_xml(rows, index, dimension="A1:XFD10000000")), "dòng")


def _csv_named_xlsx(folder: Path) -> Case:
    path = folder / "that-ra-la-csv.xlsx"
    path.write_text(valid_csv_text(), encoding="utf-8")
    return Case(path, ".csv")


def _pdf_named_xlsx(folder: Path) -> Case:
    path = folder / "bao-cao.xlsx"
    path.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"
                     b"trailer\n<< /Root 1 0 R >>\n%%EOF\n")
    return Case(path, "pdf")


def _png_named_xlsx(folder: Path) -> Case:
    path = folder / "anh.xlsx"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8)
    return Case(path, "ảnh")


def _random_bytes(folder: Path) -> Case:
    path = folder / "ngau-nhien.xlsx"
    path.write_bytes(random.Random(8).randbytes(256 * 1024))
    return Case(path, "không phải bảng tính")


def _xls_garbage(folder: Path) -> Case:
    path = folder / "cu.xls"
    header = bytearray(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))
    struct.pack_into("<HH", header, 26, 3, 0xFFFE)  # minor/major version, byte order
    path.write_bytes(bytes(header) + random.Random(9).randbytes(64 * 1024))
    return Case(path, "hỏng")


def _csv_nul_bytes(folder: Path) -> Case:
    path = folder / "co-nul.csv"
    text = valid_csv_text().encode("utf-8")
    path.write_bytes(text[:60] + b"\x00\x00\x00" + text[60:])
    return Case(path, "nhị phân")


def _utf16_without_bom_mixed(folder: Path) -> Case:
    """UTF-16 (no BOM) for the header, then UTF-8 lines pasted under it."""
    path = folder / "utf16-tron.csv"
    rows = valid_csv_text().split("\r\n")
    path.write_bytes(("\r\n".join(rows[:1]) + "\r\n").encode("utf-16-le")
                     + "\r\n".join(rows[1:]).encode("utf-8"))
    return Case(path, "bảng mã")


def _utf8_and_cp1258(folder: Path) -> Case:
    """UTF-8 lines and Windows-1258 lines in one file (two exports pasted together)."""
    path = folder / "tron-ma.csv"
    rows = valid_csv_text().split("\r\n")
    path.write_bytes("\r\n".join(rows[:3]).encode("utf-8") + b"\r\n"
                     + "\r\n".join(rows[3:]).encode("cp1258", errors="replace"))
    return Case(path, "bảng mã")


def _invalid_utf8(folder: Path) -> Case:
    path = folder / "utf8-hong.csv"
    data = valid_csv_text().encode("utf-8")
    cut = data.index("Bình".encode()) + 2
    path.write_bytes(data[:cut] + b"\xc0\xaf\xed\xa0\x80\xff" + data[cut:])
    return Case(path, "bảng mã")


def _long_line(folder: Path) -> Case:
    path = folder / "mot-dong.csv"
    with path.open("wb") as handle:
        block = b"0912345678," * 100_000
        for _ in range(100 * 1024 * 1024 // len(block)):
            handle.write(block)
    return Case(path, "dòng 1")


def _million_empty_lines(folder: Path) -> Case:
    path = folder / "trieu-dong-trong.csv"
    path.write_bytes(b"\r\n" * 1_000_000)
    return Case(path, "không tìm thấy")


def _header_then_million_empty_lines(folder: Path) -> Case:
    path = folder / "tieu-de-va-dong-trong.csv"
    path.write_bytes((",".join(HEADER) + "\r\n").encode() + b",,,,,,\r\n" * 1_000_000)
    return Case(path, "không có dòng dữ liệu")


def _headers_only_csv(folder: Path) -> Case:
    path = folder / "chi-tieu-de.csv"
    path.write_text(",".join(HEADER) + "\r\n", encoding="utf-8")
    return Case(path, "không có dòng dữ liệu")


def _headers_only_xlsx(folder: Path) -> Case:
    return Case(write_parts(folder / "chi-tieu-de.xlsx", valid_parts([HEADER])),
                "không có dòng dữ liệu")


def _duplicated_headers(folder: Path) -> Case:
    rows = [[*HEADER, "Số TB"], *([*r, "0999999999"] for r in ROWS)]
    return Case(write_parts(folder / "trung-cot.xlsx", valid_parts(rows)), "hai cột")


def _missing_required(folder: Path) -> Case:
    rows = [[h for h in HEADER if h != "Trạng thái"],
            *([v for i, v in enumerate(r) if i != 3] for r in ROWS)]
    return Case(write_parts(folder / "thieu-cot.xlsx", valid_parts(rows)), "thiếu cột")


def _over_size_limit(folder: Path) -> Case:
    path = folder / "qua-lon.csv"
    with path.open("wb") as handle:  # sparse: the size is real, the disk is not used
        handle.write(valid_csv_text().encode())
        handle.truncate(1024 * 1024 * 1024 + 1)
    return Case(path, "quá lớn")


def _encrypted(folder: Path) -> Case:
    path = folder / "mat-khau.xlsx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 1024
                     + "EncryptionInfo".encode("utf-16-le") + b"\x00" * 4096)
    return Case(path, "mật khẩu")


def _zip_not_workbook(folder: Path) -> Case:
    path = folder / "nen.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "không phải bảng tính")
    return Case(path, "không phải bảng tính")


def _directory(folder: Path) -> Case:
    path = folder / "thu-muc.xlsx"
    path.mkdir()
    return Case(path, "thư mục")


def _missing(folder: Path) -> Case:
    return Case(folder / "khong-co.xlsx", "không tìm thấy")


def _unreadable(folder: Path) -> Case:
    path = valid_xlsx(folder / "khoa.xlsx")
    path.chmod(0)
    return Case(path, "quyền")


def _vietnamese_name(folder: Path) -> Case:
    """A refused file whose name has Vietnamese letters and spaces: the name shows intact."""
    data = valid_xlsx(folder / "seed.xlsx").read_bytes()
    (folder / "seed.xlsx").unlink()
    path = folder / "Danh sách thuê bao tháng 5 (bản cuối).xlsx"
    path.write_bytes(data[: len(data) * 2 // 3])
    return Case(path, "hỏng")


MAKERS: dict[str, Callable[[Path], Case]] = {
    "empty": _empty,
    "truncated_xlsx": _truncated,
    "broken_central_directory": _broken_central_directory,
    "zip_bomb_sheet": _zip_bomb_sheet,
    "zip_bomb_shared_strings": _zip_bomb_shared_strings,
    "zip_bomb_lying_sizes": _zip_bomb_lying_sizes,
    "billion_laughs_shared_strings": _laughs_shared_strings,
    "billion_laughs_sheet": _laughs_sheet,
    "billion_laughs_workbook": _laughs_workbook,
    "xxe_workbook": _xxe_workbook,
    "xxe_shared_strings": _xxe_shared_strings,
    "xxe_sheet": _xxe_sheet,
    "two_million_columns": _two_million_columns,
    "column_two_million": _far_column,
    "ten_million_rows": _ten_million_rows,
    "dimension_ten_million_rows": _ten_million_dimension,
    "csv_named_xlsx": _csv_named_xlsx,
    "pdf_named_xlsx": _pdf_named_xlsx,
    "png_named_xlsx": _png_named_xlsx,
    "random_bytes": _random_bytes,
    "xls_biff_garbage": _xls_garbage,
    "csv_nul_bytes": _csv_nul_bytes,
    "utf16_without_bom_mixed": _utf16_without_bom_mixed,
    "utf8_and_windows_1258": _utf8_and_cp1258,
    "invalid_utf8": _invalid_utf8,
    "single_line_100mb": _long_line,
    "million_empty_lines": _million_empty_lines,
    "header_then_million_empty_lines": _header_then_million_empty_lines,
    "headers_only_csv": _headers_only_csv,
    "headers_only_xlsx": _headers_only_xlsx,
    "duplicated_header_columns": _duplicated_headers,
    "missing_required_column": _missing_required,
    "over_size_limit": _over_size_limit,
    "encrypted": _encrypted,
    "zip_not_workbook": _zip_not_workbook,
    "directory": _directory,
    "missing_file": _missing,
    "unreadable": _unreadable,
    "vietnamese_name_with_spaces": _vietnamese_name,
}
