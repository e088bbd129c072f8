"""Programme creation from the document's rules and from a TOML file."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.domain.actors import Actor
from mbfcare.domain.programme_spec import SpecProblem, load_programme_spec
from mbfcare.models import Batch, GiftItem, GiftType, Programme, ProgrammeGroup
from mbfcare.services.programmes import (
    create_programme,
    default_programme_spec,
    list_programmes,
)

Factory = sessionmaker[Session]

KV5 = [
    "Hải Phòng", "Quảng Ninh", "Hải Dương", "Thái Bình", "Hưng Yên", "Bắc Ninh", "Bắc Giang",
    "Cao Bằng", "Bắc Kạn", "Lạng Sơn", "Hà Giang", "Tuyên Quang", "Thái Nguyên",
]


def test_default_programme_is_the_documents(factory: Factory, programme_id: int) -> None:
    with factory() as session:
        programme = session.get(Programme, programme_id)
        assert programme is not None
        assert programme.year == 2017
        assert programme.aggregation == "every_cycle"
        assert sorted(programme.provinces) == sorted(KV5)
        assert len(programme.provinces) == 13

        groups = session.scalars(select(ProgrammeGroup).where(
            ProgrammeGroup.programme_id == programme_id).order_by(ProgrammeGroup.number)).all()
        bounds = [(g.number, g.lower_bound, g.lower_inclusive, g.upper_bound, g.upper_inclusive,
                   g.delivery, g.gift_type_number) for g in groups]
        assert bounds == [
            (1, 700000, False, None, bounds[0][4], "visit", 1),
            (2, 550000, True, 700000, False, "store", 2),
        ]

        items = session.execute(
            select(GiftType.number, GiftItem.code).join(GiftItem, GiftItem.gift_type_id ==
                                                        GiftType.id)
            .where(GiftType.programme_id == programme_id)
            .order_by(GiftType.number, GiftItem.code)).all()
        assert [tuple(r) for r in items] == [(1, "balo-keo"), (2, "hop-thuc-pham"),
                                            (2, "o-2-khuc")]

        batches = session.scalars(select(Batch).where(Batch.programme_id == programme_id)
                                  .order_by(Batch.number)).all()
        assert [(b.number, b.care_month, b.care_year) for b in batches] == [
            (1, 3, 2017), (2, 6, 2017), (3, 9, 2017), (4, 12, 2017)]


def test_default_spec_groups_contain_the_right_charges() -> None:
    spec = default_programme_spec()
    g1, g2 = spec.groups
    assert not g1.contains(700_000) and g1.contains(700_001) and g1.contains(10**9)
    assert g2.contains(550_000) and g2.contains(699_999)
    assert not g2.contains(700_000) and not g2.contains(549_999)
    assert [item.code for t in spec.gift_types for item in t.items] == [
        "balo-keo", "hop-thuc-pham", "o-2-khuc"]


def test_list_programmes(factory: Factory, programme_id: int) -> None:
    (summary,) = list_programmes(factory)
    assert summary.id == programme_id
    assert [b.care_month_text for b in summary.batches] == [
        "03/2017", "06/2017", "09/2017", "12/2017"]
    assert summary.group_names == ("Nhóm 1", "Nhóm 2")
    assert summary.subscriber_count == 0


CUSTOM = """
name = "CSKH Quảng Ninh 2018"
year = 2018
region = "MobiFone KV5"
province = "Quảng Ninh"
aggregation = "average"
provinces = ["Quảng Ninh"]
tenure_bands = [0, 3, 8]

[[groups]]
number = 1
name = "Kim cương"
lower = 1000000
lower_inclusive = true
delivery = "visit"
gift_type = 1

[[groups]]
number = 2
name = "Vàng"
lower = 500000
upper = 1000000
upper_inclusive = false
delivery = "store"
gift_type = 2

[[groups]]
number = 3
name = "Bạc"
lower = 300000
upper = 500000
delivery = "store"
gift_type = 2

[[gift_types]]
number = 1
name = "Quà lớn"
items = [{ code = "vali", name = "Vali kéo" }]

[[gift_types]]
number = 2
items = [{ code = "binh-giu-nhiet", name = "Bình giữ nhiệt" }, { code = "ao-mua", name = "Áo mưa" }]

[[batches]]
number = 1
care_month = "04/2018"

[[batches]]
number = 2
care_month = "10/2018"
"""


def test_custom_programme_from_toml(factory: Factory, tmp_path: Path) -> None:
    path = tmp_path / "qn.toml"
    path.write_text(CUSTOM, encoding="utf-8")
    pid = create_programme(factory, load_programme_spec(path), actor=Actor("test"))
    with factory() as session:
        programme = session.get(Programme, pid)
        assert programme is not None
        assert (programme.name, programme.year, programme.aggregation, programme.province) == (
            "CSKH Quảng Ninh 2018", 2018, "average", "Quảng Ninh")
        assert programme.provinces == ["Quảng Ninh"]
        assert programme.tenure_bands == [0, 3, 8]
        groups = session.scalars(select(ProgrammeGroup).where(
            ProgrammeGroup.programme_id == pid).order_by(ProgrammeGroup.number)).all()
        assert [(g.name, g.lower_bound, g.lower_inclusive, g.upper_bound, g.upper_inclusive,
                 g.delivery, g.gift_type_number) for g in groups] == [
            ("Kim cương", 1000000, True, None, False, "visit", 1),
            ("Vàng", 500000, True, 1000000, False, "store", 2),
            ("Bạc", 300000, True, 500000, False, "store", 2),
        ]
        codes = session.scalars(select(GiftItem.code).where(GiftItem.programme_id == pid)
                                .order_by(GiftItem.code)).all()
        assert list(codes) == ["ao-mua", "binh-giu-nhiet", "vali"]
        batches = session.scalars(select(Batch).where(Batch.programme_id == pid)
                                  .order_by(Batch.number)).all()
        assert [(b.number, b.care_year, b.care_month) for b in batches] == [
            (1, 2018, 4), (2, 2018, 10)]


def _write(tmp_path: Path, content: str) -> Path:
    path = tmp_path / "bad.toml"
    path.write_text(content, encoding="utf-8")
    return path


def _without(line: str) -> str:
    assert line in CUSTOM
    return CUSTOM.replace(line, "", 1)


@pytest.mark.parametrize(("content", "words"), [
    (_without('name = "CSKH Quảng Ninh 2018"\n'), ["name"]),
    (_without("year = 2018\n"), ["year"]),
    (CUSTOM.replace('aggregation = "average"', 'aggregation = "median"'),
     ["aggregation", "median"]),
    (CUSTOM.replace("gift_type = 2\n", "gift_type = 7\n", 1), ["groups #2", "gift_type", "7"]),
    (CUSTOM.replace('delivery = "store"', 'delivery = "post"', 1), ["groups #2", "delivery"]),
    (CUSTOM.replace('care_month = "10/2018"', 'care_month = "2018/10"'),
     ["batches #2", "MM/YYYY"]),
    (CUSTOM.replace("year = 2018", 'year = "2018"'), ["year"]),
    (CUSTOM.replace('{ code = "ao-mua", name = "Áo mưa" }', '{ name = "Áo mưa" }'),
     ["gift_types #2", "code"]),
    ("name = \n", ["bad.toml"]),  # not TOML at all
])
def test_bad_programme_files_name_the_key(tmp_path: Path, content: str,
                                          words: list[str]) -> None:
    path = _write(tmp_path, content)
    with pytest.raises(SpecProblem) as info:
        load_programme_spec(path)
    message = str(info.value)
    for word in words:
        assert word in message, (word, message)


def test_missing_programme_file(tmp_path: Path) -> None:
    with pytest.raises(SpecProblem) as info:
        load_programme_spec(tmp_path / "nope.toml")
    assert "nope.toml" in str(info.value)
