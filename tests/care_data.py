"""A small classified batch for the care-work tests: synthetic people with known groups.

Batch 1 (care month 03/2017, cycles 12/2016–10/2016) of the default programme:
- `GROUP1`: home visits (group 1), in Lê Chân and Hồng Bàng;
- `GROUP2`: twelve store pick-ups (group 2) at "Cửa hàng MobiFone Lê Chân";
- `GAP`: one subscriber at exactly 700.000 đ, awaiting a group decision.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session, sessionmaker

from mbfcare.domain.actors import Actor
from mbfcare.models import Charge, ImportRun, Subscriber
from mbfcare.services.classification import classify_batch

STORE = "Cửa hàng MobiFone Lê Chân"
CYCLES = (201612, 201611, 201610)

GROUP1 = {
    "0901000001": ("Nguyễn Văn An", "Lê Chân", (812000, 790000, 905000), True),
    "0901000002": ("Phạm Thị Dung", "Hồng Bàng", (900000, 950000, 1000000), False),
    "0901000003": ("Hoàng Văn Giang", "Lê Chân", (750000, 760000, 770000), True),
}
GROUP2 = {
    f"09020000{i:02d}": (f"Khách Hàng Số {i}", "Lê Chân", (600000, 650000 + i, 560000),
                         i % 3 != 0)
    for i in range(1, 13)
}
GAP = {"0903000001": ("Lê Văn Cường", "Lê Chân", (700000, 800000, 900000), True)}


def seed_listed(factory: sessionmaker[Session], programme_id: int) -> sessionmaker[Session]:
    """Insert the people above and classify batch 1; returns the factory."""
    with factory.begin() as session:
        run = ImportRun(programme_id=programme_id, kind="subscribers", file_name="thang3.xlsx",
                        file_sha256="0" * 64, user="lan",
                        started_at=dt.datetime(2017, 3, 2, 3, 0, tzinfo=dt.UTC))
        session.add(run)
        session.flush()
        for number, (name, district, charges, standardised) in {**GROUP1, **GROUP2,
                                                                 **GAP}.items():
            sub = Subscriber(
                msisdn=number, ported=False, subscriber_type="postpaid", status="active",
                name=name, province="Hải Phòng", district=district,
                store=STORE if district == "Lê Chân" else None, address="12 Lê Lợi",
                activation_date=dt.date(2010, 5, 1), profile_standardised=standardised,
                id_number=None if not standardised else "031080001234",
                offers="MAX90, C120" if number.endswith("1") else None,
                first_import_id=run.id, last_import_id=run.id)
            session.add(sub)
            session.flush()
            for cycle, amount in zip(CYCLES, charges, strict=True):
                session.add(Charge(subscriber_id=sub.id, cycle=cycle, amount=amount))
    classify_batch(factory, programme_id=programme_id, batch=1, actor=Actor("lan"))
    return factory
