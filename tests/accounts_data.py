"""Accounts for the tests that run as a given role: the first admin plus the ones asked for."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.services import accounts

PASSWORD = "mat-khau-thu-nghiem"
ADMIN = "quantri"


def add_account(factory: sessionmaker[Session], username: str, role: str, *,
                full_name: str = "", district: str | None = None,
                store: str | None = None) -> accounts.UserDTO:
    """Create the account (and, on an empty table, the first administrator `quantri`)."""
    if not accounts.has_accounts(factory):
        accounts.create_first_admin(factory, ADMIN, "Quản Trị Viên", PASSWORD)
    if username == ADMIN:
        return accounts.find_user(factory, accounts.sign_in(factory, ADMIN, PASSWORD), ADMIN)
    admin = accounts.sign_in(factory, ADMIN, PASSWORD)
    return accounts.create_user(factory, admin, username=username,
                                full_name=full_name or username.title(), password=PASSWORD,
                                role=role, district=district, store=store)


def sign_in_as(monkeypatch: pytest.MonkeyPatch, username: str) -> None:
    """The command line signs in as `username` (MBFCARE_USER and MBFCARE_PASSWORD)."""
    monkeypatch.setenv("MBFCARE_USER", username)
    monkeypatch.setenv("MBFCARE_PASSWORD", PASSWORD)
