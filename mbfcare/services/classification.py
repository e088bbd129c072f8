"""Building a batch's care list: who is eligible, in which group, and why each one is not.

The decisions for a million subscribers are made by one SQL pass (the three cycles joined
from `charges`, every exclusion source joined, the basis and the group computed in the
query); only the few tens of thousands on the list come back to Python, for the years of
use, the store, the responsible person and the stock order. A list once made is frozen:
running again adds newly eligible subscribers and reports entries that no longer qualify,
never changing or deleting them.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    Integer,
    Select,
    and_,
    case,
    cast,
    delete,
    exists,
    func,
    insert,
    literal,
    not_,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.orm import Session, aliased, sessionmaker

from mbfcare.domain.actors import Actor
from mbfcare.domain.programme_spec import DELIVERY_WORDS, GroupRule
from mbfcare.domain.reference import default_store, new_provinces, old_provinces_of
from mbfcare.domain.rules import check_groups, describe_rule, tenure_band, tenure_years
from mbfcare.domain.values import (
    ValueProblem,
    cycle_code,
    format_cycle,
    format_money,
    parse_date,
    parse_month,
    parse_msisdn,
    shift_month,
)
from mbfcare.domain.vntext import fold
from mbfcare.errors import NotFoundError, RuleError, UsageError
from mbfcare.models import (
    Batch,
    CareCase,
    Charge,
    Classification,
    Exclusion,
    LeftOut,
    Programme,
    Subscriber,
)
from mbfcare.models.base import utcnow
from mbfcare.services.programmes import get_batch, group_rules, resolve_programme_id
from mbfcare.services.progress import NullProgress, Progress
from mbfcare.uow import UnitOfWork

logger = logging.getLogger(__name__)

REASONS = {
    "on_earlier_batch": "đã có trong danh sách đợt khác của chương trình",
    "not_active": "thuê bao không hoạt động 2 chiều",
    "outside_area": "không thuộc địa bàn của chương trình",
    "in_other_programme": "đang tham gia chương trình CSKH khác",
    "missing_cycle": "thiếu cước của chu kỳ căn cứ",
    "below_threshold": "mức cước căn cứ dưới ngưỡng các nhóm",
}
STATES = {
    "listed": "Trong danh sách",
    "waiting": "Danh sách chờ (thiếu quà)",
    "awaiting_group": "Chờ quyết định nhóm",
    "left_out": "Không chọn (quyết định)",
}
_BELOW = "below_threshold"
_GAP = "in_gap"


@dataclass
class ClassifyResult:
    """What a classification produced (or would produce, with `dry_run`)."""

    batch: int
    care_month: str
    cycles: list[str]
    rule: str
    groups: dict[int, int] = field(default_factory=dict)
    in_gap: int = 0
    waiting: int = 0
    not_eligible: dict[str, int] = field(default_factory=dict)
    by_district: dict[str, dict[str, int]] = field(default_factory=dict)
    added: int = 0
    kept: int = 0
    no_longer_qualify: dict[str, int] = field(default_factory=dict)
    rule_problems: list[str] = field(default_factory=list)
    dry_run: bool = False

    def to_json(self) -> dict[str, Any]:
        """The command line's JSON output."""
        data: dict[str, Any] = {
            "batch": self.batch, "care_month": self.care_month, "cycles": self.cycles,
            "rule": self.rule, "in_gap": self.in_gap, "waiting": self.waiting,
            "not_eligible": self.not_eligible, "by_district": self.by_district,
            "added": self.added, "kept": self.kept,
            "no_longer_qualify": self.no_longer_qualify, "rule_problems": self.rule_problems,
            "dry_run": self.dry_run,
        }
        for number, count in sorted(self.groups.items()):
            data[f"group_{number}"] = count
        return data


def _rules(programme: Programme) -> list[GroupRule]:
    return list(group_rules(programme))


def _contains(basis: Any, group: GroupRule) -> Any:
    parts = []
    if group.lower is not None:
        parts.append(basis >= group.lower if group.lower_inclusive else basis > group.lower)
    if group.upper is not None:
        parts.append(basis <= group.upper if group.upper_inclusive else basis < group.upper)
    return and_(*parts) if parts else true()


def _below_all(basis: Any, groups: Sequence[GroupRule]) -> Any:
    parts = []
    for g in groups:
        if g.lower is None:
            return literal(False)
        parts.append(basis < g.lower if g.lower_inclusive else basis <= g.lower)
    return and_(*parts)


def area_new_names(area: Sequence[str]) -> list[str]:
    """Post-2025 provinces lying wholly inside an area given in pre-2025 names."""
    old = set(area)
    return [name for name in new_provinces()
            if (olds := old_provinces_of(name)) and set(olds) <= old]


def _decisions(session: Session, programme: Programme, batch: Batch,
               cycles: tuple[int, int, int], ids: Sequence[int] | None = None) -> Select[Any]:
    """One row per stored subscriber (or those in `ids`): id, outcome (`group:N`, `in_gap` or
    a reason), basis, the three charges. All the rule is in this query."""
    s = aliased(Subscriber, name="s")
    c1, c2, c3 = (aliased(Charge, name=f"c{i}") for i in (1, 2, 3))
    groups = _rules(programme)
    dialect = session.get_bind().dialect.name
    amounts = (c1.amount, c2.amount, c3.amount)
    if programme.aggregation == "average":
        # Integer division of non-negative whole đồng rounds down, in SQLite and PostgreSQL.
        basis: Any = cast(c1.amount + c2.amount + c3.amount, Integer) // 3
    elif dialect == "sqlite":
        basis = func.min(*amounts)
    else:
        basis = func.least(*amounts)
    other_batch = exists().where(
        CareCase.programme_id == programme.id, CareCase.subscriber_id == s.id,
        CareCase.batch_id != batch.id)
    excluded = exists().where(Exclusion.programme_id == programme.id,
                              Exclusion.msisdn == s.msisdn)
    other = aliased(CareCase, name="other")
    gifted = exists().where(
        other.subscriber_id == s.id, other.programme_id != programme.id,
        other.handed_over_at.is_not(None),
        other.programme_id.in_(select(Programme.id).where(Programme.status == "open")))
    area = list(programme.provinces)
    # NULL-safe: an unknown province (or an unknown post-2025 name) is simply not in the area.
    in_area = or_(
        and_(s.province.is_not(None), s.province.in_(area)),
        and_(s.province_new.is_not(None), s.province_new.in_(area_new_names(area))),
    )
    group_case = case(
        *((_contains(basis, g), literal(f"group:{g.number}")) for g in groups),
        (_below_all(basis, groups), literal(_BELOW)),
        else_=literal(_GAP),
    )
    outcome = case(
        (other_batch, literal("on_earlier_batch")),
        (s.status != "active", literal("not_active")),
        (not_(in_area), literal("outside_area")),
        (or_(s.in_other_programme.is_(True), excluded, gifted), literal("in_other_programme")),
        (or_(*(a.is_(None) for a in amounts)), literal("missing_cycle")),
        else_=group_case,
    ).label("outcome")
    query = (
        select(s.id.label("id"), outcome, basis.label("basis"), c1.amount.label("a1"),
               c2.amount.label("a2"), c3.amount.label("a3"), s.district.label("district"))
        .select_from(s)
        .outerjoin(c1, and_(c1.subscriber_id == s.id, c1.cycle == cycles[0]))
        .outerjoin(c2, and_(c2.subscriber_id == s.id, c2.cycle == cycles[1]))
        .outerjoin(c3, and_(c3.subscriber_id == s.id, c3.cycle == cycles[2]))
    )
    return query if ids is None else query.where(s.id.in_(ids))


def _load(session: Session, programme_id: int | None, batch_number: int,
          care_month: str | None) -> tuple[Programme, Batch]:
    pid = resolve_programme_id(session, programme_id)
    programme = session.get(Programme, pid)
    assert programme is not None
    batch = get_batch(session, pid, batch_number)
    if care_month is not None:
        try:
            batch.care_year, batch.care_month = parse_month(care_month)
        except ValueProblem as exc:
            raise UsageError(
                f"Tháng chăm sóc '{care_month}' không hợp lệ: viết MM/YYYY, ví dụ 09/2017."
            ) from exc
    return programme, batch


def _cycles(batch: Batch) -> tuple[int, int, int]:
    return tuple(  # type: ignore[return-value]
        cycle_code(*shift_month(batch.care_year, batch.care_month, -k)) for k in (3, 4, 5))


def classify_batch(
    factory: sessionmaker[Session], *, programme_id: int | None = None, batch: int,
    care_month: str | None = None, dry_run: bool = False, plan: dict[int, int] | None = None,
    actor: Actor, progress: Progress | None = None,
) -> ClassifyResult:
    """Build (or extend) batch `batch`'s care list. Runs on a worker: no UI calls here.

    Args:
        factory: session factory.
        programme_id: the programme (None when only one exists).
        batch: the batch number.
        care_month: `MM/YYYY`, sets the batch's care month first.
        dry_run: compute and report everything, change nothing.
        plan: gifts planned per gift type number; beyond it, eligible subscribers wait.
        actor: who classifies (recorded; needs the `manage` permission).
        progress: progress token.

    Returns:
        Counts per group, gap, waiting list, reasons and district.

    Raises:
        PermissionProblem: the actor may not classify.
        NotFoundError: no such programme or batch.
        UsageError: a bad care month.
    """
    actor.require("manage")
    user = actor.name
    progress = progress or NullProgress()
    with UnitOfWork(factory, write=True) as uow:
        session = uow.session
        programme, batch_row = _load(session, programme_id, batch, care_month)
        if plan:
            batch_row.gift_plan = {str(k): int(v) for k, v in plan.items()}
        cycles = _cycles(batch_row)
        groups = _rules(programme)
        result = ClassifyResult(
            batch=batch, care_month=f"{batch_row.care_month:02d}/{batch_row.care_year}",
            cycles=[format_cycle(c) for c in cycles],
            rule=describe_rule(groups, programme.aggregation),
            groups={g.number: 0 for g in groups}, dry_run=dry_run,
            rule_problems=[p.text for p in check_groups(groups)],
        )
        session.flush()
        progress.report(0, 0, "Đang xếp danh sách…")
        # One pass: every stored subscriber's outcome goes into `left_out` (a narrow table);
        # the few that are eligible are taken back out below.
        session.execute(delete(LeftOut).where(LeftOut.batch_id == batch_row.id))
        decisions = _decisions(session, programme, batch_row, cycles).subquery("d")
        session.execute(insert(LeftOut).from_select(
            ["batch_id", "subscriber_id", "reason"],
            select(literal(batch_row.id), decisions.c.id, decisions.c.outcome)))
        existing = {
            sid: (state, group)
            for sid, state, group in session.execute(
                select(CareCase.subscriber_id, CareCase.state, CareCase.group_number)
                .where(CareCase.batch_id == batch_row.id))
        }
        eligible = or_(LeftOut.reason.like("group:%"), LeftOut.reason == _GAP)
        outcome_of = dict(session.execute(
            select(LeftOut.subscriber_id, LeftOut.reason)
            .where(LeftOut.batch_id == batch_row.id, eligible)).all())
        still: dict[int, str] = {}
        ids = list(existing)
        for start in range(0, len(ids), 900):
            still.update(session.execute(
                select(LeftOut.subscriber_id, LeftOut.reason)
                .where(LeftOut.batch_id == batch_row.id,
                       LeftOut.subscriber_id.in_(ids[start:start + 900]))).all())
        no_longer: dict[int, str] = {}
        for sid, (state, group) in existing.items():
            now = still.get(sid)
            if state in ("listed", "waiting") and now != f"group:{group}":
                reason = now if now and not now.startswith("group:") else "other_group"
                no_longer[sid] = reason
                result.no_longer_qualify[reason] = result.no_longer_qualify.get(reason, 0) + 1
        # Whoever is eligible or already on this batch's list is not "left out".
        session.execute(delete(LeftOut).where(LeftOut.batch_id == batch_row.id, eligible))
        for start in range(0, len(ids), 900):
            session.execute(delete(LeftOut).where(
                LeftOut.batch_id == batch_row.id,
                LeftOut.subscriber_id.in_(ids[start:start + 900])))
        not_eligible = Counter(dict(session.execute(
            select(LeftOut.reason, func.count()).where(LeftOut.batch_id == batch_row.id)
            .group_by(LeftOut.reason)).all()))
        district_counts: dict[str, Counter[str]] = {}
        fresh_ids = [sid for sid in outcome_of if sid not in existing]
        fresh: list[Any] = []
        for start in range(0, len(fresh_ids), 900):
            fresh.extend(session.execute(
                _decisions(session, programme, batch_row, cycles,
                           fresh_ids[start:start + 900])).all())
        entries = _new_entries(session, programme, batch_row, cycles, groups, fresh)
        _order_by_stock(entries, batch_row.gift_plan,
                        [e for e in _existing_entries(session, batch_row.id)])
        for entry in entries:
            district = entry["district"] or "(không rõ)"
            key = (f"group_{entry['group_number']}" if entry["state"] == "listed"
                   else entry["state"])
            district_counts.setdefault(district, Counter())[key] += 1
        result.added = len(entries)
        result.kept = len(existing)
        everyone = entries + _existing_entries(session, batch_row.id)
        for entry in everyone:
            if entry["state"] == "listed":
                result.groups[entry["group_number"]] = \
                    result.groups.get(entry["group_number"], 0) + 1
            elif entry["state"] == "waiting":
                result.waiting += 1
            elif entry["state"] == "awaiting_group":
                result.in_gap += 1
        result.not_eligible = dict(sorted(not_eligible.items()))
        result.by_district = {d: dict(c) for d, c in sorted(district_counts.items())}
        if dry_run:
            return result  # the unit of work rolls back: nothing stays
        if entries:
            session.execute(insert(CareCase), entries)
        for sid, reason in no_longer.items():
            session.execute(update(CareCase).where(CareCase.batch_id == batch_row.id,
                                                   CareCase.subscriber_id == sid)
                            .values(no_longer_qualifies=reason))
        session.add(Classification(batch_id=batch_row.id, user=user,
                                   rule_version=programme.rule_version,
                                   counts=result.to_json()))
        uow.commit()
        logger.info("classify batch %d: %s in groups, %d gap, %d waiting, %d added",
                    batch, result.groups, result.in_gap, result.waiting, result.added)
        return result


def _existing_entries(session: Session, batch_id: int) -> list[dict[str, Any]]:
    return [
        {"state": state, "group_number": group, "gift_type_number": gift, "basis": basis,
         "tenure_years": years, "msisdn": number, "district": district, "_existing": True}
        for state, group, gift, basis, years, number, district in session.execute(
            select(CareCase.state, CareCase.group_number, CareCase.gift_type_number,
                   CareCase.basis, CareCase.tenure_years, Subscriber.msisdn,
                   CareCase.district)
            .join(Subscriber, Subscriber.id == CareCase.subscriber_id)
            .where(CareCase.batch_id == batch_id))
    ]


def _new_entries(session: Session, programme: Programme, batch: Batch,
                 cycles: tuple[int, int, int], groups: Sequence[GroupRule],
                 rows: Sequence[Any]) -> list[dict[str, Any]]:
    """Care-list entries (as insert dicts) for the eligible subscribers not yet listed."""
    by_number = {g.number: g for g in groups}
    facts: dict[int, Any] = {}
    ids = [r.id for r in rows]
    for start in range(0, len(ids), 900):
        for sub in session.execute(
            select(Subscriber.id, Subscriber.msisdn, Subscriber.subscriber_type,
                   Subscriber.status, Subscriber.province, Subscriber.district,
                   Subscriber.store, Subscriber.activation_date, Subscriber.name)
            .where(Subscriber.id.in_(ids[start:start + 900]))
        ):
            facts[sub.id] = sub
    now = utcnow()
    entries = []
    for row in rows:
        sub = facts[row.id]
        group = int(row.outcome.split(":")[1]) if row.outcome.startswith("group:") else None
        rule = by_number.get(group) if group is not None else None
        years = tenure_years(parse_date(sub.activation_date), batch.care_year, batch.care_month)
        store = sub.store or default_store(sub.province, sub.district)
        delivery = rule.delivery if rule else None
        if delivery == "visit":
            responsible = f"Trưởng MobiFone {sub.district}" if sub.district else \
                "Trưởng MobiFone Quận/Huyện"
        elif delivery == "store":
            responsible = f"Giao dịch viên {store}" if store else "Giao dịch viên cửa hàng"
        else:
            responsible = None
        entries.append({
            "programme_id": programme.id, "batch_id": batch.id, "subscriber_id": row.id,
            "state": "listed" if rule else "awaiting_group",
            "reason_code": f"group_{group}" if rule else _GAP,
            "group_number": group, "delivery": delivery,
            "gift_type_number": rule.gift_type if rule else None,
            "basis": int(row.basis), "cycle_1": cycles[0], "cycle_2": cycles[1],
            "cycle_3": cycles[2], "charge_1": row.a1, "charge_2": row.a2, "charge_3": row.a3,
            "aggregation": programme.aggregation, "rule_version": programme.rule_version,
            "subscriber_type": sub.subscriber_type, "subscriber_status": sub.status,
            "province": sub.province, "district": sub.district, "store": store,
            "search_name": fold(sub.name) if sub.name else None,
            "responsible": responsible, "tenure_years": years,
            "tenure_band": tenure_band(years, programme.tenure_bands),
            "waiting_rank": None, "created_at": now, "has_work": False,
            "msisdn": sub.msisdn,
        })
    return entries


def _order_by_stock(entries: list[dict[str, Any]], plan: dict[str, int],
                    existing: list[dict[str, Any]]) -> None:
    """Beyond the gifts planned for a gift type, the rest wait: higher basis first, then
    longer tenure, then the number. Entries already on the list keep their place."""
    for key, quantity in plan.items():
        gift_type = int(key)
        taken = sum(1 for e in existing if e["gift_type_number"] == gift_type
                    and e["state"] == "listed")
        waiting_before = sum(1 for e in existing if e["gift_type_number"] == gift_type
                             and e["state"] == "waiting")
        candidates = [e for e in entries
                      if e["gift_type_number"] == gift_type and e["state"] == "listed"]
        candidates.sort(key=lambda e: (-e["basis"], -(e["tenure_years"] if e["tenure_years"]
                                                      is not None else -1), e["msisdn"]))
        room = max(quantity - taken, 0)
        for rank, entry in enumerate(candidates[room:], start=waiting_before + 1):
            entry["state"] = "waiting"
            entry["reason_code"] = "waiting_for_stock"
            entry["waiting_rank"] = rank
    for entry in entries:
        entry.pop("msisdn", None)


# --- explaining and deciding ----------------------------------------------------------------

@dataclass
class Explanation:
    """Why a subscriber is or is not on the programme's care list, in Vietnamese."""

    msisdn: str
    name: str | None
    lines: list[str]
    state: str | None = None
    group: int | None = None
    batch: int | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON output of `explain`."""
        return {"msisdn": self.msisdn, "name": self.name, "state": self.state,
                "group": self.group, "batch": self.batch, "explanation": self.lines}


def _rule_words(rule: GroupRule, aggregation: str) -> str:
    parts = []
    if rule.lower is not None:
        parts.append(f"{'từ' if rule.lower_inclusive else 'trên'} {format_money(rule.lower)}")
    if rule.upper is not None:
        word = "đến" if rule.upper_inclusive else ("đến dưới" if parts else "dưới")
        parts.append(f"{word} {format_money(rule.upper)}")
    bound = " ".join(parts).replace(" đ đến", " đến")
    return f"mỗi chu kỳ {bound}" if aggregation == "every_cycle" else f"bình quân {bound}"


def _amounts(values: Sequence[int | None]) -> str:
    return ", ".join("trống" if v is None else format_money(v).removesuffix(" đ")
                     for v in values) + " đ"


def _subscriber(session: Session, msisdn: str) -> Subscriber:
    try:
        number = parse_msisdn(msisdn).number
    except ValueProblem as exc:
        raise UsageError(f"Số thuê bao '{msisdn}' không hợp lệ.") from exc
    sub = session.scalar(select(Subscriber).where(Subscriber.msisdn == number))
    if sub is None:
        raise NotFoundError(f"Không có thuê bao {number} trong cơ sở dữ liệu.")
    return sub


def explain(factory: sessionmaker[Session], msisdn: str, *, actor: Actor,
            programme_id: int | None = None) -> Explanation:
    """The decisions about one subscriber: the frozen care-list entry, or each batch's reason.

    Raises:
        PermissionProblem: the actor may not open lists, or the subscriber is not in his
            district or store.
        NotFoundError: unknown subscriber or programme.
        UsageError: the number cannot be read.
    """
    actor.require("view_lists")
    with UnitOfWork(factory) as uow:
        session = uow.session
        pid = resolve_programme_id(session, programme_id)
        programme = session.get(Programme, pid)
        assert programme is not None
        sub = _subscriber(session, msisdn)
        rules = {r.number: r for r in _rules(programme)}
        out = Explanation(sub.msisdn, sub.name, [])
        case_row = session.scalar(select(CareCase).where(
            CareCase.programme_id == pid, CareCase.subscriber_id == sub.id))
        if case_row is not None:
            actor.require_sees(case_row.district, case_row.store, f"Thuê bao {sub.msisdn}")
        else:
            actor.require_sees(sub.district, sub.store, f"Thuê bao {sub.msisdn}")
        if case_row is not None:
            batch = session.get(Batch, case_row.batch_id)
            assert batch is not None
            out.state, out.group, out.batch = case_row.state, case_row.group_number, batch.number
            cycles = ", ".join(format_cycle(c) for c in (case_row.cycle_1, case_row.cycle_2,
                                                         case_row.cycle_3))
            values = _amounts((case_row.charge_1, case_row.charge_2, case_row.charge_3))
            head = f"Đợt {batch.number} (tháng chăm sóc {batch.care_month:02d}/{batch.care_year})"
            basis = (f"mức thấp nhất {format_money(case_row.basis)}"
                     if case_row.aggregation == "every_cycle"
                     else f"bình quân {format_money(case_row.basis)}")
            rule = rules.get(case_row.group_number or 0)
            decided = case_row.reason_code.startswith("decided_group")
            if case_row.state in ("listed", "waiting") and rule is not None:
                why = (f"{basis} không thuộc nhóm nào theo quy định; xếp Nhóm {rule.number} theo "
                       "quyết định" if decided else _rule_words(rule, case_row.aggregation))
                out.lines.append(
                    f"{head} – Nhóm {rule.number}: cước 3 chu kỳ {cycles} là {values} — {why}.")
                how = DELIVERY_WORDS[rule.delivery]
                out.lines.append(f"Hình thức: {how}; quà loại {rule.gift_type}; "
                                 f"{case_row.responsible or ''}".rstrip("; "))
                if case_row.state == "waiting":
                    out.lines.append(
                        f"Trong danh sách chờ, thứ tự {case_row.waiting_rank}: quà loại "
                        f"{case_row.gift_type_number} của đợt đã hết theo kế hoạch.")
            elif case_row.state == "awaiting_group":
                out.lines.append(
                    f"{head} – Chờ quyết định nhóm: cước 3 chu kỳ {cycles} là {values}, "
                    f"{basis} không thuộc nhóm nào theo quy định hiện hành.")
            elif case_row.state == "left_out":
                out.lines.append(f"{head} – Không chọn theo quyết định của "
                                 f"{case_row.decided_by or 'cán bộ'}: {case_row.decision_note}.")
            if case_row.decided_by and case_row.state != "left_out":
                out.lines.append(f"Quyết định nhóm bởi {case_row.decided_by}: "
                                 f"{case_row.decision_note}.")
            if case_row.tenure_years is not None:
                out.lines.append(f"Năm sử dụng: {case_row.tenure_years} "
                                 f"({case_row.tenure_band}).")
            if case_row.no_longer_qualifies:
                out.lines.append("Lưu ý: theo dữ liệu mới nhất thuê bao không còn đủ điều kiện "
                                 f"({REASONS.get(case_row.no_longer_qualifies, '')}).")
            return out
        for batch, reason in session.execute(
            select(Batch, LeftOut.reason).join(LeftOut, LeftOut.batch_id == Batch.id)
            .where(LeftOut.subscriber_id == sub.id, Batch.programme_id == pid)
            .order_by(Batch.number)
        ):
            out.lines.append(f"Đợt {batch.number} (tháng chăm sóc {batch.care_month:02d}/"
                             f"{batch.care_year}): không đưa vào danh sách – "
                             f"{_reason_detail(session, programme, batch, sub, reason)}.")
        if not out.lines:
            out.lines.append("Chưa xếp danh sách đợt nào có thuê bao này.")
        return out


def _reason_detail(session: Session, programme: Programme, batch: Batch, sub: Subscriber,
                   reason: str) -> str:
    base = REASONS.get(reason, reason)
    if reason == "not_active":
        words = {"blocked_one_way": "chặn 1 chiều", "blocked_two_way": "chặn 2 chiều",
                 "cancelled": "đã hủy"}
        return f"{base} (trạng thái: {words.get(sub.status, sub.status)})"
    if reason == "outside_area":
        return f"{base} (tỉnh/thành phố: {sub.province or 'không rõ'})"
    if reason == "in_other_programme":
        sources = []
        if sub.in_other_programme:
            sources.append("cột tham gia CT khác trong tệp trích xuất")
        if session.scalar(select(Exclusion.id).where(Exclusion.programme_id == programme.id,
                                                     Exclusion.msisdn == sub.msisdn)):
            sources.append("danh sách loại trừ")
        if not sources:
            sources.append("đã nhận quà trong chương trình khác đang mở")
        return f"{base} (theo {', '.join(sources)})"
    cycles = _cycles(batch)
    amounts = dict(session.execute(select(Charge.cycle, Charge.amount).where(
        Charge.subscriber_id == sub.id, Charge.cycle.in_(cycles))).all())
    if reason == "missing_cycle":
        missing = [format_cycle(c) for c in cycles if c not in amounts]
        return f"{base} ({', '.join(missing)})"
    if reason == "below_threshold":
        values = _amounts([amounts.get(c) for c in cycles])
        return (f"{base}: cước 3 chu kỳ {', '.join(format_cycle(c) for c in cycles)} là "
                f"{values}")
    return base


def decide_gap(factory: sessionmaker[Session], msisdn: str, *, group: int | None, actor: Actor,
               note: str, programme_id: int | None = None) -> Explanation:
    """Record staff's decision on a gap case: put it in a group, or leave it out.

    Raises:
        PermissionProblem: the actor may not decide (`manage`).
        RuleError: the subscriber is not awaiting a group decision.
        UsageError: no reason given, or no such group.
    """
    actor.require("manage")
    by = actor.name
    if not note.strip():
        raise UsageError("Cần ghi lý do của quyết định (--note).")
    with UnitOfWork(factory, write=True) as uow:
        session = uow.session
        pid = resolve_programme_id(session, programme_id)
        programme = session.get(Programme, pid)
        assert programme is not None
        sub = _subscriber(session, msisdn)
        entry = session.scalar(select(CareCase).where(
            CareCase.programme_id == pid, CareCase.subscriber_id == sub.id))
        if entry is None or entry.state != "awaiting_group":
            state = STATES.get(entry.state, entry.state) if entry else "không có trong danh sách"
            raise RuleError(f"Thuê bao {sub.msisdn} không chờ quyết định nhóm ({state}).")
        if group is None:
            entry.state, entry.reason_code = "left_out", "decided_out"
        else:
            rule = {r.number: r for r in _rules(programme)}.get(group)
            if rule is None:
                raise UsageError(f"Chương trình không có nhóm {group}.")
            entry.state, entry.reason_code = "listed", f"decided_group_{group}"
            entry.group_number, entry.delivery = group, rule.delivery
            entry.gift_type_number = rule.gift_type
            entry.responsible = (f"Trưởng MobiFone {entry.district}" if rule.delivery == "visit"
                                 else f"Giao dịch viên {entry.store or 'cửa hàng'}")
        entry.decided_by, entry.decided_at, entry.decision_note = by or "?", utcnow(), note
        uow.commit()
        logger.info("gap decision on case %d: group %s", entry.id, group)
    return explain(factory, msisdn, actor=actor, programme_id=programme_id)


def rule_check(factory: sessionmaker[Session], programme_id: int | None = None) -> list[str]:
    """Gaps and overlaps between the programme's groups, in words."""
    with UnitOfWork(factory) as uow:
        pid = resolve_programme_id(uow.session, programme_id)
        programme = uow.session.get(Programme, pid)
        assert programme is not None
        return [p.text for p in check_groups(_rules(programme))]



@dataclass(frozen=True)
class GapCase:
    """A subscriber awaiting a group decision, as the decision dialog lists it."""

    case_id: int
    msisdn: str
    name: str | None
    district: str | None
    charges: tuple[int, int, int]
    basis: int
    batch: int


def gap_cases(factory: sessionmaker[Session], *, actor: Actor, programme_id: int | None = None,
              batch: int | None = None) -> list[GapCase]:
    """Entries awaiting a group decision (of one batch, or all), by number (`manage`)."""
    actor.require("manage")
    with UnitOfWork(factory) as uow:
        pid = resolve_programme_id(uow.session, programme_id)
        query = (
            select(CareCase.id, Subscriber.msisdn, Subscriber.name, CareCase.district,
                   CareCase.charge_1, CareCase.charge_2, CareCase.charge_3, CareCase.basis,
                   Batch.number)
            .join(Subscriber, Subscriber.id == CareCase.subscriber_id)
            .join(Batch, Batch.id == CareCase.batch_id)
            .where(CareCase.programme_id == pid, CareCase.state == "awaiting_group")
            .order_by(Subscriber.msisdn)
        )
        if batch is not None:
            query = query.where(Batch.number == batch)
        return [GapCase(r[0], r[1], r[2], r[3], (r[4], r[5], r[6]), r[7], r[8])
                for r in uow.session.execute(query)]
