"""Independent oracle of the care-list classification, written from the rules alone.

Plain Python over plain dicts; it knows nothing of the database or of
`mbfcare.services.classification`. The tests compare it, subscriber by subscriber, with
what the implementation stores.

Outcomes, per subscriber id:
    ("listed", group_number) | ("waiting", group_number) | ("awaiting_group", None)
    | ("left_out", reason)
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

REASONS = (
    "on_earlier_batch", "not_active", "outside_area", "in_other_programme", "missing_cycle",
    "below_threshold",
)


def cycles_of(care_year: int, care_month: int) -> tuple[int, int, int]:
    """Cycles n-3, n-4, n-5 of care month n, as yyyymm."""
    out = []
    for back in (3, 4, 5):
        index = care_year * 12 + (care_month - 1) - back
        out.append((index // 12) * 100 + index % 12 + 1)
    return out[0], out[1], out[2]


def tenure_years(activation: dt.date | None, care_year: int, care_month: int) -> int | None:
    """Whole years from the activation date to the first day of the care month."""
    if activation is None:
        return None
    first = dt.date(care_year, care_month, 1)
    years = first.year - activation.year
    if (first.month, first.day) < (activation.month, activation.day):
        years -= 1
    return years


def contains(group: Mapping[str, Any], basis: int) -> bool:
    lower, upper = group["lower"], group["upper"]
    if lower is not None and not (basis >= lower if group["lower_inclusive"] else basis > lower):
        return False
    return upper is None or (basis <= upper if group["upper_inclusive"] else basis < upper)


def below(group: Mapping[str, Any], basis: int) -> bool:
    lower = group["lower"]
    if lower is None:
        return False
    return basis < lower or (basis == lower and not group["lower_inclusive"])


def in_area(
    sub: Mapping[str, Any], provinces: Iterable[str],
    old_names_of: Callable[[str], tuple[str, ...] | None],
) -> bool:
    area = set(provinces)
    if sub.get("province") and sub["province"] in area:
        return True
    new = sub.get("province_new")
    if new:
        olds = old_names_of(new)
        if olds and all(o in area for o in olds):
            return True
    return False


@dataclass
class Result:
    outcomes: dict[int, tuple[str, int | None]]
    basis: dict[int, int] = field(default_factory=dict)
    # Per gift type: eligible subscriber ids in serving order (listed first, then waiting).
    order: dict[int, list[int]] = field(default_factory=dict)

    @property
    def groups(self) -> dict[int, int]:
        return dict(Counter(g for s, g in self.outcomes.values() if s == "listed"))

    @property
    def in_gap(self) -> int:
        return sum(1 for s, _ in self.outcomes.values() if s == "awaiting_group")

    @property
    def waiting(self) -> int:
        return sum(1 for s, _ in self.outcomes.values() if s == "waiting")

    @property
    def not_eligible(self) -> dict[str, int]:
        return dict(Counter(r for s, r in self.outcomes.values() if s == "left_out"))


def classify(
    subscribers: Iterable[Mapping[str, Any]],
    charges: Mapping[int, Mapping[int, int]],
    *,
    groups: list[Mapping[str, Any]],
    provinces: Iterable[str],
    old_names_of: Callable[[str], tuple[str, ...] | None],
    care_year: int,
    care_month: int,
    aggregation: str = "every_cycle",
    excluded_msisdns: Iterable[str] = (),
    other_cases: Iterable[tuple[int, str, bool]] = (),
    on_other_batch: Iterable[int] = (),
    plan: Mapping[int, int] | None = None,
) -> Result:
    """Classify every subscriber for one batch.

    `subscribers`: dicts with id, msisdn, status, province, province_new, in_other_programme,
    activation_date. `charges`: subscriber id -> {cycle: amount}. `groups`: dicts with number,
    lower, lower_inclusive, upper, upper_inclusive, gift_type. `other_cases`: (subscriber id,
    status of its programme, handed over?) for cases in OTHER programmes. `on_other_batch`:
    subscriber ids with a case in this programme on a different batch.
    """
    area = list(provinces)
    excluded = set(excluded_msisdns)
    handed_elsewhere = {sid for sid, status, handed in other_cases if handed and status == "open"}
    earlier = set(on_other_batch)
    cycles = cycles_of(care_year, care_month)
    ordered_groups = sorted(groups, key=lambda g: g["number"])
    gift_of = {g["number"]: g["gift_type"] for g in ordered_groups}

    outcomes: dict[int, tuple[str, int | None]] = {}
    bases: dict[int, int] = {}
    eligible: dict[int, list[tuple[Any, ...]]] = {}
    for sub in subscribers:
        sid = sub["id"]
        own = charges.get(sid, {})
        if sid in earlier:
            outcomes[sid] = ("left_out", "on_earlier_batch")
        elif sub["status"] != "active":
            outcomes[sid] = ("left_out", "not_active")
        elif not in_area(sub, area, old_names_of):
            outcomes[sid] = ("left_out", "outside_area")
        elif sub.get("in_other_programme") is True or sub["msisdn"] in excluded or (
            sid in handed_elsewhere
        ):
            outcomes[sid] = ("left_out", "in_other_programme")
        elif any(c not in own for c in cycles):
            outcomes[sid] = ("left_out", "missing_cycle")
        else:
            values = [own[c] for c in cycles]
            basis = min(values) if aggregation == "every_cycle" else sum(values) // 3
            bases[sid] = basis
            group = next((g["number"] for g in ordered_groups if contains(g, basis)), None)
            if group is not None:
                outcomes[sid] = ("listed", group)
                tenure = tenure_years(sub.get("activation_date"), care_year, care_month)
                key = (-basis, tenure is None, -(tenure or 0), sub["msisdn"])
                eligible.setdefault(gift_of[group], []).append((key, sid, group))
            elif all(below(g, basis) for g in ordered_groups):
                outcomes[sid] = ("left_out", "below_threshold")
            else:
                outcomes[sid] = ("awaiting_group", None)

    order: dict[int, list[int]] = {}
    for gift, rows in eligible.items():
        rows.sort()
        order[gift] = [sid for _, sid, _ in rows]
        quantity = None if plan is None else plan.get(gift)
        if quantity is not None:
            for _, sid, group in rows[quantity:]:
                outcomes[sid] = ("waiting", group)
    return Result(outcomes=outcomes, basis=bases, order=order)
