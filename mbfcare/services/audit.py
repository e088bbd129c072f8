"""The append-only audit log: every change to the care work, who made it, before and after.

Entries are written in the same transaction as the change they describe, so the log and the
data never disagree. Each entry's hash covers the previous entry's hash, so a line removed
or edited outside the application (the database refuses both from inside) breaks the chain,
and `verify_chain` names where.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.domain.masking import mask_audit_values, mask_numbers_in_text
from mbfcare.models import AuditEntry
from mbfcare.models.base import utcnow
from mbfcare.uow import UnitOfWork

# Any constant: the PostgreSQL advisory lock that keeps the chain a line, not a tree.
_PG_CHAIN_LOCK = 5_170_2017


def _canonical(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return value


def _digest(prev_hash: str, entry: AuditEntry) -> str:
    body = json.dumps(
        [prev_hash, entry.at.astimezone(dt.UTC).isoformat(timespec="microseconds"), entry.user,
         entry.action, entry.entity, entry.entity_id, entry.programme_id, entry.summary,
         entry.reason, entry.before, entry.after],
        ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def record(session: Session, *, user: str, action: str, entity: str, entity_id: int | None,
           summary: str, programme_id: int | None = None, before: dict[str, Any] | None = None,
           after: dict[str, Any] | None = None, reason: str = "") -> AuditEntry:
    """Append one entry in the caller's transaction (which must be a write transaction)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_CHAIN_LOCK})
    prev = session.scalar(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)) or ""
    entry = AuditEntry(
        at=utcnow(), user=user, action=action, entity=entity, entity_id=entity_id,
        # ID and contact numbers masked, address and birth date hidden (Law 91/2025/QH15):
        # the append-only log cannot be purged later, so it never holds them whole. The entry
        # names its record by id; the subscriber's number is found there while it is kept.
        programme_id=programme_id, summary=mask_numbers_in_text(summary),
        reason=mask_numbers_in_text(reason),
        before=_canonical(mask_audit_values(before)) if before is not None else None,
        after=_canonical(mask_audit_values(after)) if after is not None else None,
        prev_hash=prev)
    entry.hash = _digest(prev, entry)
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class AuditDTO:
    """One line of the log as the screens show it."""

    id: int
    at: dt.datetime
    user: str
    action: str
    entity: str
    entity_id: int | None
    summary: str
    reason: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


def _dto(e: AuditEntry) -> AuditDTO:
    return AuditDTO(e.id, e.at, e.user, e.action, e.entity, e.entity_id, e.summary, e.reason,
                    e.before, e.after)


def entries(factory: sessionmaker[Session], *, entity: str | None = None,
            entity_ids: Sequence[int] | None = None, programme_id: int | None = None,
            limit: int = 500) -> list[AuditDTO]:
    """The latest entries, newest first, optionally about some records only."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if entity is not None:
        query = query.where(AuditEntry.entity == entity)
    if entity_ids is not None:
        query = query.where(AuditEntry.entity_id.in_(list(entity_ids)))
    if programme_id is not None:
        query = query.where(AuditEntry.programme_id == programme_id)
    with UnitOfWork(factory) as uow:
        return [_dto(e) for e in uow.session.scalars(query)]


def latest(session: Session) -> tuple[int, str]:
    """The last entry's id and hash, or (0, "") for an empty log (what workbooks print)."""
    row = session.execute(select(AuditEntry.id, AuditEntry.hash)
                          .order_by(AuditEntry.id.desc()).limit(1)).first()
    return (int(row[0]), str(row[1])) if row is not None else (0, "")


def verify_chain(factory: sessionmaker[Session]) -> list[str]:
    """Sentences naming each entry whose hash does not follow from the one before."""
    problems: list[str] = []
    prev = ""
    with UnitOfWork(factory) as uow:
        for entry in uow.session.scalars(select(AuditEntry).order_by(AuditEntry.id)
                                         .execution_options(yield_per=2000)):
            if entry.prev_hash != prev:
                problems.append(f"Nhật ký dòng {entry.id}: không nối tiếp dòng trước "
                                "(có dòng bị xóa hoặc chèn).")
            elif entry.hash != _digest(prev, entry):
                problems.append(f"Nhật ký dòng {entry.id}: nội dung đã bị sửa.")
            prev = entry.hash
    return problems
