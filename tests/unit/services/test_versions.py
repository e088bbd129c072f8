"""Two users editing the same record: the second is told someone else changed it, and
nothing of the first user's work is overwritten (optimistic row versions)."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.domain.actors import Actor
from mbfcare.errors import ConflictError
from mbfcare.models import CareCase, CareStep, ProfileCollection, Subscriber
from mbfcare.services import care_work, profiles, queries
from mbfcare.services.versions import ChangedByOther
from mbfcare.uow import UnitOfWork
from tests.care_data import GROUP2, seed_listed

LAN = Actor("Nguyễn Thị Lan", "admin")
HA = Actor("Trần Thu Hà", "admin")
G2 = sorted(GROUP2)


@pytest.fixture
def listed(factory: sessionmaker[Session], programme_id: int) -> sessionmaker[Session]:
    return seed_listed(factory, programme_id)


def _case_id(factory: sessionmaker[Session], msisdn: str) -> int:
    with factory() as session:
        found = session.scalar(select(CareCase.id).join(
            Subscriber, Subscriber.id == CareCase.subscriber_id).where(Subscriber.msisdn == msisdn))
        assert found is not None
        return found


def test_a_step_saved_on_a_stale_screen_is_refused_and_names_who_changed_it(
        listed: sessionmaker[Session]) -> None:
    case_id = _case_id(listed, G2[0])
    lan_sees = queries.care_detail(listed, case_id, actor=LAN)
    ha_sees = queries.care_detail(listed, case_id, actor=HA)
    assert lan_sees.row_version == ha_sees.row_version >= 1
    care_work.record_outcome(listed, case_id, "refused", actor=LAN, note="không nhận",
                             seen_version=lan_sees.row_version)
    with pytest.raises(ChangedByOther, match=r"^Hồ sơ chăm sóc của 0902 000 001 vừa được "
                                             r"Nguyễn Thị Lan lúc \d\d:\d\d \d\d/\d\d/\d{4} "
                                             r"sửa sau khi bạn mở; thay đổi của bạn chưa được "
                                             r"lưu"):
        care_work.record_step(listed, case_id, "sms", actor=HA,
                              seen_version=ha_sees.row_version)
    # Hà's step is not there; Lan's outcome is intact.
    now = queries.care_detail(listed, case_id, actor=HA)
    assert now.outcome == "refused" and now.outcome_note == "không nhận"
    assert now.row_version > ha_sees.row_version
    with listed() as session:
        assert session.scalars(select(CareStep).where(CareStep.care_case_id == case_id)
                               ).all() == []
    # Having looked again, Hà may go on (undoing needs the new version too).
    text = care_work.undo(listed, case_id, "outcome", reason="khách đổi ý", actor=HA,
                          seen_version=now.row_version)
    assert "0902 000 001" in text
    with pytest.raises(ChangedByOther):
        care_work.undo(listed, case_id, "outcome", reason="lần nữa", actor=LAN,
                       seen_version=lan_sees.row_version)


def test_a_save_without_a_version_is_not_checked(listed: sessionmaker[Session]) -> None:
    """The command line and the desk act on what they find now, not on an older screen."""
    case_id = _case_id(listed, G2[1])
    care_work.record_step(listed, case_id, "sms", actor=LAN)
    assert care_work.record_step(listed, case_id, "data_check", actor=HA).changed


def test_two_profile_forms_open_at_once_the_second_save_is_refused(
        listed: sessionmaker[Session]) -> None:
    case_id = _case_id(listed, G2[2])
    state = profiles.profile_state(listed, case_id)
    assert state.collected is None  # both forms show no collection: seen version 0
    profiles.record_profile(listed, case_id, name="Khách Hàng Số Ba", id_text="031080001111",
                            birth_text="01/02/1980", address="5 Trần Phú, Lê Chân",
                            actor=LAN, seen_version=0)
    with pytest.raises(ChangedByOther, match=r"^Thông tin của 0902 000 003 vừa được "
                                             r"Nguyễn Thị Lan lúc "):
        profiles.record_profile(listed, case_id, name="Khách Hàng Khác",
                                id_text="031080002222", birth_text="03/04/1980",
                                address="9 Lê Lợi", actor=HA, reason="sửa", seen_version=0)
    with listed() as session:
        row = session.scalars(select(ProfileCollection)).one()
        assert (row.name, row.id_number, row.row_version) == (
            "Khách Hàng Số Ba", "031080001111", 1)
    # With the version it now shows, Hà's correction goes through and moves the version on.
    seen = profiles.profile_state(listed, case_id).collected
    assert seen is not None and seen.row_version == 1
    profiles.record_profile(listed, case_id, name="Khách Hàng Khác", id_text="031080002222",
                            birth_text="03/04/1980", address="9 Lê Lợi", actor=HA,
                            reason="khách đọc lại số", seen_version=seen.row_version)
    with listed() as session:
        assert session.scalars(select(ProfileCollection.row_version)).one() == 2


@pytest.mark.postgres_only
def test_two_sessions_writing_the_same_entry_the_later_flush_is_refused(
        listed: sessionmaker[Session]) -> None:
    """Between one transaction's read and its write another commits: the ORM's version
    counter makes the database refuse the stale UPDATE, and the unit of work says so.

    (On SQLite this interleaving cannot happen: a writer holds the file's write lock from
    `BEGIN IMMEDIATE` to its commit.)"""
    case_id = _case_id(listed, G2[3])
    with (pytest.raises(ConflictError, match="Máy khác vừa sửa đúng dữ liệu này cùng lúc"),
          UnitOfWork(listed) as first):
        mine = first.session.get(CareCase, case_id)
        assert mine is not None
        with UnitOfWork(listed, write=True) as second:
            theirs = second.session.get(CareCase, case_id)
            assert theirs is not None
            theirs.outcome, theirs.outcome_note = "moved", "chuyển vào Nam"
            second.commit()
        mine.outcome_note = "ghi đè"
        first.commit()
    with listed() as session:
        case = session.get(CareCase, case_id)
        assert case is not None
        assert (case.outcome, case.outcome_note, case.row_version) == (
            "moved", "chuyển vào Nam", 2)
