"""Printing the care documents: receipts, signature lists, survey and information forms,
store invitations, with a per-copy token in each QR so that the desk can tell the latest
printed copy from an old or forged one.

`print_documents` is one unit of work: it records the print run and, for each document about
an entry, a `PrintedDocument` whose token supersedes the entry's older copies of that kind;
the PDF is written to a temporary file beside the output and moved into place only when
everything succeeded. Cancelling (or any failure) rolls the log back and leaves no file.
Runs on a worker; no UI calls here.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Row, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.domain.actors import Actor
from mbfcare.domain.codes import check_code, entry_code, new_token
from mbfcare.domain.collation import name_sort_key
from mbfcare.domain.survey import SurveyDefinition, load_survey, survey_from_dict
from mbfcare.domain.values import format_number
from mbfcare.domain.vntext import fold
from mbfcare.errors import Cancelled, RuleError, StorageError, UsageError, ValidationError
from mbfcare.models import (
    Batch,
    CareCase,
    GiftItem,
    GiftType,
    Handover,
    PrintedDocument,
    PrintRun,
    ProfileCollection,
    Programme,
    ProgrammeGroup,
    Subscriber,
    SurveyForm,
)
from mbfcare.models.base import utcnow
from mbfcare.reports.pdf import fonts
from mbfcare.reports.pdf.data import (
    Customer,
    FormSettings,
    FormSettingsProblem,
    InfoFormData,
    InvitationData,
    ListLine,
    Printed,
    ReceiptData,
    SignatureSection,
    SurveyData,
    load_form_settings,
)
from mbfcare.reports.pdf.forms import render_info_forms, render_surveys
from mbfcare.reports.pdf.invitations import render_invitations
from mbfcare.reports.pdf.layout import (
    PAGE_HEIGHT,
    PAGE_WIDTH,
    Rendered,
    draw_centred,
    new_canvas,
)
from mbfcare.reports.pdf.receipts import render_receipts
from mbfcare.reports.pdf.signature_list import render_signature_lists
from mbfcare.services import audit
from mbfcare.services.care_work import local_today, profile_missing
from mbfcare.services.data_protection import in_scope, require_export, scope_words
from mbfcare.services.programmes import get_batch, resolve_programme_id
from mbfcare.services.progress import NullProgress, Progress
from mbfcare.services.surveys import survey_form
from mbfcare.uow import UnitOfWork

__all__ = [
    "DOCUMENT_KIND",
    "KINDS",
    "KIND_WORDS",
    "PREVIEW_MARK",
    "FormSettingsDTO",
    "PrintResult",
    "PrintRunDTO",
    "current_codes",
    "form_settings",
    "preview_document",
    "print_documents",
    "print_runs",
    "update_form_settings",
]

logger = logging.getLogger(__name__)

#: The kinds of print job, as the command line names them.
KINDS = ("receipts", "signature-list", "surveys", "info-forms", "invitations")
#: The document kind of each job (PrintedDocument.kind, the letter in the code).
DOCUMENT_KIND = {"receipts": "receipt", "signature-list": "signature_list",
                 "surveys": "survey", "info-forms": "info_form", "invitations": "invitation"}
#: What a job prints, in words ("12 biên bản").
KIND_WORDS = {"receipts": "biên bản giao nhận quà", "signature-list": "danh sách ký nhận",
              "surveys": "phiếu khảo sát", "info-forms": "phiếu thu thập thông tin",
              "invitations": "giấy mời nhận quà"}
_BLANK_KINDS = ("surveys", "info-forms")
_CHUNK = 500
_DISTRICT_PREFIX = re.compile(r"^(quan|huyen|thi xa|thanh pho|tp\.?)\s+")


# --------------------------------------------------------------------------- DTOs


@dataclass(frozen=True)
class PrintResult:
    """A print job done: the file, its pages, the documents in it (blank forms included)."""

    file: str
    pages: int
    documents: int
    kind: str
    run_id: int
    programme_id: int
    blank: int = 0
    #: The QR payloads drawn, in page order (the codes the desk will accept).
    codes: tuple[str, ...] = field(default=(), repr=False)

    @property
    def text(self) -> str:
        """The sentence for the status bar."""
        blank = f" (trong đó {self.blank} phiếu trống)" if self.blank else ""
        return (f"Đã in {format_number(self.documents)} {KIND_WORDS[self.kind]}{blank}, "
                f"{format_number(self.pages)} trang: {self.file}")

    def to_json(self) -> dict[str, Any]:
        """For `--json`."""
        return {"file": self.file, "pages": self.pages, "documents": self.documents,
                "kind": self.kind, "run_id": self.run_id, "programme_id": self.programme_id,
                "blank": self.blank}


@dataclass(frozen=True)
class PrintRunDTO:
    """A line of the print log: who printed what, when."""

    id: int
    kind: str
    at: dt.datetime
    user: str
    documents: int
    pages: int
    file_name: str
    scope: Mapping[str, Any]


@dataclass(frozen=True)
class FormSettingsDTO:
    """A programme's document wording: the result, and the programme's own overrides."""

    programme_id: int
    settings: FormSettings
    overrides: Mapping[str, Any]


# --------------------------------------------------------------------------- helpers


def _overrides(programme: Programme) -> dict[str, Any]:
    forms = (programme.extra or {}).get("forms")
    return dict(forms) if isinstance(forms, Mapping) else {}


def _settings(programme: Programme) -> FormSettings:
    try:
        return load_form_settings(_overrides(programme))
    except FormSettingsProblem as exc:
        raise ValidationError(str(exc)) from exc


def _check_target(kind: str, out: Path) -> Path:
    """The output file of a print or preview of `kind`, checked (UsageError)."""
    if kind not in KINDS:
        raise UsageError(f"Không có loại giấy in '{kind}'; chọn: {', '.join(KINDS)}.")
    out = Path(out)
    if out.suffix.lower() != ".pdf":
        raise UsageError(f"Tệp in '{out.name}' phải có đuôi .pdf.")
    if not out.parent.is_dir():
        raise UsageError(f"Thư mục '{out.parent}' không tồn tại: tạo thư mục hoặc chọn nơi "
                         "khác.")
    return out


def _district_key(name: str | None) -> str:
    return _DISTRICT_PREFIX.sub("", fold(name or ""))


def _chunks(ids: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start:start + _CHUNK]


# --------------------------------------------------------------------------- settings


def form_settings(factory: sessionmaker[Session],
                  programme_id: int | None = None) -> FormSettingsDTO:
    """The wording the programme's documents print (`resources/templates/forms.toml` with
    the programme's overrides from `Programme.extra["forms"]`).

    Raises:
        NotFoundError: no such programme.
        ValidationError: the stored overrides no longer fit the template.
    """
    with UnitOfWork(factory) as uow:
        pid = resolve_programme_id(uow.session, programme_id)
        programme = uow.session.get(Programme, pid)
        assert programme is not None
        return FormSettingsDTO(pid, _settings(programme), _overrides(programme))


def update_form_settings(factory: sessionmaker[Session], programme_id: int | None,
                         overrides: Mapping[str, Any], *, actor: Actor) -> FormSettingsDTO:
    """Replace the programme's overrides of the document wording (same shape as the file,
    only the keys that differ); the change goes to the audit log with before and after.

    Raises:
        RuleError: the role may not change the programme.
        ValidationError: an unknown key or a value of the wrong kind (nothing saved).
    """
    actor.require("manage")
    try:
        settings = load_form_settings(overrides)
    except FormSettingsProblem as exc:
        raise ValidationError(str(exc)) from exc
    with UnitOfWork(factory, write=True) as uow:
        pid = resolve_programme_id(uow.session, programme_id)
        programme = uow.session.get(Programme, pid)
        assert programme is not None
        before = _overrides(programme)
        after = dict(overrides)
        if before != after:
            # A new dict, so that SQLAlchemy sees the JSON column change.
            programme.extra = {**(programme.extra or {}), "forms": after}
            audit.record(uow.session, user=actor.name, action="update_form_settings",
                         entity="programme", entity_id=pid, programme_id=pid,
                         summary="Sửa mẫu in (biên bản, danh sách, phiếu, giấy mời)",
                         before={"forms": before}, after={"forms": after})
            uow.commit()
    logger.info("form settings of programme %d updated by %s", pid, actor.name or "?")
    return FormSettingsDTO(pid, settings, dict(overrides))


# --------------------------------------------------------------------------- reading


def current_codes(factory: sessionmaker[Session], case_ids: Sequence[int],
                  kind: str) -> dict[int, str]:
    """The QR code of the latest printed copy of each entry's document of `kind` (a value of
    DOCUMENT_KIND); entries never printed are absent."""
    codes: dict[int, str] = {}
    with UnitOfWork(factory) as uow:
        for chunk in _chunks(list(case_ids)):
            query = (select(PrintedDocument.care_case_id, PrintedDocument.token,
                            CareCase.programme_id)
                     .join(CareCase, CareCase.id == PrintedDocument.care_case_id)
                     .where(PrintedDocument.care_case_id.in_(chunk),
                            PrintedDocument.kind == kind,
                            PrintedDocument.superseded_at.is_(None)))
            for case_id, token, pid in uow.session.execute(query):
                codes[case_id] = entry_code(kind, pid, case_id, token)
    return codes


def print_runs(factory: sessionmaker[Session], programme_id: int | None = None, *,
               limit: int = 100) -> list[PrintRunDTO]:
    """The print log of a programme, newest first."""
    with UnitOfWork(factory) as uow:
        pid = resolve_programme_id(uow.session, programme_id)
        rows = uow.session.scalars(select(PrintRun).where(PrintRun.programme_id == pid)
                                   .order_by(PrintRun.id.desc()).limit(limit))
        return [PrintRunDTO(r.id, r.kind, r.at, r.user, r.documents, r.pages, r.file_name,
                            dict(r.scope or {})) for r in rows]


# --------------------------------------------------------------------------- the job


@dataclass(frozen=True)
class _Entry:
    """An entry to print, read once (plain values: nothing lazy-loads while drawing)."""

    case_id: int
    customer: Customer
    batch: int
    care_month: str
    group: int | None
    delivery: str | None
    gift_type_number: int | None
    missing: tuple[str, ...]


def _entry(row: Row[Any], collected: set[int]) -> _Entry:
    (case_id, group, delivery, gift_number, case_province, case_district, case_store,
     sub_id, name, msisdn, address, id_number, birth, province, district, store,
     standardised, batch, care_month, care_year) = tuple(row)
    missing = () if sub_id in collected else profile_missing(Subscriber(
        profile_standardised=standardised, id_number=id_number, birth_date=birth,
        address=address))
    customer = Customer(name=name or "", msisdn=msisdn, address=address or "",
                        id_number=id_number or "", birth_date=birth,
                        province=case_province or province or "",
                        district=case_district or district or "",
                        store=case_store or store or "")
    return _Entry(case_id, customer, batch, f"{care_month:02d}/{care_year}", group, delivery,
                  gift_number, missing)


def _select_entries(session: Session, pid: int, kind: str, *, batch: int | None,
                    group: int | None, district: str | None, store: str | None,
                    case_ids: Sequence[int] | None) -> list[_Entry]:
    """The entries the job prints, in the order of distribution (store or district, then
    name the Vietnamese way): listed, not closed by an outcome, and for info forms only
    profiles to collect, for invitations only store pick-ups."""
    query = (select(CareCase.id, CareCase.group_number, CareCase.delivery,
                    CareCase.gift_type_number, CareCase.province, CareCase.district,
                    CareCase.store, Subscriber.id, Subscriber.name, Subscriber.msisdn,
                    Subscriber.address, Subscriber.id_number, Subscriber.birth_date,
                    Subscriber.province, Subscriber.district, Subscriber.store,
                    Subscriber.profile_standardised, Batch.number, Batch.care_month,
                    Batch.care_year)
             .join(Subscriber, Subscriber.id == CareCase.subscriber_id)
             .join(Batch, Batch.id == CareCase.batch_id)
             .where(CareCase.programme_id == pid, CareCase.state == "listed",
                    CareCase.outcome.is_(None)))
    if batch is not None:
        query = query.where(Batch.id == get_batch(session, pid, batch).id)
    if group is not None:
        query = query.where(CareCase.group_number == group)
    if kind == "invitations":
        query = query.where(CareCase.delivery == "store")
    collected = set(session.scalars(select(ProfileCollection.subscriber_id).where(
        ProfileCollection.programme_id == pid))) if kind == "info-forms" else set()
    rows: list[Row[Any]] = []
    if case_ids is not None:
        for chunk in _chunks(list(case_ids)):
            rows.extend(session.execute(query.where(CareCase.id.in_(chunk))))
    else:
        rows.extend(session.execute(query))
    entries = [_entry(row, collected) for row in rows]
    if district:
        wanted = _district_key(district)
        entries = [e for e in entries if _district_key(e.customer.district) == wanted]
    if store:
        wanted = fold(store)
        entries = [e for e in entries if fold(e.customer.store) == wanted]
    if kind == "info-forms":
        entries = [e for e in entries if e.missing]
    entries.sort(key=lambda e: (e.batch, _place_key(e), name_sort_key(e.customer.name),
                                e.customer.msisdn))
    return entries


def _place_key(entry: _Entry) -> tuple[int, str]:
    if entry.delivery == "store":
        return 1, fold(entry.customer.store)
    return 0, _district_key(entry.customer.district)


def _place_words(entry: _Entry) -> str:
    if entry.delivery == "store" and entry.customer.store:
        return entry.customer.store
    district = entry.customer.district or "chưa rõ quận/huyện"
    return f"Quận/huyện {district} – MobiFone đến tặng tại nhà"


def _issue(session: Session, run: PrintRun, entries: Sequence[_Entry],
           doc_kind: str) -> dict[int, Printed]:
    """Record one PrintedDocument per entry, superseding the entries' older copies of the
    same kind; returns each entry's number and codes."""
    now = utcnow()
    ids = [e.case_id for e in entries]
    for chunk in _chunks(ids):
        session.execute(update(PrintedDocument)
                        .where(PrintedDocument.care_case_id.in_(chunk),
                               PrintedDocument.kind == doc_kind,
                               PrintedDocument.superseded_at.is_(None))
                        .values(superseded_at=now))
    tokens = [new_token() for _ in ids]
    # Tokens are random: make sure none is taken (in the log or twice here).
    while True:
        taken: set[str] = set()
        for start in range(0, len(tokens), _CHUNK):
            taken.update(session.scalars(select(PrintedDocument.token).where(
                PrintedDocument.token.in_(tokens[start:start + _CHUNK]))))
        seen: set[str] = set()
        clash = False
        for index, token in enumerate(tokens):
            if token in taken or token in seen:
                tokens[index] = new_token()
                clash = True
            seen.add(tokens[index])
        if not clash:
            break
    rows = [{"print_run_id": run.id, "care_case_id": case_id, "kind": doc_kind,
             "token": token, "printed_at": now} for case_id, token in zip(ids, tokens,
                                                                        strict=True)]
    numbers: list[int] = []
    for start in range(0, len(rows), _CHUNK):
        numbers.extend(session.scalars(
            insert(PrintedDocument).returning(PrintedDocument.id,
                                              sort_by_parameter_order=True),
            rows[start:start + _CHUNK]))
    return {case_id: Printed(number, entry_code(doc_kind, run.programme_id, case_id, token),
                             check_code(case_id, token))
            for case_id, token, number in zip(ids, tokens, numbers, strict=True)}


@dataclass(frozen=True)
class _Gift:
    name: str
    items: tuple[str, ...]


def _gifts(session: Session, pid: int) -> dict[int, _Gift]:
    gifts: dict[int, _Gift] = {}
    for gift_type in session.scalars(select(GiftType).where(GiftType.programme_id == pid)):
        gifts[gift_type.number] = _Gift(gift_type.name,
                                        tuple(item.name for item in gift_type.items))
    return gifts


@dataclass(frozen=True)
class _Given:
    status: str
    item: str
    on: dt.date | None
    by: str


def _handovers(session: Session, ids: Sequence[int]) -> dict[int, _Given]:
    given: dict[int, _Given] = {}
    for chunk in _chunks(list(ids)):
        query = (select(Handover.care_case_id, Handover.status, GiftItem.name,
                        Handover.given_on, Handover.given_by)
                 .join(GiftItem, GiftItem.id == Handover.item_id)
                 .where(Handover.care_case_id.in_(chunk)))
        for case_id, status, item, on, by in session.execute(query):
            given[case_id] = _Given(status, item, on, by or "")
    return given


class _Tick:
    """Progress and cancelling, called after each document is drawn."""

    def __init__(self, progress: Progress, total: int, what: str) -> None:
        self._progress = progress
        self._total = total
        self._what = what

    def __call__(self, done: int) -> None:
        if done % 25 == 0 or done == self._total:
            if self._progress.cancelled():
                raise Cancelled("Đã hủy in; không có gì được ghi vào sổ in.")
            self._progress.report(done, self._total, f"Đang in {self._what}…")


def _render(kind: str, tmp: Path, entries: Sequence[_Entry], *, session: Session,
            run: PrintRun, programme: Programme, settings: FormSettings, blank: int,
            today: dt.date, definition: SurveyDefinition | None,
            tick: Callable[[int], None]) -> Rendered:
    pid = programme.id
    gifts = _gifts(session, pid)
    title = programme.name

    def gift_of(entry: _Entry) -> _Gift:
        return gifts.get(entry.gift_type_number or 0, _Gift("", ()))

    if kind == "signature-list":
        given = _handovers(session, [e.case_id for e in entries])
        sections: list[SignatureSection] = []
        current: list[ListLine] = []
        for index, entry in enumerate(entries):
            gift = gift_of(entry)
            handed = given.get(entry.case_id)
            item = handed.item if handed and handed.status == "given" else (
                gift.items[0] if len(gift.items) == 1 else "")
            current.append(ListLine(entry.customer.name, entry.customer.msisdn,
                                    entry.customer.address,
                                    f"{gift.name} – {item}" if item else gift.name,
                                    handed.on if handed and handed.status == "given"
                                    else None))
            last = index + 1 == len(entries) or (
                (entries[index + 1].batch, _place_key(entries[index + 1]))
                != (entry.batch, _place_key(entry)))
            if last:
                sections.append(SignatureSection(
                    run.id, title, entry.batch, entry.care_month, entry.customer.province,
                    _place_words(entry), entry.delivery, tuple(current), today))
                current = []
        return render_signature_lists(sections, str(tmp), settings=settings, on_document=tick)
    doc_kind = DOCUMENT_KIND[kind]
    printed = _issue(session, run, entries, doc_kind)
    if kind == "receipts":
        given = _handovers(session, [e.case_id for e in entries])

        def receipts() -> Iterable[ReceiptData]:
            for entry in entries:
                gift = gift_of(entry)
                handed = given.get(entry.case_id)
                yield ReceiptData(
                    printed[entry.case_id], entry.customer, title, entry.batch,
                    entry.care_month, entry.group, entry.delivery, gift.name, gift.items,
                    item_given=handed.item if handed else None,
                    given_on=handed.on if handed else None,
                    given_by=handed.by if handed else "",
                    owed=handed is not None and handed.status == "owed")
        return render_receipts(receipts(), str(tmp), settings=settings, on_document=tick)
    if kind == "invitations":
        def invitations() -> Iterable[InvitationData]:
            for entry in entries:
                gift = gift_of(entry)
                store = settings.store(entry.customer.store, entry.customer.district,
                                       entry.customer.province)
                yield InvitationData(printed[entry.case_id], entry.customer, title,
                                     entry.batch, gift.name, gift.items, store, today)
        return render_invitations(invitations(), str(tmp), settings=settings, on_document=tick)
    province = programme.province or (programme.provinces[0] if programme.provinces else "")
    if kind == "surveys":
        assert definition is not None
        forms: list[SurveyData] = [
            SurveyData(printed[e.case_id], e.customer, title, e.batch, e.customer.province)
            for e in entries]
        forms += [SurveyData(None, None, title, None, province)] * blank
        return render_surveys(forms, str(tmp), definition=definition, settings=settings,
                              on_document=tick)
    info: list[InfoFormData] = [
        InfoFormData(printed[e.case_id], e.customer, e.missing, title, e.batch,
                     e.customer.province) for e in entries]
    info += [InfoFormData(None, None, (), title, None, province)] * blank
    return render_info_forms(info, str(tmp), settings=settings, on_document=tick)


def print_documents(factory: sessionmaker[Session], kind: str, out: Path, *,
                    programme_id: int | None = None, batch: int | None = None,
                    group: int | None = None, district: str | None = None,
                    store: str | None = None, case_ids: Sequence[int] | None = None,
                    blank: int = 0, actor: Actor, progress: Progress | None = None,
                    today: dt.date | None = None) -> PrintResult:
    """Print one kind of document for the entries the filters select, into `out` (.pdf).

    Kinds: `receipts` (one page per customer), `signature-list` (one list per store or
    district), `surveys`, `info-forms` (only profiles still to collect), `invitations` (only
    store pick-ups). Only entries on a list to serve are printed: gap cases awaiting their
    group, left-out, waiting and closed entries get none. `blank` adds that many blank
    survey or information forms. Every receipt, form and invitation gets a fresh token,
    and the entry's older copies of that kind stop being accepted. Runs on a worker; no UI
    calls here.

    Args:
        case_ids: only these entries (the screen's selection); None: every entry.
        today: the date printed on lists and invitations (default: today).

    Raises:
        UsageError: unknown kind, `out` not a .pdf or its folder missing, blank forms asked
            of a kind that has none.
        NotFoundError: no such programme or batch.
        RuleError: nothing to print.
        PermissionProblem: the role may not print personal data, or the district or store
            named is not the actor's.
        Cancelled: the user cancelled; nothing recorded, no file.
        StorageError: the file could not be written.
    """
    out = _check_target(kind, out)
    if blank < 0 or (blank and kind not in _BLANK_KINDS):
        raise UsageError("Chỉ phiếu khảo sát và phiếu thu thập thông tin mới in được phiếu "
                         "trống.")
    # The documents carry names, numbers and addresses: a district head prints his district's,
    # a clerk his store's; naming another's is refused, not silently emptied.
    require_export(actor, district=district, store=store)
    progress = progress or NullProgress()
    day = today or local_today()
    tmp = out.with_name(f".{out.stem}.{os.getpid()}.tmp.pdf")
    # Read (or make) the survey form first: it has its own unit of work, which must not
    # wait for the write transaction below.
    definition = survey_form(factory, programme_id).definition if kind == "surveys" else None
    with UnitOfWork(factory, write=True) as uow:
        session = uow.session
        pid = resolve_programme_id(session, programme_id)
        programme = session.get(Programme, pid)
        assert programme is not None
        settings = _settings(programme)
        entries = _select_entries(session, pid, kind, batch=batch, group=group,
                                  district=district, store=store, case_ids=case_ids)
        entries = [e for e in entries
                   if in_scope(actor, e.customer.district, e.customer.store)]
        if not entries and not blank:
            raise RuleError(f"Không có khách hàng nào cần in {KIND_WORDS[kind]} với điều kiện "
                            "đã chọn.")
        scope = {k: v for k, v in (("batch", batch), ("group", group), ("district", district),
                                   ("store", store), ("blank", blank or None)) if v is not None}
        if case_ids is not None:
            scope["cases"] = len(case_ids)
        run = PrintRun(programme_id=pid, kind=kind, scope=scope, user=actor.name,
                       file_name=out.name, at=utcnow())
        session.add(run)
        session.flush()
        total = len(entries) + blank
        progress.report(0, total, f"Đang in {KIND_WORDS[kind]}…")
        try:
            rendered = _render(kind, tmp, entries, session=session, run=run,
                               programme=programme, settings=settings, blank=blank, today=day,
                               definition=definition, tick=_Tick(progress, total, KIND_WORDS[kind]))
            run.documents, run.pages = rendered.documents, rendered.pages
            where = scope_words(actor)
            audit.record(session, user=actor.name, action="print", entity="print_run",
                         entity_id=run.id, programme_id=pid,
                         summary=f"In {rendered.documents} {KIND_WORDS[kind]}: {out.name}, "
                                 f"{rendered.pages} trang" + (f" ({where})" if where else ""),
                         after={"kind": kind, "scope": scope, "documents": rendered.documents,
                                "pages": rendered.pages, "file": out.name})
            session.flush()
            os.replace(tmp, out)
        except OSError as exc:
            raise StorageError(f"Không ghi được tệp '{out}' ({exc.strerror or exc}). Kiểm tra "
                               "tệp có đang mở không và thư mục có cho ghi không.") from exc
        finally:
            tmp.unlink(missing_ok=True)
        try:
            uow.commit()
        except Exception:
            # The log is what makes the copies valid: no log, no file.
            out.unlink(missing_ok=True)
            raise
        result = PrintResult(str(out), rendered.pages, rendered.documents, kind, run.id, pid,
                             blank, rendered.payloads)
    logger.info("print %s of programme %d: %d documents, %d pages", kind, pid,
                result.documents, result.pages)
    return result


# --------------------------------------------------------------------------- preview

#: The words stamped across every page of a preview.
PREVIEW_MARK = "BẢN XEM TRƯỚC"
# The preview's QR names programme 0 and entry 0 with a token outside the token alphabet
# (it has a U) and check digits 00: the desk refuses it, however it is scanned or typed.
_PREVIEW_TOKEN = "XEMTRU"
_PREVIEW_LETTER = {"receipts": "R", "signature-list": "L", "surveys": "S", "info-forms": "F",
                   "invitations": "I"}
_SAMPLE_NAME = "Nguyễn Văn An"
_SAMPLE_MSISDN = "0912345678"
_SAMPLE_ADDRESS = "Số 12 đường Trần Phú"


@dataclass(frozen=True)
class _Sample:
    """What a preview shows of the programme, read once (plain values)."""

    title: str
    province: str
    batch: int
    care_month: str
    gifts: Mapping[int, _Gift]
    groups: tuple[tuple[int, str, int], ...]  # (number, delivery, gift type), in order
    store: str
    settings: FormSettings
    definition: SurveyDefinition | None


def _read_sample(session: Session, kind: str, programme_id: int | None,
                 overrides: Mapping[str, Any] | None, batch: int,
                 province: str | None) -> _Sample:
    pid = resolve_programme_id(session, programme_id)
    programme = session.get(Programme, pid)
    assert programme is not None
    if overrides is None:
        settings = _settings(programme)
    else:
        try:
            settings = load_form_settings(overrides)
        except FormSettingsProblem as exc:
            raise ValidationError(str(exc)) from exc
    place = province or programme.province or (programme.provinces[0]
                                                if programme.provinces else "")
    row = session.scalar(select(Batch).where(Batch.programme_id == pid, Batch.number == batch)) \
        or session.scalar(select(Batch).where(Batch.programme_id == pid)
                          .order_by(Batch.number).limit(1))
    number, care_month = ((row.number, f"{row.care_month:02d}/{row.care_year}") if row
                          else (batch, f"…/{programme.year}"))
    groups = tuple((g.number, g.delivery, g.gift_type_number) for g in session.scalars(
        select(ProgrammeGroup).where(ProgrammeGroup.programme_id == pid)
        .order_by(ProgrammeGroup.number)))
    # A store whose wording the user may be editing, else one on the lists, else made up.
    store = next(iter(settings.stores), "") or session.scalar(
        select(CareCase.store).where(CareCase.programme_id == pid, CareCase.store.is_not(None),
                                     CareCase.store != "").limit(1)) or \
        f"Cửa hàng MobiFone {place}".strip()
    definition = None
    if kind == "surveys":
        # Read only: the form is made from the default on first real use, not by a preview.
        stored = session.scalar(select(SurveyForm.definition).where(
            SurveyForm.programme_id == pid))
        definition = survey_from_dict(stored) if stored else load_survey()
    return _Sample(programme.name, place, number, care_month, _gifts(session, pid), groups,
                   store, settings, definition)


def _preview_mark() -> bytes:
    """One A4 page holding only the preview's marks: the words across the page, and a line
    at the top saying that nothing of it counts."""
    buffer = io.BytesIO()
    canvas = new_canvas(buffer, title=PREVIEW_MARK)
    canvas.saveState()
    canvas.setFillColorRGB(0.70, 0.10, 0.10, alpha=0.22)
    canvas.translate(PAGE_WIDTH / 2, PAGE_HEIGHT / 2)
    canvas.rotate(55)  # about the diagonal of A4
    draw_centred(canvas, 0, -26, PREVIEW_MARK, font=fonts.SERIF_BOLD, size=84)
    canvas.restoreState()
    canvas.setFillColorRGB(0.70, 0.10, 0.10)
    draw_centred(canvas, PAGE_WIDTH / 2, PAGE_HEIGHT - 28,
                 f"{PREVIEW_MARK} – dữ liệu mẫu, không có giá trị, không ghi vào sổ in",
                 font=fonts.SERIF_BOLD_ITALIC, size=10)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _stamped(pdf: bytes) -> tuple[bytes, int]:
    """`pdf` with the preview's marks laid over every page; and its page count."""
    # Laid over the finished file, so the documents are drawn by the very code that prints
    # them (a signature list is laid out by platypus: its pages cannot be drawn on as made).
    from pypdf import PdfReader, PdfWriter

    mark = PdfReader(io.BytesIO(_preview_mark())).pages[0]
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    for page in writer.pages:
        page.merge_page(mark, over=True)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue(), len(writer.pages)


def _group(sample: _Sample, delivery: str | None) -> tuple[int | None, str | None, _Gift]:
    """The first group that delivers so (any group when none does), and its gift."""
    chosen = next((g for g in sample.groups if g[1] == delivery),
                  sample.groups[0] if sample.groups else None)
    if chosen is None:
        return None, delivery, _Gift("", ())
    number, how, gift = chosen
    return number, how, sample.gifts.get(gift, _Gift("", ()))


def preview_document(factory: sessionmaker[Session], kind: str, out: Path, *,
                     programme_id: int | None = None,
                     overrides: Mapping[str, Any] | None = None, batch: int = 1,
                     province: str | None = None) -> int:
    """Draw one sample document of `kind` with the programme's wording, into `out` (.pdf).

    The sample is made up (customer Nguyễn Văn An, 0912 345 678) but shows the programme's
    name, gifts and batch; its QR holds a code the desk refuses (`MBFC-R-0-0-XEMTRU-00`) and
    every page carries "BẢN XEM TRƯỚC" across it. Nothing is recorded: no print run, no
    printed copy, no token; the survey form is read, never made. Runs on a worker; no UI
    calls here.

    Args:
        overrides: the wording to show in place of the saved overrides (the editor's unsaved
            state, the shape `update_form_settings` takes; laid over the file's defaults);
            None: the saved ones.
        batch: the batch whose number and care month the sample shows (the programme's
            first batch when it has no such batch).
        province: the sample customer's province, which picks the branch line and the place
            (default: the programme's province, else the first of its area).

    Returns:
        The pages written.

    Raises:
        UsageError: unknown kind, `out` not a .pdf or its folder missing.
        NotFoundError: no such programme.
        ValidationError: the overrides (or the saved ones) do not fit the template.
        StorageError: the file could not be written.
    """
    out = _check_target(kind, out)
    with UnitOfWork(factory) as uow:
        sample = _read_sample(uow.session, kind, programme_id, overrides, batch, province)
    settings = sample.settings
    letter = _PREVIEW_LETTER[kind]
    printed = Printed(0, f"MBFC-{letter}-0-0-{_PREVIEW_TOKEN}-00", f"0-{_PREVIEW_TOKEN}")
    store = sample.store
    customer = Customer(name=_SAMPLE_NAME, msisdn=_SAMPLE_MSISDN, address=_SAMPLE_ADDRESS,
                        id_number="", birth_date=None, province=sample.province, district="",
                        store=store)
    today = local_today()
    buffer = io.BytesIO()
    if kind == "receipts":
        group, delivery, gift = _group(sample, None)
        render_receipts([ReceiptData(printed, customer, sample.title, sample.batch,
                                     sample.care_month, group, delivery, gift.name,
                                     gift.items)], buffer, settings=settings)
    elif kind == "signature-list":
        group, delivery, gift = _group(sample, "store")
        entry = _Entry(0, customer, sample.batch, sample.care_month, group, delivery, None, ())
        item = gift.items[0] if len(gift.items) == 1 else ""
        line = ListLine(customer.name, customer.msisdn, customer.address,
                        f"{gift.name} – {item}" if item else gift.name, None)
        render_signature_lists([SignatureSection(
            0, sample.title, sample.batch, sample.care_month, sample.province,
            _place_words(entry), delivery, (line,), today)], buffer, settings=settings)
    elif kind == "surveys":
        assert sample.definition is not None
        render_surveys([SurveyData(printed, customer, sample.title, sample.batch,
                                   sample.province)], buffer, definition=sample.definition,
                       settings=settings)
    elif kind == "info-forms":
        missing = profile_missing(Subscriber(profile_standardised=False, id_number=None,
                                             birth_date=None, address=customer.address))
        render_info_forms([InfoFormData(printed, customer, missing, sample.title,
                                        sample.batch, sample.province)], buffer,
                          settings=settings)
    else:
        _group_number, _delivery, gift = _group(sample, "store")
        render_invitations([InvitationData(
            printed, customer, sample.title, sample.batch, gift.name, gift.items,
            settings.store(store, "", sample.province), today)], buffer, settings=settings)
    data, pages = _stamped(buffer.getvalue())
    try:
        out.write_bytes(data)
    except OSError as exc:
        raise StorageError(f"Không ghi được tệp xem trước '{out}' ({exc.strerror or exc}).") \
            from exc
    logger.info("preview %s of programme %s: %d pages", kind, programme_id, pages)
    return pages
