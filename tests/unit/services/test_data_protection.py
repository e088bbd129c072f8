"""Personal data: who may write it to a file, what the log keeps, masking, and the purge."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.domain.actors import Actor, PermissionProblem
from mbfcare.errors import RuleError, UsageError
from mbfcare.models import (
    AuditEntry,
    CareCase,
    Handover,
    ProfileCollection,
    Programme,
    Subscriber,
    SurveyResponse,
)
from mbfcare.services import audit, printing, profiles, sms, stock, surveys
from mbfcare.services import data_protection as dp
from mbfcare.services.care_work import record_handover
from mbfcare.services.exporting import export_care_list, export_regional
from mbfcare.services.reports import progress_report, write_report
from tests.care_data import GROUP1, GROUP2, STORE, seed_listed

ADMIN = Actor("Trần Quản Trị", "admin", username="quantri")
HEAD = Actor("Phạm Thu Hà", "head", district="Hồng Bàng", username="ha")
CLERK = Actor("Lê Văn Tư", "clerk", store=STORE, username="tu")
VIEWER = Actor("KV5", "viewer", username="kv5")
DUNG = "0901000002"  # Phạm Thị Dung, group 1, Hồng Bàng
AN = "0901000001"  # Nguyễn Văn An, group 1, Lê Chân
SUGGESTION = "Gọi cho con gái số 0987654321 buổi tối"


@pytest.fixture
def listed(factory: sessionmaker[Session], programme_id: int) -> sessionmaker[Session]:
    return seed_listed(factory, programme_id)


def _answers(factory: sessionmaker[Session], programme_id: int) -> dict[str, Any]:
    form = surveys.survey_form(factory, programme_id)
    typed = {}
    for q in form.definition.questions:
        typed[q.key] = {"scale": "4", "single": "1", "multiple": "1"}.get(q.kind, SUGGESTION)
    return surveys.parse_typed_answers(form.definition, typed)


@pytest.fixture
def worked(listed: sessionmaker[Session], programme_id: int) -> sessionmaker[Session]:
    """The small batch with a collected profile, a survey with a free-text answer and a
    handover with a note: every kind of personal data a programme holds."""
    profiles.record_profile(listed, DUNG, name="Phạm Thị Dung", id_text="031180001234",
                            birth_text="05/09/1980", address="12 Lê Lợi, Hồng Bàng",
                            actor=ADMIN)
    for item in ("balo-keo", "hop-thuc-pham", "o-2-khuc"):
        stock.move_stock(listed, "receive", item, 5, actor=ADMIN, reason="Nhận từ KV5")
        stock.move_stock(listed, "receive", item, 5, actor=ADMIN, location=STORE,
                         reason="Nhận từ KV5")
    record_handover(listed, AN, actor=ADMIN, note="Vợ ông nhận hộ, CCCD 031080001234")
    surveys.save_response(listed, programme_id, AN, _answers(listed, programme_id),
                          actor=ADMIN)
    with listed.begin() as session:
        sub = session.scalar(select(Subscriber).where(Subscriber.msisdn == AN))
        assert sub is not None
        sub.contact_number = "0987654321"
        sub.birth_date = dt.date(1975, 1, 2)
    return listed


def _last(factory: sessionmaker[Session]) -> AuditEntry:
    with factory() as session:
        entry = session.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1))
        assert entry is not None
        session.expunge(entry)
        return entry


# --------------------------------------------------------------------------- office setting


def test_masking_is_on_by_default_and_only_an_admin_turns_it_off(
        factory: sessionmaker[Session]) -> None:
    assert dp.masking_on(factory) is True
    with pytest.raises(PermissionProblem, match="Quản trị"):
        dp.set_office_setting(factory, HEAD, "mask_personal", False)
    with pytest.raises(UsageError):
        dp.set_office_setting(factory, ADMIN, "mask_personal", "no")
    with pytest.raises(UsageError):
        dp.office_setting(factory, "colour")
    assert dp.set_office_setting(factory, ADMIN, "mask_personal", False) is False
    assert dp.masking_on(factory) is False
    entry = _last(factory)
    assert (entry.action, entry.user) == ("office_setting", ADMIN.name)
    assert entry.before == {"key": "mask_personal", "value": True}
    assert entry.after == {"key": "mask_personal", "value": False}
    # Setting the same value again writes nothing.
    dp.set_office_setting(factory, ADMIN, "mask_personal", False)
    assert _last(factory).id == entry.id


# --------------------------------------------------------------------------- exports


def test_care_list_export_is_audited_without_the_numbers(listed: sessionmaker[Session],
                                                         tmp_path: Path) -> None:
    out = tmp_path / "ds.csv"
    result = export_care_list(listed, out, actor=ADMIN)
    entry = _last(listed)
    assert (entry.action, entry.entity, entry.user) == ("export", "file", ADMIN.name)
    assert entry.after == {"kind": "care_list", "file": "ds.csv", "rows": result.rows,
                           "role": "admin", "filters": {}}
    assert entry.summary == f"Danh sách chăm sóc: ds.csv, {result.rows} dòng"
    for number in {**GROUP1, **GROUP2}:
        assert number not in entry.summary and number not in str(entry.after)


def test_a_head_exports_only_his_district_and_a_clerk_his_store(
        listed: sessionmaker[Session], tmp_path: Path) -> None:
    head = export_care_list(listed, tmp_path / "head.xlsx", actor=HEAD)
    districts = {row[5].value for row in openpyxl.load_workbook(
        tmp_path / "head.xlsx").active.iter_rows(min_row=2)}
    assert districts == {"Hồng Bàng"} and head.rows == 1
    assert "(quận/huyện Hồng Bàng)" in _last(listed).summary
    clerk = export_care_list(listed, tmp_path / "clerk.csv", actor=CLERK)
    assert clerk.rows == 15  # everyone at the Lê Chân store, none of Hồng Bàng
    # Naming another's district or store is refused with a sentence, and nothing written.
    with pytest.raises(PermissionProblem, match="Lê Chân không thuộc quận/huyện Hồng Bàng"):
        export_care_list(listed, tmp_path / "x.csv", district="Lê Chân", actor=HEAD)
    with pytest.raises(PermissionProblem, match="không thuộc cửa hàng"):
        export_care_list(listed, tmp_path / "x.csv", store="Cửa hàng Hồng Bàng", actor=CLERK)
    assert not (tmp_path / "x.csv").exists()
    # His own district named in any spelling is fine.
    assert export_care_list(listed, tmp_path / "own.csv", district="quan hong bang",
                            actor=HEAD).rows == 1


def test_a_viewer_may_not_export_personal_data(listed: sessionmaker[Session],
                                               tmp_path: Path) -> None:
    tmp_path = tmp_path / "out"
    tmp_path.mkdir()
    for call in (
        lambda: export_care_list(listed, tmp_path / "a.csv", actor=VIEWER),
        lambda: export_regional(listed, tmp_path / "b.xlsx", actor=VIEWER),
        lambda: sms.export_sms(listed, tmp_path / "c.csv", batch=1, actor=VIEWER),
        lambda: profiles.export_profiles(listed, tmp_path / "d.csv", actor=VIEWER),
        lambda: printing.print_documents(listed, "receipts", tmp_path / "e.pdf", batch=1,
                                         actor=VIEWER),
        lambda: write_report(listed, "stock", tmp_path / "f.xlsx", actor=VIEWER),
    ):
        with pytest.raises(PermissionProblem, match="không được xuất hoặc in thông tin cá nhân"):
            call()
    assert not list(tmp_path.iterdir())
    # Counts only: the viewer may.
    assert write_report(listed, "progress", tmp_path / "p.xlsx", actor=VIEWER).rows > 0


def test_the_regional_workbook_is_the_whole_programme_s(listed: sessionmaker[Session],
                                                          tmp_path: Path) -> None:
    with pytest.raises(PermissionProblem, match="chỉ quản trị xuất được"):
        export_regional(listed, tmp_path / "kv5.xlsx", actor=HEAD)


def test_regional_workbook_prints_the_chain_head(listed: sessionmaker[Session],
                                                 tmp_path: Path) -> None:
    dp.set_office_setting(listed, ADMIN, "mask_personal", False)  # something in the log
    with listed() as session:
        line, head = audit.latest(session)
    assert line > 0 and len(head) == 64
    out = tmp_path / "kv5.xlsx"
    result = export_regional(listed, out, actor=ADMIN)
    about = {row[0].value: row[1].value for row in
             openpyxl.load_workbook(out)["ThongTin"].iter_rows(min_row=2)}
    assert about["Nhật ký thao tác đến dòng"] == line == result.audit_line
    assert about["SHA-256 nhật ký thao tác"] == head == result.audit_hash
    assert about["Người xuất"] == ADMIN.name
    entry = _last(listed)
    assert entry.id == line + 1 and entry.after is not None
    assert entry.after["kind"] == "regional" and entry.after["rows"] == result.rows["ChiTiet"]


def test_sms_print_profile_and_survey_exports_are_scoped_and_audited(
        worked: sessionmaker[Session], programme_id: int, tmp_path: Path) -> None:
    assert sms.export_sms(worked, tmp_path / "sms.csv", batch=1, actor=HEAD).messages == 1
    assert _last(worked).after["kind"] == "sms"  # type: ignore[index]
    printed = printing.print_documents(worked, "receipts", tmp_path / "bb.pdf", batch=1,
                                       actor=HEAD)
    assert printed.documents == 1
    entry = _last(worked)
    assert entry.action == "print" and "bb.pdf" in entry.summary and "trang" in entry.summary
    with pytest.raises(PermissionProblem):
        printing.print_documents(worked, "receipts", tmp_path / "x.pdf", batch=1,
                                 district="Lê Chân", actor=HEAD)
    # The profile (Hồng Bàng) is the head's; the clerk of the Lê Chân store gets none.
    assert profiles.export_profiles(worked, tmp_path / "p.csv", actor=CLERK).rows == 0
    assert profiles.export_profiles(worked, tmp_path / "p.csv", actor=HEAD).rows == 1
    entry = _last(worked)
    assert entry.after is not None and (entry.after["kind"], entry.after["rows"]) == (
        "profiles", 1)
    # iCRM needs the ID number whole.
    assert "031180001234" in (tmp_path / "p.csv").read_text(encoding="utf-8-sig")
    assert surveys.export_responses(worked, tmp_path / "s.csv", programme_id,
                                    actor=HEAD).rows == 0
    assert surveys.export_responses(worked, tmp_path / "s.csv", programme_id,
                                    actor=CLERK).rows == 1
    assert _last(worked).after["kind"] == "survey_answers"  # type: ignore[index]


def test_the_survey_report_masks_numbers_unless_the_office_says_not(
        worked: sessionmaker[Session], tmp_path: Path) -> None:
    write_report(worked, "survey", tmp_path / "ks.xlsx", actor=ADMIN)
    cells = [c.value for row in openpyxl.load_workbook(tmp_path / "ks.xlsx")["KhaoSat_TuLuan"]
             .iter_rows(min_row=2) for c in row]
    assert "0901 *** 001" in cells and AN not in cells
    entry = _last(worked)
    assert entry.after is not None and entry.after["kind"] == "report_survey"
    dp.set_office_setting(worked, ADMIN, "mask_personal", False)
    write_report(worked, "survey", tmp_path / "ks2.xlsx", actor=ADMIN)
    cells = [c.value for row in openpyxl.load_workbook(tmp_path / "ks2.xlsx")["KhaoSat_TuLuan"]
             .iter_rows(min_row=2) for c in row]
    assert AN in cells


# --------------------------------------------------------------------------- close and purge


def _personal(factory: sessionmaker[Session]) -> dict[str, Any]:
    with factory() as session:
        profile = session.scalar(select(ProfileCollection))
        response = session.scalar(select(SurveyResponse))
        handover = session.scalar(select(Handover))
        an = session.scalar(select(Subscriber).where(Subscriber.msisdn == AN))
        assert profile and response and handover and an
        return {"profile": (profile.name, profile.id_number, profile.birth_date,
                            profile.address),
                "answers": dict(response.answers), "note": handover.note,
                "an": (an.name, an.id_number, an.address, an.contact_number, an.birth_date),
                "search": sorted(c.search_name or "" for c in session.scalars(
                    select(CareCase)))}


def _regional_counts(factory: sessionmaker[Session], out: Path) -> list[tuple[Any, ...]]:
    export_regional(factory, out, actor=ADMIN)
    book = openpyxl.load_workbook(out)
    return [tuple(c.value for c in row) for sheet in ("TongHop", "KhoQua", "KhaoSat")
            for row in book[sheet].iter_rows()]


def test_purge_needs_a_closed_programme_and_an_admin(worked: sessionmaker[Session],
                                                     programme_id: int) -> None:
    with pytest.raises(PermissionProblem):
        dp.purge_personal_data(worked, HEAD, programme_id)
    with pytest.raises(RuleError, match="còn đang mở: đóng chương trình trước"):
        dp.purge_personal_data(worked, ADMIN, programme_id)
    with pytest.raises(PermissionProblem):
        dp.close_programme(worked, CLERK, programme_id)
    closed = dp.close_programme(worked, ADMIN, programme_id)
    assert closed.changed and closed.status == "closed"
    assert _last(worked).action == "close_programme"
    assert not dp.close_programme(worked, ADMIN, programme_id).changed


def test_purge_erases_personal_data_and_keeps_every_count(
        worked: sessionmaker[Session], programme_id: int, tmp_path: Path) -> None:
    before = _personal(worked)
    assert before["profile"][1] == "031180001234" and before["note"]
    assert SUGGESTION in before["answers"].values()
    progress = progress_report(worked, programme_id, made_on=dt.date(2017, 6, 1))
    regional = _regional_counts(worked, tmp_path / "before.xlsx")
    dp.close_programme(worked, ADMIN, programme_id)
    preview = dp.purge_preview(worked, ADMIN, programme_id)
    assert (preview.care_cases, preview.profiles, preview.survey_responses) == (16, 1, 1)
    assert preview.subscribers == 16 and preview.subscribers_kept == 0
    assert "Không hoàn tác được" in preview.text and "16 hồ sơ chăm sóc" in preview.text

    result = dp.purge_personal_data(worked, ADMIN, programme_id)
    assert (result.profiles, result.survey_answers, result.subscribers) == (1, 1, 16)
    assert result.notes >= 1 and result.care_cases_kept == 16 and not result.already
    after = _personal(worked)
    assert after["profile"] == ("", "", dp.ERASED_BIRTH_DATE, "")
    assert SUGGESTION not in after["answers"].values()
    assert dp.ERASED_ANSWER in after["answers"].values()
    assert after["answers"]["overall"] == before["answers"]["overall"]  # scores kept
    assert after["note"] == ""
    assert after["an"] == (None, None, None, None, None)
    assert set(after["search"]) == {""}
    # The anonymous counts are the same.
    assert progress_report(worked, programme_id, made_on=dt.date(2017, 6, 1)) == progress
    assert _regional_counts(worked, tmp_path / "after.xlsx") == regional
    with worked() as session:
        programme = session.get(Programme, programme_id)
        assert programme is not None and programme.purged_at is not None
    entry = _last(worked)
    purge_entry = next(e for e in audit.entries(worked, programme_id=programme_id)
                       if e.action == "purge_personal_data")
    assert purge_entry.after == {"profiles": 1, "survey_answers": 1, "notes": result.notes,
                                 "subscribers": 16, "care_cases_kept": 16}
    # The chain still holds: the purge appended, it did not rewrite.
    assert audit.verify_chain(worked) == []

    # Again: nothing to erase, no second entry.
    again = dp.purge_personal_data(worked, ADMIN, programme_id)
    assert again.already and again.profiles == 0
    assert _last(worked).id == entry.id


def test_a_subscriber_still_in_an_open_programme_keeps_his_data(
        worked: sessionmaker[Session], programme_id: int) -> None:
    from mbfcare.services.programmes import create_programme, default_programme_spec

    other = create_programme(worked, default_programme_spec(), actor=ADMIN)
    with worked.begin() as session:
        case = session.scalar(select(CareCase).join(
            Subscriber, Subscriber.id == CareCase.subscriber_id).where(Subscriber.msisdn == AN))
        assert case is not None
        other_batch = session.get(Programme, other)
        assert other_batch is not None
        session.add(CareCase(
            programme_id=other, batch_id=other_batch.batches[0].id,
            subscriber_id=case.subscriber_id, state="listed", reason_code="ok",
            basis=case.basis, cycle_1=case.cycle_1, cycle_2=case.cycle_2,
            cycle_3=case.cycle_3, charge_1=case.charge_1, charge_2=case.charge_2,
            charge_3=case.charge_3, aggregation=case.aggregation, rule_version=1,
            subscriber_type=case.subscriber_type, subscriber_status=case.subscriber_status))
    dp.close_programme(worked, ADMIN, programme_id)
    assert dp.purge_preview(worked, ADMIN, programme_id).subscribers_kept == 1
    result = dp.purge_personal_data(worked, ADMIN, programme_id)
    assert result.subscribers == 15
    assert _personal(worked)["an"][0] == "Nguyễn Văn An"


def test_numbers_typed_in_notes_are_masked_in_the_regional_workbook(
        listed: sessionmaker[Session], tmp_path: Path) -> None:
    with listed.begin() as session:
        for case in session.scalars(select(CareCase)):
            case.decision_note = "KH hẹn gọi lại số 0987654321"
    export_regional(listed, tmp_path / "kv5.xlsx", actor=ADMIN)
    sheet = openpyxl.load_workbook(tmp_path / "kv5.xlsx")["ChiTiet"]
    notes = {row[-1] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert notes and all("0987 *** 321" in (n or "") for n in notes)
    assert not any("0987654321" in (n or "") for n in notes)
