"""Editing a programme's rules: validation, frozen lists, rule versions and the audit trail."""

from __future__ import annotations

import dataclasses
import json

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.domain.actors import Actor
from mbfcare.domain.programme_spec import (
    BatchSpec,
    GiftItemSpec,
    GiftTypeSpec,
    GroupRule,
    ProgrammeSpec,
    parse_programme_spec,
)
from mbfcare.errors import ConflictError, ValidationError
from mbfcare.models import Batch, CareCase, GiftItem, Programme, ProgrammeChange, Subscriber
from mbfcare.services.programmes import (
    FrozenListsError,
    default_programme_spec,
    programme_changes,
    programme_spec,
    spec_to_dict,
    update_programme,
)

Factory = sessionmaker[Session]


def _with_group(spec: ProgrammeSpec, number: int, **changes: object) -> ProgrammeSpec:
    groups = tuple(dataclasses.replace(g, **changes) if g.number == number else g
                   for g in spec.groups)
    return dataclasses.replace(spec, groups=groups)


def _add_care_cases(factory: Factory, programme_id: int, batch: int, count: int) -> None:
    with factory.begin() as session:
        batch_id = session.scalar(select(Batch.id).where(
            Batch.programme_id == programme_id, Batch.number == batch))
        assert batch_id is not None
        for i in range(count):
            sub = Subscriber(msisdn=f"09{batch}{i:07d}", subscriber_type="prepaid",
                             status="active")
            session.add(sub)
            session.flush()
            session.add(CareCase(
                programme_id=programme_id, batch_id=batch_id, subscriber_id=sub.id,
                state="listed", reason_code="group", group_number=2, delivery="store",
                gift_type_number=2, basis=600_000, cycle_1=201612, cycle_2=201611,
                cycle_3=201610, charge_1=600_000, charge_2=650_000, charge_3=700_000,
                aggregation="every_cycle", rule_version=1, subscriber_type="prepaid",
                subscriber_status="active",
            ))


def _rule_version(factory: Factory, programme_id: int) -> int:
    with factory() as session:
        programme = session.get(Programme, programme_id)
        assert programme is not None
        return programme.rule_version


def test_spec_round_trips_the_stored_programme(factory: Factory, programme_id: int) -> None:
    spec = programme_spec(factory, programme_id)
    default = default_programme_spec()
    assert spec == default
    assert [b.care_month for b in spec.batches] == [3, 6, 9, 12]
    # The audit dicts are JSON and read back as the same spec.
    assert parse_programme_spec(json.loads(json.dumps(spec_to_dict(spec)))) == spec


def test_unchanged_spec_changes_nothing(factory: Factory, programme_id: int) -> None:
    spec = programme_spec(factory, programme_id)
    result = update_programme(factory, programme_id, spec, actor=Actor("lan"), confirmed=False)
    assert not result.changed
    assert programme_changes(factory, programme_id) == []


def test_update_without_lists_bumps_rule_and_records_the_change(
    factory: Factory, programme_id: int
) -> None:
    spec = programme_spec(factory, programme_id)
    new = _with_group(spec, 2, upper_inclusive=True)

    result = update_programme(factory, programme_id, new, actor=Actor("lan"), confirmed=False)

    assert result.changed
    assert (result.rule_version_before, result.rule_version_after) == (1, 2)
    assert result.summary == ("Nhóm 2: cận trên 700.000 đ → 700.000 đ (tính cả)",)
    assert programme_spec(factory, programme_id) == new
    [change] = programme_changes(factory, programme_id)
    assert change.user == "lan"
    assert (change.rule_version_before, change.rule_version_after) == (1, 2)
    assert change.summary == "Nhóm 2: cận trên 700.000 đ → 700.000 đ (tính cả)"
    assert change.before["groups"][1]["upper_inclusive"] is False
    assert change.after["groups"][1]["upper_inclusive"] is True
    json.dumps(change.before)
    json.dumps(change.after)


@pytest.mark.parametrize(("edit", "bumps"), [
    (lambda s: dataclasses.replace(s, aggregation="average"), True),
    (lambda s: dataclasses.replace(s, provinces=(*s.provinces, "Hà Nội")), True),
    (lambda s: _with_group(s, 1, lower=800_000), True),
    (lambda s: _with_group(s, 2, lower_inclusive=False), True),
    (lambda s: dataclasses.replace(s, provinces=tuple(reversed(s.provinces))), False),
    (lambda s: dataclasses.replace(s, name="CSKH 2017 (sửa)"), False),
    (lambda s: _with_group(s, 2, name="Nhóm hai"), False),
    (lambda s: dataclasses.replace(s, tenure_bands=(0, 3, 6)), False),
    (lambda s: dataclasses.replace(s, batches=tuple(
        dataclasses.replace(b, gift_plan={1: 100}) for b in s.batches)), False),
])
def test_rule_version_moves_only_when_the_rule_changes(
    factory: Factory, programme_id: int, edit, bumps: bool
) -> None:
    spec = programme_spec(factory, programme_id)
    result = update_programme(factory, programme_id, edit(spec), actor=Actor(""), confirmed=False)
    assert _rule_version(factory, programme_id) == (2 if bumps else 1)
    assert result.rule_version_after == (2 if bumps else 1)


def test_frozen_lists_need_confirmation(factory: Factory, programme_id: int) -> None:
    _add_care_cases(factory, programme_id, batch=1, count=3)
    _add_care_cases(factory, programme_id, batch=2, count=2)
    spec = programme_spec(factory, programme_id)
    new = _with_group(spec, 2, upper_inclusive=True)

    with pytest.raises(FrozenListsError) as refused:
        update_programme(factory, programme_id, new, actor=Actor("lan"), confirmed=False)

    assert isinstance(refused.value, ConflictError)
    assert str(refused.value).startswith("Chương trình đã có 5 KH trong danh sách đợt 1, 2;")
    assert refused.value.counts == {1: 3, 2: 2}
    assert programme_spec(factory, programme_id) == spec
    assert programme_changes(factory, programme_id) == []

    result = update_programme(factory, programme_id, new, actor=Actor("lan"), confirmed=True)

    assert result.changed
    assert programme_spec(factory, programme_id) == new
    with factory() as session:
        assert len(session.scalars(select(CareCase)).all()) == 5  # the lists stay as they were


def test_a_batch_with_a_list_cannot_be_removed(factory: Factory, programme_id: int) -> None:
    _add_care_cases(factory, programme_id, batch=4, count=1)
    spec = programme_spec(factory, programme_id)
    with pytest.raises(ConflictError, match="Không bỏ được đợt 4"):
        update_programme(factory, programme_id, dataclasses.replace(
            spec, batches=spec.batches[:3]), actor=Actor(""), confirmed=True)


def test_gifts_batches_and_summary(factory: Factory, programme_id: int) -> None:
    with factory() as session:
        ids_before = {i.code: i.id for i in session.scalars(select(GiftItem))}
    spec = programme_spec(factory, programme_id)
    new = dataclasses.replace(
        spec,
        gift_types=(
            spec.gift_types[0],
            GiftTypeSpec(2, "Quà loại 2", (GiftItemSpec("o-2-khuc", "Ô gấp 2 khúc"),
                                           GiftItemSpec("binh-nuoc", "Bình nước"))),
        ),
        batches=(*spec.batches[:3], BatchSpec(4, 2018, 1, {1: 50, 2: 200}),
                 BatchSpec(5, 2018, 3)),
        aggregation="average",
        provinces=(*spec.provinces[1:], "Hà Nội"),
    )

    result = update_programme(factory, programme_id, new, actor=Actor("an"), confirmed=False)

    assert list(result.summary) == [
        "Cách tính mức cước căn cứ: mỗi chu kỳ đều đạt → bình quân 3 chu kỳ",
        "Địa bàn: thêm Hà Nội; bỏ Hải Phòng",
        "Quà loại 2: thêm món binh-nuoc (Bình nước); bỏ món hop-thuc-pham; "
        "món o-2-khuc: tên Ô 2 khúc cầm tay → Ô gấp 2 khúc",
        "Đợt 4: tháng chăm sóc 12/2017 → 01/2018; quà loại 1 dự kiến không giới hạn → 50; "
        "quà loại 2 dự kiến không giới hạn → 200",
        "Đợt 5: thêm (tháng chăm sóc 03/2018)",
    ]
    assert programme_spec(factory, programme_id) == new
    with factory() as session:
        ids_after = {i.code: i.id for i in session.scalars(select(GiftItem))}
        assert ids_after["o-2-khuc"] == ids_before["o-2-khuc"]
        assert ids_after["balo-keo"] == ids_before["balo-keo"]
        assert "hop-thuc-pham" not in ids_after
        assert session.scalars(select(ProgrammeChange)).one().user == "an"


def test_groups_added_and_removed(factory: Factory, programme_id: int) -> None:
    spec = programme_spec(factory, programme_id)
    group3 = GroupRule(3, "Nhóm 3", 400_000, True, 550_000, False, "store", 2)
    new = dataclasses.replace(spec, groups=(spec.groups[1], group3))
    result = update_programme(factory, programme_id, new, actor=Actor(""), confirmed=False)
    assert list(result.summary) == [
        "Nhóm 1: bỏ",
        "Nhóm 3: thêm (cận dưới 400.000 đ (tính cả), cận trên 550.000 đ)",
    ]
    assert [g.number for g in programme_spec(factory, programme_id).groups] == [2, 3]


@pytest.mark.parametrize(("edit", "message"), [
    (lambda s: _with_group(s, 1, gift_type=7), "Nhóm 1: không có quà loại 7."),
    (lambda s: dataclasses.replace(s, groups=()), "Chương trình phải có ít nhất một nhóm."),
    (lambda s: dataclasses.replace(s, gift_types=(
        s.gift_types[0],
        GiftTypeSpec(2, "Quà loại 2", (GiftItemSpec("balo-keo", "Balo"),)))),
     "Mã quà balo-keo bị trùng."),
    (lambda s: _with_group(s, 2, lower=800_000), "Nhóm 2: cận dưới lớn hơn cận trên."),
    (lambda s: dataclasses.replace(s, tenure_bands=(2, 5)),
     "Các mốc năm sử dụng phải tăng dần và bắt đầu bằng 0."),
])
def test_validation_errors(factory: Factory, programme_id: int, edit, message: str) -> None:
    spec = programme_spec(factory, programme_id)
    with pytest.raises(ValidationError, match=message.replace("(", r"\(")):
        update_programme(factory, programme_id, edit(spec), actor=Actor(""), confirmed=False)
    assert programme_spec(factory, programme_id) == spec
