"""Recording the care: the six steps, the handover (given or owed), outcomes, and corrections.

Every function is one unit of work: it checks the programme's rules, changes the records, and
appends the audit entry in the same transaction. The functions taking a `Session` are the
same rules for callers that record many things in one transaction (bulk recording).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.domain.actors import Actor
from mbfcare.domain.codes import EntryCode, NumberTyped, ScanProblem, parse_scan
from mbfcare.domain.steps import (
    OUTCOME_LABELS,
    OUTCOMES,
    RECORDABLE_STEPS,
    STEP_LABELS,
    STEPS,
    StepProblem,
    care_progress,
    check_handover_order,
    check_step,
)
from mbfcare.domain.values import ValueProblem, format_date, format_msisdn, parse_msisdn
from mbfcare.errors import NotFoundError, RuleError, UsageError
from mbfcare.models import (
    Batch,
    CareCase,
    CareStep,
    GiftItem,
    GiftType,
    Handover,
    PrintedDocument,
    ProfileCollection,
    StockLocation,
    Subscriber,
)
from mbfcare.models.base import utcnow
from mbfcare.services import audit, stock
from mbfcare.services.programmes import resolve_programme_id
from mbfcare.services.versions import refuse_if_changed
from mbfcare.uow import UnitOfWork

logger = logging.getLogger(__name__)

_STATE_WORDS = {
    "waiting": "đang ở danh sách chờ (hết quà dự kiến của đợt)",
    "awaiting_group": "đang chờ quyết định nhóm",
    "left_out": "đã được quyết định không chọn",
}


class AlreadyHandedOver(RuleError):
    """A second handover for the same subscriber in the same programme; carries the first."""

    def __init__(self, message: str, first: FirstHandover) -> None:
        super().__init__(message)
        self.first = first


@dataclass(frozen=True)
class FirstHandover:
    """The handover already made (or owed), to name it in the refusal."""

    status: str  # `given` or `owed`
    on: dt.date | None
    at: dt.datetime | None
    location: str
    by: str
    item: str
    promised_on: dt.date | None

    @property
    def text(self) -> str:
        """"Đã trao quà ngày 05/09/2017 lúc 10:12 tại …, người trao: … — không trao lần hai."""
        if self.status == "owed":
            promise = f", hẹn ngày {format_date(self.promised_on)}" if self.promised_on else ""
            return (f"Đã ghi nợ quà ({self.item}) tại {self.location}{promise}; trao món nợ "
                    "khi có quà — không ghi lần hai.")
        when = f"ngày {format_date(self.on)}"
        if self.at is not None:
            when += f" lúc {self.at.astimezone():%H:%M}"
        who = f", người trao: {self.by}" if self.by else ""
        return f"Đã trao quà {when} tại {self.location}{who} — không trao lần hai."


# --------------------------------------------------------------------------- helpers


def local_today() -> dt.date:
    """Today on the office PC's clock (Vietnam time on the users' machines)."""
    return dt.datetime.now().astimezone().date()


def require_case(actor: Actor, case: CareCase, msisdn: str) -> None:
    """Raise `PermissionProblem` unless the entry lies in the actor's district or store."""
    actor.require_sees(case.district, case.store, f"Thuê bao {format_msisdn(msisdn)}")


FORGED_CODE = ("Mã trên giấy không có trong sổ in của MBF Care (giấy giả hoặc in từ máy "
               "khác).")


def _printed_case(session: Session, scanned: EntryCode, text: str) -> CareCase:
    """The entry of a printed copy, once its token is found to be the latest print.

    Raises:
        RuleError: the token is not in the print log, or names another entry or kind (a
            forged copy), or its copy was printed again since (an old copy).
    """
    doc = session.scalar(select(PrintedDocument).where(
        PrintedDocument.token == scanned.token))
    if doc is None or doc.care_case_id != scanned.case_id or (
            scanned.kind is not None and doc.kind != scanned.kind):
        raise RuleError(FORGED_CODE)
    case = session.get(CareCase, doc.care_case_id)
    if case is None or (scanned.programme_id is not None
                        and case.programme_id != scanned.programme_id):
        raise RuleError(FORGED_CODE)
    if doc.superseded_at is not None:
        again = doc.superseded_at.astimezone().date()
        raise RuleError(f"Bản in này đã được in lại ngày {format_date(again)} — dùng bản mới "
                        "nhất.")
    return case


def find_case(session: Session, programme_id: int | None, text: str | int) -> CareCase:
    """The care-list entry a typed number, a scanned printed code or an entry id names.

    A printed code (full `MBFC-…` or the short `4821-K7Q2M9`) is checked against the print
    log: only the latest printed copy of an entry and document kind is accepted. An `int` is
    the entry's id (the screens, which already hold it).

    Raises:
        UsageError: the text is neither a number nor one of our codes.
        NotFoundError: nobody with that number, or not on the programme's lists.
        RuleError: a printed code that is not (or no longer) in the print log.
    """
    if isinstance(text, int):
        found = session.get(CareCase, text)
        if found is None or (programme_id is not None and found.programme_id != programme_id):
            raise NotFoundError(f"Không có KH số {text} trong danh sách của chương trình.")
        return found
    try:
        scanned = parse_scan(text)
    except ScanProblem as exc:
        raise UsageError(str(exc)) from exc
    if isinstance(scanned, EntryCode):
        printed = _printed_case(session, scanned, text)
        if programme_id is not None and printed.programme_id != programme_id:
            raise NotFoundError(f"Mã '{text.strip()}' thuộc chương trình khác "
                                f"(số {printed.programme_id}).")
        return printed
    assert isinstance(scanned, NumberTyped)
    pid = resolve_programme_id(session, programme_id)
    sub_id = session.scalar(select(Subscriber.id).where(Subscriber.msisdn == scanned.msisdn))
    if sub_id is None:
        raise NotFoundError(f"Không có thuê bao {format_msisdn(scanned.msisdn)} trong cơ sở "
                            "dữ liệu.")
    case = session.scalar(select(CareCase).where(CareCase.programme_id == pid,
                                                 CareCase.subscriber_id == sub_id))
    if case is None:
        raise NotFoundError(f"Thuê bao {format_msisdn(scanned.msisdn)} không có trong danh "
                            "sách chăm sóc nào của chương trình.")
    return case


def _servable(case: CareCase, msisdn: str) -> None:
    if case.state != "listed":
        raise RuleError(f"Thuê bao {format_msisdn(msisdn)} {_STATE_WORDS.get(case.state, '')}"
                        "; chưa ghi được kết quả chăm sóc.")


def _done_dates(case: CareCase) -> dict[str, dt.date | None]:
    return {"sms": case.sms_on, "data_check": case.data_check_on, "handover": case.handover_on,
            "package_advice": case.package_advice_on, "questions": case.questions_on,
            "survey": case.survey_on}


def _touch(case: CareCase) -> None:
    case.has_work = any(_done_dates(case).values()) or case.gift_owed or \
        case.outcome is not None


def _refuse_if_changed(session: Session, case: CareCase, seen: int | None,
                       msisdn: str) -> None:
    refuse_if_changed(session, entity="care_case", entity_id=case.id,
                      current=case.row_version, seen=seen,
                      what=f"Hồ sơ chăm sóc của {format_msisdn(msisdn)}")


def _msisdn(session: Session, case: CareCase) -> str:
    return session.scalar(select(Subscriber.msisdn).where(
        Subscriber.id == case.subscriber_id)) or ""


def _first_handover(session: Session, handover: Handover) -> FirstHandover:
    item = session.get(GiftItem, handover.item_id)
    location = session.get(StockLocation, handover.location_id)
    return FirstHandover(handover.status, handover.given_on, handover.given_at,
                         location.name if location else "?", handover.given_by,
                         item.name if item else "?", handover.promised_on)


# --------------------------------------------------------------------------- steps


def record_step_in(session: Session, case: CareCase, step: str, *, on: dt.date, by: str,
                   value: str | None, actor: Actor, source: str = "") -> bool:
    """Record one step of an entry in the caller's transaction.

    Returns False when the same step is already recorded with the same date and value (a
    repeat changes nothing); True when recorded.

    Raises:
        RuleError: the step contradicts the entry's state or the order of the steps, or is
            already recorded differently (undo it first).
    """
    msisdn = _msisdn(session, case)
    require_case(actor, case, msisdn)
    _servable(case, msisdn)
    if case.outcome:
        raise RuleError(f"Thuê bao {format_msisdn(msisdn)} đã đóng với kết quả "
                        f"'{OUTCOME_LABELS[case.outcome]}'; hủy kết quả trước khi ghi tiếp.")
    existing = session.scalar(select(CareStep).where(CareStep.care_case_id == case.id,
                                                     CareStep.step == step))
    if existing is not None:
        if existing.done_on == on and (value is None or existing.value == value):
            return False
        raise RuleError(f"{STEP_LABELS[step]} của thuê bao {format_msisdn(msisdn)} đã ghi ngày "
                        f"{format_date(existing.done_on)}"
                        + (f" bởi {existing.done_by}" if existing.done_by else "")
                        + "; muốn sửa thì hủy bước đó (có lý do) rồi ghi lại.")
    try:
        check_step(step, case.delivery, on, _done_dates(case), today=local_today(),
                   met=case.handover_on is not None or case.gift_owed)
    except StepProblem as exc:
        raise RuleError(f"{format_msisdn(msisdn)}: {exc}") from exc
    row = CareStep(care_case_id=case.id, step=step, done_on=on, done_by=by or actor.name,
                   value=value, recorded_by=actor.name, recorded_at=utcnow())
    session.add(row)
    setattr(case, f"{step}_on", on)
    _touch(case)
    session.flush()
    audit.record(session, user=actor.name, action="record_step", entity="care_case",
                 entity_id=case.id, programme_id=case.programme_id,
                 summary=f"{STEP_LABELS[step]} – {format_msisdn(msisdn)}"
                         + (f" ({source})" if source else ""),
                 after={"step": step, "on": on, "by": row.done_by, "value": value})
    return True


@dataclass(frozen=True)
class StepResult:
    """What recording a step did."""

    case_id: int
    msisdn: str
    step: str
    on: dt.date
    changed: bool

    @property
    def text(self) -> str:
        """The sentence for the status bar."""
        verb = "Đã ghi" if self.changed else "Đã có sẵn"
        return (f"{verb} {STEP_LABELS[self.step].lower()} cho {format_msisdn(self.msisdn)} "
                f"ngày {format_date(self.on)}.")

    def to_json(self) -> dict[str, Any]:
        """For `--json`."""
        return {"case_id": self.case_id, "msisdn": self.msisdn, "step": self.step,
                "on": self.on.isoformat(), "changed": self.changed}


def record_step(factory: sessionmaker[Session], msisdn: str | int, step: str, *, actor: Actor,
                on: dt.date | None = None, by: str = "", value: str | None = None,
                programme_id: int | None = None, seen_version: int | None = None
                ) -> StepResult:
    """Record that a step (`sms`, `data_check`, `package_advice`, `questions`, `survey`) was
    done for the subscriber named by `msisdn` (any form, or a printed code).

    `seen_version`: the entry's `row_version` the form showed; a save after someone else's
    is refused (`ChangedByOther`) instead of silently building on a stale screen.
    """
    if step not in RECORDABLE_STEPS:
        raise UsageError(f"Bước '{step}' không ghi bằng lệnh này; các bước: "
                         f"{', '.join(RECORDABLE_STEPS)} (trao quà: record handover).")
    actor.require("record")
    day = on or local_today()
    with UnitOfWork(factory, write=True) as uow:
        case = find_case(uow.session, programme_id, msisdn)
        number = _msisdn(uow.session, case)
        _refuse_if_changed(uow.session, case, seen_version, number)
        changed = record_step_in(uow.session, case, step, on=day, by=by,
                                 value=(value or "").strip() or None, actor=actor)
        result = StepResult(case.id, number, step, day, changed)
        uow.commit()
    return result


# --------------------------------------------------------------------------- handover


@dataclass(frozen=True)
class HandoverResult:
    """A handover recorded: given (one item taken from stock) or owed."""

    case_id: int
    msisdn: str
    name: str
    status: str
    item_code: str
    item_name: str
    location: str
    on: dt.date
    on_hand: int | None
    promised_on: dt.date | None = None
    profile_missing: tuple[str, ...] = field(default_factory=tuple)

    @property
    def text(self) -> str:
        """The sentence for the status bar."""
        who = f"{self.name} ({format_msisdn(self.msisdn)})" if self.name else \
            format_msisdn(self.msisdn)
        if self.status == "owed":
            promise = f", hẹn {format_date(self.promised_on)}" if self.promised_on else ""
            return f"Đã ghi nợ {self.item_name} cho {who} tại {self.location}{promise}."
        left = f"; còn {self.on_hand}" if self.on_hand is not None else ""
        return f"Đã trao {self.item_name} cho {who} tại {self.location}{left}."

    def to_json(self) -> dict[str, Any]:
        """For `--json`."""
        return {"case_id": self.case_id, "msisdn": self.msisdn, "status": self.status,
                "item": self.item_code, "location": self.location, "on": self.on.isoformat(),
                "on_hand": self.on_hand,
                "promised_on": self.promised_on.isoformat() if self.promised_on else None}


def _item_for(session: Session, case: CareCase, item_code: str | None) -> GiftItem:
    gift_type = session.scalar(select(GiftType).where(
        GiftType.programme_id == case.programme_id, GiftType.number == case.gift_type_number))
    if gift_type is None:
        raise RuleError(f"Nhóm {case.group_number} chưa có loại quà; sửa chương trình.")
    items = list(gift_type.items)
    if item_code is None or not item_code.strip():
        if len(items) == 1:
            return items[0]
        raise UsageError(f"{gift_type.name} có {len(items)} món, cần chọn: "
                         + ", ".join(f"{i.code} ({i.name})" for i in items) + ".")
    item = stock.find_item(session, case.programme_id, item_code)
    if item.gift_type_id != gift_type.id:
        raise RuleError(f"Nhóm {case.group_number} nhận {gift_type.name}, không nhận "
                        f"{item.name}.")
    return item


def default_location_name(case: CareCase) -> str:
    """Store pick-up takes from the customer's store; a home visit from the warehouse."""
    if case.delivery == "store" and case.store:
        return case.store
    return stock.WAREHOUSE


def _location_for(session: Session, case: CareCase, location: str | None) -> StockLocation:
    if location:
        found = stock.find_location(session, location)
        if found is None:
            raise NotFoundError(f"Không có nơi để quà '{location}'; nhập quà về nơi đó trước "
                                "(stock receive) hoặc kiểm tra tên.")
        return found
    name = default_location_name(case)
    found = stock.find_location(session, name)
    return found if found is not None else stock.get_or_create_location(
        session, name, district=case.district)


def profile_missing(sub: Subscriber) -> tuple[str, ...]:
    """What to collect to standardise the profile (empty when standardised)."""
    if sub.profile_standardised is not False:
        return ()
    missing = tuple(label for label, value in (("số CCCD", sub.id_number),
                                               ("ngày sinh", sub.birth_date),
                                               ("địa chỉ", sub.address)) if not value)
    return missing or ("xác nhận thông tin",)


def profile_missing_in(session: Session, case: CareCase, sub: Subscriber) -> tuple[str, ...]:
    """`profile_missing`, except that a profile collected in the case's programme (the
    information collection form, waiting for the iCRM upload) leaves nothing to collect."""
    missing = profile_missing(sub)
    if missing and session.scalar(select(ProfileCollection.id).where(
            ProfileCollection.programme_id == case.programme_id,
            ProfileCollection.subscriber_id == sub.id)) is not None:
        return ()
    return missing


def record_handover_in(session: Session, case: CareCase, *, item_code: str | None,
                       location: str | None, by: str, on: dt.date, live: bool, actor: Actor,
                       owed: bool = False, promised_on: dt.date | None = None,
                       note: str = "", source: str = "") -> HandoverResult:
    """Record the handover (or the owed gift) of an entry in the caller's transaction.

    Raises:
        AlreadyHandedOver: the subscriber already has a handover in the programme.
        RuleError: not on a list to serve, closed, out of stock, or against the step order.
    """
    sub = session.get(Subscriber, case.subscriber_id)
    assert sub is not None
    require_case(actor, case, sub.msisdn)
    _servable(case, sub.msisdn)
    first = session.scalar(select(Handover).where(Handover.programme_id == case.programme_id,
                                                  Handover.subscriber_id == sub.id))
    if first is not None:
        details = _first_handover(session, first)
        raise AlreadyHandedOver(f"{format_msisdn(sub.msisdn)}: {details.text}", details)
    if case.outcome:
        raise RuleError(f"Thuê bao {format_msisdn(sub.msisdn)} đã đóng với kết quả "
                        f"'{OUTCOME_LABELS[case.outcome]}'; hủy kết quả trước khi trao quà.")
    try:
        check_handover_order(case.delivery, on, _done_dates(case),
                             today=local_today())
    except StepProblem as exc:
        raise RuleError(f"{format_msisdn(sub.msisdn)}: {exc}") from exc
    item = _item_for(session, case, item_code)
    place = _location_for(session, case, location)
    who = by or actor.name
    now = utcnow()
    handover = Handover(
        programme_id=case.programme_id, subscriber_id=sub.id, care_case_id=case.id,
        item_id=item.id, location_id=place.id, status="owed" if owed else "given",
        given_on=None if owed else on, given_at=now if live and not owed else None,
        given_by="" if owed else who, owed_at=now if owed else None,
        promised_on=promised_on if owed else None, note=note, recorded_by=actor.name,
        recorded_at=now)
    session.add(handover)
    # Read before the flush: a failed flush leaves the session unable to load attributes.
    programme_id, subscriber_id, msisdn = case.programme_id, sub.id, sub.msisdn
    try:
        # The unique constraint decides between two workstations racing for the same customer.
        session.flush()
    except IntegrityError:
        raise _raced(session, programme_id, subscriber_id, msisdn) from None
    on_hand: int | None = None
    if owed:
        case.gift_owed = True
    else:
        stock.take_one(session, item, place, by=who, handover_id=handover.id)
        on_hand = stock.balance_on_hand(session, item.id, place.id)
        case.handover_on, case.handed_over_at = on, now
        session.add(CareStep(care_case_id=case.id, step="handover", done_on=on, done_by=who,
                             value=item.code, recorded_by=actor.name, recorded_at=now))
    _touch(case)
    session.flush()
    audit.record(session, user=actor.name, action="record_owed" if owed else "record_handover",
                 entity="care_case", entity_id=case.id, programme_id=case.programme_id,
                 summary=("Ghi nợ " if owed else "Trao ") + f"{item.name} – "
                         f"{format_msisdn(sub.msisdn)} tại {place.name}"
                         + (f" ({source})" if source else ""),
                 after={"handover_id": handover.id, "item": item.code, "location": place.name,
                        "status": handover.status, "on": on, "by": who,
                        "promised_on": promised_on, "note": note})
    return HandoverResult(case.id, sub.msisdn, sub.name or "", handover.status, item.code,
                          item.name, place.name, on, on_hand,
                          promised_on if owed else None, profile_missing_in(session, case, sub))


def _raced(session: Session, programme_id: int, subscriber_id: int, msisdn: str) -> RuleError:
    """The other workstation won: name its handover (read after rolling back our insert)."""
    session.rollback()
    first = session.scalar(select(Handover).where(Handover.programme_id == programme_id,
                                                  Handover.subscriber_id == subscriber_id))
    if first is None:
        return RuleError(f"{format_msisdn(msisdn)}: máy khác vừa ghi cùng lúc; thử lại.")
    details = _first_handover(session, first)
    return AlreadyHandedOver(f"{format_msisdn(msisdn)}: {details.text}", details)


def record_handover(factory: sessionmaker[Session], msisdn: str | int, *, actor: Actor,
                    item_code: str | None = None, location: str | None = None, by: str = "",
                    on: dt.date | None = None, programme_id: int | None = None,
                    owed: bool = False, promised_on: dt.date | None = None, note: str = ""
                    ) -> HandoverResult:
    """Hand over the gift (one item out of stock), or record it as owed.

    `msisdn` is any usual form of the number, or a code scanned from a printed document.
    Without `on` the handover is recorded live (date and time now); with it, as done that day.

    Raises:
        AlreadyHandedOver: a second handover (exit 4), naming the first.
        RuleError: no stock left there, not on a list, awaiting a group, or the role may not.
    """
    actor.require("record")
    if owed and promised_on is not None and promised_on < local_today():
        raise UsageError("Ngày hẹn trao quà nợ đã qua; chọn ngày từ hôm nay.")
    with UnitOfWork(factory, write=True) as uow:
        case = find_case(uow.session, programme_id, msisdn)
        result = record_handover_in(uow.session, case, item_code=item_code, location=location,
                                    by=by, on=on or local_today(), live=on is None,
                                    actor=actor, owed=owed, promised_on=promised_on, note=note)
        uow.commit()
    logger.info("handover %s on case %d", result.status, result.case_id)
    return result


def give_owed(factory: sessionmaker[Session], msisdn: str | int, *, actor: Actor, by: str = "",
              on: dt.date | None = None, item_code: str | None = None,
              programme_id: int | None = None) -> HandoverResult:
    """Give an owed gift now that the store has one: the item leaves stock, the debt closes.

    Raises:
        RuleError: nothing owed to the subscriber, or still none in stock.
    """
    actor.require("record")
    day = on or local_today()
    with UnitOfWork(factory, write=True) as uow:
        session = uow.session
        case = find_case(session, programme_id, msisdn)
        sub = session.get(Subscriber, case.subscriber_id)
        assert sub is not None
        require_case(actor, case, sub.msisdn)
        handover = session.scalar(select(Handover).where(Handover.care_case_id == case.id))
        if handover is None or handover.status != "owed":
            raise RuleError(f"Không nợ quà thuê bao {format_msisdn(sub.msisdn)}.")
        item = _item_for(session, case, item_code) if item_code else \
            session.get(GiftItem, handover.item_id)
        place = session.get(StockLocation, handover.location_id)
        assert item is not None and place is not None
        who = by or actor.name
        now = utcnow()
        stock.take_one(session, item, place, by=who, handover_id=handover.id)
        before = {"status": "owed", "item": handover.item_id, "promised_on": handover.promised_on}
        handover.status, handover.item_id = "given", item.id
        handover.given_on, handover.given_by = day, who
        handover.given_at = now if on is None else None
        case.gift_owed, case.handover_on, case.handed_over_at = False, day, now
        session.add(CareStep(care_case_id=case.id, step="handover", done_on=day, done_by=who,
                             value=item.code, recorded_by=actor.name, recorded_at=now))
        _touch(case)
        session.flush()
        audit.record(session, user=actor.name, action="give_owed", entity="care_case",
                     entity_id=case.id, programme_id=case.programme_id,
                     summary=f"Trao quà nợ {item.name} – {format_msisdn(sub.msisdn)}",
                     before=before, after={"status": "given", "item": item.code, "on": day})
        result = HandoverResult(case.id, sub.msisdn, sub.name or "", "given", item.code,
                                item.name, place.name, day,
                                stock.balance_on_hand(session, item.id, place.id))
        uow.commit()
    return result


# --------------------------------------------------------------------------- outcomes


def record_outcome_in(session: Session, case: CareCase, outcome: str, *, note: str,
                      on: dt.date, actor: Actor) -> None:
    """Close an entry with an outcome in the caller's transaction."""
    msisdn = _msisdn(session, case)
    require_case(actor, case, msisdn)
    _servable(case, msisdn)
    if outcome not in OUTCOMES:
        raise UsageError(f"Kết quả '{outcome}' không có; chọn: {', '.join(OUTCOMES)}.")
    if case.handover_on is not None or case.gift_owed:
        raise RuleError(f"Thuê bao {format_msisdn(msisdn)} đã nhận quà hoặc được ghi nợ quà; "
                        "không đóng với kết quả này.")
    if case.outcome == outcome and (case.outcome_note or "") == note:
        return
    before = {"outcome": case.outcome, "note": case.outcome_note}
    case.outcome, case.outcome_note, case.outcome_on, case.outcome_by = \
        outcome, note, on, actor.name
    _touch(case)
    session.flush()
    audit.record(session, user=actor.name, action="record_outcome", entity="care_case",
                 entity_id=case.id, programme_id=case.programme_id,
                 summary=f"Kết quả '{OUTCOME_LABELS[outcome]}' – {format_msisdn(msisdn)}",
                 before=before, after={"outcome": outcome, "note": note, "on": on})


def record_outcome(factory: sessionmaker[Session], msisdn: str | int, outcome: str, *,
                   actor: Actor,
                   note: str = "", on: dt.date | None = None,
                   programme_id: int | None = None,
                   seen_version: int | None = None) -> dict[str, Any]:
    """Close the entry: the customer cannot be served (unreachable, refused, moved, other).

    An `other` outcome needs a note saying what happened. `seen_version` as `record_step`.
    """
    actor.require("record")
    if outcome == "other" and not note.strip():
        raise UsageError("Kết quả 'Khác' cần ghi chú (--note).")
    with UnitOfWork(factory, write=True) as uow:
        case = find_case(uow.session, programme_id, msisdn)
        _refuse_if_changed(uow.session, case, seen_version, _msisdn(uow.session, case))
        record_outcome_in(uow.session, case, outcome, note=note.strip(),
                          on=on or local_today(), actor=actor)
        number = _msisdn(uow.session, case)
        result = {"case_id": case.id, "msisdn": number, "outcome": outcome,
                  "_text": f"Đã đóng {format_msisdn(number)}: {OUTCOME_LABELS[outcome]}."}
        uow.commit()
    return result


# --------------------------------------------------------------------------- corrections


def undo(factory: sessionmaker[Session], msisdn: str | int, what: str, *, reason: str,
         actor: Actor,
         programme_id: int | None = None, seen_version: int | None = None) -> str:
    """Undo a step, the handover (its item goes back to stock) or the outcome, with a reason.

    `what` is a step key, `handover` or `outcome`. The undone record is kept in the audit log
    (before, after, who, why); nothing disappears silently. `seen_version` as `record_step`.

    Returns:
        The sentence for the status bar.

    Raises:
        RuleError: the role may not correct, or there is nothing to undo.
        UsageError: no reason.
    """
    if not reason.strip():
        raise UsageError("Hủy một bước đã ghi cần ghi lý do.")
    actor.require("correct")
    with UnitOfWork(factory, write=True) as uow:
        session = uow.session
        case = find_case(session, programme_id, msisdn)
        require_case(actor, case, _msisdn(session, case))
        _refuse_if_changed(session, case, seen_version, _msisdn(session, case))
        number = format_msisdn(_msisdn(session, case))
        if what == "outcome":
            if not case.outcome:
                raise RuleError(f"{number} chưa có kết quả để hủy.")
            before = {"outcome": case.outcome, "note": case.outcome_note, "on": case.outcome_on,
                      "by": case.outcome_by}
            case.outcome = case.outcome_note = case.outcome_on = case.outcome_by = None
            summary = f"Hủy kết quả – {number}"
        elif what == "handover":
            handover = session.scalar(select(Handover).where(Handover.care_case_id == case.id))
            if handover is None:
                raise RuleError(f"{number} chưa có lần trao quà (hay ghi nợ) nào để hủy.")
            later = [STEP_LABELS[s] for s in ("package_advice", "questions", "survey")
                     if getattr(case, f"{s}_on") is not None]
            if later:
                raise RuleError(f"{number}: hủy trước các bước làm khi gặp KH "
                                f"({', '.join(later)}).")
            item = session.get(GiftItem, handover.item_id)
            place = session.get(StockLocation, handover.location_id)
            assert item is not None and place is not None
            before = {"status": handover.status, "item": item.code, "location": place.name,
                      "on": handover.given_on, "by": handover.given_by,
                      "promised_on": handover.promised_on}
            if handover.status == "given":
                stock.give_back(session, item, place, by=actor.name, reason=reason.strip(),
                                handover_id=handover.id)
            step_row = session.scalar(select(CareStep).where(
                CareStep.care_case_id == case.id, CareStep.step == "handover"))
            if step_row is not None:
                session.delete(step_row)
            session.delete(handover)
            case.handover_on = case.handed_over_at = None
            case.gift_owed = False
            summary = f"Hủy trao quà ({item.name}) – {number}"
        elif what in STEPS:
            row = session.scalar(select(CareStep).where(CareStep.care_case_id == case.id,
                                                        CareStep.step == what))
            if row is None:
                raise RuleError(f"{number}: bước {STEP_LABELS[what].lower()} chưa ghi.")
            before = {"step": what, "on": row.done_on, "by": row.done_by, "value": row.value}
            session.delete(row)
            setattr(case, f"{what}_on", None)
            summary = f"Hủy bước {STEP_LABELS[what].lower()} – {number}"
        else:
            raise UsageError(f"Không hủy được '{what}'; chọn một bước, handover hoặc outcome.")
        _touch(case)
        session.flush()
        audit.record(session, user=actor.name, action=f"undo_{what}", entity="care_case",
                     entity_id=case.id, programme_id=case.programme_id, summary=summary,
                     reason=reason.strip(), before=before, after=None)
        uow.commit()
    return f"Đã hủy: {summary}."


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class DeskItem:
    """An item the customer may take, and how many are left where the gift is given."""

    code: str
    name: str
    on_hand: int


@dataclass(frozen=True)
class DeskCaseDTO:
    """Everything the handover desk shows about the customer in front of the clerk."""

    case_id: int
    programme_id: int
    msisdn: str
    name: str
    batch: int
    state: str
    group: int | None
    delivery: str | None
    district: str
    store: str
    gift_type_name: str
    location: str
    items: tuple[DeskItem, ...]
    steps_done: dict[str, dt.date]
    steps_to_do: tuple[str, ...]
    progress: str
    outcome: str | None
    profile_missing: tuple[str, ...]
    offers: tuple[str, ...]
    first_handover: FirstHandover | None
    survey_done: bool


def desk_lookup(factory: sessionmaker[Session], text: str, *, actor: Actor,
                programme_id: int | None = None, location: str | None = None) -> DeskCaseDTO:
    """What the desk shows for a scanned code or a typed number.

    The items' counts are at `location` when named (a clerk working at one store), else at
    the customer's default location (`default_location_name`).

    Raises:
        PermissionProblem: the actor may not open lists, or the customer belongs to another
            district or store (refused, nothing shown).
        UsageError: neither a number nor a code.
        NotFoundError: not on a list of the programme.
    """
    actor.require("view_lists")
    with UnitOfWork(factory) as uow:
        session = uow.session
        case = find_case(session, programme_id, text)
        sub = session.get(Subscriber, case.subscriber_id)
        batch = session.get(Batch, case.batch_id)
        assert sub is not None and batch is not None
        require_case(actor, case, sub.msisdn)
        gift_type = session.scalar(select(GiftType).where(
            GiftType.programme_id == case.programme_id,
            GiftType.number == case.gift_type_number))
        first = session.scalar(select(Handover).where(Handover.care_case_id == case.id))
        location_name = location or default_location_name(case)
        place = stock.find_location(session, location_name)
        items = tuple(
            DeskItem(item.code, item.name,
                     stock.balance_on_hand(session, item.id, place.id) if place else 0)
            for item in (gift_type.items if gift_type else ()))
        done = {step: day for step, day in _done_dates(case).items() if day}
        return DeskCaseDTO(
            case_id=case.id, programme_id=case.programme_id, msisdn=sub.msisdn,
            name=sub.name or "", batch=batch.number, state=case.state, group=case.group_number,
            delivery=case.delivery, district=case.district or "", store=case.store or "",
            gift_type_name=gift_type.name if gift_type else "",
            location=place.name if place else location_name, items=items, steps_done=done,
            steps_to_do=tuple(s for s in STEPS if s not in done),
            progress=care_progress(done, case.outcome, case.gift_owed), outcome=case.outcome,
            profile_missing=profile_missing_in(session, case, sub),
            offers=tuple(o.strip() for o in (sub.offers or "").replace(";", ",").split(",")
                         if o.strip()),
            first_handover=_first_handover(session, first) if first else None,
            survey_done=case.survey_on is not None)


@dataclass(frozen=True)
class RecentHandover:
    """A line of the desk's "Vừa trao" strip."""

    at: dt.datetime | None
    on: dt.date | None
    name: str
    msisdn: str
    item_name: str
    status: str


def recent_handovers(factory: sessionmaker[Session], *, programme_id: int | None = None,
                     location: str | None = None, limit: int = 8) -> list[RecentHandover]:
    """The last handovers recorded (at one location if named), newest first."""
    with UnitOfWork(factory) as uow:
        session = uow.session
        pid = resolve_programme_id(session, programme_id)
        query = (select(Handover, Subscriber.name, Subscriber.msisdn, GiftItem.name)
                 .join(Subscriber, Subscriber.id == Handover.subscriber_id)
                 .join(GiftItem, GiftItem.id == Handover.item_id)
                 .where(Handover.programme_id == pid)
                 .order_by(Handover.recorded_at.desc(), Handover.id.desc()).limit(limit))
        if location:
            place = stock.find_location(session, location)
            if place is None:
                return []
            query = query.where(Handover.location_id == place.id)
        return [RecentHandover(h.given_at or h.owed_at, h.given_on, name or "", msisdn,
                               item, h.status)
                for h, name, msisdn, item in session.execute(query)]


def parse_step_date(text: str | None) -> dt.date | None:
    """`--at YYYY-MM-DD` or `dd/mm/yyyy`; None for none."""
    if text is None or not str(text).strip():
        return None
    from mbfcare.domain.values import parse_date

    try:
        day = parse_date(text)
    except ValueProblem as exc:
        raise UsageError(f"Ngày '{text}' không đọc được; dùng YYYY-MM-DD hoặc dd/mm/yyyy.") \
            from exc
    if day is None:
        return None
    return day


def check_msisdn(text: str) -> str:
    """The 10-digit form of a typed number, or a UsageError sentence."""
    try:
        return parse_msisdn(text).number
    except ValueProblem as exc:
        raise UsageError(f"Số thuê bao '{text}' không hợp lệ.") from exc
