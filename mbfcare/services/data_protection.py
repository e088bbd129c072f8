"""Personal data protection (Law 91/2025/QH15, Decree 356/2025/NĐ-CP): who may write personal
data to a file, what the audit log keeps of it, the office's masking setting, and the purge of
a closed programme's personal data.

Every file or print that holds customers' personal data passes through `require_export`
(role and scope) and `record_export` (one audit entry: what kind, which file, how many rows or
pages, which programme — never the numbers themselves). Aggregated reports need only the
`report` permission.

The purge erases what identifies a person and keeps what is counted: care cases, steps,
groups, districts, stores, amounts, handovers, survey scores. The audit log is append-only
(database triggers), so the purge cannot rewrite it; it records that the purge happened, and
`audit.record` has masked ID and contact numbers and hidden addresses and birth dates in every
entry since this version (see `domain.masking.mask_audit_values`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.domain.actors import Actor, PermissionProblem
from mbfcare.domain.masking import MASK_DEFAULT, MASK_SETTING
from mbfcare.domain.values import format_number
from mbfcare.domain.vntext import fold
from mbfcare.errors import RuleError, UsageError
from mbfcare.models import (
    Batch,
    CareCase,
    Handover,
    ProfileCollection,
    Programme,
    Subscriber,
    SurveyForm,
    SurveyResponse,
)
from mbfcare.models.accounts import OfficeSetting
from mbfcare.models.base import utcnow
from mbfcare.models.care import LeftOut
from mbfcare.services import audit
from mbfcare.services.programmes import resolve_programme_id
from mbfcare.uow import UnitOfWork

logger = logging.getLogger(__name__)

SETTING_DEFAULTS: dict[str, Any] = {MASK_SETTING: MASK_DEFAULT}
SETTING_WORDS = {MASK_SETTING: "Che số CCCD/CMND và số liên hệ trong danh sách và báo cáo"}

# What each kind of file is called in the audit log's summary.
EXPORT_KINDS = {
    "regional": "Tệp gửi MBF KV5",
    "care_list": "Danh sách chăm sóc",
    "care_list_view": "Danh sách chăm sóc (đang xem)",
    "profiles": "Thông tin chuẩn hóa cho iCRM",
    "survey_answers": "Câu trả lời khảo sát cho iCRM",
    "sms": "Danh sách SMS",
    "receipts": "Biên bản giao nhận quà",
    "signature-list": "Danh sách ký nhận",
    "surveys": "Phiếu khảo sát",
    "info-forms": "Phiếu thu thập thông tin",
    "invitations": "Giấy mời nhận quà",
    "report_stock": "Báo cáo quyết toán quà",
    "stock_workbook": "Kho quà (tồn kho, sổ kho, quà nợ)",
    "report_survey": "Báo cáo kết quả khảo sát",
    "consolidated": "Tệp tổng hợp các tỉnh",
    "audit": "Nhật ký thao tác",
}
_SURVEY_FORMS = "survey_forms"

PROGRAMME_OPEN, PROGRAMME_CLOSED = "open", "closed"


# --------------------------------------------------------------------------- office settings


def _setting_in(session: Session, key: str) -> Any:
    row = session.get(OfficeSetting, key)
    return SETTING_DEFAULTS.get(key) if row is None else row.value


def office_setting(factory: sessionmaker[Session], key: str) -> Any:
    """The office-wide setting `key` (shared by every workstation), or its default.

    Raises:
        UsageError: no such setting.
    """
    if key not in SETTING_DEFAULTS:
        raise UsageError(f"Không có cài đặt '{key}'.")
    with UnitOfWork(factory) as uow:
        return _setting_in(uow.session, key)


def masking_on(factory: sessionmaker[Session]) -> bool:
    """Whether lists and reports show ID and contact numbers masked (the default)."""
    return bool(office_setting(factory, MASK_SETTING))


def set_office_setting(factory: sessionmaker[Session], actor: Actor, key: str,
                       value: Any) -> Any:
    """Change an office-wide setting, with an audit entry (before and after).

    Args:
        factory: the session factory.
        actor: who changes it; the role must allow `users` (administrator).
        key: a key of `SETTING_DEFAULTS`.
        value: the new value (JSON-ready; the mask setting takes a bool).

    Returns:
        The value now in force.

    Raises:
        PermissionProblem: not an administrator.
        UsageError: no such setting, or a value of the wrong kind.
    """
    actor.require("users")
    if key not in SETTING_DEFAULTS:
        raise UsageError(f"Không có cài đặt '{key}'.")
    if isinstance(SETTING_DEFAULTS[key], bool) and not isinstance(value, bool):
        raise UsageError(f"Cài đặt '{key}' chỉ nhận đúng hoặc sai.")
    with UnitOfWork(factory, write=True) as uow:
        session = uow.session
        before = _setting_in(session, key)
        if before == value:
            return value
        row = session.get(OfficeSetting, key)
        if row is None:
            row = OfficeSetting(key=key, value=value)
            session.add(row)
        row.value = value
        row.updated_at = utcnow()
        row.updated_by = actor.name
        audit.record(session, user=actor.name, action="office_setting", entity="office_setting",
                     entity_id=None, summary=f"{SETTING_WORDS.get(key, key)}: "
                                             f"{_on_off(before)} → {_on_off(value)}",
                     before={"key": key, "value": before}, after={"key": key, "value": value})
        uow.commit()
    logger.info("office setting %s set to %r by %s", key, value, actor.name)
    return value


def _on_off(value: Any) -> str:
    if isinstance(value, bool):
        return "bật" if value else "tắt"
    return str(value)


# --------------------------------------------------------------------------- exports


def require_export(actor: Actor, *, district: str | None = None,
                   store: str | None = None) -> None:
    """Refuse unless the actor may write personal data to a file, and, when the request names
    a district or store, unless it lies within the actor's scope.

    A district head names only his district; a clerk only his store (his district's other
    stores are not his). Names match whatever the case, diacritics or `Quận`/`Huyện` prefix.

    Raises:
        PermissionProblem: the role may not, or the district or store named is another's.
    """
    actor.require("export_personal")
    if actor.role == "head" and actor.district and district and \
            _place_key(district) != _place_key(actor.district):
        raise PermissionProblem(f"Quận/huyện {district} không thuộc quận/huyện {actor.district} "
                                "của bạn; chỉ người phụ trách nơi đó hoặc quản trị mới xuất "
                                "được.")
    if actor.role == "clerk" and actor.store and store and fold(store) != fold(actor.store):
        raise PermissionProblem(f"Cửa hàng {store} không thuộc cửa hàng {actor.store} của bạn; "
                                "chỉ người phụ trách nơi đó hoặc quản trị mới xuất được.")


def require_whole_programme(actor: Actor, what: str) -> None:
    """Refuse a file that is by nature the whole programme's (the regional workbook) to an
    actor who sees only part of the lists.

    Raises:
        PermissionProblem: the role may not write personal data, or sees only a part.
    """
    actor.require("export_personal")
    if actor.scoped:
        raise PermissionProblem(f"{what} gồm mọi quận/huyện của chương trình; chỉ quản trị xuất "
                                "được.")


def _place_key(name: str) -> str:
    words = fold(name).split()
    while words and words[0] in ("quan", "huyen", "thi", "xa", "thanh", "pho", "tp", "tp."):
        words = words[1:]
    return " ".join(words)


def in_scope(actor: Actor, district: str | None, store: str | None) -> bool:
    """Whether a row of `district` and `store` may go into the actor's file."""
    return actor.sees(district, store)


def scope_words(actor: Actor) -> str:
    """`quận/huyện Lê Chân`, `cửa hàng …` or "" for the whole programme (for summaries)."""
    if actor.role == "head" and actor.district:
        return f"quận/huyện {actor.district}"
    if actor.role == "clerk" and actor.store:
        return f"cửa hàng {actor.store}"
    return ""


def record_export(session: Session, actor: Actor, *, kind: str, file: str | Path,
                  count: int, programme_id: int | None, unit: str = "dòng",
                  action: str = "export", details: dict[str, Any] | None = None) -> None:
    """Append the audit entry of one export or print, in the caller's write transaction.

    The summary names the kind, the file (its name, not the folder), the number of rows or
    pages and the scope; never a number or name of a customer.
    """
    name = Path(file).name
    scope = scope_words(actor)
    summary = (f"{EXPORT_KINDS.get(kind, kind)}: {name}, {format_number(count)} {unit}"
               + (f" ({scope})" if scope else ""))
    audit.record(session, user=actor.name, action=action, entity="file", entity_id=None,
                 programme_id=programme_id, summary=summary,
                 after={"kind": kind, "file": name, unit_key(unit): count,
                        "role": actor.role, **({"scope": scope} if scope else {}),
                        **(details or {})})


def unit_key(unit: str) -> str:
    """`trang` -> `pages`, anything else -> `rows` (the audit entry's JSON key)."""
    return "pages" if unit == "trang" else "rows"


def audit_export(factory: sessionmaker[Session], actor: Actor, *, kind: str, file: str | Path,
                 count: int, programme_id: int | None, unit: str = "dòng",
                 action: str = "export", details: dict[str, Any] | None = None) -> None:
    """`record_export` in its own write unit of work (after the file was written)."""
    with UnitOfWork(factory, write=True) as uow:
        record_export(uow.session, actor, kind=kind, file=file, count=count,
                      programme_id=programme_id, unit=unit, action=action, details=details)
        uow.commit()


# --------------------------------------------------------------------------- close and purge


@dataclass(frozen=True)
class ProgrammeStatusResult:
    """A programme closed (or found closed already)."""

    programme_id: int
    name: str
    status: str
    changed: bool

    @property
    def text(self) -> str:
        """The sentence for the status bar and the command line."""
        if not self.changed:
            return f"Chương trình {self.programme_id} ({self.name}) đã đóng từ trước."
        return (f"Đã đóng chương trình {self.programme_id} ({self.name}); có thể xóa dữ liệu "
                "cá nhân của chương trình.")

    def to_json(self) -> dict[str, Any]:
        """The command line's JSON."""
        return {"programme_id": self.programme_id, "status": self.status,
                "changed": self.changed}


def close_programme(factory: sessionmaker[Session], actor: Actor,
                    programme_id: int | None = None) -> ProgrammeStatusResult:
    """Close a programme: its lists are done; its personal data may then be purged.

    Raises:
        PermissionProblem: the role may not change the programme.
        NotFoundError, UsageError: no such programme, or several and none named.
    """
    actor.require("manage")
    with UnitOfWork(factory, write=True) as uow:
        session = uow.session
        pid = resolve_programme_id(session, programme_id)
        programme = session.get(Programme, pid)
        assert programme is not None  # resolve_programme_id checked it
        if programme.status == PROGRAMME_CLOSED:
            return ProgrammeStatusResult(pid, programme.name, programme.status, False)
        before = programme.status
        programme.status = PROGRAMME_CLOSED
        programme.row_version += 1
        audit.record(session, user=actor.name, action="close_programme", entity="programme",
                     entity_id=pid, programme_id=pid,
                     summary=f"Đóng chương trình {pid} ({programme.name})",
                     before={"status": before}, after={"status": PROGRAMME_CLOSED})
        uow.commit()
        result = ProgrammeStatusResult(pid, programme.name, PROGRAMME_CLOSED, True)
    logger.info("programme %d closed by %s", pid, actor.name)
    return result


@dataclass(frozen=True)
class PurgePreview:
    """What a purge would erase and what it keeps, for the confirmation."""

    programme_id: int
    name: str
    status: str
    purged_at: dt.datetime | None
    care_cases: int
    profiles: int
    survey_responses: int
    subscribers: int  # subscribers whose own personal fields go (in no open programme)
    subscribers_kept: int  # subscribers still in an open programme: their fields stay

    @property
    def closed(self) -> bool:
        """Whether the purge may run."""
        return self.status == PROGRAMME_CLOSED

    @property
    def text(self) -> str:
        """The confirmation's words: what is erased, what is kept."""
        n = format_number
        return (f"Xóa dữ liệu cá nhân của chương trình {self.programme_id} ({self.name}): họ "
                f"tên, số CCCD/CMND, ngày sinh, địa chỉ của {n(self.profiles)} phiếu thu thập "
                f"thông tin, câu trả lời tự do của {n(self.survey_responses)} phiếu khảo sát, "
                f"ghi chú của các hồ sơ, và họ tên, số giấy tờ, ngày sinh, địa chỉ, số liên hệ "
                f"của {n(self.subscribers)} thuê bao không còn trong chương trình nào đang mở "
                f"({n(self.subscribers_kept)} thuê bao còn trong chương trình đang mở được giữ "
                f"nguyên). Vẫn giữ {n(self.care_cases)} hồ sơ chăm sóc với các bước, nhóm, "
                "quận/huyện, cửa hàng, mức cước, quà đã trao và điểm khảo sát, nên các báo cáo "
                "số lượng không đổi. Không hoàn tác được.")

    def to_json(self) -> dict[str, Any]:
        """The command line's JSON."""
        return {"programme_id": self.programme_id, "status": self.status,
                "purged_at": self.purged_at.isoformat() if self.purged_at else None,
                "care_cases": self.care_cases, "profiles": self.profiles,
                "survey_responses": self.survey_responses, "subscribers": self.subscribers,
                "subscribers_kept": self.subscribers_kept}


@dataclass(frozen=True)
class PurgeResult:
    """What a purge erased (0 everywhere when it had been done before)."""

    programme_id: int
    name: str
    profiles: int
    survey_answers: int
    notes: int
    subscribers: int
    care_cases_kept: int
    purged_at: dt.datetime
    already: bool

    @property
    def text(self) -> str:
        """The sentence for the status bar and the command line."""
        n = format_number
        if self.already:
            return (f"Dữ liệu cá nhân của chương trình {self.programme_id} đã được xóa từ "
                    f"{self.purged_at.astimezone():%d/%m/%Y %H:%M}; không còn gì để xóa.")
        return (f"Đã xóa dữ liệu cá nhân của chương trình {self.programme_id} ({self.name}): "
                f"{n(self.profiles)} phiếu thu thập thông tin, {n(self.survey_answers)} câu trả "
                f"lời tự do, {n(self.notes)} ghi chú, {n(self.subscribers)} thuê bao. Giữ "
                f"{n(self.care_cases_kept)} hồ sơ chăm sóc và mọi số liệu.")

    def to_json(self) -> dict[str, Any]:
        """The command line's JSON."""
        return {"programme_id": self.programme_id, "profiles": self.profiles,
                "survey_answers": self.survey_answers, "notes": self.notes,
                "subscribers": self.subscribers, "care_cases_kept": self.care_cases_kept,
                "purged_at": self.purged_at.isoformat(), "already": self.already}


def _programme_subscribers(session: Session, pid: int) -> set[int]:
    ids = set(session.scalars(select(CareCase.subscriber_id).where(CareCase.programme_id == pid)))
    ids |= set(session.scalars(select(LeftOut.subscriber_id).join(
        Batch, Batch.id == LeftOut.batch_id).where(Batch.programme_id == pid)))
    return ids


def _in_open_programme(session: Session, pid: int) -> set[int]:
    other_open = select(Programme.id).where(Programme.id != pid,
                                            Programme.status != PROGRAMME_CLOSED)
    ids = set(session.scalars(select(CareCase.subscriber_id).where(
        CareCase.programme_id.in_(other_open))))
    ids |= set(session.scalars(select(LeftOut.subscriber_id).join(
        Batch, Batch.id == LeftOut.batch_id).where(Batch.programme_id.in_(other_open))))
    return ids


def _updated(session: Session, statement: Any) -> int:
    """Run an UPDATE and return how many rows it changed."""
    result: Any = session.execute(statement.execution_options(synchronize_session=False))
    return int(result.rowcount or 0)


def _count(session: Session, query: Any) -> int:
    return len(session.execute(query).all())


def purge_preview(factory: sessionmaker[Session], actor: Actor,
                  programme_id: int | None = None) -> PurgePreview:
    """What `purge_personal_data` would erase and keep, for its confirmation.

    Raises:
        PermissionProblem: not an administrator.
    """
    actor.require("users")
    with UnitOfWork(factory) as uow:
        session = uow.session
        pid = resolve_programme_id(session, programme_id)
        programme = session.get(Programme, pid)
        assert programme is not None  # resolve_programme_id checked it
        people = _programme_subscribers(session, pid)
        kept = people & _in_open_programme(session, pid)
        cases = _count(session, select(CareCase.id).where(CareCase.programme_id == pid))
        profiles = _count(session, select(ProfileCollection.id).where(
            ProfileCollection.programme_id == pid))
        responses = _count(session, select(SurveyResponse.id).join(
            CareCase, CareCase.id == SurveyResponse.care_case_id).where(
            CareCase.programme_id == pid))
        return PurgePreview(pid, programme.name, programme.status, programme.purged_at, cases,
                            profiles, responses, len(people - kept), len(kept))


def _text_keys(session: Session, pid: int) -> set[str]:
    """The keys of free-text questions in every version of the programme's survey form."""
    from mbfcare.services.surveys import _definitions  # the form's versions live there

    form = session.scalar(select(SurveyForm).where(SurveyForm.programme_id == pid))
    if form is None:
        from mbfcare.domain.survey import load_survey

        return {q.key for q in load_survey().questions if q.kind == "text"}
    keys: set[str] = set()
    for definition in _definitions(session, form).values():
        keys |= {q.key for q in definition.questions if q.kind == "text"}
    return keys


ERASED_ANSWER = "(đã xóa)"
"""What a purged free-text survey answer holds."""

# The birth date column cannot be empty; an erased one holds this date, which no customer has.
ERASED_BIRTH_DATE = dt.date(1900, 1, 1)


def _chunks(ids: Sequence[int], size: int = 500) -> list[Sequence[int]]:
    return [ids[i:i + size] for i in range(0, len(ids), size)]


def purge_personal_data(factory: sessionmaker[Session], actor: Actor,
                        programme_id: int | None = None) -> PurgeResult:
    """Erase the personal data of a closed programme and keep its anonymous counts.

    Erased, in one transaction: in the programme's collected profiles the name, ID number,
    birth date (set to `ERASED_BIRTH_DATE`; the column cannot be empty) and address; the
    free-text answers of its survey responses; the notes of its care cases and handovers and
    the folded name kept for search; and, for the subscribers of the programme who are in no
    open programme, their name, ID number, birth date, address and contact number. Kept: care
    cases, steps, groups, districts, stores, charges, handovers, stock, survey scores and
    choices, so every progress, regional and stock count is the same afterwards. The audit
    log is append-only and is not rewritten; one entry records the purge and its counts.
    Running it again erases nothing and writes no second entry. Runs on a worker; no UI
    calls here.

    Raises:
        PermissionProblem: not an administrator.
        RuleError: the programme is still open.
        NotFoundError, UsageError: no such programme, or several and none named.
    """
    actor.require("users")
    with UnitOfWork(factory, write=True) as uow:
        session = uow.session
        pid = resolve_programme_id(session, programme_id)
        programme = session.get(Programme, pid)
        assert programme is not None  # resolve_programme_id checked it
        if programme.status != PROGRAMME_CLOSED:
            raise RuleError(f"Chương trình {pid} ({programme.name}) còn đang mở: đóng chương "
                            "trình trước (mbfcare programme close) rồi mới xóa dữ liệu cá nhân.")
        profiles = _updated(
            session, update(ProfileCollection)
            .where(ProfileCollection.programme_id == pid,
                   (ProfileCollection.name != "") | (ProfileCollection.id_number != "")
                   | (ProfileCollection.address != "")
                   | (ProfileCollection.birth_date != ERASED_BIRTH_DATE))
            .values(name="", id_number="", address="", birth_date=ERASED_BIRTH_DATE,
                    row_version=ProfileCollection.row_version + 1))
        text_keys = _text_keys(session, pid)
        answers = 0
        if text_keys:
            for response in session.scalars(select(SurveyResponse).join(
                    CareCase, CareCase.id == SurveyResponse.care_case_id).where(
                    CareCase.programme_id == pid)):
                current = dict(response.answers or {})
                erased = {k for k in text_keys
                          if current.get(k) not in (None, "", ERASED_ANSWER)}
                if erased:
                    # A marker, not a blank: "answered in words" stays counted.
                    response.answers = {k: (ERASED_ANSWER if k in erased else v)
                                        for k, v in current.items()}
                    answers += len(erased)
        notes = _updated(
            session, update(CareCase)
            .where(CareCase.programme_id == pid,
                   CareCase.search_name.is_not(None) | CareCase.decision_note.is_not(None)
                   | CareCase.outcome_note.is_not(None))
            .values(search_name=None, decision_note=None, outcome_note=None,
                    row_version=CareCase.row_version + 1))
        notes += _updated(session, update(Handover).where(
            Handover.programme_id == pid, Handover.note != "").values(note=""))
        people = sorted(_programme_subscribers(session, pid) - _in_open_programme(session, pid))
        subscribers = 0
        for chunk in _chunks(people):
            subscribers += _updated(
                session, update(Subscriber)
                .where(Subscriber.id.in_(chunk),
                       Subscriber.name.is_not(None) | Subscriber.address.is_not(None)
                       | Subscriber.id_number.is_not(None) | Subscriber.birth_date.is_not(None)
                       | Subscriber.contact_number.is_not(None))
                .values(name=None, address=None, id_number=None, birth_date=None,
                        contact_number=None))
        kept = _count(session, select(CareCase.id).where(CareCase.programme_id == pid))
        erased_any = bool(profiles or answers or notes or subscribers)
        if programme.purged_at is not None and not erased_any:
            return PurgeResult(pid, programme.name, 0, 0, 0, 0, kept, programme.purged_at,
                               True)
        purged_at = programme.purged_at or utcnow()
        programme.purged_at = purged_at
        programme.row_version += 1
        audit.record(session, user=actor.name, action="purge_personal_data",
                     entity="programme", entity_id=pid, programme_id=pid,
                     summary=f"Xóa dữ liệu cá nhân của chương trình {pid} ({programme.name}): "
                             f"{format_number(profiles)} phiếu thu thập, "
                             f"{format_number(answers)} câu trả lời tự do, "
                             f"{format_number(notes)} ghi chú, "
                             f"{format_number(subscribers)} thuê bao",
                     after={"profiles": profiles, "survey_answers": answers, "notes": notes,
                            "subscribers": subscribers, "care_cases_kept": kept})
        uow.commit()
        result = PurgeResult(pid, programme.name, profiles, answers, notes, subscribers, kept,
                             purged_at, False)
    logger.info("personal data of programme %d purged by %s: %d profiles, %d answers, "
                "%d notes, %d subscribers", pid, actor.name, profiles, answers, notes,
                subscribers)
    return result
