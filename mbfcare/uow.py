"""Unit of work: one transaction per user action, rolled back unless committed."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from mbfcare.errors import ConflictError, StorageError

BUSY_TEXT = "Cơ sở dữ liệu đang bận vì máy khác đang ghi; thử lại sau ít phút."
RACED_TEXT = ("Máy khác vừa sửa đúng dữ liệu này cùng lúc nên thay đổi của bạn chưa được lưu; "
              "mở lại để xem bản mới rồi làm lại.")
# PostgreSQL's "serialization failure" and "deadlock detected": a race, not a broken server.
_RACE_SQLSTATES = {"40001", "40P01"}


def storage_error(exc: OperationalError) -> StorageError:
    """The sentence for a database that refused to work: busy (locked) or unusable."""
    reason = str(exc.orig)
    if "locked" in reason or "busy" in reason:
        # The busy timeout (10 s) already ran out: another writer holds the file.
        return StorageError(BUSY_TEXT)
    return StorageError(
        f"Cơ sở dữ liệu không dùng được lúc này ({reason}). Kiểm tra chỗ trống trên đĩa và "
        "quyền ghi, rồi thử lại sau ít phút.")


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
            try:
                self.session.connection(
                    execution_options={"mbfcare_write": True, "mbfcare_bulk": self._bulk}
                )
            except OperationalError as exc:  # BEGIN IMMEDIATE waited the busy timeout out
                self.session.close()
                raise storage_error(exc) from exc
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
        if isinstance(exc, StaleDataError):
            # Another session saved the same row between our read and our write.
            raise ConflictError(RACED_TEXT) from exc
        if isinstance(exc, OperationalError):
            if getattr(exc.orig, "sqlstate", None) in _RACE_SQLSTATES:
                raise ConflictError(RACED_TEXT) from exc
            raise storage_error(exc) from exc

    def commit(self) -> None:
        """Make the work of this unit permanent."""
        self.session.commit()
