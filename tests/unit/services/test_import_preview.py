"""The import wizard's service side: previewing a file, the user's mapping, remembered layouts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.domain.actors import Actor
from mbfcare.errors import ImportFileError, UsageError
from mbfcare.io.synthetic import MessyOptions, WrittenExtract, generate_subscribers, write_xlsx
from mbfcare.models.subscriber import Charge, Subscriber
from mbfcare.services import layouts
from mbfcare.services.importing import (
    NO_CHARGES,
    import_subscribers,
    preview_file,
    stored_counts,
)

Factory = sessionmaker[Session]

# synthetic column keys -> canonical fields
_FIELDS = {"msisdn": "msisdn", "type": "subscriber_type", "status": "status", "name": "name",
           "activation_date": "activation_date", "birth_date": "birth_date",
           "id_number": "id_number", "province": "province", "district": "district",
           "address": "address", "store": "store", "offers": "offers",
           "in_other_programme": "in_other_programme",
           "profile_standardised": "profile_standardised"}


def care_of(written: WrittenExtract) -> str:
    year, month = written.care_month
    return f"{month:02d}/{year}"


@pytest.fixture
def messy(tmp_path: Path) -> WrittenExtract:
    subs = generate_subscribers(200, seed=31)
    options = MessyOptions(duplicates=2, bad_rows=2, tcvn3_share=0.0)
    return write_xlsx(tmp_path / "messy.xlsx", subs, options, seed=31)


def _plain_workbook(path: Path) -> Path:
    """A list whose header no one could recognise, under a title row."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "DS"
    ws.append(["Danh sách gửi anh Nam"])
    ws.append(["Cột A", "Cột B", "Cột C", "Cột D", "Cột E"])
    ws.append(["0901234567", "Trả trước", "Hoạt động 2 chiều", "100.000", "Nguyễn Văn An"])
    ws.append(["0931234568", "Trả sau", "Chặn 1 chiều", "250000", "Trần Thị Bình"])
    ws.append(["0701234569", "TT", "2C", "", "Lê Văn Cường"])
    wb.save(path)
    return path


def test_preview_of_a_messy_workbook(messy: WrittenExtract) -> None:
    preview = preview_file(messy.path)

    names = [s.name for s in preview.sheets]
    assert messy.sheet in names and len(names) > 1
    rows_of = {s.name: s.rows for s in preview.sheets}
    assert rows_of[messy.sheet] >= messy.data_rows + messy.header_row
    assert preview.sheet == messy.sheet
    assert preview.header_row == preview.detected_header_row == messy.header_row
    assert len(preview.rows) == 50
    header_cells = preview.rows[messy.header_row - preview.first_row]
    assert [c.strip() for c in header_cells] == list(preview.headers)
    assert preview.missing == ()
    found = {f.key: f for f in preview.fields}
    for key, column in messy.columns.items():
        if key in _FIELDS:
            assert found[_FIELDS[key]].column == column - 1, key
    charges = [f for f in preview.fields if f.charge is not None]
    assert sorted(f.column for f in charges) == sorted(
        c - 1 for k, c in messy.columns.items() if k.startswith("charge:"))
    assert all(f.key.startswith("charge:") for f in charges)
    msisdn = found["msisdn"]
    assert msisdn.required and msisdn.header
    assert len(msisdn.samples) == 3
    assert all(any(ch.isdigit() for ch in s) for s in msisdn.samples)
    assert found["contact_number"].column is None and found["contact_number"].samples == ()
    assert set(preview.mapping) == {f.key for f in preview.fields if f.column is not None}


def test_preview_of_another_sheet_and_header_row(messy: WrittenExtract) -> None:
    preview = preview_file(messy.path, sheet=messy.sheet, header_row=1)
    assert preview.header_row == 1
    assert preview.detected_header_row == messy.header_row
    assert set(preview.missing) == {"msisdn", "subscriber_type", "status", NO_CHARGES}

    again = preview.with_header_row(messy.header_row)
    assert again.missing == ()
    assert again.mapping == preview_file(messy.path).mapping

    other = next(s.name for s in preview.sheets if s.name != messy.sheet)
    assert preview_file(messy.path, sheet=other).sheet == other
    with pytest.raises(UsageError):
        preview_file(messy.path, sheet=messy.sheet, header_row=100_000)
    with pytest.raises(UsageError):
        preview.with_header_row(51)
    with pytest.raises(ImportFileError):
        preview_file(messy.path, sheet="Không có")


def test_preview_without_a_recognisable_header(tmp_path: Path) -> None:
    preview = preview_file(_plain_workbook(tmp_path / "plain.xlsx"))
    assert preview.header_row is None and preview.detected_header_row is None
    assert preview.rows[1][:2] == ("Cột A", "Cột B")
    assert set(preview.missing) == {"msisdn", "subscriber_type", "status", NO_CHARGES}
    chosen = preview.with_header_row(2)
    assert chosen.column_samples(0) == ("0901234567", "0931234568", "0701234569")
    assert chosen.column_samples(3) == ("100.000", "250000")


def test_the_detected_mapping_imports_as_the_default(factory: Factory, programme_id: int,
                                                      messy: WrittenExtract,
                                                      tmp_path: Path) -> None:
    preview = preview_file(messy.path)
    chosen = import_subscribers(factory, messy.path, programme_id=programme_id,
                                care_month=care_of(messy), sheet=preview.sheet,
                                header_row=preview.header_row, mapping=preview.mapping,
                                dry_run=True, actor=Actor("test"))
    default = import_subscribers(factory, messy.path, programme_id=programme_id,
                                 care_month=care_of(messy), dry_run=True, actor=Actor("test"))
    keys = ("rows_read", "imported", "updated", "unchanged", "rejected", "duplicates",
            "reasons", "cycles", "header_row", "sheet")
    assert {k: getattr(chosen, k) for k in keys} == {k: getattr(default, k) for k in keys}
    assert chosen.rows_read == messy.data_rows


def test_the_users_mapping_is_what_is_imported(factory: Factory, programme_id: int,
                                               messy: WrittenExtract) -> None:
    preview = preview_file(messy.path)
    mapping = dict(preview.mapping)
    mapping.pop("name")
    mapping["contact_number"] = mapping.pop("id_number")  # the user says so
    result = import_subscribers(factory, messy.path, programme_id=programme_id,
                                care_month=care_of(messy), mapping=mapping, actor=Actor("test"))
    assert result.imported == len(messy.expected)
    with factory() as session:
        rows = session.execute(select(Subscriber.name, Subscriber.id_number,
                                      Subscriber.contact_number)).all()
    assert all(name is None and id_number is None for name, id_number, _ in rows)
    assert any(contact is not None for _, _, contact in rows)


def test_header_row_and_mapping_for_an_unrecognised_header(factory: Factory,
                                                           programme_id: int,
                                                           tmp_path: Path) -> None:
    path = _plain_workbook(tmp_path / "plain.xlsx")
    with pytest.raises(ImportFileError):
        import_subscribers(factory, path, programme_id=programme_id, care_month="05/2017",
                           actor=Actor("test"))
    mapping = {"msisdn": 0, "subscriber_type": 1, "status": 2, "charge:Cước T-3": 3,
               "name": 4}
    result = import_subscribers(factory, path, programme_id=programme_id,
                                care_month="05/2017", header_row=2, mapping=mapping,
                                    actor=Actor("test"))
    assert (result.rows_read, result.imported, result.rejected) == (3, 3, 0)
    assert result.header_row == 2
    assert result.cycles == ["02/2017"]
    with factory() as session:
        stored = dict(session.execute(select(Subscriber.msisdn, Subscriber.name)).all())
        charges = session.execute(select(Charge.cycle, Charge.amount)).all()
    assert stored["0901234567"] == "Nguyễn Văn An"
    assert sorted(charges) == [(201702, 100000), (201702, 250000)]


@pytest.mark.parametrize(("header_row", "mapping"), [
    (2, {"msisdn": 0, "subscriber_type": 1, "status": 2, "charge:Cước T-3": 5}),
    (2, {"msisdn": 0, "subscriber_type": 1, "status": 2, "charge:Cước T-3": -1}),
    (2, {"msisdn": 0, "subscriber_type": 0, "status": 2, "charge:Cước T-3": 3}),
    (2, {"msisdn": 0, "subscriber_type": 1, "status": 2, "charge:Họ tên": 3}),
    (2, {"msisdn": 0, "subscriber_type": 1, "status": 2, "shoe_size": 3}),
    (99, None),
    (0, None),
])
def test_bad_choices_are_refused(factory: Factory, programme_id: int, tmp_path: Path,
                                 header_row: int, mapping: dict[str, int] | None) -> None:
    path = _plain_workbook(tmp_path / "plain.xlsx")
    before = stored_counts(factory)
    with pytest.raises(UsageError):
        import_subscribers(factory, path, programme_id=programme_id, care_month="05/2017",
                           header_row=header_row, mapping=mapping, actor=Actor("test"))
    assert stored_counts(factory) == before


def test_remembered_mappings_round_trip(data_home: Path) -> None:
    headers = ["STT", "Số thuê bao", "Loại TB", "Trạng thái", "Cước T-3", ""]
    assert layouts.remembered_mapping(headers) is None
    mapping = {"msisdn": 1, "subscriber_type": 2, "status": 3, "charge:Cước T-3": 4}

    layouts.remember_mapping(headers, mapping)

    assert layouts.layouts_path() == data_home / "import_layouts.json"
    assert layouts.remembered_mapping(headers) == mapping
    # same layout written differently: accents, case, spaces, trailing blank columns
    assert layouts.remembered_mapping(["stt", "SO THUE  BAO", "loại tb", "Trang thai",
                                       "Cuoc T-3"]) == mapping
    assert layouts.remembered_mapping(["Số thuê bao", "Loại TB"]) is None
    changed = {**mapping, "status": 0}
    layouts.remember_mapping(headers, changed)
    assert layouts.remembered_mapping(headers) == changed
    assert len(layouts.load_layouts()) == 1
    stored = json.loads(layouts.layouts_path().read_text(encoding="utf-8"))
    assert stored["version"] == 1


def test_an_unreadable_layouts_file_is_ignored(data_home: Path) -> None:
    layouts.layouts_path().write_text("{not json", encoding="utf-8")
    assert layouts.remembered_mapping(["Số TB"]) is None
    layouts.remember_mapping(["Số TB"], {"msisdn": 0})
    assert layouts.remembered_mapping(["Số TB"]) == {"msisdn": 0}
