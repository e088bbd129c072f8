"""The reports (Báo cáo): progress, survey results and the gift stock reconciliation.

Each report is read in one read unit of work into a frozen DTO, which the PDF writers
(`mbfcare.reports.pdf.reports`, for the meeting room) and the workbook writers
(`mbfcare.reports.report_workbooks`, for analysis) draw the same way. No Qt here; every
function runs on a worker, no UI calls.

- Progress (`progress_report`): per batch × group × district × store, counted by the database
  with the overview's sums (`mbfcare.services.dashboard`) plus the report's own (reached,
  profile standardised, closed per outcome, all six steps done).
- Survey (`survey_report`): the overview of each question (`surveys.survey_summary`), its
  breakdown per district and store, and the free-text answers.
- Stock (`stock_report`): per item × location what came in, went out and is left, with the
  handovers behind "handed over", so that the count matches the signed receipts (biên bản
  quyết toán quà).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from sqlalchemy import and_, case, exists, func, or_, select
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.elements import ColumnElement

from mbfcare.domain.actors import Actor
from mbfcare.domain.collation import name_sort_key, vietnamese_sort_key
from mbfcare.domain.masking import mask_phone
from mbfcare.domain.steps import OUTCOME_LABELS, OUTCOMES, STEP_LABELS, STEPS
from mbfcare.domain.survey import load_survey, survey_from_dict
from mbfcare.domain.values import format_number
from mbfcare.errors import NotFoundError, UsageError
from mbfcare.models import (
    Batch,
    CareCase,
    GiftItem,
    GiftType,
    Handover,
    ProfileCollection,
    Programme,
    StockBalance,
    StockLocation,
    StockMovement,
    Subscriber,
    SurveyForm,
    SurveyResponse,
)
from mbfcare.services import printing
from mbfcare.services.care_work import local_today
from mbfcare.services.dashboard import IN_CARE_STATES, metric_sums
from mbfcare.services.data_protection import (
    audit_export,
    in_scope,
    masking_on,
    require_export,
)
from mbfcare.services.exporting import atomic_output, check_output, province_name
from mbfcare.services.programmes import resolve_programme_id
from mbfcare.services.stock import WAREHOUSE
from mbfcare.services.surveys import fits_question, survey_summary
from mbfcare.uow import UnitOfWork

logger = logging.getLogger(__name__)

__all__ = [
    "AWAITING_GROUP_LABEL",
    "KINDS",
    "KIND_TITLES",
    "PROGRESS_COLUMNS",
    "PROGRESS_NOTES",
    "PROGRESS_RATE_TITLE",
    "REACHED_NOTE",
    "REACHED_STEPS",
    "STOCK_COLUMNS",
    "STOCK_NOTES",
    "AnswerCount",
    "BatchProgress",
    "FreeTextAnswer",
    "HandoverLine",
    "PlaceAnswers",
    "ProgressCounts",
    "ProgressReport",
    "ProgressRow",
    "QuestionReport",
    "ReportInfo",
    "ReportResult",
    "StockFigures",
    "StockItem",
    "StockLine",
    "StockReport",
    "SurveyReport",
    "progress_report",
    "stock_report",
    "survey_report",
    "write_report",
]

KINDS = ("progress", "survey", "stock")
"""The reports, as the command line names them (`mbfcare report KIND`)."""

KIND_TITLES = {
    "progress": "Báo cáo tiến độ chương trình",
    "survey": "Báo cáo kết quả khảo sát ý kiến khách hàng",
    "stock": "Biên bản quyết toán quà tặng",
}
FORMATS = (".pdf", ".xlsx")

AWAITING_GROUP_LABEL = "Chờ xếp nhóm"
"""The group column of entries in a gap between groups (staff have not decided yet)."""

# --- definitions (one place each; the reports' footnotes quote them) -------------------------

REACHED_STEPS = ("data_check", "package_advice", "questions", "survey")
"""Steps that mean the customer was met or contacted (besides a gift given or owed)."""

def _step_words(steps: Sequence[str]) -> str:
    """"kiểm tra dữ liệu, tư vấn gói cước" (lower case, "SMS" kept)."""
    return ", ".join(STEP_LABELS[s][:1].lower() + STEP_LABELS[s][1:] for s in steps)


REACHED_NOTE = (
    "Đã tiếp cận: đã gặp hoặc liên hệ được khách hàng – đã trao quà hoặc ghi nợ quà, hoặc đã "
    "ghi một trong các bước " + _step_words(REACHED_STEPS) + "."
)
PROGRESS_NOTES = (
    "Trong danh sách: khách hàng trong danh sách chăm sóc của đợt, kể cả danh sách chờ và "
    "khách hàng chờ xếp nhóm; không tính khách hàng đã quyết định không chăm sóc.",
    REACHED_NOTE,
    "Đã chuẩn hóa TT: hồ sơ thuê bao đã chuẩn hóa, hoặc đã thu thập thông tin để chuẩn hóa "
    "trên iCRM.",
    "Hoàn thành: đã làm đủ 6 bước (" + _step_words(STEPS)
    + ") và không đóng với kết quả; Tỷ lệ hoàn thành = Hoàn thành ÷ Trong danh sách (như "
    "cột “Tỷ lệ hoàn thành” của tệp gửi MBF KV5).",
)
STOCK_NOTES = (
    "Còn lại = Nhập + Chuyển đến − Chuyển đi − Đã trao + Trả lại − Hủy; Chênh lệch là phần "
    "tồn thực tế trong sổ kho khác với phép tính đó (bình thường bằng 0).",
    "Đã trao: số khách hàng đã nhận quà theo danh sách trao quà dưới đây (đúng với các biên "
    "bản giao nhận đã ký); một lần trao đã hủy không được tính, món quà được trả về kho nên "
    "cũng không tính vào Trả lại.",
    "Nợ quà: khách hàng đã gặp nhưng nơi trao hết quà, chưa nhận; không trừ vào kho.",
)

PROGRESS_COLUMNS: tuple[tuple[str, str], ...] = (
    ("on_list", "Trong danh sách"),
    ("sms_sent", "Đã gửi SMS"),
    ("reached", "Đã tiếp cận"),
    ("handed_over", "Đã trao quà"),
    ("owed", "Nợ quà"),
    ("surveyed", "Đã khảo sát"),
    ("standardised", "Đã chuẩn hóa TT"),
    *((outcome, OUTCOME_LABELS[outcome]) for outcome in OUTCOMES),
    ("done", "Hoàn thành 6 bước"),
)
"""The count columns of the progress report (key of `ProgressCounts`, title), in order; the
completion rate follows them."""
PROGRESS_RATE_TITLE = "Tỷ lệ hoàn thành"

STOCK_COLUMNS: tuple[tuple[str, str], ...] = (
    ("received", "Nhập"),
    ("transferred_in", "Chuyển đến"),
    ("transferred_out", "Chuyển đi"),
    ("handed_over", "Đã trao"),
    ("owed", "Nợ quà"),
    ("returned", "Trả lại"),
    ("written_off", "Hủy"),
    ("left", "Còn lại"),
    ("difference", "Chênh lệch"),
)
"""The figure columns of the stock reconciliation (key of `StockFigures`, title), in order."""


# --------------------------------------------------------------------------- DTOs


@dataclass(frozen=True)
class ReportInfo:
    """What every report's heading says: the programme, the scope and the day it was made."""

    programme_id: int
    programme_name: str
    province: str
    batch: int | None
    care_months: Mapping[int, str]  # batch number -> MM/YYYY
    made_on: dt.date

    @property
    def scope(self) -> str:
        """"Đợt 1 (tháng 05/2017)" or "Tất cả các đợt"."""
        if self.batch is None:
            return "Tất cả các đợt"
        month = self.care_months.get(self.batch)
        return f"Đợt {self.batch}" + (f" (tháng {month})" if month else "")


@dataclass(frozen=True)
class ProgressCounts:
    """The counts of one row of the progress report (see `PROGRESS_NOTES`)."""

    on_list: int = 0
    sms_sent: int = 0
    reached: int = 0
    handed_over: int = 0
    owed: int = 0
    surveyed: int = 0
    standardised: int = 0
    unreachable: int = 0
    refused: int = 0
    moved: int = 0
    other: int = 0
    done: int = 0

    @property
    def closed(self) -> int:
        """Entries closed with an outcome, whichever."""
        return self.unreachable + self.refused + self.moved + self.other

    @property
    def completion_rate(self) -> float:
        """Entries with all six steps done ÷ entries on the list (0 for an empty list)."""
        return self.done / self.on_list if self.on_list else 0.0

    def value(self, key: str) -> int:
        """The count of a `PROGRESS_COLUMNS` key."""
        return int(getattr(self, key))

    def __add__(self, other: ProgressCounts) -> ProgressCounts:
        return ProgressCounts(**{f.name: getattr(self, f.name) + getattr(other, f.name)
                                 for f in fields(self)})


_COUNT_FIELDS = tuple(f.name for f in fields(ProgressCounts))


def _sum(counts: Iterable[ProgressCounts]) -> ProgressCounts:
    total = ProgressCounts()
    for item in counts:
        total = total + item
    return total


@dataclass(frozen=True)
class ProgressRow:
    """One batch × group × district × store (`group` None: awaiting a group decision)."""

    batch: int
    group: int | None
    district: str
    store: str
    counts: ProgressCounts

    @property
    def group_label(self) -> str:
        """"Nhóm 1" or "Chờ xếp nhóm"."""
        return f"Nhóm {self.group}" if self.group is not None else AWAITING_GROUP_LABEL


@dataclass(frozen=True)
class BatchProgress:
    """A batch's rows, in order (group, district, store), and their subtotal."""

    batch: int
    care_month: str
    rows: tuple[ProgressRow, ...]
    subtotal: ProgressCounts

    @property
    def by_district(self) -> tuple[tuple[str, ProgressCounts], ...]:
        """The batch's counts per district (all groups and stores), in Vietnamese order."""
        sums: dict[str, ProgressCounts] = {}
        for row in self.rows:
            sums[row.district] = sums.get(row.district, ProgressCounts()) + row.counts
        return tuple(sorted(sums.items(), key=lambda kv: _place_key(kv[0])))

    @property
    def by_group(self) -> tuple[tuple[str, ProgressCounts], ...]:
        """The batch's counts per group ("Nhóm 1", …, "Chờ xếp nhóm" last)."""
        sums: dict[int | None, ProgressCounts] = {}
        for row in self.rows:
            sums[row.group] = sums.get(row.group, ProgressCounts()) + row.counts
        order = sorted(sums, key=lambda g: (g is None, g or 0))
        return tuple((f"Nhóm {g}" if g is not None else AWAITING_GROUP_LABEL, sums[g])
                     for g in order)


@dataclass(frozen=True)
class ProgressReport:
    """Báo cáo tiến độ: the batches with their rows and subtotals, and the total."""

    info: ReportInfo
    batches: tuple[BatchProgress, ...]
    total: ProgressCounts
    notes: tuple[str, ...] = PROGRESS_NOTES

    @property
    def rows(self) -> tuple[ProgressRow, ...]:
        """Every detail row (subtotals excluded), in the report's order."""
        return tuple(row for batch in self.batches for row in batch.rows)


@dataclass(frozen=True)
class AnswerCount:
    """One answer to a question: how many gave it, and their share of those who answered.

    For a multiple-choice question the shares add up to more than 100%: each respondent may
    choose several options.
    """

    answer: str
    count: int
    share: float


@dataclass(frozen=True)
class PlaceAnswers:
    """The answers to one question in one district and store (`store` "" for none)."""

    district: str
    store: str
    answered: int
    counts: tuple[tuple[str, int], ...]
    mean: float | None


@dataclass(frozen=True)
class QuestionReport:
    """One question: the counts of each answer (the form's order), the mean of a scale, and
    the same per district and store; a text question has no counts (its answers are listed in
    `SurveyReport.free_text`)."""

    key: str
    number: int
    text: str
    kind: str  # `scale` | `single` | `multiple` | `text`
    answered: int
    answers: tuple[AnswerCount, ...]
    mean: float | None
    places: tuple[PlaceAnswers, ...]

    @property
    def title(self) -> str:
        """"Câu 1. Nhìn chung, …"."""
        return f"Câu {self.number}. {self.text}"


@dataclass(frozen=True)
class FreeTextAnswer:
    """An answer written in words, with where and whom it came from."""

    question_key: str
    question_number: int
    question: str
    district: str
    store: str
    batch: int
    msisdn: str
    name: str
    answered_on: dt.date
    text: str


@dataclass(frozen=True)
class SurveyReport:
    """Báo cáo khảo sát: every question of the current form, and the free-text answers."""

    info: ReportInfo
    form_title: str
    form_version: int
    responses: int
    questions: tuple[QuestionReport, ...]
    free_text: tuple[FreeTextAnswer, ...]


@dataclass(frozen=True)
class StockFigures:
    """The reconciliation of one item at one location (or a sum of them)."""

    received: int = 0
    transferred_in: int = 0
    transferred_out: int = 0
    handed_over: int = 0
    owed: int = 0
    returned: int = 0
    written_off: int = 0
    left: int = 0

    @property
    def expected_left(self) -> int:
        """What should be left from the movements."""
        return (self.received + self.transferred_in - self.transferred_out - self.handed_over
                + self.returned - self.written_off)

    @property
    def difference(self) -> int:
        """The stock actually left minus `expected_left` (0 when the books agree)."""
        return self.left - self.expected_left

    def value(self, key: str) -> int:
        """The figure of a `STOCK_COLUMNS` key."""
        return int(getattr(self, key))

    def __add__(self, other: StockFigures) -> StockFigures:
        return StockFigures(**{f.name: getattr(self, f.name) + getattr(other, f.name)
                               for f in fields(self)})


@dataclass(frozen=True)
class HandoverLine:
    """One gift handed over: when, to whom, by whom, and the printed receipt's code."""

    case_id: int
    given_on: dt.date | None
    msisdn: str
    name: str
    batch: int
    group: int | None
    given_by: str
    receipt_code: str  # "" when no receipt was printed
    district: str = ""  # the care list's, for a district head's or a clerk's copy
    store: str = ""


@dataclass(frozen=True)
class StockLine:
    """One item at one location, and the handovers behind its "handed over"."""

    location: str
    location_kind: str  # `warehouse` | `store`
    figures: StockFigures
    handovers: tuple[HandoverLine, ...]


@dataclass(frozen=True)
class StockItem:
    """One gift item at every location where it has been, and its total."""

    gift_type: int
    gift_type_name: str
    item_code: str
    item_name: str
    lines: tuple[StockLine, ...]
    total: StockFigures


@dataclass(frozen=True)
class StockReport:
    """Biên bản quyết toán quà: items × locations, and the programme's total.

    The figures are the whole programme's (stock does not belong to a batch); with a batch,
    the handover lists (and `StockLine.handovers`) hold only that batch's customers.
    """

    info: ReportInfo
    items: tuple[StockItem, ...]
    total: StockFigures
    notes: tuple[str, ...] = STOCK_NOTES

    @property
    def lines(self) -> tuple[tuple[StockItem, StockLine], ...]:
        """Every item × location, in order."""
        return tuple((item, line) for item in self.items for line in item.lines)

    @property
    def handovers(self) -> int:
        """The handovers listed."""
        return sum(len(line.handovers) for item in self.items for line in item.lines)


@dataclass(frozen=True)
class ReportResult:
    """What `write_report` wrote.

    `rows` counts the report's data lines: detail rows for progress (subtotals excluded),
    responses for the survey, item × location lines for stock. `pages` is set for a PDF,
    `sheets` (data rows per sheet) for a workbook.
    """

    file: str
    kind: str
    format: str  # `pdf` | `xlsx`
    rows: int
    pages: int | None = None
    sheets: Mapping[str, int] = field(default_factory=dict)
    programme_id: int | None = None
    batch: int | None = None

    @property
    def text(self) -> str:
        """The sentence for the status bar."""
        what = KIND_TITLES[self.kind]
        if self.pages is not None:
            return f"Đã xuất {what.lower()} ({format_number(self.pages)} trang): {self.file}"
        return f"Đã xuất {what.lower()} ra tệp Excel: {self.file}"

    def to_json(self) -> dict[str, Any]:
        """The command line's JSON: file, kind, format, rows, and pages or sheets."""
        data: dict[str, Any] = {"file": self.file, "kind": self.kind, "format": self.format,
                                "rows": self.rows, "programme_id": self.programme_id,
                                "batch": self.batch}
        if self.pages is not None:
            data["pages"] = self.pages
        if self.sheets:
            data["sheets"] = dict(self.sheets)
        return data


# --------------------------------------------------------------------------- helpers


def _place_key(name: str) -> tuple[bool, Any]:
    """Vietnamese order, blanks last."""
    return (not name, vietnamese_sort_key(name))


def _batch_numbers(session: Session, pid: int) -> dict[int, tuple[int, str]]:
    """Batch id -> (number, MM/YYYY)."""
    return {bid: (number, f"{month:02d}/{year}") for bid, number, month, year in session.execute(
        select(Batch.id, Batch.number, Batch.care_month, Batch.care_year)
        .where(Batch.programme_id == pid))}


def _info(session: Session, programme_id: int | None, batch: int | None,
          made_on: dt.date | None) -> tuple[ReportInfo, dict[int, tuple[int, str]]]:
    """The heading of a report, and the programme's batches.

    Raises:
        NotFoundError: no such programme, or no such batch.
        UsageError: several programmes and none named.
    """
    pid = resolve_programme_id(session, programme_id)
    programme = session.get(Programme, pid)
    assert programme is not None
    batches = _batch_numbers(session, pid)
    if batch is not None and batch not in {n for n, _ in batches.values()}:
        raise NotFoundError(f"Chương trình {pid} không có đợt {batch}.")
    province = programme.province
    if not province:
        # The office's own province: the one most of its entries live in.
        stored = session.execute(
            select(CareCase.province, func.count()).where(CareCase.programme_id == pid)
            .group_by(CareCase.province).order_by(func.count().desc()).limit(1)).first()
        if stored is not None and stored[0]:
            province = province_name(stored[0], programme.provinces)
        elif programme.provinces:
            province = programme.provinces[0]
    info = ReportInfo(pid, programme.name, province or "", batch,
                      {n: month for n, month in sorted(batches.values())},
                      made_on or local_today())
    return info, batches


def _batch_id(batches: Mapping[int, tuple[int, str]], batch: int | None) -> int | None:
    if batch is None:
        return None
    return next(bid for bid, (n, _) in batches.items() if n == batch)


# --------------------------------------------------------------------------- progress


def _progress_metrics(programme_id: int) -> dict[str, ColumnElement[Any]]:
    """The SQL sum of each `ProgressCounts` field, over care_cases joined to subscribers."""
    c = CareCase
    base = metric_sums()  # the overview's sums: the same SMS, handed over, owed, surveyed

    def count(condition: ColumnElement[bool]) -> ColumnElement[Any]:
        return func.sum(case((condition, 1), else_=0))

    reached = or_(c.handed_over_at.is_not(None), c.gift_owed.is_(True),
                  *(getattr(c, f"{step}_on").is_not(None) for step in REACHED_STEPS))
    collected = exists().where(ProfileCollection.programme_id == programme_id,
                               ProfileCollection.subscriber_id == c.subscriber_id)
    standardised = or_(Subscriber.profile_standardised.is_(True), collected)
    # As the regional workbook's "Hoàn thành": all six steps, no outcome, in a group.
    done = and_(c.state != "awaiting_group", c.outcome.is_(None),
                *(getattr(c, f"{step}_on").is_not(None) for step in STEPS))
    metrics: dict[str, ColumnElement[Any]] = {
        "on_list": func.count(),
        "sms_sent": base["sms_sent"],
        "reached": count(reached),
        "handed_over": base["handed_over"],
        "owed": base["owed"],
        "surveyed": base["surveyed"],
        "standardised": count(standardised),
        **{outcome: count(c.outcome == outcome) for outcome in OUTCOMES},
        "done": count(done),
    }
    if set(metrics) != set(_COUNT_FIELDS):
        raise AssertionError("every progress count needs a SQL sum")
    return metrics


def progress_report(factory: sessionmaker[Session], programme_id: int | None = None,
                    batch: int | None = None, *, made_on: dt.date | None = None
                    ) -> ProgressReport:
    """Progress per batch × group × district × store, with subtotals per batch and a total.

    Entries in care only (every state but `left_out`). The district is the care list's, else
    the subscriber's; blank district or store sort last. Runs on a worker; no UI calls here.

    Raises:
        NotFoundError: no such programme or batch.
        UsageError: several programmes exist and none was named.
    """
    with UnitOfWork(factory) as uow:
        session = uow.session
        info, batches = _info(session, programme_id, batch, made_on)
        pid = info.programme_id
        district = func.coalesce(CareCase.district, Subscriber.district).label("district")
        metrics = _progress_metrics(pid)
        query = (select(CareCase.batch_id, CareCase.group_number, district, CareCase.store,
                        *(expr.label(name) for name, expr in metrics.items()))
                 .join(Subscriber, Subscriber.id == CareCase.subscriber_id)
                 .where(CareCase.programme_id == pid, CareCase.state.in_(IN_CARE_STATES))
                 .group_by(CareCase.batch_id, CareCase.group_number, district, CareCase.store))
        batch_id = _batch_id(batches, batch)
        if batch_id is not None:
            query = query.where(CareCase.batch_id == batch_id)
        found = session.execute(query).all()
    # The same district and store may come back as NULL and "" (blank): they are one row.
    merged: dict[tuple[int, int | None, str, str], ProgressCounts] = {}
    for row in found:
        mapping = row._mapping
        counts = ProgressCounts(**{name: int(mapping[name] or 0) for name in _COUNT_FIELDS})
        key = (batches[row.batch_id][0], row.group_number, (row.district or "").strip(),
               (row.store or "").strip())
        merged[key] = merged.get(key, ProgressCounts()) + counts
    per_batch: dict[int, list[ProgressRow]] = {}
    for (number, group, district_name, store), counts in merged.items():
        per_batch.setdefault(number, []).append(
            ProgressRow(number, group, district_name, store, counts))
    result = []
    for number in sorted(per_batch):
        rows = sorted(per_batch[number], key=lambda r: (
            r.group is None, r.group or 0, _place_key(r.district), _place_key(r.store)))
        result.append(BatchProgress(number, info.care_months.get(number, ""), tuple(rows),
                                    _sum(r.counts for r in rows)))
    report = ProgressReport(info, tuple(result), _sum(b.subtotal for b in result))
    logger.info("progress report of programme %d: %d rows", pid, len(report.rows))
    return report


# --------------------------------------------------------------------------- survey


def _mean(scores: Sequence[int]) -> float | None:
    return round(sum(scores) / len(scores), 2) if scores else None


def survey_report(factory: sessionmaker[Session], programme_id: int | None = None,
                  batch: int | None = None, *, made_on: dt.date | None = None) -> SurveyReport:
    """The survey results: per question the answers (count, share), the mean of a scale, the
    breakdown per district and store, and the free-text answers with where they came from.

    The overall counts are `surveys.survey_summary`'s (the current form; an answer that no
    longer fits its question is left out); the breakdowns use the same rule. Runs on a
    worker; no UI calls here.

    Raises:
        NotFoundError: no such programme or batch.
        UsageError: several programmes exist and none was named.
    """
    with UnitOfWork(factory) as uow:
        session = uow.session
        info, batches = _info(session, programme_id, batch, made_on)
        pid = info.programme_id
        stored = session.scalar(select(SurveyForm.definition).where(
            SurveyForm.programme_id == pid))
        definition = survey_from_dict(stored) if stored else load_survey()
        district = func.coalesce(CareCase.district, Subscriber.district)
        query = (select(SurveyResponse.answers, SurveyResponse.answered_on, CareCase.batch_id,
                        district, CareCase.store, Subscriber.msisdn, Subscriber.name)
                 .join(CareCase, CareCase.id == SurveyResponse.care_case_id)
                 .join(Subscriber, Subscriber.id == CareCase.subscriber_id)
                 .where(CareCase.programme_id == pid)
                 .order_by(SurveyResponse.id))
        batch_id = _batch_id(batches, batch)
        if batch_id is not None:
            query = query.where(CareCase.batch_id == batch_id)
        responses = session.execute(query).all()
    summary = survey_summary(factory, pid, batch)
    overall = {q.key: q for q in summary.questions}
    questions: list[QuestionReport] = []
    free_text: list[FreeTextAnswer] = []
    for number, question in enumerate(definition.questions, 1):
        places: dict[tuple[str, str], list[object]] = {}
        for answers, answered_on, bid, place, store, msisdn, name in responses:
            value = (answers or {}).get(question.key)
            if value in (None, "", []) or not fits_question(question, value):
                continue
            where = ((place or "").strip(), (store or "").strip())
            places.setdefault(where, []).append(value)
            if question.kind == "text":
                free_text.append(FreeTextAnswer(
                    question.key, number, question.text, where[0], where[1],
                    batches[bid][0], msisdn, name or "", answered_on, str(value).strip()))
        top = overall.get(question.key)
        answered = top.answered if top is not None else 0
        counts = top.counts if top is not None else ()
        answer_counts = tuple(AnswerCount(answer, count, count / answered if answered else 0.0)
                              for answer, count in counts)
        breakdown = []
        for (place, store), values in sorted(places.items(), key=lambda kv: (
                _place_key(kv[0][0]), _place_key(kv[0][1]))):
            tally: Counter[str] = Counter()
            for value in values:
                for option in (value if isinstance(value, list) else [value]):
                    tally[str(option)] += 1
            options = [answer for answer, _ in counts]
            scores = [v for v in values if isinstance(v, int)]
            breakdown.append(PlaceAnswers(
                place, store, len(values),
                tuple((option, tally.get(option, 0)) for option in options),
                _mean(scores) if question.kind == "scale" else None))
        questions.append(QuestionReport(
            question.key, number, question.text, question.kind, answered, answer_counts,
            top.mean if top is not None else None, tuple(breakdown)))
    free_text.sort(key=lambda a: (a.question_number, _place_key(a.district),
                                  _place_key(a.store), name_sort_key(a.name), a.msisdn))
    report = SurveyReport(info, definition.title, summary.form_version, len(responses),
                          tuple(questions), tuple(free_text))
    logger.info("survey report of programme %d: %d responses", pid, report.responses)
    return report


# --------------------------------------------------------------------------- stock


def stock_report(factory: sessionmaker[Session], programme_id: int | None = None,
                 batch: int | None = None, *, made_on: dt.date | None = None) -> StockReport:
    """The gift stock reconciliation per item × location, with the handovers behind each
    "handed over" figure and the code of each customer's latest printed receipt.

    Received, transferred, written off and left come from the stock balances; "handed over"
    counts the gifts handed over now (a handover undone is not counted, and the item it gave
    back is not a "return"); "owed" counts the gifts owed. Items never received show as 0 in
    the warehouse. With `batch`, the handover lists hold only that batch's customers (the
    figures stay the whole programme's: stock does not belong to a batch). Runs on a worker;
    no UI calls here.

    Raises:
        NotFoundError: no such programme or batch.
        UsageError: several programmes exist and none was named.
    """
    with UnitOfWork(factory) as uow:
        session = uow.session
        info, batches = _info(session, programme_id, batch, made_on)
        pid = info.programme_id
        items = session.execute(
            select(GiftItem.id, GiftItem.code, GiftItem.name, GiftType.number, GiftType.name)
            .join(GiftType, GiftType.id == GiftItem.gift_type_id)
            .where(GiftItem.programme_id == pid)).all()
        places = {loc_id: (name, kind) for loc_id, name, kind in session.execute(
            select(StockLocation.id, StockLocation.name, StockLocation.kind))}
        b = StockBalance
        balances = {(row.item_id, row.location_id): row for row in session.execute(
            select(b.item_id, b.location_id, b.received, b.transferred_in, b.transferred_out,
                   b.returned, b.written_off, b.on_hand)
            .join(GiftItem, GiftItem.id == b.item_id).where(GiftItem.programme_id == pid))}
        # Returns that gave back an undone handover's item (they carry the handover's id).
        undone = dict(((item_id, loc_id), int(n)) for item_id, loc_id, n in session.execute(
            select(StockMovement.item_id, StockMovement.location_id, func.sum(
                StockMovement.quantity))
            .join(GiftItem, GiftItem.id == StockMovement.item_id)
            .where(GiftItem.programme_id == pid, StockMovement.kind == "return",
                   StockMovement.handover_id.is_not(None))
            .group_by(StockMovement.item_id, StockMovement.location_id)))
        owed = dict(((item_id, loc_id), int(n)) for item_id, loc_id, n in session.execute(
            select(Handover.item_id, Handover.location_id, func.count())
            .where(Handover.programme_id == pid, Handover.status == "owed")
            .group_by(Handover.item_id, Handover.location_id)))
        given_counts = dict(((item_id, loc_id), int(n)) for item_id, loc_id, n in
                            session.execute(
            select(Handover.item_id, Handover.location_id, func.count())
            .where(Handover.programme_id == pid, Handover.status == "given")
            .group_by(Handover.item_id, Handover.location_id)))
        query = (select(Handover.item_id, Handover.location_id, Handover.care_case_id,
                        Handover.given_on, Subscriber.msisdn, Subscriber.name,
                        CareCase.batch_id, CareCase.group_number, Handover.given_by,
                        CareCase.district, CareCase.store)
                 .join(Subscriber, Subscriber.id == Handover.subscriber_id)
                 .join(CareCase, CareCase.id == Handover.care_case_id)
                 .where(Handover.programme_id == pid, Handover.status == "given"))
        batch_id = _batch_id(batches, batch)
        if batch_id is not None:
            query = query.where(CareCase.batch_id == batch_id)
        given = session.execute(query).all()
    codes = printing.current_codes(factory, [row.care_case_id for row in given],
                                   printing.DOCUMENT_KIND["receipts"])
    lists: dict[tuple[int, int], list[HandoverLine]] = {}
    for row in given:
        lists.setdefault((row.item_id, row.location_id), []).append(HandoverLine(
            row.care_case_id, row.given_on, row.msisdn, row.name or "",
            batches[row.batch_id][0], row.group_number, row.given_by or "",
            codes.get(row.care_case_id, ""), row.district or "", row.store or ""))
    keys = set(balances) | set(owed) | set(given_counts)
    result: list[StockItem] = []
    for item_id, code, name, type_number, type_name in sorted(
            items, key=lambda r: (r[3], vietnamese_sort_key(r[2]), r[0])):
        lines: list[StockLine] = []
        for key in (k for k in keys if k[0] == item_id):
            balance = balances.get(key)
            returned_back = undone.get(key, 0)
            figures = StockFigures(
                received=balance.received if balance else 0,
                transferred_in=balance.transferred_in if balance else 0,
                transferred_out=balance.transferred_out if balance else 0,
                handed_over=given_counts.get(key, 0),
                owed=owed.get(key, 0),
                returned=(balance.returned if balance else 0) - returned_back,
                written_off=balance.written_off if balance else 0,
                left=balance.on_hand if balance else 0)
            location, kind = places.get(key[1], ("", "store"))
            handovers = sorted(lists.get(key, []), key=lambda h: (
                h.given_on or dt.date.min, name_sort_key(h.name), h.msisdn))
            lines.append(StockLine(location, kind, figures, tuple(handovers)))
        if not lines:
            lines.append(StockLine(WAREHOUSE, "warehouse", StockFigures(), ()))
        lines.sort(key=lambda line: (line.location_kind != "warehouse",
                                     vietnamese_sort_key(line.location)))
        total = StockFigures()
        for line in lines:
            total = total + line.figures
        result.append(StockItem(type_number, type_name or f"Quà loại {type_number}", code,
                                name, tuple(lines), total))
    grand = StockFigures()
    for item in result:
        grand = grand + item.total
    report = StockReport(info, tuple(result), grand)
    logger.info("stock report of programme %d: %d lines, %d handovers", info.programme_id,
                len(report.lines), report.handovers)
    return report


# --------------------------------------------------------------------------- writing


_READERS: dict[str, Callable[..., Any]] = {
    "progress": progress_report, "survey": survey_report, "stock": stock_report,
}


PERSONAL_KINDS = frozenset({"survey", "stock"})
"""Reports that list customers (free-text answers, handovers): personal data."""


def _protected(report: Any, actor: Actor, masked: bool) -> Any:
    """The report as the actor may have it: only his district's or store's customers, their
    numbers masked when the office says so (a report does not need them whole)."""
    def number(msisdn: str) -> str:
        return mask_phone(msisdn) if masked else msisdn

    if isinstance(report, SurveyReport):
        return replace(report, free_text=tuple(
            replace(a, msisdn=number(a.msisdn)) for a in report.free_text
            if in_scope(actor, a.district, a.store)))
    if isinstance(report, StockReport):
        items = tuple(replace(item, lines=tuple(
            replace(line, handovers=tuple(replace(h, msisdn=number(h.msisdn))
                                          for h in line.handovers
                                          if in_scope(actor, h.district, h.store)))
            for line in item.lines)) for item in report.items)
        return replace(report, items=items)
    return report


def write_report(factory: sessionmaker[Session], kind: str, out: Path, *,
                 programme_id: int | None = None, batch: int | None = None,
                 actor: Actor, made_on: dt.date | None = None) -> ReportResult:
    """Read a report and write it as PDF (for the meeting) or `.xlsx` (for analysis).

    The file is written beside `out` and moved into place only when complete. The actor's
    name is printed under "Người lập". The survey and stock reports list customers (free-text
    answers, handovers): they need `export_personal`, hold only the actor's district or store
    when he has one, show numbers masked when the office masks them, and are recorded in the
    audit log. The progress report holds counts only and needs `report`. Runs on a worker;
    no UI calls here.

    Args:
        factory: the session factory.
        kind: `progress`, `survey` or `stock`.
        out: a `.pdf` or `.xlsx` file in an existing folder (replaced if it exists).
        programme_id: the programme; may be left out when only one exists.
        batch: only this batch (see each report for what that means).
        actor: who makes the report.
        made_on: the date printed in the heading (default: today).

    Returns:
        The file, its format, the report's data lines, and its pages or sheets.

    Raises:
        UsageError: an unknown kind, a file that is neither `.pdf` nor `.xlsx`, a missing
            folder, or several programmes and none named.
        NotFoundError: no such programme or batch.
        PermissionProblem: the role may not.
        StorageError: the file could not be written.
    """
    from mbfcare.reports import report_workbooks
    from mbfcare.reports.pdf import reports as pdf_reports

    if kind not in KINDS:
        raise UsageError(f"Không có báo cáo '{kind}'; chọn progress, survey hoặc stock.")
    personal = kind in PERSONAL_KINDS
    if personal:
        require_export(actor)
    else:
        actor.require("report")
    user = actor.name
    out = Path(out)
    suffix = check_output(out, FORMATS)
    report = _READERS[kind](factory, programme_id, batch, made_on=made_on)
    if personal:
        report = _protected(report, actor, masking_on(factory))
    rows = _rows(report)
    pages: int | None = None
    sheets: dict[str, int] = {}
    with atomic_output(out, suffix) as tmp:
        if suffix == ".pdf":
            settings = printing.form_settings(factory, report.info.programme_id).settings
            pages = pdf_reports.RENDERERS[kind](report, tmp, settings=settings, user=user)
        else:
            sheets = report_workbooks.WRITERS[kind](report, tmp)
    if personal:
        audit_export(factory, actor, kind=f"report_{kind}", file=out,
                     count=pages if pages is not None else rows,
                     unit="trang" if pages is not None else "dòng",
                     programme_id=report.info.programme_id, details={"batch": batch})
    logger.info("%s report (%s): %d rows, %s", kind, suffix[1:], rows, out.name)
    return ReportResult(str(out), kind, suffix[1:], rows, pages, sheets,
                        report.info.programme_id, batch)


def _rows(report: ProgressReport | SurveyReport | StockReport) -> int:
    if isinstance(report, ProgressReport):
        return len(report.rows)
    if isinstance(report, SurveyReport):
        return report.responses
    return len(report.lines)

