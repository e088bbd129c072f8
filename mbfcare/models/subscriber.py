"""Subscribers (thuê bao) and their charges, one row per billing cycle."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mbfcare.models.base import Base, UtcDateTime, utcnow


class Subscriber(Base):
    """A subscriber as the latest extracts describe it; blank cells never erase a value."""

    __tablename__ = "subscribers"

    id: Mapped[int] = mapped_column(primary_key=True)
    msisdn: Mapped[str] = mapped_column(String(10), unique=True)
    msisdn_original: Mapped[str | None] = mapped_column(String(11))  # pre-2018 11-digit form
    ported: Mapped[bool] = mapped_column(Boolean, default=False)
    subscriber_type: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(20))
    name: Mapped[str | None] = mapped_column(String(200))
    activation_date: Mapped[dt.date | None] = mapped_column(Date)
    province: Mapped[str | None] = mapped_column(String(100))
    province_new: Mapped[str | None] = mapped_column(String(100))
    district: Mapped[str | None] = mapped_column(String(100))
    address: Mapped[str | None] = mapped_column(Text)
    id_number: Mapped[str | None] = mapped_column(String(20))
    birth_date: Mapped[dt.date | None] = mapped_column(Date)
    contact_number: Mapped[str | None] = mapped_column(String(30))
    store: Mapped[str | None] = mapped_column(String(200))
    in_other_programme: Mapped[bool | None] = mapped_column(Boolean)
    profile_standardised: Mapped[bool | None] = mapped_column(Boolean)
    offers: Mapped[str | None] = mapped_column(Text)
    # The customer asked not to receive SMS: the SMS lists leave them out.
    sms_opt_out: Mapped[bool] = mapped_column(Boolean, default=False)
    first_import_id: Mapped[int | None] = mapped_column(
        ForeignKey("import_runs.id", ondelete="SET NULL")
    )
    last_import_id: Mapped[int | None] = mapped_column(
        ForeignKey("import_runs.id", ondelete="SET NULL")
    )
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class Charge(Base):
    """Cước of one subscriber in one billing cycle (`cycle` = yyyymm)."""

    __tablename__ = "charges"
    __table_args__ = {"sqlite_with_rowid": False}  # noqa: RUF012 - SQLAlchemy reads it once

    subscriber_id: Mapped[int] = mapped_column(
        ForeignKey("subscribers.id", ondelete="CASCADE"), primary_key=True
    )
    cycle: Mapped[int] = mapped_column(Integer, primary_key=True)
    amount: Mapped[int] = mapped_column(Integer)
