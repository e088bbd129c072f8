"""Tests for the synthetic extract generator: reproducible, messy as asked, truth consistent."""

from __future__ import annotations

import csv
import re
import unicodedata
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from python_calamine import CalamineWorkbook

from mbfcare.io.synthetic import (
    FAST_HEADERS,
    MessyOptions,
    SyntheticSubscriber,
    WrittenExtract,
    generate_subscribers,
    write_csv,
    write_fast_csv,
    write_fast_xlsx,
    write_xls,
    write_xlsx,
)

CYCLES = ((2016, 12), (2017, 1), (2017, 2))
MOBIFONE = ("090", "093", "089", "070", "076", "077", "078", "079")
LEGACY = {"0120": "070", "0121": "079", "0122": "077", "0126": "076", "0128": "078"}


@pytest.fixture(scope="module")
def subs() -> list[SyntheticSubscriber]:
    return generate_subscribers(120, seed=11)


# ---- small independent decoders, so the truth is checked without the importer ---------------


def decode_msisdn(value: object) -> str | None:
    if isinstance(value, float):
        assert value.is_integer()
        value = int(value)
    digits = re.sub(r"[\s.+\u00a0]", "", str(value))
    if not digits.isdigit():
        return None
    if digits.startswith("84") and len(digits) == 11:
        digits = "0" + digits[2:]
    elif len(digits) == 9:
        digits = "0" + digits
    elif len(digits) == 11 and digits[:4] in LEGACY:
        digits = LEGACY[digits[:4]] + digits[4:]
    return digits if len(digits) == 10 else None


def decode_money(value: object) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        return int(value // 1)
    text = str(value).replace("đ", "").strip()
    match = re.fullmatch(r"([\d., ]+?)(?:([.,])(\d{1,2}))?", text)
    assert match, text
    integer = match.group(1)
    assert re.fullmatch(r"\d+|\d{1,3}([., ])\d{3}(\1\d{3})*", integer), text
    return int(re.sub(r"[., ]", "", integer))


def list_rows(extract: WrittenExtract) -> list[list[Any]]:
    if extract.encoding is not None:
        with extract.path.open(encoding=extract.encoding, newline="") as fh:
            return [[c or None for c in row] for row in csv.reader(fh, delimiter=extract.delimiter
                                                                   or ",")]
    book = CalamineWorkbook.from_path(str(extract.path))
    assert extract.sheet is not None
    rows = book.get_sheet_by_name(extract.sheet).to_python(skip_empty_area=False)
    return [[None if c == "" else c for c in row] for row in rows]


def check_against_truth(extract: WrittenExtract) -> None:
    """Every data row: the right number, charges and reject code; counts add up."""
    rows = list_rows(extract)
    cols = extract.columns
    header = rows[extract.header_row - 1]
    assert all(h for h in header[: len(cols)])
    assert extract.data_rows == len(extract.expected) + len(extract.expected_rejects)
    seen: dict[str, list[str | None]] = {}
    counted = 0
    for number, row in enumerate(rows[extract.header_row:], start=extract.header_row + 1):
        cells = [c for c in row if c is not None]
        if not cells:
            continue
        first = unicodedata.normalize("NFC", str(row[0] or ""))
        if first == "Tổng cộng":
            break
        if first in ("(1)", "1", "1.0") and str(row[1]) in ("(2)", "2", "2.0"):
            continue  # the column-number row
        texts = [unicodedata.normalize("NFC", c) for c in cells if isinstance(c, str)]
        if any(t.startswith(("Người lập biểu", "(Ký tên")) for t in texts):
            continue  # signature lines
        counted += 1
        msisdn = decode_msisdn(row[cols["msisdn"] - 1])
        reason = extract.expected_rejects.get(number)
        if reason == "bad_msisdn":
            assert msisdn is None
            continue
        assert msisdn is not None, row
        if reason is None:
            truth = extract.expected[msisdn]
            for cycle in extract.cycle_headers:
                cell = row[cols[f"charge:{cycle[0]:04d}-{cycle[1]:02d}"] - 1]
                assert decode_money(cell) == truth.charges[cycle], (cell, truth.charges)
        if reason in (None, "duplicate"):
            seen.setdefault(msisdn, []).append(reason)
    assert counted == extract.data_rows
    assert set(seen) == set(extract.expected)
    for reasons in seen.values():  # the later row wins, earlier ones are duplicates
        assert reasons == ["duplicate"] * (len(reasons) - 1) + [None]


# ---- the subscribers ---------------------------------------------------------------------


def test_same_seed_same_subscribers() -> None:
    assert generate_subscribers(50, seed=4) == generate_subscribers(50, seed=4)
    assert generate_subscribers(50, seed=4) != generate_subscribers(50, seed=5)


def test_subscribers_are_plausible() -> None:
    subs = generate_subscribers(3000, seed=2, cycles=CYCLES)
    numbers = [s.msisdn for s in subs]
    assert len(set(numbers)) == len(numbers)
    assert all(re.fullmatch(r"0\d{9}", n) for n in numbers)
    ported = [n for n in numbers if n[:3] not in MOBIFONE]
    assert 0 < len(ported) < 0.05 * len(subs)
    legacy = [s for s in subs if s.legacy_msisdn]
    assert legacy and len(legacy) < 0.05 * len(subs)
    for s in legacy:
        assert s.legacy_msisdn is not None
        assert LEGACY[s.legacy_msisdn[:4]] + s.legacy_msisdn[4:] == s.msisdn
    assert all(unicodedata.is_normalized("NFC", s.name) for s in subs)
    assert {s.subscriber_type for s in subs} == {"prepaid", "postpaid"}
    assert {s.status for s in subs} == {"active", "blocked_one_way", "blocked_two_way",
                                        "cancelled"}
    assert {"Hà Nội", "Hồ Chí Minh", "Đà Nẵng"} & {s.province for s in subs}
    ids = [s.id_number for s in subs if s.id_number]
    assert all(re.fullmatch(r"\d{9}|\d{12}", i) for i in ids)
    assert any(i.startswith("0") for i in ids)
    values = [v for s in subs for v in s.charges.values()]
    assert {550_000, 699_999, 700_000, 700_001, 0, None} <= set(values)
    assert all(set(s.charges) == set(CYCLES) for s in subs)
    group1 = [s for s in subs if all(v is not None and v > 700_000 for v in s.charges.values())]
    group2 = [s for s in subs if all(v is not None and 550_000 <= v < 700_000
                                     for v in s.charges.values())]
    assert len(group1) > 100 and len(group2) > 100


# ---- xlsx --------------------------------------------------------------------------------


def test_xlsx_is_messy_as_asked(tmp_path: Path, subs: list[SyntheticSubscriber]) -> None:
    opts = MessyOptions(tcvn3_share=0.3, duplicates=4, bad_rows=4)
    extract = write_xlsx(tmp_path / "a.xlsx", subs, opts, seed=3)
    book = openpyxl.load_workbook(extract.path)
    assert book.sheetnames == ["Hướng dẫn", extract.sheet, "Tổng hợp"]
    ws = book[extract.sheet or ""]
    assert ws["A1"].value == "TỔNG CÔNG TY VIỄN THÔNG MOBIFONE"
    assert any(r.min_row == 1 and r.min_col == 1 for r in ws.merged_cells.ranges)
    assert len(ws.merged_cells.ranges) >= 5  # titles, "Cước" above the charges, "Tổng cộng"
    note_letter = openpyxl.utils.get_column_letter(extract.columns["note"])
    assert ws.column_dimensions[note_letter].hidden
    msisdn_cells = [ws.cell(row=r, column=extract.columns["msisdn"]).value
                    for r in range(extract.header_row + 1, ws.max_row + 1)]
    assert any(isinstance(v, int) and str(v).startswith("84") for v in msisdn_cells)
    assert any(isinstance(v, int) and len(str(v)) == 9 for v in msisdn_cells)
    assert any(isinstance(v, str) and v.startswith("+84 ") for v in msisdn_cells)
    vn_time = [c for row in ws.iter_rows() for c in row
               if c.value is not None and c.font is not None and c.font.name == ".VnTime"]
    assert vn_time
    assert all(c.column in (extract.columns["name"], extract.columns["address"]) for c in vn_time)
    assert any("Ô" in str(c.value) or "¨" in str(c.value) or "ª" in str(c.value)
               for c in vn_time)
    check_against_truth(extract)


def test_xlsx_without_mess(tmp_path: Path, subs: list[SyntheticSubscriber]) -> None:
    opts = MessyOptions(title_rows=False, column_number_row=False, totals_row=False,
                        signature_rows=False, blank_rows=False, hidden_column=False,
                        extra_sheets=False, charge_group_row=False, header_style="plain",
                        msisdn_forms=False, money_as_text=False, nfd_share=0.0, nbsp=False,
                        dates="date", values="plain", province_prefix=False)
    extract = write_xlsx(tmp_path / "plain.xlsx", subs, opts)
    assert extract.header_row == 1
    assert extract.data_rows == len(subs) == len(extract.expected)
    book = CalamineWorkbook.from_path(str(extract.path))
    assert book.sheet_names == [extract.sheet]
    rows = book.get_sheet_by_name(extract.sheet or "").to_python()
    assert rows[0][:3] == ["STT", "Số thuê bao", "Họ tên"]
    assert rows[0][-3:] == ["Cước T-3", "Cước T-4", "Cước T-5"]  # latest cycle first
    assert len(rows) == 1 + len(subs)
    check_against_truth(extract)


def test_named_charge_headers(tmp_path: Path, subs: list[SyntheticSubscriber]) -> None:
    opts = MessyOptions(charge_headers="named", header_style="plain")
    extract = write_xlsx(tmp_path / "named.xlsx", subs, opts)
    assert extract.cycle_headers == {(2016, 12): "Cước 12/2016", (2017, 1): "Cước 01/2017",
                                     (2017, 2): "Cước 02/2017"}
    assert extract.care_month == (2017, 5)


def test_relative_headers_follow_the_care_month(tmp_path: Path,
                                                subs: list[SyntheticSubscriber]) -> None:
    opts = MessyOptions(header_style="plain", care_month=(2017, 3))
    extract = write_csv(tmp_path / "rel.csv", subs, opts)
    assert extract.cycle_headers == {(2017, 2): "Cước T-1", (2017, 1): "Cước T-2",
                                     (2016, 12): "Cước T-3"}
    with pytest.raises(ValueError, match="care month"):
        write_csv(tmp_path / "bad.csv", subs, MessyOptions(care_month=(2017, 1)))


def test_same_seed_same_file(tmp_path: Path, subs: list[SyntheticSubscriber]) -> None:
    opts = MessyOptions(duplicates=3, bad_rows=3)
    one = write_csv(tmp_path / "1.csv", subs, opts, seed=9)
    two = write_csv(tmp_path / "2.csv", subs, opts, seed=9)
    other = write_csv(tmp_path / "3.csv", subs, opts, seed=10)
    assert one.path.read_bytes() == two.path.read_bytes() != other.path.read_bytes()
    assert one.expected_rejects == two.expected_rejects


# ---- duplicates and bad rows ---------------------------------------------------------------


def test_duplicates_and_bad_rows(tmp_path: Path, subs: list[SyntheticSubscriber]) -> None:
    opts = MessyOptions(duplicates=5, bad_rows=8)
    extract = write_xlsx(tmp_path / "d.xlsx", subs, opts, seed=5)
    reasons = list(extract.expected_rejects.values())
    assert reasons.count("duplicate") == 5
    for code in ("bad_msisdn", "bad_status", "bad_type", "bad_money"):
        assert reasons.count(code) == 2
    assert extract.data_rows == len(subs) + 5 + 8
    assert extract.expected == {s.msisdn: s for s in subs}
    check_against_truth(extract)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(n=st.integers(0, 25), duplicates=st.integers(0, 5), bad=st.integers(0, 6),
       seed=st.integers(0, 10_000), blank=st.booleans(), totals=st.booleans())
def test_counts_always_add_up(tmp_path: Path, n: int, duplicates: int, bad: int, seed: int,
                              blank: bool, totals: bool) -> None:
    subs = generate_subscribers(n, seed=seed)
    opts = MessyOptions(duplicates=duplicates, bad_rows=bad, blank_rows=blank, totals_row=totals)
    extract = write_csv(tmp_path / "h.csv", subs, opts, seed=seed)
    assert extract.data_rows == len(extract.expected) + len(extract.expected_rejects)
    assert len(extract.expected) == n
    assert len(extract.expected_rejects) == min(duplicates, n) + bad
    check_against_truth(extract)


# ---- csv ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("encoding", "delimiter"), [
    ("utf-8-sig", ","), ("utf-8", ";"), ("utf-16", "\t"), ("cp1258", ";"),
])
def test_csv_encoding_and_delimiter(tmp_path: Path, subs: list[SyntheticSubscriber],
                                    encoding: str, delimiter: str) -> None:
    opts = MessyOptions(nfd_share=0.5, duplicates=2, bad_rows=2)
    extract = write_csv(tmp_path / "x.csv", subs, opts, encoding=encoding, delimiter=delimiter)
    raw = extract.path.read_bytes()
    if encoding == "utf-8-sig":
        assert raw.startswith(b"\xef\xbb\xbf")
    elif encoding == "utf-16":
        assert raw[:2] in (b"\xff\xfe", b"\xfe\xff")
    elif encoding == "utf-8":
        assert not raw.startswith(b"\xef\xbb\xbf")
    with pytest.raises(UnicodeDecodeError):
        raw.decode("ascii")
    text = raw.decode(encoding)
    first_line = text.splitlines()[0]
    assert first_line.count(delimiter) == len(extract.columns) - 1
    assert extract.sheet is None
    assert (extract.encoding, extract.delimiter) == (encoding, delimiter)
    names = {" ".join(unicodedata.normalize("NFC", row[extract.columns["name"] - 1] or "").split())
             for row in list_rows(extract)}
    assert {s.name for s in subs} <= names
    if encoding != "cp1258":
        assert any(not unicodedata.is_normalized("NFC", row[extract.columns["name"] - 1] or "")
                   for row in list_rows(extract))
    check_against_truth(extract)


# ---- xls ---------------------------------------------------------------------------------


def test_xls_reads_back_with_calamine(tmp_path: Path, subs: list[SyntheticSubscriber]) -> None:
    pytest.importorskip("xlwt")
    extract = write_xls(tmp_path / "old.xls", subs, MessyOptions(duplicates=2, bad_rows=4))
    book = CalamineWorkbook.from_path(str(extract.path))
    assert book.sheet_names == ["Hướng dẫn", extract.sheet, "Tổng hợp"]
    check_against_truth(extract)


# ---- big files ---------------------------------------------------------------------------


def test_fast_csv(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    assert write_fast_csv(path, 2000, seed=1) == 2000
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == FAST_HEADERS
    assert len(rows) == 2001
    numbers = [r[1] for r in rows[1:]]
    assert all(decode_msisdn(n) for n in numbers)
    assert any(n.startswith("84") for n in numbers)
    assert any(n.startswith("012") for n in numbers)
    assert write_fast_csv(tmp_path / "again.csv", 2000, seed=1) == 2000
    assert (tmp_path / "again.csv").read_bytes() == path.read_bytes()


def test_fast_xlsx(tmp_path: Path) -> None:
    path = tmp_path / "big.xlsx"
    assert write_fast_xlsx(path, 2000, seed=1) == 2000
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    assert rows[0] == FAST_HEADERS
    assert len(rows) == 2001
    numeric = [r[1] for r in rows[1:] if isinstance(r[1], float)]
    assert numeric and all(str(int(v)).startswith("84") for v in numeric)
    assert all(decode_msisdn(r[1]) for r in rows[1:])
