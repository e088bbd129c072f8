"""Synthetic care work on a classified batch, for screenshots, benchmarks and the demo.

It goes through the same services as the desk and the command line (so every rule and the
audit log apply): stock received at the warehouse and the stores, SMS sent, gifts handed
over on the days after the care month starts, some owed, some customers closed with an
outcome, steps at the meeting and surveys for part of them.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.domain.actors import Actor
from mbfcare.errors import MbfCareError
from mbfcare.models import Batch, CareCase, Subscriber
from mbfcare.services import care_work, stock
from mbfcare.uow import UnitOfWork

_ITEMS = {1: ("balo-keo",), 2: ("hop-thuc-pham", "o-2-khuc")}


@dataclass(frozen=True)
class WorkDone:
    """How much was recorded."""

    sms: int
    handovers: int
    owed: int
    outcomes: int
    surveys: int


def record_synthetic_work(factory: sessionmaker[Session], *, programme_id: int, batch: int,
                          share: float = 0.6, seed: int = 5, max_cases: int = 400) -> WorkDone:
    """Record work for about `share` of the batch's listed entries (at most `max_cases`)."""
    rng = random.Random(seed)
    actor = Actor("Nguyễn Thị Lan", "admin")
    with UnitOfWork(factory) as uow:
        session = uow.session
        number_of = select(Batch.id).where(Batch.programme_id == programme_id,
                                           Batch.number == batch).scalar_subquery()
        rows = session.execute(
            select(Subscriber.msisdn, CareCase.group_number, CareCase.store,
                   Batch.care_year, Batch.care_month)
            .join(CareCase, CareCase.subscriber_id == Subscriber.id)
            .join(Batch, Batch.id == CareCase.batch_id)
            .where(CareCase.batch_id == number_of, CareCase.state == "listed",
                   CareCase.handover_on.is_(None), CareCase.outcome.is_(None))
            .order_by(CareCase.id)).all()
    chosen = [r for r in rows if rng.random() < share][:max_cases]
    if not chosen:
        return WorkDone(0, 0, 0, 0, 0)
    year, month = chosen[0].care_year, chosen[0].care_month
    start = dt.date(year, month, 1)
    stores = sorted({r.store for r in chosen if r.store and r.group_number == 2})
    need = {1: sum(r.group_number == 1 for r in chosen)}
    stock.move_stock(factory, "receive", "balo-keo", need[1] + 20, actor=actor,
                     reason="Nhận từ MBF KV5")
    for store in stores:
        for code in _ITEMS[2]:
            per_store = sum(r.store == store for r in chosen) // 2 + rng.randint(-2, 3)
            stock.move_stock(factory, "receive", code, max(per_store, 1), actor=actor,
                             location=store, reason="Nhận từ MBF KV5")
    sms = handovers = owed = outcomes = surveys = 0
    for row in chosen:
        sent = start + dt.timedelta(days=rng.randint(0, 4))
        care_work.record_step(factory, row.msisdn, "sms", actor=actor, on=sent,
                              by="Phòng CSKH")
        sms += 1
        roll = rng.random()
        if roll < 0.08:
            reason = rng.choice(("unreachable", "refused", "moved"))
            care_work.record_outcome(factory, row.msisdn, reason, actor=actor,
                                     on=sent + dt.timedelta(days=3))
            outcomes += 1
            continue
        if roll < 0.25:
            continue  # invited, not come yet
        day = sent + dt.timedelta(days=rng.randint(1, 20))
        item = rng.choice(_ITEMS[row.group_number or 2])
        by = "Trưởng MF " if row.group_number == 1 else "GDV "
        try:
            care_work.record_step(factory, row.msisdn, "data_check", actor=actor,
                                  on=day if row.group_number == 2 else sent, by=by.strip())
            care_work.record_handover(factory, row.msisdn, actor=actor, item_code=item,
                                      on=day, by=by + rng.choice(("Hà", "Minh", "Tuấn", "Lan")))
            handovers += 1
        except MbfCareError:
            promised = care_work.local_today() + dt.timedelta(days=rng.randint(1, 10))
            care_work.record_handover(factory, row.msisdn, actor=actor, item_code=item,
                                      owed=True, promised_on=promised, note="Cửa hàng hết quà")
            owed += 1
            continue
        for step in ("package_advice", "questions"):
            if rng.random() < 0.7:
                care_work.record_step(factory, row.msisdn, step, actor=actor, on=day)
        if rng.random() < 0.5:
            care_work.record_step(factory, row.msisdn, "survey", actor=actor, on=day)
            surveys += 1
    return WorkDone(sms, handovers, owed, outcomes, surveys)
