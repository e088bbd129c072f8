"""Rule checks (gaps, overlaps), tenure and the words of the rule."""

from __future__ import annotations

import datetime as dt

import pytest

from mbfcare.domain.programme_spec import GroupRule
from mbfcare.domain.rules import (
    below_all,
    check_groups,
    describe_rule,
    group_of,
    tenure_band,
    tenure_years,
)

G1 = GroupRule(1, "Nhóm 1", 700000, False, None, False, "visit", 1)
G2 = GroupRule(2, "Nhóm 2", 550000, True, 700000, False, "store", 2)


def test_document_rule_leaves_exactly_700000_out() -> None:
    problems = check_groups([G1, G2])
    assert [(p.kind, p.low, p.high) for p in problems] == [("gap", 700000, 700000)]
    assert problems[0].text == "Mức cước căn cứ đúng 700.000 đ không thuộc nhóm nào."


def test_inclusive_upper_bound_closes_the_gap() -> None:
    closed = GroupRule(2, "Nhóm 2", 550000, True, 700000, True, "store", 2)
    assert check_groups([G1, closed]) == []


def test_overlap_is_named_with_both_groups() -> None:
    wide = GroupRule(2, "Nhóm 2", 550000, True, 800000, True, "store", 2)
    problems = check_groups([G1, wide])
    assert [(p.kind, p.low, p.high, p.groups) for p in problems] == [
        ("overlap", 700001, 800000, (1, 2))]
    assert "Nhóm 1 và Nhóm 2 cùng chứa" in problems[0].text
    assert "từ 700.001 đ đến 800.000 đ" in problems[0].text


def test_range_gap_in_words() -> None:
    low = GroupRule(2, "Nhóm 2", 550000, True, 600000, False, "store", 2)
    problems = check_groups([G1, low])
    assert problems[0].text == ("Mức cước căn cứ từ 600.000 đ đến 700.000 đ không thuộc "
                                "nhóm nào.")


@pytest.mark.parametrize(("basis", "group", "below"), [
    (549999, None, True), (550000, 2, False), (699999, 2, False), (700000, None, False),
    (700001, 1, False), (0, None, True), (5_000_000, 1, False)])
def test_group_of_exact_bounds(basis: int, group: int | None, below: bool) -> None:
    assert group_of([G1, G2], basis) == group
    assert below_all([G1, G2], basis) is below


@pytest.mark.parametrize(("activation", "care", "years"), [
    (dt.date(2015, 3, 1), (2017, 3), 2), (dt.date(2015, 3, 2), (2017, 3), 1),
    (dt.date(2015, 2, 28), (2017, 3), 2), (dt.date(2017, 2, 1), (2017, 3), 0),
    (None, (2017, 3), None)])
def test_tenure_to_first_day_of_care_month(activation: dt.date | None, care: tuple[int, int],
                                           years: int | None) -> None:
    assert tenure_years(activation, *care) == years


@pytest.mark.parametrize(("years", "band"), [
    (0, "dưới 2 năm"), (1, "dưới 2 năm"), (2, "2–5 năm"), (4, "2–5 năm"), (5, "5–10 năm"),
    (10, "từ 10 năm"), (35, "từ 10 năm"), (None, None)])
def test_tenure_bands(years: int | None, band: str | None) -> None:
    assert tenure_band(years, [0, 2, 5, 10]) == band


def test_rule_words() -> None:
    assert describe_rule([G1, G2], "every_cycle") == (
        "Nhóm 1: trên 700.000 đ; Nhóm 2: từ 550.000 đ đến dưới 700.000 đ – căn cứ: mỗi chu kỳ "
        "n-3, n-4, n-5 đều đạt (lấy mức thấp nhất)")
    assert "bình quân 3 chu kỳ" in describe_rule([G1, G2], "average")
