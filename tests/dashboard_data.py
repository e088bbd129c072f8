"""Generated care lists for the overview's tests: insert them, and count them without SQL."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.models import Batch, CareCase, Subscriber
from mbfcare.services.dashboard import Counts
from mbfcare.uow import UnitOfWork

DISTRICTS = ("Lê Chân", "Hồng Bàng", "Ân Thi", None)
STATES = ("listed", "listed", "listed", "waiting", "awaiting_group", "left_out")


@dataclass(frozen=True)
class Case:
    """One care-list entry as the tests describe it."""

    batch: int
    state: str
    group: int | None
    district: str | None
    has_work: bool
    handed_over_at: dt.datetime | None
    standardised: bool | None


def generate(count: int, seed: int = 7) -> list[Case]:
    rng = random.Random(seed)
    cases = []
    for _ in range(count):
        state = rng.choice(STATES)
        group = rng.choice((1, 2, 3)) if state in ("listed", "waiting") else None
        handed = None
        if state == "listed" and rng.random() < 0.5:
            # Hours near midnight in Vietnam, so UTC and Vietnam days differ for some.
            handed = dt.datetime(2017, 3, rng.randint(20, 23), rng.choice((1, 16, 17, 20)),
                                 rng.randint(0, 59), tzinfo=dt.UTC)
        cases.append(Case(
            batch=rng.choice((1, 2)), state=state, group=group, district=rng.choice(DISTRICTS),
            has_work=handed is not None or rng.random() < 0.3, handed_over_at=handed,
            standardised=rng.choice((True, False, None)),
        ))
    return cases


def seed(factory: sessionmaker[Session], programme_id: int, cases: list[Case]) -> None:
    with UnitOfWork(factory, write=True) as uow:
        batches = {b.number: b.id for b in uow.session.scalars(
            select(Batch).where(Batch.programme_id == programme_id))}
        for i, case in enumerate(cases):
            sub = Subscriber(msisdn=f"09{i:08d}", subscriber_type="prepaid", status="active",
                             district=case.district, profile_standardised=case.standardised)
            uow.session.add(sub)
            uow.session.flush()
            uow.session.add(CareCase(
                programme_id=programme_id, batch_id=batches[case.batch], subscriber_id=sub.id,
                state=case.state, reason_code="test", group_number=case.group,
                basis=300000, cycle_1=201612, cycle_2=201611, cycle_3=201610,
                charge_1=300000, charge_2=300000, charge_3=300000, aggregation="every_cycle",
                rule_version=1, subscriber_type="prepaid", subscriber_status="active",
                district=case.district, has_work=case.has_work,
                handed_over_at=case.handed_over_at,
            ))
        uow.commit()


def expected(cases: list[Case]) -> Counts:
    """Counts computed without SQL."""
    in_care = [c for c in cases if c.state != "left_out"]
    return Counts(
        listed=sum(c.state == "listed" for c in in_care),
        waiting=sum(c.state == "waiting" for c in in_care),
        awaiting_group=sum(c.state == "awaiting_group" for c in in_care),
        has_work=sum(c.has_work for c in in_care),
        handed_over=sum(c.handed_over_at is not None for c in in_care),
    )
