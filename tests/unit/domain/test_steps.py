"""The six steps' order per group, the state they put an entry in, and the printed codes."""

from __future__ import annotations

import datetime as dt

import pytest

from mbfcare.domain.actors import Actor, PermissionProblem
from mbfcare.domain.codes import (
    TOKEN_ALPHABET,
    EntryCode,
    NumberTyped,
    ScanProblem,
    check_code,
    entry_code,
    new_token,
    parse_scan,
)
from mbfcare.domain.steps import (
    STEPS,
    StepProblem,
    care_progress,
    check_handover_order,
    check_step,
    step_title,
)

TODAY = dt.date(2017, 9, 30)
D = dt.date


def test_progress_follows_steps_and_outcome() -> None:
    assert care_progress({}, None) == "not_started"
    assert care_progress({"sms": D(2017, 9, 1)}, None) == "in_progress"
    assert care_progress({}, None, gift_owed=True) == "in_progress"
    assert care_progress(dict.fromkeys(STEPS, D(2017, 9, 1)), None) == "done"
    assert care_progress({"sms": D(2017, 9, 1)}, "moved") == "closed"
    assert care_progress({"sms": None}, None) == "not_started"


def test_titles_differ_between_groups() -> None:
    assert "Trưởng MF" in step_title("handover", "visit")
    assert "cửa hàng" in step_title("handover", "store")
    assert "trước khi đến" in step_title("data_check", "visit")
    assert "khi KH đến" in step_title("data_check", "store")


def test_no_step_in_the_future() -> None:
    with pytest.raises(StepProblem, match="chưa tới"):
        check_step("sms", "store", D(2017, 10, 1), {}, today=TODAY, met=False)


def test_group1_data_check_before_the_visit() -> None:
    done = {"handover": D(2017, 9, 10)}
    check_step("data_check", "visit", D(2017, 9, 10), done, today=TODAY, met=True)
    with pytest.raises(StepProblem, match="Nhóm 1"):
        check_step("data_check", "visit", D(2017, 9, 11), done, today=TODAY, met=True)
    # and the handover cannot come before a recorded data check
    with pytest.raises(StepProblem, match="kiểm tra dữ liệu"):
        check_handover_order("visit", D(2017, 9, 5), {"data_check": D(2017, 9, 6)}, today=TODAY)


def test_group2_data_check_when_the_customer_comes() -> None:
    done = {"sms": D(2017, 9, 5)}
    check_step("data_check", "store", D(2017, 9, 12), done, today=TODAY, met=True)
    with pytest.raises(StepProblem, match="Nhóm 2"):
        check_step("data_check", "store", D(2017, 9, 4), done, today=TODAY, met=False)
    # a group-1 data check may precede the SMS (it is done before the visit)
    check_step("data_check", "visit", D(2017, 9, 4), done, today=TODAY, met=False)


def test_sms_before_the_handover() -> None:
    with pytest.raises(StepProblem, match="SMS"):
        check_step("sms", "store", D(2017, 9, 12), {"handover": D(2017, 9, 10)}, today=TODAY,
                   met=True)
    with pytest.raises(StepProblem, match="SMS"):
        check_handover_order("store", D(2017, 9, 1), {"sms": D(2017, 9, 5)}, today=TODAY)


@pytest.mark.parametrize("step", ["package_advice", "questions", "survey"])
def test_steps_at_the_meeting_need_the_customer_met(step: str) -> None:
    with pytest.raises(StepProblem, match="gặp khách hàng"):
        check_step(step, "visit", D(2017, 9, 10), {}, today=TODAY, met=False)
    with pytest.raises(StepProblem, match="không thể trước"):
        check_step(step, "visit", D(2017, 9, 9), {"handover": D(2017, 9, 10)}, today=TODAY,
                   met=True)
    check_step(step, "visit", D(2017, 9, 10), {"handover": D(2017, 9, 10)}, today=TODAY,
               met=True)
    # a handover dated after such a step is refused too
    with pytest.raises(StepProblem, match="sau các bước"):
        check_handover_order("store", D(2017, 9, 11), {step: D(2017, 9, 10)}, today=TODAY)


def test_codes_round_trip_and_catch_mistakes() -> None:
    token = new_token()
    assert len(token) == 6 and set(token) <= set(TOKEN_ALPHABET) and not token.isdigit()
    code = entry_code("survey", 1, 4821, token)
    assert code.startswith(f"MBFC-S-1-4821-{token}-")
    assert parse_scan(code) == EntryCode("survey", 1, 4821, token)
    assert parse_scan(code.lower()) == EntryCode("survey", 1, 4821, token)  # Caps Lock off
    wrong = code.replace("4821", "4812")
    with pytest.raises(ScanProblem, match="sai số kiểm tra"):
        parse_scan(wrong)
    other = "K7Q2M9" if token != "K7Q2M9" else "K7Q2MA"
    with pytest.raises(ScanProblem, match="sai số kiểm tra"):
        parse_scan(code.replace(token, other))  # another token, same check digits
    with pytest.raises(ScanProblem):
        parse_scan("MBFC-X-1")
    assert parse_scan("+84 912 345 678") == NumberTyped("0912345678")
    assert parse_scan("0120 123 4567") == NumberTyped("0701234567")
    with pytest.raises(ScanProblem, match="không phải số thuê bao"):
        parse_scan("xin chào")
    assert {entry_code(k, 2, 7, token)[5] for k in ("invitation", "receipt", "survey")} == {
        "I", "R", "S"}


def test_old_codes_without_token_are_refused() -> None:
    with pytest.raises(ScanProblem, match="mẫu cũ, không có mã bản in"):
        parse_scan("MBFC-R-1-4821-63")


def test_short_check_code_is_typed_by_hand() -> None:
    assert check_code(4821, "K7Q2M9") == "4821-K7Q2M9"
    # Typed in lower case, with O for 0 and l for 1: Crockford reads them alike.
    assert parse_scan(" 4821-k7q2m9 ") == EntryCode(None, None, 4821, "K7Q2M9")
    assert parse_scan("4821-AB0O1L") == EntryCode(None, None, 4821, "AB0011")
    with pytest.raises(ScanProblem, match="không dùng trong mã in"):
        parse_scan("4821-K7Q2MU")
    # all digits after the dash: a number typed with a dash, not a code
    assert parse_scan("0912-345678") == NumberTyped("0912345678")


def test_roles() -> None:
    assert Actor("Hà", "clerk").may("record")
    assert not Actor("Hà", "clerk").may("correct")
    with pytest.raises(PermissionProblem, match="Giao dịch viên không được"):
        Actor("Hà", "clerk").require("correct")
    Actor("Lan", "head").require("correct")
    assert not Actor("Xem", "viewer").may("record")
