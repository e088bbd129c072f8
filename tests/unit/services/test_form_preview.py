"""The preview of the printed documents' wording: one sample document, nothing recorded."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.domain.actors import Actor
from mbfcare.domain.codes import ScanProblem, parse_scan
from mbfcare.errors import UsageError, ValidationError
from mbfcare.models import AuditEntry, PrintedDocument, PrintRun, SurveyForm
from mbfcare.services import printing
from tests.care_data import STORE, seed_listed
from tests.unit.reports.pdf.pdf_helpers import assert_embedded_liberation, page_texts

LAN = Actor("Nguyễn Thị Lan", "admin")
ORGANISATION = {"organisation": ["TỔNG CÔNG TY VIỄN THÔNG MOBIFONE",
                                 "CÔNG TY DỊCH VỤ MOBIFONE KHU VỰC 9"]}


def _count(factory: sessionmaker[Session], model: type) -> int:
    with factory() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def _nothing_recorded(factory: sessionmaker[Session]) -> None:
    for model in (PrintRun, PrintedDocument, AuditEntry, SurveyForm):
        assert _count(factory, model) == 0, model.__name__


def test_receipt_preview_shows_unsaved_wording_and_records_nothing(
        factory: sessionmaker[Session], programme_id: int, tmp_path: Path) -> None:
    out = tmp_path / "xem-truoc.pdf"
    pages = printing.preview_document(factory, "receipts", out, programme_id=programme_id,
                                      overrides=ORGANISATION)
    assert pages == 1
    (text,) = page_texts(out)
    assert "CÔNG TY DỊCH VỤ MOBIFONE KHU VỰC 9" in text
    assert "KHU VỰC 5" not in text  # the file's line is replaced, not added to
    assert printing.PREVIEW_MARK in text
    assert "không ghi vào sổ in" in text
    # The sample: made-up customer, the programme's own gift and batch 1 (care month 03/2017).
    assert "Nguyễn Văn An" in text and "0912 345 678" in text
    assert "Quà loại 1" in text and "Balo kéo du lịch" in text
    assert "Đợt 1 (tháng 03/2017)" in text
    assert "MOBIFONE THÀNH PHỐ HẢI PHÒNG" in text  # the programme's first province
    assert "Số: 0/BB-GNQ" in text and "0-XEMTRU" in text
    assert_embedded_liberation(out)
    _nothing_recorded(factory)
    # The unsaved wording stayed unsaved.
    assert printing.form_settings(factory, programme_id).overrides == {}


def test_preview_without_overrides_uses_the_saved_wording(
        factory: sessionmaker[Session], programme_id: int, tmp_path: Path) -> None:
    printing.update_form_settings(factory, programme_id, {"places": {"Hải Phòng": "Lạch Tray"}},
                                  actor=LAN)
    out = tmp_path / "gm.pdf"
    assert printing.preview_document(factory, "invitations", out,
                                     programme_id=programme_id) == 1
    (text,) = page_texts(out)
    assert "Lạch Tray, ngày" in text
    # Overrides given replace the saved ones: the place is the province's name again.
    printing.preview_document(factory, "invitations", out, programme_id=programme_id,
                              overrides={})
    (text,) = page_texts(out)
    assert "Hải Phòng, ngày" in text and "Lạch Tray" not in text
    assert _count(factory, PrintRun) == 0 and _count(factory, PrintedDocument) == 0


@pytest.mark.parametrize("kind", printing.KINDS)
def test_every_kind_previews_one_stamped_document(
        factory: sessionmaker[Session], programme_id: int, tmp_path: Path, kind: str) -> None:
    out = tmp_path / f"{kind}.pdf"
    pages = printing.preview_document(factory, kind, out, programme_id=programme_id,
                                      province="Quảng Ninh",
                                      overrides={"titles": {"list_maker": "NGƯỜI LẬP BIỂU",
                                                            "surveyor": "NGƯỜI HỎI Ý KIẾN",
                                                            "collector": "NGƯỜI GHI PHIẾU",
                                                            "giver": "BÊN TRAO QUÀ",
                                                            "invitation_signer": "PHÓ GIÁM ĐỐC"}})
    texts = page_texts(out)
    assert pages == len(texts) >= 1
    assert all(printing.PREVIEW_MARK in text for text in texts)
    joined = " ".join(texts)
    assert "MOBIFONE TỈNH QUẢNG NINH" in joined and "Nguyễn Văn An" in joined
    title = {"receipts": "BÊN TRAO QUÀ", "signature-list": "NGƯỜI LẬP BIỂU",
             "surveys": "NGƯỜI HỎI Ý KIẾN", "info-forms": "NGƯỜI GHI PHIẾU",
             "invitations": "PHÓ GIÁM ĐỐC"}[kind]
    assert title in joined
    if kind == "invitations":
        # Group 2 picks up at a store: its gift type with both items to choose from.
        assert "Quà loại 2" in joined and "Ô 2 khúc cầm tay" in joined
    assert_embedded_liberation(out)
    _nothing_recorded(factory)


def test_preview_code_is_refused_by_the_desk() -> None:
    with pytest.raises(ScanProblem):
        parse_scan("MBFC-R-0-0-XEMTRU-00")


def test_preview_names_a_store_on_the_lists(
        factory: sessionmaker[Session], programme_id: int, tmp_path: Path) -> None:
    listed = seed_listed(factory, programme_id)
    runs, docs = _count(listed, PrintRun), _count(listed, PrintedDocument)
    out = tmp_path / "ds.pdf"
    printing.preview_document(listed, "signature-list", out, programme_id=programme_id)
    (text,) = page_texts(out)
    assert STORE in text and "Số: 0/DS-KNQ" in text
    assert (_count(listed, PrintRun), _count(listed, PrintedDocument)) == (runs, docs)


def test_preview_refuses_bad_input(
        factory: sessionmaker[Session], programme_id: int, tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        printing.preview_document(factory, "letters", tmp_path / "x.pdf",
                                  programme_id=programme_id)
    with pytest.raises(UsageError):
        printing.preview_document(factory, "receipts", tmp_path / "x.txt",
                                  programme_id=programme_id)
    with pytest.raises(ValidationError):
        printing.preview_document(factory, "receipts", tmp_path / "x.pdf",
                                  programme_id=programme_id, overrides={"titels": {}})
    assert not (tmp_path / "x.pdf").exists()
