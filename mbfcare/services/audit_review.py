"""Reading the audit log: filtered pages for the viewer, the chain's state, and an export.

Only an administrator reads the log (it names every user's actions); the office's masking
setting masks phone and ID numbers in what is shown and exported.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import xlsxwriter
from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.domain.actors import Actor
from mbfcare.domain.masking import mask_numbers_in_text
from mbfcare.models import AuditEntry
from mbfcare.reports.regional import safe_text
from mbfcare.services import audit
from mbfcare.services.data_protection import masking_on, record_export
from mbfcare.services.exporting import atomic_output, check_output
from mbfcare.uow import UnitOfWork

logger = logging.getLogger(__name__)

PAGE = 200
EXPORT_HEADERS = ("Dòng", "Thời điểm", "Người thực hiện", "Thao tác", "Đối tượng", "Mã đối tượng",
                  "Chương trình", "Nội dung", "Lý do", "Trước", "Sau", "Hash")
_LOCAL = dt.timezone(dt.timedelta(hours=7), "ICT")  # the office's clock (Viet Nam)


@dataclass(frozen=True)
class AuditFilter:
    """What the viewer or `mbfcare audit` asks for; every field optional.

    `date_from`/`date_to` are local dates, both included. `text` matches the summary, any
    case.
    """

    date_from: dt.date | None = None
    date_to: dt.date | None = None
    user: str | None = None
    action: str | None = None
    programme_id: int | None = None
    text: str | None = None


@dataclass(frozen=True)
class AuditRow:
    """One entry as the viewer shows it (numbers masked when the office says so)."""

    id: int
    at: dt.datetime
    user: str
    action: str
    entity: str
    entity_id: int | None
    programme_id: int | None
    summary: str
    reason: str
    before: str  # JSON text, indented
    after: str
    hash: str

    def to_json(self) -> dict[str, Any]:
        """The command line's JSON for one entry."""
        return {"id": self.id, "at": self.at.isoformat(), "user": self.user,
                "action": self.action, "entity": self.entity, "entity_id": self.entity_id,
                "programme_id": self.programme_id, "summary": self.summary,
                "reason": self.reason, "hash": self.hash}


@dataclass(frozen=True)
class ChainStatus:
    """Whether the chain of hashes holds, up to which line, and where it first breaks."""

    ok: bool
    last_id: int
    first_bad_id: int | None
    problems: tuple[str, ...]

    @property
    def text(self) -> str:
        """`Chuỗi nhật ký nguyên vẹn đến dòng N` or the first problem."""
        if self.ok:
            return f"Chuỗi nhật ký nguyên vẹn đến dòng {self.last_id}."
        more = f" (và {len(self.problems) - 1} chỗ khác)" if len(self.problems) > 1 else ""
        return f"Chuỗi nhật ký bị phá: {self.problems[0]}{more}"


@dataclass(frozen=True)
class AuditExportResult:
    """What `export_audit` wrote."""

    file: str
    rows: int

    @property
    def text(self) -> str:
        """The sentence for the status bar."""
        return f"Đã xuất {self.rows} dòng nhật ký: {self.file}"

    def to_json(self) -> dict[str, Any]:
        """The command line's JSON."""
        return {"file": self.file, "rows": self.rows}


def _conditions(filt: AuditFilter) -> list[ColumnElement[bool]]:
    e = AuditEntry
    found: list[ColumnElement[bool]] = []
    if filt.date_from is not None:
        found.append(e.at >= dt.datetime.combine(filt.date_from, dt.time(), _LOCAL))
    if filt.date_to is not None:
        found.append(e.at < dt.datetime.combine(filt.date_to + dt.timedelta(days=1), dt.time(),
                                                _LOCAL))
    if filt.user:
        found.append(e.user == filt.user)
    if filt.action:
        found.append(e.action == filt.action)
    if filt.programme_id is not None:
        found.append(e.programme_id == filt.programme_id)
    if filt.text and filt.text.strip():
        pattern = "%" + filt.text.strip().replace("\\", "\\\\").replace("%", "\\%").replace(
            "_", "\\_") + "%"
        found.append(e.summary.ilike(pattern, escape="\\"))
    return found


def _query(filt: AuditFilter) -> Select[Any]:
    return select(AuditEntry).where(*_conditions(filt)).order_by(AuditEntry.id.desc())


def _json_text(value: Any, masked: bool) -> str:
    if value is None:
        return ""
    text = json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True, default=str)
    return mask_numbers_in_text(text) if masked else text


def _row(e: AuditEntry, masked: bool) -> AuditRow:
    shown = mask_numbers_in_text if masked else (lambda text: text)
    return AuditRow(e.id, e.at, e.user, e.action, e.entity, e.entity_id, e.programme_id,
                    shown(e.summary or ""), shown(e.reason or ""), _json_text(e.before, masked),
                    _json_text(e.after, masked), e.hash)


def _require(actor: Actor) -> None:
    actor.require("users")


def count_entries(factory: sessionmaker[Session], actor: Actor, filt: AuditFilter) -> int:
    """How many entries match `filt`.

    Raises:
        PermissionProblem: not an administrator.
    """
    _require(actor)
    with UnitOfWork(factory) as uow:
        return int(uow.session.scalar(select(func.count()).select_from(AuditEntry)
                                      .where(*_conditions(filt))) or 0)


def entries_page(factory: sessionmaker[Session], actor: Actor, filt: AuditFilter, *,
                 before_id: int | None = None, limit: int = PAGE) -> list[AuditRow]:
    """The next `limit` entries matching `filt`, newest first, older than `before_id`.

    Keyset paging (by id), so a long log pages in constant time and entries added while
    paging do not shift the pages. Runs on a worker; no UI calls here.

    Raises:
        PermissionProblem: not an administrator.
    """
    _require(actor)
    masked = masking_on(factory)
    query = _query(filt).limit(limit)
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    with UnitOfWork(factory) as uow:
        return [_row(e, masked) for e in uow.session.scalars(query)]


@dataclass(frozen=True)
class FilterChoices:
    """The users and actions found in the log, for the viewer's filter boxes."""

    users: tuple[str, ...]
    actions: tuple[str, ...]


def filter_choices(factory: sessionmaker[Session], actor: Actor) -> FilterChoices:
    """Every user and action that appears in the log, sorted.

    Raises:
        PermissionProblem: not an administrator.
    """
    _require(actor)
    with UnitOfWork(factory) as uow:
        users = uow.session.scalars(select(AuditEntry.user).distinct()).all()
        actions = uow.session.scalars(select(AuditEntry.action).distinct()).all()
    return FilterChoices(tuple(sorted(u for u in users if u)),
                         tuple(sorted(a for a in actions if a)))


def chain_status(factory: sessionmaker[Session], actor: Actor) -> ChainStatus:
    """Verify the whole chain (see `audit.verify_chain`). Runs on a worker; no UI calls here.

    Raises:
        PermissionProblem: not an administrator.
    """
    _require(actor)
    problems = audit.verify_chain(factory)
    with UnitOfWork(factory) as uow:
        last_id, _hash = audit.latest(uow.session)
    first_bad: int | None = None
    if problems:
        digits = "".join(ch if ch.isdigit() else " " for ch in problems[0]).split()
        first_bad = int(digits[0]) if digits else None
    return ChainStatus(not problems, last_id, first_bad, tuple(problems))


def _local(at: dt.datetime) -> str:
    return at.astimezone(_LOCAL).strftime("%d/%m/%Y %H:%M:%S")


def _values(row: AuditRow) -> list[str | int]:
    return [row.id, _local(row.at), row.user, row.action, row.entity,
            row.entity_id if row.entity_id is not None else "",
            row.programme_id if row.programme_id is not None else "", row.summary, row.reason,
            row.before, row.after, row.hash]


def export_audit(factory: sessionmaker[Session], actor: Actor, filt: AuditFilter,
                 out: Path) -> AuditExportResult:
    """Write the entries matching `filt` (newest first) as `.xlsx` or `.csv`, and record the
    export in the log itself. Text that could start a formula is kept as text. Runs on a
    worker; no UI calls here.

    Raises:
        PermissionProblem: not an administrator.
        UsageError: neither `.xlsx` nor `.csv`, or the folder does not exist.
        StorageError: the file could not be written.
    """
    _require(actor)
    out = Path(out)
    suffix = check_output(out, (".xlsx", ".csv"))
    rows: list[AuditRow] = []
    before_id: int | None = None
    while True:
        page = entries_page(factory, actor, filt, before_id=before_id, limit=2000)
        rows += page
        if len(page) < 2000:
            break
        before_id = page[-1].id
    with atomic_output(out, suffix) as tmp:
        if suffix == ".csv":
            with tmp.open("w", encoding="utf-8-sig", newline="") as f:
                writer = csv.writer(f, lineterminator="\r\n")
                writer.writerow(EXPORT_HEADERS)
                for row in rows:
                    writer.writerow(safe_text(v) if isinstance(v, str) else v
                                    for v in _values(row))
        else:
            book = xlsxwriter.Workbook(str(tmp), {
                "constant_memory": True, "strings_to_formulas": False,
                "strings_to_urls": False, "strings_to_numbers": False})
            try:
                ws = book.add_worksheet("NhatKy")
                bold = book.add_format({"bold": True})
                for col, header in enumerate(EXPORT_HEADERS):
                    ws.write_string(0, col, header, bold)
                for col, width in enumerate((8, 20, 18, 22, 16, 10, 10, 60, 30, 40, 40, 20)):
                    ws.set_column(col, col, width)
                ws.freeze_panes(1, 0)
                for r, row in enumerate(rows, start=1):
                    for col, value in enumerate(_values(row)):
                        if isinstance(value, int):
                            ws.write_number(r, col, value)
                        elif value:
                            ws.write_string(r, col, safe_text(value))
                if rows:
                    ws.autofilter(0, 0, len(rows), len(EXPORT_HEADERS) - 1)
            finally:
                book.close()
    with UnitOfWork(factory, write=True) as uow:
        record_export(uow.session, actor, kind="audit", file=out, count=len(rows),
                      programme_id=filt.programme_id,
                      details={"filter": {k: (v.isoformat() if isinstance(v, dt.date) else v)
                                          for k, v in vars(filt).items() if v}})
        uow.commit()
    logger.info("audit log export: %d rows, %s", len(rows), out.name)
    return AuditExportResult(str(out), len(rows))
