"""Programme use cases: create one, find it, describe it, edit its rules with an audit trail."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.domain.actors import Actor
from mbfcare.domain.programme_spec import (
    AGGREGATIONS,
    DELIVERIES,
    DELIVERY_WORDS,
    BatchSpec,
    GiftItemSpec,
    GiftTypeSpec,
    GroupRule,
    ProgrammeSpec,
    load_programme_spec,
)
from mbfcare.domain.values import format_money, format_number
from mbfcare.errors import ConflictError, NotFoundError, UsageError, ValidationError
from mbfcare.models import (
    Batch,
    CareCase,
    GiftItem,
    GiftType,
    Programme,
    ProgrammeChange,
    ProgrammeGroup,
    Subscriber,
)
from mbfcare.paths import reference_file
from mbfcare.uow import UnitOfWork

logger = logging.getLogger(__name__)


def default_programme_spec() -> ProgrammeSpec:
    """The source document's programme (CSKH 2017, Region 5)."""
    return load_programme_spec(reference_file("programme_default.toml"))


def create_programme(factory: sessionmaker[Session], spec: ProgrammeSpec, *, actor: Actor
                     ) -> int:
    """Store a programme with its groups, gift types and items, and batches.

    Returns:
        The new programme's id.

    Raises:
        PermissionProblem: the actor may not change programmes (`manage`).
    """
    actor.require("manage")
    with UnitOfWork(factory, write=True) as uow:
        programme = Programme(
            name=spec.name, year=spec.year, region=spec.region, province=spec.province,
            aggregation=spec.aggregation, provinces=list(spec.provinces),
            tenure_bands=list(spec.tenure_bands), extra=dict(spec.extra),
        )
        for g in spec.groups:
            programme.groups.append(ProgrammeGroup(
                number=g.number, name=g.name, lower_bound=g.lower,
                lower_inclusive=g.lower_inclusive, upper_bound=g.upper,
                upper_inclusive=g.upper_inclusive, delivery=g.delivery,
                gift_type_number=g.gift_type,
            ))
        uow.session.add(programme)
        uow.session.flush()
        for t in spec.gift_types:
            gift_type = GiftType(number=t.number, name=t.name)
            programme.gift_types.append(gift_type)
            for item in t.items:
                gift_type.items.append(
                    GiftItem(programme_id=programme.id, code=item.code, name=item.name)
                )
        for b in spec.batches:
            programme.batches.append(Batch(
                number=b.number, care_year=b.care_year, care_month=b.care_month,
                gift_plan={str(k): int(v) for k, v in b.gift_plan.items()},
            ))
        uow.commit()
        logger.info("programme %d created by %s: %s", programme.id, actor.role, spec.name)
        return programme.id


def resolve_programme_id(session: Session, programme_id: int | None) -> int:
    """The programme named, or the only one when none is named.

    Raises:
        NotFoundError: no such programme, or none exists yet.
        UsageError: several exist and none was named.
    """
    if programme_id is not None:
        if session.get(Programme, programme_id) is None:
            raise NotFoundError(f"Không có chương trình số {programme_id}.")
        return programme_id
    ids = session.scalars(select(Programme.id).order_by(Programme.id).limit(2)).all()
    if not ids:
        raise NotFoundError(
            "Chưa có chương trình nào. Tạo chương trình trước: mbfcare programme create."
        )
    if len(ids) > 1:
        raise UsageError("Có nhiều chương trình: chọn một bằng --programme ID.")
    return ids[0]


@dataclass(frozen=True)
class BatchInfo:
    """A batch as shown to users."""

    number: int
    care_year: int
    care_month: int

    @property
    def care_month_text(self) -> str:
        """`MM/YYYY`."""
        return f"{self.care_month:02d}/{self.care_year}"


@dataclass(frozen=True)
class ProgrammeSummary:
    """What the main window and `programme show` tell about a programme."""

    id: int
    name: str
    year: int
    region: str
    aggregation: str
    provinces: tuple[str, ...]
    batches: tuple[BatchInfo, ...]
    group_names: tuple[str, ...]
    subscriber_count: int
    gift_types: tuple[int, ...] = ()


def list_programmes(factory: sessionmaker[Session]) -> list[ProgrammeSummary]:
    """Every programme with its batches, and the number of subscribers stored."""
    with UnitOfWork(factory) as uow:
        count = uow.session.scalar(select(func.count()).select_from(Subscriber)) or 0
        result = []
        for p in uow.session.scalars(select(Programme).order_by(Programme.id)):
            result.append(ProgrammeSummary(
                id=p.id, name=p.name, year=p.year, region=p.region, aggregation=p.aggregation,
                provinces=tuple(p.provinces),
                batches=tuple(BatchInfo(b.number, b.care_year, b.care_month) for b in p.batches),
                group_names=tuple(g.name for g in p.groups), subscriber_count=count,
                gift_types=tuple(t.number for t in p.gift_types),
            ))
        return result


def get_batch(session: Session, programme_id: int, number: int) -> Batch:
    """Batch `number` of a programme.

    Raises:
        NotFoundError: the programme has no such batch.
    """
    batch = session.scalar(
        select(Batch).where(Batch.programme_id == programme_id, Batch.number == number)
    )
    if batch is None:
        raise NotFoundError(f"Chương trình {programme_id} không có đợt {number}.")
    return batch


# --- reading and editing the rules (Cài đặt › Chương trình) ---------------------------------

_AGGREGATION_WORDS = {"every_cycle": "mỗi chu kỳ đều đạt", "average": "bình quân 3 chu kỳ"}


class FrozenListsError(ConflictError):
    """The programme already has care lists; saving needs the user's confirmation.

    Attributes:
        counts: care-list entries per batch number.
        changes: the summary lines of the refused change.
    """

    def __init__(self, message: str, counts: dict[int, int], changes: tuple[str, ...]) -> None:
        super().__init__(message)
        self.counts = counts
        self.changes = changes


@dataclass(frozen=True)
class ProgrammeUpdate:
    """What `update_programme` did."""

    programme_id: int
    changed: bool
    rule_version_before: int
    rule_version_after: int
    summary: tuple[str, ...]


@dataclass(frozen=True)
class ChangeDTO:
    """One entry of a programme's change history."""

    id: int
    at: dt.datetime
    user: str
    rule_version_before: int
    rule_version_after: int
    summary: str
    before: dict[str, Any]
    after: dict[str, Any]


def spec_to_dict(spec: ProgrammeSpec) -> dict[str, Any]:
    """The spec as JSON-able tables of the programme file's shape (`parse_programme_spec`)."""
    def group(g: GroupRule) -> dict[str, Any]:
        table: dict[str, Any] = {"number": g.number, "name": g.name}
        if g.lower is not None:
            table |= {"lower": g.lower, "lower_inclusive": g.lower_inclusive}
        if g.upper is not None:
            table |= {"upper": g.upper, "upper_inclusive": g.upper_inclusive}
        return table | {"delivery": g.delivery, "gift_type": g.gift_type}

    return {
        "name": spec.name, "year": spec.year, "region": spec.region, "province": spec.province,
        "aggregation": spec.aggregation, "provinces": list(spec.provinces),
        "tenure_bands": list(spec.tenure_bands),
        "groups": [group(g) for g in spec.groups],
        "gift_types": [
            {"number": t.number, "name": t.name,
             "items": [{"code": i.code, "name": i.name} for i in t.items]}
            for t in spec.gift_types
        ],
        "batches": [
            {"number": b.number, "care_month": f"{b.care_month:02d}/{b.care_year}",
             "gift_plan": {str(k): v for k, v in sorted(b.gift_plan.items())}}
            for b in spec.batches
        ],
        **spec.extra,
    }


def validate_spec(spec: ProgrammeSpec) -> list[str]:
    """Everything that makes the rules unusable, one Vietnamese sentence each (pure).

    Gaps and overlaps between groups are not here: they are warnings (`rules.check_groups`),
    since the document's own rule leaves 700.000 đ out.
    """
    problems: list[str] = []
    if not spec.name.strip():
        problems.append("Tên chương trình không được để trống.")
    if spec.aggregation not in AGGREGATIONS:
        problems.append(f"Cách tính mức cước căn cứ không hợp lệ ({spec.aggregation!r}).")
    type_numbers = [t.number for t in spec.gift_types]
    for number in sorted({n for n in type_numbers if type_numbers.count(n) > 1}):
        problems.append(f"Số loại quà {number} bị trùng.")
    codes = [item.code.strip() for t in spec.gift_types for item in t.items]
    for t in spec.gift_types:
        if t.number < 1:
            problems.append(f"Số loại quà phải từ 1 trở lên ({t.number}).")
        if not t.items:
            problems.append(f"Quà loại {t.number} chưa có món quà nào.")
        for item in t.items:
            if not item.code.strip():
                problems.append(f"Quà loại {t.number}: món quà thiếu mã.")
            elif any(c.isspace() for c in item.code.strip()):
                problems.append(f"Mã quà {item.code.strip()!r} không được chứa dấu cách.")
            if not item.name.strip():
                problems.append(f"Quà loại {t.number}: món quà {item.code} thiếu tên.")
    for code in sorted({c for c in codes if c and codes.count(c) > 1}):
        problems.append(f"Mã quà {code} bị trùng.")
    if not spec.groups:
        problems.append("Chương trình phải có ít nhất một nhóm.")
    group_numbers = [g.number for g in spec.groups]
    for number in sorted({n for n in group_numbers if group_numbers.count(n) > 1}):
        problems.append(f"Số nhóm {number} bị trùng.")
    for g in spec.groups:
        where = f"Nhóm {g.number}"
        if g.number < 1:
            problems.append(f"Số nhóm phải từ 1 trở lên ({g.number}).")
        if g.lower is None and g.upper is None:
            problems.append(f"{where} phải có ít nhất một cận (dưới hoặc trên).")
        if any(b is not None and b < 0 for b in (g.lower, g.upper)):
            problems.append(f"{where}: mức cước không được âm.")
        if g.lower is not None and g.upper is not None and g.lower > g.upper:
            problems.append(f"{where}: cận dưới lớn hơn cận trên.")
        if g.delivery not in DELIVERIES:
            problems.append(f"{where}: cách trao quà không hợp lệ ({g.delivery!r}).")
        if g.gift_type not in type_numbers:
            problems.append(f"{where}: không có quà loại {g.gift_type}.")
    bands = list(spec.tenure_bands)
    if not bands or bands[0] != 0 or bands != sorted(set(bands)):
        problems.append("Các mốc năm sử dụng phải tăng dần và bắt đầu bằng 0.")
    batch_numbers = [b.number for b in spec.batches]
    for number in sorted({n for n in batch_numbers if batch_numbers.count(n) > 1}):
        problems.append(f"Số đợt {number} bị trùng.")
    for b in spec.batches:
        if b.number < 1:
            problems.append(f"Số đợt phải từ 1 trở lên ({b.number}).")
        if not (1 <= b.care_month <= 12 and 2000 <= b.care_year <= 2100):
            problems.append(f"Đợt {b.number}: tháng chăm sóc không hợp lệ.")
        for gift_type, quantity in sorted(b.gift_plan.items()):
            if gift_type not in type_numbers:
                problems.append(f"Đợt {b.number}: không có quà loại {gift_type}.")
            if quantity < 0:
                problems.append(f"Đợt {b.number}: số quà dự kiến không được âm.")
    return problems


def group_rules(programme: Programme) -> tuple[GroupRule, ...]:
    """The programme's stored groups as rules (classification, exports, the editor)."""
    return tuple(
        GroupRule(number=g.number, name=g.name, lower=g.lower_bound,
                  lower_inclusive=g.lower_inclusive, upper=g.upper_bound,
                  upper_inclusive=g.upper_inclusive, delivery=g.delivery,
                  gift_type=g.gift_type_number)
        for g in programme.groups
    )


def _spec_of(programme: Programme) -> ProgrammeSpec:
    return ProgrammeSpec(
        name=programme.name, year=programme.year, region=programme.region,
        province=programme.province, aggregation=programme.aggregation,
        provinces=tuple(programme.provinces), tenure_bands=tuple(programme.tenure_bands),
        groups=group_rules(programme),
        gift_types=tuple(
            GiftTypeSpec(t.number, t.name,
                         tuple(GiftItemSpec(i.code, i.name) for i in t.items))
            for t in programme.gift_types
        ),
        batches=tuple(
            BatchSpec(b.number, b.care_year, b.care_month,
                      {int(k): int(v) for k, v in (b.gift_plan or {}).items()})
            for b in programme.batches
        ),
        extra=dict(programme.extra or {}),
    )


def _get_programme(session: Session, programme_id: int) -> Programme:
    programme = session.get(Programme, programme_id)
    if programme is None:
        raise NotFoundError(f"Không có chương trình số {programme_id}.")
    return programme


def programme_spec(factory: sessionmaker[Session], programme_id: int) -> ProgrammeSpec:
    """The stored rules as a spec: groups, gifts, batches (care months, gift plan), area.

    Raises:
        NotFoundError: no such programme.
    """
    with UnitOfWork(factory) as uow:
        return _spec_of(_get_programme(uow.session, programme_id))


def _frozen_counts(session: Session, programme_id: int) -> dict[int, int]:
    rows = session.execute(
        select(Batch.number, func.count(CareCase.id))
        .join(CareCase, CareCase.batch_id == Batch.id)
        .where(Batch.programme_id == programme_id)
        .group_by(Batch.number).order_by(Batch.number)
    ).all()
    return {int(number): int(count) for number, count in rows if count}


def frozen_lists(factory: sessionmaker[Session], programme_id: int) -> dict[int, int]:
    """Care-list entries per batch number, for the batches whose list is made (frozen)."""
    with UnitOfWork(factory) as uow:
        return _frozen_counts(uow.session, programme_id)


def _rule_key(spec: ProgrammeSpec) -> tuple[object, ...]:
    """What classification decides on: bounds and their flags, aggregation, the area."""
    bounds = tuple(sorted(
        (g.number, g.lower, g.lower is not None and g.lower_inclusive,
         g.upper, g.upper is not None and g.upper_inclusive)
        for g in spec.groups
    ))
    return bounds, spec.aggregation, tuple(sorted(set(spec.provinces)))


def _bound_words(value: int | None, inclusive: bool) -> str:
    if value is None:
        return "không có"
    return format_money(value) + (" (tính cả)" if inclusive else "")


def _plan_words(plan: dict[int, int], gift_type: int) -> str:
    return format_number(plan[gift_type]) if gift_type in plan else "không giới hạn"


def describe_changes(before: ProgrammeSpec, after: ProgrammeSpec) -> list[str]:
    """One Vietnamese line per difference (`Nhóm 2: cận trên 700.000 đ → 700.000 đ (tính cả)`)."""
    lines: list[str] = []

    def field_change(label: str, old: object, new: object) -> None:
        if old != new:
            lines.append(f"{label}: {old} → {new}")

    field_change("Tên chương trình", before.name, after.name)
    field_change("Năm", before.year, after.year)
    field_change("Khu vực", before.region, after.region)
    field_change("Tỉnh", before.province, after.province)
    if before.aggregation != after.aggregation:
        lines.append("Cách tính mức cước căn cứ: "
                     f"{_AGGREGATION_WORDS.get(before.aggregation, before.aggregation)} → "
                     f"{_AGGREGATION_WORDS.get(after.aggregation, after.aggregation)}")
    added = [p for p in after.provinces if p not in before.provinces]
    removed = [p for p in before.provinces if p not in after.provinces]
    if added or removed:
        parts = ([f"thêm {', '.join(added)}"] if added else []) + (
            [f"bỏ {', '.join(removed)}"] if removed else [])
        lines.append(f"Địa bàn: {'; '.join(parts)}")
    if before.tenure_bands != after.tenure_bands:
        lines.append("Mốc năm sử dụng: "
                     f"{', '.join(map(str, before.tenure_bands))} → "
                     f"{', '.join(map(str, after.tenure_bands))}")

    old_groups = {g.number: g for g in before.groups}
    new_groups = {g.number: g for g in after.groups}
    for number in sorted(old_groups.keys() | new_groups.keys()):
        old_g, new_g = old_groups.get(number), new_groups.get(number)
        if old_g is None and new_g is not None:
            low = _bound_words(new_g.lower, new_g.lower_inclusive)
            high = _bound_words(new_g.upper, new_g.upper_inclusive)
            lines.append(f"Nhóm {number}: thêm (cận dưới {low}, cận trên {high})")
            continue
        if new_g is None:
            lines.append(f"Nhóm {number}: bỏ")
            continue
        assert old_g is not None
        parts = []
        if old_g.name != new_g.name:
            parts.append(f"tên {old_g.name} → {new_g.name}")
        old_low = _bound_words(old_g.lower, old_g.lower_inclusive)
        new_low = _bound_words(new_g.lower, new_g.lower_inclusive)
        if old_low != new_low:
            parts.append(f"cận dưới {old_low} → {new_low}")
        old_high = _bound_words(old_g.upper, old_g.upper_inclusive)
        new_high = _bound_words(new_g.upper, new_g.upper_inclusive)
        if old_high != new_high:
            parts.append(f"cận trên {old_high} → {new_high}")
        if old_g.delivery != new_g.delivery:
            parts.append(f"cách trao quà {DELIVERY_WORDS.get(old_g.delivery, old_g.delivery)}"
                         f" → {DELIVERY_WORDS.get(new_g.delivery, new_g.delivery)}")
        if old_g.gift_type != new_g.gift_type:
            parts.append(f"quà loại {old_g.gift_type} → {new_g.gift_type}")
        if parts:
            lines.append(f"Nhóm {number}: {'; '.join(parts)}")

    old_types = {t.number: t for t in before.gift_types}
    new_types = {t.number: t for t in after.gift_types}
    for number in sorted(old_types.keys() | new_types.keys()):
        old_t, new_t = old_types.get(number), new_types.get(number)
        if new_t is None:
            lines.append(f"Quà loại {number}: bỏ")
            continue
        old_items = {i.code: i.name for i in old_t.items} if old_t else {}
        new_items = {i.code: i.name for i in new_t.items}
        parts = []
        if old_t is None:
            parts.append(f"thêm ({new_t.name})")
        elif old_t.name != new_t.name:
            parts.append(f"tên {old_t.name} → {new_t.name}")
        parts += [f"thêm món {code} ({name})" for code, name in new_items.items()
                  if code not in old_items]
        parts += [f"bỏ món {code}" for code in old_items if code not in new_items]
        parts += [f"món {code}: tên {old_items[code]} → {name}"
                  for code, name in new_items.items()
                  if code in old_items and old_items[code] != name]
        if parts:
            lines.append(f"Quà loại {number}: {'; '.join(parts)}")

    old_batches = {b.number: b for b in before.batches}
    new_batches = {b.number: b for b in after.batches}
    for number in sorted(old_batches.keys() | new_batches.keys()):
        old_b, new_b = old_batches.get(number), new_batches.get(number)
        if new_b is None:
            lines.append(f"Đợt {number}: bỏ")
            continue
        month = f"{new_b.care_month:02d}/{new_b.care_year}"
        if old_b is None:
            lines.append(f"Đợt {number}: thêm (tháng chăm sóc {month})")
            continue
        parts = []
        old_month = f"{old_b.care_month:02d}/{old_b.care_year}"
        if old_month != month:
            parts.append(f"tháng chăm sóc {old_month} → {month}")
        for gift_type in sorted(old_b.gift_plan.keys() | new_b.gift_plan.keys()):
            old_plan = _plan_words(old_b.gift_plan, gift_type)
            new_plan = _plan_words(new_b.gift_plan, gift_type)
            if old_plan != new_plan:
                parts.append(f"quà loại {gift_type} dự kiến {old_plan} → {new_plan}")
        if parts:
            lines.append(f"Đợt {number}: {'; '.join(parts)}")
    if before.extra != after.extra:
        lines.append("Các thông số khác của tệp chương trình thay đổi")
    return lines


def _apply(session: Session, programme: Programme, spec: ProgrammeSpec) -> None:
    """Bring the ORM rows in line with the spec; item ids stay when their codes stay."""
    programme.name, programme.year, programme.region = spec.name, spec.year, spec.region
    programme.province, programme.aggregation = spec.province, spec.aggregation
    programme.provinces = list(spec.provinces)
    programme.tenure_bands = list(spec.tenure_bands)
    programme.extra = dict(spec.extra)

    groups = {g.number: g for g in programme.groups}
    for rule in spec.groups:
        row = groups.pop(rule.number, None)
        if row is None:
            row = ProgrammeGroup(number=rule.number)
            programme.groups.append(row)
        row.name, row.delivery, row.gift_type_number = rule.name, rule.delivery, rule.gift_type
        row.lower_bound, row.lower_inclusive = rule.lower, rule.lower_inclusive
        row.upper_bound, row.upper_inclusive = rule.upper, rule.upper_inclusive
    for row in groups.values():
        programme.groups.remove(row)

    types = {t.number: t for t in programme.gift_types}
    items = {i.code: i for t in programme.gift_types for i in t.items}
    wanted_codes = {i.code for t in spec.gift_types for i in t.items}
    for code, item in items.items():
        if code not in wanted_codes:
            item.gift_type.items.remove(item)
    session.flush()
    for type_spec in spec.gift_types:
        gift_type = types.pop(type_spec.number, None)
        if gift_type is None:
            gift_type = GiftType(number=type_spec.number)
            programme.gift_types.append(gift_type)
        gift_type.name = type_spec.name
        for item_spec in type_spec.items:
            found = items.get(item_spec.code)
            if found is None:
                item = GiftItem(programme_id=programme.id, code=item_spec.code)
                gift_type.items.append(item)
            else:
                item = found
            if item.gift_type is not gift_type:
                item.gift_type.items.remove(item)
                gift_type.items.append(item)
            item.name = item_spec.name
    session.flush()
    for gift_type in types.values():
        programme.gift_types.remove(gift_type)

    batches = {b.number: b for b in programme.batches}
    for batch_spec in spec.batches:
        batch = batches.pop(batch_spec.number, None)
        if batch is None:
            batch = Batch(number=batch_spec.number)
            programme.batches.append(batch)
        batch.care_year, batch.care_month = batch_spec.care_year, batch_spec.care_month
        batch.gift_plan = {str(k): int(v) for k, v in sorted(batch_spec.gift_plan.items())}
    for batch in batches.values():
        programme.batches.remove(batch)


def update_programme(
    factory: sessionmaker[Session],
    programme_id: int,
    spec: ProgrammeSpec,
    *,
    actor: Actor,
    confirmed: bool,
) -> ProgrammeUpdate:
    """Replace a programme's rules, gifts and batches in one unit of work, with an audit row.

    `rule_version` goes up when what classification decides on changes (bounds, inclusive
    flags, aggregation, provinces). Care lists already made stay as they are (frozen).

    Args:
        factory: session factory.
        programme_id: the programme to change.
        spec: the new rules, whole.
        actor: who changes them (recorded; needs the `manage` permission).
        confirmed: the user agreed to change a programme that already has care lists.

    Returns:
        Whether anything changed, the rule versions and the summary lines.

    Raises:
        PermissionProblem: the actor may not change programmes.
        ValidationError: the spec cannot be used; the message lists why.
        NotFoundError: no such programme.
        ConflictError: a batch to remove already has a care list.
        FrozenListsError: care lists exist and `confirmed` is False.
    """
    actor.require("manage")
    user = actor.name
    problems = validate_spec(spec)
    if problems:
        raise ValidationError(" ".join(problems))
    with UnitOfWork(factory, write=True) as uow:
        session = uow.session
        programme = _get_programme(session, programme_id)
        before = _spec_of(programme)
        version = programme.rule_version
        lines = describe_changes(before, spec)
        if not lines:
            return ProgrammeUpdate(programme_id, False, version, version, ())
        counts = _frozen_counts(session, programme_id)
        dropped = sorted(n for n in counts if n not in {b.number for b in spec.batches})
        if dropped:
            raise ConflictError(
                f"Không bỏ được đợt {', '.join(map(str, dropped))}: đã có danh sách "
                f"{format_number(sum(counts[n] for n in dropped))} KH."
            )
        if counts and not confirmed:
            total = format_number(sum(counts.values()))
            raise FrozenListsError(
                f"Chương trình đã có {total} KH trong danh sách đợt "
                f"{', '.join(map(str, counts))}; các danh sách này đã chốt và giữ nguyên, "
                "thay đổi chỉ áp dụng cho những lần xếp danh sách sau. Vẫn lưu thay đổi?",
                counts, tuple(lines),
            )
        _apply(session, programme, spec)
        if _rule_key(before) != _rule_key(spec):
            programme.rule_version = version + 1
        session.add(ProgrammeChange(
            programme_id=programme_id, user=user, rule_version_before=version,
            rule_version_after=programme.rule_version, summary="\n".join(lines),
            before=spec_to_dict(before), after=spec_to_dict(spec),
        ))
        uow.commit()
        logger.info("programme %d updated by %s: %d change(s), rule version %d -> %d",
                    programme_id, user or "?", len(lines), version, programme.rule_version)
        return ProgrammeUpdate(programme_id, True, version, programme.rule_version,
                               tuple(lines))


def programme_changes(factory: sessionmaker[Session], programme_id: int) -> list[ChangeDTO]:
    """The programme's change history, newest first."""
    with UnitOfWork(factory) as uow:
        rows = uow.session.scalars(
            select(ProgrammeChange).where(ProgrammeChange.programme_id == programme_id)
            .order_by(ProgrammeChange.at.desc(), ProgrammeChange.id.desc())
        ).all()
        return [
            ChangeDTO(id=r.id, at=r.at, user=r.user, rule_version_before=r.rule_version_before,
                      rule_version_after=r.rule_version_after, summary=r.summary,
                      before=dict(r.before), after=dict(r.after))
            for r in rows
        ]
