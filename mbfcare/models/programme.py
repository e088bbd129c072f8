"""A customer-care programme and its rules as data: groups, gifts, batches."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mbfcare.models.base import Base, UtcDateTime, utcnow


class Programme(Base):
    """Chương trình CSKH: who is cared for, how they are grouped, what they get."""

    __tablename__ = "programmes"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    year: Mapped[int] = mapped_column(Integer)
    region: Mapped[str] = mapped_column(String(100), default="")
    province: Mapped[str] = mapped_column(String(100), default="")
    # `every_cycle` (each of the three cycles meets the bound) or `average` (their mean).
    aggregation: Mapped[str] = mapped_column(String(20), default="every_cycle")
    # The area: province names as the programme writes them (the default: 2017 names).
    provinces: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Lower bounds of the tenure bands in whole years, e.g. [0, 2, 5, 10].
    tenure_bands: Mapped[list[int]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(20), default="open")
    rule_version: Mapped[int] = mapped_column(Integer, default=1)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    # Optimistic lock: a save names the version it read and is refused if someone saved since.
    row_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # When the personal data of this (closed) programme was erased; its counts remain.
    purged_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)

    groups: Mapped[list[ProgrammeGroup]] = relationship(
        back_populates="programme", cascade="all, delete-orphan", order_by="ProgrammeGroup.number"
    )
    gift_types: Mapped[list[GiftType]] = relationship(
        back_populates="programme", cascade="all, delete-orphan", order_by="GiftType.number"
    )
    batches: Mapped[list[Batch]] = relationship(
        back_populates="programme", cascade="all, delete-orphan", order_by="Batch.number"
    )


class ProgrammeGroup(Base):
    """Nhóm: a band of the charge basis, how its customers are served and what they get."""

    __tablename__ = "programme_groups"
    __table_args__ = (UniqueConstraint("programme_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    lower_bound: Mapped[int | None] = mapped_column(Integer, nullable=True)
    lower_inclusive: Mapped[bool] = mapped_column(Boolean, default=True)
    upper_bound: Mapped[int | None] = mapped_column(Integer, nullable=True)
    upper_inclusive: Mapped[bool] = mapped_column(Boolean, default=False)
    delivery: Mapped[str] = mapped_column(String(20))  # `visit` or `store`
    gift_type_number: Mapped[int] = mapped_column(Integer)

    programme: Mapped[Programme] = relationship(back_populates="groups")


class GiftType(Base):
    """Quà loại N, with the items the customer may choose between."""

    __tablename__ = "gift_types"
    __table_args__ = (UniqueConstraint("programme_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))

    programme: Mapped[Programme] = relationship(back_populates="gift_types")
    items: Mapped[list[GiftItem]] = relationship(
        back_populates="gift_type", cascade="all, delete-orphan", order_by="GiftItem.id"
    )


class GiftItem(Base):
    """One item of a gift type (`balo-keo`, `hop-thuc-pham`, `o-2-khuc`); stock counts per item."""

    __tablename__ = "gift_items"
    __table_args__ = (UniqueConstraint("programme_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id", ondelete="CASCADE"))
    gift_type_id: Mapped[int] = mapped_column(ForeignKey("gift_types.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(50))
    name: Mapped[str] = mapped_column(String(200))

    gift_type: Mapped[GiftType] = relationship(back_populates="items")


class Batch(Base):
    """Đợt K with its care month n; its charge basis is cycles n-3, n-4, n-5."""

    __tablename__ = "batches"
    __table_args__ = (UniqueConstraint("programme_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    care_year: Mapped[int] = mapped_column(Integer)
    care_month: Mapped[int] = mapped_column(Integer)
    # Gifts planned for the batch per gift type number ({"1": 500, "2": 1200}); none: no limit.
    gift_plan: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)

    programme: Mapped[Programme] = relationship(back_populates="batches")


class ProgrammeChange(Base):
    """A change to a programme's rules: who, when, what before and after (never silent)."""

    __tablename__ = "programme_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id", ondelete="CASCADE"))
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    user: Mapped[str] = mapped_column(String(100), default="")
    rule_version_before: Mapped[int] = mapped_column(Integer)
    rule_version_after: Mapped[int] = mapped_column(Integer)
    summary: Mapped[str] = mapped_column(Text, default="")
    before: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    after: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
