"""Classification checked against an independent oracle (`tests/oracle.py`).

The oracle is written from the rules (PROGRAM.md §1, §2, §5 and the classification contract),
not from `mbfcare.services.classification`. Thousands of synthetic subscribers go into a fresh
database with SQLAlchemy Core bulk inserts; `classify_batch` runs; every subscriber's outcome
in the database (CareCase state and group, or LeftOut reason) must equal the oracle's, and the
counts returned must equal the oracle's counts. Small targeted tests pin each exact bound,
each exclusion source and the waiting-list order with hand-written expectations.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import shutil
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oracle import Result, cycles_of
from oracle import classify as oracle_classify
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.db import make_engine, make_session_factory
from mbfcare.domain.actors import Actor
from mbfcare.domain.reference import kv5_provinces_2017, match_province
from mbfcare.models import (
    Batch,
    CareCase,
    Charge,
    Classification,
    Exclusion,
    LeftOut,
    Programme,
    ProgrammeGroup,
    Subscriber,
)
from mbfcare.services.programmes import create_programme, default_programme_spec

Factory = sessionmaker[Session]

NOW = dt.datetime(2017, 1, 15, 8, 0, tzinfo=dt.UTC)
BOUNDS = [0, 549999, 550000, 699999, 700000, 700001]
ALL_CYCLES = [*range(201607, 201613), *range(201701, 201707)]
CORE_CYCLES = [201610, 201611, 201612, 201701, 201702, 201703]  # batches 1 and 2
KV5 = list(kv5_provinces_2017())
NEW_INSIDE = ["Hưng Yên", "Hải Phòng", "Bắc Ninh", "Thái Nguyên", "Tuyên Quang", "Quảng Ninh",
              "Lạng Sơn", "Cao Bằng"]
NEW_OUTSIDE = ["Hà Nội", "Đà Nẵng", "Phú Thọ", "Lào Cai", "Ninh Bình"]
OLD_OUTSIDE = ["Hà Nội", "Đà Nẵng", "Hồ Chí Minh", "Nam Định", "Yên Bái", "Vĩnh Phúc"]
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Ngô", "Dương"]
MIDDLE = ["Văn", "Thị", "Đức", "Minh", "Ngọc", "Thu", "Quang", "Hữu"]
GIVEN = ["An", "Bình", "Cường", "Dũng", "Hà", "Hương", "Lan", "Long", "Mai", "Nam", "Phương",
         "Quân", "Sơn", "Thảo", "Trang", "Tuấn", "Yến", "Hải", "Khánh", "Đạt"]
PREFIXES = ["090", "093", "089", "070", "076", "077", "078", "079"]


def classify_batch(factory: Factory, **kwargs: Any) -> Any:
    """The implementation under test (imported late: each test fails alone until it lands)."""
    from mbfcare.services.classification import classify_batch as impl

    kwargs.setdefault("actor", Actor("test"))
    return impl(factory, **kwargs)


def old_names_of(new_name: str) -> tuple[str, ...] | None:
    found = match_province(new_name)
    return None if found is None else found.old_names


# --------------------------------------------------------------------------- synthetic data


@dataclass
class World:
    """Everything put in the database, as plain Python, for the oracle."""

    subscribers: list[dict[str, Any]] = field(default_factory=list)
    charges: dict[int, dict[int, int]] = field(default_factory=dict)
    excluded: set[str] = field(default_factory=set)  # Exclusion rows of the programme under test
    # (subscriber id, programme status, handed over?) of cases in other programmes.
    other_cases: list[tuple[int, str, bool]] = field(default_factory=list)

    def by_id(self) -> dict[int, dict[str, Any]]:
        return {s["id"]: s for s in self.subscribers}


def _triple(rng: random.Random) -> list[int]:
    """Three charges of one batch's window, biased to the bounds (min and mean both)."""
    r = rng.random()
    if r < 0.30:
        level = rng.choice([*BOUNDS, rng.randint(500000, 800000)])
        return [max(0, level + rng.choice([0, 0, 0, 0, 1, -1, rng.randint(0, 200000)]))
                for _ in range(3)]
    if r < 0.55:
        t = rng.choice(BOUNDS)
        shape = rng.choice([(0, 0, 0), (-1, 0, 1), (0, 0, 1), (0, 0, 2), (-1, -1, 1),
                            (-2, 1, 1), (1, 1, 1), (-1, -1, 2), (0, -3, 3)])
        values = [max(0, t + d) for d in shape]
        rng.shuffle(values)
        return values
    if r < 0.80:
        return [rng.randint(0, 2_000_000) for _ in range(3)]
    return [rng.randint(700001, 3_000_000) for _ in range(3)]


def _province(rng: random.Random) -> tuple[str | None, str | None]:
    r = rng.random()
    if r < 0.50:
        old = rng.choice(KV5)
        found = match_province(old)
        assert found is not None
        return old, (found.new_name if rng.random() < 0.5 else None)
    if r < 0.65:
        return None, rng.choice(NEW_INSIDE)
    if r < 0.72:
        return None, rng.choice(NEW_OUTSIDE)
    if r < 0.85:
        return rng.choice(OLD_OUTSIDE), None
    if r < 0.95:
        return None, None
    # Inconsistent cells: the rule is an OR of the two.
    return rng.choice([*OLD_OUTSIDE, None]), rng.choice([*NEW_INSIDE, *NEW_OUTSIDE])


def make_world(seed: int, n: int, *, first_id: int = 1, taken: set[str] | None = None) -> World:
    rng = random.Random(seed)
    world = World()
    used = taken if taken is not None else set()
    for sid in range(first_id, first_id + n):
        while True:
            msisdn = rng.choice(PREFIXES) + f"{rng.randrange(10**7):07d}"
            if msisdn not in used:
                used.add(msisdn)
                break
        province, province_new = _province(rng)
        r = rng.random()
        if r < 0.10:
            activation = None
        elif r < 0.20:  # exact anniversaries of the care months
            activation = dt.date(rng.randint(1998, 2016), rng.choice([3, 6]),
                                 rng.choice([1, 1, 2, 28]))
        else:
            activation = dt.date(1998, 1, 1) + dt.timedelta(days=rng.randrange(365 * 19))
        flag = rng.choices([True, False, None], weights=[5, 60, 35])[0]
        world.subscribers.append({
            "id": sid, "msisdn": msisdn, "ported": False,
            "subscriber_type": rng.choice(["prepaid", "postpaid"]),
            "status": rng.choices(
                ["active", "blocked_one_way", "blocked_two_way", "cancelled"],
                weights=[80, 7, 7, 6])[0],
            "name": f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}",
            "activation_date": activation, "province": province, "province_new": province_new,
            "district": None, "in_other_programme": flag, "updated_at": NOW,
        })
        own: dict[int, int] = {}
        for cycles in (CORE_CYCLES[:3], CORE_CYCLES[3:]):
            for cycle, amount in zip(cycles, _triple(rng), strict=True):
                if rng.random() >= 0.03:
                    own[cycle] = amount
        for cycle in ALL_CYCLES:  # cycles outside both windows: must never count
            if cycle not in CORE_CYCLES and rng.random() < 0.3:
                own[cycle] = rng.choice([0, 2_500_000, 549999, 700001])
        world.charges[sid] = own
    return world


def store_world(factory: Factory, world: World) -> None:
    with factory() as session:
        session.execute(insert(Subscriber), world.subscribers)
        rows = [{"subscriber_id": sid, "cycle": c, "amount": a}
                for sid, own in world.charges.items() for c, a in own.items()]
        if rows:
            session.execute(insert(Charge), rows)
        session.commit()


def store_exclusions(factory: Factory, programme_id: int, msisdns: Iterable[str]) -> None:
    rows = [{"programme_id": programme_id, "msisdn": m, "source": "CT khác", "created_at": NOW}
            for m in msisdns]
    if rows:
        with factory() as session:
            session.execute(insert(Exclusion), rows)
            session.commit()


def batch_id_of(factory: Factory, programme_id: int, number: int) -> int:
    with factory() as session:
        found = session.scalar(select(Batch.id).where(
            Batch.programme_id == programme_id, Batch.number == number))
        assert found is not None
        return found


def add_case(factory: Factory, programme_id: int, subscriber_id: int | Iterable[int], *,
             batch: int = 1, handed_over: bool = False, state: str = "listed") -> None:
    """Care cases put straight into the database (another programme's, or an earlier one)."""
    batch_id = batch_id_of(factory, programme_id, batch)
    ids = [subscriber_id] if isinstance(subscriber_id, int) else list(subscriber_id)
    if not ids:
        return
    with factory() as session:
        session.execute(insert(CareCase), [{
            "programme_id": programme_id, "batch_id": batch_id, "subscriber_id": sid,
            "state": state, "reason_code": "listed", "group_number": 1, "delivery": "visit",
            "gift_type_number": 1, "basis": 800000, "cycle_1": 201612, "cycle_2": 201611,
            "cycle_3": 201610, "charge_1": 800000, "charge_2": 800000, "charge_3": 800000,
            "aggregation": "every_cycle", "rule_version": 1, "subscriber_type": "prepaid",
            "subscriber_status": "active",
            "handed_over_at": NOW if handed_over else None, "created_at": NOW,
        } for sid in ids])
        session.commit()


def set_programme(factory: Factory, programme_id: int, **values: Any) -> None:
    with factory() as session:
        session.execute(update(Programme).where(Programme.id == programme_id).values(**values))
        session.commit()


def set_group(factory: Factory, programme_id: int, number: int, **values: Any) -> None:
    with factory() as session:
        session.execute(update(ProgrammeGroup).where(
            ProgrammeGroup.programme_id == programme_id, ProgrammeGroup.number == number,
        ).values(**values))
        session.commit()


@dataclass
class Rules:
    groups: list[dict[str, Any]]
    provinces: list[str]
    aggregation: str
    care: dict[int, tuple[int, int]]  # batch number -> (year, month)


def read_rules(factory: Factory, programme_id: int) -> Rules:
    """The programme's rules as plain data (the tests may have changed them)."""
    with factory() as session:
        p = session.get(Programme, programme_id)
        assert p is not None
        groups = [{"number": g.number, "lower": g.lower_bound, "lower_inclusive": g.lower_inclusive,
                   "upper": g.upper_bound, "upper_inclusive": g.upper_inclusive,
                   "gift_type": g.gift_type_number} for g in p.groups]
        care = {b.number: (b.care_year, b.care_month) for b in p.batches}
        return Rules(groups, list(p.provinces), p.aggregation, care)


def run_oracle(world: World, rules: Rules, *, batch: int, on_other_batch: Iterable[int] = (),
               plan: Mapping[int, int] | None = None,
               care: tuple[int, int] | None = None) -> Result:
    year, month = care or rules.care[batch]
    return oracle_classify(
        world.subscribers, world.charges, groups=rules.groups, provinces=rules.provinces,
        old_names_of=old_names_of, care_year=year, care_month=month,
        aggregation=rules.aggregation, excluded_msisdns=world.excluded,
        other_cases=world.other_cases, on_other_batch=on_other_batch, plan=plan,
    )


# --------------------------------------------------------------------------- reading results


@dataclass
class Stored:
    outcomes: dict[int, tuple[str, int | None]]
    cases: dict[int, CareCase]
    problems: list[str]


def read_stored(factory: Factory, programme_id: int, batch: int) -> Stored:
    """Each subscriber's outcome for the batch: its CareCase on the batch, or its LeftOut row."""
    batch_id = batch_id_of(factory, programme_id, batch)
    problems: list[str] = []
    outcomes: dict[int, tuple[str, int | None]] = {}
    cases: dict[int, CareCase] = {}
    with factory() as session:
        all_ids = set(session.scalars(select(Subscriber.id)))
        for case in session.scalars(select(CareCase).where(
                CareCase.programme_id == programme_id, CareCase.batch_id == batch_id)):
            session.expunge(case)
            cases[case.subscriber_id] = case
            outcomes[case.subscriber_id] = (case.state, case.group_number)
        for row in session.scalars(select(LeftOut).where(LeftOut.batch_id == batch_id)):
            if row.subscriber_id in outcomes:
                problems.append(f"subscriber {row.subscriber_id}: both a CareCase "
                                f"{outcomes[row.subscriber_id]} and a LeftOut ({row.reason})")
            outcomes[row.subscriber_id] = ("left_out", row.reason)
    for sid in sorted(all_ids - set(outcomes)):
        problems.append(f"subscriber {sid}: neither a CareCase nor a LeftOut for batch {batch}")
        outcomes[sid] = ("nothing", None)
    return Stored(outcomes, cases, problems)


def row_counts(factory: Factory) -> dict[str, int]:
    with factory() as session:
        return {model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
                for model in (CareCase, LeftOut, Classification, Subscriber, Charge, Batch)}


def facts(world: World, sid: int, cycles: Iterable[int]) -> str:
    s = world.by_id().get(sid, {})
    own = world.charges.get(sid, {})
    handed = [(st, h) for i, st, h in world.other_cases if i == sid]
    return (f"id={sid} msisdn={s.get('msisdn')} status={s.get('status')} "
            f"province={s.get('province')!r} province_new={s.get('province_new')!r} "
            f"flag={s.get('in_other_programme')} excluded={s.get('msisdn') in world.excluded} "
            f"other_cases={handed} activation={s.get('activation_date')} "
            f"charges={[own.get(c) for c in cycles]}")


def compare(world: World, expected: Result, stored: Stored, cycles: Iterable[int]) -> None:
    """Subscriber by subscriber; the message lists every disagreement with the facts."""
    cycles = list(cycles)
    lines = list(stored.problems)
    pairs: Counter[tuple[Any, Any]] = Counter()
    for sid in sorted(set(expected.outcomes) | set(stored.outcomes)):
        want, got = expected.outcomes.get(sid), stored.outcomes.get(sid)
        if want != got:
            pairs[(want, got)] += 1
            lines.append(f"{facts(world, sid, cycles)}: oracle {want}, implementation {got}")
            continue
        case = stored.cases.get(sid)
        if case is not None:
            if case.basis != expected.basis.get(sid):
                lines.append(f"{facts(world, sid, cycles)}: oracle basis "
                             f"{expected.basis.get(sid)}, stored basis {case.basis}")
            if (case.cycle_1, case.cycle_2, case.cycle_3) != tuple(cycles):
                lines.append(f"id={sid}: stored cycles {(case.cycle_1, case.cycle_2, case.cycle_3)}"
                             f", expected {tuple(cycles)} (n-3, n-4, n-5)")
            if case.state in ("listed", "waiting") and (
                    case.gift_type_number, case.delivery) != {1: (1, "visit"), 2: (2, "store")
                                                              }.get(case.group_number):
                lines.append(f"id={sid}: group {case.group_number} with gift type "
                             f"{case.gift_type_number}, delivery {case.delivery}")
    summary = "\n".join(f"  {n} x oracle {w} / implementation {g}" for (w, g), n in
                        pairs.most_common())
    assert not lines, (f"{len(lines)} disagreements; by kind:\n{summary}\nfirst ones:\n"
                       + "\n".join(lines[:40]))


def nonzero(counts: Mapping[Any, int]) -> dict[Any, int]:
    return {k: v for k, v in counts.items() if v}


def check_counts(result: Any, expected: Result, *, batch: int, care_month: str) -> None:
    assert nonzero(result.groups) == expected.groups
    assert result.in_gap == expected.in_gap
    assert result.waiting == expected.waiting
    assert nonzero(result.not_eligible) == expected.not_eligible
    assert result.care_month == care_month
    doc = result.to_json()
    if isinstance(doc, str):
        doc = json.loads(doc)
    assert doc["batch"] == batch
    assert doc["care_month"] == care_month
    assert doc["group_1"] == expected.groups.get(1, 0)
    assert doc["group_2"] == expected.groups.get(2, 0)
    assert doc["in_gap"] == expected.in_gap
    assert nonzero(doc["not_eligible"]) == expected.not_eligible


def listed_ids(expected: Result) -> list[int]:
    return sorted(sid for sid, (state, _) in expected.outcomes.items() if state != "left_out")


# --------------------------------------------------------------------------- the population


def populate(factory: Factory, programme_id: int, seed: int, n: int = 3000) -> World:
    """`n` subscribers, this programme's exclusions, another open and a closed programme."""
    world = make_world(seed, n)
    rng = random.Random(seed + 1)
    msisdns = [s["msisdn"] for s in world.subscribers]
    ids = [s["id"] for s in world.subscribers]

    world.excluded = set(rng.sample(msisdns, n * 3 // 100))
    noise = {f"0912{i:06d}" for i in range(20)}  # not MobiFone subscribers stored
    store_exclusions(factory, programme_id, world.excluded | noise)

    other_open = create_programme(factory, default_programme_spec(), actor=Actor("test"))
    other_closed = create_programme(factory, default_programme_spec(), actor=Actor("test"))
    set_programme(factory, other_closed, status="closed", name="Chương trình đã đóng")
    # Exclusion lists of another programme do not exclude from this one.
    store_exclusions(factory, other_open, rng.sample(msisdns, n * 3 // 100))
    store_world(factory, world)
    picks = rng.sample(ids, n * 8 // 100)
    q = len(picks) // 4
    open_handed, open_not, closed_handed, both = (
        picks[:q], picks[q:2 * q], picks[2 * q:3 * q], picks[3 * q:])
    add_case(factory, other_open, open_handed, handed_over=True)
    add_case(factory, other_open, open_not, handed_over=False)
    add_case(factory, other_closed, closed_handed, handed_over=True)
    add_case(factory, other_closed, both, handed_over=True)  # and in the open one too
    add_case(factory, other_open, both, batch=2, handed_over=True, state="listed")
    world.other_cases += [(sid, "open", True) for sid in open_handed]
    world.other_cases += [(sid, "open", False) for sid in open_not]
    world.other_cases += [(sid, "closed", True) for sid in closed_handed]
    world.other_cases += [(sid, st, True) for sid in both for st in ("closed", "open")]
    return world


def _batches_1_and_2(factory: Factory, programme_id: int, world: World) -> None:
    rules = read_rules(factory, programme_id)

    expected1 = run_oracle(world, rules, batch=1)
    result1 = classify_batch(factory, programme_id=programme_id, batch=1, actor=Actor("test"))
    compare(world, expected1, read_stored(factory, programme_id, 1), cycles_of(2017, 3))
    check_counts(result1, expected1, batch=1, care_month="03/2017")
    # The data must exercise every outcome, or the comparison proves little.
    assert {1, 2} <= set(expected1.groups) and expected1.in_gap > 0
    assert set(expected1.not_eligible) == {"not_active", "outside_area", "in_other_programme",
                                           "missing_cycle", "below_threshold"}

    before = row_counts(factory)
    again = classify_batch(factory, programme_id=programme_id, batch=1, actor=Actor("test"))
    after = row_counts(factory)
    assert {k: after[k] for k in ("care_cases", "left_out")} == \
        {k: before[k] for k in ("care_cases", "left_out")}
    compare(world, expected1, read_stored(factory, programme_id, 1), cycles_of(2017, 3))
    check_counts(again, expected1, batch=1, care_month="03/2017")

    expected2 = run_oracle(world, rules, batch=2, on_other_batch=listed_ids(expected1))
    result2 = classify_batch(factory, programme_id=programme_id, batch=2, actor=Actor("test"))
    compare(world, expected2, read_stored(factory, programme_id, 2), cycles_of(2017, 6))
    check_counts(result2, expected2, batch=2, care_month="06/2017")
    assert expected2.not_eligible["on_earlier_batch"] == len(listed_ids(expected1))
    # Batch 1's list is untouched by batch 2.
    compare(world, expected1, read_stored(factory, programme_id, 1), cycles_of(2017, 3))


def test_population_every_cycle_batches_1_and_2(factory: Factory, programme_id: int) -> None:
    world = populate(factory, programme_id, seed=20170301)
    _batches_1_and_2(factory, programme_id, world)


def test_population_average_reduced_area(factory: Factory, programme_id: int) -> None:
    """Mean of the three cycles; an area without Thái Bình and Hà Giang, so that the 2025
    provinces Hưng Yên and Tuyên Quang lie only partly inside (and are outside)."""
    set_programme(factory, programme_id, aggregation="average",
                  provinces=[p for p in KV5 if p not in ("Thái Bình", "Hà Giang")])
    world = populate(factory, programme_id, seed=20170601)
    _batches_1_and_2(factory, programme_id, world)


@pytest.mark.parametrize("aggregation", ["every_cycle", "average"])
def test_population_plan_smaller_than_eligible(
    factory: Factory, programme_id: int, aggregation: str
) -> None:
    set_programme(factory, programme_id, aggregation=aggregation)
    world = populate(factory, programme_id, seed=4242, n=2000)
    rules = read_rules(factory, programme_id)
    unlimited = run_oracle(world, rules, batch=1)
    plan = {1: unlimited.groups[1] // 2, 2: unlimited.groups[2] // 3}
    expected = run_oracle(world, rules, batch=1, plan=plan)
    assert expected.waiting > 0

    result = classify_batch(factory, programme_id=programme_id, batch=1, plan=plan,
                            actor=Actor("test"))
    stored = read_stored(factory, programme_id, 1)
    compare(world, expected, stored, cycles_of(2017, 3))
    check_counts(result, expected, batch=1, care_month="03/2017")
    assert result.waiting == expected.waiting
    for gift, quantity in plan.items():
        order = expected.order[gift]
        listed = {sid for sid, c in stored.cases.items()
                  if c.state == "listed" and c.gift_type_number == gift}
        assert listed == set(order[:quantity])
        waiting = [c for c in stored.cases.values()
                   if c.state == "waiting" and c.gift_type_number == gift]
        assert all(c.waiting_rank is not None for c in waiting)
        assert len({c.waiting_rank for c in waiting}) == len(waiting)
        got = [c.subscriber_id for c in sorted(waiting, key=lambda c: c.waiting_rank or 0)]
        assert got == order[quantity:], f"waiting order of gift type {gift} differs"


def test_dry_run_changes_nothing_and_counts_the_same(factory: Factory, programme_id: int) -> None:
    world = populate(factory, programme_id, seed=99, n=1500)
    expected = run_oracle(world, read_rules(factory, programme_id), batch=1)
    before = row_counts(factory)
    dry = classify_batch(factory, programme_id=programme_id, batch=1, dry_run=True,
                         actor=Actor("test"))
    assert row_counts(factory) == before
    check_counts(dry, expected, batch=1, care_month="03/2017")

    real = classify_batch(factory, programme_id=programme_id, batch=1, actor=Actor("test"))
    check_counts(real, expected, batch=1, care_month="03/2017")
    compare(world, expected, read_stored(factory, programme_id, 1), cycles_of(2017, 3))


def test_dry_run_with_care_month_keeps_the_batch(factory: Factory, programme_id: int) -> None:
    world = populate(factory, programme_id, seed=7, n=500)
    expected = run_oracle(world, read_rules(factory, programme_id), batch=1, care=(2017, 4))
    before = row_counts(factory)
    dry = classify_batch(factory, programme_id=programme_id, batch=1, care_month="04/2017",
                         dry_run=True, actor=Actor("test"))
    check_counts(dry, expected, batch=1, care_month="04/2017")
    assert row_counts(factory) == before
    with factory() as session:
        b = session.get(Batch, batch_id_of(factory, programme_id, 1))
        assert b is not None and (b.care_year, b.care_month) == (2017, 3)


def test_care_month_option_sets_the_window(factory: Factory, programme_id: int) -> None:
    world = populate(factory, programme_id, seed=11, n=800)
    expected = run_oracle(world, read_rules(factory, programme_id), batch=1, care=(2017, 4))
    result = classify_batch(factory, programme_id=programme_id, batch=1, care_month="04/2017",
                            actor=Actor("test"))
    check_counts(result, expected, batch=1, care_month="04/2017")
    compare(world, expected, read_stored(factory, programme_id, 1), cycles_of(2017, 4))
    assert read_rules(factory, programme_id).care[1] == (2017, 4)


def test_rerun_keeps_entries_and_adds_only_new_subscribers(
    factory: Factory, programme_id: int
) -> None:
    world = populate(factory, programme_id, seed=5, n=600)
    rules = read_rules(factory, programme_id)
    expected = run_oracle(world, rules, batch=1)
    classify_batch(factory, programme_id=programme_id, batch=1, actor=Actor("test"))
    with factory() as session:
        first_cases = {c.subscriber_id: (c.id, c.state, c.group_number, c.basis)
                       for c in session.scalars(select(CareCase).where(
                           CareCase.programme_id == programme_id))}

    # A later import brings new subscribers; the existing entries stay as they were.
    newcomers = make_world(77, 300, first_id=10_001,
                           taken={s["msisdn"] for s in world.subscribers})
    store_world(factory, newcomers)
    world.subscribers += newcomers.subscribers
    world.charges.update(newcomers.charges)
    expected = run_oracle(world, rules, batch=1)
    result = classify_batch(factory, programme_id=programme_id, batch=1, actor=Actor("test"))
    compare(world, expected, read_stored(factory, programme_id, 1), cycles_of(2017, 3))
    check_counts(result, expected, batch=1, care_month="03/2017")
    with factory() as session:
        for sid, row in first_cases.items():
            c = session.scalar(select(CareCase).where(
                CareCase.programme_id == programme_id, CareCase.subscriber_id == sid))
            assert c is not None and (c.id, c.state, c.group_number, c.basis) == row


# --------------------------------------------------------------------------- targeted tests


def _one(sid: int, charges: Iterable[int | None], *, cycles: Iterable[int] = CORE_CYCLES[:3],
         **overrides: Any) -> tuple[dict[str, Any], dict[int, int]]:
    sub = {"id": sid, "msisdn": f"0900{sid:06d}", "ported": False, "subscriber_type": "postpaid",
           "status": "active", "name": "Nguyễn Văn An", "activation_date": dt.date(2010, 5, 5),
           "province": "Hải Phòng", "province_new": "Hải Phòng", "district": None,
           "in_other_programme": False, "updated_at": NOW}
    sub.update(overrides)
    # CORE_CYCLES[:3] = 201610, 201611, 201612: n-5, n-4, n-3 of 03/2017.
    own = {c: a for c, a in zip(cycles, charges, strict=True) if a is not None}
    return sub, own


def _world(*entries: tuple[dict[str, Any], dict[int, int]]) -> World:
    world = World()
    for sub, own in entries:
        world.subscribers.append(sub)
        world.charges[sub["id"]] = own
    return world


def _classify_one(factory: Factory, programme_id: int, world: World, **kwargs: Any) -> Stored:
    store_world(factory, world)
    rules = read_rules(factory, programme_id)
    expected = run_oracle(world, rules, batch=1, plan=kwargs.get("plan"))
    result = classify_batch(factory, programme_id=programme_id, batch=1, **kwargs)
    stored = read_stored(factory, programme_id, 1)
    compare(world, expected, stored, cycles_of(2017, 3))
    check_counts(result, expected, batch=1, care_month="03/2017")
    return stored


BOUND_CASES = [
    # (three charges of 201610..201612, aggregation, outcome)
    ((549999, 549999, 549999), "every_cycle", ("left_out", "below_threshold")),
    ((550000, 550000, 550000), "every_cycle", ("listed", 2)),
    ((699999, 699999, 699999), "every_cycle", ("listed", 2)),
    ((700000, 700000, 700000), "every_cycle", ("awaiting_group", None)),
    ((700001, 700001, 700001), "every_cycle", ("listed", 1)),
    ((0, 0, 0), "every_cycle", ("left_out", "below_threshold")),
    ((2_000_000, 700000, 2_000_000), "every_cycle", ("awaiting_group", None)),
    ((900000, 549999, 900000), "every_cycle", ("left_out", "below_threshold")),
    ((700001, 900000, 699999), "every_cycle", ("listed", 2)),
    ((2_000_000, 0, 2_000_000), "every_cycle", ("left_out", "below_threshold")),
    ((549999, 549999, 549999), "average", ("left_out", "below_threshold")),
    ((549999, 550000, 550001), "average", ("listed", 2)),
    ((549999, 549999, 550001), "average", ("left_out", "below_threshold")),  # 549999.67
    ((699999, 699999, 699999), "average", ("listed", 2)),
    ((699999, 700000, 700001), "average", ("awaiting_group", None)),
    ((700000, 700000, 700002), "average", ("awaiting_group", None)),  # 700000.67 -> 700000
    ((700000, 700001, 700002), "average", ("listed", 1)),
    ((2_000_000, 0, 100_000), "average", ("awaiting_group", None)),  # 2100000 // 3 = 700000
    ((2_000_000, 0, 100_003), "average", ("listed", 1)),  # 700001
    ((0, 0, 0), "average", ("left_out", "below_threshold")),
    ((700000, 700000, 700000), "average", ("awaiting_group", None)),
]


@pytest.mark.parametrize(("charges", "aggregation", "outcome"), BOUND_CASES)
def test_exact_bounds(factory: Factory, programme_id: int, charges: tuple[int, int, int],
                      aggregation: str, outcome: tuple[str, int | None]) -> None:
    set_programme(factory, programme_id, aggregation=aggregation)
    world = _world(_one(1, charges))
    stored = _classify_one(factory, programme_id, world)
    assert stored.outcomes[1] == outcome
    if outcome[0] != "left_out":
        values = sorted(charges)
        basis = values[0] if aggregation == "every_cycle" else sum(values) // 3
        assert stored.cases[1].basis == basis


def test_missing_cycle_and_real_zero(factory: Factory, programme_id: int) -> None:
    world = _world(
        _one(1, (900000, None, 900000)),                      # n-4 missing
        _one(2, (None, 900000, 900000)),                      # n-5 missing
        _one(3, (900000, 900000, None)),                      # n-3 missing
        _one(4, (0, 900000, 900000)),                         # a real 0
        # the right number of cycles, but one from outside the window
        _one(5, (900000, 900000, 900000), cycles=(201609, 201611, 201612)),
        _one(6, (900000, 900000, 900000), cycles=(201701, 201611, 201612)),
    )
    stored = _classify_one(factory, programme_id, world)
    assert stored.outcomes == {
        1: ("left_out", "missing_cycle"), 2: ("left_out", "missing_cycle"),
        3: ("left_out", "missing_cycle"), 4: ("left_out", "below_threshold"),
        5: ("left_out", "missing_cycle"), 6: ("left_out", "missing_cycle"),
    }


def test_each_exclusion_source(factory: Factory, programme_id: int) -> None:
    high = (900000, 900000, 900000)
    world = _world(
        _one(1, high, in_other_programme=True),
        _one(2, high, in_other_programme=None),   # unknown is not "in another programme"
        _one(3, high, in_other_programme=False),
        _one(4, high),                            # on this programme's exclusion list
        _one(5, high),                            # on another programme's exclusion list only
        _one(6, high),                            # handed over in another open programme
        _one(7, high),                            # handed over in a closed programme
        _one(8, high),                            # listed, not handed over, in an open one
    )
    store_exclusions(factory, programme_id, [world.subscribers[3]["msisdn"]])
    world.excluded = {world.subscribers[3]["msisdn"]}
    other_open = create_programme(factory, default_programme_spec(), actor=Actor("test"))
    other_closed = create_programme(factory, default_programme_spec(), actor=Actor("test"))
    set_programme(factory, other_closed, status="closed")
    store_exclusions(factory, other_open, [world.subscribers[4]["msisdn"]])
    store_world(factory, world)
    add_case(factory, other_open, 6, handed_over=True)
    add_case(factory, other_closed, 7, handed_over=True)
    add_case(factory, other_open, 8, handed_over=False)
    world.other_cases = [(6, "open", True), (7, "closed", True), (8, "open", False)]

    rules = read_rules(factory, programme_id)
    expected = run_oracle(world, rules, batch=1)
    result = classify_batch(factory, programme_id=programme_id, batch=1, actor=Actor("test"))
    stored = read_stored(factory, programme_id, 1)
    compare(world, expected, stored, cycles_of(2017, 3))
    check_counts(result, expected, batch=1, care_month="03/2017")
    assert stored.outcomes == {
        1: ("left_out", "in_other_programme"), 2: ("listed", 1), 3: ("listed", 1),
        4: ("left_out", "in_other_programme"), 5: ("listed", 1),
        6: ("left_out", "in_other_programme"), 7: ("listed", 1), 8: ("listed", 1),
    }


def test_first_failing_check_gives_the_reason(factory: Factory, programme_id: int) -> None:
    world = _world(
        _one(1, (None, 1, 1), status="cancelled", province="Hà Nội", province_new="Hà Nội",
             in_other_programme=True),
        _one(2, (None, 1, 1), status="blocked_one_way", in_other_programme=True),
        _one(3, (None, 1, 1), status="blocked_two_way"),
        _one(4, (None, 1, 1), province="Hà Nội", province_new="Hà Nội", in_other_programme=True),
        _one(5, (None, 1, 1), province=None, province_new=None),
        _one(6, (None, 1, 1), in_other_programme=True),
        _one(7, (None, 1, 1)),
        _one(8, (1, 1, 1)),
    )
    stored = _classify_one(factory, programme_id, world)
    assert stored.outcomes == {
        1: ("left_out", "not_active"), 2: ("left_out", "not_active"),
        3: ("left_out", "not_active"), 4: ("left_out", "outside_area"),
        5: ("left_out", "outside_area"), 6: ("left_out", "in_other_programme"),
        7: ("left_out", "missing_cycle"), 8: ("left_out", "below_threshold"),
    }


def test_area_old_and_new_names(factory: Factory, programme_id: int) -> None:
    """Area without Thái Bình: the 2025 Hưng Yên (Hưng Yên + Thái Bình) is only partly in."""
    set_programme(factory, programme_id, provinces=[p for p in KV5 if p != "Thái Bình"])
    high = (900000, 900000, 900000)
    world = _world(
        _one(1, high, province="Hưng Yên", province_new="Hưng Yên"),  # old name is in the area
        _one(2, high, province=None, province_new="Hưng Yên"),        # partly in: outside
        _one(3, high, province="Thái Bình", province_new="Hưng Yên"),  # old name outside
        _one(4, high, province=None, province_new="Hải Phòng"),       # wholly in
        _one(5, high, province="Hà Nội", province_new=None),
        _one(6, high, province=None, province_new="Đà Nẵng"),
        _one(7, high, province="Bắc Giang", province_new=None),
        _one(8, high, province="Hà Nội", province_new="Bắc Ninh"),    # the OR of the two
    )
    stored = _classify_one(factory, programme_id, world)
    out = ("left_out", "outside_area")
    assert stored.outcomes == {1: ("listed", 1), 2: out, 3: out, 4: ("listed", 1), 5: out,
                               6: out, 7: ("listed", 1), 8: ("listed", 1)}


def test_overlapping_groups_lowest_number_wins(factory: Factory, programme_id: int) -> None:
    set_group(factory, programme_id, 2, upper_bound=800000, upper_inclusive=True)
    world = _world(
        _one(1, (750000, 750000, 750000)),
        _one(2, (800000, 800000, 800000)),
        _one(3, (700000, 700000, 700000)),  # gap closed: now group 2
        _one(4, (800001, 800001, 800001)),
    )
    stored = _classify_one(factory, programme_id, world)
    assert stored.outcomes == {1: ("listed", 1), 2: ("listed", 1), 3: ("listed", 2),
                               4: ("listed", 1)}


def test_no_lower_bound_means_nobody_below(factory: Factory, programme_id: int) -> None:
    set_group(factory, programme_id, 2, lower_bound=None)
    world = _world(_one(1, (0, 0, 0)), _one(2, (700000, 700000, 700000)))
    stored = _classify_one(factory, programme_id, world)
    assert stored.outcomes == {1: ("listed", 2), 2: ("awaiting_group", None)}


@pytest.mark.parametrize("plan", [{1: 3}, {1: 3, 2: 0}])
def test_waiting_order_exact(factory: Factory, programme_id: int, plan: dict[int, int]) -> None:
    """Higher basis, then longer tenure to 01/03/2017 (unknown last), then the number."""
    world = _world(
        _one(1, (900000, 950000, 900000), msisdn="0900000009", activation_date=dt.date(2010, 1, 1)),
        _one(2, (800000, 800000, 990000), msisdn="0900000001", activation_date=None),
        _one(3, (800000, 850000, 800000), msisdn="0900000005", activation_date=dt.date(2015, 3, 1)),
        _one(4, (800000, 800000, 800000), msisdn="0900000002", activation_date=dt.date(2015, 3, 2)),
        _one(5, (800000, 800000, 800000), msisdn="0900000003", activation_date=dt.date(2014, 3, 2)),
        _one(6, (810000, 800000, 800000), msisdn="0900000004",
             activation_date=dt.date(2016, 12, 31)),
        _one(7, (700001, 700001, 700001), msisdn="0900000000", activation_date=dt.date(1999, 1, 1)),
        _one(8, (600000, 600000, 600000), msisdn="0900000008"),
    )
    stored = _classify_one(factory, programme_id, world, plan=plan)
    # Serving order of gift type 1: 1 (900000), then basis 800000: 5 (2 years, 0900000003),
    # 3 (2 years, 0900000005), 4 (1 year), 6 (0 years), 2 (unknown), then 7 (700001).
    assert [sid for sid in (1, 5, 3) if stored.outcomes[sid] == ("listed", 1)] == [1, 5, 3]
    waiting = sorted((c for c in stored.cases.values()
                      if c.state == "waiting" and c.gift_type_number == 1),
                     key=lambda c: c.waiting_rank or 0)
    assert [c.subscriber_id for c in waiting] == [4, 6, 2, 7]
    assert stored.outcomes[8] == (("waiting", 2) if plan.get(2) == 0 else ("listed", 2))
    assert all(c.tenure_years is None for c in stored.cases.values() if c.subscriber_id == 2)
    tenure = {c.subscriber_id: c.tenure_years for c in stored.cases.values()}
    assert {k: tenure[k] for k in (3, 4, 5, 6)} == {3: 2, 4: 1, 5: 2, 6: 0}


def test_case_on_another_batch_of_this_programme(factory: Factory, programme_id: int) -> None:
    high = (900000, 900000, 900000)
    world = _world(_one(1, high), _one(2, high), _one(3, high))
    store_world(factory, world)
    add_case(factory, programme_id, 1, batch=3)           # a different batch, any number
    add_case(factory, programme_id, 2, batch=2, state="awaiting_group")
    rules = read_rules(factory, programme_id)
    expected = run_oracle(world, rules, batch=1, on_other_batch=[1, 2])
    result = classify_batch(factory, programme_id=programme_id, batch=1, actor=Actor("test"))
    stored = read_stored(factory, programme_id, 1)
    compare(world, expected, stored, cycles_of(2017, 3))
    check_counts(result, expected, batch=1, care_month="03/2017")
    assert stored.outcomes == {1: ("left_out", "on_earlier_batch"),
                               2: ("left_out", "on_earlier_batch"), 3: ("listed", 1)}


def test_gap_and_waiting_cases_are_left_out_of_batch_2(
    factory: Factory, programme_id: int
) -> None:
    world = _world(
        _one(1, (700000, 700000, 700000)),   # gap in batch 1
        _one(2, (900000, 900000, 900000), msisdn="0900000102"),
        _one(3, (900000, 900000, 900000), msisdn="0900000103"),  # waiting (plan 1)
        _one(4, (500000, 500000, 500000)),   # below in batch 1, group 1 in batch 2
    )
    for sid in (1, 2, 3, 4):
        world.charges[sid].update({201701: 900000, 201702: 900000, 201703: 900000})
    stored1 = _classify_one(factory, programme_id, world, plan={1: 1})
    assert stored1.outcomes == {1: ("awaiting_group", None), 2: ("listed", 1),
                                3: ("waiting", 1), 4: ("left_out", "below_threshold")}
    result = classify_batch(factory, programme_id=programme_id, batch=2, actor=Actor("test"))
    stored2 = read_stored(factory, programme_id, 2)
    assert stored2.outcomes == {1: ("left_out", "on_earlier_batch"),
                                2: ("left_out", "on_earlier_batch"),
                                3: ("left_out", "on_earlier_batch"), 4: ("listed", 1)}
    assert nonzero(result.groups) == {1: 1}
    assert nonzero(result.not_eligible) == {"on_earlier_batch": 3}


def test_oracle_self_check() -> None:
    """The oracle's own arithmetic on the worked examples of the rules."""
    assert cycles_of(2017, 3) == (201612, 201611, 201610)
    assert cycles_of(2017, 9) == (201706, 201705, 201704)
    assert cycles_of(2017, 1) == (201610, 201609, 201608)
    rules = Rules(
        [{"number": 1, "lower": 700000, "lower_inclusive": False, "upper": None,
          "upper_inclusive": False, "gift_type": 1},
         {"number": 2, "lower": 550000, "lower_inclusive": True, "upper": 700000,
          "upper_inclusive": False, "gift_type": 2}],
        KV5, "every_cycle", {1: (2017, 3)})
    for charges, aggregation, outcome in BOUND_CASES:
        rules.aggregation = aggregation
        world = _world(_one(1, charges))
        assert run_oracle(world, rules, batch=1).outcomes[1] == outcome, (charges, aggregation)



# --------------------------------------------------------------------------- random rules

_BOUND_VALUES = [None, 0, 500000, 549999, 550000, 550001, 699999, 700000, 700001, 800000]


def _near_bounds() -> st.SearchStrategy[int]:
    return st.one_of(
        st.sampled_from([b + d for b in (0, 500000, 550000, 700000, 800000)
                         for d in (-2, -1, 0, 1, 2) if b + d >= 0]),
        st.integers(0, 3_000_000),
    )


@st.composite
def _group(draw: st.DrawFn, number: int) -> dict[str, Any]:
    lower = draw(st.sampled_from(_BOUND_VALUES))
    upper = draw(st.sampled_from([None, *[b for b in _BOUND_VALUES if b is not None
                                          and (lower is None or b > lower)]]))
    return {"number": number, "lower": lower, "lower_inclusive": draw(st.booleans()),
            "upper": upper, "upper_inclusive": draw(st.booleans()), "gift_type": number}


@st.composite
def _small_world(draw: st.DrawFn) -> World:
    n = draw(st.integers(1, 12))
    world = World()
    for sid in range(1, n + 1):
        province, province_new = draw(st.sampled_from([
            ("Hải Dương", None), ("Bắc Kạn", "Thái Nguyên"), (None, "Hưng Yên"),
            (None, "Phú Thọ"), ("Hà Nội", None), (None, None)]))
        sub, own = _one(
            sid, [draw(st.one_of(st.none(), _near_bounds())) if draw(st.integers(0, 9)) == 0
                  else draw(_near_bounds()) for _ in range(3)],
            status=draw(st.sampled_from(["active"] * 4 + ["blocked_one_way", "cancelled"])),
            province=province, province_new=province_new,
            in_other_programme=draw(st.sampled_from([False, None, None, True])),
            activation_date=draw(st.one_of(st.none(), st.dates(dt.date(1995, 1, 1),
                                                                dt.date(2016, 12, 31)))),
        )
        world.subscribers.append(sub)
        world.charges[sid] = own
    return world


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(groups=st.tuples(_group(1), _group(2)), world=_small_world(),
       aggregation=st.sampled_from(["every_cycle", "average"]),
       plan=st.one_of(st.none(), st.fixed_dictionaries({1: st.integers(0, 3)}),
                      st.fixed_dictionaries({1: st.integers(0, 3), 2: st.integers(0, 3)})))
def test_random_rules_against_oracle(
    template_db: Path, tmp_path: Path, groups: tuple[dict[str, Any], dict[str, Any]],
    world: World, aggregation: str, plan: dict[int, int] | None,
) -> None:
    """Group bounds and inclusivity drawn at random (rules are data): the same answers."""
    path = tmp_path / f"h{uuid.uuid4().hex}.sqlite"
    shutil.copy(template_db, path)
    engine = make_engine(f"sqlite:///{path.as_posix()}")
    try:
        factory = make_session_factory(engine)
        programme_id = create_programme(factory, default_programme_spec(), actor=Actor("test"))
        set_programme(factory, programme_id, aggregation=aggregation)
        for g in groups:
            set_group(factory, programme_id, g["number"], lower_bound=g["lower"],
                      lower_inclusive=g["lower_inclusive"], upper_bound=g["upper"],
                      upper_inclusive=g["upper_inclusive"])
        store_world(factory, world)
        expected = run_oracle(world, read_rules(factory, programme_id), batch=1, plan=plan)
        result = classify_batch(factory, programme_id=programme_id, batch=1, plan=plan,
                                actor=Actor("test"))
        stored = read_stored(factory, programme_id, 1)
        compare(world, expected, stored, cycles_of(2017, 3))
        check_counts(result, expected, batch=1, care_month="03/2017")
    finally:
        engine.dispose()
        path.unlink(missing_ok=True)
