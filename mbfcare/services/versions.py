"""Optimistic locking across workstations: a save based on an older read is refused.

A form remembers the `row_version` of the record it showed; when it saves, the service
compares it with the stored one before changing anything. Inside one transaction the ORM's
version counter (`version_id_col`) also guards the UPDATE itself, so a write that slips in
between our read and our flush is caught by the database, not assumed away.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from mbfcare.errors import ConflictError
from mbfcare.models import AuditEntry


class ChangedByOther(ConflictError):
    """Someone saved the record after the form read it; nothing of ours was written."""


def refuse_if_changed(session: Session, *, entity: str, entity_id: int | None,
                      current: int | None, seen: int | None, what: str) -> None:
    """Raise `ChangedByOther` when the record moved past the version the form saw.

    Args:
        entity, entity_id: the record as the audit log names it (for who changed it).
        current: its stored `row_version` (None: the record does not exist yet).
        seen: the version the form read (None: the caller does not check; 0: the form saw
            no record at all).
        what: the record in words, e.g. "Hồ sơ của 0912 345 678".
    """
    if seen is None or (current or 0) == seen:
        return
    last = None
    if entity_id is not None:
        last = session.scalar(select(AuditEntry).where(
            AuditEntry.entity == entity, AuditEntry.entity_id == entity_id)
            .order_by(AuditEntry.id.desc()).limit(1))
    if last is not None:
        at = last.at.astimezone().strftime("%H:%M %d/%m/%Y")
        who = f"{last.user or 'người khác'} lúc {at}"
    else:
        who = "người khác"
    raise ChangedByOther(f"{what} vừa được {who} sửa sau khi bạn mở; thay đổi của bạn chưa "
                         "được lưu — mở lại để xem bản mới rồi làm lại.")
