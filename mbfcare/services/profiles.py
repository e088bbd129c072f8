"""Profile standardisation (chuẩn hóa thông tin) and package advice (tư vấn gói cước).

What iCRM knows comes in through the extract (the `standardised` flag, the offers column) or
a separate offers file; what staff collect on the information collection form is checked
(`mbfcare.domain.identity`), stored per programme and subscriber, and goes out as a file for
the iCRM upload. Recording a collection also records the `data_check` step, in the same
transaction; the package the customer took is the value of the `package_advice` step.

Personal data (names, identity numbers, dates of birth) goes to the database and its audit
log, never to the Python log: numbers there are masked.
"""

from __future__ import annotations

import csv
import datetime as dt
import logging
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import xlsxwriter
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from mbfcare import paths
from mbfcare.domain.actors import Actor
from mbfcare.domain.headers import header_key, match_field
from mbfcare.domain.identity import validate_profile
from mbfcare.domain.values import (
    ValueProblem,
    format_date,
    format_msisdn,
    format_number,
    mask_msisdn,
    parse_msisdn,
)
from mbfcare.domain.vntext import clean_text, repair_legacy
from mbfcare.errors import (
    Cancelled,
    ImportFileError,
    NotFoundError,
    UsageError,
    ValidationError,
)
from mbfcare.io.frames import SheetFrame
from mbfcare.io.layout import (
    HEADER_SCAN_ROWS,
    ColumnMap,
    header_at,
    is_blank_row,
    is_column_number_row,
    is_repeated_header,
    is_signature_row,
    is_totals_row,
)
from mbfcare.io.rejects import RejectedRow, write_rejects
from mbfcare.io.safe_cells import csv_row, needs_quote
from mbfcare.io.tabular import TableFile, open_table
from mbfcare.models import CareCase, CareStep, ProfileCollection, Subscriber
from mbfcare.models.base import utcnow
from mbfcare.reports.regional import safe_text
from mbfcare.services import audit
from mbfcare.services.backups import backup_before_import
from mbfcare.services.care_work import (
    StepResult,
    find_case,
    local_today,
    profile_missing,
    record_step_in,
)
from mbfcare.services.data_protection import in_scope, record_export, require_export
from mbfcare.services.exporting import atomic_output, check_output
from mbfcare.services.programmes import resolve_programme_id
from mbfcare.services.progress import NullProgress, Progress
from mbfcare.services.versions import refuse_if_changed
from mbfcare.uow import UnitOfWork

logger = logging.getLogger(__name__)

__all__ = [
    "EXPORT_HEADERS",
    "ID_KIND_LABELS",
    "NO_PACKAGE",
    "ExportResult",
    "OffersImportResult",
    "ProfileDTO",
    "ProfileProblem",
    "ProfileResult",
    "ProfileStateDTO",
    "export_profiles",
    "import_offers",
    "join_offers",
    "profile_for",
    "profile_state",
    "record_package",
    "record_profile",
    "split_offers",
]

COLLECTED = "collected"  # the value of the `data_check` step recorded with a collection
NO_PACKAGE = "không đăng ký"  # the `package_advice` value when the customer took none
ID_KIND_LABELS = {"cccd": "CCCD", "cmnd": "CMND"}
FIELD_LABELS = {"name": "Họ tên", "id_number": "Số CCCD/CMND", "birth_date": "Ngày sinh",
                "address": "Địa chỉ"}
EXPORT_HEADERS = ("Số thuê bao", "Họ tên", "Loại giấy tờ", "Số giấy tờ", "Ngày sinh", "Địa chỉ",
                  "Ngày thu thập", "Người thu thập")


class ProfileProblem(ValidationError):
    """The form has mistakes; `problems` maps each field to its sentence, for inline display.

    The message is the first problem, so a caller showing one sentence shows the right one.
    """

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__(next(iter(problems.values()), "Thông tin chưa đúng."))
        self.problems = dict(problems)


# --------------------------------------------------------------------------- offers text

_OFFER_SEPARATORS = re.compile(r"[,;\n\r|]+|\s+/\s+")


def split_offers(text: str | None) -> tuple[str, ...]:
    """`"MAX90; C120, MAX90"` -> `("MAX90", "C120")`: the offers of a cell, in order, once each."""
    if not text:
        return ()
    seen: set[str] = set()
    out: list[str] = []
    for part in _OFFER_SEPARATORS.split(text):
        offer = clean_text(part)
        key = offer.casefold()
        if offer and key not in seen:
            seen.add(key)
            out.append(offer)
    return tuple(out)


def join_offers(offers: Sequence[str]) -> str | None:
    """The stored form of a list of offers (`"MAX90, C120"`), None for none."""
    return ", ".join(offers) or None


# --------------------------------------------------------------------------- helpers


def _case(session: Session, case: int | str, programme_id: int | None) -> CareCase:
    """The care-list entry named by its id, a typed number or a scanned printed code."""
    if isinstance(case, int):
        found = session.get(CareCase, case)
        if found is None or (programme_id is not None and found.programme_id != programme_id):
            raise NotFoundError(f"Không có mục số {case} trong danh sách chăm sóc.")
        return found
    return find_case(session, programme_id, case)


def _subscriber(session: Session, case: CareCase) -> Subscriber:
    sub = session.get(Subscriber, case.subscriber_id)
    assert sub is not None
    return sub


def _collection(session: Session, case: CareCase) -> ProfileCollection | None:
    return session.scalar(select(ProfileCollection).where(
        ProfileCollection.programme_id == case.programme_id,
        ProfileCollection.subscriber_id == case.subscriber_id))


def _as_dict(row: ProfileCollection) -> dict[str, Any]:
    return {"name": row.name, "id_kind": row.id_kind, "id_number": row.id_number,
            "birth_date": row.birth_date, "address": row.address,
            "collected_on": row.collected_on, "collected_by": row.collected_by}


# --------------------------------------------------------------------------- DTOs


@dataclass(frozen=True)
class ProfileDTO:
    """A collected profile as the screens and the export show it."""

    case_id: int
    msisdn: str
    name: str
    id_kind: str  # `cccd` | `cmnd`
    id_number: str
    birth_date: dt.date
    address: str
    collected_on: dt.date
    collected_by: str
    exported_at: dt.datetime | None
    row_version: int = 0  # what a form hands back as `seen_version` when it saves

    @property
    def id_kind_label(self) -> str:
        """`CCCD` or `CMND`."""
        return ID_KIND_LABELS.get(self.id_kind, self.id_kind.upper())


@dataclass(frozen=True)
class ProfileStateDTO:
    """Where a customer's profile stands, and what the form and the desk need to show.

    `state` is `standardised` (the extract says so, or says nothing), `collected` (staff
    collected it in this programme: `collected` holds it) or `to_collect` (`missing` names
    what to collect).
    """

    case_id: int
    programme_id: int
    msisdn: str
    name: str  # as the extract has it
    state: str
    missing: tuple[str, ...]
    collected: ProfileDTO | None
    extract_id_number: str
    extract_birth_date: dt.date | None
    extract_address: str
    offers: tuple[str, ...]
    data_check_on: dt.date | None
    package: str | None  # the package recorded by the `package_advice` step
    package_on: dt.date | None

    @property
    def text(self) -> str:
        """One sentence for the screen."""
        if self.state == "collected" and self.collected is not None:
            by = f" bởi {self.collected.collected_by}" if self.collected.collected_by else ""
            return (f"Đã thu thập thông tin ngày {format_date(self.collected.collected_on)}"
                    f"{by}; chờ cập nhật lên iCRM."
                    if self.collected.exported_at is None else
                    f"Đã thu thập thông tin ngày {format_date(self.collected.collected_on)}"
                    f"{by}; đã xuất tệp cập nhật iCRM.")
        if self.state == "to_collect":
            return f"Chưa chuẩn hóa thông tin: cần thu thập {', '.join(self.missing)}."
        return "Thông tin đã chuẩn hóa trên iCRM."


@dataclass(frozen=True)
class ProfileResult:
    """What recording a collected profile did."""

    case_id: int
    programme_id: int
    msisdn: str
    name: str
    id_kind: str
    on: dt.date
    changed: bool  # False when the same profile was already stored
    replaced: bool  # an earlier, different collection was replaced
    step_recorded: bool  # the `data_check` step was recorded with it

    @property
    def text(self) -> str:
        """The sentence for the status bar."""
        who = f"{self.name} ({format_msisdn(self.msisdn)})"
        if not self.changed and not self.step_recorded:
            return f"Thông tin của {who} đã có sẵn, không thay đổi."
        verb = "Đã sửa" if self.replaced else "Đã lưu"
        step = "; đã ghi bước kiểm tra dữ liệu" if self.step_recorded else ""
        return f"{verb} thông tin thu thập của {who} ngày {format_date(self.on)}{step}."

    def to_json(self) -> dict[str, Any]:
        """For `--json` (the identity number is left out)."""
        return {"case_id": self.case_id, "programme_id": self.programme_id,
                "msisdn": self.msisdn, "name": self.name, "id_kind": self.id_kind,
                "on": self.on.isoformat(), "changed": self.changed, "replaced": self.replaced,
                "step_recorded": self.step_recorded}


@dataclass(frozen=True)
class ExportResult:
    """What `export_profiles` wrote."""

    file: str
    format: str  # `xlsx` | `csv`
    rows: int
    programme_id: int
    only_new: bool

    @property
    def text(self) -> str:
        """The sentence for the status bar."""
        if not self.rows:
            what = "mới " if self.only_new else ""
            return f"Không có thông tin thu thập {what}nào để xuất; tệp {self.file} chỉ có tiêu đề."
        return (f"Đã xuất {format_number(self.rows)} hồ sơ thu thập để cập nhật iCRM: "
                f"{self.file}.")

    def to_json(self) -> dict[str, Any]:
        """For `--json`."""
        return {"file": self.file, "format": self.format, "rows": self.rows,
                "programme_id": self.programme_id, "only_new": self.only_new}


@dataclass
class OffersImportResult:
    """What came of an offers file: every data row imported, updated, unchanged or rejected."""

    file: str
    sha256: str
    sheet: str | None
    header_row: int
    columns: dict[str, str] = field(default_factory=dict)  # msisdn/offers -> header(s)
    rows_read: int = 0
    imported: int = 0  # offers set where there were none
    updated: int = 0  # offers replaced by different ones
    unchanged: int = 0  # same offers, or a blank offers cell
    rejected: int = 0
    duplicates: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    rejects_file: str | None = None
    programme_id: int | None = None
    dry_run: bool = False
    rejected_sample: list[tuple[int, str]] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The sentence for the status bar."""
        head = "Kiểm tra (chưa lưu)" if self.dry_run else "Đã nhập gói cước ưu đãi"
        return (f"{head}: {format_number(self.rows_read)} dòng · mới "
                f"{format_number(self.imported)} · cập nhật {format_number(self.updated)} · "
                f"không đổi {format_number(self.unchanged)} · từ chối "
                f"{format_number(self.rejected)}.")

    def to_json(self) -> dict[str, Any]:
        """For `--json`."""
        return {"kind": "offers", "file": self.file, "sha256": self.sha256, "sheet": self.sheet,
                "header_row": self.header_row, "columns": dict(self.columns),
                "rows_read": self.rows_read, "imported": self.imported,
                "updated": self.updated, "unchanged": self.unchanged,
                "rejected": self.rejected, "duplicates": self.duplicates,
                "reasons": dict(self.reasons), "rejects_file": self.rejects_file,
                "programme_id": self.programme_id, "dry_run": self.dry_run}


def _profile_dto(row: ProfileCollection, case_id: int, msisdn: str) -> ProfileDTO:
    return ProfileDTO(case_id, msisdn, row.name, row.id_kind, row.id_number, row.birth_date,
                      row.address, row.collected_on, row.collected_by, row.exported_at,
                      row.row_version)


# --------------------------------------------------------------------------- recording


def record_profile(factory: sessionmaker[Session], case: int | str, *, name: str, id_text: str,
                   birth_text: str, address: str, actor: Actor, on: dt.date | None = None,
                   reason: str | None = None, by: str = "",
                   programme_id: int | None = None,
                   seen_version: int | None = None) -> ProfileResult:
    """Store what the information collection form says, and record the data check with it.

    `case` is a care-list entry id, or the subscriber's number (any form) or printed code.
    The four fields are checked together; a collection already stored is replaced only by
    someone who may correct (with a reason). `seen_version` is the stored collection's
    `row_version` the form showed (0: it showed none): when someone saved since, the save is
    refused (`ChangedByOther`) rather than overwriting their work. Unless already recorded,
    the `data_check` step is recorded the same day with value `collected`, in the same
    transaction: if the step rules refuse it (a group-1 data check after the visit), nothing
    is stored.

    Raises:
        ProfileProblem: a field is wrong (`problems` per field, the message the first one).
        UsageError: a date in the future, or a correction without reason.
        RuleError: the role may not record (or correct), or the step rules refuse.
        NotFoundError: no such entry.
    """
    actor.require("record")
    today = local_today()
    day = on or today
    if day > today:
        raise UsageError(f"Ngày thu thập {format_date(day)} chưa tới.")
    profile, problems = validate_profile(name, id_text, birth_text, address, today=day)
    if profile is None:
        raise ProfileProblem(problems)
    new = {"name": profile.name, "id_kind": profile.id_number.kind,
           "id_number": profile.id_number.number, "birth_date": profile.birth_date,
           "address": profile.address}
    who = clean_text(by) or actor.name
    with UnitOfWork(factory, write=True) as uow:
        session = uow.session
        entry = _case(session, case, programme_id)
        sub = _subscriber(session, entry)
        actor.require_sees(entry.district, entry.store, f"Thuê bao {format_msisdn(sub.msisdn)}")
        row = _collection(session, entry)
        refuse_if_changed(session, entity="profile", entity_id=row.id if row else None,
                          current=row.row_version if row else None, seen=seen_version,
                          what=f"Thông tin của {format_msisdn(sub.msisdn)}")
        before = _as_dict(row) if row is not None else None
        same = before is not None and all(before[k] == v for k, v in new.items())
        replaced = False
        if row is not None and not same:
            actor.require("correct")
            if not (reason or "").strip():
                raise UsageError(
                    f"Thông tin của {format_msisdn(sub.msisdn)} đã thu thập ngày "
                    f"{format_date(row.collected_on)}; sửa lại cần ghi lý do.")
            replaced = True
        step_recorded = False
        if entry.data_check_on is None:
            step_recorded = record_step_in(
                session, entry, "data_check", on=day, by=who, value=COLLECTED, actor=actor,
                source="phiếu thu thập thông tin")
        if not same:
            if row is None:
                row = ProfileCollection(programme_id=entry.programme_id,
                                        subscriber_id=sub.id, **new, collected_on=day,
                                        collected_by=who)
                session.add(row)
            else:
                for key, value in new.items():
                    setattr(row, key, value)
                row.collected_on, row.collected_by, row.exported_at = day, who, None
            session.flush()
            audit.record(session, user=actor.name,
                         action="correct_profile" if replaced else "record_profile",
                         entity="profile", entity_id=row.id, programme_id=entry.programme_id,
                         summary=("Sửa" if replaced else "Thu thập") + " thông tin – "
                                 f"{format_msisdn(sub.msisdn)}",
                         reason=(reason or "").strip() if replaced else "",
                         before=before, after=_as_dict(row))
        result = ProfileResult(entry.id, entry.programme_id, sub.msisdn, profile.name,
                               profile.id_number.kind, day, not same, replaced, step_recorded)
        uow.commit()
    logger.info("profile %s for case %d (%s)%s",
                "replaced" if replaced else "recorded" if result.changed else "unchanged",
                result.case_id, mask_msisdn(result.msisdn),
                ", data check recorded" if step_recorded else "")
    return result


def record_package(factory: sessionmaker[Session], case: int | str, package: str, *,
                   actor: Actor, on: dt.date | None = None, by: str = "",
                   programme_id: int | None = None) -> StepResult:
    """Record the package advice: the package the customer took, or `NO_PACKAGE`.

    `case` is a care-list entry id, or the subscriber's number (any form) or printed code.

    Raises:
        UsageError: no package named.
        RuleError: the step rules refuse (the customer not met yet, already recorded).
    """
    chosen = clean_text(package or "")
    if not chosen:
        raise UsageError("Chọn gói cước khách hàng đăng ký, hoặc «Không đăng ký».")
    if chosen.casefold() in (NO_PACKAGE, "khong dang ky", "none"):
        chosen = NO_PACKAGE
    actor.require("record")
    day = on or local_today()
    with UnitOfWork(factory, write=True) as uow:
        session = uow.session
        entry = _case(session, case, programme_id)
        number = _subscriber(session, entry).msisdn
        actor.require_sees(entry.district, entry.store, f"Thuê bao {format_msisdn(number)}")
        changed = record_step_in(session, entry, "package_advice", on=day, by=by,
                                 value=chosen, actor=actor)
        result = StepResult(entry.id, number, "package_advice", day, changed)
        uow.commit()
    logger.info("package advice on case %d (%s)", result.case_id, mask_msisdn(number))
    return result


# --------------------------------------------------------------------------- reading


def profile_for(factory: sessionmaker[Session], case_id: int) -> ProfileDTO | None:
    """The profile collected for a care-list entry in its programme, or None."""
    with UnitOfWork(factory) as uow:
        entry = _case(uow.session, case_id, None)
        row = _collection(uow.session, entry)
        if row is None:
            return None
        return _profile_dto(row, entry.id, _subscriber(uow.session, entry).msisdn)


def profile_state(factory: sessionmaker[Session], case_id: int) -> ProfileStateDTO:
    """Where the entry's profile stands: standardised, collected or to collect (and what)."""
    with UnitOfWork(factory) as uow:
        session = uow.session
        entry = _case(session, case_id, None)
        sub = _subscriber(session, entry)
        row = _collection(session, entry)
        collected = _profile_dto(row, entry.id, sub.msisdn) if row is not None else None
        missing = profile_missing(sub)
        state = "collected" if collected else "to_collect" if missing else "standardised"
        package = session.scalar(select(CareStep.value).where(
            CareStep.care_case_id == entry.id, CareStep.step == "package_advice"))
        return ProfileStateDTO(
            case_id=entry.id, programme_id=entry.programme_id, msisdn=sub.msisdn,
            name=sub.name or "", state=state, missing=() if collected else missing,
            collected=collected, extract_id_number=sub.id_number or "",
            extract_birth_date=sub.birth_date, extract_address=sub.address or "",
            offers=split_offers(sub.offers), data_check_on=entry.data_check_on,
            package=package, package_on=entry.package_advice_on)


# --------------------------------------------------------------------------- export

_CONTROLS = {cp: " " for cp in range(32)}


def _text(value: str | None) -> str:
    """NFC text without control characters (what a cell of the upload file holds)."""
    if not value:
        return ""
    if not value.isascii() and not unicodedata.is_normalized("NFC", value):
        value = unicodedata.normalize("NFC", value)
    return value.translate(_CONTROLS) if not value.isprintable() else value


def _export_rows(session: Session, programme_id: int, only_new: bool, actor: Actor
                 ) -> list[tuple[ProfileCollection, str]]:
    query = (select(ProfileCollection, Subscriber.msisdn, CareCase.district, CareCase.store)
             .join(Subscriber, Subscriber.id == ProfileCollection.subscriber_id)
             .outerjoin(CareCase, (CareCase.programme_id == ProfileCollection.programme_id)
                        & (CareCase.subscriber_id == ProfileCollection.subscriber_id))
             .where(ProfileCollection.programme_id == programme_id)
             .order_by(ProfileCollection.collected_on, Subscriber.msisdn))
    if only_new:
        query = query.where(ProfileCollection.exported_at.is_(None))
    return [(row, msisdn) for row, msisdn, district, store in session.execute(query)
            if in_scope(actor, district, store)]


def _write_xlsx(path: Path, rows: Sequence[tuple[ProfileCollection, str]]) -> None:
    book = xlsxwriter.Workbook(str(path), {
        "constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
        "strings_to_numbers": False,
    })
    try:
        ws = book.add_worksheet("ThongTinKH")
        bold = book.add_format({"bold": True})
        text = book.add_format({"num_format": "@"})
        # Text that starts like a formula is kept as typed, marked as text (Excel's `'`).
        quoted = book.add_format({"num_format": "@", "quote_prefix": True})
        date = book.add_format({"num_format": "dd/mm/yyyy"})
        for col, header in enumerate(EXPORT_HEADERS):
            ws.write_string(0, col, header, bold)
        for col, width in enumerate((13, 26, 12, 15, 12, 44, 13, 20)):
            ws.set_column(col, col, width, text if col in (0, 3) else None)
        ws.freeze_panes(1, 0)
        for r, (row, msisdn) in enumerate(rows, start=1):
            values = (msisdn, row.name, ID_KIND_LABELS.get(row.id_kind, row.id_kind),
                      row.id_number, row.birth_date, row.address, row.collected_on,
                      row.collected_by)
            for col, value in enumerate(values):
                if isinstance(value, dt.date):
                    ws.write_datetime(r, col, dt.datetime.combine(value, dt.time()), date)
                    continue
                cell = _text(None if value is None else str(value))
                if cell:
                    ws.write_string(r, col, cell, quoted if needs_quote(cell) else text)
        if rows:
            ws.autofilter(0, 0, len(rows), len(EXPORT_HEADERS) - 1)
    finally:
        book.close()


def _write_csv(path: Path, rows: Sequence[tuple[ProfileCollection, str]]) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
        writer.writerow(EXPORT_HEADERS)
        for row, msisdn in rows:
            writer.writerow(csv_row((
                msisdn, safe_text(row.name), ID_KIND_LABELS.get(row.id_kind, row.id_kind),
                row.id_number, format_date(row.birth_date), safe_text(row.address),
                format_date(row.collected_on), safe_text(row.collected_by))))


def export_profiles(factory: sessionmaker[Session], path: Path, programme_id: int | None = None,
                    *, only_new: bool = False, actor: Actor) -> ExportResult:
    """Write the collected profiles as the file to upload to iCRM, and mark them exported.

    `.xlsx`: numbers as text (leading zeros kept), dates as real dates shown dd/mm/yyyy, text
    that starts like a formula kept as typed but marked as text. `.csv`: UTF-8 with BOM, dates
    dd/mm/yyyy, such text with a `'` in front. With `only_new`, only the profiles not yet
    exported (or changed since). The marks are saved only once the file is written. The ID
    numbers stay whole (iCRM needs them); a district head's file holds his district's
    profiles, a clerk's his store's, and the export is recorded in the audit log.

    Raises:
        UsageError: neither `.xlsx` nor `.csv`, or the folder does not exist.
        NotFoundError: no such programme.
        PermissionProblem: the role may not write personal data.
        StorageError: the file could not be written (nothing is marked).
    """
    require_export(actor)
    path = Path(path)
    suffix = check_output(path, (".xlsx", ".csv"))
    with UnitOfWork(factory, write=True) as uow:
        session = uow.session
        pid = resolve_programme_id(session, programme_id)
        rows = _export_rows(session, pid, only_new, actor)
        with atomic_output(path, suffix) as tmp:
            (_write_xlsx if suffix == ".xlsx" else _write_csv)(tmp, rows)
        if rows:
            now = utcnow()
            session.execute(update(ProfileCollection)
                            .where(ProfileCollection.id.in_([r.id for r, _ in rows]))
                            .values(exported_at=now))
        record_export(session, actor, kind="profiles", file=path, count=len(rows),
                      programme_id=pid, details={"only_new": only_new})
        uow.commit()
    logger.info("profiles of programme %d exported: %d rows, %s", pid, len(rows), path.name)
    return ExportResult(str(path), suffix[1:], len(rows), pid, only_new)


# --------------------------------------------------------------------------- offers file

OFFER_REASONS = {
    "bad_msisdn": "Số thuê bao không hợp lệ",
    "missing_msisdn": "Thiếu số thuê bao",
    "unknown": "Thuê bao không có trong cơ sở dữ liệu",
    "duplicate": "Trùng số thuê bao",
}
# A package column the header synonyms do not name ("Gói cước", "Gói cước có thể tham gia"),
# but not the package the subscriber uses now.
_PACKAGE_HEADER = re.compile(r"\b(goi|goi cuoc|goi km|packages?|km)\b")
_CURRENT_PACKAGE = re.compile(r"\b(hien tai|dang dung|dang su dung|current)\b")


@dataclass
class _OffersLayout:
    sheet: str | None
    frame: SheetFrame
    columns: ColumnMap
    offers: list[int]  # 0-based frame columns holding offers
    legacy: str | None


def _offers_columns(columns: ColumnMap, hidden: frozenset[int], first_column: int) -> list[int]:
    """Every column of the header that lists offers: named as such, else a package column."""
    named = [i for i, h in enumerate(columns.headers) if h and match_field(h) == "offers"]
    if not named:
        used = set(columns.fields.values())
        named = [i for i, h in enumerate(columns.headers)
                 if h and i not in used and _PACKAGE_HEADER.search(header_key(h))
                 and not _CURRENT_PACKAGE.search(header_key(h))]
    visible = [i for i in named if i + first_column not in hidden]
    return visible or named


def _locate_offers(table: TableFile, sheet: str | None) -> _OffersLayout:
    names: list[str | None] = [sheet] if sheet is not None and table.kind != "csv" else \
        list(table.sheet_names) if table.kind != "csv" else [None]
    for name in names:
        frame, hidden, legacy = table.frame(name)
        for i, row in enumerate(frame.frame.head(HEADER_SCAN_ROWS).rows()):
            columns = header_at(frame.first_row + i, list(row), hidden, frame.first_column)
            if "msisdn" not in columns.fields:
                continue
            offers = _offers_columns(columns, hidden, frame.first_column)
            if offers:
                return _OffersLayout(name, frame, columns, offers, legacy)
    where = f"sheet '{sheet}' của tệp" if sheet is not None else "tệp"
    raise ImportFileError(
        f"Không tìm thấy dòng tiêu đề có cột số thuê bao và cột gói cước ưu đãi (ví dụ "
        f"'Số thuê bao', 'Gói cước ưu đãi', 'Khuyến mại có thể tham gia') trong {where} "
        f"{table.path.name}.")


def _data_rows(layout: _OffersLayout) -> list[tuple[int, tuple[Any, ...]]]:
    """(sheet row, cells) of the data rows: no title, blank, column-number, repeated header,
    totals or signature rows (the same rules as the subscriber import)."""
    columns, frame = layout.columns, layout.frame
    start = columns.header_row - frame.first_row + 1
    msisdn_col = columns.fields["msisdn"]
    rows: list[tuple[int, tuple[Any, ...]]] = []
    first = True
    footer = False
    for i, cells in enumerate(frame.frame.slice(start).iter_rows(), start=start):
        if is_blank_row(cells):
            continue
        if first:
            first = False
            if is_column_number_row(cells):
                continue
        number = cells[msisdn_col] if msisdn_col < len(cells) else None
        carries_number = isinstance(number, str) and any(ch.isdigit() for ch in number)
        if not carries_number:
            if is_repeated_header(cells, columns):
                continue
            if is_totals_row(cells, number) or is_signature_row(cells):
                footer = True
                continue
            if footer:
                continue
        rows.append((frame.first_row + i, cells))
    return rows


def _offers_of(cells: Sequence[Any], layout: _OffersLayout) -> tuple[str, ...]:
    found: list[str] = []
    for col in layout.offers:
        value = cells[col] if col < len(cells) else None
        if value is None or not str(value).strip():
            continue
        found.extend(split_offers(repair_legacy(str(value), layout.legacy)))
    return split_offers(", ".join(found))


def import_offers(factory: sessionmaker[Session], path: Path, programme_id: int | None = None,
                  *, sheet: str | None = None, dry_run: bool = False, actor: Actor,
                  progress: Progress | None = None) -> OffersImportResult:
    """Read a file of offers per subscriber (number + offers or packages) into the database.

    Headers are recognised with or without diacritics, under title rows; every data row ends
    imported (offers where there were none), updated, unchanged (same offers, or a blank
    offers cell: no change) or rejected with its reason (bad number, unknown subscriber, an
    earlier row of the same number) in the rejects workbook. One transaction, one audit
    entry. Runs on a worker: no UI calls here.

    Raises:
        PermissionProblem: the actor may not import (`import`).
        ImportFileError: the file is unreadable or has no number and offers columns.
        NotFoundError / UsageError: no such programme, or several and none named.
        Cancelled: the user cancelled; nothing changed.
    """
    actor.require("import")
    user = actor.name
    progress = progress or NullProgress()
    path = Path(path)
    table = open_table(path)
    try:
        if not dry_run:  # a verified backup before every import (when anything changed)
            backup_before_import(factory)
        with UnitOfWork(factory, write=True) as uow:
            session = uow.session
            pid = resolve_programme_id(session, programme_id)
            progress.report(0, 0, "Đang đọc tệp…")
            layout = _locate_offers(table, sheet)
            columns = layout.columns
            headers = columns.headers
            result = OffersImportResult(
                file=str(path), sha256=table.sha256, sheet=layout.sheet,
                header_row=columns.header_row, programme_id=pid, dry_run=dry_run,
                columns={"msisdn": headers[columns.fields["msisdn"]],
                         "offers": " + ".join(headers[c] for c in layout.offers)})
            rejected: list[RejectedRow] = []
            reasons: Counter[str] = Counter()
            wanted: dict[str, tuple[int, tuple[Any, ...], tuple[str, ...]]] = {}
            msisdn_col = columns.fields["msisdn"]
            rows = _data_rows(layout)
            result.rows_read = len(rows)
            for rowno, cells in rows:
                raw = cells[msisdn_col] if msisdn_col < len(cells) else None
                try:
                    number = parse_msisdn(raw).number
                except ValueProblem as exc:
                    code = "missing_msisdn" if raw is None or not str(raw).strip() else exc.code
                    code = code if code in OFFER_REASONS else "bad_msisdn"
                    shown = f": '{str(raw).strip()}'" if code == "bad_msisdn" else ""
                    reasons[code] += 1
                    rejected.append(RejectedRow(rowno, list(cells),
                                                f"{OFFER_REASONS[code]}{shown}"))
                    continue
                if number in wanted:  # the later row is kept
                    earlier, earlier_cells, _ = wanted[number]
                    reasons["duplicate"] += 1
                    result.duplicates += 1
                    rejected.append(RejectedRow(
                        earlier, list(earlier_cells),
                        f"trùng số thuê bao với dòng {rowno} (giữ dòng sau)"))
                wanted[number] = (rowno, cells, _offers_of(cells, layout))
            stored: dict[str, tuple[int, str | None]] = {}
            numbers = list(wanted)
            for start in range(0, len(numbers), 900):
                for sid, msisdn, known in session.execute(
                        select(Subscriber.id, Subscriber.msisdn, Subscriber.offers)
                        .where(Subscriber.msisdn.in_(numbers[start:start + 900]))):
                    stored[msisdn] = (sid, known)
                if progress.cancelled():
                    raise Cancelled("Đã hủy nhập gói cước; không có gì thay đổi.")
            changes: list[dict[str, Any]] = []
            now = utcnow()
            for number, (rowno, cells, offers) in wanted.items():
                if number not in stored:
                    reasons["unknown"] += 1
                    rejected.append(RejectedRow(
                        rowno, list(cells),
                        f"{OFFER_REASONS['unknown']}: {format_msisdn(number)} (nhập danh "
                        "sách thuê bao trước)"))
                    continue
                sid, old = stored[number]
                text = join_offers(offers)
                if text is None or split_offers(old) == offers:
                    result.unchanged += 1
                    continue
                if split_offers(old):
                    result.updated += 1
                else:
                    result.imported += 1
                changes.append({"id": sid, "offers": text, "updated_at": now})
            for start in range(0, len(changes), 5000):
                session.execute(update(Subscriber), changes[start:start + 5000])
                progress.report(min(start + 5000, len(changes)), len(changes), "")
            result.rejected = len(rejected)
            result.reasons = dict(reasons)
            ordered = sorted(rejected, key=lambda r: r.row)
            result.rejected_sample = [(r.row, r.reason) for r in ordered[:20]]
            if rejected:
                result.rejects_file = str(write_rejects(
                    paths.rejects_dir(), table.path, layout.sheet, headers, ordered,
                    layout.frame.first_column))
            audit.record(session, user=user, action="import_offers", entity="subscriber",
                         entity_id=None, programme_id=pid,
                         summary=f"Nhập gói cước ưu đãi từ {path.name}: "
                                 f"{result.imported} mới, {result.updated} cập nhật, "
                                 f"{result.rejected} từ chối",
                         after={k: v for k, v in result.to_json().items()
                                if k not in ("rejects_file", "dry_run")})
            if progress.cancelled():
                raise Cancelled("Đã hủy nhập gói cước; không có gì thay đổi.")
            if dry_run:
                return result
            uow.commit()
    finally:
        table.close()
    logger.info("offers import %s: %d rows, %d new, %d updated, %d unchanged, %d rejected",
                path.name, result.rows_read, result.imported, result.updated, result.unchanged,
                result.rejected)
    return result
