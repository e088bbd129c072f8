"""The customer survey (step 6): the programme's form, the answers typed from paper, the file
for iCRM, and the counts behind the survey report.

Each programme keeps its own copy of the form (`survey_forms`), made from the shipped default
on first use. Editing the form bumps its version; a stored response keeps the version it was
answered under, and the definitions of earlier versions stay in the audit log (the `before` of
each change), so an old response is always read with the questions it answered. Removing or
retyping a question that already has answers is allowed: the old answers are kept as they
were, and the change's summary says how many responses it concerns.
"""

from __future__ import annotations

import csv
import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import xlsxwriter
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.domain.actors import Actor
from mbfcare.domain.collation import name_sort_key
from mbfcare.domain.steps import OUTCOME_LABELS
from mbfcare.domain.survey import (
    CHOICE_KINDS,
    SCALE_MAX,
    SCALE_MIN,
    Answer,
    Question,
    SurveyDefinition,
    SurveyProblem,
    answer_text,
    load_survey,
    parse_answers,
    survey_from_dict,
    survey_to_dict,
    validate_answers,
)
from mbfcare.domain.values import format_date, format_msisdn, format_number
from mbfcare.errors import NotFoundError, UsageError, ValidationError
from mbfcare.io.safe_cells import csv_row
from mbfcare.models import AuditEntry, Batch, CareCase, Subscriber, SurveyForm, SurveyResponse
from mbfcare.models.base import utcnow
from mbfcare.reports.regional import safe_text
from mbfcare.services import audit
from mbfcare.services.care_work import find_case, local_today, record_step_in, require_case
from mbfcare.services.data_protection import in_scope, record_export, require_export
from mbfcare.services.exporting import atomic_output, check_output
from mbfcare.services.programmes import resolve_programme_id
from mbfcare.uow import UnitOfWork

logger = logging.getLogger(__name__)

__all__ = [
    "EXPORT_FIXED_HEADERS",
    "ExportResult",
    "QuestionSummary",
    "ResponseDTO",
    "SaveResult",
    "SurveyCaseDTO",
    "SurveyFormDTO",
    "SurveySummary",
    "describe_form_changes",
    "export_headers",
    "export_responses",
    "lookup_case",
    "parse_typed_answers",
    "response_for",
    "save_response",
    "survey_form",
    "survey_summary",
    "update_survey_form",
]

KIND_WORDS = {"scale": "thang điểm 1–5", "single": "chọn một", "multiple": "chọn nhiều",
              "text": "trả lời tự do"}
EXPORT_FIXED_HEADERS = ("Số thuê bao", "Họ tên", "Đợt", "Nhóm", "Ngày khảo sát")
EXPORT_LAST_HEADER = "Người nhập"
_SHORT_TEXT = 70


# --------------------------------------------------------------------------- DTOs


@dataclass(frozen=True)
class SurveyFormDTO:
    """A programme's survey form as it stands.

    `answer_counts` (question key -> responses answering it, over every version) is filled
    only when asked for (`with_counts=True`), for the form editor's warnings. `changes` are
    the sentences describing an update just saved (empty otherwise).
    """

    programme_id: int
    version: int
    definition: SurveyDefinition
    updated_at: dt.datetime
    responses: int = 0
    answer_counts: Mapping[str, int] = field(default_factory=dict)
    changes: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """The sentence for the status bar after an update."""
        if not self.changes:
            return f"Phiếu khảo sát không thay đổi (phiên bản {self.version})."
        return f"Đã lưu phiếu khảo sát, phiên bản {self.version}."

    def to_json(self) -> dict[str, Any]:
        """For `--json`."""
        return {"programme_id": self.programme_id, "version": self.version,
                "responses": self.responses, "changes": list(self.changes),
                "definition": survey_to_dict(self.definition)}


@dataclass(frozen=True)
class ResponseDTO:
    """One customer's stored answers, with the form version (and its questions) they answered."""

    id: int
    case_id: int
    form_version: int
    definition: SurveyDefinition
    answers: Mapping[str, Answer]
    answered_on: dt.date
    entered_by: str
    entered_at: dt.datetime
    exported_at: dt.datetime | None

    def texts(self) -> dict[str, str]:
        """Each answer as readable text ("4/5", "Gọi điện; SMS"), keyed by question."""
        out: dict[str, str] = {}
        for key, value in self.answers.items():
            try:
                question = self.definition.question(key)
            except KeyError:
                out[key] = answer_text(Question(key, key, "text"), value)
            else:
                out[key] = answer_text(question, value)
        return out

    def to_json(self) -> dict[str, Any]:
        """For `--json`."""
        return {"case_id": self.case_id, "form_version": self.form_version,
                "answers": dict(self.answers), "answered_on": self.answered_on.isoformat(),
                "entered_by": self.entered_by,
                "exported_at": self.exported_at.isoformat() if self.exported_at else None}


@dataclass(frozen=True)
class SurveyCaseDTO:
    """The customer whose paper form is being entered, and what is already stored."""

    case_id: int
    programme_id: int
    msisdn: str
    name: str
    batch: int
    group: int | None
    met: bool
    handover_on: dt.date | None
    survey_on: dt.date | None
    outcome: str | None
    response: ResponseDTO | None

    @property
    def title(self) -> str:
        """"NGUYỄN VĂN AN · 0901 000 001 · Nhóm 1 · Đợt 1"."""
        parts = [self.name.upper()] if self.name else []
        parts.append(format_msisdn(self.msisdn))
        if self.group is not None:
            parts.append(f"Nhóm {self.group}")
        parts.append(f"Đợt {self.batch}")
        return " · ".join(parts)

    @property
    def default_date(self) -> dt.date:
        """The date to propose: the stored one, the survey step's, the day met, else today."""
        if self.response is not None:
            return self.response.answered_on
        return self.survey_on or self.handover_on or local_today()

    @property
    def problem(self) -> str:
        """Why a response cannot be saved for this customer now (blank when it can)."""
        if self.outcome:
            return (f"Thuê bao đã đóng với kết quả '{OUTCOME_LABELS.get(self.outcome, '')}'; "
                    "không nhập phiếu khảo sát.")
        if not self.met:
            return ("Chưa ghi trao quà (hoặc ghi nợ quà): khảo sát làm khi gặp khách hàng, "
                    "ghi trao quà trước.")
        return ""


@dataclass(frozen=True)
class SaveResult:
    """What saving one paper form did."""

    case_id: int
    msisdn: str
    name: str
    answered_on: dt.date
    form_version: int
    replaced: bool
    changed: bool
    step_recorded: bool

    @property
    def who(self) -> str:
        """"Nguyễn Văn An (0901 000 001)"."""
        number = format_msisdn(self.msisdn)
        return f"{self.name} ({number})" if self.name else number

    @property
    def text(self) -> str:
        """The sentence for the status bar."""
        if not self.changed:
            return f"Phiếu khảo sát của {self.who} đã có, không thay đổi."
        if self.replaced:
            return f"Đã sửa phiếu khảo sát của {self.who}."
        return f"Đã lưu phiếu khảo sát của {self.who}."

    def to_json(self) -> dict[str, Any]:
        """For `--json`."""
        return {"case_id": self.case_id, "msisdn": self.msisdn,
                "answered_on": self.answered_on.isoformat(), "form_version": self.form_version,
                "replaced": self.replaced, "changed": self.changed,
                "step_recorded": self.step_recorded}


@dataclass(frozen=True)
class ExportResult:
    """What `export_responses` wrote."""

    file: str
    format: str  # `xlsx` | `csv`
    rows: int
    programme_id: int
    form_version: int
    batch: int | None
    only_new: bool

    @property
    def text(self) -> str:
        """The sentence for the status bar."""
        if not self.rows:
            return f"Không có phiếu khảo sát nào để xuất; đã ghi tệp trống: {self.file}"
        return f"Đã xuất {format_number(self.rows)} phiếu khảo sát cho iCRM: {self.file}"

    def to_json(self) -> dict[str, Any]:
        """For `--json`."""
        return {"file": self.file, "format": self.format, "rows": self.rows,
                "programme_id": self.programme_id, "form_version": self.form_version,
                "batch": self.batch, "only_new": self.only_new}


@dataclass(frozen=True)
class QuestionSummary:
    """The answers to one question: counts per answer, and the mean of a scale.

    `counts` holds (answer, number of responses) in the form's order: "1".."5" for a scale,
    the options for a choice question; empty for a text question. `answered` counts the
    responses with a usable answer; a response answered under an older version whose answer
    no longer fits the question (retyped, option removed) is left out of the counts.
    """

    key: str
    number: int
    text: str
    kind: str
    answered: int
    counts: tuple[tuple[str, int], ...]
    mean: float | None


@dataclass(frozen=True)
class SurveySummary:
    """The survey results of a programme (or one batch), for the survey report."""

    programme_id: int
    batch: int | None
    form_version: int
    title: str
    responses: int
    questions: tuple[QuestionSummary, ...]

    def to_json(self) -> dict[str, Any]:
        """For `--json`."""
        return {"programme_id": self.programme_id, "batch": self.batch,
                "form_version": self.form_version, "responses": self.responses,
                "questions": [{"key": q.key, "number": q.number, "text": q.text,
                               "kind": q.kind, "answered": q.answered,
                               "counts": dict(q.counts), "mean": q.mean}
                              for q in self.questions]}


# --------------------------------------------------------------------------- helpers


def _form_row(session: Session, programme_id: int, *, create: bool) -> SurveyForm | None:
    """The programme's form row; made from the shipped default when missing and `create`."""
    form = session.scalar(select(SurveyForm).where(SurveyForm.programme_id == programme_id))
    if form is not None or not create:
        return form
    definition = survey_to_dict(load_survey())
    try:
        with session.begin_nested():
            form = SurveyForm(programme_id=programme_id, version=1, definition=definition,
                              updated_at=utcnow())
            session.add(form)
    except IntegrityError:  # another workstation made it at the same instant
        form = session.scalar(select(SurveyForm).where(
            SurveyForm.programme_id == programme_id))
    assert form is not None
    logger.info("survey form of programme %d made from the default", programme_id)
    return form


def _definition(form: SurveyForm) -> SurveyDefinition:
    return survey_from_dict(form.definition)


def _definitions(session: Session, form: SurveyForm) -> dict[int, SurveyDefinition]:
    """Every version of the form: the current one, the earlier ones from the audit log."""
    versions = {form.version: _definition(form)}
    for before in session.scalars(select(AuditEntry.before).where(
            AuditEntry.entity == "survey_form", AuditEntry.entity_id == form.id,
            AuditEntry.action == "update_survey_form")):
        if not before:
            continue
        version = before.get("version")
        if isinstance(version, int) and version not in versions:
            versions[version] = survey_from_dict(before["definition"])
    return versions


def _form_dto(session: Session, form: SurveyForm, *, with_counts: bool = False,
              changes: tuple[str, ...] = ()) -> SurveyFormDTO:
    responses = session.scalar(
        select(func.count(SurveyResponse.id)).join(
            CareCase, CareCase.id == SurveyResponse.care_case_id)
        .where(CareCase.programme_id == form.programme_id)) or 0
    counts: dict[str, int] = {}
    if with_counts and responses:
        counts = _answer_counts(session, form.programme_id)
    return SurveyFormDTO(form.programme_id, form.version, _definition(form), form.updated_at,
                         responses, counts, changes)


def _answer_counts(session: Session, programme_id: int) -> dict[str, int]:
    counts: dict[str, int] = {}
    query = (select(SurveyResponse.answers)
             .join(CareCase, CareCase.id == SurveyResponse.care_case_id)
             .where(CareCase.programme_id == programme_id)
             .execution_options(yield_per=2000))
    for answers in session.scalars(query):
        for key, value in (answers or {}).items():
            if value not in (None, "", []):
                counts[key] = counts.get(key, 0) + 1
    return counts


def _blank(value: object) -> bool:
    return value is None or value == "" or value == []


def fits_question(question: Question, value: object) -> bool:
    """Whether a stored answer is one the question (as it stands) accepts."""
    if question.kind == "scale":
        return isinstance(value, int) and not isinstance(value, bool) and \
            SCALE_MIN <= value <= SCALE_MAX
    if question.kind == "single":
        return isinstance(value, str) and value in question.options
    if question.kind == "multiple":
        return isinstance(value, list) and bool(value) and \
            all(isinstance(v, str) and v in question.options for v in value)
    return isinstance(value, str) and bool(value.strip())


# --------------------------------------------------------------------------- the form


def survey_form(factory: sessionmaker[Session], programme_id: int | None, *,
                with_counts: bool = False) -> SurveyFormDTO:
    """The programme's survey form; made from the shipped default (version 1) on first use.

    Raises:
        NotFoundError: no such programme.
        UsageError: no programme named and several exist.
    """
    with UnitOfWork(factory) as uow:
        pid = resolve_programme_id(uow.session, programme_id)
        form = _form_row(uow.session, pid, create=False)
        if form is not None:
            return _form_dto(uow.session, form, with_counts=with_counts)
    with UnitOfWork(factory, write=True) as uow:
        form = _form_row(uow.session, pid, create=True)
        assert form is not None
        dto = _form_dto(uow.session, form, with_counts=with_counts)
        uow.commit()
    return dto


def describe_form_changes(before: SurveyDefinition, after: SurveyDefinition,
                          answer_counts: Mapping[str, int] | None = None) -> list[str]:
    """One sentence per change between two versions of a form (empty when the same).

    A question removed or retyped that already has answers says how many: those answers are
    kept, read with the version they answered.
    """
    counts = answer_counts or {}
    lines: list[str] = []
    if before.title != after.title:
        lines.append(f"Đổi tiêu đề: «{after.title}».")
    if before.intro != after.intro:
        lines.append("Đổi lời giới thiệu.")
    old = {q.key: q for q in before.questions}
    new = {q.key: q for q in after.questions}

    def kept(key: str) -> str:
        n = counts.get(key, 0)
        return (f" ({format_number(n)} phiếu đã trả lời câu này; câu trả lời cũ vẫn giữ "
                "theo phiên bản đã trả lời)") if n else ""

    for key, question in old.items():
        if key not in new:
            lines.append(f"Bỏ câu '{key}': {question.text}{kept(key)}.")
    for number, question in enumerate(after.questions, 1):
        previous = old.get(question.key)
        if previous is None:
            lines.append(f"Thêm câu {number} ('{question.key}'): {question.text}")
            continue
        if previous.kind != question.kind:
            lines.append(f"Câu '{question.key}': đổi loại {KIND_WORDS[previous.kind]} → "
                         f"{KIND_WORDS[question.kind]}{kept(question.key)}.")
        if previous.text != question.text:
            lines.append(f"Câu '{question.key}': sửa nội dung.")
        if previous.options != question.options and previous.kind == question.kind:
            lines.append(f"Câu '{question.key}': đổi các lựa chọn.")
        if (previous.low, previous.high) != (question.low, question.high) and \
                previous.kind == question.kind:
            lines.append(f"Câu '{question.key}': đổi nhãn thang điểm.")
        if previous.required != question.required:
            lines.append(f"Câu '{question.key}': "
                         + ("bắt buộc trả lời." if question.required else "không bắt buộc."))
    order_before = [q.key for q in before.questions if q.key in new]
    order_after = [q.key for q in after.questions if q.key in old]
    if order_before != order_after:
        lines.append("Đổi thứ tự câu hỏi.")
    return lines


def update_survey_form(factory: sessionmaker[Session], programme_id: int | None,
                       definition: Mapping[str, Any], actor: Actor) -> SurveyFormDTO:
    """Replace the programme's survey form (a new version), with an audit entry.

    The audit entry keeps the whole definition before and after, so responses stored under
    an earlier version stay readable with their own questions. Saving the same form again
    changes nothing (no new version).

    Raises:
        RuleError: the role may not change survey forms.
        ValidationError: the definition cannot be used (the sentence says which question).
        NotFoundError: no such programme.
    """
    actor.require("manage")
    try:
        new = survey_from_dict(definition)
    except SurveyProblem as exc:
        raise ValidationError(str(exc)) from exc
    new_dict = survey_to_dict(new)
    with UnitOfWork(factory, write=True) as uow:
        session = uow.session
        pid = resolve_programme_id(session, programme_id)
        form = _form_row(session, pid, create=True)
        assert form is not None
        old = _definition(form)
        if survey_to_dict(old) == new_dict:
            dto = _form_dto(session, form)
            uow.commit()  # the form may just have been made from the default
            return dto
        counts = _answer_counts(session, pid)
        lines = tuple(describe_form_changes(old, new, counts))
        before = {"version": form.version, "definition": survey_to_dict(old)}
        form.version += 1
        form.definition = new_dict
        form.updated_at = utcnow()
        session.flush()
        audit.record(session, user=actor.name, action="update_survey_form",
                     entity="survey_form", entity_id=form.id, programme_id=pid,
                     summary=f"Sửa phiếu khảo sát (phiên bản {before['version']} → "
                             f"{form.version}): " + " ".join(lines),
                     before=before, after={"version": form.version, "definition": new_dict})
        dto = _form_dto(session, form, changes=lines or ("Đổi cách ghi phiếu.",))
        uow.commit()
    logger.info("survey form of programme %d: version %d by %s", pid, dto.version,
                actor.name or "?")
    return dto


# --------------------------------------------------------------------------- responses


def _case(session: Session, programme_id: int | None, case: str | int) -> CareCase:
    if isinstance(case, int):
        row = session.get(CareCase, case)
        if row is None or (programme_id is not None and row.programme_id != programme_id):
            raise NotFoundError(f"Không có KH số {case} trong danh sách của chương trình.")
        return row
    return find_case(session, programme_id, case)


def _response_dto(session: Session, form: SurveyForm | None,
                  row: SurveyResponse) -> ResponseDTO:
    definitions = _definitions(session, form) if form is not None else {}
    definition = definitions.get(row.form_version) or (
        _definition(form) if form is not None else load_survey())
    return ResponseDTO(row.id, row.care_case_id, row.form_version, definition,
                       dict(row.answers or {}), row.answered_on, row.entered_by,
                       row.entered_at, row.exported_at)


def response_for(factory: sessionmaker[Session], case_id: int) -> ResponseDTO | None:
    """The stored answers of a care-list entry, with the questions of their form version."""
    with UnitOfWork(factory) as uow:
        session = uow.session
        row = session.scalar(select(SurveyResponse).where(
            SurveyResponse.care_case_id == case_id))
        if row is None:
            return None
        case = session.get(CareCase, case_id)
        assert case is not None
        return _response_dto(session, _form_row(session, case.programme_id, create=False), row)


def lookup_case(factory: sessionmaker[Session], programme_id: int | None,
                text: str | int, *, actor: Actor) -> SurveyCaseDTO:
    """The customer named by a scanned code (`MBFC-S-…`), a typed number, or a case id.

    Raises:
        PermissionProblem: the actor may not record, or the customer is not in his scope.
        UsageError: neither a number nor one of our codes.
        NotFoundError: not on a list of the programme.
    """
    actor.require("record")
    with UnitOfWork(factory) as uow:
        session = uow.session
        case = _case(session, programme_id, text)
        sub = session.get(Subscriber, case.subscriber_id)
        batch = session.get(Batch, case.batch_id)
        assert sub is not None and batch is not None
        require_case(actor, case, sub.msisdn)
        row = session.scalar(select(SurveyResponse).where(
            SurveyResponse.care_case_id == case.id))
        response = None
        if row is not None:
            form = _form_row(session, case.programme_id, create=False)
            response = _response_dto(session, form, row)
        return SurveyCaseDTO(
            case_id=case.id, programme_id=case.programme_id, msisdn=sub.msisdn,
            name=sub.name or "", batch=batch.number, group=case.group_number,
            met=case.handover_on is not None or case.gift_owed, handover_on=case.handover_on,
            survey_on=case.survey_on, outcome=case.outcome, response=response)


def parse_typed_answers(definition: SurveyDefinition,
                        typed: Mapping[str, str]) -> dict[str, Answer]:
    """The answers of one paper form typed as text (`overall=4`, `services=1 3`).

    Raises:
        ValidationError: a key the form does not have, or answers that do not fit (every
            problem, one sentence each).
    """
    known = {q.key for q in definition.questions}
    unknown = [key for key in typed if key not in known]
    if unknown:
        raise ValidationError(f"Phiếu khảo sát không có câu '{unknown[0]}'; các câu: "
                              f"{', '.join(q.key for q in definition.questions)}.")
    answers, problems = parse_answers(definition, typed)
    if problems:
        raise ValidationError(" ".join(problems.values()))
    return answers


def save_response(factory: sessionmaker[Session], programme_id: int | None,
                  case: str | int, answers: Mapping[str, Answer], *, actor: Actor,
                  answered_on: dt.date | None = None, reason: str = "") -> SaveResult:
    """Store one customer's answers and record the survey step, in one transaction.

    `case` is a scanned code, a number in any usual form, or a care-case id. The answers are
    in stored form (see `mbfcare.domain.survey`). The survey step is recorded with the
    answers (kept if already recorded that day); the step's rules apply, so a customer not
    yet met (no handover, no owed gift) is refused and nothing is stored. Replacing stored
    answers needs the right to correct and a reason; the audit log keeps both versions.

    Raises:
        ValidationError: the answers do not fit the form (every problem, one sentence each).
        UsageError: replacing without a reason; not a number or code.
        RuleError: the role may not, the customer was not met, the entry is closed, or the
            survey step was recorded on another day.
        NotFoundError: not on a list of the programme.
    """
    actor.require("record")
    cleaned = {key: value for key, value in answers.items() if not _blank(value)}
    with UnitOfWork(factory, write=True) as uow:
        session = uow.session
        row_case = _case(session, programme_id, case)
        form = _form_row(session, row_case.programme_id, create=True)
        assert form is not None
        definition = _definition(form)
        problems = validate_answers(definition, cleaned)
        if problems:
            raise ValidationError(" ".join(problems.values()))
        # Keep the form's order, so the stored JSON reads like the paper.
        ordered = {q.key: cleaned[q.key] for q in definition.questions if q.key in cleaned}
        sub = session.get(Subscriber, row_case.subscriber_id)
        assert sub is not None
        require_case(actor, row_case, sub.msisdn)
        existing = session.scalar(select(SurveyResponse).where(
            SurveyResponse.care_case_id == row_case.id))
        day = answered_on or row_case.survey_on or (
            existing.answered_on if existing is not None else None) or \
            row_case.handover_on or local_today()
        step_recorded = record_step_in(session, row_case, "survey", on=day, by="", value=None,
                                       actor=actor, source="phiếu khảo sát")
        who = format_msisdn(sub.msisdn)
        if existing is not None:
            if existing.answers == ordered and existing.answered_on == day and \
                    existing.form_version == form.version:
                result = SaveResult(row_case.id, sub.msisdn, sub.name or "", day, form.version,
                                    replaced=False, changed=step_recorded,
                                    step_recorded=step_recorded)
                uow.commit()
                return result
            actor.require("correct")
            if not reason.strip():
                raise UsageError(f"Phiếu khảo sát của {who} đã nhập ngày "
                                 f"{format_date(existing.answered_on)}; sửa lại cần ghi lý do.")
            before = {"form_version": existing.form_version, "answers": dict(existing.answers),
                      "answered_on": existing.answered_on, "entered_by": existing.entered_by}
            existing.form_version, existing.answers = form.version, ordered
            existing.answered_on, existing.entered_by = day, actor.name
            existing.entered_at, existing.exported_at = utcnow(), None
            row = existing
            action, summary = "replace_survey", f"Sửa phiếu khảo sát – {who}"
        else:
            before = None
            row = SurveyResponse(care_case_id=row_case.id, form_version=form.version,
                                 answers=ordered, answered_on=day, entered_by=actor.name,
                                 entered_at=utcnow())
            session.add(row)
            action, summary = "save_survey", f"Phiếu khảo sát – {who}"
        session.flush()
        audit.record(session, user=actor.name, action=action, entity="survey_response",
                     entity_id=row.id, programme_id=row_case.programme_id, summary=summary,
                     reason=reason.strip() if before is not None else "", before=before,
                     after={"form_version": form.version, "answers": ordered,
                            "answered_on": day, "entered_by": actor.name})
        result = SaveResult(row_case.id, sub.msisdn, sub.name or "", day, form.version,
                            replaced=before is not None, changed=True,
                            step_recorded=step_recorded)
        uow.commit()
    logger.info("survey response %s for case %d (form version %d)",
                "replaced" if result.replaced else "saved", result.case_id, result.form_version)
    return result


# --------------------------------------------------------------------------- export


def _short(text: str, limit: int = _SHORT_TEXT) -> str:
    """The start of a question for a column header, cut at a word."""
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0].rstrip(" ,;:(")
    return cut + "…"


@dataclass(frozen=True)
class _Column:
    key: str
    question: Question


def export_headers(definition: SurveyDefinition) -> list[str]:
    """The header row of the iCRM file for a form (without columns of removed questions)."""
    return [*EXPORT_FIXED_HEADERS,
            *(f"Câu {n}. {_short(q.text)}" for n, q in enumerate(definition.questions, 1)),
            EXPORT_LAST_HEADER]


@dataclass(frozen=True)
class _ExportRow:
    id: int
    msisdn: str
    name: str
    batch: int
    group: int | None
    answered_on: dt.date
    entered_by: str
    values: tuple[str | int | None, ...]


def _render(question: Question, value: object) -> str | int | None:
    if _blank(value):
        return None
    if question.kind == "scale" and isinstance(value, int) and not isinstance(value, bool):
        return value
    return answer_text(question, value)


def _write_xlsx(path: Path, headers: Sequence[str], rows: Sequence[_ExportRow]) -> None:
    book = xlsxwriter.Workbook(str(path), {
        "constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
        "strings_to_numbers": False,
    })
    try:
        ws = book.add_worksheet("KhaoSat")
        bold = book.add_format({"bold": True, "text_wrap": True, "valign": "top"})
        date = book.add_format({"num_format": "dd/mm/yyyy"})
        text = book.add_format({"num_format": "@"})
        for col, header in enumerate(headers):
            ws.write_string(0, col, header, bold)
        ws.set_column(0, 0, 13, text)
        ws.set_column(1, 1, 26)
        ws.set_column(2, 3, 6)
        ws.set_column(4, 4, 13)
        ws.set_column(5, len(headers) - 2, 22)
        ws.set_column(len(headers) - 1, len(headers) - 1, 18)
        ws.freeze_panes(1, 1)
        for r, row in enumerate(rows, start=1):
            ws.write_string(r, 0, row.msisdn, text)
            ws.write_string(r, 1, safe_text(row.name))
            ws.write_number(r, 2, row.batch)
            if row.group is not None:
                ws.write_number(r, 3, row.group)
            ws.write_datetime(r, 4, dt.datetime.combine(row.answered_on, dt.time()), date)
            for c, value in enumerate(row.values, start=5):
                if value is None:
                    continue
                if isinstance(value, int):
                    ws.write_number(r, c, value)
                else:
                    ws.write_string(r, c, safe_text(value))
            ws.write_string(r, 5 + len(row.values), safe_text(row.entered_by))
        if rows:
            ws.autofilter(0, 0, len(rows), len(headers) - 1)
    finally:
        book.close()


def _write_csv(path: Path, headers: Sequence[str], rows: Sequence[_ExportRow]) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
        writer.writerow(headers)
        for row in rows:
            writer.writerow(csv_row([
                row.msisdn, safe_text(row.name), row.batch,
                "" if row.group is None else row.group, row.answered_on.strftime("%d/%m/%Y"),
                *("" if v is None else v if isinstance(v, int) else safe_text(v)
                  for v in row.values),
                safe_text(row.entered_by)]))


def export_responses(factory: sessionmaker[Session], path: Path, programme_id: int | None, *,
                     batch: int | None = None, only_new: bool = False,
                     actor: Actor) -> ExportResult:
    """Write the stored answers for upload to iCRM, and mark them exported.

    One row per response: the number (text, 10 digits), name, batch, group, survey date
    (dd/mm/yyyy), one column per question of the current form (a scale as its number, a
    choice as the option's text, several joined by "; "), then who entered it. Answers to
    questions removed from the form since get their own columns at the end, so nothing
    answered is lost. `.xlsx` or `.csv` (UTF-8 with BOM) by the file's suffix.

    Raises:
        UsageError: neither `.xlsx` nor `.csv`, or the folder does not exist.
        NotFoundError: no such programme or batch.
        PermissionProblem: the role may not write personal data.
        StorageError: the file could not be written.
    """
    require_export(actor)
    out = Path(path)
    suffix = check_output(out, (".xlsx", ".csv"))
    with UnitOfWork(factory) as uow:
        session = uow.session
        pid = resolve_programme_id(session, programme_id)
        if batch is not None and session.scalar(select(Batch.id).where(
                Batch.programme_id == pid, Batch.number == batch)) is None:
            raise NotFoundError(f"Chương trình {pid} không có đợt {batch}.")
        form = _form_row(session, pid, create=False)
        versions = _definitions(session, form) if form is not None else {1: load_survey()}
        current_version = form.version if form is not None else 1
        current = versions[current_version]
        query = (select(SurveyResponse, Subscriber.msisdn, Subscriber.name, Batch.number,
                        CareCase.group_number, CareCase.district, CareCase.store)
                 .join(CareCase, CareCase.id == SurveyResponse.care_case_id)
                 .join(Subscriber, Subscriber.id == CareCase.subscriber_id)
                 .join(Batch, Batch.id == CareCase.batch_id)
                 .where(CareCase.programme_id == pid))
        if batch is not None:
            query = query.where(Batch.number == batch)
        if only_new:
            query = query.where(SurveyResponse.exported_at.is_(None))
        # A district head's or a clerk's file holds only his own customers' answers.
        found = [(r.id, r.form_version, dict(r.answers or {}), r.answered_on, r.entered_by,
                  msisdn, name or "", number, group)
                 for r, msisdn, name, number, group, district, store in session.execute(query)
                 if in_scope(actor, district, store)]
    columns = [_Column(q.key, q) for q in current.questions]
    keys = {q.key for q in current.questions}
    extra: list[_Column] = []
    extra_headers: list[str] = []
    for _id, version, answers, *_rest in found:
        for key in answers:
            if key not in keys:
                keys.add(key)
                old = versions.get(version, current)
                try:
                    question = old.question(key)
                except KeyError:
                    question = Question(key, key, "text")
                extra.append(_Column(key, question))
                extra_headers.append(f"{_short(question.text)} (câu đã bỏ, phiên bản {version})")
    headers = export_headers(current)
    headers[-1:-1] = extra_headers
    rows: list[_ExportRow] = []
    for rid, version, answers, answered_on, entered_by, msisdn, name, number, group in found:
        definition = versions.get(version, current)
        values: list[str | int | None] = []
        for column in [*columns, *extra]:
            try:
                question = definition.question(column.key)
            except KeyError:
                question = column.question
            values.append(_render(question, answers.get(column.key)))
        rows.append(_ExportRow(rid, msisdn, name, number, group, answered_on, entered_by,
                               tuple(values)))
    rows.sort(key=lambda r: (r.batch, r.group if r.group is not None else 99,
                             r.answered_on, name_sort_key(r.name), r.msisdn))
    with atomic_output(out, suffix) as tmp:
        (_write_csv if suffix == ".csv" else _write_xlsx)(tmp, headers, rows)
    if rows:
        now = utcnow()
        with UnitOfWork(factory, write=True) as uow:
            ids = [r.id for r in rows]
            for start in range(0, len(ids), 500):
                for response in uow.session.scalars(select(SurveyResponse).where(
                        SurveyResponse.id.in_(ids[start:start + 500]))):
                    response.exported_at = now
            record_export(uow.session, actor, kind="survey_answers", file=out,
                          count=len(rows), programme_id=pid,
                          details={"batch": batch, "only_new": only_new})
            uow.commit()
    logger.info("survey export of programme %d: %d rows, %s", pid, len(rows), out.name)
    return ExportResult(str(out), suffix[1:], len(rows), pid, current_version, batch, only_new)


# --------------------------------------------------------------------------- summary


def survey_summary(factory: sessionmaker[Session], programme_id: int | None,
                   batch: int | None = None) -> SurveySummary:
    """Counts per question of the current form: per score and the mean for a scale, per
    option for a choice question, how many answered a text question.

    Raises:
        NotFoundError: no such programme or batch.
    """
    with UnitOfWork(factory) as uow:
        session = uow.session
        pid = resolve_programme_id(session, programme_id)
        if batch is not None and session.scalar(select(Batch.id).where(
                Batch.programme_id == pid, Batch.number == batch)) is None:
            raise NotFoundError(f"Chương trình {pid} không có đợt {batch}.")
        form = _form_row(session, pid, create=False)
        definition = _definition(form) if form is not None else load_survey()
        version = form.version if form is not None else 1
        query = (select(SurveyResponse.answers)
                 .join(CareCase, CareCase.id == SurveyResponse.care_case_id)
                 .where(CareCase.programme_id == pid)
                 .execution_options(yield_per=2000))
        if batch is not None:
            query = query.join(Batch, Batch.id == CareCase.batch_id).where(
                Batch.number == batch)
        all_answers = [dict(a or {}) for a in session.scalars(query)]
    summaries: list[QuestionSummary] = []
    for number, question in enumerate(definition.questions, 1):
        values = [a.get(question.key) for a in all_answers]
        usable = [v for v in values if not _blank(v) and fits_question(question, v)]
        counts: tuple[tuple[str, int], ...] = ()
        mean: float | None = None
        if question.kind == "scale":
            scores = [v for v in usable if isinstance(v, int)]
            counts = tuple((str(s), scores.count(s)) for s in range(SCALE_MIN, SCALE_MAX + 1))
            mean = round(sum(scores) / len(scores), 2) if scores else None
        elif question.kind in CHOICE_KINDS:
            tally = dict.fromkeys(question.options, 0)
            for value in usable:
                for option in (value if isinstance(value, list) else [value]):
                    if isinstance(option, str):
                        tally[option] += 1
            counts = tuple(tally.items())
        summaries.append(QuestionSummary(question.key, number, question.text, question.kind,
                                         len(usable), counts, mean))
    return SurveySummary(pid, batch, version, definition.title, len(all_answers),
                         tuple(summaries))
