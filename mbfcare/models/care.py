"""Care lists (danh sách chăm sóc): one entry per subscriber per programme, frozen when made."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from mbfcare.models.base import Base, UtcDateTime, utcnow


class CareCase(Base):
    """A subscriber on a batch's care list, with a snapshot of what the decision rested on.

    `state`: `listed` (in a group, to be served), `waiting` (eligible beyond the stock planned
    for the gift, kept in order), `awaiting_group` (the basis falls in a gap between groups;
    staff decide), `left_out` (a gap case staff decided to leave out). The unique constraint
    makes the database itself refuse a second entry, so nobody is cared for twice in a
    programme.
    """

    __tablename__ = "care_cases"
    __table_args__ = (
        UniqueConstraint("programme_id", "subscriber_id"),
        Index("ix_care_cases_batch_state", "batch_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id", ondelete="CASCADE"))
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id", ondelete="CASCADE"))
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(20))
    reason_code: Mapped[str] = mapped_column(String(40))
    group_number: Mapped[int | None] = mapped_column(Integer)
    delivery: Mapped[str | None] = mapped_column(String(10))
    gift_type_number: Mapped[int | None] = mapped_column(Integer)
    basis: Mapped[int] = mapped_column(Integer)
    # Snapshot: the three cycles n-3, n-4, n-5 (yyyymm) and their charges, and the facts used.
    cycle_1: Mapped[int] = mapped_column(Integer)
    cycle_2: Mapped[int] = mapped_column(Integer)
    cycle_3: Mapped[int] = mapped_column(Integer)
    charge_1: Mapped[int] = mapped_column(Integer)
    charge_2: Mapped[int] = mapped_column(Integer)
    charge_3: Mapped[int] = mapped_column(Integer)
    aggregation: Mapped[str] = mapped_column(String(20))
    rule_version: Mapped[int] = mapped_column(Integer)
    subscriber_type: Mapped[str] = mapped_column(String(10))
    subscriber_status: Mapped[str] = mapped_column(String(20))
    province: Mapped[str | None] = mapped_column(String(100))
    district: Mapped[str | None] = mapped_column(String(100))
    store: Mapped[str | None] = mapped_column(String(200))
    # The customer's name folded (no diacritics, lower case) for search "nguyen van an".
    search_name: Mapped[str | None] = mapped_column(String(200))
    responsible: Mapped[str | None] = mapped_column(String(200))
    tenure_years: Mapped[int | None] = mapped_column(Integer)
    tenure_band: Mapped[str | None] = mapped_column(String(30))
    waiting_rank: Mapped[int | None] = mapped_column(Integer)
    no_longer_qualifies: Mapped[str | None] = mapped_column(String(40))
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    decision_note: Mapped[str | None] = mapped_column(Text)
    handed_over_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    has_work: Mapped[bool] = mapped_column(Boolean, default=False)
    # The steps' dates, kept here beside `care_steps` so that the list filters and sorts on
    # them in one table; the service writes both in the same transaction.
    sms_on: Mapped[dt.date | None] = mapped_column(Date)
    data_check_on: Mapped[dt.date | None] = mapped_column(Date)
    handover_on: Mapped[dt.date | None] = mapped_column(Date)
    package_advice_on: Mapped[dt.date | None] = mapped_column(Date)
    questions_on: Mapped[dt.date | None] = mapped_column(Date)
    survey_on: Mapped[dt.date | None] = mapped_column(Date)
    gift_owed: Mapped[bool] = mapped_column(Boolean, default=False)
    # When the customer cannot be served: unreachable, refused, moved, other.
    outcome: Mapped[str | None] = mapped_column(String(20))
    outcome_note: Mapped[str | None] = mapped_column(Text)
    outcome_on: Mapped[dt.date | None] = mapped_column(Date)
    outcome_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    # Optimistic lock: every ORM update checks and bumps it (two sessions cannot overwrite
    # each other), and a save that names the version its form read is refused once it moved.
    row_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": row_version}  # noqa: RUF012 - read once by the mapper


class LeftOut(Base):
    """A subscriber a batch's classification left out, with the reason (one row each)."""

    __tablename__ = "left_out"
    __table_args__ = {"sqlite_with_rowid": False}  # noqa: RUF012 - SQLAlchemy reads it once

    batch_id: Mapped[int] = mapped_column(
        ForeignKey("batches.id", ondelete="CASCADE"), primary_key=True
    )
    subscriber_id: Mapped[int] = mapped_column(
        ForeignKey("subscribers.id", ondelete="CASCADE"), primary_key=True
    )
    reason: Mapped[str] = mapped_column(String(40))


class Classification(Base):
    """One run of `classify` on a batch: when, by whom, under which rule, what came of it."""

    __tablename__ = "classifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id", ondelete="CASCADE"))
    user: Mapped[str] = mapped_column(String(100), default="")
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    rule_version: Mapped[int] = mapped_column(Integer)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
