"""Local user accounts and the office-wide settings that every workstation shares."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from mbfcare.models.base import Base, UtcDateTime, utcnow


class UserAccount(Base):
    """Someone who signs in: their role and, for a district head or a clerk, their scope.

    `username` is stored folded (NFC, lower case) so that "Lan" and "lan" are one account;
    the password is kept only as an argon2id hash.
    """

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(60), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))  # admin, head, clerk, viewer
    district: Mapped[str | None] = mapped_column(String(100))  # a head's district
    store: Mapped[str | None] = mapped_column(String(200))  # a clerk's store
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100), default="")
    password_changed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_sign_in_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    failed_sign_ins: Mapped[int] = mapped_column(Integer, default=0)
    row_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class OfficeSetting(Base):
    """A setting of the whole office (all workstations), e.g. whether numbers are masked."""

    __tablename__ = "office_settings"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(100), default="")
