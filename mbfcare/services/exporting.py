"""Export use cases: the regional office's workbook and care lists as a workbook or CSV."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import hashlib
import logging
import os
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import xlsxwriter
from sqlalchemy import exists, select
from sqlalchemy.orm import Session, sessionmaker
from xlsxwriter.exceptions import FileCreateError

from mbfcare import __version__
from mbfcare.domain.actors import Actor
from mbfcare.domain.collation import name_sort_key, vietnamese_sort_key
from mbfcare.domain.survey import load_survey, survey_from_dict
from mbfcare.domain.vntext import fold
from mbfcare.errors import Cancelled, NotFoundError, StorageError, UsageError, ValidationError
from mbfcare.io.safe_cells import csv_row
from mbfcare.models import (
    Batch,
    CareCase,
    CareStep,
    GiftItem,
    GiftType,
    Handover,
    ProfileCollection,
    Programme,
    StockBalance,
    StockLocation,
    Subscriber,
    SurveyForm,
    SurveyResponse,
)
from mbfcare.reports.regional import (
    CareRow,
    GiftItemInfo,
    ProgrammeInfo,
    StockRow,
    SurveyRow,
    delivery_text,
    safe_text,
    write_regional,
)
from mbfcare.services.programmes import group_rules, resolve_programme_id
from mbfcare.services.progress import NullProgress, Progress
from mbfcare.services.queries import CareRowDTO, care_rows
from mbfcare.uow import UnitOfWork

logger = logging.getLogger(__name__)

SATISFACTION_KEY = "overall"
"""The survey question whose 1–5 answer is the regional workbook's `Điểm hài lòng`."""

VIETNAM_TIME = dt.timezone(dt.timedelta(hours=7), "ICT")

# Entries the regional office receives; `left_out` (staff decided against) is not sent.
REGIONAL_STATES = ("listed", "waiting", "awaiting_group")
ALL_STATES = ("listed", "waiting", "awaiting_group", "left_out")
STATE_WORDS = {
    "listed": "Trong danh sách",
    "waiting": "Danh sách chờ",
    "awaiting_group": "Chờ quyết định nhóm",
    "left_out": "Không chăm sóc (đã quyết định)",
}
LIST_HEADERS = (
    "Đợt", "Số thuê bao", "Họ tên", "Nhóm", "Hình thức", "Quận/Huyện", "Cửa hàng", "Cước n-3",
    "Cước n-4", "Cước n-5", "Mức cước căn cứ", "Năm sử dụng", "Nhóm năm sử dụng", "Trạng thái",
)

_PROVINCE_PREFIX = re.compile(r"^\s*(tỉnh|thành\s+phố|tp\.?)\s*", re.IGNORECASE)
_DISTRICT_PREFIX = re.compile(r"^(quan|huyen|thi xa|thanh pho|tp\.?)\s+")


@dataclass
class RegionalExportResult:
    """What `export_regional` wrote; `to_json()` is the command line's JSON output.

    `sha256` is the `SHA-256 ChiTiet` digest printed in the workbook's ThongTin sheet (the one
    `consolidate` checks); `file_sha256` is the digest of the file's bytes.
    """

    file: str
    rows: dict[str, int]
    sha256: str
    file_sha256: str
    programme_id: int
    exported_at: str
    audit_line: int = 0  # the audit log's latest line when exported (printed in ThongTin)
    audit_hash: str = ""  # its hash: the chain's head

    def to_json(self) -> dict[str, Any]:
        """The fields as JSON-ready values."""
        return {"file": self.file, "rows": dict(self.rows), "sha256": self.sha256,
                "file_sha256": self.file_sha256, "programme_id": self.programme_id,
                "exported_at": self.exported_at, "audit_line": self.audit_line,
                "audit_hash": self.audit_hash}


@dataclass
class ListExportResult:
    """What `export_care_list` wrote; `to_json()` is the command line's JSON output."""

    file: str
    format: str  # `xlsx` | `csv`
    rows: int
    programme_id: int
    filters: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The fields as JSON-ready values."""
        return {"file": self.file, "format": self.format, "rows": self.rows,
                "programme_id": self.programme_id, "filters": dict(self.filters)}


# --------------------------------------------------------------------------- reading


def province_name(stored: str | None, provinces: Sequence[str]) -> str:
    """The programme's own spelling of a province, without `Tỉnh`/`TP.` in front.

    `TP. Hải Phòng`, `thành phố hải phòng` -> `Hải Phòng` when the programme lists it; a name
    the programme does not list is kept, without its prefix.
    """
    if not stored:
        return ""
    bare = _PROVINCE_PREFIX.sub("", stored).strip()
    key = fold(bare)
    for name in provinces:
        if fold(_PROVINCE_PREFIX.sub("", name)) == key:
            return _PROVINCE_PREFIX.sub("", name).strip()
    return bare


def _local_date(value: dt.datetime | None) -> dt.date | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(VIETNAM_TIME).date()


def _programme_info(programme: Programme) -> ProgrammeInfo:
    return ProgrammeInfo(
        name=programme.name, year=programme.year,
        province=programme.province or programme.region,
        aggregation=programme.aggregation, rule_version=programme.rule_version,
        batches=tuple((b.number, f"{b.care_month:02d}/{b.care_year}") for b in programme.batches),
        groups=group_rules(programme),
        gift_items=tuple(GiftItemInfo(gift_type=t.number, gift_type_name=t.name, code=i.code,
                                      name=i.name)
                         for t in programme.gift_types for i in t.items),
    )


def _care_rows(
    session: Session, programme_id: int, provinces: Sequence[str], states: Sequence[str],
    batch: int | None = None, group: int | None = None,
) -> list[CareRow]:
    """Care-list entries of a programme as DTOs, read with one query (no ORM objects)."""
    c, s, b = CareCase, Subscriber, Batch
    package = (select(CareStep.value).where(CareStep.care_case_id == c.id,
                                            CareStep.step == "package_advice")
               .scalar_subquery())
    collected = exists().where(ProfileCollection.programme_id == c.programme_id,
                               ProfileCollection.subscriber_id == c.subscriber_id)
    query = (
        select(b.number, b.care_year, b.care_month, c.state, c.group_number, c.delivery,
               c.gift_type_number, s.msisdn, s.name, c.subscriber_type, c.province, s.province,
               c.district, s.district, c.store, c.charge_1, c.charge_2, c.charge_3, c.basis,
               c.tenure_years, c.tenure_band, c.waiting_rank, c.decision_note,
               c.handed_over_at, c.has_work, s.profile_standardised,
               c.handover_on, c.sms_on, c.data_check_on, c.package_advice_on, c.questions_on,
               c.survey_on, c.outcome, c.outcome_note, c.gift_owed, s.offers,
               Handover.given_by, GiftItem.name, package, SurveyResponse.answers,
               collected)
        .join(b, c.batch_id == b.id)
        .join(s, c.subscriber_id == s.id)
        .outerjoin(Handover, Handover.care_case_id == c.id)
        .outerjoin(GiftItem, GiftItem.id == Handover.item_id)
        .outerjoin(SurveyResponse, SurveyResponse.care_case_id == c.id)
        .where(c.programme_id == programme_id, c.state.in_(states))
    )
    if batch is not None:
        query = query.where(b.number == batch)
    if group is not None:
        query = query.where(c.group_number == group)
    provinces_seen: dict[str | None, str] = {}
    rows = []
    for (number, year, month, state, group_number, delivery, gift, msisdn, name, sub_type,
         province, sub_province, district, sub_district, store, ch1, ch2, ch3, basis, years,
         band, rank, note, handed, work, standardised, handover_on, sms_on, data_check_on,
         package_on, questions_on, survey_on, outcome, outcome_note, owed, offers, given_by,
         item_name, package_value, answers, was_collected) in session.execute(query):
        stored = province or sub_province
        shown = provinces_seen.get(stored)
        if shown is None:
            shown = provinces_seen[stored] = province_name(stored, provinces)
        rows.append(CareRow(
            batch=number, care_month=f"{month:02d}/{year}", state=state, group=group_number,
            delivery=delivery, gift_type=gift, msisdn=msisdn, name=name or "",
            subscriber_type=sub_type, province=shown, district=district or sub_district or "",
            store=store or "", charge_1=ch1, charge_2=ch2, charge_3=ch3, basis=basis,
            tenure_years=years, tenure_band=band or "", waiting_rank=rank, note=note or "",
            handed_over=handover_on or _local_date(handed), has_work=bool(work),
            standardised=standardised, item_name=item_name or "", sms_on=sms_on,
            handed_by=given_by or "", offers=offers or "",
            package_taken=package_value or "", surveyed=survey_on is not None,
            satisfaction=_satisfaction(answers), outcome=outcome,
            outcome_note=outcome_note or "", collected=bool(was_collected),
            steps_done=sum(d is not None for d in (sms_on, data_check_on, handover_on,
                                                    package_on, questions_on, survey_on)),
            gift_owed=bool(owed),
        ))
    return rows


def _satisfaction(answers: Any) -> int | None:
    """The overall satisfaction score (1–5) of a survey response, if answered."""
    if not isinstance(answers, dict):
        return None
    value = answers.get(SATISFACTION_KEY)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _stock_rows(session: Session, programme_id: int) -> tuple[StockRow, ...]:
    rows = session.execute(
        select(GiftType.number, GiftType.name, GiftItem.name, StockLocation.name,
               StockLocation.kind, StockBalance.received + StockBalance.transferred_in
               + StockBalance.returned, StockBalance.handed_over, StockBalance.on_hand)
        .join(GiftType, GiftType.id == GiftItem.gift_type_id)
        .join(StockBalance, StockBalance.item_id == GiftItem.id)
        .join(StockLocation, StockLocation.id == StockBalance.location_id)
        .where(GiftItem.programme_id == programme_id)).all()
    ordered = sorted(rows, key=lambda r: (r[0], vietnamese_sort_key(r[2]), r[4] != "warehouse",
                                          vietnamese_sort_key(r[3])))
    return tuple(StockRow(type_name or f"Quà loại {number}", item, location, int(received),
                          int(handed), int(left))
                 for number, type_name, item, location, _kind, received, handed, left
                 in ordered)


def _survey_rows(session: Session, programme_id: int) -> tuple[SurveyRow, ...]:
    """Each question's answers with how many forms gave them, in the form's order."""
    stored = session.scalar(select(SurveyForm.definition).where(
        SurveyForm.programme_id == programme_id))
    try:
        definition = survey_from_dict(stored) if stored else load_survey()
    except ValueError:
        return ()
    answers = [a for (a,) in session.execute(
        select(SurveyResponse.answers).join(CareCase, CareCase.id == SurveyResponse.care_case_id)
        .where(CareCase.programme_id == programme_id))]
    rows: list[SurveyRow] = []
    for number, question in enumerate(definition.questions, start=1):
        given = [a.get(question.key) for a in answers
                 if isinstance(a, dict) and a.get(question.key) not in (None, "", [])]
        if not given:
            continue
        title = f"{number}. {question.text}"
        if question.kind == "text":
            rows.append(SurveyRow(title, "(ý kiến ghi bằng chữ)", len(given),
                                  len(given) / len(answers)))
            continue
        if question.kind == "scale":
            options: list[Any] = list(range(1, 6))
        else:
            options = list(question.options)
        for option in options:
            count = sum(option in v if isinstance(v, list) else v == option for v in given)
            if count:
                rows.append(SurveyRow(title, str(option), count, count / len(given)))
    return tuple(rows)


# --------------------------------------------------------------------------- writing files


def check_output(out: Path, suffixes: Sequence[str]) -> str:
    """The output's suffix, checked before any work is done."""
    suffix = out.suffix.lower()
    if suffix not in suffixes:
        raise UsageError(f"Tệp xuất '{out.name}' phải có đuôi {' hoặc '.join(suffixes)}.")
    if not out.parent.is_dir():
        raise UsageError(f"Thư mục '{out.parent}' không tồn tại: tạo thư mục hoặc chọn nơi khác.")
    return suffix


@contextmanager
def atomic_output(out: Path, suffix: str) -> Iterator[Path]:
    """A temporary file beside `out` that replaces it only when writing succeeded."""
    # A plain name (not mkstemp, whose 0600 mode the export would keep) in the same folder,
    # so that os.replace is atomic.
    tmp = out.with_name(f".{out.stem}.{os.getpid()}.tmp{suffix}")
    try:
        yield tmp
        os.replace(tmp, out)
    except (OSError, FileCreateError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise StorageError(f"Không ghi được tệp '{out}' ({reason}). Kiểm tra tệp có đang mở "
                           "trong Excel không và thư mục có cho ghi không, rồi thử lại.") from exc
    finally:
        tmp.unlink(missing_ok=True)


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def export_regional(
    factory: sessionmaker[Session], out: Path, *, programme_id: int | None = None,
    actor: Actor,
) -> RegionalExportResult:
    """Write the regional office's workbook (regional-export.md) for a programme.

    Reads the care list, the subscribers and the programme in one read unit of work, then
    writes the five sheets. ThongTin also carries the audit chain's latest line and hash, so
    a later rewrite of the log's history shows against the file the regional office holds.
    The export is recorded in the audit log. Runs on a worker; no UI calls here.

    Args:
        factory: the session factory.
        out: the `.xlsx` file to write (replaced if it exists).
        programme_id: the programme; may be left out when only one exists.
        actor: who exports (printed in ThongTin); the file holds the whole programme, so
            only an actor who sees every list may.

    Returns:
        The file, data rows per sheet and the `SHA-256 ChiTiet` digest.

    Raises:
        UsageError: `out` is not an `.xlsx` file in an existing folder, or the programme is
            ambiguous.
        NotFoundError: no such programme.
        PermissionProblem: the actor may not write personal data or sees only a part.
        StorageError: the file could not be written.
    """
    from mbfcare.domain.masking import mask_numbers_in_text
    from mbfcare.services import audit
    from mbfcare.services.data_protection import (
        audit_export,
        masking_on,
        require_whole_programme,
    )

    require_whole_programme(actor, "Tệp gửi MBF KV5")
    out = Path(out)
    check_output(out, (".xlsx",))
    with UnitOfWork(factory) as uow:
        pid = resolve_programme_id(uow.session, programme_id)
        programme = uow.session.get(Programme, pid)
        if programme is None:  # pragma: no cover - resolve_programme_id checked it
            raise NotFoundError(f"Không có chương trình số {pid}.")
        info = dataclasses.replace(_programme_info(programme),
                                   stock=_stock_rows(uow.session, pid),
                                   survey=_survey_rows(uow.session, pid))
        rows = _care_rows(uow.session, pid, programme.provinces, REGIONAL_STATES)
        audit_line, audit_hash = audit.latest(uow.session)
    if masking_on(factory):
        # Staff's notes may hold a number typed by hand; the regional office needs none.
        rows = [dataclasses.replace(r, note=mask_numbers_in_text(r.note),
                                    outcome_note=mask_numbers_in_text(r.outcome_note))
                if any(ch.isdigit() for ch in r.note + r.outcome_note) else r for r in rows]
    exported_at = dt.datetime.now().replace(microsecond=0)
    with atomic_output(out, ".xlsx") as tmp:
        written = write_regional(tmp, info, rows, exported_at=exported_at, version=__version__,
                                 exported_by=actor.name, audit_line=audit_line,
                                 audit_hash=audit_hash)
    audit_export(factory, actor, kind="regional", file=out, count=written.rows["ChiTiet"],
                 programme_id=pid, details={"sha256": written.sha256,
                                            "audit_line": audit_line})
    logger.info("regional export of programme %d: %d rows, %s", pid, written.rows["ChiTiet"],
                out.name)
    return RegionalExportResult(
        file=str(out), rows=written.rows, sha256=written.sha256, file_sha256=_file_sha256(out),
        programme_id=pid, exported_at=exported_at.isoformat(), audit_line=audit_line,
        audit_hash=audit_hash,
    )


def _district_key(name: str) -> str:
    return _DISTRICT_PREFIX.sub("", fold(name))


def _list_values(row: CareRow) -> list[str | int | None]:
    return [
        row.batch, safe_text(row.msisdn), safe_text(row.name), row.group,
        delivery_text(row.delivery), safe_text(row.district), safe_text(row.store),
        row.charge_1, row.charge_2, row.charge_3, row.basis, row.tenure_years,
        safe_text(row.tenure_band), STATE_WORDS.get(row.state, row.state),
    ]


def _write_list_xlsx(path: Path, rows: Sequence[CareRow]) -> None:
    book = xlsxwriter.Workbook(str(path), {
        "constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
        "strings_to_numbers": False,
    })
    try:
        ws = book.add_worksheet("DanhSach")
        bold = book.add_format({"bold": True})
        money = book.add_format({"num_format": "#,##0"})
        for col, header in enumerate(LIST_HEADERS):
            ws.write_string(0, col, header, bold)
        ws.freeze_panes(1, 0)
        for col, width in enumerate((6, 12, 26, 6, 20, 18, 24, 12, 12, 12, 14, 8, 12, 22)):
            ws.set_column(col, col, width)
        for r, row in enumerate(rows, start=1):
            for col, value in enumerate(_list_values(row)):
                if value is None or value == "":
                    continue
                if isinstance(value, str):
                    ws.write_string(r, col, value)
                else:
                    ws.write_number(r, col, value, money if 7 <= col <= 10 else None)
        if rows:
            ws.autofilter(0, 0, len(rows), len(LIST_HEADERS) - 1)
    finally:
        book.close()


def _write_list_csv(path: Path, rows: Sequence[CareRow]) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
        writer.writerow(LIST_HEADERS)
        for row in rows:
            writer.writerow(csv_row(_list_values(row)))


_LIST_WRITERS: dict[str, Callable[[Path, Sequence[CareRow]], None]] = {
    ".xlsx": _write_list_xlsx, ".csv": _write_list_csv,
}


def export_care_list(
    factory: sessionmaker[Session], out: Path, *, programme_id: int | None = None,
    batch: int | None = None, group: int | None = None, district: str | None = None,
    store: str | None = None, actor: Actor,
) -> ListExportResult:
    """Write a care list (every state, with its state in words) as `.xlsx` or `.csv`.

    Rows are sorted by batch, group (gap and undecided entries last), then name the Vietnamese
    way (given name first). District and store match whatever the case or diacritics
    (`Hong Bang` finds `Hồng Bàng`; `Quận`/`Huyện` in front may be left out). CSV is UTF-8
    with BOM, comma-separated, quoted as needed; text that could start a formula gets a `'`.
    A district head's file holds only his district, a clerk's only his store; the export is
    recorded in the audit log. Runs on a worker; no UI calls here.

    Raises:
        UsageError: `out` is neither `.xlsx` nor `.csv`, or its folder does not exist.
        ValidationError: the programme has no such group.
        NotFoundError: no such programme or batch.
        PermissionProblem: the actor may not write personal data, or named another's
            district or store.
        StorageError: the file could not be written.
    """
    from mbfcare.services.data_protection import audit_export, in_scope, require_export

    require_export(actor, district=district, store=store)
    out = Path(out)
    suffix = check_output(out, tuple(_LIST_WRITERS))
    write = _LIST_WRITERS[suffix]
    with UnitOfWork(factory) as uow:
        pid = resolve_programme_id(uow.session, programme_id)
        programme = uow.session.get(Programme, pid)
        if programme is None:  # pragma: no cover - resolve_programme_id checked it
            raise NotFoundError(f"Không có chương trình số {pid}.")
        if batch is not None and batch not in {b.number for b in programme.batches}:
            raise NotFoundError(f"Chương trình {pid} không có đợt {batch}.")
        if group is not None and group not in {g.number for g in programme.groups}:
            raise ValidationError(f"Chương trình {pid} không có nhóm {group}.")
        rows = _care_rows(uow.session, pid, programme.provinces, ALL_STATES, batch, group)
    if district:
        wanted = _district_key(district)
        rows = [r for r in rows if _district_key(r.district) == wanted]
    if store:
        wanted_store = fold(store)
        rows = [r for r in rows if fold(r.store) == wanted_store]
    rows = [r for r in rows if in_scope(actor, r.district, r.store)]
    rows.sort(key=lambda r: (r.batch, r.group if r.group is not None else 99,
                             name_sort_key(r.name), r.msisdn))
    with atomic_output(out, suffix) as tmp:
        write(tmp, rows)
    filters = {k: v for k, v in (("batch", batch), ("group", group), ("district", district),
                                 ("store", store)) if v is not None}
    audit_export(factory, actor, kind="care_list", file=out, count=len(rows), programme_id=pid,
                 details={"filters": filters})
    logger.info("care list of programme %d: %d rows, %s", pid, len(rows), out.name)
    return ListExportResult(file=str(out), format=suffix[1:], rows=len(rows), programme_id=pid,
                            filters=filters)


def export_ids(
    factory: sessionmaker[Session], ids: Sequence[int], out: Path,
    columns: Sequence[tuple[str, Callable[[CareRowDTO], object]]],
    progress: Progress | None = None, *, actor: Actor, programme_id: int | None = None,
) -> int:
    """Write the care-list entries `ids`, in that order, as `.xlsx` with the screen's columns.

    The screen passes its column spec (title, value of a row), so the file shows exactly the
    current view: same filter, same order, same headers. Money columns (int values) get a
    `#,##0` format; numbers stay text. Runs on a worker; no UI calls here.

    Args:
        factory: session factory.
        ids: care-case ids in the order to write.
        out: the `.xlsx` file (replaced if it exists).
        columns: (header, value function) per column.
        progress: progress and cancel token.
        actor: who exports; entries outside the actor's district or store are left out.
        programme_id: the programme shown, for the audit entry.

    Returns:
        The number of data rows written.

    Raises:
        UsageError: `out` is not an `.xlsx` file in an existing folder.
        PermissionProblem: the actor may not write personal data.
        StorageError: the file could not be written.
        Cancelled: the user cancelled; no file was written.
    """
    from mbfcare.services.data_protection import audit_export, in_scope, require_export

    require_export(actor)
    progress = progress or NullProgress()
    out = Path(out)
    check_output(out, (".xlsx",))
    written = 0
    with atomic_output(out, ".xlsx") as tmp:
        book = xlsxwriter.Workbook(str(tmp), {
            "constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
            "strings_to_numbers": False,
        })
        try:
            ws = book.add_worksheet("DanhSach")
            bold = book.add_format({"bold": True})
            money = book.add_format({"num_format": "#,##0"})
            day = book.add_format({"num_format": "dd/mm/yyyy"})
            for col, (header, _value) in enumerate(columns):
                ws.write_string(0, col, header, bold)
                ws.set_column(col, col, max(8, min(30, len(header) + 4)))
            ws.freeze_panes(1, 0)
            for start in range(0, len(ids), 2000):
                if progress.cancelled():
                    raise Cancelled("Đã hủy xuất Excel.")
                for row in care_rows(factory, ids[start:start + 2000]):
                    if not in_scope(actor, row.district, row.store):
                        continue
                    written += 1
                    for col, (_header, value) in enumerate(columns):
                        cell = value(row)
                        if cell is None or cell == "":
                            continue
                        if isinstance(cell, dt.date):
                            ws.write_datetime(written, col, dt.datetime.combine(
                                cell, dt.time()), day)
                        elif isinstance(cell, bool) or not isinstance(cell, int | float):
                            ws.write_string(written, col, safe_text(str(cell)))
                        else:
                            ws.write_number(written, col, cell, money)
                progress.report(min(start + 2000, len(ids)), len(ids), "")
            if written:
                ws.autofilter(0, 0, written, len(columns) - 1)
        finally:
            book.close()
    audit_export(factory, actor, kind="care_list_view", file=out, count=written,
                 programme_id=programme_id)
    logger.info("care list view export: %d rows, %s", written, out.name)
    return written
