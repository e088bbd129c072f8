"""Checks and words for a programme's group rule: gaps, overlaps, tenure bands."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from mbfcare.domain.programme_spec import GroupRule
from mbfcare.domain.values import format_money

INFINITY = float("inf")


@dataclass(frozen=True)
class RuleProblem:
    """A gap or an overlap between groups, in whole đồng (inclusive bounds)."""

    kind: str  # "gap" or "overlap"
    low: int
    high: int | None  # None: no upper end
    groups: tuple[int, ...]
    text: str


def _span(group: GroupRule) -> tuple[int, float]:
    low = 0 if group.lower is None else group.lower + (0 if group.lower_inclusive else 1)
    high: float = INFINITY if group.upper is None else group.upper - (
        0 if group.upper_inclusive else 1)
    return low, high


def _range_text(low: int, high: float) -> str:
    if high == INFINITY:
        return f"từ {format_money(low)} trở lên"
    if low == high:
        return f"đúng {format_money(low)}"
    return f"từ {format_money(low)} đến {format_money(int(high))}"


def check_groups(groups: Sequence[GroupRule]) -> list[RuleProblem]:
    """Every gap between groups and every overlap, in words a clerk understands.

    Amounts are whole đồng, so "over 700.000" and "under 700.000" leave exactly 700.000 out.
    The region below the lowest group is not a gap: it is "below the threshold".
    """
    problems: list[RuleProblem] = []
    spans = sorted(((*_span(g), g.number) for g in groups), key=lambda s: (s[0], s[1]))
    for i, (low_a, high_a, number_a) in enumerate(spans):
        if high_a < low_a:
            problems.append(RuleProblem("gap", low_a, None, (number_a,),
                                        f"Nhóm {number_a} không chứa mức cước nào."))
        for low_b, high_b, number_b in spans[i + 1:]:
            low, high = max(low_a, low_b), min(high_a, high_b)
            if low <= high:
                pair = tuple(sorted((number_a, number_b)))
                problems.append(RuleProblem(
                    "overlap", int(low), None if high == INFINITY else int(high), pair,
                    f"Nhóm {pair[0]} và Nhóm {pair[1]} cùng chứa mức cước căn cứ "
                    f"{_range_text(int(low), high)}."))
    covered_to: float = -1
    started = False
    for low, high, _ in spans:
        if high < low:
            continue
        if started and low > covered_to + 1:
            gap_low, gap_high = int(covered_to + 1), low - 1
            problems.append(RuleProblem(
                "gap", gap_low, gap_high, (),
                f"Mức cước căn cứ {_range_text(gap_low, gap_high)} không thuộc nhóm nào."))
        covered_to = max(covered_to, high)
        started = True
    return problems


def group_of(groups: Sequence[GroupRule], basis: int) -> int | None:
    """The lowest-numbered group containing the basis."""
    for group in sorted(groups, key=lambda g: g.number):
        if group.contains(basis):
            return group.number
    return None


def below_all(groups: Sequence[GroupRule], basis: int) -> bool:
    """True when the basis is under every group's lower bound (not a gap: not eligible)."""
    return all(_span(g)[0] > basis for g in groups)


def tenure_years(activation: dt.date | None, care_year: int, care_month: int) -> int | None:
    """Whole years of use from the activation date to the first day of the care month."""
    if activation is None:
        return None
    years = care_year - activation.year
    if (care_month, 1) < (activation.month, activation.day):
        years -= 1
    return max(years, 0)


def tenure_band(years: int | None, bands: Sequence[int]) -> str | None:
    """The band label for whole years of use, e.g. `2–5 năm` for bands [0, 2, 5, 10]."""
    if years is None:
        return None
    bounds = sorted(bands)
    for i, low in enumerate(bounds):
        high = bounds[i + 1] if i + 1 < len(bounds) else None
        if high is None or years < high:
            if high is None:
                return f"từ {low} năm"
            if low == 0:
                return f"dưới {high} năm"
            return f"{low}–{high} năm"
    return None


def describe_rule(groups: Sequence[GroupRule], aggregation: str) -> str:
    """The rule in force, in one line (printed on reports and exports)."""
    parts = []
    for g in sorted(groups, key=lambda g: g.number):
        low = "" if g.lower is None else (
            f"{'từ' if g.lower_inclusive else 'trên'} {format_money(g.lower)}")
        high = "" if g.upper is None else (
            f"{'đến' if g.upper_inclusive else ('đến dưới' if low else 'dưới')} "
            f"{format_money(g.upper)}")
        parts.append(f"{g.name}: {' '.join(p for p in (low, high) if p)}")
    how = ("mỗi chu kỳ n-3, n-4, n-5 đều đạt (lấy mức thấp nhất)" if aggregation == "every_cycle"
           else "bình quân 3 chu kỳ n-3, n-4, n-5 (làm tròn xuống)")
    return f"{'; '.join(parts)} – căn cứ: {how}"
