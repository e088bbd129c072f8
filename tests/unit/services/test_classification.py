"""Classification on a small hand-made list: every decision, explained; frozen lists."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.cli import main
from mbfcare.domain.actors import Actor
from mbfcare.errors import RuleError, UsageError
from mbfcare.models import CareCase, Charge, Classification, Exclusion, LeftOut, Subscriber
from mbfcare.services.classification import classify_batch, decide_gap, explain

# batch 1 care month 03/2017 -> cycles 12/2016, 11/2016, 10/2016
CYCLES = (201612, 201611, 201610)


def _add(session: Session, number: str, charges: tuple[int | None, ...], *,
         status: str = "active", province: str | None = "Hải Phòng", district: str = "Lê Chân",
         kind: str = "postpaid", other: bool | None = None, store: str | None = None,
         activated: dt.date | None = dt.date(2010, 5, 1)) -> None:
    sub = Subscriber(msisdn=number, ported=False, subscriber_type=kind, status=status,
                     name=f"Khách {number[-3:]}", province=province, district=district,
                     in_other_programme=other, store=store, activation_date=activated)
    session.add(sub)
    session.flush()
    for cycle, amount in zip(CYCLES, charges, strict=False):
        if amount is not None:
            session.add(Charge(subscriber_id=sub.id, cycle=cycle, amount=amount))


@pytest.fixture
def listed(factory: sessionmaker[Session], programme_id: int) -> sessionmaker[Session]:
    with factory() as session:
        _add(session, "0901000001", (812000, 790000, 905000))              # group 1
        _add(session, "0901000002", (600000, 699999, 550000), store="CH Lạch Tray")  # group 2
        _add(session, "0901000003", (700000, 800000, 900000))              # gap (min 700000)
        _add(session, "0901000004", (549999, 900000, 900000))              # below
        _add(session, "0901000005", (900000, None, 900000))                # missing cycle
        _add(session, "0901000006", (900000, 900000, 900000), status="blocked_one_way")
        _add(session, "0901000007", (900000, 900000, 900000), province="Hà Nội")
        _add(session, "0901000008", (900000, 900000, 900000), other=True)
        _add(session, "0901000009", (900000, 900000, 900000))              # excluded by list
        _add(session, "0901000010", (900000, 900000, 900000), province="Hưng Yên",
             kind="prepaid")                                               # post-2025 name
        _add(session, "0901000011", (0, 0, 0))                             # a real 0
        session.add(Exclusion(programme_id=programme_id, msisdn="0901000009", source="CT X"))
        session.commit()
    return factory


def test_classify_counts_and_stored_entries(listed: sessionmaker[Session]) -> None:
    result = classify_batch(listed, batch=1, actor=Actor("test"))
    assert result.care_month == "03/2017"
    assert result.cycles == ["12/2016", "11/2016", "10/2016"]
    assert result.groups == {1: 2, 2: 1}
    assert result.in_gap == 1
    assert result.not_eligible == {"below_threshold": 2, "in_other_programme": 2,
                                   "missing_cycle": 1, "not_active": 1, "outside_area": 1}
    data = result.to_json()
    assert (data["group_1"], data["group_2"], data["in_gap"]) == (2, 1, 1)
    with listed() as session:
        cases = {s.msisdn: c for c, s in session.execute(
            select(CareCase, Subscriber).join(Subscriber))}
        assert cases["0901000001"].state == "listed"
        assert cases["0901000001"].delivery == "visit"
        assert cases["0901000001"].basis == 790000
        assert (cases["0901000001"].charge_1, cases["0901000001"].charge_3) == (812000, 905000)
        assert cases["0901000001"].responsible == "Trưởng MobiFone Lê Chân"
        assert cases["0901000001"].tenure_years == 6
        assert cases["0901000001"].tenure_band == "5–10 năm"
        assert cases["0901000002"].delivery == "store"
        assert cases["0901000002"].store == "CH Lạch Tray"
        assert cases["0901000002"].gift_type_number == 2
        assert cases["0901000003"].state == "awaiting_group"
        assert cases["0901000003"].group_number is None
        assert cases["0901000010"].group_number == 1
        reasons = dict(session.execute(
            select(Subscriber.msisdn, LeftOut.reason).join(LeftOut)).all())
        assert reasons["0901000011"] == "below_threshold"
        assert reasons["0901000009"] == "in_other_programme"
        assert len(reasons) == 7
        assert session.scalar(select(func.count()).select_from(Classification)) == 1


def test_dry_run_changes_nothing(listed: sessionmaker[Session]) -> None:
    preview = classify_batch(listed, batch=1, dry_run=True, actor=Actor("test"))
    assert preview.groups == {1: 2, 2: 1}
    with listed() as session:
        assert session.scalar(select(func.count()).select_from(CareCase)) == 0
        assert session.scalar(select(func.count()).select_from(LeftOut)) == 0


def test_second_batch_leaves_out_the_first_batch_list(listed: sessionmaker[Session]) -> None:
    classify_batch(listed, batch=1, actor=Actor("test"))
    with listed() as session:
        for sid in session.scalars(select(Subscriber.id)):
            for cycle in (201703, 201702, 201701):
                session.add(Charge(subscriber_id=sid, cycle=cycle, amount=950000))
        session.commit()
    second = classify_batch(listed, batch=2, actor=Actor("test"))
    assert second.not_eligible["on_earlier_batch"] == 4  # 3 listed and the gap case
    assert second.groups[1] == 3  # 0901000004, -05 and -11 qualify on the new cycles


def test_rerun_keeps_entries_and_reports_those_no_longer_qualifying(
        listed: sessionmaker[Session]) -> None:
    classify_batch(listed, batch=1, actor=Actor("test"))
    with listed() as session:
        session.execute(update(Subscriber).where(Subscriber.msisdn == "0901000001")
                        .values(status="cancelled"))
        session.execute(update(Subscriber).where(Subscriber.msisdn == "0901000005")
                        .values(status="active"))
        sid = session.scalar(select(Subscriber.id).where(Subscriber.msisdn == "0901000005"))
        session.add(Charge(subscriber_id=sid, cycle=201611, amount=880000))
        session.commit()
    again = classify_batch(listed, batch=1, actor=Actor("test"))
    assert again.added == 1 and again.kept == 4
    assert again.no_longer_qualify == {"not_active": 1}
    assert again.groups == {1: 3, 2: 1}
    with listed() as session:
        state = session.scalar(select(CareCase.state).join(Subscriber)
                               .where(Subscriber.msisdn == "0901000001"))
    assert state == "listed"


def test_plan_puts_the_rest_on_a_waiting_list_in_order(listed: sessionmaker[Session]) -> None:
    result = classify_batch(listed, batch=1, plan={1: 1}, actor=Actor("test"))
    assert result.groups[1] == 1 and result.waiting == 1
    with listed() as session:
        rows = dict(session.execute(select(Subscriber.msisdn, CareCase.waiting_rank)
                                    .join(Subscriber)
                                    .where(CareCase.state == "waiting")).all())
    assert rows == {"0901000001": 1}  # basis 790000 waits behind 0901000010 (900000)


def test_explain_in_vietnamese(listed: sessionmaker[Session]) -> None:
    classify_batch(listed, batch=1, actor=Actor("test"))
    text = explain(listed, "84901000001", actor=Actor("test")).lines
    assert text[0] == ("Đợt 1 (tháng chăm sóc 03/2017) – Nhóm 1: cước 3 chu kỳ 12/2016, "
                       "11/2016, 10/2016 là 812.000, 790.000, 905.000 đ — mỗi chu kỳ trên "
                       "700.000 đ.")
    assert "không hoạt động 2 chiều (trạng thái: chặn 1 chiều)" in \
        explain(listed, "0901000006", actor=Actor("test")).lines[0]
    assert "thiếu cước của chu kỳ căn cứ (11/2016)" in explain(listed, "+84 901 000 005",
                                                               actor=Actor("test")).lines[0]
    assert "Hà Nội" in explain(listed, "0901000007", actor=Actor("test")).lines[0]
    assert "danh sách loại trừ" in explain(listed, "0901000009", actor=Actor("test")).lines[0]
    assert "549.999" in explain(listed, "0901000004", actor=Actor("test")).lines[0]
    assert "Chờ quyết định nhóm" in explain(listed, "0901000003", actor=Actor("test")).lines[0]


def test_gap_decision_is_recorded_with_who_and_why(listed: sessionmaker[Session]) -> None:
    classify_batch(listed, batch=1, actor=Actor("test"))
    result = decide_gap(listed, "0901000003", group=1, actor=Actor("Nguyễn Thị Lan"),
                        note="Giám đốc duyệt")
    assert result.group == 1 and result.state == "listed"
    assert any("Nguyễn Thị Lan" in line for line in result.lines)
    with pytest.raises(RuleError, match="không chờ quyết định nhóm"):
        decide_gap(listed, "0901000003", group=2, actor=Actor("x"), note="lại")
    with pytest.raises(UsageError):
        decide_gap(listed, "0901000001", group=2, actor=Actor("x"), note=" ")


def test_cli_classify_explain_decide(listed: sessionmaker[Session], db_url: str) -> None:
    out = io.StringIO()
    assert main(["--db", db_url, "classify", "--batch", "1", "--json"], out=out) == 0
    data = json.loads(out.getvalue())
    assert {"batch", "care_month", "group_1", "group_2", "in_gap", "not_eligible"} <= set(data)
    assert data["not_eligible"]["missing_cycle"] == 1
    out = io.StringIO()
    assert main(["--db", db_url, "decide", "0901000003", "--group", "none", "--note",
                 "Khách đã chuyển đi", "--json"], out=out) == 0
    assert json.loads(out.getvalue())["state"] == "left_out"
    out = io.StringIO()
    assert main(["--db", db_url, "explain", "0901000003"], out=out) == 0
    assert "Không chọn" in out.getvalue()
    assert main(["--db", db_url, "explain", "0999999999"], out=io.StringIO()) == 4
    assert main(["--db", db_url, "classify", "--batch", "9"], out=io.StringIO()) == 4
    assert main(["--db", db_url, "classify", "--batch", "1", "--plan", "x"],
                out=io.StringIO()) == 2
