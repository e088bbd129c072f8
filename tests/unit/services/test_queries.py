"""The care list's read side: filters, every search form, SQL sort orders, one entry's detail."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.domain.actors import Actor
from mbfcare.errors import NotFoundError, UsageError
from mbfcare.models import CareCase, Charge, ImportRun, Subscriber
from mbfcare.services import care_work, stock
from mbfcare.services.classification import classify_batch, decide_gap
from mbfcare.services.exporting import export_ids
from mbfcare.services.queries import (
    ANY_OUTCOME,
    GAP,
    NO_OUTCOME,
    STEP_KEYS,
    CareListFilter,
    care_detail,
    care_list_ids,
    care_rows,
    filter_choices,
    number_prefix,
)

KT = Actor("Kiểm thử")  # who exports in these tests (an administrator)

LAN = Actor("Lan", "admin")

# batch 1 care month 03/2017 -> cycles 12/2016, 11/2016, 10/2016
CYCLES = (201612, 201611, 201610)
PEOPLE = {
    # number: (name, district, store, charges, activated)
    "0901000001": ("Nguyễn Văn An", "Lê Chân", None, (812000, 790000, 905000), 2010),   # g1
    "0901000002": ("Trần Thị Bình", "Ngô Quyền", "CH Lạch Tray",
                   (600000, 699999, 550000), 2015),                                   # g2
    "0901000003": ("Lê Văn Cường", "Lê Chân", None, (700000, 800000, 900000), 2000),    # gap
    "0931234567": ("Phạm Thị Dung", "Hồng Bàng", None, (900000, 950000, 1000000), 2016),  # g1
    "0901000004": ("Đỗ Văn Em", "Lê Chân", None, (100000, 100000, 100000), 2010),       # below
}


@pytest.fixture
def listed(factory: sessionmaker[Session], programme_id: int) -> sessionmaker[Session]:
    with factory.begin() as session:
        run = ImportRun(programme_id=programme_id, kind="subscribers", file_name="thang3.xlsx",
                        file_sha256="0" * 64, user="lan",
                        started_at=dt.datetime(2017, 3, 2, 3, 0, tzinfo=dt.UTC))
        session.add(run)
        session.flush()
        for number, (name, district, store, charges, year) in PEOPLE.items():
            sub = Subscriber(msisdn=number, ported=False, subscriber_type="postpaid",
                             status="active", name=name, province="Hải Phòng",
                             district=district, store=store, address="12 Lê Lợi",
                             activation_date=dt.date(year, 5, 1), first_import_id=run.id,
                             last_import_id=run.id)
            session.add(sub)
            session.flush()
            for cycle, amount in zip(CYCLES, charges, strict=True):
                session.add(Charge(subscriber_id=sub.id, cycle=cycle, amount=amount))
    classify_batch(factory, programme_id=programme_id, batch=1, actor=Actor("lan"))
    return factory


def _numbers(factory: sessionmaker[Session], ids: list[int]) -> list[str]:
    return [r.msisdn for r in care_rows(factory, ids)]


def _find(factory: sessionmaker[Session], programme_id: int, **kw: object) -> set[str]:
    flt = CareListFilter(programme_id=programme_id, **kw)  # type: ignore[arg-type]
    return set(_numbers(factory, care_list_ids(factory, flt, "msisdn", actor=Actor("test"))))


def test_filters(listed: sessionmaker[Session], programme_id: int) -> None:
    everyone = {"0901000001", "0901000002", "0901000003", "0931234567"}
    assert _find(listed, programme_id) == everyone
    assert _find(listed, programme_id, batch=1) == everyone
    assert _find(listed, programme_id, batch=2) == set()
    assert _find(listed, programme_id, group=1) == {"0901000001", "0931234567"}
    assert _find(listed, programme_id, group=2) == {"0901000002"}
    assert _find(listed, programme_id, group=GAP) == {"0901000003"}
    assert _find(listed, programme_id, delivery="store") == {"0901000002"}
    assert _find(listed, programme_id, district="Lê Chân") == {"0901000001", "0901000003"}
    assert _find(listed, programme_id, store="CH Lạch Tray") == {"0901000002"}
    assert _find(listed, programme_id, state="awaiting_group") == {"0901000003"}
    assert _find(listed, programme_id, group=1, district="Lê Chân") == {"0901000001"}
    assert _find(listed, programme_id + 1) == set()


@pytest.mark.parametrize("text", [
    "0931234567", "84931234567", "+84 931 234 567", "931234567", "0931 234 567",
    "0931.234.567", "0931 23", "84931", "+84 9312",
])
def test_search_by_number_in_any_form(listed: sessionmaker[Session], programme_id: int,
                                      text: str) -> None:
    assert _find(listed, programme_id, search=text) == {"0931234567"}


def test_search_by_number_prefix_finds_all_that_start_so(
    listed: sessionmaker[Session], programme_id: int
) -> None:
    assert _find(listed, programme_id, search="0901 000") == {
        "0901000001", "0901000002", "0901000003"}
    assert _find(listed, programme_id, search="0901000004") == set()  # not on the list


@pytest.mark.parametrize(("text", "expected"), [
    ("nguyen van an", {"0901000001"}),
    ("NGUYỄN VĂN AN", {"0901000001"}),
    ("cuong", {"0901000003"}),
    ("thi", {"0901000002", "0931234567"}),
    ("  pham  thi ", {"0931234567"}),
    ("%", set()),
    ("nobody", set()),
])
def test_search_by_name_without_diacritics(listed: sessionmaker[Session], programme_id: int,
                                           text: str, expected: set[str]) -> None:
    assert _find(listed, programme_id, search=text) == expected


def test_number_prefix() -> None:
    assert number_prefix("0912 34") == "091234"
    assert number_prefix("+84 912") == "0912"
    assert number_prefix("912") == "0912"
    assert number_prefix("nguyen") is None
    assert number_prefix("") is None


def _order(factory: sessionmaker[Session], pid: int, key: str, desc: bool = False) -> list[str]:
    return _numbers(factory, care_list_ids(factory, CareListFilter(pid), key, desc,
                                           actor=Actor("test")))


def test_sort_orders(listed: sessionmaker[Session], programme_id: int) -> None:
    # basis: 790000 (..01), 550000 (..02), 700000 (..03), 900000 (..567)
    assert _order(listed, programme_id, "basis") == [
        "0901000002", "0901000003", "0901000001", "0931234567"]
    assert _order(listed, programme_id, "basis", True) == [
        "0931234567", "0901000001", "0901000003", "0901000002"]
    assert _order(listed, programme_id, "msisdn") == [
        "0901000001", "0901000002", "0901000003", "0931234567"]
    # folded names: le van cuong, nguyen van an, pham thi dung, tran thi binh
    assert _order(listed, programme_id, "name") == [
        "0901000003", "0901000001", "0931234567", "0901000002"]
    # group 1 (An, Dung by name), group 2, then the gap case without a group, last
    assert _order(listed, programme_id, "group") == [
        "0901000001", "0931234567", "0901000002", "0901000003"]
    assert _order(listed, programme_id, "group", True)[-1] == "0901000003"
    assert _order(listed, programme_id, "tenure")[0] == "0931234567"  # newest, 2016
    assert _order(listed, programme_id, "state")[0] == "0901000003"  # awaiting_group < listed
    assert _order(listed, programme_id, "district")[0] == "0931234567"  # Hồng Bàng
    assert len(_order(listed, programme_id, "batch")) == 4
    assert len(_order(listed, programme_id, "store")) == 4
    with pytest.raises(UsageError):
        care_list_ids(listed, CareListFilter(programme_id), "basis; drop table x",
                      actor=Actor("test"))


def test_rows_in_the_order_asked(listed: sessionmaker[Session], programme_id: int) -> None:
    ids = care_list_ids(listed, CareListFilter(programme_id), "msisdn", True, actor=Actor("test"))
    rows = care_rows(listed, ids)
    assert [r.id for r in rows] == ids
    first = rows[-1]
    assert (first.msisdn, first.name, first.batch, first.group) == (
        "0901000001", "Nguyễn Văn An", 1, 1)
    assert (first.delivery, first.district, first.basis) == ("visit", "Lê Chân", 790000)
    assert (first.charge_1, first.charge_2, first.charge_3) == (812000, 790000, 905000)
    assert (first.state, first.tenure_years, first.responsible) == (
        "listed", 6, "Trưởng MobiFone Lê Chân")
    assert care_rows(listed, [*ids[:1], 999999]) == rows[:1]


def test_detail(listed: sessionmaker[Session], programme_id: int) -> None:
    with listed() as session:
        case_id = session.scalar(select(CareCase.id).join(Subscriber).where(
            Subscriber.msisdn == "0901000001"))
    assert case_id is not None
    d = care_detail(listed, case_id, actor=Actor("test"))
    assert (d.msisdn, d.name, d.batch, d.care_month, d.group) == (
        "0901000001", "Nguyễn Văn An", 1, "03/2017", 1)
    assert d.cycles == CYCLES
    assert d.charges == (812000, 790000, 905000)
    assert d.basis == 790000
    assert d.address == "12 Lê Lợi"
    assert any("Nhóm 1" in line and "812.000" in line for line in d.explanation)
    assert [s.key for s in d.steps] == list(STEP_KEYS)
    assert not any(s.done for s in d.steps)
    kinds = [h.kind for h in d.history]
    assert kinds == ["imported", "classified"]
    assert d.history[0].text == "thang3.xlsx"
    assert d.history[1].by == "lan"

    stock.move_stock(listed, "receive", "balo-keo", 1, actor=LAN)
    care_work.record_step(listed, "0901000001", "sms", actor=LAN, on=dt.date(2017, 3, 18))
    care_work.record_handover(listed, "0901000001", actor=LAN, on=dt.date(2017, 3, 20),
                              by="Trưởng MF Lê Chân")
    d = care_detail(listed, case_id, actor=Actor("test"))
    gift = next(s for s in d.steps if s.key == "handover")
    assert (gift.done, gift.date, gift.by, gift.value) == (
        True, dt.date(2017, 3, 20), "Trưởng MF Lê Chân", "balo-keo")
    assert [s.key for s in d.steps if s.done] == ["sms", "handover"]
    recorded = [h for h in d.history if h.kind == "audit"]
    assert [h.text.split(" –")[0] for h in recorded] == ["Gửi SMS", "Trao Balo kéo du lịch"]
    assert {h.by for h in recorded} == {"Lan"}


def test_step_and_outcome_filters(listed: sessionmaker[Session], programme_id: int) -> None:
    care_work.record_step(listed, "0901000001", "sms", actor=LAN, on=dt.date(2017, 3, 18))
    care_work.record_step(listed, "0901000002", "sms", actor=LAN, on=dt.date(2017, 3, 18))
    care_work.record_outcome(listed, "0901000002", "refused", actor=LAN, note="bận")
    served = {"0901000001", "0901000002", "0931234567"}
    # the gap case is not to be served, the refused customer is closed
    assert _find(listed, programme_id, todo_step="sms") == {"0931234567"}
    assert _find(listed, programme_id, todo_step="survey") == served - {"0901000002"}
    assert _find(listed, programme_id, outcome="refused") == {"0901000002"}
    assert _find(listed, programme_id, outcome=ANY_OUTCOME) == {"0901000002"}
    assert "0901000002" not in _find(listed, programme_id, outcome=NO_OUTCOME)
    rows = {r.msisdn: r for r in care_rows(listed, care_list_ids(
        listed, CareListFilter(programme_id=programme_id), "sms", actor=Actor("test")))}
    assert rows["0901000001"].steps[0] == dt.date(2017, 3, 18)
    assert rows["0901000002"].outcome == "refused"
    ordered = _numbers(listed, care_list_ids(listed, CareListFilter(programme_id=programme_id),
                                             "outcome", actor=Actor("test")))
    assert ordered[0] == "0901000002"
    with pytest.raises(UsageError):
        care_list_ids(listed, CareListFilter(programme_id=programme_id, todo_step="gift"),
                      actor=Actor("test"))


def test_detail_shows_gap_decision(listed: sessionmaker[Session], programme_id: int) -> None:
    decide_gap(listed, "0901000003", group=1, actor=Actor("Hà"), note="KH lâu năm")
    with listed() as session:
        case_id = session.scalar(select(CareCase.id).join(Subscriber).where(
            Subscriber.msisdn == "0901000003"))
    assert case_id is not None
    d = care_detail(listed, case_id, actor=Actor("test"))
    decided = [h for h in d.history if h.kind == "decided"]
    assert len(decided) == 1
    assert (decided[0].by, decided[0].text) == ("Hà", "KH lâu năm")
    assert decided[0].at is not None
    with pytest.raises(NotFoundError):
        care_detail(listed, 999999, actor=Actor("test"))


def test_filter_choices(listed: sessionmaker[Session], programme_id: int) -> None:
    choices = filter_choices(listed, programme_id)
    assert choices.batches == (1,)
    assert choices.groups == (1, 2)
    assert choices.districts == ("Hồng Bàng", "Lê Chân", "Ngô Quyền")
    assert "CH Lạch Tray" in choices.stores
    assert choices.deliveries == ("store", "visit")


def test_export_ids_writes_the_view(listed: sessionmaker[Session], programme_id: int,
                                    tmp_path: Path) -> None:
    ids = care_list_ids(listed, CareListFilter(programme_id, group=1), "basis", True,
                        actor=Actor("test"))
    out = tmp_path / "view.xlsx"
    columns = [("Số thuê bao", lambda r: r.msisdn), ("Họ tên", lambda r: r.name),
               ("Mức cước căn cứ", lambda r: r.basis)]
    assert export_ids(listed, ids, out, columns, actor=KT) == 2
    ws = openpyxl.load_workbook(out).active
    assert ws is not None
    rows = list(ws.iter_rows(values_only=True))
    assert rows == [("Số thuê bao", "Họ tên", "Mức cước căn cứ"),
                    ("0931234567", "Phạm Thị Dung", 900000),
                    ("0901000001", "Nguyễn Văn An", 790000)]
    with pytest.raises(UsageError):
        export_ids(listed, ids, tmp_path / "view.pdf", columns, actor=KT)
