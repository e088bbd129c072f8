"""Printing: who gets which document, the print log and its tokens, the desk accepting only
the latest printed copy, cancelling, and the editable wording."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.domain.actors import Actor
from mbfcare.domain.codes import parse_scan
from mbfcare.errors import Cancelled, RuleError, UsageError, ValidationError
from mbfcare.models import AuditEntry, CareCase, PrintedDocument, PrintRun, Subscriber
from mbfcare.services import care_work, printing
from tests.care_data import GAP, GROUP1, GROUP2, STORE, seed_listed
from tests.unit.reports.pdf.pdf_helpers import assert_embedded_liberation, page_texts

LAN = Actor("Nguyễn Thị Lan", "admin")
HA = Actor("Phạm Thu Hà", "clerk")
DAY = dt.date(2017, 3, 10)
NOT_STANDARDISED = sorted(n for n, person in {**GROUP1, **GROUP2}.items() if not person[3])


@pytest.fixture
def listed(factory: sessionmaker[Session], programme_id: int) -> sessionmaker[Session]:
    return seed_listed(factory, programme_id)


def _print(factory: sessionmaker[Session], kind: str, out: Path,
           **kwargs: object) -> printing.PrintResult:
    return printing.print_documents(factory, kind, out, batch=1, actor=HA, today=DAY,
                                    **kwargs)  # type: ignore[arg-type]


def _case_id(factory: sessionmaker[Session], msisdn: str) -> int:
    with factory() as session:
        return session.scalar(select(CareCase.id).join(
            Subscriber, Subscriber.id == CareCase.subscriber_id).where(
            Subscriber.msisdn == msisdn)) or 0


def _count(factory: sessionmaker[Session], model: type) -> int:
    with factory() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_receipts_for_the_batch_are_logged_and_verified_by_the_desk(
        listed: sessionmaker[Session], tmp_path: Path) -> None:
    out = tmp_path / "bien-ban.pdf"
    result = _print(listed, "receipts", out)
    served = len(GROUP1) + len(GROUP2)  # the gap case awaiting its group gets none
    assert (result.documents, result.pages, result.kind) == (served, served, "receipts")
    assert result.file == str(out) and out.exists()
    assert not list(tmp_path.glob(".*tmp*"))  # the temporary file was moved into place
    texts = page_texts(out)
    assert len(texts) == served
    assert_embedded_liberation(out)
    joined = "\n".join(texts)
    for name, *_rest in {**GROUP1, **GROUP2}.values():
        assert name in joined
    assert "Lê Văn Cường" not in joined  # GAP
    # Sorted for distribution: home visits by district, then the store's pick-ups.
    assert "Phạm Thị Dung" in texts[0]  # Hồng Bàng
    assert all(STORE in text for text in texts[len(GROUP1):])
    with listed() as session:
        run = session.scalars(select(PrintRun)).one()
        assert (run.kind, run.documents, run.pages, run.user, run.file_name) == (
            "receipts", served, served, HA.name, "bien-ban.pdf")
        assert run.scope == {"batch": 1}
        docs = session.scalars(select(PrintedDocument)).all()
        assert len(docs) == served and {d.kind for d in docs} == {"receipt"}
        assert all(d.superseded_at is None for d in docs)
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "print")).one()
        assert entry.entity_id == run.id and entry.after["documents"] == served
    # Every QR drawn is a code the desk accepts, naming the customer on that page.
    assert len(result.codes) == served
    for code, text in zip(result.codes, texts, strict=True):
        dto = care_work.desk_lookup(listed, code, actor=Actor("test"))
        assert dto.name in text
        check = parse_scan(code)
        assert f"{check.case_id}-{check.token}" in text  # type: ignore[union-attr]
        assert care_work.desk_lookup(listed, f"{check.case_id}-{check.token}",
                                     actor=Actor("test")) == dto  # type: ignore[union-attr]


def test_reprint_makes_the_older_copy_invalid(listed: sessionmaker[Session],
                                              tmp_path: Path) -> None:
    case_id = _case_id(listed, "0902000005")
    first = _print(listed, "receipts", tmp_path / "a.pdf", case_ids=[case_id])
    again = _print(listed, "receipts", tmp_path / "b.pdf", case_ids=[case_id])
    assert first.documents == again.documents == 1 and first.codes != again.codes
    assert care_work.desk_lookup(listed, again.codes[0], actor=Actor("test")).case_id == case_id
    today = care_work.local_today().strftime("%d/%m/%Y")
    with pytest.raises(RuleError, match=f"Bản in này đã được in lại ngày {today} — dùng bản "
                                        "mới nhất."):
        care_work.desk_lookup(listed, first.codes[0], actor=Actor("test"))
    with pytest.raises(RuleError, match="in lại"):
        care_work.record_handover(listed, first.codes[0], actor=HA, item_code="o-2-khuc")
    assert printing.current_codes(listed, [case_id], "receipt") == {case_id: again.codes[0]}
    # An invitation is another document: printing it leaves the receipt valid.
    invitation = _print(listed, "invitations", tmp_path / "c.pdf", case_ids=[case_id])
    assert care_work.desk_lookup(listed, again.codes[0], actor=Actor("test")).case_id == case_id
    assert care_work.desk_lookup(listed, invitation.codes[0],
                                 actor=Actor("test")).case_id == case_id
    with listed() as session:
        superseded = session.scalars(select(PrintedDocument).where(
            PrintedDocument.superseded_at.is_not(None))).all()
        assert [d.token for d in superseded] == [first.codes[0].split("-")[4]]


def test_who_gets_which_document(listed: sessionmaker[Session], tmp_path: Path) -> None:
    info = _print(listed, "info-forms", tmp_path / "info.pdf")
    assert info.documents == len(NOT_STANDARDISED)
    shown = {care_work.desk_lookup(listed, code, actor=Actor("test")).msisdn for code in info.codes}
    assert shown == set(NOT_STANDARDISED)
    assert "Cần bổ sung: số CCCD" in page_texts(tmp_path / "info.pdf")[0]
    invitations = _print(listed, "invitations", tmp_path / "moi.pdf")
    assert invitations.documents == len(GROUP2)
    assert all(STORE in text for text in page_texts(tmp_path / "moi.pdf"))
    surveys = _print(listed, "surveys", tmp_path / "ks.pdf", blank=3)
    assert (surveys.documents, surveys.blank) == (len(GROUP1) + len(GROUP2) + 3, 3)
    assert len(surveys.codes) == len(GROUP1) + len(GROUP2)
    group1 = _print(listed, "receipts", tmp_path / "g1.pdf", group=1)
    assert group1.documents == len(GROUP1)
    district = _print(listed, "receipts", tmp_path / "hb.pdf", district="hong bang")
    assert district.documents == 1
    store = _print(listed, "receipts", tmp_path / "ch.pdf", store="cua hang mobifone le chan",
                   group=2)
    assert store.documents == len(GROUP2)
    gap = _case_id(listed, next(iter(GAP)))
    with pytest.raises(RuleError, match="Không có khách hàng nào cần in biên bản"):
        _print(listed, "receipts", tmp_path / "gap.pdf", case_ids=[gap])
    assert not (tmp_path / "gap.pdf").exists()


def test_signature_lists_one_per_store_or_district(listed: sessionmaker[Session],
                                                  tmp_path: Path) -> None:
    out = tmp_path / "ky-nhan.pdf"
    result = _print(listed, "signature-list", out)
    # Hồng Bàng and Lê Chân home visits, the Lê Chân store's pick-ups.
    assert result.documents == 3 and result.codes == ()
    texts = page_texts(out)
    assert result.pages == len(texts) == 3
    assert all("Trang 1/1" in text for text in texts)
    assert "Quận/huyện Hồng Bàng" in texts[0] and "Phạm Thị Dung" in texts[0]
    assert STORE in texts[2] and "Tổng cộng: 12 khách hàng" in texts[2]
    assert all(f"Khách Hàng Số {i} " in texts[2] + " " for i in range(1, 13))
    with listed() as session:
        run = session.scalars(select(PrintRun)).one()
        assert f"Số: {run.id}/DS-KNQ" in texts[0]
    assert _count(listed, PrintedDocument) == 0


def test_cancel_rolls_back_and_leaves_no_file(listed: sessionmaker[Session],
                                             tmp_path: Path) -> None:
    case_id = _case_id(listed, "0902000001")
    kept = _print(listed, "receipts", tmp_path / "a.pdf", case_ids=[case_id])

    class CancelAt:
        def __init__(self) -> None:
            self.reports: list[tuple[int, int]] = []

        def report(self, done: int, total: int, text: str = "") -> None:
            self.reports.append((done, total))

        def cancelled(self) -> bool:
            return len(self.reports) >= 1

    out = tmp_path / "all.pdf"
    progress = CancelAt()
    with pytest.raises(Cancelled):
        _print(listed, "receipts", out, progress=progress)
    assert progress.reports[0] == (0, len(GROUP1) + len(GROUP2))
    assert not out.exists() and not list(tmp_path.glob(".*tmp*"))
    assert _count(listed, PrintRun) == 1 and _count(listed, PrintedDocument) == 1
    assert care_work.desk_lookup(listed, kept.codes[0],
                                 actor=Actor("test")).case_id == case_id  # still valid


def test_refusals(listed: sessionmaker[Session], tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"đuôi \.pdf"):
        _print(listed, "receipts", tmp_path / "x.xlsx")
    with pytest.raises(UsageError, match="không tồn tại"):
        _print(listed, "receipts", tmp_path / "no" / "x.pdf")
    with pytest.raises(UsageError, match="phiếu trống"):
        _print(listed, "receipts", tmp_path / "x.pdf", blank=2)
    with pytest.raises(UsageError, match="loại giấy in"):
        _print(listed, "posters", tmp_path / "x.pdf")
    with pytest.raises(RuleError, match="Chỉ xem"):
        printing.print_documents(listed, "receipts", tmp_path / "x.pdf", batch=1,
                                 actor=Actor("Xem", "viewer"))
    assert _count(listed, PrintRun) == 0


def test_form_settings_per_programme_with_audit(listed: sessionmaker[Session],
                                                programme_id: int, tmp_path: Path) -> None:
    shipped = printing.form_settings(listed, programme_id)
    assert shipped.overrides == {}
    assert shipped.settings.branch("Hải Phòng") == "MOBIFONE THÀNH PHỐ HẢI PHÒNG"
    changed = printing.update_form_settings(
        listed, programme_id, {"branches": {"Hải Phòng": "CHI NHÁNH MOBIFONE HẢI PHÒNG"},
                               "numbers": {"receipt": "BB-HP"}}, actor=LAN)
    assert changed.settings.branch("Hải Phòng") == "CHI NHÁNH MOBIFONE HẢI PHÒNG"
    assert printing.form_settings(listed).overrides == changed.overrides
    case_id = _case_id(listed, "0901000001")
    result = _print(listed, "receipts", tmp_path / "r.pdf", case_ids=[case_id])
    (text,) = page_texts(tmp_path / "r.pdf")
    assert "CHI NHÁNH MOBIFONE HẢI PHÒNG" in text
    with listed() as session:
        number = session.scalar(select(PrintedDocument.id))
        entry = session.scalars(select(AuditEntry).where(
            AuditEntry.action == "update_form_settings")).one()
        assert entry.before == {"forms": {}} and entry.after is not None
        assert entry.after["forms"]["numbers"] == {"receipt": "BB-HP"}
    assert f"Số: {number}/BB-HP" in text and result.documents == 1
    with pytest.raises(ValidationError, match="khóa lạ"):
        printing.update_form_settings(listed, programme_id, {"logo": "x.png"}, actor=LAN)
    with pytest.raises(RuleError):
        printing.update_form_settings(listed, programme_id, {}, actor=HA)
    runs = printing.print_runs(listed, programme_id)
    assert [(r.kind, r.documents, r.user) for r in runs] == [("receipts", 1, HA.name)]
