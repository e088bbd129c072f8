"""Roles enforced in the services: who may change what, and who sees which part of the lists."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.domain.actors import Actor, PermissionProblem
from mbfcare.errors import RuleError
from mbfcare.models import CareCase, CareStep, Subscriber
from mbfcare.services import care_work, classification, importing, profiles, programmes, stock
from mbfcare.services.bulk_recording import record_from_file
from mbfcare.services.dashboard import dashboard
from mbfcare.services.queries import (
    CareListFilter,
    care_detail,
    care_list_ids,
    care_rows,
    filter_choices,
)
from mbfcare.services.surveys import lookup_case
from tests.care_data import GROUP1, GROUP2, STORE, seed_listed
from tests.unit.services.test_bulk_recording import write_returned_list

OTHER_STORE = "Cửa hàng MobiFone Hồng Bàng"
ADMIN = Actor("Quản Trị", "admin")
CLERK = Actor("Lê Thị Lan", "clerk", store=STORE, username="lan")
OTHER_CLERK = Actor("Vũ Minh", "clerk", store=OTHER_STORE, username="minh")
HEAD = Actor("Phạm Thu Hà", "head", district="Lê Chân", username="ha")
VIEWER = Actor("KV5", "viewer", username="kv5")
# 0901000002 lives in Hồng Bàng (its store is the district's default store).
HONG_BANG = "0901000002"


@pytest.fixture
def listed(factory: sessionmaker[Session], programme_id: int) -> sessionmaker[Session]:
    return seed_listed(factory, programme_id)


def _stores(factory: sessionmaker[Session], ids: list[int]) -> set[str | None]:
    with factory() as s:
        return set(s.scalars(select(CareCase.store).where(CareCase.id.in_(ids))))


def _case_id(factory: sessionmaker[Session], msisdn: str) -> int:
    with factory() as s:
        return s.scalar(select(CareCase.id).join(Subscriber).where(Subscriber.msisdn == msisdn))


def test_clerk_list_is_limited_to_his_store_in_sql(listed, programme_id):
    everything = care_list_ids(listed, CareListFilter(programme_id), actor=ADMIN)
    assert _stores(listed, everything) == {STORE, OTHER_STORE}
    mine = care_list_ids(listed, CareListFilter(programme_id), actor=CLERK)
    assert mine and _stores(listed, mine) == {STORE}
    assert len(mine) < len(everything)
    # Whatever filter he passes, another store's entries never come back.
    for flt in (CareListFilter(programme_id, store=OTHER_STORE),
                CareListFilter(programme_id, district="Hồng Bàng"),
                CareListFilter(programme_id, search=HONG_BANG)):
        assert care_list_ids(listed, flt, actor=CLERK) == []
        assert care_list_ids(listed, flt, actor=ADMIN) != []
    # The other store's clerk sees exactly the rest.
    theirs = care_list_ids(listed, CareListFilter(programme_id), actor=OTHER_CLERK)
    assert sorted(mine + theirs) == sorted(everything)


def test_rows_detail_and_choices_follow_the_scope(listed, programme_id):
    other = _case_id(listed, HONG_BANG)
    mine = _case_id(listed, sorted(GROUP2)[0])
    assert [r.id for r in care_rows(listed, [other, mine], actor=CLERK)] == [mine]
    assert [r.id for r in care_rows(listed, [other, mine])] == [other, mine]
    with pytest.raises(PermissionProblem, match="không thuộc cửa hàng"):
        care_detail(listed, other, actor=CLERK)
    assert care_detail(listed, mine, actor=CLERK).id == mine
    assert filter_choices(listed, programme_id, actor=CLERK).stores == (STORE,)
    assert filter_choices(listed, programme_id, actor=HEAD).districts == ("Lê Chân",)
    with pytest.raises(PermissionProblem, match="xem danh sách chăm sóc"):
        care_list_ids(listed, CareListFilter(programme_id), actor=VIEWER)


def test_clerk_cannot_look_up_another_stores_customer(listed):
    with pytest.raises(PermissionProblem) as refused:
        care_work.desk_lookup(listed, HONG_BANG, actor=CLERK)
    assert str(refused.value) == (
        "Thuê bao 0901 000 002 không thuộc cửa hàng Cửa hàng MobiFone Lê Chân của bạn; chỉ "
        "người phụ trách nơi đó hoặc quản trị mới làm được.")
    assert refused.value.exit_code == 4
    assert care_work.desk_lookup(listed, sorted(GROUP2)[0], actor=CLERK).store == STORE
    assert care_work.desk_lookup(listed, HONG_BANG, actor=OTHER_CLERK).msisdn == HONG_BANG
    with pytest.raises(PermissionProblem):
        lookup_case(listed, None, HONG_BANG, actor=CLERK)
    with pytest.raises(PermissionProblem):
        classification.explain(listed, HONG_BANG, actor=CLERK)


def test_clerk_cannot_record_for_another_store(listed):
    with pytest.raises(PermissionProblem, match="không thuộc cửa hàng"):
        care_work.record_step(listed, HONG_BANG, "sms", actor=CLERK, on=dt.date(2017, 9, 1))
    with pytest.raises(PermissionProblem):
        care_work.record_outcome(listed, HONG_BANG, "moved", actor=CLERK)
    with pytest.raises(PermissionProblem):
        profiles.record_package(listed, HONG_BANG, "MAX90", actor=CLERK)
    with listed() as s:
        assert s.scalar(select(CareStep.id)) is None
    step = care_work.record_step(listed, sorted(GROUP2)[0], "sms", actor=CLERK,
                                 on=dt.date(2017, 9, 1))
    assert step.changed


def test_clerk_cannot_change_the_programme(listed, programme_id):
    spec = programmes.programme_spec(listed, programme_id)
    for attempt in (
        lambda: programmes.update_programme(listed, programme_id, spec, actor=CLERK,
                                            confirmed=True),
        lambda: programmes.create_programme(listed, spec, actor=CLERK),
        lambda: classification.classify_batch(listed, programme_id=programme_id, batch=2,
                                              actor=CLERK),
        lambda: classification.decide_gap(listed, "0903000001", group=1, actor=CLERK,
                                          note="x"),
        lambda: importing.import_subscribers(listed, Path("x.xlsx"), actor=CLERK),
    ):
        with pytest.raises(PermissionProblem) as refused:
            attempt()
        assert isinstance(refused.value, RuleError)
        assert "Giao dịch viên không được" in str(refused.value)
    assert "cần: Quản trị (Phòng CSKH)" in str(refused.value)
    assert len(programmes.list_programmes(listed)) == 1


def test_viewer_cannot_record_but_sees_all_counts(listed, programme_id):
    with pytest.raises(PermissionProblem, match="Chỉ xem không được ghi kết quả"):
        care_work.record_step(listed, sorted(GROUP2)[0], "sms", actor=VIEWER)
    with pytest.raises(PermissionProblem):
        stock.move_stock(listed, "receive", "balo-keo", 1, actor=CLERK)
    everything = dashboard(listed, programme_id, actor=ADMIN)
    assert dashboard(listed, programme_id, actor=VIEWER).total == everything.total
    mine = dashboard(listed, programme_id, actor=CLERK)
    assert 0 < mine.total.listed < everything.total.listed
    assert {d.district for d in dashboard(listed, programme_id, actor=HEAD).districts} == \
        {"Lê Chân"}


def test_bulk_rows_outside_the_district_are_rejected(listed, tmp_path):
    stock.move_stock(listed, "receive", "balo-keo", 10, actor=ADMIN)
    rows = [(HONG_BANG, "Phạm Thị Dung", "01/09/2017", None, None, None, None, None),
            (sorted(GROUP1)[0], "Nguyễn Văn An", "01/09/2017", None, None, None, None, None)]
    path = write_returned_list(tmp_path / "tra_ve.xlsx", rows)
    result = record_from_file(listed, path, actor=HEAD)
    assert (result.recorded, result.rejected) == (1, 1)
    assert result.reasons == {"out_of_scope": 1}
    with pytest.raises(PermissionProblem, match="ghi hàng loạt"):
        record_from_file(listed, path, actor=CLERK)
