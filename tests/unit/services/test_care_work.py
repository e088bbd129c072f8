"""Recording the care: handovers (one per subscriber, by the database), stock, owed gifts,
steps, outcomes, corrections and the audit entries behind each."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from tamper import run_sql

from mbfcare.domain.actors import Actor
from mbfcare.domain.codes import entry_code
from mbfcare.errors import NotFoundError, RuleError, UsageError
from mbfcare.models import AuditEntry, CareCase, CareStep, Handover, StockBalance
from mbfcare.services import audit, stock
from mbfcare.services import care_work as cw
from tests.care_data import GAP, GROUP1, GROUP2, STORE, seed_listed
from tests.print_data import printed_code

LAN = Actor("Lan", "admin")
HA = Actor("Hà", "clerk")
D = dt.date
G2 = sorted(GROUP2)
G1 = sorted(GROUP1)


@pytest.fixture
def listed(factory: sessionmaker[Session], programme_id: int) -> sessionmaker[Session]:
    seed_listed(factory, programme_id)
    stock.move_stock(factory, "receive", "o-2-khuc", 3, actor=LAN, location=STORE)
    stock.move_stock(factory, "receive", "balo-keo", 2, actor=LAN)
    return factory


def _on_hand(factory: sessionmaker[Session], code: str, location: str) -> int:
    rows = {(b.item_code, b.location): b.on_hand for b in stock.balances(factory)}
    return rows.get((code, location), 0)


def _case(factory: sessionmaker[Session], msisdn: str) -> CareCase:
    with factory() as session:
        case = cw.find_case(session, None, msisdn)
        session.expunge(case)
        return case


def test_handover_takes_one_item_and_records_the_step(listed: sessionmaker[Session]) -> None:
    result = cw.record_handover(listed, "84" + G2[0][1:], actor=HA, item_code="o-2-khuc")
    assert result.status == "given"
    assert result.location == STORE
    assert result.on_hand == 2
    assert _on_hand(listed, "o-2-khuc", STORE) == 2
    case = _case(listed, G2[0])
    assert case.handover_on == cw.local_today()
    assert case.handed_over_at is not None
    assert case.has_work is True
    with listed() as session:
        step = session.scalar(select(CareStep).where(CareStep.care_case_id == case.id))
        assert step is not None and (step.step, step.value, step.done_by) == (
            "handover", "o-2-khuc", "Hà")
        movement = stock.ledger(listed, kind="handover")[0]
        assert (movement.quantity, movement.msisdn, movement.by) == (-1, G2[0], "Hà")


def test_second_handover_refused_naming_the_first(listed: sessionmaker[Session]) -> None:
    cw.record_handover(listed, G2[0], actor=HA, item_code="o-2-khuc", by="Phạm Thu Hà")
    with pytest.raises(cw.AlreadyHandedOver) as refused:
        cw.record_handover(listed, G2[0], actor=HA, item_code="hop-thuc-pham")
    message = str(refused.value)
    assert f"ngày {cw.local_today():%d/%m/%Y} lúc " in message
    assert f"tại {STORE}, người trao: Phạm Thu Hà — không trao lần hai." in message
    assert refused.value.exit_code == 4
    assert _on_hand(listed, "o-2-khuc", STORE) == 2  # nothing more taken


def test_the_database_itself_refuses_a_second_handover(listed: sessionmaker[Session]) -> None:
    cw.record_handover(listed, G2[0], actor=HA, item_code="o-2-khuc")
    with listed.begin() as session, pytest.raises(IntegrityError):
        first = session.scalar(select(Handover))
        assert first is not None
        session.execute(insert(Handover).values(
            programme_id=first.programme_id, subscriber_id=first.subscriber_id,
            care_case_id=first.care_case_id, item_id=first.item_id,
            location_id=first.location_id, status="given", given_by="", note="",
            recorded_by="x", recorded_at=dt.datetime.now(dt.UTC)))


def test_stock_never_below_zero_in_the_database(listed: sessionmaker[Session]) -> None:
    with listed.begin() as session, pytest.raises(IntegrityError):
        session.execute(update(StockBalance).values(on_hand=-1))


def test_out_of_stock_then_owed_then_given(listed: sessionmaker[Session]) -> None:
    for number in G2[:3]:
        cw.record_handover(listed, number, actor=HA, item_code="o-2-khuc")
    with pytest.raises(RuleError, match="đã hết Ô 2 khúc"):
        cw.record_handover(listed, G2[3], actor=HA, item_code="o-2-khuc")
    assert _case(listed, G2[3]).handover_on is None
    promised = cw.local_today() + dt.timedelta(days=5)
    owed = cw.record_handover(listed, G2[3], actor=HA, item_code="o-2-khuc", owed=True,
                              promised_on=promised, note="hẹn thứ Hai")
    assert (owed.status, owed.promised_on) == ("owed", promised)
    listed_owed = stock.owed_gifts(listed, location="le chan")
    assert [(o.msisdn, o.promised_on, o.note) for o in listed_owed] == [
        (G2[3], promised, "hẹn thứ Hai")]
    assert {(b.location, b.owed) for b in stock.balances(listed) if b.item_code == "o-2-khuc"} \
        == {(STORE, 1)}
    # A second visit before the gift arrives is not a second gift.
    with pytest.raises(cw.AlreadyHandedOver, match="Đã ghi nợ quà"):
        cw.record_handover(listed, G2[3], actor=HA, item_code="o-2-khuc")
    with pytest.raises(RuleError, match="đã hết"):
        cw.give_owed(listed, G2[3], actor=HA)
    stock.move_stock(listed, "receive", "o-2-khuc", 1, actor=LAN, location=STORE)
    given = cw.give_owed(listed, G2[3], actor=HA)
    assert (given.status, given.on_hand) == ("given", 0)
    assert stock.owed_gifts(listed) == []
    case = _case(listed, G2[3])
    assert (case.gift_owed, case.handover_on) == (False, cw.local_today())


def test_owed_promise_cannot_be_in_the_past(listed: sessionmaker[Session]) -> None:
    with pytest.raises(UsageError, match="đã qua"):
        cw.record_handover(listed, G2[0], actor=HA, item_code="o-2-khuc", owed=True,
                           promised_on=cw.local_today() - dt.timedelta(days=1))


def test_item_must_match_the_group_and_be_chosen(listed: sessionmaker[Session]) -> None:
    with pytest.raises(UsageError, match="cần chọn"):
        cw.record_handover(listed, G2[0], actor=HA)
    with pytest.raises(RuleError, match="không nhận Balo"):
        cw.record_handover(listed, G2[0], actor=HA, item_code="balo-keo")
    # group 1 has one item: no choice needed, taken from the warehouse for a home visit
    result = cw.record_handover(listed, G1[0], actor=LAN, by="Trưởng MF Lê Chân")
    assert (result.item_code, result.location, result.on_hand) == ("balo-keo", "Kho", 1)


def test_gap_case_and_strangers_get_no_handover(listed: sessionmaker[Session]) -> None:
    with pytest.raises(RuleError, match="chờ quyết định nhóm"):
        cw.record_handover(listed, next(iter(GAP)), actor=LAN)
    with pytest.raises(NotFoundError, match="Không có thuê bao 0909 999 999"):
        cw.record_handover(listed, "0909999999", actor=LAN)
    with pytest.raises(UsageError):
        cw.record_handover(listed, "không phải số", actor=LAN)


def test_printed_code_names_the_entry(listed: sessionmaker[Session]) -> None:
    case = _case(listed, G2[1])
    code = printed_code(listed, "receipt", case.programme_id, case.id)
    result = cw.record_handover(listed, code, actor=HA, item_code="hop-thuc-pham",
                                location=None, owed=True,
                                promised_on=cw.local_today())
    assert result.msisdn == G2[1]
    token = code.split("-")[4]
    with pytest.raises(RuleError, match="không có trong sổ in"):
        cw.record_handover(listed, entry_code("receipt", case.programme_id + 5, case.id, token),
                           actor=HA)


def test_only_the_latest_printed_copy_is_accepted(listed: sessionmaker[Session]) -> None:
    case = _case(listed, G1[0])
    first = printed_code(listed, "receipt", case.programme_id, case.id)
    survey = printed_code(listed, "survey", case.programme_id, case.id)
    second = printed_code(listed, "receipt", case.programme_id, case.id)
    with listed() as session:
        assert cw.find_case(session, None, second).id == case.id
        assert cw.find_case(session, None, survey).id == case.id  # another kind: still valid
        day = cw.local_today().strftime("%d/%m/%Y")
        with pytest.raises(RuleError, match=f"đã được in lại ngày {day} — dùng bản mới nhất"):
            cw.find_case(session, None, first)
        # the short check code typed by hand: same rule
        short = "-".join(second.split("-")[3:5])
        assert cw.find_case(session, None, short).id == case.id
        with pytest.raises(RuleError, match="in lại"):
            cw.find_case(session, None, "-".join(first.split("-")[3:5]))
        forged = entry_code("receipt", case.programme_id, case.id, "ZZZZZZ")
        with pytest.raises(RuleError, match="giấy giả hoặc in từ máy khác"):
            cw.find_case(session, None, forged)
        # a survey's token on a receipt code: not what was printed
        survey_token = survey.split("-")[4]
        with pytest.raises(RuleError, match="không có trong sổ in"):
            cw.find_case(session, None, entry_code("receipt", case.programme_id, case.id,
                                                   survey_token))
        with pytest.raises(UsageError, match="mẫu cũ"):
            cw.find_case(session, None, f"MBFC-R-{case.programme_id}-{case.id}-63")
        assert cw.find_case(session, None, case.id).id == case.id  # the screens' entry id
        with pytest.raises(NotFoundError):
            cw.find_case(session, case.programme_id + 1, case.id)


def test_steps_follow_the_rules(listed: sessionmaker[Session]) -> None:
    number = G1[1]
    cw.record_step(listed, number, "sms", actor=LAN, on=D(2017, 3, 5))
    cw.record_step(listed, number, "data_check", actor=LAN, on=D(2017, 3, 6), value="collected")
    again = cw.record_step(listed, number, "sms", actor=LAN, on=D(2017, 3, 5))
    assert again.changed is False
    with pytest.raises(RuleError, match="đã ghi ngày 05/03/2017"):
        cw.record_step(listed, number, "sms", actor=LAN, on=D(2017, 3, 7))
    with pytest.raises(RuleError, match="gặp khách hàng"):
        cw.record_step(listed, number, "survey", actor=LAN, on=D(2017, 3, 7))
    with pytest.raises(RuleError, match="Nhóm 1: ngày trao quà"):
        cw.record_handover(listed, number, actor=LAN, on=D(2017, 3, 5))
    cw.record_handover(listed, number, actor=LAN, on=D(2017, 3, 8), by="Trưởng MF Hồng Bàng")
    for step in ("package_advice", "questions", "survey"):
        cw.record_step(listed, number, step, actor=HA, on=D(2017, 3, 8))
    detail = cw.desk_lookup(listed, number, actor=Actor("test"))
    assert detail.progress == "done"
    assert detail.steps_to_do == ()
    assert detail.first_handover is not None and detail.first_handover.at is None
    assert "ngày 08/03/2017 tại Kho" in detail.first_handover.text
    with pytest.raises(UsageError, match="record handover"):
        cw.record_step(listed, number, "handover", actor=LAN)


def test_outcome_closes_and_blocks_further_work(listed: sessionmaker[Session]) -> None:
    number = G2[5]
    with pytest.raises(UsageError, match="ghi chú"):
        cw.record_outcome(listed, number, "other", actor=HA)
    result = cw.record_outcome(listed, number, "unreachable", actor=HA, note="gọi 3 lần")
    assert result["outcome"] == "unreachable"
    assert cw.desk_lookup(listed, number, actor=Actor("test")).progress == "closed"
    with pytest.raises(RuleError, match="Không liên lạc được"):
        cw.record_handover(listed, number, actor=HA, item_code="o-2-khuc")
    with pytest.raises(RuleError, match="hủy kết quả trước"):
        cw.record_step(listed, number, "sms", actor=HA)
    cw.undo(listed, number, "outcome", reason="KH gọi lại", actor=LAN)
    assert cw.record_handover(listed, number, actor=HA, item_code="o-2-khuc").status == "given"
    with pytest.raises(RuleError, match="đã nhận quà"):
        cw.record_outcome(listed, number, "moved", actor=HA)


def test_undo_needs_reason_and_role_and_returns_the_item(listed: sessionmaker[Session]) -> None:
    cw.record_handover(listed, G2[0], actor=HA, item_code="o-2-khuc")
    assert _on_hand(listed, "o-2-khuc", STORE) == 2
    with pytest.raises(UsageError, match="lý do"):
        cw.undo(listed, G2[0], "handover", reason=" ", actor=LAN)
    with pytest.raises(RuleError, match="Giao dịch viên không được"):
        cw.undo(listed, G2[0], "handover", reason="nhầm người", actor=HA)
    text_ = cw.undo(listed, G2[0], "handover", reason="nhầm người", actor=LAN)
    assert "Hủy trao quà" in text_
    assert _on_hand(listed, "o-2-khuc", STORE) == 3
    case = _case(listed, G2[0])
    assert (case.handover_on, case.handed_over_at, case.has_work) == (None, None, False)
    with listed() as session:
        assert session.scalar(select(func.count()).select_from(Handover)) == 0
    # the gift can now be handed over to the right person once
    assert cw.record_handover(listed, G2[0], actor=HA, item_code="o-2-khuc").on_hand == 2
    returned = stock.ledger(listed, kind="return")
    assert [(m.quantity, m.reason) for m in returned] == [(1, "nhầm người")]
    with pytest.raises(RuleError, match="chưa ghi"):
        cw.undo(listed, G2[0], "survey", reason="x", actor=LAN)


def test_every_change_is_audited_in_an_unbroken_chain(listed: sessionmaker[Session]) -> None:
    cw.record_handover(listed, G2[0], actor=HA, item_code="o-2-khuc")
    cw.record_step(listed, G2[0], "survey", actor=HA)
    cw.undo(listed, G2[0], "survey", reason="phiếu của người khác", actor=LAN)
    log = audit.entries(listed)
    actions = [e.action for e in reversed(log)]
    assert actions == ["stock_receive", "stock_receive", "record_handover", "record_step",
                       "undo_survey"]
    undo_entry = log[0]
    assert (undo_entry.user, undo_entry.reason) == ("Lan", "phiếu của người khác")
    assert undo_entry.before is not None and undo_entry.before["step"] == "survey"
    assert undo_entry.after is None
    assert audit.verify_chain(listed) == []


def test_audit_log_is_append_only_and_tamper_evident(listed: sessionmaker[Session],
                                                     db_url: str) -> None:
    cw.record_handover(listed, G2[0], actor=HA, item_code="o-2-khuc")
    with listed.begin() as session, pytest.raises(Exception, match="append-only"):
        session.execute(update(AuditEntry).values(user="someone else"))
    with listed.begin() as session, pytest.raises(Exception, match="append-only"):
        session.execute(delete(AuditEntry))
    # Outside the application (the trigger dropped), an edit shows in the chain.
    run_sql(db_url, "UPDATE audit_log SET summary = 'sửa lén' WHERE action = 'record_handover'")
    problems = audit.verify_chain(listed)
    assert len(problems) == 1 and "đã bị sửa" in problems[0]


def test_stock_moves(listed: sessionmaker[Session]) -> None:
    moved = stock.move_stock(listed, "transfer", "balo-keo", 2, actor=LAN, location="Kho",
                             to_location="Cửa hàng MobiFone Hồng Bàng", reason="đợt 1")
    assert (moved.on_hand, moved.other_on_hand) == (0, 2)
    with pytest.raises(RuleError, match="chỉ còn 0"):
        stock.move_stock(listed, "write_off", "balo-keo", 1, actor=LAN, reason="rách")
    with pytest.raises(UsageError, match="lý do"):
        stock.move_stock(listed, "write_off", "balo-keo", 1, actor=LAN,
                         location="hong bang")
    stock.move_stock(listed, "write_off", "balo-keo", 1, actor=LAN, location="hong bang",
                     reason="rách quai")
    with pytest.raises(RuleError, match="Giao dịch viên"):
        stock.move_stock(listed, "receive", "balo-keo", 1, actor=HA)
    with pytest.raises(UsageError, match="nguyên dương"):
        stock.move_stock(listed, "receive", "balo-keo", 0, actor=LAN)
    rows = {(b.item_code, b.location): b for b in stock.balances(listed)}
    store = rows[("balo-keo", "Cửa hàng MobiFone Hồng Bàng")]
    assert (store.transferred_in, store.written_off, store.on_hand) == (2, 1, 1)
    kho = rows[("balo-keo", "Kho")]
    assert (kho.received, kho.transferred_out, kho.on_hand) == (2, 2, 0)
    assert stock.locations(listed)[0].name == "Kho"
