"""The overview's counts against an independent count over generated care lists."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from dashboard_data import Case, expected, generate, seed
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.domain.actors import Actor
from mbfcare.errors import NotFoundError
from mbfcare.services.dashboard import COUNT_FIELDS, METRIC_FILTERS, Counts, dashboard
from mbfcare.services.programmes import create_programme, default_programme_spec

VN = dt.timezone(dt.timedelta(hours=7))


@pytest.fixture
def cases(factory: sessionmaker[Session], programme_id: int) -> list[Case]:
    generated = generate(150)
    seed(factory, programme_id, generated)
    return generated


def test_counts_per_batch_and_group(
    factory: sessionmaker[Session], programme_id: int, cases: list[Case]
) -> None:
    result = dashboard(factory, programme_id, actor=Actor("test"))

    keys = {(c.batch, c.group) for c in cases if c.state != "left_out"}
    assert [(card.batch, card.group) for card in result.cards] == sorted(
        keys, key=lambda k: (k[0], k[1] is None, k[1] or 0))
    for card in result.cards:
        mine = [c for c in cases if (c.batch, c.group) == (card.batch, card.group)]
        assert card.counts == expected(mine), (card.batch, card.group)
    assert result.total == expected(cases)
    assert result.programme_id == programme_id
    assert not result.is_empty


def test_counts_per_district_sorted_the_vietnamese_way(
    factory: sessionmaker[Session], programme_id: int, cases: list[Case]
) -> None:
    result = dashboard(factory, programme_id, actor=Actor("test"))

    assert [d.district for d in result.districts] == ["Ân Thi", "Hồng Bàng", "Lê Chân", None]
    for row in result.districts:
        assert row.counts == expected([c for c in cases if c.district == row.district])


def test_handovers_per_day_in_vietnam_time(
    factory: sessionmaker[Session], programme_id: int, cases: list[Case]
) -> None:
    result = dashboard(factory, programme_id, actor=Actor("test"))

    days = Counter(c.handed_over_at.astimezone(VN).date() for c in cases
                   if c.handed_over_at is not None and c.state != "left_out")
    assert result.handovers_per_day == tuple(sorted(days.items()))
    # 17:00 UTC on the 23rd is already the 24th in Vietnam.
    assert max(days) == dt.date(2017, 3, 24)


def test_todo_counts_and_filters(
    factory: sessionmaker[Session], programme_id: int, cases: list[Case]
) -> None:
    result = dashboard(factory, programme_id, actor=Actor("test"))

    todo = {item.key: item for item in result.todo}
    assert todo["awaiting_group"].count == sum(c.state == "awaiting_group" for c in cases)
    assert todo["waiting"].count == sum(c.state == "waiting" for c in cases)
    assert todo["profile_not_standardised"].count == sum(
        c.state == "listed" and c.standardised is False for c in cases)
    assert todo["awaiting_group"].filter == {"state": "awaiting_group"}
    assert todo["profile_not_standardised"].filter == {
        "state": "listed", "profile_standardised": False}


def test_one_batch(factory: sessionmaker[Session], programme_id: int, cases: list[Case]) -> None:
    result = dashboard(factory, programme_id, batch=2, actor=Actor("test"))

    mine = [c for c in cases if c.batch == 2]
    assert {card.batch for card in result.cards} == {2}
    assert result.total == expected(mine)
    assert sum(row.counts.listed for row in result.districts) == expected(mine).listed
    assert sum(n for _, n in result.handovers_per_day) == expected(mine).handed_over
    assert result.filter_for("handed_over", {"district": "Lê Chân"}) == {
        "batch": 2, "district": "Lê Chân", "handed_over": True}
    assert all(item.filter["batch"] == 2 for item in result.todo)


def test_card_filters() -> None:
    assert set(METRIC_FILTERS) == set(COUNT_FIELDS)
    from mbfcare.services.dashboard import GroupCard

    assert GroupCard(1, 2, Counts()).filter == {"batch": 1, "group": 2}
    assert GroupCard(1, None, Counts()).filter == {"batch": 1}


def test_empty_database_gives_an_empty_overview(factory: sessionmaker[Session]) -> None:
    result = dashboard(factory, actor=Actor("test"))
    assert not result.has_programme
    assert result.is_empty
    assert result.handovers_per_day == ()


def test_programme_without_lists(factory: sessionmaker[Session], programme_id: int) -> None:
    result = dashboard(factory, actor=Actor("test"))
    assert result.programme_id == programme_id
    assert result.is_empty
    assert result.total == Counts()
    assert [item.count for item in result.todo] == [0, 0, 0, 0]
    assert [line.item_code for line in result.stock] == ["balo-keo", "hop-thuc-pham", "o-2-khuc"]
    assert all(line.on_hand == 0 and not line.low for line in result.stock)


def test_unknown_batch_or_programme(factory: sessionmaker[Session], programme_id: int) -> None:
    with pytest.raises(NotFoundError):
        dashboard(factory, programme_id, batch=9, actor=Actor("test"))
    with pytest.raises(NotFoundError):
        dashboard(factory, programme_id + 1, actor=Actor("test"))


def test_other_programmes_are_not_counted(
    factory: sessionmaker[Session], programme_id: int
) -> None:
    other = create_programme(factory, default_programme_spec(), actor=Actor("test"))
    seed(factory, other, generate(20, seed=1))
    assert dashboard(factory, programme_id, actor=Actor("test")).is_empty
    assert dashboard(factory, other, actor=Actor("test")).total == expected(generate(20, seed=1))


def test_work_recorded_shows_on_the_cards_stock_and_todo(
        factory: sessionmaker[Session], programme_id: int) -> None:
    import datetime as dt

    from sqlalchemy import update

    from mbfcare.domain.actors import Actor
    from mbfcare.models import Handover
    from mbfcare.services import care_work, stock
    from tests.care_data import GROUP2, STORE, seed_listed

    lan = Actor("Lan", "admin")
    g2 = sorted(GROUP2)
    seed_listed(factory, programme_id)
    stock.move_stock(factory, "receive", "o-2-khuc", 12, actor=lan, location=STORE)
    care_work.record_step(factory, g2[0], "sms", actor=lan, on=dt.date(2017, 3, 1))
    care_work.record_handover(factory, g2[0], actor=lan, item_code="o-2-khuc",
                              on=dt.date(2017, 3, 3))
    care_work.record_step(factory, g2[0], "survey", actor=lan, on=dt.date(2017, 3, 3))
    care_work.record_handover(factory, g2[1], actor=lan, item_code="o-2-khuc")
    care_work.record_handover(factory, g2[2], actor=lan, item_code="hop-thuc-pham", owed=True,
                              promised_on=care_work.local_today())
    care_work.record_outcome(factory, g2[3], "unreachable", actor=lan)
    with factory.begin() as session:
        session.execute(update(Handover).where(Handover.status == "owed")
                        .values(promised_on=dt.date(2017, 3, 10)))
    result = dashboard(factory, programme_id, batch=1, actor=Actor("test"))
    card = next(c for c in result.cards if c.group == 2)
    assert (card.counts.sms_sent, card.counts.handed_over, card.counts.owed,
            card.counts.surveyed, card.counts.closed) == (1, 2, 1, 1, 1)
    assert result.filter_for("surveyed", card.filter) == {"batch": 1, "group": 2,
                                                         "done_step": "survey"}
    assert dict(result.handovers_per_day)[dt.date(2017, 3, 3)] == 1
    todo = {item.key: item.count for item in result.todo}
    assert todo["owed_overdue"] == 1
    lines = {line.item_code: line for line in result.stock}
    umbrella = lines["o-2-khuc"]
    assert (umbrella.received, umbrella.handed_over, umbrella.on_hand) == (12, 2, 10)
    assert not umbrella.low
    box = lines["hop-thuc-pham"]
    assert (box.on_hand, box.owed, box.low) == (0, 1, True)
