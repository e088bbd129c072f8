"""Read side of the care lists: ordered ids for a filter and sort, row pages, one entry's detail.

Everything is computed in the database (filters, search and ORDER BY), so that a list of a
hundred thousand entries answers in tens of milliseconds; the screen holds only the ids and
loads pages of frozen DTOs (Anki's browser table). No Qt here; the functions run on the
database worker except `care_rows`, whose page query (~1 ms) may run on the GUI thread.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, and_, exists, false, select
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.domain.actors import Actor
from mbfcare.domain.collation import vietnamese_sort_key
from mbfcare.domain.steps import OUTCOMES, STEPS
from mbfcare.domain.values import ValueProblem, parse_msisdn
from mbfcare.domain.vntext import fold
from mbfcare.errors import NotFoundError, UsageError
from mbfcare.models import (
    AuditEntry,
    Batch,
    CareCase,
    CareStep,
    Classification,
    ImportRun,
    ProfileCollection,
    Subscriber,
)
from mbfcare.services.classification import explain
from mbfcare.uow import UnitOfWork

logger = logging.getLogger(__name__)

GAP: Literal["gap"] = "gap"
"""`CareListFilter.group` value for entries awaiting a group decision (state `awaiting_group`)."""

SORT_KEYS = ("batch", "msisdn", "name", "group", "district", "store", "basis", "tenure", "state",
             *STEPS, "outcome")
"""Keys `care_list_ids` sorts by. `name` sorts by the folded name (`search_name`): plain
letter order without diacritics, not full Vietnamese collation (`domain.collation`), which
SQLite cannot do in SQL; the export service's name order is the exact one."""

STEP_KEYS = STEPS
"""The six steps of the programme (PROGRAM.md §3), in order."""

ANY_OUTCOME, NO_OUTCOME = "any", "none"
"""`CareListFilter.outcome` values besides an outcome key: closed with any outcome, or open."""

_CHUNK = 900  # stay under SQLite's bound-parameter limit on old builds


@dataclass(frozen=True)
class CareListFilter:
    """What the care list shows; None means "any".

    `group` is a group number or `GAP` (awaiting a group decision). `search` is a subscriber
    number in any written form (a prefix when incomplete) or part of a name, diacritics
    optional.
    """

    programme_id: int
    batch: int | None = None
    group: int | Literal["gap"] | None = None
    delivery: str | None = None
    district: str | None = None
    store: str | None = None
    state: str | None = None
    search: str = ""
    # From the dashboard's links: work started, gift handed over, profile to standardise.
    has_work: bool | None = None
    handed_over: bool | None = None
    profile_standardised: bool | None = None
    # A step still to do (entries on a list to serve, not closed, without that step), and
    # the outcome: an outcome key, ANY_OUTCOME or NO_OUTCOME.
    todo_step: str | None = None
    done_step: str | None = None
    outcome: str | None = None
    gift_owed: bool | None = None


@dataclass(frozen=True)
class CareRowDTO:
    """One care-list entry as a row of the list."""

    id: int
    batch: int
    msisdn: str
    name: str
    group: int | None
    delivery: str | None
    district: str
    store: str
    basis: int
    charge_1: int
    charge_2: int
    charge_3: int
    tenure_years: int | None
    tenure_band: str
    state: str
    waiting_rank: int | None
    responsible: str
    steps: tuple[dt.date | None, ...] = (None,) * len(STEPS)  # dates in STEPS order
    gift_owed: bool = False
    outcome: str | None = None


@dataclass(frozen=True)
class StepDTO:
    """One of the six steps (`key` in `STEP_KEYS`): done or not, when, by whom, its value."""

    key: str
    done: bool
    date: dt.date | None = None
    by: str | None = None
    value: str | None = None


@dataclass(frozen=True)
class HistoryDTO:
    """One dated event in an entry's history; `kind` is `imported`, `updated`, `classified`,
    `decided` or `audit` (a recorded change); `text` the file name, the rule version, the
    decision's note or the change's summary (with its reason)."""

    kind: str
    at: dt.datetime | None
    by: str
    text: str


@dataclass(frozen=True)
class CareDetailDTO:
    """Everything the detail panel shows about one entry."""

    id: int
    batch: int
    care_month: str  # MM/YYYY
    state: str
    group: int | None
    delivery: str | None
    gift_type: int | None
    responsible: str
    waiting_rank: int | None
    # subscriber facts
    msisdn: str
    name: str
    subscriber_type: str
    subscriber_status: str
    activation_date: dt.date | None
    province: str
    district: str
    store: str
    address: str
    contact_number: str
    profile_standardised: bool | None
    offers: str
    tenure_years: int | None
    tenure_band: str
    # the decision
    cycles: tuple[int, int, int]  # yyyymm of n-3, n-4, n-5
    charges: tuple[int, int, int]
    basis: int
    aggregation: str
    explanation: tuple[str, ...]
    no_longer_qualifies: str | None
    steps: tuple[StepDTO, ...]
    history: tuple[HistoryDTO, ...]
    gift_owed: bool = False
    outcome: str | None = None
    outcome_note: str = ""
    row_version: int = 0  # handed back as `seen_version` when the panel records something


@dataclass(frozen=True)
class FilterChoices:
    """The values the filter boxes offer: those present on the programme's lists."""

    batches: tuple[int, ...]
    groups: tuple[int, ...]
    districts: tuple[str, ...]
    stores: tuple[str, ...]
    deliveries: tuple[str, ...]


# --------------------------------------------------------------------------- search


_NUMBER_TEXT = re.compile(r"^\+?[\d\s.\-()]+$")


def number_prefix(text: str) -> str | None:
    """The 10-digit-form prefix a partly typed number stands for, or None for other text.

    `0912 34` -> `091234`, `+84 912` -> `0912`, `84912` -> `0912`, `912` -> `0912`.
    """
    text = text.strip()
    if not text or not _NUMBER_TEXT.match(text):
        return None
    digits = re.sub(r"\D", "", text)
    if not digits:
        return None
    if digits.startswith("0084"):
        digits = "0" + digits[4:]
    elif digits.startswith("84") and len(digits) > 2:
        digits = "0" + digits[2:]
    elif not digits.startswith("0"):
        digits = "0" + digits
    return digits[:10]


def _search_clause(text: str) -> tuple[Any, bool]:
    """(where clause, whether it is a number search on the subscribers) for a search text."""
    prefix = number_prefix(text)
    if prefix is not None:
        try:
            number = parse_msisdn(text).number
        except ValueProblem:
            # Not a whole number yet: a prefix range, which uses the msisdn index.
            return and_(Subscriber.msisdn >= prefix, Subscriber.msisdn < prefix + ":"), True
        return Subscriber.msisdn == number, True
    folded = fold(text)
    escaped = folded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return CareCase.search_name.like(f"%{escaped}%", escape="\\"), False


def _unindexed(column: Any) -> Any:
    """`column + 0`: the same value, but SQLite no longer picks an index on it.

    Nearly every entry belongs to the programme (and a large share to the batch) the list
    shows, so reading the table in order beats an index that visits 100,000 rows at random:
    78 ms instead of 290 ms for the whole list sorted (bench/bench_care_list.py).
    """
    return column + 0


def _filtered(flt: CareListFilter, sort_key: str) -> Select[Any]:
    c = CareCase
    search = flt.search.strip()
    clause, by_number = _search_clause(search) if search else (None, False)
    # A number search is best driven by the msisdn index and the (programme, subscriber)
    # key; anything else reads the table in order.
    plain: Any = (lambda col: col) if by_number else _unindexed
    query: Select[Any] = select(c.id).where(plain(c.programme_id) == flt.programme_id)
    if flt.batch is not None:
        query = query.where(plain(c.batch_id) == select(Batch.id).where(
            Batch.programme_id == flt.programme_id, Batch.number == flt.batch
        ).scalar_subquery())
    if flt.group == GAP:
        query = query.where(c.state == "awaiting_group")
    elif flt.group is not None:
        query = query.where(c.group_number == flt.group)
    if flt.delivery is not None:
        query = query.where(c.delivery == flt.delivery)
    if flt.district is not None:
        query = query.where(c.district == flt.district)
    if flt.store is not None:
        query = query.where(c.store == flt.store)
    if flt.state is not None:
        query = query.where(c.state == flt.state)
    if flt.has_work is not None:
        query = query.where(c.has_work.is_(flt.has_work))
    if flt.handed_over is not None:
        query = query.where(c.handed_over_at.is_not(None) if flt.handed_over
                            else c.handed_over_at.is_(None))
    for step in (flt.todo_step, flt.done_step):
        if step is not None and step not in STEPS:
            raise UsageError(f"Không có bước '{step}'.")
    if flt.outcome not in (None, ANY_OUTCOME, NO_OUTCOME, *OUTCOMES):
        raise UsageError(f"Không có kết quả '{flt.outcome}'.")
    if flt.todo_step is not None:
        query = query.where(c.state == "listed", c.outcome.is_(None),
                            getattr(c, f"{flt.todo_step}_on").is_(None))
    if flt.done_step is not None:
        query = query.where(getattr(c, f"{flt.done_step}_on").is_not(None))
    if flt.outcome == ANY_OUTCOME:
        query = query.where(c.outcome.is_not(None))
    elif flt.outcome == NO_OUTCOME:
        query = query.where(c.outcome.is_(None))
    elif flt.outcome is not None:
        query = query.where(c.outcome == flt.outcome)
    if flt.gift_owed is not None:
        query = query.where(c.gift_owed.is_(flt.gift_owed))
    if clause is not None:
        query = query.where(clause)
    joined = by_number or sort_key == "msisdn" or flt.profile_standardised is not None
    if joined:
        query = query.join(Subscriber, Subscriber.id == c.subscriber_id)
    if flt.profile_standardised is not None:
        query = query.where(Subscriber.profile_standardised.is_(flt.profile_standardised))
        if flt.profile_standardised is False:  # still to collect: nothing collected yet
            query = query.where(~exists().where(
                ProfileCollection.programme_id == c.programme_id,
                ProfileCollection.subscriber_id == c.subscriber_id))
    if sort_key == "batch":
        query = query.join(Batch, Batch.id == c.batch_id)
    return query


def scope_condition(actor: Actor) -> ColumnElement[bool] | None:
    """The SQL condition that keeps a scoped actor to his district or store (None: all).

    A district head sees his district's entries, a clerk his store's; whatever filter they
    pass is combined with this one, so no filter reaches another part of the lists.
    """
    if actor.role == "head" and actor.district is not None:
        return CareCase.district == actor.district
    if actor.role == "clerk" and actor.store is not None:
        return CareCase.store == actor.store
    if actor.role == "viewer":
        return false()
    return None


def _scoped(query: Select[Any], actor: Actor) -> Select[Any]:
    condition = scope_condition(actor)
    return query if condition is None else query.where(condition)


def care_list_ids(factory: sessionmaker[Session], flt: CareListFilter, sort_key: str = "name",
                  descending: bool = False, *, actor: Actor) -> list[int]:
    """The ids of the entries matching `flt`, in the order asked, filtered and sorted in SQL.

    Runs on the database worker: no UI calls here. Ties are broken by the folded name, then
    the id, so the order is stable. Empty values (no group, no district) sort last.

    Args:
        factory: session factory.
        flt: the filter and search text.
        sort_key: one of `SORT_KEYS`.
        descending: reverse the primary order.
        actor: who looks; a district head or a clerk gets only his district's or store's
            entries (in the SQL, whatever `flt` says).

    Returns:
        Care-case ids.

    Raises:
        PermissionProblem: the actor may not open care lists.
        UsageError: an unknown sort key.
    """
    actor.require("view_lists")
    if sort_key not in SORT_KEYS:
        raise UsageError(f"Không sắp xếp được theo '{sort_key}'.")
    c = CareCase
    primary: Any = {
        "batch": Batch.number, "msisdn": Subscriber.msisdn, "name": c.search_name,
        "group": c.group_number, "district": c.district, "store": c.store, "basis": c.basis,
        "tenure": c.tenure_years, "state": c.state, "outcome": c.outcome,
        **{step: getattr(c, f"{step}_on") for step in STEPS},
    }[sort_key]
    ordered = primary.desc() if descending else primary.asc()
    order: list[Any] = [ordered.nulls_last()]
    if sort_key != "name":
        order.append(c.search_name.asc().nulls_last())
    order.append(c.id.desc() if descending else c.id.asc())
    with UnitOfWork(factory) as uow:
        # Core execution: the ORM result layer costs ~40 ms on 100,000 ids.
        ids = list(uow.session.connection().execute(
            _scoped(_filtered(flt, sort_key), actor).order_by(*order)).scalars())
    logger.debug("care list ids: %d for %s by %s", len(ids), flt, sort_key)
    return ids


# --------------------------------------------------------------------------- rows


def _row_query() -> Select[*tuple[Any, ...]]:
    c, s, b = CareCase, Subscriber, Batch
    query: Select[*tuple[Any, ...]] = (
        select(c.id, b.number, s.msisdn, s.name, c.group_number, c.delivery, c.district,
               s.district, c.store, c.basis, c.charge_1, c.charge_2, c.charge_3,
               c.tenure_years, c.tenure_band, c.state, c.waiting_rank, c.responsible,
               c.sms_on, c.data_check_on, c.handover_on, c.package_advice_on, c.questions_on,
               c.survey_on, c.gift_owed, c.outcome)
        .join(s, s.id == c.subscriber_id)
        .join(b, b.id == c.batch_id)
    )
    return query


def _load_rows(session: Session, ids: Sequence[int], actor: Actor | None
               ) -> dict[int, CareRowDTO]:
    rows: dict[int, CareRowDTO] = {}
    condition = scope_condition(actor) if actor is not None else None
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start:start + _CHUNK]
        query = _row_query().where(CareCase.id.in_(chunk))
        if condition is not None:
            query = query.where(condition)
        for (cid, batch, msisdn, name, group, delivery, district, sub_district, store, basis,
             ch1, ch2, ch3, years, band, state, rank, responsible, *steps, owed,
             outcome) in session.execute(query):
            rows[cid] = CareRowDTO(
                id=cid, batch=batch, msisdn=msisdn, name=name or "", group=group,
                delivery=delivery, district=district or sub_district or "", store=store or "",
                basis=basis, charge_1=ch1, charge_2=ch2, charge_3=ch3, tenure_years=years,
                tenure_band=band or "", state=state, waiting_rank=rank,
                responsible=responsible or "", steps=tuple(steps), gift_owed=bool(owed),
                outcome=outcome,
            )
    return rows


def care_rows(factory: sessionmaker[Session], ids: Sequence[int], *,
              actor: Actor | None = None) -> list[CareRowDTO]:
    """The rows of `ids`, in that order (ids no longer stored are skipped).

    One query per 900 ids; a page of 200 takes about a millisecond on SQLite, so the table
    model may call this on the GUI thread. With `actor`, ids outside his district or store
    are skipped too (the ids of `care_list_ids` are already limited to them).
    """
    if actor is not None:
        actor.require("view_lists")
    with UnitOfWork(factory) as uow:
        found = _load_rows(uow.session, ids, actor)
    return [found[i] for i in ids if i in found]


# --------------------------------------------------------------------------- detail


def care_detail(factory: sessionmaker[Session], case_id: int, *, actor: Actor
                ) -> CareDetailDTO:
    """One entry with its subscriber, cycles, the sentence why, the six steps and history.

    Runs on the database worker: no UI calls here.

    Raises:
        PermissionProblem: the actor may not open lists, or the entry is outside his scope.
        NotFoundError: no such entry.
    """
    actor.require("view_lists")
    with UnitOfWork(factory) as uow:
        session = uow.session
        case = session.get(CareCase, case_id)
        if case is None:
            raise NotFoundError(f"Không có mục danh sách số {case_id}.")
        sub = session.get(Subscriber, case.subscriber_id)
        batch = session.get(Batch, case.batch_id)
        assert sub is not None and batch is not None  # foreign keys
        actor.require_sees(case.district, case.store, f"Thuê bao {sub.msisdn}")
        history: list[HistoryDTO] = []
        runs = {run.id: run for run in session.scalars(select(ImportRun).where(
            ImportRun.id.in_([i for i in (sub.first_import_id, sub.last_import_id) if i])))}
        first = runs.get(sub.first_import_id or 0)
        if first is not None:
            history.append(HistoryDTO("imported", first.started_at, first.user, first.file_name))
        last = runs.get(sub.last_import_id or 0)
        if last is not None and last is not first:
            history.append(HistoryDTO("updated", last.started_at, last.user, last.file_name))
        # The classification run that put the entry on the list: the last one not after it.
        run = session.scalar(
            select(Classification).where(Classification.batch_id == case.batch_id,
                                         Classification.at >= case.created_at)
            .order_by(Classification.at).limit(1)
        ) or session.scalar(
            select(Classification).where(Classification.batch_id == case.batch_id)
            .order_by(Classification.at.desc()).limit(1))
        if run is not None:
            history.append(HistoryDTO("classified", run.at, run.user, str(run.rule_version)))
        if case.decided_at is not None or case.decided_by:
            history.append(HistoryDTO("decided", case.decided_at, case.decided_by or "",
                                      case.decision_note or ""))
        recorded = {row.step: row for row in session.scalars(
            select(CareStep).where(CareStep.care_case_id == case.id))}
        steps = tuple(
            StepDTO(key, done=True, date=row.done_on, by=row.done_by, value=row.value)
            if (row := recorded.get(key)) is not None else StepDTO(key, done=False)
            for key in STEP_KEYS
        )
        for entry in session.scalars(select(AuditEntry).where(
                AuditEntry.entity == "care_case", AuditEntry.entity_id == case.id)
                .order_by(AuditEntry.id)):
            summary = entry.summary + (f" – lý do: {entry.reason}" if entry.reason else "")
            history.append(HistoryDTO("audit", entry.at, entry.user, summary))
        detail: dict[str, Any] = {
            "id": case.id, "batch": batch.number,
            "care_month": f"{batch.care_month:02d}/{batch.care_year}", "state": case.state,
            "group": case.group_number, "delivery": case.delivery,
            "gift_type": case.gift_type_number, "responsible": case.responsible or "",
            "waiting_rank": case.waiting_rank, "msisdn": sub.msisdn, "name": sub.name or "",
            "subscriber_type": case.subscriber_type, "subscriber_status": case.subscriber_status,
            "activation_date": sub.activation_date,
            "province": case.province or sub.province or "",
            "district": case.district or sub.district or "", "store": case.store or "",
            "address": sub.address or "", "contact_number": sub.contact_number or "",
            "profile_standardised": sub.profile_standardised, "offers": sub.offers or "",
            "tenure_years": case.tenure_years, "tenure_band": case.tenure_band or "",
            "cycles": (case.cycle_1, case.cycle_2, case.cycle_3),
            "charges": (case.charge_1, case.charge_2, case.charge_3), "basis": case.basis,
            "aggregation": case.aggregation, "no_longer_qualifies": case.no_longer_qualifies,
            "steps": steps, "history": tuple(sorted(
                history, key=lambda h: h.at or dt.datetime.min.replace(tzinfo=dt.UTC))),
            "gift_owed": case.gift_owed, "outcome": case.outcome,
            "outcome_note": case.outcome_note or "", "row_version": case.row_version,
        }
        programme_id = case.programme_id
    explanation = explain(factory, detail["msisdn"], actor=actor, programme_id=programme_id)
    return CareDetailDTO(explanation=tuple(explanation.lines), **detail)


# --------------------------------------------------------------------------- choices


def filter_choices(factory: sessionmaker[Session], programme_id: int, *,
                   actor: Actor | None = None) -> FilterChoices:
    """Batches, groups, districts, stores and deliveries present on the programme's lists.

    With `actor`, only those of his district or store (the care list's boxes). Runs on the
    database worker: no UI calls here.
    """
    condition = scope_condition(actor) if actor is not None else None
    c = CareCase
    with UnitOfWork(factory) as uow:
        session = uow.session
        batches = tuple(session.scalars(
            select(Batch.number).where(Batch.programme_id == programme_id,
                                       exists().where(c.batch_id == Batch.id))
            .order_by(Batch.number)))
        # One pass over the table for all four boxes (the combinations are few).
        combo_query = (select(c.group_number, c.district, c.store, c.delivery)
                       .where(_unindexed(c.programme_id) == programme_id).distinct())
        if condition is not None:
            combo_query = combo_query.where(condition)
        combos = session.execute(combo_query).all()

    def values(i: int) -> tuple[Any, ...]:
        found = {row[i] for row in combos if row[i] is not None}
        if i in (1, 2):  # names: Vietnamese alphabetical order (Đ after D, not after Z)
            return tuple(sorted(found, key=vietnamese_sort_key))
        return tuple(sorted(found))

    return FilterChoices(batches=batches, groups=values(0), districts=values(1),
                         stores=values(2), deliveries=values(3))
