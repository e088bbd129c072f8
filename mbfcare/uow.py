"""Unit of work: one transaction per user action, rolled back unless committed."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.errors import StorageError


class UnitOfWork:
    """`with UnitOfWork(factory) as uow: ...; uow.commit()`; anything uncommitted is discarded.

    Args:
        session_factory: the shared `sessionmaker`; each unit opens its own session, so units
            may run on worker threads (sessions and ORM objects never cross threads).
        write: begin the transaction for writing (SQLite `BEGIN IMMEDIATE`), so that a writer
            waits for the lock up front instead of failing half-way.
    """

    session: Session

    def __init__(
        self, session_factory: sessionmaker[Session], *, write: bool = False, bulk: bool = False
    ) -> None:
        self._session_factory = session_factory
        self._write = write or bulk
        self._bulk = bulk

    def __enter__(self) -> Self:
        self.session = self._session_factory()
        if self._write:
            self.session.connection(
                execution_options={"mbfcare_write": True, "mbfcare_bulk": self._bulk}
            )
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.session.rollback()
        finally:
            self.session.close()
        if isinstance(exc, OperationalError):
            raise StorageError(
                f"Cơ sở dữ liệu đang bận hoặc không ghi được ({exc.orig}). Thử lại sau ít phút."
            ) from exc

    def commit(self) -> None:
        """Make the work of this unit permanent."""
        self.session.commit()
