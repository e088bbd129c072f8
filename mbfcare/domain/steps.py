"""The six steps of the care (PROGRAM.md §3), how they differ between the two groups, the
outcomes that close an entry, and the state an entry is in because of its steps."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from mbfcare.domain.values import format_date

STEPS = ("sms", "data_check", "handover", "package_advice", "questions", "survey")
"""In the document's order: SMS, data check, gift handover, package advice, questions, survey."""

RECORDABLE_STEPS = ("sms", "data_check", "package_advice", "questions", "survey")
"""Steps recorded with `record step`; the handover has its own command (it moves stock)."""

OUTCOMES = ("unreachable", "refused", "moved", "other")

STEP_LABELS = {
    "sms": "Gửi SMS",
    "data_check": "Kiểm tra dữ liệu",
    "handover": "Trao quà",
    "package_advice": "Tư vấn gói cước",
    "questions": "Giải đáp thắc mắc",
    "survey": "Khảo sát",
}
STEP_SHORT = {"sms": "SMS", "data_check": "DL", "handover": "Quà", "package_advice": "Gói",
              "questions": "Hỏi", "survey": "KS"}

OUTCOME_LABELS = {
    "unreachable": "Không liên lạc được",
    "refused": "Từ chối",
    "moved": "Chuyển đi",
    "other": "Khác",
}

PROGRESS = ("not_started", "in_progress", "done", "closed")
PROGRESS_LABELS = {
    "not_started": "Chưa bắt đầu",
    "in_progress": "Đang thực hiện",
    "done": "Hoàn thành",
    "closed": "Đã đóng",
}

# What each step means for a home visit (group 1) and a store pick-up (group 2), in the
# document's words: the same six steps, done by different people in a different order.
_STEP_TITLES = {
    "visit": {
        "sms": "Phòng CSKH nhắn tin thông báo quà tặng",
        "data_check": "Kiểm tra dữ liệu trên iCRM trước khi đến; thu thập thông tin nếu "
                      "chưa chuẩn hóa",
        "handover": "Trưởng MF Quận/Huyện đến tặng quà tận nơi",
        "package_advice": "Tư vấn gói cước ưu đãi",
        "questions": "Giải đáp thắc mắc về dịch vụ, chính sách",
        "survey": "Khảo sát ý kiến khách hàng",
    },
    "store": {
        "sms": "Nhắn tin mời KH đến cửa hàng/TTGD nhận quà",
        "data_check": "GDV kiểm tra dữ liệu trên iCRM khi KH đến; thu thập thông tin nếu "
                      "chưa chuẩn hóa",
        "handover": "GDV trao quà tại cửa hàng (Trưởng MF Quận/Huyện quản lý)",
        "package_advice": "Tư vấn gói cước ưu đãi",
        "questions": "Giải đáp thắc mắc về dịch vụ, chính sách",
        "survey": "Khảo sát ý kiến khách hàng",
    },
}


class StepProblem(ValueError):
    """A step cannot be recorded as asked; the message is one sentence for the user."""


def step_title(step: str, delivery: str | None) -> str:
    """What the step is for this entry's group, in the document's words."""
    return _STEP_TITLES.get(delivery or "store", _STEP_TITLES["store"])[step]


def care_progress(done: Mapping[str, object], outcome: str | None,
                  gift_owed: bool = False) -> str:
    """The entry's state from its steps: closed with an outcome, done, in progress, not started.

    `done` maps step -> its date for the steps recorded (falsy values are not done).
    """
    if outcome:
        return "closed"
    recorded = {step for step in STEPS if done.get(step)}
    if len(recorded) == len(STEPS):
        return "done"
    if recorded or gift_owed:
        return "in_progress"
    return "not_started"


def check_step(step: str, delivery: str | None, on: dt.date, done: Mapping[str, dt.date | None],
               *, today: dt.date, met: bool) -> None:
    """Refuse a step that contradicts the order of §3 for the entry's group.

    Args:
        step: one of `STEPS`.
        delivery: `visit` (group 1, home visit) or `store` (group 2, store pick-up).
        on: the date the step was done.
        done: the dates of the steps already recorded.
        today: the local date (a step cannot be dated in the future).
        met: the customer has been met (the gift handed over, or recorded as owed).

    Raises:
        StepProblem: with the sentence to show.
    """
    label = STEP_LABELS[step]
    if on > today:
        raise StepProblem(f"{label}: ngày {format_date(on)} chưa tới.")
    sms, handover = done.get("sms"), done.get("handover")
    if step == "sms" and handover is not None and on > handover:
        raise StepProblem("Gửi SMS phải trước khi trao quà "
                          f"(đã trao ngày {format_date(handover)}).")
    if step == "handover" and sms is not None and on < sms:
        raise StepProblem(f"Trao quà không thể trước ngày gửi SMS ({format_date(sms)}).")
    if step == "data_check":
        if delivery == "visit" and handover is not None and on > handover:
            raise StepProblem("Nhóm 1: kiểm tra dữ liệu phải làm trước khi đến tặng quà "
                              f"(đã trao ngày {format_date(handover)}).")
        if delivery != "visit" and sms is not None and on < sms:
            raise StepProblem("Nhóm 2: GDV kiểm tra dữ liệu khi KH đến cửa hàng, sau tin nhắn "
                              f"mời ({format_date(sms)}).")
    if step in ("package_advice", "questions", "survey"):
        if not met:
            raise StepProblem(f"{label} làm khi gặp khách hàng: cần ghi trao quà (hoặc ghi nợ "
                              "quà) trước.")
        if handover is not None and on < handover:
            raise StepProblem(f"{label} không thể trước ngày gặp khách hàng "
                              f"({format_date(handover)}).")


def check_handover_order(delivery: str | None, on: dt.date,
                         done: Mapping[str, dt.date | None], *, today: dt.date) -> None:
    """The handover against the steps before and after it (see `check_step`)."""
    check_step("handover", delivery, on, done, today=today, met=True)
    data_check = done.get("data_check")
    if delivery == "visit" and data_check is not None and data_check > on:
        raise StepProblem("Nhóm 1: ngày trao quà không thể trước ngày kiểm tra dữ liệu "
                          f"({format_date(data_check)}).")
    later = [d for s in ("package_advice", "questions", "survey")
             if (d := done.get(s)) is not None and d < on]
    if later:
        raise StepProblem("Ngày trao quà không thể sau các bước làm khi gặp khách hàng "
                          f"({format_date(min(later))}).")
