"""Service-level tests of the subscriber and exclusion imports against synthetic extracts.

Every test compares what is stored with the truth the synthetic writer returns, field by field.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.domain.actors import Actor
from mbfcare.domain.reference import new_province_of
from mbfcare.errors import Cancelled, ImportFileError, UsageError
from mbfcare.io.synthetic import (
    MessyOptions,
    SyntheticSubscriber,
    WrittenExtract,
    generate_subscribers,
    write_csv,
    write_fast_csv,
    write_xls,
    write_xlsx,
)
from mbfcare.models import Batch, Exclusion
from mbfcare.models.subscriber import Charge, Subscriber
from mbfcare.services.importing import (
    ImportResult,
    import_exclusions,
    import_subscribers,
    stored_counts,
)

Factory = sessionmaker[Session]

MOBIFONE = {"089", "090", "093", "070", "076", "077", "078", "079"}

# Every kind of mess the writer knows, as the brief asks.
ALL_MESS = dict(
    title_rows=True, column_number_row=True, totals_row=True, signature_rows=True,
    blank_rows=True, hidden_column=True, extra_sheets=True, charge_group_row=True,
    header_style="mixed", msisdn_forms=True, money_as_text=True, nfd_share=0.2, nbsp=True,
    dates="mixed", values="mixed", province_prefix=True, duplicates=3, bad_rows=4,
)

# Words a clerk reads in the reason for each kind of rejected row.
REASON_WORDS = {
    "bad_msisdn": "số thuê bao",
    "bad_status": "trạng thái",
    "bad_type": "loại thuê bao",
    "bad_money": "cước",
    "duplicate": "trùng",
}


def care_of(written: WrittenExtract) -> str:
    year, month = written.care_month
    return f"{month:02d}/{year}"


def subscribers_by_number(factory: Factory) -> dict[str, Subscriber]:
    with factory() as session:
        rows = session.scalars(select(Subscriber)).all()
        session.expunge_all()
    return {row.msisdn: row for row in rows}


def charges_by_number(factory: Factory) -> dict[str, dict[int, int]]:
    with factory() as session:
        rows = session.execute(
            select(Subscriber.msisdn, Charge.cycle, Charge.amount).join(
                Charge, Charge.subscriber_id == Subscriber.id)
        ).all()
    result: dict[str, dict[int, int]] = {}
    for number, cycle, amount in rows:
        result.setdefault(number, {})[cycle] = amount
    return result


def dump(factory: Factory) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[Any]]:
    """Full contents of subscribers, charges and exclusions (not import_runs)."""
    with factory() as session:
        subs = [tuple(r) for r in session.execute(
            text("SELECT * FROM subscribers ORDER BY id")).all()]
        charges = [tuple(r) for r in session.execute(
            text("SELECT * FROM charges ORDER BY subscriber_id, cycle")).all()]
        exclusions = [tuple(r) for r in session.execute(
            text("SELECT * FROM exclusions ORDER BY id")).all()]
    return subs, charges, exclusions


def expected_charges(sub: SyntheticSubscriber) -> dict[int, int]:
    return {y * 100 + m: v for (y, m), v in sub.charges.items() if v is not None}


def assert_stored_exactly(factory: Factory, expected: dict[str, SyntheticSubscriber],
                          *, check_charges: bool = True) -> None:
    stored = subscribers_by_number(factory)
    assert set(stored) == set(expected), (
        f"missing {sorted(set(expected) - set(stored))[:5]}, "
        f"extra {sorted(set(stored) - set(expected))[:5]}")
    charges = charges_by_number(factory)
    problems: list[str] = []
    for number, truth in expected.items():
        row = stored[number]
        want = {
            "msisdn_original": truth.legacy_msisdn,
            "ported": number[:3] not in MOBIFONE,
            "subscriber_type": truth.subscriber_type,
            "status": truth.status,
            "name": unicodedata.normalize("NFC", truth.name),
            "activation_date": truth.activation_date,
            "birth_date": truth.birth_date,
            "province": truth.province,
            "province_new": new_province_of(truth.province),
            "district": truth.district,
            "address": truth.address,
            "id_number": truth.id_number,
            "store": truth.store,
            "offers": truth.offers,
            "in_other_programme": truth.in_other_programme,
            "profile_standardised": truth.profile_standardised,
            "contact_number": None,
        }
        for name, value in want.items():
            got = getattr(row, name)
            if got != value:
                problems.append(f"{number}.{name}: expected {value!r}, got {got!r}")
        if check_charges and charges.get(number, {}) != expected_charges(truth):
            problems.append(f"{number}.charges: expected {expected_charges(truth)!r}, "
                            f"got {charges.get(number, {})!r}")
    assert not problems, f"{len(problems)} wrong values, e.g.:\n" + "\n".join(problems[:15])


def _norm(value: object) -> str:
    return " ".join(str(value or "").split())


def source_headers(written: WrittenExtract) -> list[str]:
    if written.path.suffix == ".xlsx":
        wb = load_workbook(written.path, read_only=True)
        ws = wb[written.sheet]
        row = next(ws.iter_rows(min_row=written.header_row, max_row=written.header_row,
                                values_only=True))
        wb.close()
        return [_norm(v) for v in row]
    return []


def assert_rejects_workbook(result: ImportResult, written: WrittenExtract) -> None:
    assert result.rejects_file is not None
    path = Path(result.rejects_file)
    assert path.exists()
    wb = load_workbook(path, read_only=True)
    ws = wb.worksheets[0]
    rows = list(ws.iter_rows(values_only=True))
    wb.close()
    header = list(rows[0])
    assert header[:3] == ["Sheet", "Dòng", "Lý do"]
    originals = source_headers(written)
    if originals:
        assert [_norm(h) for h in header[3:3 + len(originals)]] == originals
    by_row = {r[1]: r for r in rows[1:]}
    assert set(by_row) == set(written.expected_rejects), (
        f"rejects workbook rows {sorted(by_row)} != expected {sorted(written.expected_rejects)}")
    for number, kind in written.expected_rejects.items():
        reason = str(by_row[number][2]).lower()
        assert REASON_WORDS[kind] in reason, (number, kind, reason)
        if written.sheet is not None:
            assert by_row[number][0] == written.sheet


def assert_counts(result: ImportResult, written: WrittenExtract, duplicates: int) -> None:
    got = (result.rows_read, result.rejected, result.duplicates, result.imported,
           result.updated, result.unchanged)
    want = (written.data_rows, len(written.expected_rejects), duplicates, len(written.expected),
            0, 0)
    assert got == want, ("(rows_read, rejected, duplicates, imported, updated, unchanged)",
                         got, want, result.reasons)
    assert result.rows_read == (result.imported + result.updated + result.unchanged
                                + result.rejected)


# --------------------------------------------------------------------------- whole files


def _import_and_check(factory: Factory, programme_id: int, written: WrittenExtract,
                      duplicates: int) -> ImportResult:
    result = import_subscribers(factory, written.path, programme_id=programme_id,
                                care_month=care_of(written), actor=Actor("test"))
    # Stored values first: a wrong count must not hide what was stored.
    assert_stored_exactly(factory, written.expected)
    assert_counts(result, written, duplicates)
    assert_rejects_workbook(result, written)
    counts = stored_counts(factory)
    assert counts["subscribers"] == len(written.expected)
    assert counts["import_runs"] == 1
    return result


def test_messy_xlsx_with_every_kind_of_mess(factory: Factory, programme_id: int,
                                            tmp_path: Path) -> None:
    subs = generate_subscribers(300, seed=11)
    written = write_xlsx(tmp_path / "messy.xlsx", subs,
                         MessyOptions(**ALL_MESS, tcvn3_share=0.1), seed=11)
    result = _import_and_check(factory, programme_id, written, duplicates=3)
    assert result.sheet == written.sheet
    assert result.header_row == written.header_row
    assert result.cycles == ["12/2016", "01/2017", "02/2017"]
    assert result.care_month == care_of(written)


def test_messy_xlsx_without_legacy_fonts(factory: Factory, programme_id: int,
                                         tmp_path: Path) -> None:
    subs = generate_subscribers(300, seed=12)
    written = write_xlsx(tmp_path / "messy.xlsx", subs, MessyOptions(**ALL_MESS), seed=12)
    _import_and_check(factory, programme_id, written, duplicates=3)


def test_xlsx_with_legacy_font_rows_but_no_footer(factory: Factory, programme_id: int,
                                                  tmp_path: Path) -> None:
    """Isolates the TCVN3 handling: no signature lines under the list."""
    subs = generate_subscribers(300, seed=13)
    options = MessyOptions(**{**ALL_MESS, "signature_rows": False}, tcvn3_share=0.1)
    written = write_xlsx(tmp_path / "tcvn3.xlsx", subs, options, seed=13)
    _import_and_check(factory, programme_id, written, duplicates=3)


def test_xlsx_signature_lines_are_not_data_rows(factory: Factory, programme_id: int,
                                                tmp_path: Path) -> None:
    """Isolates the footer handling: plain otherwise, signature lines on."""
    subs = generate_subscribers(120, seed=14)
    options = MessyOptions(signature_rows=True, totals_row=True, tcvn3_share=0.0)
    written = write_xlsx(tmp_path / "sig.xlsx", subs, options, seed=14)
    result = import_subscribers(factory, written.path, programme_id=programme_id,
                                care_month=care_of(written), actor=Actor("test"))
    assert (result.rows_read, result.rejected) == (written.data_rows, 0), result.reasons
    assert result.rejects_file is None


@pytest.mark.parametrize(("encoding", "delimiter"), [
    ("utf-8-sig", ","),
    ("utf-8", ";"),
    ("utf-16", "\t"),
    ("cp1258", ","),
    ("cp1258", ";"),
])
def test_messy_csv(factory: Factory, programme_id: int, tmp_path: Path, encoding: str,
                   delimiter: str) -> None:
    subs = generate_subscribers(300, seed=21)
    written = write_csv(tmp_path / "extract.csv", subs, MessyOptions(**ALL_MESS),
                        encoding=encoding, delimiter=delimiter, seed=21)
    result = _import_and_check(factory, programme_id, written, duplicates=3)
    assert result.header_row == written.header_row


def test_messy_xls(factory: Factory, programme_id: int, tmp_path: Path) -> None:
    subs = generate_subscribers(300, seed=31)
    written = write_xls(tmp_path / "old.xls", subs, MessyOptions(**ALL_MESS), seed=31)
    result = _import_and_check(factory, programme_id, written, duplicates=3)
    assert result.sheet == written.sheet


def test_messy_xls_with_legacy_fonts(factory: Factory, programme_id: int,
                                     tmp_path: Path) -> None:
    subs = generate_subscribers(300, seed=32)
    written = write_xls(tmp_path / "old.xls", subs,
                        MessyOptions(**ALL_MESS, tcvn3_share=0.1, vni_share=0.05), seed=32)
    _import_and_check(factory, programme_id, written, duplicates=3)


# --------------------------------------------------------------------------- later imports


def test_reimport_of_the_same_file_changes_nothing(factory: Factory, programme_id: int,
                                                   tmp_path: Path) -> None:
    subs = generate_subscribers(300, seed=41)
    written = write_xlsx(tmp_path / "same.xlsx", subs, MessyOptions(**ALL_MESS), seed=41)
    first = import_subscribers(factory, written.path, programme_id=programme_id,
                               care_month=care_of(written), actor=Actor("test"))
    assert first.imported > 0
    before = dump(factory)
    stored = stored_counts(factory)["subscribers"]
    second = import_subscribers(factory, written.path, programme_id=programme_id,
                                care_month=care_of(written), actor=Actor("test"))
    assert (second.imported, second.updated, second.unchanged) == (0, 0, stored)
    assert second.rows_read == first.rows_read
    assert second.rejected == first.rejected
    assert second.duplicates == first.duplicates
    assert dump(factory) == before
    assert stored_counts(factory)["import_runs"] == 2


def _plain(**kw: Any) -> MessyOptions:
    base: dict[str, Any] = dict(signature_rows=False, duplicates=0, bad_rows=0)
    base.update(kw)
    return MessyOptions(**base)


def test_newer_extract_updates_without_erasing(factory: Factory, programme_id: int,
                                               tmp_path: Path) -> None:
    old_cycles = ((2016, 12), (2017, 1), (2017, 2))
    subs = generate_subscribers(200, seed=51, cycles=old_cycles, new_subscriber_share=0.0)
    # Every subscriber has a known charge in every cycle, so the changes below are exact.
    subs = [dataclasses.replace(s, activation_date=s.activation_date or dt.date(2010, 1, 1),
                                charges={c: (v if v is not None else 1000)
                                         for c, v in s.charges.items()})
            for s in subs]
    first_file = write_xlsx(tmp_path / "t2.xlsx", subs, _plain(charge_headers="named"), seed=51)
    first = import_subscribers(factory, first_file.path, programme_id=programme_id,
                               care_month=care_of(first_file), actor=Actor("test"))
    assert first.imported == 200 and first.rejected == 0, first.reasons

    new_cycles = ((2017, 1), (2017, 2), (2017, 3))
    newer: list[SyntheticSubscriber] = []
    truth: dict[str, SyntheticSubscriber] = {}
    for i, s in enumerate(subs):
        charges: dict[tuple[int, int], int | None] = {
            (2017, 1): s.charges[(2017, 1)], (2017, 2): s.charges[(2017, 2)], (2017, 3): None}
        written_sub = s
        stored_sub = s
        if i < 20:  # status changed: updated
            status = "cancelled" if s.status != "cancelled" else "active"
            written_sub = stored_sub = dataclasses.replace(s, status=status)
        elif i < 40:  # a charge for the new cycle: updated
            charges[(2017, 3)] = 600_000 + i
        elif i < 60:  # blank cells: unchanged, nothing erased
            written_sub = dataclasses.replace(s, address=None, id_number=None, birth_date=None,
                                              activation_date=None, store=None, offers=None)
        elif i < 70:  # a blank charge for a stored cycle: unchanged, charge kept
            charges[(2017, 1)] = None
        elif i < 80:  # a changed charge: updated, replaced
            charges[(2017, 2)] = s.charges[(2017, 2)] + 1
        written_sub = dataclasses.replace(written_sub, charges=charges)
        newer.append(written_sub)
        kept = dict(s.charges)
        kept.update({c: v for c, v in charges.items() if v is not None})
        truth[s.msisdn] = dataclasses.replace(stored_sub, charges=kept)
    fresh = generate_subscribers(10, seed=52, cycles=new_cycles, new_subscriber_share=0.0,
                                 exclude_msisdns=frozenset(truth))
    fresh = [dataclasses.replace(s, activation_date=s.activation_date or dt.date(2010, 1, 1),
                                 charges={c: (v if v is not None else 2000)
                                          for c, v in s.charges.items()})
             for s in fresh]
    newer.extend(fresh)
    truth.update({s.msisdn: s for s in fresh})

    second_file = write_xlsx(tmp_path / "t3.xlsx", newer, _plain(charge_headers="named"),
                             seed=53)
    result = import_subscribers(factory, second_file.path, programme_id=programme_id,
                                care_month=care_of(second_file), actor=Actor("test"))
    assert result.cycles == ["01/2017", "02/2017", "03/2017"]
    assert (result.imported, result.updated, result.unchanged, result.rejected) == \
        (10, 50, 150, 0), result.reasons
    assert_stored_exactly(factory, truth)
    charges = charges_by_number(factory)
    # The 12/2016 column is not in the newer file: its charges stay.
    assert all(201612 in charges[s.msisdn] for s in subs)


# --------------------------------------------------------------------------- options


def _relative_file(tmp_path: Path, n: int = 60, **kw: Any) -> WrittenExtract:
    subs = generate_subscribers(n, seed=61)
    return write_xlsx(tmp_path / "rel.xlsx", subs, _plain(charge_headers="relative", **kw),
                      seed=61)


def test_relative_charge_headers_need_a_care_month(factory: Factory, programme_id: int,
                                                   tmp_path: Path) -> None:
    written = _relative_file(tmp_path)
    before = stored_counts(factory)
    with pytest.raises(UsageError) as info:
        import_subscribers(factory, written.path, programme_id=programme_id, actor=Actor("test"))
    assert "--care-month" in str(info.value) or "--batch" in str(info.value)
    assert stored_counts(factory) == before


def test_batch_and_care_month_set_the_batch(factory: Factory, programme_id: int,
                                            tmp_path: Path) -> None:
    written = _relative_file(tmp_path)
    assert written.care_month == (2017, 5)
    result = import_subscribers(factory, written.path, programme_id=programme_id, batch=1,
                                care_month="05/2017", actor=Actor("test"))
    assert result.imported == len(written.expected)
    assert result.care_month == "05/2017"
    assert result.cycles == ["12/2016", "01/2017", "02/2017"]
    with factory() as session:
        batch = session.scalar(select(Batch).where(Batch.programme_id == programme_id,
                                                   Batch.number == 1))
        assert batch is not None
        assert (batch.care_year, batch.care_month) == (2017, 5)
        other = session.scalar(select(Batch).where(Batch.programme_id == programme_id,
                                                   Batch.number == 2))
        assert other is not None and (other.care_year, other.care_month) == (2017, 6)
    assert_stored_exactly(factory, written.expected)


def test_strict_refuses_the_whole_file(factory: Factory, programme_id: int,
                                       tmp_path: Path) -> None:
    subs = generate_subscribers(80, seed=71)
    written = write_xlsx(tmp_path / "strict.xlsx", subs, _plain(bad_rows=1), seed=71)
    assert len(written.expected_rejects) == 1
    before = stored_counts(factory)
    with pytest.raises(ImportFileError):
        import_subscribers(factory, written.path, programme_id=programme_id,
                           care_month=care_of(written), strict=True, actor=Actor("test"))
    assert stored_counts(factory) == before


def test_dry_run_reports_and_stores_nothing(factory: Factory, programme_id: int,
                                            tmp_path: Path) -> None:
    subs = generate_subscribers(150, seed=81)
    written = write_xlsx(tmp_path / "dry.xlsx", subs, _plain(duplicates=2, bad_rows=2),
                         seed=81)
    before = stored_counts(factory)
    before_dump = dump(factory)
    result = import_subscribers(factory, written.path, programme_id=programme_id,
                                care_month=care_of(written), dry_run=True, actor=Actor("test"))
    assert result.dry_run is True
    assert (result.rows_read, result.imported, result.rejected, result.duplicates) == (
        written.data_rows, len(written.expected), len(written.expected_rejects), 2)
    assert stored_counts(factory) == before
    assert dump(factory) == before_dump


class _CancelAfter:
    def __init__(self, reports: int) -> None:
        self.reports = 0
        self.limit = reports
        self.asked = 0

    def report(self, done: int, total: int, text: str = "") -> None:
        self.reports += 1

    def cancelled(self) -> bool:
        self.asked += 1
        return self.reports >= self.limit


def test_cancel_rolls_everything_back(factory: Factory, programme_id: int,
                                      tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    write_fast_csv(path, 12_000, seed=5)
    before = stored_counts(factory)
    progress = _CancelAfter(0)
    with pytest.raises(Cancelled):
        import_subscribers(factory, path, programme_id=programme_id, care_month="03/2017",
                           progress=progress, actor=Actor("test"))
    assert progress.asked >= 1
    assert stored_counts(factory) == before


def test_cancel_after_the_first_chunk_rolls_everything_back(factory: Factory,
                                                            programme_id: int,
                                                            tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    write_fast_csv(path, 12_000, seed=6)
    before = stored_counts(factory)
    progress = _CancelAfter(1)
    with pytest.raises(Cancelled):
        import_subscribers(factory, path, programme_id=programme_id, care_month="03/2017",
                           progress=progress, actor=Actor("test"))
    assert progress.reports >= 1
    assert stored_counts(factory) == before


# --------------------------------------------------------------------------- exclusions


def _exclusion_file(path: Path, numbers: list[object]) -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "DS loại trừ"
    ws.append(["DANH SÁCH THUÊ BAO ĐANG THAM GIA CHƯƠNG TRÌNH KHÁC"])
    ws.append([])
    ws.append(["STT", "Số thuê bao", "Họ tên"])
    for i, number in enumerate(numbers, 1):
        ws.append([i, number, f"Khách hàng {i}"])
    wb.save(path)


def test_exclusions_import_and_reimport(factory: Factory, programme_id: int,
                                        tmp_path: Path) -> None:
    numbers: list[object] = ["0901234567", "84931234567", 939876543, "0703.111.222",
                             "01201234567", "abc", "0912345678"]
    path = tmp_path / "excl.xlsx"
    _exclusion_file(path, numbers)
    result = import_exclusions(factory, path, programme_id=programme_id, actor=Actor("test"))
    assert (result.rows_read, result.imported, result.updated, result.unchanged,
            result.rejected) == (7, 6, 0, 0, 1), result.reasons
    with factory() as session:
        stored = set(session.scalars(select(Exclusion.msisdn).where(
            Exclusion.programme_id == programme_id)).all())
    assert stored == {"0901234567", "0931234567", "0939876543", "0703111222", "0701234567",
                      "0912345678"}
    assert stored_counts(factory)["subscribers"] == 0
    before = dump(factory)
    again = import_exclusions(factory, path, programme_id=programme_id, actor=Actor("test"))
    assert (again.imported, again.updated, again.unchanged, again.rejected) == (0, 0, 6, 1)
    assert dump(factory) == before


def test_legacy_font_on_some_cells_does_not_rewrite_genuine_unicode(
        factory: Factory, programme_id: int, tmp_path: Path) -> None:
    """A workbook with one TCVN3 (.VnTime) cell: the other, Unicode, cells must stay as written."""
    from openpyxl.styles import Font

    from mbfcare.domain.vntext import unicode_to_tcvn3

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["Số thuê bao", "Họ tên", "Loại TB", "Trạng thái", "Tỉnh", "Quận/Huyện",
               "Cước 02/2017", "Cước 03/2017", "Cước 04/2017"])
    ws.append(["0901234567", unicode_to_tcvn3("Nguyễn Văn An"), "Trả trước", "2C",
               "Quảng Ninh", "Hạ Long", 700000, 700000, 700000])
    ws.cell(row=2, column=2).font = Font(name=".VnTime")
    ws.append(["0931234567", "Lê Quang Nam", "Trả sau", "Hoạt động", "Thái Nguyên",
               "Sông Công", 600000, 600000, 600000])
    ws.append(["0701234567", "Phạm Thị Hà", "TT", "2C", "Quảng Ninh", "Uông Bí",
               1000, 2000, 3000])
    path = tmp_path / "mixed-fonts.xlsx"
    wb.save(path)
    result = import_subscribers(factory, path, programme_id=programme_id, actor=Actor("test"))
    assert (result.imported, result.rejected) == (3, 0), result.reasons
    stored = subscribers_by_number(factory)
    assert {n: (s.name, s.province, s.district) for n, s in stored.items()} == {
        "0901234567": ("Nguyễn Văn An", "Quảng Ninh", "Hạ Long"),
        "0931234567": ("Lê Quang Nam", "Thái Nguyên", "Sông Công"),
        "0701234567": ("Phạm Thị Hà", "Quảng Ninh", "Uông Bí"),
    }


def test_odd_digit_characters_in_a_charge_reject_the_row_not_the_file(
        factory: Factory, programme_id: int, tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_text(
        "Số thuê bao,Loại TB,Trạng thái,Cước 02/2017,Cước 03/2017,Cước 04/2017\n"
        "0901234567,Trả trước,2C,700000,700000,700000\n"
        "0931234567,Trả sau,2C,²,600000,600000\n",
        encoding="utf-8-sig")
    result = import_subscribers(factory, path, programme_id=programme_id, actor=Actor("test"))
    assert (result.rows_read, result.imported, result.rejected) == (2, 1, 1)
    assert result.reasons == {"bad_money": 1}
