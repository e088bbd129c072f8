"""Fuzzing the importer with corrupted CSV and XLSX extracts (hypothesis).

Valid generated extracts are mutated (bytes flipped, inserted, deleted, the file truncated,
the XML inside the workbook damaged, cells replaced by huge numbers, NaN, dates, NFD text,
emoji, control characters or formulas) and fed to `import_subscribers`. Whatever the input:

* the only exceptions are MBF Care's typed errors (`MbfCareError`), never a traceback;
* either nothing was written, or the run is recorded with every data row accounted for
  (imported + updated + unchanged + rejected == rows read) and the stored counts moved by
  exactly that run.

The examples are derandomised, so CI repeats the same files. Set MBFCARE_FUZZ_FIGURES to a
file to record how many files were fuzzed (the README cites it).
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.domain.actors import Actor
from mbfcare.errors import MbfCareError
from mbfcare.io.synthetic import MessyOptions, generate_subscribers, write_csv, write_xlsx
from mbfcare.models import ImportRun
from mbfcare.services.importing import import_subscribers, stored_counts
from tests.hostile.corpus import CARE_MONTH, HEADER, ROWS, valid_parts, write_parts

# What a file does to the importer and the writers does not depend on the database: these
# run on SQLite only (the server's transactions are the same all-or-nothing).
pytestmark = pytest.mark.sqlite_only

EXAMPLES = 60
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                           HealthCheck.data_too_large, HealthCheck.large_base_example],
)
FIGURES = os.environ.get("MBFCARE_FUZZ_FIGURES")


# --- seeds ------------------------------------------------------------------------------------

_SEEDS: dict[str, bytes] = {}


def _seed(kind: str, folder: Path) -> bytes:
    """A messy but valid generated extract (built once per run)."""
    if kind not in _SEEDS:
        subs = generate_subscribers(40, seed=5)
        opts = MessyOptions(care_month=(2017, 5), extra_sheets=False, duplicates=2, bad_rows=2)
        path = folder / f"seed.{kind}"
        writer = write_csv if kind == "csv" else write_xlsx
        _SEEDS[kind] = writer(path, subs, opts, seed=5).path.read_bytes()
    return _SEEDS[kind]


# --- mutations --------------------------------------------------------------------------------

_byte_op = st.one_of(
    st.tuples(st.just("flip"), st.floats(0, 1, exclude_max=True), st.integers(1, 255)),
    st.tuples(st.just("insert"), st.floats(0, 1), st.binary(min_size=1, max_size=64)),
    st.tuples(st.just("delete"), st.floats(0, 1, exclude_max=True), st.integers(1, 512)),
    st.tuples(st.just("truncate"), st.floats(0, 1), st.just(0)),
)


def _mutate(data: bytes, ops: list[tuple[str, float, object]]) -> bytes:
    out = bytearray(data)
    for op, where, arg in ops:
        if not out:
            break
        pos = min(int(where * len(out)), len(out) - 1)
        if op == "flip":
            out[pos] ^= int(arg)  # type: ignore[call-overload]
        elif op == "insert":
            out[pos:pos] = arg  # type: ignore[assignment]
        elif op == "delete":
            del out[pos:pos + int(arg)]  # type: ignore[call-overload]
        else:
            del out[pos:]
    return bytes(out)


def _mutate_member(data: bytes, member: int, ops: list[tuple[str, float, object]]) -> bytes:
    """Damage the XML of one part of the workbook and zip it again (the zip stays valid)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    names = source.namelist()
    target = names[member % len(names)]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in names:
            content = source.read(name)
            archive.writestr(name, _mutate(content, ops) if name == target else content)
    return out.getvalue()


_odd_value = st.one_of(
    st.sampled_from([
        "NaN", "nan", "inf", "-inf", "1e308", "9" * 40, "-700000", "0", "", " ", "\u00a0",
        "31/02/2017", "2017-13-45", "00/00/0000", "1900-01-00", "45000", "=1+1", "@SUM(1+1)",
        "+cmd|' /C calc'!A0", "Nguye\u0302\u0303n Va\u0306n A", "🎁🎉", "\x00", "\x07\x1b[31m",
        "\r\n", "\u202e", "\ufeff", "0912 345 678", "+84 912 345 678", "84912345678",
        "Tổng cộng", "Số thuê bao", "Trả trước", "Hoạt động 2 chiều",
    ]),
    st.text(max_size=30),
    st.integers(-(10**20), 10**20).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.dates().map(lambda d: d.strftime("%d/%m/%Y")),
)

_cell_edits = st.lists(
    st.tuples(st.integers(0, len(ROWS) + 3), st.integers(0, len(HEADER) + 1), _odd_value),
    min_size=1, max_size=12,
)


def _edited_rows(edits: list[tuple[int, int, str]]) -> list[list[str]]:
    rows = [list(HEADER), *(list(r) for r in ROWS), *(list(r) for r in ROWS)]
    rows[-3][0], rows[-2][0], rows[-1][0] = "0911111111", "0922222222", "0933333333"
    for r, c, value in edits:
        row = rows[min(r, len(rows) - 1)]
        while len(row) <= c:
            row.append("")
        row[c] = value
    return rows


def _csv_bytes(rows: list[list[str]]) -> bytes:
    text = io.StringIO(newline="")
    csv.writer(text, lineterminator="\r\n").writerows(rows)
    return text.getvalue().encode("utf-8", errors="surrogatepass")


def _xlsx_bytes(rows: list[list[str]], folder: Path) -> bytes:
    clean = [[_xml_safe(v) for v in row] for row in rows]
    return write_parts(folder / "cells.xlsx", valid_parts(clean)).read_bytes()


def _xml_safe(value: str) -> str:
    """Characters XML 1.0 cannot hold at all are dropped (Excel cannot write them either)."""
    return "".join(ch for ch in value if ch in "\t\n\r" or (ch >= " " and ch not in "\ufffe\uffff"
                                                            and not 0xD800 <= ord(ch) <= 0xDFFF))


# --- the property ------------------------------------------------------------------------------

class _Fuzz:
    """One database for all the examples of a test, and the checks after each import."""

    def __init__(self, factory: sessionmaker[Session], folder: Path) -> None:
        self.factory = factory
        self.folder = folder
        self.count = 0

    def check(self, name: str, data: bytes) -> None:
        self.count += 1
        path = self.folder / name
        path.write_bytes(data)
        before = stored_counts(self.factory)
        try:
            result = import_subscribers(self.factory, path, care_month=CARE_MONTH,
                                        actor=Actor("fuzz", "admin"))
        except MbfCareError as exc:
            assert str(exc).strip() and "\n" not in str(exc), repr(exc)
            assert stored_counts(self.factory) == before, name
            return
        finally:
            path.unlink()
        after = stored_counts(self.factory)
        assert result.imported + result.updated + result.unchanged + result.rejected == \
            result.rows_read, result
        assert after["import_runs"] == before["import_runs"] + 1
        assert after["subscribers"] == before["subscribers"] + result.imported
        with self.factory() as session:
            run = session.scalars(select(ImportRun).order_by(ImportRun.id.desc())).first()
            assert run is not None and run.finished_at is not None
            assert (run.rows_read, run.imported, run.rejected) == (
                result.rows_read, result.imported, result.rejected)


@pytest.fixture
def fuzz(factory: sessionmaker[Session], programme_id: int, tmp_path: Path) -> Iterator[_Fuzz]:
    folder = tmp_path / "fuzz"
    folder.mkdir()
    state = _Fuzz(factory, folder)
    yield state
    shutil.rmtree(folder, ignore_errors=True)
    if FIGURES:
        with open(FIGURES, "a", encoding="utf-8") as out:
            out.write(json.dumps({"files": state.count}) + "\n")
    print(f"fuzzed {state.count} files")


@FUZZ_SETTINGS
@given(kind=st.sampled_from(["csv", "xlsx"]), ops=st.lists(_byte_op, min_size=1, max_size=6))
def test_corrupted_bytes(fuzz: _Fuzz, kind: str, ops: list[tuple[str, float, object]]) -> None:
    fuzz.check(f"hong.{kind}", _mutate(_seed(kind, fuzz.folder), ops))


@FUZZ_SETTINGS
@given(member=st.integers(0, 20), ops=st.lists(_byte_op, min_size=1, max_size=4))
def test_corrupted_workbook_xml(fuzz: _Fuzz, member: int,
                                ops: list[tuple[str, float, object]]) -> None:
    fuzz.check("xml-hong.xlsx", _mutate_member(_seed("xlsx", fuzz.folder), member, ops))


@FUZZ_SETTINGS
@given(kind=st.sampled_from(["csv", "xlsx"]), edits=_cell_edits)
def test_odd_cell_values(fuzz: _Fuzz, kind: str, edits: list[tuple[int, int, str]]) -> None:
    rows = _edited_rows(edits)
    data = _csv_bytes(rows) if kind == "csv" else _xlsx_bytes(rows, fuzz.folder)
    fuzz.check(f"o-la.{kind}", data)
