"""The overview (Tổng quan): counts per batch and group, per district, handovers per day.

Every number is counted by the database (GROUP BY), in one read unit of work, and comes with
the care-list filter that lists the entries behind it, so a screen can open that list.

To add a count, add a field to `Counts`, its SQL expression
to `_METRICS` and its care-list filter to `METRIC_FILTERS`; every grouping picks it up.
Entries staff decided to leave out (`left_out`) are not in care and are not counted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import Date, Select, case, cast, exists, func, select
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.elements import ColumnElement

from mbfcare.domain.actors import Actor
from mbfcare.domain.collation import vietnamese_sort_key
from mbfcare.errors import NotFoundError
from mbfcare.models import (
    Batch,
    CareCase,
    GiftItem,
    GiftType,
    Handover,
    ProfileCollection,
    Programme,
    StockBalance,
    Subscriber,
)
from mbfcare.services.programmes import resolve_programme_id
from mbfcare.services.queries import scope_condition
from mbfcare.uow import UnitOfWork

VIETNAM_TZ_NAME = "Asia/Ho_Chi_Minh"  # UTC+7 all year (no daylight saving)
VIETNAM_OFFSET = dt.timedelta(hours=7)

# States counted at all: `left_out` entries are out of care.
IN_CARE_STATES = ("listed", "waiting", "awaiting_group")


@dataclass(frozen=True)
class Counts:
    """The numbers of one card or row; each field has a SQL sum and a care-list filter."""

    listed: int = 0  # in a group, to be served
    waiting: int = 0  # on the waiting list (beyond the planned stock)
    awaiting_group: int = 0  # in a gap between groups; staff decide
    has_work: int = 0  # some step recorded
    sms_sent: int = 0  # the SMS step recorded
    handed_over: int = 0  # gift handed over
    owed: int = 0  # gift owed (the store had none)
    surveyed: int = 0  # the survey step recorded
    closed: int = 0  # closed with an outcome (unreachable, refused, moved, other)

    @property
    def total(self) -> int:
        """Entries in care (every state but `left_out`)."""
        return self.listed + self.waiting + self.awaiting_group


def metric_sums() -> dict[str, ColumnElement[Any]]:
    c = CareCase
    return {
        "listed": func.sum(case((c.state == "listed", 1), else_=0)),
        "waiting": func.sum(case((c.state == "waiting", 1), else_=0)),
        "awaiting_group": func.sum(case((c.state == "awaiting_group", 1), else_=0)),
        "has_work": func.sum(case((c.has_work.is_(True), 1), else_=0)),
        "sms_sent": func.sum(case((c.sms_on.is_not(None), 1), else_=0)),
        "handed_over": func.sum(case((c.handed_over_at.is_not(None), 1), else_=0)),
        "owed": func.sum(case((c.gift_owed.is_(True), 1), else_=0)),
        "surveyed": func.sum(case((c.survey_on.is_not(None), 1), else_=0)),
        "closed": func.sum(case((c.outcome.is_not(None), 1), else_=0)),
    }


# The care-list filter behind each count (combined with the card's or row's own filter).
METRIC_FILTERS: Mapping[str, Mapping[str, object]] = {
    "listed": {"state": "listed"},
    "waiting": {"state": "waiting"},
    "awaiting_group": {"state": "awaiting_group"},
    "has_work": {"has_work": True},
    "sms_sent": {"done_step": "sms"},
    "handed_over": {"handed_over": True},
    "owed": {"gift_owed": True},
    "surveyed": {"done_step": "survey"},
    "closed": {"outcome": "any"},
}

COUNT_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Counts))


@dataclass(frozen=True)
class GroupCard:
    """One batch and group (`group` None: not in a group yet, i.e. awaiting a decision)."""

    batch: int
    group: int | None
    counts: Counts

    @property
    def filter(self) -> dict[str, object]:
        """The care-list filter of the card itself."""
        base: dict[str, object] = {"batch": self.batch}
        if self.group is not None:
            base["group"] = self.group
        return base


@dataclass(frozen=True)
class DistrictRow:
    """One district (`district` None: the data names none)."""

    district: str | None
    counts: Counts


@dataclass(frozen=True)
class TodoItem:
    """A "cần làm" entry: `key` names the work, `filter` lists the entries to work on."""

    key: str  # `awaiting_group`, `waiting`, `profile_not_standardised`, `owed_overdue`
    count: int
    filter: Mapping[str, object]


@dataclass(frozen=True)
class StockLine:
    """Gift stock of one item over every location; `low` when it will not cover the need."""

    item_code: str
    item_name: str
    gift_type: int
    received: int
    handed_over: int
    on_hand: int
    owed: int

    @property
    def low(self) -> bool:
        """Fewer left than owed, or under a tenth of what came in (and under 5 at least)."""
        return self.on_hand < self.owed or (
            self.received > 0 and self.on_hand < max(5, self.received // 10))


@dataclass(frozen=True)
class DashboardDTO:
    """Everything the overview shows; empty tuples when the data has nothing to show."""

    programme_id: int | None
    batch: int | None
    total: Counts
    cards: tuple[GroupCard, ...]
    districts: tuple[DistrictRow, ...]
    handovers_per_day: tuple[tuple[dt.date, int], ...]
    todo: tuple[TodoItem, ...]
    stock: tuple[StockLine, ...] = ()

    @property
    def has_programme(self) -> bool:
        """Whether a programme exists to show."""
        return self.programme_id is not None

    @property
    def is_empty(self) -> bool:
        """No entry in care: nothing to count."""
        return not self.cards

    def filter_for(self, metric: str, base: Mapping[str, object] | None = None) -> dict[str, Any]:
        """The care-list filter of `metric` within `base` (the dashboard's batch included)."""
        result: dict[str, Any] = {}
        if self.batch is not None:
            result["batch"] = self.batch
        result.update(base or {})
        result.update(METRIC_FILTERS[metric])
        return result


def _counts(row: Any) -> Counts:
    mapping = row._mapping
    return Counts(**{name: int(mapping[name] or 0) for name in COUNT_FIELDS})


def _handover_day(session: Session) -> ColumnElement[Any]:
    """The day of the handover: as recorded (a list returned later names the day), else the
    Vietnam-time calendar day of `handed_over_at` (stored in UTC)."""
    column = CareCase.handed_over_at
    if session.get_bind().dialect.name == "postgresql":
        return func.coalesce(CareCase.handover_on,
                             cast(func.timezone(VIETNAM_TZ_NAME, column), Date))
    # SQLite keeps the UTC time as text; shift it to Vietnam time before taking the date.
    return func.coalesce(CareCase.handover_on, func.date(column, "+7 hours"))


def _as_date(value: object) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _empty(programme_id: int | None, batch: int | None) -> DashboardDTO:
    return DashboardDTO(programme_id, batch, Counts(), (), (), (), ())


def dashboard(
    factory: sessionmaker[Session], programme_id: int | None = None, batch: int | None = None,
    *, actor: Actor,
) -> DashboardDTO:
    """The overview of a programme (the only one when None), or of one batch (its number).

    An empty database (no programme yet) gives an empty overview, not an error. A district
    head or a clerk gets the counts of his district or store; a viewer (the regional office)
    and an administrator get all counts (counts only, no personal data).

    Raises:
        PermissionProblem: the actor may not read counts.
        NotFoundError: no such programme, or the programme has no such batch.
        UsageError: several programmes exist and none was named.
    """
    actor.require("report")
    within = None if actor.role == "viewer" else scope_condition(actor)
    with UnitOfWork(factory) as uow:
        session = uow.session
        if programme_id is None and session.scalar(select(Programme.id).limit(1)) is None:
            return _empty(None, batch)
        pid = resolve_programme_id(session, programme_id)
        numbers = dict(session.execute(
            select(Batch.id, Batch.number).where(Batch.programme_id == pid)).all())
        batch_id = next((i for i, n in numbers.items() if n == batch), None)
        if batch is not None and batch_id is None:
            raise NotFoundError(f"Chương trình {pid} không có đợt {batch}.")

        metrics = metric_sums()
        columns = [expr.label(name) for name, expr in metrics.items()]
        if set(metrics) != set(COUNT_FIELDS) or set(METRIC_FILTERS) != set(COUNT_FIELDS):
            raise AssertionError("every count needs a SQL sum and a care-list filter")

        def scoped(query: Select[Any]) -> Select[Any]:
            query = query.where(
                CareCase.programme_id == pid, CareCase.state.in_(IN_CARE_STATES))
            if within is not None:
                query = query.where(within)
            return query.where(CareCase.batch_id == batch_id) if batch is not None else query

        card_rows = session.execute(scoped(
            select(CareCase.batch_id.label("batch_id"), CareCase.group_number.label("group"),
                   *columns)
        ).group_by(CareCase.batch_id, CareCase.group_number)).all()
        cards = sorted(
            (GroupCard(numbers[row.batch_id], row.group, _counts(row)) for row in card_rows),
            key=lambda c: (c.batch, c.group is None, c.group or 0),
        )

        district_rows = session.execute(scoped(
            select(CareCase.district.label("district"), *columns)
        ).group_by(CareCase.district)).all()
        districts = sorted(
            (DistrictRow(row.district, _counts(row)) for row in district_rows),
            key=lambda d: (d.district is None, vietnamese_sort_key(d.district or "")),
        )

        day = _handover_day(session).label("day")
        day_rows = session.execute(scoped(
            select(day, func.count().label("n")).where(CareCase.handed_over_at.is_not(None))
        ).group_by(day).order_by(day)).all()
        per_day = tuple((_as_date(row.day), int(row.n)) for row in day_rows)

        not_standardised = session.scalar(scoped(
            select(func.count()).select_from(CareCase)
            .join(Subscriber, Subscriber.id == CareCase.subscriber_id)
            .where(CareCase.state == "listed", Subscriber.profile_standardised.is_(False),
                   ~exists().where(ProfileCollection.programme_id == pid,
                                   ProfileCollection.subscriber_id == CareCase.subscriber_id))
        )) or 0
        today = (dt.datetime.now(dt.UTC) + VIETNAM_OFFSET).date()
        overdue = session.scalar(scoped(
            select(func.count()).select_from(CareCase)
            .join(Handover, Handover.care_case_id == CareCase.id)
            .where(Handover.status == "owed", Handover.promised_on < today))) or 0
        stock_rows = session.execute(
            select(GiftItem.code, GiftItem.name, GiftType.number,
                   func.coalesce(func.sum(StockBalance.received + StockBalance.returned), 0),
                   func.coalesce(func.sum(StockBalance.handed_over), 0),
                   func.coalesce(func.sum(StockBalance.on_hand), 0))
            .join(GiftType, GiftType.id == GiftItem.gift_type_id)
            .outerjoin(StockBalance, StockBalance.item_id == GiftItem.id)
            .where(GiftItem.programme_id == pid)
            .group_by(GiftItem.id, GiftItem.code, GiftItem.name, GiftType.number)
            .order_by(GiftType.number, GiftItem.id)).all()
        owed_by_item = dict(session.execute(
            select(GiftItem.code, func.count()).join(Handover, Handover.item_id == GiftItem.id)
            .where(Handover.programme_id == pid, Handover.status == "owed")
            .group_by(GiftItem.code)).all())
        stock_lines = tuple(
            StockLine(code, name, number, int(received), int(handed), int(left),
                      int(owed_by_item.get(code, 0)))
            for code, name, number, received, handed, left in stock_rows)

    total = Counts(**{
        name: sum(getattr(c.counts, name) for c in cards) for name in COUNT_FIELDS
    })
    scope: dict[str, object] = {"batch": batch} if batch is not None else {}
    todo = (
        TodoItem("awaiting_group", total.awaiting_group,
                 {**scope, "state": "awaiting_group"}),
        TodoItem("waiting", total.waiting, {**scope, "state": "waiting"}),
        TodoItem("profile_not_standardised", int(not_standardised),
                 {**scope, "state": "listed", "profile_standardised": False}),
        TodoItem("owed_overdue", int(overdue), {**scope, "gift_owed": True}),
    )
    return DashboardDTO(pid, batch, total, tuple(cards), tuple(districts), per_day, todo,
                        stock_lines)
