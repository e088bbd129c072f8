"""Programme use cases: create one from its rules, find it, describe it, set a care month."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.domain.programme_spec import ProgrammeSpec, load_programme_spec
from mbfcare.errors import NotFoundError, UsageError
from mbfcare.models import Batch, GiftItem, GiftType, Programme, ProgrammeGroup, Subscriber
from mbfcare.paths import reference_file
from mbfcare.uow import UnitOfWork

logger = logging.getLogger(__name__)


def default_programme_spec() -> ProgrammeSpec:
    """The source document's programme (CSKH 2017, Region 5)."""
    return load_programme_spec(reference_file("programme_default.toml"))


def create_programme(factory: sessionmaker[Session], spec: ProgrammeSpec) -> int:
    """Store a programme with its groups, gift types and items, and batches.

    Returns:
        The new programme's id.
    """
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
            programme.batches.append(
                Batch(number=b.number, care_year=b.care_year, care_month=b.care_month)
            )
        uow.commit()
        logger.info("programme %d created: %s", programme.id, spec.name)
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
