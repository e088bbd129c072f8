"""No workbook or CSV MBF Care writes turns a customer's text into a formula.

Customers named like formulas (`=HYPERLINK(...)`, `@SUM(1+1)`, a DDE `+cmd|...`) go through
every writer: the care list (CSV and workbook), the regional workbook and its consolidation,
the SMS list (CSV and workbook), the report workbooks, the profile upload file (CSV and
workbook) and the rejects workbook of an import. Each file is read back: in workbooks no cell
holding the payload is a formula (openpyxl `data_type != "f"`), every such cell is a string
starting with `'`; in CSV files the payload cell starts with `'`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.cli import main
from mbfcare.io.safe_cells import csv_cell, needs_quote, safe_text, set_text_cell
from mbfcare.models import Subscriber
from mbfcare.uow import UnitOfWork
from tests.care_data import GROUP1, GROUP2, seed_listed

# What a file does to the importer and the writers does not depend on the database: these
# run on SQLite only (the server's transactions are the same all-or-nothing).
pytestmark = pytest.mark.sqlite_only

PAYLOADS = ['=HYPERLINK("http://x","x")', "@SUM(1+1)", "+cmd|' /C calc'!A0"]
MARKERS = ("HYPERLINK", "SUM(1+1)", "cmd|")


def _run(*argv: str) -> str:
    out = io.StringIO()
    code = main(list(argv), out=out)
    assert code == 0, (argv, out.getvalue())
    return out.getvalue()


@pytest.fixture
def hostile_db(db_url: str, factory: sessionmaker[Session], programme_id: int) -> str:
    """The care-work batch with customers (one per group) named like formulas."""
    seed_listed(factory, programme_id)
    targets = [next(iter(GROUP1)), *list(GROUP2)[:2]]
    with UnitOfWork(factory, write=True) as uow:
        for number, payload in zip(targets, PAYLOADS, strict=True):
            sub = uow.session.scalars(select(Subscriber).where(Subscriber.msisdn == number)).one()
            sub.name = payload
            sub.address = payload
        uow.commit()
    return db_url


def _marked(value: object) -> bool:
    return isinstance(value, str) and any(m in value for m in MARKERS)


def _inert(value: object) -> bool:
    """Text that a spreadsheet reads as text: it does not start like a formula."""
    return not str(value).lstrip(" ")[:1] or str(value).lstrip(" ")[0] not in "=+-@\t\r"


def _workbook_payload_cells(path: Path) -> Iterator[openpyxl.cell.Cell]:
    book = openpyxl.load_workbook(path)
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    assert not _marked(cell.value), (path.name, sheet.title, cell.coordinate)
                if _marked(cell.value):
                    yield cell


def assert_workbook_safe(path: Path) -> None:
    cells = list(_workbook_payload_cells(path))
    assert cells, f"no customer text reached {path.name}"
    assert any(str(cell.value).startswith("'=") for cell in cells), path.name
    for cell in cells:
        assert cell.data_type == "s", (path.name, cell.coordinate, cell.value)
        assert _inert(cell.value), (path.name, cell.coordinate, cell.value)


def assert_csv_safe(path: Path) -> None:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        cells = [c for row in csv.reader(handle) for c in row if _marked(c)]
    assert cells, f"no customer text reached {path.name}"
    assert any(cell.startswith("'=") for cell in cells), cells
    for cell in cells:
        assert _inert(cell), (path.name, cell)


def test_care_list_sms_regional_and_reports(hostile_db: str, tmp_path: Path) -> None:
    db = ("--db", hostile_db)
    for suffix in (".csv", ".xlsx"):
        out = tmp_path / f"ds{suffix}"
        _run(*db, "list", "--out", str(out))
        (assert_csv_safe if suffix == ".csv" else assert_workbook_safe)(out)
    regional = tmp_path / "kv5.xlsx"
    _run(*db, "export", "regional", "--out", str(regional))
    assert_workbook_safe(regional)
    merged = tmp_path / "tong-hop.xlsx"
    _run(*db, "consolidate", str(regional), "--out", str(merged))
    assert_workbook_safe(merged)
    for kind in ("progress", "stock"):
        report = tmp_path / f"{kind}.xlsx"
        _run(*db, "report", kind, "--out", str(report))
        for cell in _workbook_payload_cells(report):  # reports hold counts, names only if any
            assert cell.data_type == "s" and _inert(cell.value)


def test_sms_list_keeps_message_and_number(hostile_db: str, tmp_path: Path) -> None:
    db = ("--db", hostile_db)
    for suffix in (".csv", ".xlsx"):
        out = tmp_path / f"sms{suffix}"
        _run(*db, "sms", "--batch", "1", "--out", str(out))
        if suffix == ".csv":
            with out.open(encoding="utf-8-sig", newline="") as handle:
                rows = list(csv.reader(handle))
            numbers = [r[0] for r in rows[1:]]
        else:
            sheet = openpyxl.load_workbook(out).active
            assert sheet is not None
            assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
            numbers = [str(r[0]) for r in sheet.iter_rows(min_row=2, values_only=True)]
        assert numbers and all(n.startswith("84") and n.isdigit() for n in numbers)


def test_profile_upload_file(hostile_db: str, tmp_path: Path) -> None:
    db = ("--db", hostile_db)
    number = next(iter(GROUP1))
    # names are validated (letters only); the address is free text
    _run(*db, "profile", "record", number, "--name", "Nguyễn Văn An", "--id", "031080001234",
         "--birth", "01/02/1980", "--address", PAYLOADS[0], "--at", "2017-03-10")
    for suffix in (".csv", ".xlsx"):
        out = tmp_path / f"icrm{suffix}"
        _run(*db, "profile", "export", "--out", str(out))
        if suffix == ".csv":
            assert_csv_safe(out)
        else:
            # the upload workbook keeps the text as typed, marked as text by Excel's own
            # hidden quote prefix, so iCRM receives exactly what was collected
            book = openpyxl.load_workbook(out)
            cells = [c for ws in book.worksheets for row in ws.iter_rows() for c in row
                     if _marked(c.value)]
            assert cells
            for cell in cells:
                assert cell.data_type == "s" and cell.quotePrefix, cell.coordinate


def test_rejects_workbook(db_url: str, programme_id: int, tmp_path: Path,
                          data_home: Path) -> None:
    extract = tmp_path / "ds.csv"
    rows = [["Số thuê bao", "Họ tên", "Loại TB", "Trạng thái", "Cước T-3", "Cước T-4",
             "Cước T-5"],
            ["0901234567", "An", "Trả trước", "2C", "700000", "700000", "700000"],
            *([p, p, "Trả trước", "2C", "1", "1", "1"] for p in PAYLOADS)]
    with extract.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    _run("--db", db_url, "import", "subscribers", str(extract), "--care-month", "05/2017")
    (rejects,) = (data_home / "rejects").glob("*.xlsx")
    assert_workbook_safe(rejects)


@pytest.mark.parametrize(("raw", "written"), [
    ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
    ("@SUM(1+1)", "'@SUM(1+1)"),
    ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
    ("-2+3", "'-2+3"),
    ("  =1+1", "'  =1+1"),
    ("\t=1", "' =1"),
    ("+84 912 345 678", "+84 912 345 678"),
    ("+84912345678", "+84912345678"),
    ("-12,5", "-12,5"),
    ("-1.234.567", "-1.234.567"),
    ("Nguyễn-Văn An", "Nguyễn-Văn An"),
    ("", ""),
])
def test_safe_text_rule(raw: str, written: str) -> None:
    assert safe_text(raw) == written
    assert needs_quote(raw) == (written != raw and written.startswith("'"))


def test_csv_cell_keeps_numbers_as_numbers() -> None:
    assert csv_cell(-5000) == -5000
    assert csv_cell(12.5) == 12.5
    assert csv_cell(None) == ""
    assert csv_cell("=1+1") == "'=1+1"


def test_openpyxl_text_cell_is_never_a_formula(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row, payload in enumerate(PAYLOADS, start=1):
        set_text_cell(sheet.cell(row=row, column=1), payload)
    sheet.cell(row=9, column=1).value = "=1+1"  # the trap the helper avoids
    path = tmp_path / "t.xlsx"
    book.save(path)
    read = openpyxl.load_workbook(path).active
    assert read is not None
    assert [read.cell(row=r, column=1).data_type for r in (1, 2, 3)] == ["s", "s", "s"]
    assert read.cell(row=9, column=1).data_type == "f"
