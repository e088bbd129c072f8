"""SMS lists: who gets which message, the gateway files, marking step 1, templates, opt-out."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.domain.actors import Actor
from mbfcare.domain.sms import GSM7, UCS2, default_templates, sms_parts
from mbfcare.errors import NotFoundError, RuleError, UsageError, ValidationError
from mbfcare.models import AuditEntry, Batch, CareCase, CareStep, Programme, Subscriber
from mbfcare.services import care_work as cw
from mbfcare.services import sms, stock
from tests.care_data import GAP, GROUP1, GROUP2, STORE, seed_listed

KT = Actor("Kiểm thử")  # who exports in these tests (an administrator)

LAN = Actor("Lan", "admin")
HA = Actor("Hà", "clerk")
G1 = sorted(GROUP1)
G2 = sorted(GROUP2)
DEADLINE = dt.date(2017, 3, 31)


@pytest.fixture
def listed(factory: sessionmaker[Session], programme_id: int) -> sessionmaker[Session]:
    return seed_listed(factory, programme_id)


def _by_number(batch: sms.SmsBatchDTO) -> dict[str, sms.SmsRowDTO]:
    return {row.msisdn: row for row in batch.rows}


def _sms_steps(factory: sessionmaker[Session]) -> dict[str, dt.date]:
    with factory() as session:
        found = session.execute(
            select(Subscriber.msisdn, CareStep.done_on)
            .join(CareCase, CareCase.subscriber_id == Subscriber.id)
            .join(CareStep, CareStep.care_case_id == CareCase.id)
            .where(CareStep.step == "sms")).all()
    return dict(found)


def test_group_1_gets_the_notice_and_group_2_the_invitation(
        listed: sessionmaker[Session], programme_id: int) -> None:
    batch = sms.sms_preview(listed, programme_id, 1, deadline=DEADLINE)
    rows = _by_number(batch)
    assert set(rows) == set(GROUP1) | set(GROUP2)
    assert GAP.keys().isdisjoint(rows)
    for number in GROUP1:
        row = rows[number]
        assert (row.kind, row.group, row.delivery) == ("notice", 1, "visit")
        assert GROUP1[number][0] in row.message
        assert "Balo kéo du lịch" in row.message
        assert "trao quà tận nơi" in row.message
    for number in GROUP2:
        row = rows[number]
        assert (row.kind, row.group) == ("invitation", 2)
        assert STORE in row.message
        assert "31/03/2017" in row.message
    assert rows[G1[0]].number == "84" + G1[0][1:]
    assert batch.messages == 15
    assert batch.by_kind == {"notice": 3, "invitation": 12}
    assert batch.skipped == 1
    assert batch.skipped_by_reason == {"awaiting_group": 1}
    assert batch.opted_out == 0
    # Sorted by group, then the given name.
    assert [r.group for r in batch.rows] == [1] * 3 + [2] * 12
    assert [r.name for r in batch.rows[:3]] == ["Nguyễn Văn An", "Phạm Thị Dung",
                                                "Hoàng Văn Giang"]


def test_counts_and_totals(listed: sessionmaker[Session], programme_id: int) -> None:
    with_marks = sms.sms_preview(listed, programme_id, 1, deadline=DEADLINE)
    plain = sms.sms_preview(listed, programme_id, 1, deadline=DEADLINE, diacritics=False)
    for batch in (with_marks, plain):
        for row in batch.rows:
            assert row.parts == sms_parts(row.message)
        assert batch.parts == sum(sms_parts(r.message) for r in batch.rows)
    assert with_marks.encoding_counts == {GSM7: 0, UCS2: 15}
    assert plain.encoding_counts == {GSM7: 15, UCS2: 0}
    assert all(r.message.isascii() for r in plain.rows)
    assert plain.rows[0].message.startswith("MobiFone tran trong gui Quy khach Nguyen Van An")
    assert with_marks.parts_without_diacritics == plain.parts
    assert plain.parts < with_marks.parts
    limited = sms.sms_preview(listed, programme_id, 1, deadline=DEADLINE, limit=2)
    assert len(limited.rows) == 2 and limited.messages == 15
    assert limited.parts == with_marks.parts


def test_the_deadline_defaults_to_today_plus_the_days(listed: sessionmaker[Session],
                                                      programme_id: int) -> None:
    batch = sms.sms_preview(listed, programme_id, 1)
    expected = cw.local_today() + dt.timedelta(days=default_templates().deadline_days)
    assert batch.deadline == expected
    assert expected.strftime("%d/%m/%Y") in batch.rows[0].message


def test_opted_out_closed_and_met_entries_get_none(listed: sessionmaker[Session],
                                                   programme_id: int) -> None:
    opted = sms.set_sms_opt_out(listed, "84" + G2[0][1:], True, actor=HA)
    assert (opted.opt_out, opted.changed, opted.msisdn) == (True, True, G2[0])
    cw.record_outcome(listed, G2[1], "refused", actor=HA)
    stock.move_stock(listed, "receive", "o-2-khuc", 1, actor=LAN, location=STORE)
    cw.record_handover(listed, G2[2], actor=HA, item_code="o-2-khuc")
    batch = sms.sms_preview(listed, programme_id, 1, deadline=DEADLINE)
    rows = _by_number(batch)
    assert {G2[0], G2[1], G2[2]}.isdisjoint(rows)
    assert batch.messages == 12
    assert batch.opted_out == 1
    assert batch.skipped_by_reason == {"awaiting_group": 1, "closed": 1, "met": 1}
    assert batch.skipped == 3
    assert [o.msisdn for o in sms.opted_out_subscribers(listed)] == [G2[0]]
    # Taking SMS again puts them back.
    again = sms.set_sms_opt_out(listed, G2[0], False, actor=HA)
    assert again.changed and not again.opt_out
    assert G2[0] in _by_number(sms.sms_preview(listed, programme_id, 1))


def test_opt_out_is_audited_and_idempotent(listed: sessionmaker[Session]) -> None:
    sms.set_sms_opt_out(listed, G1[0], True, actor=HA)
    repeat = sms.set_sms_opt_out(listed, G1[0], True, actor=HA)
    assert not repeat.changed
    assert "Đã có sẵn" in repeat.text
    with listed() as session:
        entries = session.scalars(select(AuditEntry).where(
            AuditEntry.action == "sms_opt_out")).all()
        assert len(entries) == 1
        assert (entries[0].before, entries[0].after, entries[0].user) == (
            {"sms_opt_out": False}, {"sms_opt_out": True}, "Hà")
    with pytest.raises(NotFoundError):
        sms.set_sms_opt_out(listed, "0909999999", True, actor=HA)
    with pytest.raises(UsageError):
        sms.set_sms_opt_out(listed, "12ab", True, actor=HA)
    with pytest.raises(RuleError):
        sms.set_sms_opt_out(listed, G1[0], False, actor=Actor("Xem", "viewer"))


def test_csv_for_the_gateway(listed: sessionmaker[Session], programme_id: int,
                             tmp_path: Path) -> None:
    sms.update_sms_templates(
        listed, programme_id, notice='Chào {ten}, quà "{qua}" sẽ tới trước {han}.',
        invitation="Mời {ten} đến {cua_hang}, hạn {han}.", deadline_days=10, actor=LAN)
    out = tmp_path / "sms.csv"
    result = sms.export_sms(listed, out, programme_id=programme_id, batch=1, deadline=DEADLINE,
                            actor=KT)
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfSo thue bao,Noi dung\r\n")
    with out.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["So thue bao", "Noi dung"]
    body = {number: message for number, message in rows[1:]}
    assert len(body) == 15 == result.messages
    assert all(n.startswith("84") and len(n) == 11 for n in body)
    assert body["84" + G1[0][1:]] == 'Chào Nguyễn Văn An, quà "Balo kéo du lịch" sẽ tới ' \
        "trước 31/03/2017."
    assert body["84" + G2[0][1:]] == f"Mời Khách Hàng Số 1 đến {STORE}, hạn 31/03/2017."
    # Commas and quotes are quoted, the quote doubled.
    assert '"Chào Nguyễn Văn An, quà ""Balo kéo du lịch""' in raw.decode("utf-8-sig")
    assert result.to_json()["file"] == str(out)
    assert result.format == "csv"
    assert result.encoding_counts == {GSM7: 0, UCS2: 15}
    assert not list(tmp_path.glob(".*tmp*"))


def test_xlsx_for_the_gateway_keeps_numbers_as_text(listed: sessionmaker[Session],
                                                    programme_id: int,
                                                    tmp_path: Path) -> None:
    out = tmp_path / "sms.xlsx"
    result = sms.export_sms(listed, out, batch=1, diacritics=False, deadline=DEADLINE,
                            actor=LAN)
    book = openpyxl.load_workbook(out)
    ws = book.active
    assert ws is not None
    assert [c.value for c in ws[1]] == ["So thue bao", "Noi dung"]
    assert ws.max_row == 16
    cell = ws.cell(row=2, column=1)
    assert cell.data_type == "s"
    assert cell.value == "84" + G1[0][1:]
    assert ws.cell(row=2, column=2).value.startswith("MobiFone tran trong")
    assert ws.cell(row=2, column=2).data_type == "s"
    assert result.parts == sum(sms_parts(ws.cell(row=r, column=2).value)
                               for r in range(2, 17))
    assert result.to_json()["encoding_counts"] == {GSM7: 15, UCS2: 0}
    with listed() as session:
        entry = session.scalars(select(AuditEntry).where(
            AuditEntry.action == "export")).one()
        assert entry.entity == "file" and entry.after is not None
        assert (entry.after["kind"], entry.after["rows"], entry.after["file"]) == (
            "sms", 15, out.name)
        assert "15 tin" in entry.summary and "84" + G1[0][1:] not in entry.summary


def test_export_refusals(listed: sessionmaker[Session], programme_id: int,
                         tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        sms.export_sms(listed, tmp_path / "sms.txt", batch=1, actor=KT)
    with pytest.raises(UsageError):
        sms.export_sms(listed, tmp_path / "missing" / "sms.csv", batch=1, actor=KT)
    with pytest.raises(NotFoundError):
        sms.export_sms(listed, tmp_path / "sms.csv", batch=9, actor=KT)
    with pytest.raises(RuleError, match="classify"):
        sms.export_sms(listed, tmp_path / "sms.csv", batch=2, actor=KT)
    assert not (tmp_path / "sms.csv").exists()


def test_mark_sent_records_step_1_for_exactly_those_and_is_idempotent(
        listed: sessionmaker[Session], programme_id: int) -> None:
    sms.set_sms_opt_out(listed, G2[0], True, actor=HA)
    cw.record_outcome(listed, G2[1], "unreachable", actor=HA)
    day = cw.local_today() - dt.timedelta(days=1)
    result = sms.mark_sms_sent(listed, batch=1, on=day, actor=HA)
    assert (result.recorded, result.already, result.refused) == (13, 0, ())
    steps = _sms_steps(listed)
    assert set(steps) == (set(GROUP1) | set(GROUP2)) - {G2[0], G2[1]}
    assert set(steps.values()) == {day}
    assert "13 KH" in result.text
    with listed() as session:
        sources = session.scalars(select(AuditEntry.summary).where(
            AuditEntry.action == "record_step")).all()
        assert len(sources) == 13
        assert all("danh sách SMS đợt 1" in s for s in sources)
    again = sms.mark_sms_sent(listed, batch=1, on=day, actor=HA)
    assert (again.recorded, again.already) == (0, 13)
    assert _sms_steps(listed) == steps
    # The list knows who already had theirs.
    preview = sms.sms_preview(listed, programme_id, 1)
    assert preview.already_sent == 13
    assert all(r.sent_on == day for r in preview.rows)
    assert sms.sms_preview(listed, programme_id, 1, unsent_only=True).messages == 0


def test_mark_sent_refusals(listed: sessionmaker[Session]) -> None:
    with pytest.raises(UsageError):
        sms.mark_sms_sent(listed, batch=1, on=cw.local_today() + dt.timedelta(days=1),
                          actor=HA)
    with pytest.raises(RuleError):
        sms.mark_sms_sent(listed, batch=1, actor=Actor("Xem", "viewer"))
    assert _sms_steps(listed) == {}


def test_mark_sent_for_one_group(listed: sessionmaker[Session]) -> None:
    result = sms.mark_sms_sent(listed, batch=1, group=1, actor=HA)
    assert result.recorded == 3
    assert set(_sms_steps(listed)) == set(GROUP1)


def test_templates_default_then_updated_with_audit(listed: sessionmaker[Session],
                                                   programme_id: int) -> None:
    current = sms.sms_templates(listed, programme_id)
    defaults = default_templates()
    assert current.is_default
    assert (current.notice, current.invitation, current.deadline_days) == (
        defaults.notice, defaults.invitation, defaults.deadline_days)
    assert dict(current.placeholders)["cua_hang"] == "Cửa hàng nhận quà"
    updated = sms.update_sms_templates(
        listed, programme_id, notice="  MobiFone tặng {ten} {qua}, hạn {han}. ",
        invitation="Mời {tên} tới {cửa hàng} trước {han}.", deadline_days=30, actor=LAN)
    assert not updated.is_default
    assert updated.notice == "MobiFone tặng {ten} {qua}, hạn {han}."
    assert updated.default_notice == defaults.notice
    assert sms.sms_templates(listed) == updated
    with listed() as session:
        entry = session.scalars(select(AuditEntry).where(
            AuditEntry.action == "update_sms_templates")).one()
        assert entry.before is not None and entry.after is not None
        assert entry.before["notice"] == defaults.notice
        assert entry.after == {"notice": updated.notice, "invitation": updated.invitation,
                               "deadline_days": 30}
        assert "hạn nhận quà 20 → 30 ngày" in entry.summary
        programme = session.get(Programme, programme_id)
        assert programme is not None and programme.extra["sms"]["deadline_days"] == 30
    # Saving the same again writes nothing.
    sms.update_sms_templates(listed, programme_id, notice=updated.notice,
                             invitation=updated.invitation, deadline_days=30, actor=LAN)
    with listed() as session:
        assert len(session.scalars(select(AuditEntry).where(
            AuditEntry.action == "update_sms_templates")).all()) == 1
    preview = sms.sms_preview(listed, programme_id, 1)
    expected = cw.local_today() + dt.timedelta(days=30)
    assert preview.rows[0].message == (f"MobiFone tặng Nguyễn Văn An Balo kéo du lịch, hạn "
                                       f"{expected:%d/%m/%Y}.")
    assert preview.rows[3].message.startswith(f"Mời Khách Hàng Số 1 tới {STORE} trước")


def test_bad_templates_are_refused_and_nothing_changes(listed: sessionmaker[Session],
                                                       programme_id: int) -> None:
    with pytest.raises(ValidationError, match=r"nhóm 2.*\{ngay\}"):
        sms.update_sms_templates(listed, programme_id, notice="Chào {ten}",
                                 invitation="Hạn {ngay} {ten}", deadline_days=10, actor=LAN)
    with pytest.raises(ValidationError):
        sms.update_sms_templates(listed, programme_id, notice="Chào {ten}",
                                 invitation="Mời {ten}", deadline_days=0, actor=LAN)
    with pytest.raises(RuleError):
        sms.update_sms_templates(listed, programme_id, notice="Chào {ten}",
                                 invitation="Mời {ten}", deadline_days=10, actor=HA)
    assert sms.sms_templates(listed, programme_id).is_default
    with listed() as session:
        assert session.scalars(select(AuditEntry).where(
            AuditEntry.action == "update_sms_templates")).all() == []


def test_group_2_without_a_known_store_is_invited_to_the_nearest(
        listed: sessionmaker[Session], programme_id: int) -> None:
    with listed.begin() as session:
        batch_id = session.scalar(select(Batch.id).where(Batch.programme_id == programme_id,
                                                         Batch.number == 1))
        case = session.scalars(select(CareCase).join(
            Subscriber, Subscriber.id == CareCase.subscriber_id).where(
            Subscriber.msisdn == G2[0], CareCase.batch_id == batch_id)).one()
        case.store = None
    row = _by_number(sms.sms_preview(listed, programme_id, 1))[G2[0]]
    assert "cửa hàng MobiFone gần nhất" in row.message
