"""Carrying out the care: the six steps, handovers, gift stock, surveys, collected profiles,
and the append-only audit log behind every change."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
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


class CareStep(Base):
    """One of the six steps done for a care-list entry: when, by whom, with what value.

    At most one row per entry and step; an undone step is deleted here after its row went to
    the audit log with the reason, so the unique constraint keeps its meaning.
    """

    __tablename__ = "care_steps"
    __table_args__ = (UniqueConstraint("care_case_id", "step"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    care_case_id: Mapped[int] = mapped_column(ForeignKey("care_cases.id", ondelete="CASCADE"))
    step: Mapped[str] = mapped_column(String(20))
    done_on: Mapped[dt.date] = mapped_column(Date)
    done_by: Mapped[str] = mapped_column(String(200), default="")
    value: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(100), default="")
    recorded_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class StockLocation(Base):
    """Where gifts are kept: the office's warehouse (`Kho`, one per database) or a store."""

    __tablename__ = "stock_locations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    # Folded name (no diacritics, lower case) so "le chan" finds "Cửa hàng MobiFone Lê Chân".
    search_name: Mapped[str] = mapped_column(String(200), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # `warehouse` or `store`
    district: Mapped[str | None] = mapped_column(String(100))


class StockBalance(Base):
    """The running balance of one item at one location; the database refuses a negative one."""

    __tablename__ = "stock_balances"
    __table_args__ = (
        CheckConstraint("on_hand >= 0", name="on_hand_not_negative"),
        {"sqlite_with_rowid": False},
    )

    item_id: Mapped[int] = mapped_column(
        ForeignKey("gift_items.id", ondelete="CASCADE"), primary_key=True)
    location_id: Mapped[int] = mapped_column(
        ForeignKey("stock_locations.id", ondelete="CASCADE"), primary_key=True)
    received: Mapped[int] = mapped_column(Integer, default=0)
    transferred_in: Mapped[int] = mapped_column(Integer, default=0)
    transferred_out: Mapped[int] = mapped_column(Integer, default=0)
    handed_over: Mapped[int] = mapped_column(Integer, default=0)
    returned: Mapped[int] = mapped_column(Integer, default=0)
    written_off: Mapped[int] = mapped_column(Integer, default=0)
    on_hand: Mapped[int] = mapped_column(Integer, default=0)


class StockMovement(Base):
    """A line of the stock ledger: receive, transfer (out and in), handover, return, write-off.

    `quantity` is signed: what the line adds to (or takes from) the location's balance.
    """

    __tablename__ = "stock_movements"
    __table_args__ = (Index("ix_stock_movements_item_location", "item_id", "location_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("gift_items.id", ondelete="CASCADE"))
    location_id: Mapped[int] = mapped_column(ForeignKey("stock_locations.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    quantity: Mapped[int] = mapped_column(Integer)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    by: Mapped[str] = mapped_column(String(100), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    # The other end of a transfer, and the handover a line belongs to.
    other_location_id: Mapped[int | None] = mapped_column(
        ForeignKey("stock_locations.id", ondelete="SET NULL"))
    handover_id: Mapped[int | None] = mapped_column(Integer)


class Handover(Base):
    """The gift of one subscriber in one programme: given, or owed until the store has one.

    The unique constraint is the guarantee of "one gift per subscriber per programme": the
    database itself refuses a second row, whichever workstation writes it.
    """

    __tablename__ = "handovers"
    __table_args__ = (
        UniqueConstraint("programme_id", "subscriber_id"),
        Index("ix_handovers_status_location", "status", "location_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id", ondelete="CASCADE"))
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    care_case_id: Mapped[int] = mapped_column(ForeignKey("care_cases.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("gift_items.id"))
    location_id: Mapped[int] = mapped_column(ForeignKey("stock_locations.id"))
    status: Mapped[str] = mapped_column(String(10))  # `given` or `owed`
    given_on: Mapped[dt.date | None] = mapped_column(Date)
    # The instant, when recorded live at the desk; none when recorded later from a list.
    given_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    given_by: Mapped[str] = mapped_column(String(200), default="")
    owed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    promised_on: Mapped[dt.date | None] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[str] = mapped_column(String(100), default="")
    recorded_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class ProfileCollection(Base):
    """What staff collected to standardise a subscriber's profile, to be uploaded to iCRM."""

    __tablename__ = "profile_collections"
    __table_args__ = (UniqueConstraint("programme_id", "subscriber_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id", ondelete="CASCADE"))
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    id_kind: Mapped[str] = mapped_column(String(10))  # `cccd` or `cmnd`
    id_number: Mapped[str] = mapped_column(String(20))
    birth_date: Mapped[dt.date] = mapped_column(Date)
    address: Mapped[str] = mapped_column(Text)
    collected_on: Mapped[dt.date] = mapped_column(Date)
    collected_by: Mapped[str] = mapped_column(String(200), default="")
    exported_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    # Optimistic lock: every ORM update checks and bumps it (two sessions cannot overwrite
    # each other), and a save that names the version its form read is refused once it moved.
    row_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": row_version}  # noqa: RUF012 - read once by the mapper


class SurveyForm(Base):
    """The survey of a programme, as data (questions and answer kinds), editable per programme."""

    __tablename__ = "survey_forms"

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(
        ForeignKey("programmes.id", ondelete="CASCADE"), unique=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class SurveyResponse(Base):
    """One customer's answers to the survey form, entered from the paper form or at the desk."""

    __tablename__ = "survey_responses"

    id: Mapped[int] = mapped_column(primary_key=True)
    care_case_id: Mapped[int] = mapped_column(
        ForeignKey("care_cases.id", ondelete="CASCADE"), unique=True)
    form_version: Mapped[int] = mapped_column(Integer)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    answered_on: Mapped[dt.date] = mapped_column(Date)
    entered_by: Mapped[str] = mapped_column(String(100), default="")
    entered_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    exported_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class AuditEntry(Base):
    """One change, appended and never edited: who, when, what, the values before and after.

    Each entry carries the hash of the one before it, so a removed or edited line shows.
    """

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    user: Mapped[str] = mapped_column(String(100), default="")
    action: Mapped[str] = mapped_column(String(40))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[int | None] = mapped_column(Integer)
    programme_id: Mapped[int | None] = mapped_column(Integer)
    summary: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64), default="")
    hash: Mapped[str] = mapped_column(String(64), default="")


class PrintRun(Base):
    """One printing of documents (receipts, lists, forms, invitations): who, when, what."""

    __tablename__ = "print_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    scope: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    documents: Mapped[int] = mapped_column(Integer, default=0)
    pages: Mapped[int] = mapped_column(Integer, default=0)
    file_name: Mapped[str] = mapped_column(String(500), default="")
    user: Mapped[str] = mapped_column(String(100), default="")
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class PrintedDocument(Base):
    """One printed copy of a document about one entry, with the token its QR code carries.

    Printing the same document again supersedes the older copy: only the latest token of an
    entry and kind is valid, so a reprinted old copy (or a forged one) is refused.
    """

    __tablename__ = "printed_documents"
    __table_args__ = (Index("ix_printed_documents_case_kind", "care_case_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    print_run_id: Mapped[int] = mapped_column(ForeignKey("print_runs.id", ondelete="CASCADE"))
    care_case_id: Mapped[int] = mapped_column(ForeignKey("care_cases.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    token: Mapped[str] = mapped_column(String(16), unique=True)
    printed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    superseded_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
