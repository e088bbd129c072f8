"""Gift stock: every movement a ledger line and counters, never below zero, and the reads."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from care_data import GROUP1, GROUP2, STORE, seed_listed
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.domain.actors import Actor
from mbfcare.errors import NotFoundError, RuleError, UsageError
from mbfcare.models import AuditEntry, StockMovement
from mbfcare.services import care_work, stock
from mbfcare.services.stock import BalanceDTO

LAN = Actor("Lan", "admin")
BALO = "balo-keo"
O = "o-2-khuc"  # noqa: E741 (the item's name)


def _balance(factory: sessionmaker[Session], pid: int, item: str, place: str) -> BalanceDTO:
    return next(b for b in stock.balances(factory, pid)
                if b.item_code == item and b.location == place)


def _lines(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return session.scalar(select(func.count()).select_from(StockMovement)) or 0


def test_receive_writes_a_ledger_line_and_the_counters(
        factory: sessionmaker[Session], programme_id: int) -> None:
    result = stock.move_stock(factory, "receive", BALO, 1200, actor=LAN,
                              programme_id=programme_id)
    assert (result.location, result.on_hand) == ("Kho", 1200)
    assert result.text == "Kho: Balo kéo du lịch còn 1.200."
    b = _balance(factory, programme_id, BALO, "Kho")
    assert (b.received, b.on_hand, b.gift_type, b.location_kind) == (1200, 1200, 1, "warehouse")
    [line] = stock.ledger(factory, programme_id)
    assert (line.kind, line.quantity, line.location, line.by, line.reason) == (
        "receive", 1200, "Kho", "Lan", "")
    assert line.at.tzinfo is not None
    with factory() as session:
        entry = session.scalars(select(AuditEntry)).one()
        assert entry.action == "stock_receive" and entry.user == "Lan"


def test_transfer_writes_two_lines_with_the_other_end(
        factory: sessionmaker[Session], programme_id: int) -> None:
    stock.move_stock(factory, "receive", O, 50, actor=LAN, programme_id=programme_id)
    result = stock.move_stock(factory, "transfer", O, 20, actor=LAN, to_location=STORE,
                              reason="Cửa hàng hết quà", programme_id=programme_id)
    assert result.text == ("Đã chuyển 20 Ô 2 khúc cầm tay từ Kho (còn 30) đến "
                           f"{STORE} (còn 20).")
    kho, store = _balance(factory, programme_id, O, "Kho"), _balance(factory, programme_id, O,
                                                                     STORE)
    assert (kho.transferred_out, kho.on_hand) == (20, 30)
    assert (store.transferred_in, store.on_hand, store.location_kind) == (20, 20, "store")
    t_in, t_out, _receive = stock.ledger(factory, programme_id)
    assert (t_out.kind, t_out.quantity, t_out.location, t_out.other_location) == (
        "transfer_out", -20, "Kho", STORE)
    assert (t_in.kind, t_in.quantity, t_in.location, t_in.other_location) == (
        "transfer_in", 20, STORE, "Kho")
    assert t_in.reason == t_out.reason == "Cửa hàng hết quà"


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"to_location": STORE}, "Cần ghi lý do."),
    ({"to_location": STORE, "reason": "   "}, "Cần ghi lý do."),
    ({"reason": "điều chuyển"}, "Cần nơi nhận (--to)."),
    ({"to_location": "kho", "reason": "điều chuyển"}, "Nơi chuyển và nơi nhận là một."),
])
def test_transfer_needs_a_reason_and_another_place(
        factory: sessionmaker[Session], programme_id: int, kwargs: dict[str, str],
        message: str) -> None:
    stock.move_stock(factory, "receive", O, 5, actor=LAN, programme_id=programme_id)
    with pytest.raises(UsageError, match=re.escape(message)):
        stock.move_stock(factory, "transfer", O, 2, actor=LAN, programme_id=programme_id,
                         **kwargs)
    assert _balance(factory, programme_id, O, "Kho").on_hand == 5
    assert _lines(factory) == 1


def test_return_adds_and_write_off_takes_with_a_reason(
        factory: sessionmaker[Session], programme_id: int) -> None:
    stock.move_stock(factory, "receive", BALO, 10, actor=LAN, programme_id=programme_id)
    stock.move_stock(factory, "return", BALO, 2, actor=LAN, programme_id=programme_id)
    with pytest.raises(UsageError, match="Cần ghi lý do"):
        stock.move_stock(factory, "write_off", BALO, 1, actor=LAN, programme_id=programme_id)
    result = stock.move_stock(factory, "write_off", BALO, 3, actor=LAN, reason="Rách quai",
                              programme_id=programme_id)
    assert result.on_hand == 9
    b = _balance(factory, programme_id, BALO, "Kho")
    assert (b.received, b.returned, b.written_off, b.on_hand) == (10, 2, 3, 9)
    kinds = [(m.kind, m.quantity, m.reason) for m in stock.ledger(factory, programme_id)]
    assert kinds == [("write_off", -3, "Rách quai"), ("return", 2, ""), ("receive", 10, "")]


def test_never_below_zero(factory: sessionmaker[Session], programme_id: int) -> None:
    stock.move_stock(factory, "receive", BALO, 3, actor=LAN, programme_id=programme_id)
    with pytest.raises(RuleError) as refused:
        stock.move_stock(factory, "write_off", BALO, 5, actor=LAN, reason="Hỏng",
                         programme_id=programme_id)
    assert str(refused.value) == "Kho chỉ còn 3 Balo kéo du lịch, không đủ 5."
    with pytest.raises(RuleError, match="chỉ còn 3"):
        stock.move_stock(factory, "transfer", BALO, 4, actor=LAN, to_location=STORE,
                         reason="Cần quà", programme_id=programme_id)
    # Nothing half done: no line, no counter, and the failed transfer created no balance.
    b = _balance(factory, programme_id, BALO, "Kho")
    assert (b.on_hand, b.written_off, b.transferred_out) == (3, 0, 0)
    assert _lines(factory) == 1
    assert [x.location for x in stock.balances(factory, programme_id)] == ["Kho"]


def test_a_place_is_found_by_its_folded_name(
        factory: sessionmaker[Session], programme_id: int) -> None:
    stock.move_stock(factory, "receive", O, 8, actor=LAN, location=STORE,
                     programme_id=programme_id)
    result = stock.move_stock(factory, "write_off", O, 1, actor=LAN, location="le chan",
                              reason="Gãy cán", programme_id=programme_id)
    assert (result.location, result.on_hand) == (STORE, 7)
    assert [loc.name for loc in stock.locations(factory)] == [STORE]
    assert stock.locations(factory)[0].kind == "store"


def test_quantity_and_kind_are_checked(factory: sessionmaker[Session], programme_id: int
                                       ) -> None:
    with pytest.raises(UsageError, match="số nguyên dương"):
        stock.move_stock(factory, "receive", BALO, 0, actor=LAN, programme_id=programme_id)
    with pytest.raises(UsageError, match="Không có thao tác kho"):
        stock.move_stock(factory, "handover", BALO, 1, actor=LAN, programme_id=programme_id)
    with pytest.raises(NotFoundError, match="balo-keo, hop-thuc-pham, o-2-khuc"):
        stock.move_stock(factory, "receive", "quat-dien", 1, actor=LAN,
                         programme_id=programme_id)


def test_a_clerk_may_not_move_stock(factory: sessionmaker[Session], programme_id: int
                                    ) -> None:
    with pytest.raises(RuleError) as refused:
        stock.move_stock(factory, "receive", BALO, 5, actor=Actor("Hà", "clerk"),
                         programme_id=programme_id)
    assert str(refused.value).startswith(
        "Vai trò Giao dịch viên không được nhập, chuyển hoặc xuất hủy quà trong kho")
    assert stock.balances(factory, programme_id) == []


def test_balances_count_owed_gifts_even_where_no_stock_is(
        factory: sessionmaker[Session], programme_id: int) -> None:
    seed_listed(factory, programme_id)
    promised = care_work.local_today() + dt.timedelta(days=5)
    owed_numbers = list(GROUP2)[:2]
    for number in owed_numbers:
        care_work.record_handover(factory, number, actor=LAN, item_code=O, owed=True,
                                  promised_on=promised, programme_id=programme_id)
    stock.move_stock(factory, "receive", BALO, 4, actor=LAN, programme_id=programme_id)

    rows = stock.balances(factory, programme_id)
    assert [(r.location, r.item_code, r.on_hand, r.owed) for r in rows] == [
        ("Kho", BALO, 4, 0), (STORE, O, 0, 2)]
    owed = stock.owed_gifts(factory, programme_id)
    assert [(o.msisdn, o.item_code, o.location, o.promised_on) for o in owed] == [
        (n, O, STORE, promised) for n in owed_numbers]
    assert owed[0].name == "Khách Hàng Số 1" and owed[0].owed_at is not None
    assert stock.owed_gifts(factory, programme_id, location="le chan") == owed
    assert stock.owed_gifts(factory, programme_id, location="Kho") == []


def test_a_handover_and_an_owed_gift_given_leave_ledger_lines_with_the_number(
        factory: sessionmaker[Session], programme_id: int) -> None:
    seed_listed(factory, programme_id)
    visit, pickup = next(iter(GROUP1)), next(iter(GROUP2))
    stock.move_stock(factory, "receive", BALO, 2, actor=LAN, programme_id=programme_id)
    care_work.record_handover(factory, visit, actor=LAN, programme_id=programme_id)
    care_work.record_handover(factory, pickup, actor=LAN, item_code=O, owed=True,
                              programme_id=programme_id)
    with pytest.raises(RuleError, match="đã hết Ô 2 khúc cầm tay"):
        care_work.give_owed(factory, pickup, actor=LAN, programme_id=programme_id)
    stock.move_stock(factory, "receive", O, 3, actor=LAN, location="le chan",
                     programme_id=programme_id)
    care_work.give_owed(factory, pickup, actor=LAN, programme_id=programme_id)

    lines = stock.ledger(factory, programme_id, kind="handover")
    assert [(m.msisdn, m.location, m.quantity) for m in lines] == [
        (pickup, STORE, -1), (visit, "Kho", -1)]
    assert _balance(factory, programme_id, BALO, "Kho").handed_over == 1
    store = _balance(factory, programme_id, O, STORE)
    assert (store.handed_over, store.on_hand, store.owed) == (1, 2, 0)
    assert stock.owed_gifts(factory, programme_id) == []


def test_ledger_filters(factory: sessionmaker[Session], programme_id: int) -> None:
    stock.move_stock(factory, "receive", BALO, 10, actor=LAN, programme_id=programme_id)
    stock.move_stock(factory, "receive", O, 10, actor=LAN, programme_id=programme_id)
    stock.move_stock(factory, "transfer", O, 4, actor=LAN, to_location=STORE,
                     reason="Chia quà", programme_id=programme_id)

    def kinds(**kw: str) -> list[tuple[str, str, str]]:
        return [(m.kind, m.item_code, m.location)
                for m in stock.ledger(factory, programme_id, **kw)]

    assert len(kinds()) == 4
    assert kinds(item_code=BALO) == [("receive", BALO, "Kho")]
    assert kinds(item_code="O 2 khuc cam tay") == [
        ("transfer_in", O, STORE), ("transfer_out", O, "Kho"), ("receive", O, "Kho")]
    assert kinds(location="le chan") == [("transfer_in", O, STORE)]
    assert kinds(kind="receive") == [("receive", O, "Kho"), ("receive", BALO, "Kho")]
    assert kinds(item_code=O, location="Kho", kind="transfer_out") == [
        ("transfer_out", O, "Kho")]
    assert kinds(location="Cửa hàng không có") == []
    assert len(stock.ledger(factory, programme_id, limit=2)) == 2


def test_item_choices(factory: sessionmaker[Session], programme_id: int) -> None:
    assert stock.item_choices(factory, programme_id) == [
        (BALO, "Balo kéo du lịch", 1),
        ("hop-thuc-pham", "Hộp đựng thực phẩm hút chân không", 2),
        (O, "Ô 2 khúc cầm tay", 2),
    ]
    assert stock.item_choices(factory) == stock.item_choices(factory, programme_id)
