"""Gift stock per item and location: receive, transfer, return, write off, and the handover's
one item; every movement a ledger line with who and why, and never below zero.

The balance row is updated with a guarded `UPDATE … WHERE on_hand >= n` and carries a CHECK
constraint, so two workstations taking the last item at the same instant cannot both have it:
the database serialises them and the second finds none.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, aliased, sessionmaker

from mbfcare.domain.actors import Actor
from mbfcare.domain.values import format_number
from mbfcare.domain.vntext import clean_text, fold
from mbfcare.errors import NotFoundError, RuleError, UsageError
from mbfcare.models import (
    GiftItem,
    GiftType,
    Handover,
    StockBalance,
    StockLocation,
    StockMovement,
    Subscriber,
)
from mbfcare.models.base import utcnow
from mbfcare.services import audit
from mbfcare.services.programmes import resolve_programme_id
from mbfcare.uow import UnitOfWork

logger = logging.getLogger(__name__)

WAREHOUSE = "Kho"
"""The office's warehouse: the default location, one per database."""

MOVEMENT_KINDS = ("receive", "transfer_out", "transfer_in", "handover", "return", "write_off")
MOVEMENT_LABELS = {
    "receive": "Nhập kho",
    "transfer_out": "Chuyển đi",
    "transfer_in": "Chuyển đến",
    "handover": "Trao quà",
    "return": "Trả lại",
    "write_off": "Xuất hủy (hỏng)",
}
_COUNTER = {"receive": "received", "transfer_out": "transferred_out",
            "transfer_in": "transferred_in", "handover": "handed_over", "return": "returned",
            "write_off": "written_off"}


# --------------------------------------------------------------------------- lookups


def find_item(session: Session, programme_id: int, code: str) -> GiftItem:
    """The programme's item by its code (`o-2-khuc`) or its name without diacritics.

    Raises:
        NotFoundError: naming the codes that exist.
    """
    items = list(session.scalars(select(GiftItem).where(GiftItem.programme_id == programme_id)
                                 .order_by(GiftItem.id)))
    wanted = fold(code).strip()
    for item in items:
        if item.code == code.strip() or fold(item.name) == wanted or fold(item.code) == wanted:
            return item
    raise NotFoundError(f"Không có món quà '{code}'; các mã quà: "
                        f"{', '.join(i.code for i in items)}.")


def find_location(session: Session, name: str) -> StockLocation | None:
    """The location named exactly, or by a folded name or a unique part of it ("le chan")."""
    wanted = fold(clean_text(name) or "")
    if not wanted:
        return None
    exact = session.scalar(select(StockLocation).where(StockLocation.search_name == wanted))
    if exact is not None:
        return exact
    found = list(session.scalars(select(StockLocation).where(
        StockLocation.search_name.contains(wanted, autoescape=True)).limit(3)))
    return found[0] if len(found) == 1 else None


def get_or_create_location(session: Session, name: str, *, district: str | None = None
                           ) -> StockLocation:
    """The location named, created when first used (the warehouse, or a store)."""
    cleaned = clean_text(name) or WAREHOUSE
    location = find_location(session, cleaned)
    if location is not None:
        return location
    kind = "warehouse" if fold(cleaned) == fold(WAREHOUSE) else "store"
    location = StockLocation(name=cleaned, search_name=fold(cleaned), kind=kind,
                             district=district)
    session.add(location)
    session.flush()
    return location


def balance_on_hand(session: Session, item_id: int, location_id: int) -> int:
    """How many of the item are at the location now (0 when it never had any)."""
    return session.scalar(select(StockBalance.on_hand).where(
        StockBalance.item_id == item_id, StockBalance.location_id == location_id)) or 0


def _balance(session: Session, item_id: int, location_id: int) -> StockBalance:
    row = session.get(StockBalance, (item_id, location_id))
    if row is None:
        row = StockBalance(item_id=item_id, location_id=location_id, received=0,
                           transferred_in=0, transferred_out=0, handed_over=0, returned=0,
                           written_off=0, on_hand=0)
        session.add(row)
        session.flush()
    return row


# --------------------------------------------------------------------------- movements


def _add(session: Session, item: GiftItem, location: StockLocation, kind: str, qty: int, *,
         by: str, reason: str, other: StockLocation | None = None,
         handover_id: int | None = None) -> StockMovement:
    """Move `qty` (> 0) in or out of a balance and write the ledger line."""
    sign = -1 if kind in ("transfer_out", "handover", "write_off") else 1
    _balance(session, item.id, location.id)
    counter = getattr(StockBalance, _COUNTER[kind])
    stmt = (update(StockBalance)
            .where(StockBalance.item_id == item.id, StockBalance.location_id == location.id)
            .values({counter: counter + qty, StockBalance.on_hand: StockBalance.on_hand
                     + sign * qty}))
    if sign < 0:
        stmt = stmt.where(StockBalance.on_hand >= qty)
    if session.execute(stmt).rowcount != 1:  # type: ignore[attr-defined]
        left = session.scalar(select(StockBalance.on_hand).where(
            StockBalance.item_id == item.id, StockBalance.location_id == location.id)) or 0
        raise RuleError(f"{location.name} chỉ còn {format_number(left)} {item.name}, không đủ "
                        f"{format_number(qty)}.")
    line = StockMovement(item_id=item.id, location_id=location.id, kind=kind,
                         quantity=sign * qty, at=utcnow(), by=by, reason=reason,
                         other_location_id=other.id if other else None, handover_id=handover_id)
    session.add(line)
    session.flush()
    session.expire_all()
    return line


def take_one(session: Session, item: GiftItem, location: StockLocation, *, by: str,
             handover_id: int) -> None:
    """Take the handover's item from the location, in the handover's transaction.

    Raises:
        RuleError: the location has none left.
    """
    try:
        _add(session, item, location, "handover", 1, by=by, reason="", handover_id=handover_id)
    except RuleError:
        raise RuleError(f"{location.name} đã hết {item.name}; ghi nợ quà hoặc chuyển quà "
                        "từ kho khác đến.") from None


def give_back(session: Session, item: GiftItem, location: StockLocation, *, by: str,
              reason: str, handover_id: int) -> None:
    """An undone handover's item goes back to where it was taken from."""
    _add(session, item, location, "return", 1, by=by, reason=reason, handover_id=handover_id)


@dataclass(frozen=True)
class MovementResult:
    """What a stock action did, and the balances it left."""

    item: str
    quantity: int
    location: str
    on_hand: int
    other_location: str | None = None
    other_on_hand: int | None = None

    @property
    def text(self) -> str:
        """The sentence for the status bar."""
        if self.other_location is not None:
            return (f"Đã chuyển {format_number(self.quantity)} {self.item} từ {self.location} "
                    f"(còn {format_number(self.on_hand)}) đến {self.other_location} "
                    f"(còn {format_number(self.other_on_hand or 0)}).")
        return (f"{self.location}: {self.item} còn {format_number(self.on_hand)}.")


def _checked(qty: int, reason: str | None, *, need_reason: bool) -> str:
    if qty <= 0:
        raise UsageError("Số lượng phải là số nguyên dương.")
    if need_reason and not (reason or "").strip():
        raise UsageError("Cần ghi lý do.")
    return (reason or "").strip()


def move_stock(factory: sessionmaker[Session], kind: str, item_code: str, qty: int, *,
               actor: Actor, location: str | None = None, to_location: str | None = None,
               reason: str | None = None, programme_id: int | None = None) -> MovementResult:
    """Receive, transfer, return or write off `qty` of an item, with a ledger line each.

    `kind` is `receive`, `transfer`, `return` or `write_off`. A transfer and a write-off need
    a reason; a transfer needs `to_location`. Locations are created when first named.

    Raises:
        RuleError: not enough left, or the role may not move stock (exit 4).
        UsageError: a quantity that is not positive, a missing reason or destination.
    """
    if kind not in ("receive", "transfer", "return", "write_off"):
        raise UsageError(f"Không có thao tác kho '{kind}'.")
    why = _checked(qty, reason, need_reason=kind in ("transfer", "write_off"))
    actor.require("stock")
    with UnitOfWork(factory, write=True) as uow:
        session = uow.session
        pid = resolve_programme_id(session, programme_id)
        item = find_item(session, pid, item_code)
        source = get_or_create_location(session, location or WAREHOUSE)
        other: StockLocation | None = None
        if kind == "transfer":
            if not to_location:
                raise UsageError("Cần nơi nhận (--to).")
            other = get_or_create_location(session, to_location)
            if other.id == source.id:
                raise UsageError("Nơi chuyển và nơi nhận là một.")
            _add(session, item, source, "transfer_out", qty, by=actor.name, reason=why,
                 other=other)
            _add(session, item, other, "transfer_in", qty, by=actor.name, reason=why,
                 other=source)
        else:
            _add(session, item, source, kind, qty, by=actor.name, reason=why)
        on_hand = _balance(session, item.id, source.id).on_hand
        other_on_hand = _balance(session, item.id, other.id).on_hand if other else None
        audit.record(session, user=actor.name, action=f"stock_{kind}", entity="stock",
                     entity_id=item.id, programme_id=pid,
                     summary=f"{MOVEMENT_LABELS.get(kind, 'Chuyển kho')} {qty} {item.name} "
                             f"– {source.name}" + (f" → {other.name}" if other else ""),
                     reason=why, after={"item": item.code, "quantity": qty,
                                        "location": source.name,
                                        "to": other.name if other else None})
        result = MovementResult(item.name, qty, source.name, on_hand,
                                other.name if other else None, other_on_hand)
        uow.commit()
    logger.info("stock %s: %d x item %d", kind, qty, item.id)
    return result


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class BalanceDTO:
    """One item at one location."""

    item_code: str
    item_name: str
    gift_type: int
    location: str
    location_kind: str
    received: int
    transferred_in: int
    transferred_out: int
    handed_over: int
    returned: int
    written_off: int
    on_hand: int
    owed: int


def balances(factory: sessionmaker[Session], programme_id: int | None = None
             ) -> list[BalanceDTO]:
    """Every item × location that has had a movement or an owed gift, warehouse first."""
    with UnitOfWork(factory) as uow:
        session = uow.session
        pid = resolve_programme_id(session, programme_id)
        owed: dict[tuple[int, int], int] = {
            (item_id, loc_id): count for item_id, loc_id, count in session.execute(
                select(Handover.item_id, Handover.location_id, func.count())
                .where(Handover.programme_id == pid, Handover.status == "owed")
                .group_by(Handover.item_id, Handover.location_id))}
        rows = session.execute(
            select(GiftItem.code, GiftItem.name, GiftType.number, StockLocation.name,
                   StockLocation.kind, StockBalance, GiftItem.id, StockLocation.id)
            .join(GiftType, GiftType.id == GiftItem.gift_type_id)
            .join(StockBalance, StockBalance.item_id == GiftItem.id)
            .join(StockLocation, StockLocation.id == StockBalance.location_id)
            .where(GiftItem.programme_id == pid)).all()
        seen = {(row[6], row[7]) for row in rows}
        result = [
            BalanceDTO(code, name, number, loc, kind, b.received, b.transferred_in,
                       b.transferred_out, b.handed_over, b.returned, b.written_off, b.on_hand,
                       owed.get((item_id, loc_id), 0))
            for code, name, number, loc, kind, b, item_id, loc_id in rows]
        for (item_id, loc_id), count in owed.items():  # owed where the item never was
            if (item_id, loc_id) in seen:
                continue
            item = session.get(GiftItem, item_id)
            loc = session.get(StockLocation, loc_id)
            assert item is not None and loc is not None
            gift_type = session.get(GiftType, item.gift_type_id)
            result.append(BalanceDTO(item.code, item.name, gift_type.number if gift_type else 0,
                                     loc.name, loc.kind, 0, 0, 0, 0, 0, 0, 0, count))
    from mbfcare.domain.collation import vietnamese_sort_key

    return sorted(result, key=lambda r: (r.location_kind != "warehouse",
                                         vietnamese_sort_key(r.location), r.gift_type,
                                         r.item_code))


@dataclass(frozen=True)
class MovementDTO:
    """One line of the ledger."""

    id: int
    at: dt.datetime
    kind: str
    item_code: str
    item_name: str
    location: str
    quantity: int
    by: str
    reason: str
    other_location: str | None
    msisdn: str | None


def ledger(factory: sessionmaker[Session], programme_id: int | None = None, *,
           item_code: str | None = None, location: str | None = None,
           kind: str | None = None, limit: int = 5000) -> list[MovementDTO]:
    """The ledger, newest first, optionally for one item, location or kind of movement."""
    with UnitOfWork(factory) as uow:
        session = uow.session
        pid = resolve_programme_id(session, programme_id)
        # An alias: the plain table is in the outer FROM, and would correlate away.
        other_place = aliased(StockLocation)
        other = select(other_place.name).where(
            other_place.id == StockMovement.other_location_id).scalar_subquery()
        number = (select(Subscriber.msisdn).join(Handover, Handover.subscriber_id == Subscriber.id)
                  .where(Handover.id == StockMovement.handover_id).scalar_subquery())
        query = (select(StockMovement, GiftItem.code, GiftItem.name, StockLocation.name,
                        other, number)
                 .join(GiftItem, GiftItem.id == StockMovement.item_id)
                 .join(StockLocation, StockLocation.id == StockMovement.location_id)
                 .where(GiftItem.programme_id == pid)
                 .order_by(StockMovement.id.desc()).limit(limit))
        if item_code:
            query = query.where(GiftItem.id == find_item(session, pid, item_code).id)
        if location:
            found = find_location(session, location)
            if found is None:
                return []
            query = query.where(StockMovement.location_id == found.id)
        if kind:
            query = query.where(StockMovement.kind == kind)
        return [MovementDTO(m.id, m.at, m.kind, code, name, loc, m.quantity, m.by, m.reason,
                            other_name, msisdn)
                for m, code, name, loc, other_name, msisdn in session.execute(query)]


@dataclass(frozen=True)
class OwedDTO:
    """A gift owed to a customer: where, which item, promised for when."""

    handover_id: int
    case_id: int
    msisdn: str
    name: str
    item_code: str
    item_name: str
    location: str
    owed_at: dt.datetime | None
    promised_on: dt.date | None
    note: str


def owed_gifts(factory: sessionmaker[Session], programme_id: int | None = None, *,
               location: str | None = None) -> list[OwedDTO]:
    """Gifts recorded as owed and not yet given, the earliest promise first."""
    with UnitOfWork(factory) as uow:
        session = uow.session
        pid = resolve_programme_id(session, programme_id)
        query = (select(Handover, Subscriber.msisdn, Subscriber.name, GiftItem.code,
                        GiftItem.name, StockLocation.name)
                 .join(Subscriber, Subscriber.id == Handover.subscriber_id)
                 .join(GiftItem, GiftItem.id == Handover.item_id)
                 .join(StockLocation, StockLocation.id == Handover.location_id)
                 .where(Handover.programme_id == pid, Handover.status == "owed")
                 .order_by(Handover.promised_on, Handover.id))
        if location:
            found = find_location(session, location)
            if found is None:
                return []
            query = query.where(Handover.location_id == found.id)
        return [OwedDTO(h.id, h.care_case_id, msisdn, name or "", code, item_name, loc,
                        h.owed_at, h.promised_on, h.note)
                for h, msisdn, name, code, item_name, loc in session.execute(query)]


@dataclass(frozen=True)
class LocationDTO:
    """A place gifts are kept."""

    id: int
    name: str
    kind: str
    district: str | None


def locations(factory: sessionmaker[Session]) -> list[LocationDTO]:
    """Every location, the warehouse first."""
    from mbfcare.domain.collation import vietnamese_sort_key

    with UnitOfWork(factory) as uow:
        found = [LocationDTO(loc.id, loc.name, loc.kind, loc.district)
                 for loc in uow.session.scalars(select(StockLocation))]
    return sorted(found, key=lambda loc: (loc.kind != "warehouse",
                                          vietnamese_sort_key(loc.name)))


def programme_items(session: Session, programme_id: int) -> list[GiftItem]:
    """The programme's items, in gift type order."""
    return list(session.scalars(select(GiftItem).join(GiftType).where(
        GiftItem.programme_id == programme_id).order_by(GiftType.number, GiftItem.id)))



def item_choices(factory: sessionmaker[Session], programme_id: int | None = None
                 ) -> list[tuple[str, str, int]]:
    """The programme's items as (code, name, gift type number), in gift type order.

    For the item boxes of the stock screen; runs on the database worker, no UI calls here.
    """
    with UnitOfWork(factory) as uow:
        session = uow.session
        pid = resolve_programme_id(session, programme_id)
        rows = session.execute(
            select(GiftItem.code, GiftItem.name, GiftType.number)
            .join(GiftType, GiftType.id == GiftItem.gift_type_id)
            .where(GiftItem.programme_id == pid)
            .order_by(GiftType.number, GiftItem.id)).all()
    return [(code, name, number) for code, name, number in rows]
