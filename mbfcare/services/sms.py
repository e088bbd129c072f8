"""SMS lists (step 1 of the care): the group 1 notice and the group 2 invitation of a batch,
from templates edited per programme, exported for an SMS gateway; marking them sent.

Who gets a message: the batch's `listed` entries that are not closed with an outcome, have
not already been met (gift handed over or recorded as owed) and whose subscriber has not
asked for no SMS (`Subscriber.sms_opt_out`). A home visit (group 1 in the default programme)
gets the notice, a store pick-up (group 2) the invitation. Gap cases awaiting their group,
the waiting list and entries left out get none.

The templates live in `Programme.extra["sms"]` (`notice`, `invitation`, `deadline_days`);
a programme that never changed them uses `resources/templates/sms.toml`.
"""

from __future__ import annotations

import csv
import datetime as dt
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import xlsxwriter
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.domain.actors import Actor
from mbfcare.domain.collation import name_sort_key
from mbfcare.domain.sms import (
    GSM7,
    PLACEHOLDERS,
    UCS2,
    SmsTemplates,
    TemplateProblem,
    check_template,
    default_templates,
    render_template,
    sms_count,
    strip_diacritics,
)
from mbfcare.domain.values import format_date, format_msisdn, format_number, mask_msisdn
from mbfcare.errors import NotFoundError, RuleError, UsageError, ValidationError
from mbfcare.io.safe_cells import csv_row, safe_text
from mbfcare.models import Batch, CareCase, GiftType, Programme, Subscriber
from mbfcare.services import audit
from mbfcare.services.care_work import check_msisdn, local_today, record_step_in
from mbfcare.services.data_protection import audit_export, require_export
from mbfcare.services.exporting import atomic_output, check_output
from mbfcare.services.programmes import resolve_programme_id
from mbfcare.services.progress import NullProgress, Progress
from mbfcare.uow import UnitOfWork

logger = logging.getLogger(__name__)

SMS_HEADERS = ("So thue bao", "Noi dung")
"""The two columns SMS gateways take: the number (84…) and the message (plain ASCII header,
which every gateway's import reads)."""

KIND_LABELS = {
    "notice": "Thông báo quà (nhóm 1, MBF đến tặng)",
    "invitation": "Mời nhận quà (nhóm 2, KH đến cửa hàng)",
}
SKIP_LABELS = {
    "awaiting_group": "Chờ quyết định nhóm",
    "waiting": "Danh sách chờ",
    "left_out": "Đã quyết định không chăm sóc",
    "closed": "Đã đóng (có kết quả)",
    "met": "Đã trao quà hoặc ghi nợ quà",
}
"""Why an entry of the batch gets no message (besides an opt-out)."""

NO_STORE = "cửa hàng MobiFone gần nhất"
NO_ADDRESS = "địa chỉ của Quý khách"
MAX_DEADLINE_DAYS = 365


# --------------------------------------------------------------------------- DTOs


@dataclass(frozen=True)
class SmsTemplatesDTO:
    """A programme's SMS texts as the editor shows them, with the defaults to go back to."""

    programme_id: int
    notice: str  # group 1 (home visit)
    invitation: str  # group 2 (store pick-up)
    deadline_days: int
    is_default: bool
    default_notice: str
    default_invitation: str
    default_deadline_days: int
    placeholders: tuple[tuple[str, str], ...]  # (key, Vietnamese label), `{key}` in a text


@dataclass(frozen=True)
class SmsRowDTO:
    """One customer's message."""

    case_id: int
    msisdn: str  # 0901000001
    number: str  # 84901000001, as the gateway takes it
    name: str
    group: int | None
    delivery: str | None  # `visit` | `store`
    kind: str  # `notice` | `invitation`
    message: str
    encoding: str  # `GSM-7` | `UCS-2`
    length: int  # septets or UTF-16 code units
    parts: int
    sent_on: dt.date | None  # step 1 already recorded on that day


@dataclass(frozen=True)
class SmsBatchDTO:
    """A batch's SMS list: the messages (the first `limit` of them) and the totals of all."""

    programme_id: int
    batch: int
    diacritics: bool
    deadline: dt.date
    rows: tuple[SmsRowDTO, ...]
    messages: int
    parts: int
    parts_without_diacritics: int
    by_kind: dict[str, int]
    encoding_counts: dict[str, int]
    already_sent: int
    opted_out: int
    skipped: int
    skipped_by_reason: dict[str, int]

    @property
    def text(self) -> str:
        """The totals in one sentence."""
        return _summary(self.batch, self.messages, self.parts, self.opted_out, self.skipped,
                        self.diacritics)

    def to_json(self) -> dict[str, Any]:
        """The totals (not the rows) as JSON-ready values."""
        return {"batch": self.batch, "messages": self.messages, "parts": self.parts,
                "opted_out": self.opted_out, "skipped": self.skipped,
                "encoding_counts": dict(self.encoding_counts),
                "programme_id": self.programme_id, "diacritics": self.diacritics,
                "deadline": self.deadline.isoformat(), "by_kind": dict(self.by_kind),
                "already_sent": self.already_sent,
                "skipped_by_reason": dict(self.skipped_by_reason),
                "parts_without_diacritics": self.parts_without_diacritics}


@dataclass(frozen=True)
class SmsExportResult:
    """What `export_sms` wrote; `to_json()` is the command line's JSON output."""

    file: str
    format: str  # `csv` | `xlsx`
    programme_id: int
    batch: int
    diacritics: bool
    deadline: dt.date
    messages: int
    parts: int
    by_kind: dict[str, int]
    encoding_counts: dict[str, int]
    already_sent: int
    opted_out: int
    skipped: int
    skipped_by_reason: dict[str, int]

    @property
    def text(self) -> str:
        """What was written, for the status bar and the terminal."""
        return (f"Đã xuất danh sách SMS: {self.file}\n"
                + _summary(self.batch, self.messages, self.parts, self.opted_out, self.skipped,
                           self.diacritics)
                + f" Hạn nhận quà: {format_date(self.deadline)}.")

    def to_json(self) -> dict[str, Any]:
        """The fields as JSON-ready values."""
        return {"batch": self.batch, "messages": self.messages, "parts": self.parts,
                "opted_out": self.opted_out, "skipped": self.skipped, "file": self.file,
                "encoding_counts": dict(self.encoding_counts), "format": self.format,
                "programme_id": self.programme_id, "diacritics": self.diacritics,
                "deadline": self.deadline.isoformat(), "by_kind": dict(self.by_kind),
                "already_sent": self.already_sent,
                "skipped_by_reason": dict(self.skipped_by_reason)}


@dataclass(frozen=True)
class SmsMarkResult:
    """What `mark_sms_sent` recorded."""

    programme_id: int
    batch: int
    on: dt.date
    recorded: int
    already: int  # step 1 was already recorded
    refused: tuple[str, ...]  # one sentence per entry a step rule refused

    @property
    def text(self) -> str:
        """The sentence for the status bar."""
        text = (f"Đợt {self.batch}: đã ghi bước gửi SMS ngày {format_date(self.on)} cho "
                f"{format_number(self.recorded)} KH")
        if self.already:
            text += f"; {format_number(self.already)} KH đã ghi từ trước"
        if self.refused:
            text += f"; {format_number(len(self.refused))} KH không ghi được"
        return text + "."

    def to_json(self) -> dict[str, Any]:
        """For `--json`."""
        return {"programme_id": self.programme_id, "batch": self.batch,
                "on": self.on.isoformat(), "recorded": self.recorded,
                "already_recorded": self.already, "refused": list(self.refused)}


@dataclass(frozen=True)
class OptOutResult:
    """A subscriber's SMS opt-out after `set_sms_opt_out`."""

    msisdn: str
    name: str
    opt_out: bool
    changed: bool

    @property
    def text(self) -> str:
        """The sentence for the status bar."""
        who = f"{self.name} ({format_msisdn(self.msisdn)})" if self.name else \
            format_msisdn(self.msisdn)
        state = "không nhận SMS" if self.opt_out else "nhận SMS trở lại"
        return f"{'Đã ghi' if self.changed else 'Đã có sẵn'}: {who} {state}."

    def to_json(self) -> dict[str, Any]:
        """For `--json`."""
        return {"msisdn": self.msisdn, "opt_out": self.opt_out, "changed": self.changed}


@dataclass(frozen=True)
class OptedOutDTO:
    """A subscriber who asked for no SMS."""

    msisdn: str
    name: str


def _summary(batch: int, messages: int, parts: int, opted_out: int, skipped: int,
             diacritics: bool) -> str:
    return (f"Đợt {batch}: {format_number(messages)} tin nhắn, {format_number(parts)} SMS "
            f"({'có dấu' if diacritics else 'không dấu'}); {format_number(opted_out)} KH từ "
            f"chối nhận SMS, {format_number(skipped)} KH không nhắn.")


# --------------------------------------------------------------------------- templates


def _stored(programme: Programme) -> SmsTemplates:
    """The programme's texts; a missing or unusable stored value falls back to the default."""
    defaults = default_templates()
    stored = (programme.extra or {}).get("sms")
    if not isinstance(stored, dict):
        return defaults

    def text(key: str, default: str) -> str:
        value = stored.get(key)
        return value.strip() if isinstance(value, str) and value.strip() else default

    days = stored.get("deadline_days")
    return SmsTemplates(
        notice=text("notice", defaults.notice),
        invitation=text("invitation", defaults.invitation),
        deadline_days=days if isinstance(days, int) and not isinstance(days, bool)
        and 0 < days <= MAX_DEADLINE_DAYS else defaults.deadline_days)


def _templates_dto(programme_id: int, current: SmsTemplates) -> SmsTemplatesDTO:
    defaults = default_templates()
    return SmsTemplatesDTO(
        programme_id=programme_id, notice=current.notice, invitation=current.invitation,
        deadline_days=current.deadline_days, is_default=current == defaults,
        default_notice=defaults.notice, default_invitation=defaults.invitation,
        default_deadline_days=defaults.deadline_days,
        placeholders=tuple(PLACEHOLDERS.items()))


def _programme(session: Session, programme_id: int | None) -> Programme:
    pid = resolve_programme_id(session, programme_id)
    programme = session.get(Programme, pid)
    if programme is None:  # pragma: no cover - resolve_programme_id checked it
        raise NotFoundError(f"Không có chương trình số {pid}.")
    return programme


def sms_templates(factory: sessionmaker[Session],
                  programme_id: int | None = None) -> SmsTemplatesDTO:
    """The programme's SMS texts (the defaults until someone edits them).

    Raises:
        NotFoundError: no such programme.
        UsageError: several programmes and none named.
    """
    with UnitOfWork(factory) as uow:
        programme = _programme(uow.session, programme_id)
        return _templates_dto(programme.id, _stored(programme))


def _checked(template: str, label: str) -> str:
    try:
        check_template(template)
    except TemplateProblem as exc:
        raise ValidationError(f"{label}: {exc}") from exc
    return template.strip()


def update_sms_templates(factory: sessionmaker[Session], programme_id: int | None, *,
                         notice: str, invitation: str, deadline_days: int,
                         actor: Actor) -> SmsTemplatesDTO:
    """Replace the programme's SMS texts, with an audit entry (before and after).

    Saving the same texts again changes nothing and writes no entry.

    Args:
        factory: the session factory.
        programme_id: the programme; may be None when only one exists.
        notice: the group 1 (home visit) text.
        invitation: the group 2 (store pick-up) text.
        deadline_days: days from the day a list is made to the deadline `{han}` (1–365).
        actor: who edits; the role must allow `manage`.

    Raises:
        RuleError: the role may not change the programme.
        ValidationError: a text is empty, uses a placeholder that does not exist (named), has
            a single brace, or starts like a formula; or the days are out of range.
        NotFoundError: no such programme.
    """
    actor.require("manage")
    if isinstance(deadline_days, bool) or not isinstance(deadline_days, int) or \
            not 0 < deadline_days <= MAX_DEADLINE_DAYS:
        raise ValidationError(f"Hạn nhận quà phải từ 1 đến {MAX_DEADLINE_DAYS} ngày sau ngày "
                              f"lập danh sách (đang là {deadline_days}).")
    new = SmsTemplates(notice=_checked(notice, "Mẫu tin nhóm 1 (thông báo)"),
                       invitation=_checked(invitation, "Mẫu tin nhóm 2 (mời nhận quà)"),
                       deadline_days=deadline_days)
    with UnitOfWork(factory, write=True) as uow:
        session = uow.session
        programme = _programme(session, programme_id)
        old = _stored(programme)
        stored = (programme.extra or {}).get("sms")
        after = {"notice": new.notice, "invitation": new.invitation,
                 "deadline_days": new.deadline_days}
        if old == new and stored == after:
            return _templates_dto(programme.id, old)
        changes = [words for changed, words in (
            (old.notice != new.notice, "mẫu thông báo nhóm 1"),
            (old.invitation != new.invitation, "mẫu mời nhận quà nhóm 2"),
            (old.deadline_days != new.deadline_days,
             f"hạn nhận quà {old.deadline_days} → {new.deadline_days} ngày")) if changed]
        # A new dict: the JSON column notices a replaced value, not an edited one.
        programme.extra = {**(programme.extra or {}), "sms": after}
        session.flush()
        audit.record(session, user=actor.name, action="update_sms_templates",
                     entity="programme", entity_id=programme.id, programme_id=programme.id,
                     summary="Sửa tin nhắn SMS: " + (", ".join(changes) or "lưu mẫu mặc định"),
                     before={"notice": old.notice, "invitation": old.invitation,
                             "deadline_days": old.deadline_days},
                     after=after)
        dto = _templates_dto(programme.id, new)
        uow.commit()
    logger.info("sms templates of programme %d changed by %s", dto.programme_id, actor.name)
    return dto


# --------------------------------------------------------------------------- the list


@dataclass
class _Plan:
    programme_id: int
    batch: int
    batch_id: int
    deadline: dt.date
    rows: list[SmsRowDTO]
    parts_without_diacritics: int
    already_sent: int
    opted_out: int
    skipped: Counter[str]


def gateway_number(msisdn: str) -> str:
    """`0901000001` → `84901000001`, the international form SMS gateways take."""
    return "84" + msisdn[1:] if msisdn.startswith("0") else msisdn


def _gift_words(session: Session, programme_id: int) -> dict[int, str]:
    """Gift type number → its item, or its items joined with "hoặc" (the customer chooses)."""
    return {t.number: " hoặc ".join(i.name for i in t.items) or t.name
            for t in session.scalars(select(GiftType).where(
                GiftType.programme_id == programme_id))}


def _skip_reason(state: str, outcome: str | None, handover_on: dt.date | None,
                 gift_owed: bool) -> str | None:
    if state != "listed":
        return state
    if outcome:
        return "closed"
    if handover_on is not None or gift_owed:
        return "met"
    return None


def _plan(session: Session, programme_id: int | None, batch: int, *, group: int | None,
          diacritics: bool, deadline: dt.date | None, unsent_only: bool,
          actor: Actor | None = None) -> _Plan:
    programme = _programme(session, programme_id)
    batch_row = session.scalar(select(Batch).where(Batch.programme_id == programme.id,
                                                   Batch.number == batch))
    if batch_row is None:
        raise NotFoundError(f"Chương trình {programme.id} không có đợt {batch}.")
    texts = _stored(programme)
    templates = {"notice": _checked(texts.notice, "Mẫu tin nhóm 1 (thông báo)"),
                 "invitation": _checked(texts.invitation, "Mẫu tin nhóm 2 (mời nhận quà)")}
    day = deadline or local_today() + dt.timedelta(days=texts.deadline_days)
    gifts = _gift_words(session, programme.id)
    query = (select(CareCase.id, CareCase.state, CareCase.group_number, CareCase.delivery,
                    CareCase.gift_type_number, CareCase.store, CareCase.outcome,
                    CareCase.handover_on, CareCase.gift_owed, CareCase.sms_on,
                    Subscriber.msisdn, Subscriber.name, Subscriber.address,
                    Subscriber.sms_opt_out)
             .join(Subscriber, Subscriber.id == CareCase.subscriber_id)
             .where(CareCase.batch_id == batch_row.id))
    if group is not None:
        query = query.where(CareCase.group_number == group)
    # A district head's or a clerk's file holds only his own customers.
    if actor is not None and actor.scoped:
        query = query.where(CareCase.district == actor.district) if actor.role == "head" \
            else query.where(CareCase.store == actor.store)
    found = session.execute(query).all()
    if not found and session.scalar(select(CareCase.id).where(
            CareCase.batch_id == batch_row.id).limit(1)) is None:
        raise RuleError(f"Đợt {batch} chưa có danh sách chăm sóc: xếp danh sách (classify) "
                        "trước khi lập danh sách SMS.")
    rows: list[SmsRowDTO] = []
    skipped: Counter[str] = Counter()
    opted_out = already = plain_parts = 0
    for (case_id, state, group_number, delivery, gift_type, store, outcome, handover_on,
         gift_owed, sms_on, msisdn, name, address, opt_out) in found:
        reason = _skip_reason(state, outcome, handover_on, gift_owed)
        if reason is not None:
            skipped[reason] += 1
            continue
        if opt_out:
            opted_out += 1
            continue
        if sms_on is not None:
            already += 1
            if unsent_only:
                continue
        kind = "notice" if delivery == "visit" else "invitation"
        values = {"ten": name or "", "qua": gifts.get(gift_type or 0, ""),
                  "cua_hang": store or NO_STORE, "dia_chi": address or NO_ADDRESS,
                  "han": format_date(day), "so_tb": msisdn}
        full = render_template(templates[kind], values)
        plain = strip_diacritics(full)
        message = full if diacritics else plain
        count = sms_count(message)
        plain_parts += count.parts if not diacritics else sms_count(plain).parts
        rows.append(SmsRowDTO(
            case_id=case_id, msisdn=msisdn, number=gateway_number(msisdn), name=name or "",
            group=group_number, delivery=delivery, kind=kind, message=message,
            encoding=count.encoding, length=count.length, parts=count.parts, sent_on=sms_on))
    rows.sort(key=lambda r: (r.group if r.group is not None else 99, name_sort_key(r.name),
                             r.msisdn))
    return _Plan(programme.id, batch, batch_row.id, day, rows, plain_parts, already, opted_out,
                 skipped)


def _totals(plan: _Plan) -> dict[str, Any]:
    encodings = Counter(r.encoding for r in plan.rows)
    kinds = Counter(r.kind for r in plan.rows)
    return {
        "messages": len(plan.rows), "parts": sum(r.parts for r in plan.rows),
        "by_kind": {k: kinds.get(k, 0) for k in KIND_LABELS},
        "encoding_counts": {GSM7: encodings.get(GSM7, 0), UCS2: encodings.get(UCS2, 0)},
        "already_sent": plan.already_sent, "opted_out": plan.opted_out,
        "skipped": sum(plan.skipped.values()),
        "skipped_by_reason": {k: plan.skipped[k] for k in SKIP_LABELS if plan.skipped[k]},
    }


def sms_preview(factory: sessionmaker[Session], programme_id: int | None, batch: int, *,
                diacritics: bool = True, limit: int | None = None, group: int | None = None,
                deadline: dt.date | None = None, unsent_only: bool = False) -> SmsBatchDTO:
    """The batch's SMS list as it would be exported: each message with its encoding, length
    and parts, and the totals. Runs on a worker; no UI calls here.

    Args:
        factory: the session factory.
        programme_id: the programme; may be None when only one exists.
        batch: the batch number.
        diacritics: keep the diacritics (UCS-2, 70 per SMS) or strip them (GSM-7, 160).
        limit: return only the first `limit` rows (the totals always cover all).
        group: only this group's entries.
        deadline: the `{han}` date; default today + the programme's `deadline_days`.
        unsent_only: leave out the entries whose step 1 is already recorded.

    Raises:
        NotFoundError: no such programme or batch.
        RuleError: the batch has no care list yet.
        ValidationError: a stored template is unusable.
    """
    with UnitOfWork(factory) as uow:
        plan = _plan(uow.session, programme_id, batch, group=group, diacritics=diacritics,
                     deadline=deadline, unsent_only=unsent_only)
    rows = plan.rows if limit is None else plan.rows[:max(limit, 0)]
    return SmsBatchDTO(programme_id=plan.programme_id, batch=batch, diacritics=diacritics,
                       deadline=plan.deadline, rows=tuple(rows),
                       parts_without_diacritics=plan.parts_without_diacritics, **_totals(plan))


def _write_csv(path: Path, rows: Sequence[SmsRowDTO]) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
        writer.writerow(SMS_HEADERS)
        for row in rows:
            writer.writerow(csv_row((row.number, row.message)))


def _write_xlsx(path: Path, rows: Sequence[SmsRowDTO]) -> None:
    book = xlsxwriter.Workbook(str(path), {
        "constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
        "strings_to_numbers": False,
    })
    try:
        ws = book.add_worksheet("SMS")
        bold = book.add_format({"bold": True})
        text = book.add_format({"num_format": "@"})
        ws.set_column(0, 0, 14, text)
        ws.set_column(1, 1, 120, text)
        for col, header in enumerate(SMS_HEADERS):
            ws.write_string(0, col, header, bold)
        ws.freeze_panes(1, 0)
        for r, row in enumerate(rows, start=1):
            ws.write_string(r, 0, row.number, text)
            ws.write_string(r, 1, safe_text(row.message), text)
    finally:
        book.close()


def export_sms(factory: sessionmaker[Session], out: Path, *, programme_id: int | None = None,
               batch: int, diacritics: bool = True, group: int | None = None,
               deadline: dt.date | None = None, unsent_only: bool = False,
               actor: Actor) -> SmsExportResult:
    """Write the batch's SMS list for an SMS gateway: `.csv` or `.xlsx` by the suffix.

    A header row (`So thue bao`, `Noi dung`), then one row per message: the number in `84…`
    form and the message. CSV is UTF-8 with BOM, comma-separated, quoted as needed, CRLF; the
    workbook stores both columns as text, so the number keeps its form. The file is replaced
    only when writing succeeded. A district head's file holds his district's customers, a
    clerk's his store's; the export is noted in the audit log (kind, file, messages; never
    the numbers). Runs on a worker; no UI calls here.

    Raises:
        UsageError: `out` is neither `.csv` nor `.xlsx`, or its folder does not exist.
        NotFoundError: no such programme or batch.
        RuleError: the batch has no care list yet.
        ValidationError: a stored template is unusable.
        PermissionProblem: the role may not write personal data.
        StorageError: the file could not be written.
    """
    require_export(actor)
    out = Path(out)
    suffix = check_output(out, (".csv", ".xlsx"))
    with UnitOfWork(factory) as uow:
        plan = _plan(uow.session, programme_id, batch, group=group, diacritics=diacritics,
                     deadline=deadline, unsent_only=unsent_only, actor=actor)
    with atomic_output(out, suffix) as tmp:
        (_write_csv if suffix == ".csv" else _write_xlsx)(tmp, plan.rows)
    totals = _totals(plan)
    result = SmsExportResult(file=str(out), format=suffix[1:], programme_id=plan.programme_id,
                             batch=batch, diacritics=diacritics, deadline=plan.deadline,
                             **totals)
    audit_export(factory, actor, kind="sms", file=out, count=result.messages,
                 unit="tin", programme_id=plan.programme_id,
                 details={"batch": batch, "parts": result.parts, "diacritics": diacritics,
                          "group": group, "deadline": plan.deadline})
    logger.info("sms list of programme %d batch %d: %d messages, %d parts, %s",
                plan.programme_id, batch, result.messages, result.parts, out.name)
    return result


# --------------------------------------------------------------------------- step 1


def mark_sms_sent(factory: sessionmaker[Session], *, programme_id: int | None = None,
                  batch: int, on: dt.date | None = None, group: int | None = None,
                  actor: Actor, progress: Progress | None = None) -> SmsMarkResult:
    """Record step 1 (`sms`) for every entry of the batch that gets a message and has not
    had it recorded, in one transaction. Runs on a worker; no UI calls here.

    Entries a step rule refuses (which the selection should leave none of) are counted and
    named in the result, not recorded; the others still are.

    Raises:
        RuleError: the role may not record; the batch has no care list.
        UsageError: `on` is in the future.
        NotFoundError: no such programme or batch.
    """
    actor.require("record")
    day = on or local_today()
    if day > local_today():
        raise UsageError(f"Ngày gửi SMS {format_date(day)} chưa tới.")
    progress = progress or NullProgress()
    recorded = 0
    refused: list[str] = []
    with UnitOfWork(factory, write=True) as uow:
        session = uow.session
        plan = _plan(session, programme_id, batch, group=group, diacritics=False,
                     deadline=None, unsent_only=True, actor=actor)
        ids = [row.case_id for row in plan.rows]
        source = f"danh sách SMS đợt {batch}"
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            cases = {c.id: c for c in session.scalars(
                select(CareCase).where(CareCase.id.in_(chunk)))}
            for case_id in chunk:
                try:
                    if record_step_in(session, cases[case_id], "sms", on=day, by=actor.name,
                                      value=None, actor=actor, source=source):
                        recorded += 1
                except RuleError as exc:
                    refused.append(str(exc))
            progress.report(min(start + 500, len(ids)), len(ids), "Đang ghi bước gửi SMS")
        uow.commit()
    result = SmsMarkResult(plan.programme_id, batch, day, recorded, plan.already_sent,
                           tuple(refused))
    logger.info("sms step of programme %d batch %d: %d recorded, %d already, %d refused",
                plan.programme_id, batch, recorded, plan.already_sent, len(refused))
    return result


# --------------------------------------------------------------------------- opt-out


def set_sms_opt_out(factory: sessionmaker[Session], msisdn: str, opt_out: bool, *,
                    actor: Actor) -> OptOutResult:
    """Record that the subscriber asked for no SMS (or takes them again), with an audit
    entry; SMS lists leave an opted-out subscriber out.

    Raises:
        UsageError: not a subscriber number.
        NotFoundError: nobody with that number.
        RuleError: the role may not record.
    """
    actor.require("record")
    number = check_msisdn(msisdn)
    with UnitOfWork(factory, write=True) as uow:
        session = uow.session
        sub = session.scalar(select(Subscriber).where(Subscriber.msisdn == number))
        if sub is None:
            raise NotFoundError(f"Không có thuê bao {format_msisdn(number)} trong cơ sở dữ "
                                "liệu.")
        result = OptOutResult(number, sub.name or "", opt_out, sub.sms_opt_out != opt_out)
        if result.changed:
            before = {"sms_opt_out": sub.sms_opt_out}
            sub.sms_opt_out = opt_out
            session.flush()
            audit.record(session, user=actor.name, action="sms_opt_out", entity="subscriber",
                         entity_id=sub.id,
                         summary=("Không nhận SMS – " if opt_out else "Nhận SMS trở lại – ")
                                 + format_msisdn(number),
                         before=before, after={"sms_opt_out": opt_out})
            uow.commit()
    logger.info("sms opt-out of %s: %s", mask_msisdn(number), opt_out)
    return result


def opted_out_subscribers(factory: sessionmaker[Session], *,
                          limit: int | None = None) -> tuple[OptedOutDTO, ...]:
    """The subscribers who asked for no SMS, by name the Vietnamese way."""
    with UnitOfWork(factory) as uow:
        found = uow.session.execute(select(Subscriber.msisdn, Subscriber.name).where(
            Subscriber.sms_opt_out.is_(True))).all()
    rows = sorted((OptedOutDTO(msisdn, name or "") for msisdn, name in found),
                  key=lambda r: (name_sort_key(r.name), r.msisdn))
    return tuple(rows if limit is None else rows[:limit])
