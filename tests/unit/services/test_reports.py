"""The reports (progress, survey, stock) against independent counts on generated work.

One database is built per module (and per xdist worker): a synthetic extract imported and
classified as batch 1, work recorded through the real services (`record_synthetic_work`),
then survey responses, a collected profile, an undone handover, an owed gift given later,
stock transfers, returns and a write-off, printed receipts, and a few hand-made batch 2
entries (every state, blank district and store). Every figure of every report is compared
with a count written here in plain Python over rows read from the tables, not the report's
SQL.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import shutil
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl
import pypdf
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.db import make_engine, make_session_factory
from mbfcare.domain.actors import Actor
from mbfcare.domain.masking import mask_phone
from mbfcare.errors import NotFoundError, StorageError, UsageError
from mbfcare.io.synthetic import generate_subscribers, write_xlsx
from mbfcare.models import (
    Batch,
    CareCase,
    GiftItem,
    Handover,
    PrintedDocument,
    ProfileCollection,
    StockLocation,
    StockMovement,
    Subscriber,
    SurveyResponse,
)
from mbfcare.reports import report_workbooks as wb
from mbfcare.reports.pdf.reports import progress_title, stock_title, survey_title
from mbfcare.services import care_work, printing, stock
from mbfcare.services.classification import classify_batch
from mbfcare.services.exporting import export_regional
from mbfcare.services.importing import import_subscribers
from mbfcare.services.profiles import record_profile
from mbfcare.services.programmes import create_programme, default_programme_spec
from mbfcare.services.reports import (
    PROGRESS_COLUMNS,
    STOCK_COLUMNS,
    ProgressCounts,
    progress_report,
    stock_report,
    survey_report,
    write_report,
)
from mbfcare.services.surveys import save_response, survey_summary
from mbfcare.services.synthetic_work import record_synthetic_work

KT = Actor("Kiểm thử")  # who exports in these tests (an administrator)

LAN = Actor("Nguyễn Thị Lan", "admin")
MADE_ON = dt.date(2017, 6, 5)
STEP_DATES = ("sms_on", "data_check_on", "handover_on", "package_advice_on", "questions_on",
              "survey_on")
SERVICES = ["Gọi điện", "SMS", "Data 3G/4G", "MobiTV", "Nhạc chờ", "Chuyển vùng quốc tế",
            "Dịch vụ khác"]
FREE_TEXTS = ["Sóng yếu ở trong nhà, mong MobiFone lắp thêm trạm.", "=Cần thêm gói data rẻ",
              "Nhân viên cửa hàng rất nhiệt tình."]


@dataclass(frozen=True)
class Built:
    """The generated database and what the module recorded beyond the synthetic work."""

    path: Path
    undone_msisdn: str
    owed_given_msisdn: str
    collected_msisdn: str
    receipts_printed: int


# --------------------------------------------------------------------------- building


def _add_batch_two(factory: sessionmaker[Session], programme_id: int) -> None:
    """Hand-made batch 2 entries: every state, blank district/store, an outcome `other`,
    one entry with all six steps done, one whose district is only the subscriber's."""
    people = [
        # msisdn, state, group, case district, subscriber district, store, extra
        ("0799000001", "listed", 2, "Lê Chân", "Lê Chân", "Cửa hàng MobiFone Lê Chân", "done"),
        ("0799000002", "listed", 2, "Lê Chân", "Lê Chân", None, "other"),
        ("0799000003", "listed", 2, "Lê Chân", "Lê Chân", "", "sms"),
        ("0799000004", "waiting", 2, "Lê Chân", "Lê Chân", None, ""),
        ("0799000005", "awaiting_group", None, "Hồng Bàng", "Hồng Bàng", None, ""),
        ("0799000006", "left_out", None, "Hồng Bàng", "Hồng Bàng", None, "sms"),
        ("0799000007", "listed", 1, None, "Ngô Quyền", None, "sms"),
        ("0799000008", "listed", 1, "", None, None, ""),
    ]
    day = dt.date(2017, 6, 2)
    with factory.begin() as session:
        batch_id = session.scalar(select(Batch.id).where(Batch.programme_id == programme_id,
                                                         Batch.number == 2))
        for msisdn, state, group, district, sub_district, store, extra in people:
            sub = Subscriber(msisdn=msisdn, subscriber_type="prepaid", status="active",
                             name=f"Khách Đợt Hai {msisdn[-1]}", district=sub_district,
                             profile_standardised=msisdn.endswith(("1", "3")))
            session.add(sub)
            session.flush()
            dates = dict.fromkeys(STEP_DATES, day) if extra == "done" else {}
            if extra == "sms":
                dates = {"sms_on": day}
            session.add(CareCase(
                programme_id=programme_id, batch_id=batch_id, subscriber_id=sub.id,
                state=state, reason_code=state, group_number=group,
                delivery={1: "visit", 2: "store"}.get(group or 0), gift_type_number=group,
                basis=800000, cycle_1=201702, cycle_2=201701, cycle_3=201612,
                charge_1=800000, charge_2=800000, charge_3=800000, aggregation="every_cycle",
                rule_version=1, subscriber_type="prepaid", subscriber_status="active",
                province="Hải Phòng", district=district, store=store,
                has_work=bool(dates) or extra == "other",
                handed_over_at=dt.datetime(2017, 6, 2, 3, tzinfo=dt.UTC)
                if extra == "done" else None,
                outcome="other" if extra == "other" else None,
                outcome_on=day if extra == "other" else None, **dates))


def _surveys(factory: sessionmaker[Session]) -> None:
    """Answers for every customer whose survey step is recorded, and for two met customers
    who had no survey step yet (saving records it)."""
    rng = random.Random(11)
    with factory() as session:
        surveyed = session.execute(
            select(Subscriber.msisdn, CareCase.survey_on).join(
                CareCase, CareCase.subscriber_id == Subscriber.id)
            .where(CareCase.survey_on.is_not(None), CareCase.batch_id == 1)
            .order_by(CareCase.id)).all()
        met = session.execute(
            select(Subscriber.msisdn, CareCase.handover_on).join(
                CareCase, CareCase.subscriber_id == Subscriber.id)
            .where(CareCase.survey_on.is_(None), CareCase.handover_on.is_not(None),
                   CareCase.outcome.is_(None))
            .order_by(CareCase.id).limit(2)).all()
    for index, (msisdn, day) in enumerate([*surveyed, *met]):
        answers: dict[str, Any] = {
            "overall": rng.randint(2, 5), "network": rng.randint(1, 5),
            "customer_care": rng.randint(3, 5), "gift": rng.randint(3, 5),
            "services": sorted(rng.sample(SERVICES, rng.randint(1, 3)), key=SERVICES.index),
            "recommend": rng.choice(["Có", "Không", "Chưa chắc"]),
            "contact_channel": rng.choice(["Tin nhắn SMS", "Zalo", "Gọi điện thoại"]),
        }
        if index % 3 == 0:
            answers["suggestions"] = FREE_TEXTS[(index // 3) % len(FREE_TEXTS)]
        save_response(factory, None, msisdn, answers, actor=LAN, answered_on=day)


def _build(template: Path, folder: Path) -> Built:
    path = folder / "reports.sqlite"
    shutil.copy(template, path)
    engine = make_engine(f"sqlite:///{path.as_posix()}")
    factory = make_session_factory(engine)
    pid = create_programme(factory, default_programme_spec(), actor=Actor("test"))
    extract = write_xlsx(folder / "extract.xlsx", generate_subscribers(500, seed=7), seed=7)
    care = extract.care_month
    care_month = care if isinstance(care, str) else f"{care[1]:02d}/{care[0]}"
    import_subscribers(factory, extract.path, batch=1, care_month=care_month, actor=Actor("test"))
    classify_batch(factory, batch=1, care_month=care_month, actor=Actor("test"))
    record_synthetic_work(factory, programme_id=pid, batch=1, seed=5, max_cases=110)
    _add_batch_two(factory, pid)

    with factory() as session:
        # A handover to undo: nothing recorded after it.
        undone = session.execute(
            select(Subscriber.msisdn).join(CareCase, CareCase.subscriber_id == Subscriber.id)
            .where(CareCase.handover_on.is_not(None), CareCase.package_advice_on.is_(None),
                   CareCase.questions_on.is_(None), CareCase.survey_on.is_(None),
                   CareCase.batch_id == 1)
            .order_by(CareCase.id)).scalars().first()
        owed = session.execute(
            select(Subscriber.msisdn, GiftItem.code, StockLocation.name)
            .join(Handover, Handover.subscriber_id == Subscriber.id)
            .join(GiftItem, GiftItem.id == Handover.item_id)
            .join(StockLocation, StockLocation.id == Handover.location_id)
            .where(Handover.status == "owed").order_by(Handover.id)).first()
        to_collect = session.execute(
            select(Subscriber.msisdn, CareCase.sms_on)
            .join(CareCase, CareCase.subscriber_id == Subscriber.id)
            .where(CareCase.sms_on.is_not(None), CareCase.data_check_on.is_(None),
                   CareCase.handover_on.is_(None), CareCase.gift_owed.is_(False),
                   CareCase.outcome.is_(None), CareCase.batch_id == 1,
                   Subscriber.profile_standardised.is_not(True))
            .order_by(CareCase.id)).first()
    assert undone and owed and to_collect, "the synthetic work should give each case"
    _surveys(factory)
    care_work.undo(factory, undone, "handover", reason="Ghi nhầm người nhận", actor=LAN)
    msisdn, code, place = owed
    stock.move_stock(factory, "receive", code, 3, actor=LAN, location=place,
                     reason="Bổ sung quà")
    care_work.give_owed(factory, msisdn, actor=LAN, on=dt.date(2017, 5, 28))
    record_profile(factory, to_collect[0], name="Phạm Thị Dung", id_text="031 180 001 234",
                   birth_text="05/09/1980", address="12 Lê Lợi, Lê Chân, Hải Phòng", actor=LAN,
                   on=to_collect[1] + dt.timedelta(days=1))
    stock.move_stock(factory, "receive", "o-2-khuc", 10, actor=LAN, reason="Nhận từ KV5")
    stock.move_stock(factory, "transfer", "o-2-khuc", 4, actor=LAN, location="Kho",
                     to_location=place, reason="Bổ sung cửa hàng")
    stock.move_stock(factory, "write_off", "o-2-khuc", 1, actor=LAN, reason="Hỏng")
    stock.move_stock(factory, "return", "o-2-khuc", 2, actor=LAN, location=place,
                     reason="KH trả lại quà trùng")
    printed = printing.print_documents(factory, "receipts", folder / "receipts.pdf", batch=1,
                                       group=1, actor=LAN)
    # A second printing of one customer supersedes the first copy's code.
    with factory() as session:
        first_case = session.scalar(select(PrintedDocument.care_case_id).order_by(
            PrintedDocument.id))
    printing.print_documents(factory, "receipts", folder / "again.pdf", case_ids=[first_case],
                             actor=LAN)
    engine.dispose()
    return Built(path, undone, msisdn, to_collect[0], printed.documents)


@pytest.fixture(scope="module")
def built(template_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Built:
    folder = tmp_path_factory.mktemp("reports")
    home = folder / "home"
    home.mkdir()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MBFCARE_HOME", str(home))
        return _build(template_db, folder)


@pytest.fixture
def work(built: Built, tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    """A copy of the built database for this test."""
    path = tmp_path / "work.sqlite"
    shutil.copy(built.path, path)
    engine = make_engine(f"sqlite:///{path.as_posix()}")
    yield make_session_factory(engine)
    engine.dispose()


# --------------------------------------------------------------------------- counting


def _batches(session: Session) -> dict[int, int]:
    return {b.id: b.number for b in session.scalars(select(Batch))}


def count_progress(factory: sessionmaker[Session]
                   ) -> dict[tuple[int, int | None, str, str], ProgressCounts]:
    """Progress per (batch, group, district, store), counted in Python over the rows."""
    with factory() as session:
        batches = _batches(session)
        subs = {s.id: s for s in session.scalars(select(Subscriber))}
        collected = {(p.programme_id, p.subscriber_id)
                     for p in session.scalars(select(ProfileCollection))}
        cases = list(session.scalars(select(CareCase)))
        tallies: dict[tuple[int, int | None, str, str], Counter[str]] = defaultdict(Counter)
        for c in cases:
            if c.state == "left_out":
                continue
            sub = subs[c.subscriber_id]
            key = (batches[c.batch_id], c.group_number,
                   (c.district or sub.district or "").strip(), (c.store or "").strip())
            t = tallies[key]
            t["on_list"] += 1
            t["sms_sent"] += c.sms_on is not None
            t["handed_over"] += c.handed_over_at is not None
            t["owed"] += bool(c.gift_owed)
            t["surveyed"] += c.survey_on is not None
            t["reached"] += (c.handed_over_at is not None or bool(c.gift_owed)
                             or c.data_check_on is not None or c.package_advice_on is not None
                             or c.questions_on is not None or c.survey_on is not None)
            t["standardised"] += (sub.profile_standardised is True
                                  or (c.programme_id, c.subscriber_id) in collected)
            if c.outcome:
                t[c.outcome] += 1
            t["done"] += (c.state != "awaiting_group" and not c.outcome
                          and all(getattr(c, name) is not None for name in STEP_DATES))
    return {key: ProgressCounts(**{name: t[name] for name in (
        "on_list", "sms_sent", "reached", "handed_over", "owed", "surveyed", "standardised",
        "unreachable", "refused", "moved", "other", "done")}) for key, t in tallies.items()}


def fits_question(kind: str, options: list[str], value: object) -> bool:
    if kind == "scale":
        return type(value) is int and 1 <= value <= 5
    if kind == "single":
        return value in options
    if kind == "multiple":
        return isinstance(value, list) and bool(value) and all(v in options for v in value)
    return isinstance(value, str) and bool(value.strip())


# --------------------------------------------------------------------------- progress


def test_progress_matches_a_count_of_the_care_list(work: sessionmaker[Session]) -> None:
    report = progress_report(work, made_on=MADE_ON)
    expected = count_progress(work)
    got = {(r.batch, r.group, r.district, r.store): r.counts for r in report.rows}
    assert got == expected
    assert [b.batch for b in report.batches] == [1, 2]
    for batch in report.batches:
        subtotal = ProgressCounts()
        for key, counts in expected.items():
            if key[0] == batch.batch:
                subtotal = subtotal + counts
        assert batch.subtotal == subtotal
        assert batch.care_month == report.info.care_months[batch.batch]
    total = ProgressCounts()
    for counts in expected.values():
        total = total + counts
    assert report.total == total
    # The generated work reaches every column.
    assert all(total.value(key) > 0 for key, _ in PROGRESS_COLUMNS), total
    assert total.completion_rate == total.done / total.on_list


def test_progress_rows_are_ordered_and_blanks_merge(work: sessionmaker[Session]) -> None:
    report = progress_report(work, batch=2, made_on=MADE_ON)
    assert [b.batch for b in report.batches] == [2]
    rows = [(r.group, r.district, r.store, r.counts.on_list) for r in report.rows]
    # Lê Chân's store NULL and "" are one row; the case without district takes the
    # subscriber's (Ngô Quyền); the one with none sorts last; gap cases come last.
    assert rows == [
        (1, "Ngô Quyền", "", 1), (1, "", "", 1),
        (2, "Lê Chân", "Cửa hàng MobiFone Lê Chân", 1), (2, "Lê Chân", "", 3),
        (None, "Hồng Bàng", "", 1),
    ]
    assert report.rows[-1].group_label == "Chờ xếp nhóm"
    assert report.total.on_list == 7  # left_out is not in care
    assert report.total.other == 1 and report.total.done == 1 and report.total.closed == 1
    by_group = dict(report.batches[0].by_group)
    assert by_group["Nhóm 2"].on_list == 4 and by_group["Chờ xếp nhóm"].on_list == 1
    assert [name for name, _ in report.batches[0].by_district] == [
        "Hồng Bàng", "Lê Chân", "Ngô Quyền", ""]


def test_completion_rate_is_the_regional_workbooks(work: sessionmaker[Session],
                                                   tmp_path: Path) -> None:
    report = progress_report(work, made_on=MADE_ON)
    out = tmp_path / "kv5.xlsx"
    export_regional(work, out, actor=KT)
    sheet = openpyxl.load_workbook(out)["TongHop"]
    headers = [c.value for c in sheet[1]]
    col = headers.index("Tỷ lệ hoàn thành")
    rates = {row[2]: row[col] for row in sheet.iter_rows(min_row=2, values_only=True)}
    for batch in report.batches:
        assert rates[f"Cộng đợt {batch.batch}"] == pytest.approx(batch.subtotal.completion_rate)
    assert rates["Tổng cộng"] == pytest.approx(report.total.completion_rate)


def test_a_batch_the_programme_lacks_is_refused(work: sessionmaker[Session]) -> None:
    with pytest.raises(NotFoundError, match="đợt 9"):
        progress_report(work, batch=9)
    with pytest.raises(NotFoundError):
        stock_report(work, batch=9)


# --------------------------------------------------------------------------- survey


def test_survey_matches_the_stored_answers(work: sessionmaker[Session]) -> None:
    report = survey_report(work, made_on=MADE_ON)
    with work() as session:
        batches = _batches(session)
        rows = session.execute(
            select(SurveyResponse.answers, SurveyResponse.answered_on, CareCase.district,
                   Subscriber.district, CareCase.store, CareCase.batch_id, Subscriber.msisdn)
            .join(CareCase, CareCase.id == SurveyResponse.care_case_id)
            .join(Subscriber, Subscriber.id == CareCase.subscriber_id)).all()
    assert report.responses == len(rows) > 20
    definition = {q.key: q for q in report.questions}
    form = survey_summary(work, None)
    assert [q.key for q in report.questions] == [q.key for q in form.questions]
    for question in report.questions:
        options = [a.answer for a in question.answers]
        given = [(r, r.answers.get(question.key)) for r in rows]
        usable = [(r, v) for r, v in given if fits_question(question.kind, options if
                                                       question.kind != "scale" else [], v)]
        assert question.answered == len(usable), question.key
        if question.kind == "scale":
            assert options == ["1", "2", "3", "4", "5"]
            scores = [v for _, v in usable]
            assert {a.answer: a.count for a in question.answers} == {
                str(s): scores.count(s) for s in range(1, 6)}
            assert question.mean == pytest.approx(sum(scores) / len(scores), abs=0.005)
        elif question.kind in ("single", "multiple"):
            chosen = Counter(o for _, v in usable for o in (v if isinstance(v, list) else [v]))
            assert {a.answer: a.count for a in question.answers} == {
                o: chosen[o] for o in options}
            for a in question.answers:
                assert a.share == pytest.approx(a.count / len(usable))
        # The breakdown per district and store adds up to the overall counts.
        per_place: dict[tuple[str, str], list[Any]] = defaultdict(list)
        for r, v in usable:
            per_place[((r[2] or r[3] or "").strip(), (r[4] or "").strip())].append(v)
        assert {(p.district, p.store): p.answered for p in question.places} == {
            k: len(v) for k, v in per_place.items()}
        for place in question.places:
            values = per_place[(place.district, place.store)]
            if question.kind == "scale":
                assert place.mean == pytest.approx(sum(values) / len(values), abs=0.005)
                assert dict(place.counts) == {str(s): values.count(s) for s in range(1, 6)}
            elif question.kind != "text":
                flat = Counter(o for v in values for o in (v if isinstance(v, list) else [v]))
                assert dict(place.counts) == {o: flat[o] for o in options}
    texts = sorted((r[6], r.answers["suggestions"]) for r in rows if r.answers.get(
        "suggestions"))
    assert sorted((a.msisdn, a.text) for a in report.free_text) == texts
    assert {a.question_key for a in report.free_text} == {"suggestions"}
    assert all(a.batch == batches[r[5]] for a in report.free_text for r in rows
               if r[6] == a.msisdn)
    assert definition["suggestions"].answered == len(texts)


def test_survey_of_a_batch_without_answers_is_empty(work: sessionmaker[Session]) -> None:
    report = survey_report(work, batch=2, made_on=MADE_ON)
    assert report.responses == 0 and report.free_text == ()
    assert all(q.answered == 0 and q.places == () for q in report.questions)
    assert report.info.scope == f"Đợt 2 (tháng {report.info.care_months[2]})"
    assert survey_report(work, made_on=MADE_ON).info.scope == "Tất cả các đợt"


# --------------------------------------------------------------------------- stock


def count_stock(factory: sessionmaker[Session]) -> dict[tuple[str, str], dict[str, int]]:
    """Per (item code, location) the figures summed from the ledger and the handovers."""
    with factory() as session:
        items = {i.id: i.code for i in session.scalars(select(GiftItem))}
        places = {p.id: p.name for p in session.scalars(select(StockLocation))}
        figures: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
        for m in session.scalars(select(StockMovement)):
            f = figures[(items[m.item_id], places[m.location_id])]
            f["left"] += m.quantity
            if m.kind == "receive":
                f["received"] += m.quantity
            elif m.kind == "transfer_in":
                f["transferred_in"] += m.quantity
            elif m.kind == "transfer_out":
                f["transferred_out"] -= m.quantity
            elif m.kind == "handover":
                f["handed_over"] -= m.quantity
            elif m.kind == "write_off":
                f["written_off"] -= m.quantity
            elif m.kind == "return" and m.handover_id is not None:
                f["handed_over"] -= m.quantity  # an undone handover's item came back
            else:
                f["returned"] += m.quantity
        for h in session.scalars(select(Handover).where(Handover.status == "owed")):
            figures[(items[h.item_id], places[h.location_id])]["owed"] += 1
    keys = [k for k, _ in STOCK_COLUMNS if k != "difference"]
    return {key: {k: f[k] for k in keys} for key, f in figures.items()}


def test_stock_matches_the_ledger(work: sessionmaker[Session], built: Built) -> None:
    report = stock_report(work, made_on=MADE_ON)
    expected = count_stock(work)
    got = {(item.item_code, line.location): {
        k: line.figures.value(k) for k, _ in STOCK_COLUMNS if k != "difference"}
        for item, line in report.lines}
    never = {code for code in ("balo-keo", "hop-thuc-pham", "o-2-khuc")
             if not any(k[0] == code for k in expected)}
    assert {k: v for k, v in got.items() if k[0] not in never} == expected
    assert all(line.figures.difference == 0 for _, line in report.lines)
    total = report.total
    assert total.returned == 2 and total.written_off == 1
    assert total.transferred_in == total.transferred_out == 4
    for item in report.items:
        assert item.total.left == sum(line.figures.left for line in item.lines)
        assert item.total.handed_over == sum(len(line.handovers) for line in item.lines)


def test_handover_lists_are_the_handovers_with_their_receipts(
        work: sessionmaker[Session], built: Built) -> None:
    report = stock_report(work, made_on=MADE_ON)
    with work() as session:
        given = session.execute(
            select(Subscriber.msisdn, Handover.given_on, Handover.given_by,
                   Handover.care_case_id, GiftItem.code, StockLocation.name)
            .join(Handover, Handover.subscriber_id == Subscriber.id)
            .join(GiftItem, GiftItem.id == Handover.item_id)
            .join(StockLocation, StockLocation.id == Handover.location_id)
            .where(Handover.status == "given")).all()
        tokens = {d.care_case_id: d.token for d in session.scalars(
            select(PrintedDocument).where(PrintedDocument.kind == "receipt",
                                          PrintedDocument.superseded_at.is_(None)))}
    listed = sorted((item.item_code, line.location, h.msisdn, h.given_on, h.given_by)
                    for item, line in report.lines for h in line.handovers)
    assert listed == sorted((r[4], r[5], r[0], r[1], r[2]) for r in given)
    assert built.undone_msisdn not in {r[0] for r in given}
    assert built.owed_given_msisdn in {h.msisdn for _, line in report.lines
                                       for h in line.handovers}
    coded = [h for _, line in report.lines for h in line.handovers if h.receipt_code]
    assert coded, "group 1 receipts were printed"
    for h in (h for _, line in report.lines for h in line.handovers):
        if h.case_id in tokens:
            assert h.receipt_code.startswith("MBFC-")
            assert f"-{h.case_id}-{tokens[h.case_id]}-" in h.receipt_code
        else:
            assert h.receipt_code == ""
    # Each list is in date order.
    for _, line in report.lines:
        days = [h.given_on for h in line.handovers]
        assert days == sorted(days)


def test_stock_of_a_batch_lists_only_its_handovers(work: sessionmaker[Session]) -> None:
    whole = stock_report(work, made_on=MADE_ON)
    second = stock_report(work, batch=2, made_on=MADE_ON)
    assert second.total == whole.total  # stock does not belong to a batch
    assert second.handovers == 0 and whole.handovers == whole.total.handed_over


# --------------------------------------------------------------------------- workbooks


def _sheet(path: Path, name: str) -> tuple[list[Any], list[tuple[Any, ...]], Any]:
    book = openpyxl.load_workbook(path)
    ws = book[name]
    headers = [c.value for c in ws[1]]
    for cell in ws[1]:
        assert cell.font.bold, (name, cell.value)
    assert ws.freeze_panes == "A2"
    return headers, list(ws.iter_rows(min_row=2)), ws


def test_progress_workbook_reads_back(work: sessionmaker[Session], tmp_path: Path) -> None:
    out = tmp_path / "tien-do.xlsx"
    result = write_report(work, "progress", out, made_on=MADE_ON, actor=KT)
    report = progress_report(work, made_on=MADE_ON)
    assert openpyxl.load_workbook(out).sheetnames == ["TienDo"]
    headers, rows, _ws = _sheet(out, "TienDo")
    assert headers == list(wb.TIENDO_HEADERS)
    assert headers[:5] == ["Đợt", "Tháng chăm sóc", "Nhóm", "Quận/Huyện", "Cửa hàng"]
    assert headers[5:] == [t for _, t in PROGRESS_COLUMNS] + ["Tỷ lệ hoàn thành"]
    assert result.rows == len(report.rows)
    assert result.sheets == {"TienDo": len(report.rows) + len(report.batches) + 1}
    assert len(rows) == result.sheets["TienDo"]
    detail = [r for r in rows if not str(r[3].value or "").startswith(("Cộng", "Tổng"))]
    assert len(detail) == len(report.rows)
    for cells, line in zip(detail, report.rows, strict=True):
        assert cells[0].value == line.batch
        assert cells[2].value == (line.group if line.group is not None else "Chờ xếp nhóm")
        assert (cells[3].value or "") == line.district and (cells[4].value or "") == line.store
        for index, (key, _title) in enumerate(PROGRESS_COLUMNS, start=5):
            assert cells[index].value == line.counts.value(key)
            assert isinstance(cells[index].value, int)
            assert cells[index].number_format == "#,##0"
        rate = cells[5 + len(PROGRESS_COLUMNS)]
        assert rate.value == pytest.approx(line.counts.completion_rate)
        assert rate.number_format == "0.0%"
    total = rows[-1]
    assert total[3].value == "Tổng cộng" and total[3].font.bold
    assert total[5].value == report.total.on_list
    subtotal = next(r for r in rows if r[3].value == "Cộng đợt 1")
    assert subtotal[5].value == report.batches[0].subtotal.on_list
    assert subtotal[5].font.bold


def test_survey_workbook_reads_back(work: sessionmaker[Session], tmp_path: Path) -> None:
    out = tmp_path / "khao-sat.xlsx"
    result = write_report(work, "survey", out, made_on=MADE_ON, actor=KT)
    report = survey_report(work, made_on=MADE_ON)
    assert openpyxl.load_workbook(out).sheetnames == ["KhaoSat", "KhaoSat_TuLuan"]
    headers, rows, _ws = _sheet(out, "KhaoSat")
    assert headers == ["Câu", "Câu hỏi", "Loại câu hỏi", "Quận/Huyện", "Cửa hàng", "Trả lời",
                       "Số phiếu", "Tỷ lệ", "Điểm trung bình"]
    assert result.rows == report.responses and result.sheets["KhaoSat"] == len(rows)
    overall = {(r[0].value, r[5].value): r for r in rows if r[3].value == wb.ALL_PLACES}
    for question in report.questions:
        if question.kind == "text":
            cells = overall[(question.number, wb.TEXT_ANSWER)]
            assert cells[6].value == question.answered
            continue
        for answer in question.answers:
            cells = overall[(question.number, answer.answer)]
            assert cells[1].value == question.text
            assert cells[6].value == answer.count and cells[6].number_format == "#,##0"
            assert cells[7].value == pytest.approx(answer.share)
            assert cells[7].number_format == "0.0%"
            if question.kind == "scale":
                assert cells[8].value == pytest.approx(question.mean)
                assert cells[8].number_format == "0.00"
            else:
                assert cells[8].value is None
    place_rows = [r for r in rows if r[3].value != wb.ALL_PLACES and r[0].value == 1]
    assert sum(r[6].value for r in place_rows) == report.questions[0].answered

    headers, rows, _ws = _sheet(out, "KhaoSat_TuLuan")
    assert headers == ["Câu", "Câu hỏi", "Quận/Huyện", "Cửa hàng", "Đợt", "Số thuê bao",
                       "Họ tên", "Ngày khảo sát", "Ý kiến"]
    assert len(rows) == len(report.free_text) == result.sheets["KhaoSat_TuLuan"] > 0
    for cells, free in zip(rows, report.free_text, strict=True):
        assert cells[5].value == mask_phone(free.msisdn) and cells[5].value.startswith("0")
        assert cells[5].data_type == "s"
        assert cells[7].value == dt.datetime.combine(free.answered_on, dt.time())
        assert cells[7].number_format == "dd/mm/yyyy"
        assert cells[4].value == free.batch
        # Imported text never becomes a formula.
        expected = "'" + free.text if free.text.startswith("=") else free.text
        assert cells[8].value == expected and cells[8].data_type == "s"
    assert any(str(c[8].value).startswith("'=") for c in rows)


def test_stock_workbook_reads_back(work: sessionmaker[Session], tmp_path: Path) -> None:
    out = tmp_path / "kho.xlsx"
    result = write_report(work, "stock", out, made_on=MADE_ON, actor=KT)
    report = stock_report(work, made_on=MADE_ON)
    assert openpyxl.load_workbook(out).sheetnames == ["KhoQua", "ChiTietTrao"]
    headers, rows, _ws = _sheet(out, "KhoQua")
    assert headers == ["Loại quà", "Mã quà", "Món quà", "Nơi", "Nhập", "Chuyển đến",
                       "Chuyển đi", "Đã trao", "Nợ quà", "Trả lại", "Hủy", "Còn lại",
                       "Chênh lệch"]
    assert result.rows == len(report.lines)
    assert len(rows) == len(report.lines) + len(report.items) + 1
    lines = [r for r in rows if r[3].value not in ("Cộng", None)]
    for cells, (item, line) in zip(lines, report.lines, strict=True):
        assert (cells[1].value, cells[2].value, cells[3].value) == (
            item.item_code, item.item_name, line.location)
        for index, (key, _title) in enumerate(STOCK_COLUMNS, start=4):
            assert cells[index].value == line.figures.value(key)
            assert type(cells[index].value) is int
    assert rows[-1][0].value == "Tổng cộng"
    assert rows[-1][7].value == report.total.handed_over

    headers, rows, _ws = _sheet(out, "ChiTietTrao")
    assert headers == ["Mã quà", "Món quà", "Nơi", "STT", "Ngày trao", "Số thuê bao", "Họ tên",
                       "Đợt", "Nhóm", "Người trao", "Mã biên bản"]
    assert len(rows) == report.handovers == report.total.handed_over
    assert result.sheets == {"KhoQua": len(report.lines) + len(report.items) + 1,
                             "ChiTietTrao": report.handovers}
    flat = [(item, line, h) for item, line in report.lines for h in line.handovers]
    for cells, (item, line, h) in zip(rows, flat, strict=True):
        assert (cells[0].value, cells[2].value) == (item.item_code, line.location)
        assert cells[4].value == dt.datetime.combine(h.given_on, dt.time())
        assert cells[4].number_format == "dd/mm/yyyy"
        # The office masks numbers by default: a reconciliation does not need them whole.
        assert cells[5].value == mask_phone(h.msisdn) and cells[5].data_type == "s"
        assert cells[5].value.startswith("0") and " *** " in cells[5].value
        assert (cells[10].value or "") == h.receipt_code


def test_stock_workbook_of_a_batch_has_the_batch_column(work: sessionmaker[Session],
                                                        tmp_path: Path) -> None:
    out = tmp_path / "kho-dot-1.xlsx"
    write_report(work, "stock", out, batch=1, made_on=MADE_ON, actor=KT)
    report = stock_report(work, batch=1, made_on=MADE_ON)
    headers, rows, _ws = _sheet(out, "KhoQua")
    assert headers == [*wb.KHOQUA_HEADERS, "Đã trao cho KH đợt 1"]
    assert rows[-1][len(headers) - 1].value == report.handovers


# --------------------------------------------------------------------------- PDF


def _pdf(path: Path) -> tuple[int, str, set[str]]:
    reader = pypdf.PdfReader(path)
    text = "\n".join(page.extract_text() for page in reader.pages)
    fonts: set[str] = set()
    for page in reader.pages:
        resources = page["/Resources"]
        for font in resources.get("/Font", {}).values():
            font = font.get_object()
            descendant = font["/DescendantFonts"][0].get_object() if \
                "/DescendantFonts" in font else font
            descriptor = descendant.get("/FontDescriptor")
            embedded = descriptor is not None and any(
                k in descriptor.get_object() for k in ("/FontFile", "/FontFile2", "/FontFile3"))
            fonts.add(f"{font['/BaseFont']}:{'embedded' if embedded else 'NOT embedded'}")
        for xobject in resources.get("/XObject", {}).values():
            xobject = xobject.get_object()
            for font in xobject.get("/Resources", {}).get("/Font", {}).values():
                fonts.add(str(font.get_object()["/BaseFont"]) + ":form")
    return len(reader.pages), text, fonts


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


@pytest.mark.parametrize("kind", ["progress", "survey", "stock"])
def test_pdf_reports(work: sessionmaker[Session], tmp_path: Path, kind: str) -> None:
    out = tmp_path / f"{kind}.pdf"
    result = write_report(work, kind, out, actor=Actor("Nguyễn Thị Lan"), made_on=MADE_ON)
    assert out.read_bytes().startswith(b"%PDF")
    pages, text, fonts = _pdf(out)
    assert result.pages == pages >= 2
    assert result.to_json()["pages"] == pages and result.format == "pdf"
    assert all(f.endswith(":embedded") for f in fonts), fonts
    assert not any("Helvetica" in f for f in fonts), fonts
    assert unicodedata.is_normalized("NFC", text)
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text
    assert ", ngày 05 tháng 6 năm 2017" in text
    assert "Nguyễn Thị Lan" in text  # the maker, under the signature
    assert f"Trang {pages}/{pages}" in text
    if kind == "progress":
        report = progress_report(work, made_on=MADE_ON)
        assert progress_title(report.info) in text
        assert "BÁO CÁO TIẾN ĐỘ CHƯƠNG TRÌNH CHĂM SÓC KHÁCH HÀNG NĂM 2017" in text
        assert "Chờ xếp nhóm" in text and "Cộng đợt 2" in text and "Tổng cộng" in text
        assert "Đợt 1 (tháng" in text and "Đã tiếp cận: đã gặp" in text
        assert _nfc(report.rows[0].district) in text
    elif kind == "survey":
        report_s = survey_report(work, made_on=MADE_ON)
        assert survey_title(report_s.info) in text
        assert "Câu 1. Nhìn chung, Anh/Chị hài lòng" in text
        assert "Điểm trung bình" in text
        first_free = report_s.free_text[0]
        assert first_free.text[:20] in text.replace("\n", " ")
    else:
        report_k = stock_report(work, made_on=MADE_ON)
        assert stock_title(report_k.info) in text
        assert "THỦ KHO" in text and "LÃNH ĐẠO ĐƠN VỊ" in text and "NGƯỜI LẬP" in text
        handed = next(h for _, line in report_k.lines for h in line.handovers if h.name)
        assert _nfc(handed.name) in text
        code = next(h.receipt_code for _, line in report_k.lines for h in line.handovers
                    if h.receipt_code)
        assert code in text.replace("\n", "")


def test_pdf_chart_per_district_when_they_are_few(work: sessionmaker[Session],
                                                  tmp_path: Path) -> None:
    out = tmp_path / "dot-2.pdf"
    write_report(work, "progress", out, batch=2, made_on=MADE_ON, actor=KT)
    _pages, text, _fonts = _pdf(out)
    assert "theo quận/huyện" in text and "(chưa rõ)" in text  # the batch has 4 districts
    out = tmp_path / "all.pdf"
    write_report(work, "progress", out, batch=1, made_on=MADE_ON, actor=KT)
    _pages, text, _fonts = _pdf(out)
    assert "theo nhóm" in text  # batch 1 spreads over many districts


# --------------------------------------------------------------------------- writing


def test_write_report_refuses_bad_outputs(work: sessionmaker[Session], tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    with pytest.raises(UsageError, match=r"\.pdf hoặc \.xlsx"):
        write_report(work, "progress", folder / "x.docx", actor=KT)
    with pytest.raises(UsageError, match="không tồn tại"):
        write_report(work, "progress", folder / "missing" / "x.pdf", actor=KT)
    with pytest.raises(UsageError, match="progress, survey hoặc stock"):
        write_report(work, "sales", folder / "x.pdf", actor=KT)
    assert os.listdir(folder) == []


def test_a_failed_write_keeps_the_previous_file(work: sessionmaker[Session], tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    out = folder / "kho.xlsx"
    out.write_bytes(b"old")

    def broken(report: object, path: Path) -> dict[str, int]:
        Path(path).write_bytes(b"half")
        raise OSError(28, "No space left on device")

    monkeypatch.setitem(wb.WRITERS, "stock", broken)
    with pytest.raises(StorageError, match="No space left"):
        write_report(work, "stock", out, actor=KT)
    assert out.read_bytes() == b"old"
    assert os.listdir(folder) == ["kho.xlsx"]  # no temporary file left behind


def test_result_json_and_text(work: sessionmaker[Session], tmp_path: Path) -> None:
    result = write_report(work, "survey", tmp_path / "ks.xlsx", batch=1, made_on=MADE_ON, actor=KT)
    data = result.to_json()
    assert {"file", "kind", "format", "rows", "sheets"} <= set(data)
    assert "pages" not in data and data["batch"] == 1 and data["format"] == "xlsx"
    assert result.text.startswith("Đã xuất báo cáo kết quả khảo sát")


def test_empty_programme_gives_empty_reports(factory: sessionmaker[Session],
                                             programme_id: int, tmp_path: Path) -> None:
    progress = progress_report(factory, made_on=MADE_ON)
    assert progress.batches == () and progress.total == ProgressCounts()
    stock_r = stock_report(factory, made_on=MADE_ON)
    assert [(i.item_code, [line.location for line in i.lines]) for i in stock_r.items] == [
        ("balo-keo", ["Kho"]), ("hop-thuc-pham", ["Kho"]), ("o-2-khuc", ["Kho"])]
    for kind in ("progress", "survey", "stock"):
        result = write_report(factory, kind, tmp_path / f"{kind}.pdf", made_on=MADE_ON, actor=KT)
        assert result.pages and result.pages >= 1
        rows = write_report(factory, kind, tmp_path / f"{kind}.xlsx", actor=KT).rows
        assert rows == (3 if kind == "stock" else 0)  # every item shows, at the warehouse
