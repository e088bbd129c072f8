"""The information collection form and the package dialog: inline problems, keys, saving."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog
from pytestqt.qtbot import QtBot
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.domain.actors import Actor
from mbfcare.models import CareStep, ProfileCollection
from mbfcare.services import care_work as cw
from mbfcare.services import profiles as pr
from mbfcare.services import stock
from mbfcare.ui import messages
from mbfcare.ui.profile_form import PackageDialog, ProfileFormDialog
from mbfcare.ui.tasks import TaskRunner
from tests.care_data import STORE, seed_listed

LAN = Actor("Lan", "admin")
HA = Actor("Hà", "clerk")
DUNG = "0901000002"  # group 1, not standardised
OFFERED = "0902000001"  # group 2, offers "MAX90, C120"
CTRL = Qt.KeyboardModifier.ControlModifier


@pytest.fixture
def recorded() -> Iterator[list[tuple[str, str]]]:
    calls: list[tuple[str, str]] = []

    def sink(kind: str, text: str, details: str) -> bool:
        calls.append((kind, text))
        return True

    messages.set_sink(sink)
    yield calls
    messages.set_sink(None)


@pytest.fixture
def listed(factory: sessionmaker[Session], programme_id: int) -> sessionmaker[Session]:
    return seed_listed(factory, programme_id)


def _case_id(factory: sessionmaker[Session], msisdn: str) -> int:
    with factory() as session:
        return cw.find_case(session, None, msisdn).id


def _collections(factory: sessionmaker[Session]) -> list[ProfileCollection]:
    with factory() as session:
        rows = list(session.scalars(select(ProfileCollection)))
        session.expunge_all()
        return rows


def _step(factory: sessionmaker[Session], case_id: int, step: str) -> str | None:
    with factory() as session:
        return session.scalar(select(CareStep.value).where(CareStep.care_case_id == case_id,
                                                           CareStep.step == step))


def _open_form(qtbot: QtBot, factory: sessionmaker[Session], msisdn: str = DUNG,
               actor: Actor = HA) -> ProfileFormDialog:
    dialog = ProfileFormDialog(factory, TaskRunner(), actor, _case_id(factory, msisdn))
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.loaded, timeout=5000):
        dialog.show()
    return dialog


def test_form_shows_the_customer_and_what_is_missing(qtbot: QtBot,
                                                     listed: sessionmaker[Session]) -> None:
    dialog = _open_form(qtbot, listed)
    assert dialog.customer_label.text() == "PHẠM THỊ DUNG · 0901 000 002"
    assert dialog.state_label.text() == ("⚠ Chưa chuẩn hóa thông tin: cần thu thập số CCCD, "
                                         "ngày sinh.")
    # What the extract knows is filled in; typing starts at the first empty field.
    assert dialog.name_edit.text() == "Phạm Thị Dung"
    assert dialog.address_edit.text() == "12 Lê Lợi"
    assert dialog.id_edit.text() == "" and dialog.focusWidget() is dialog.id_edit
    assert not dialog.reason_edit.isVisibleTo(dialog)


def test_a_bad_cccd_shows_inline_and_does_not_save(qtbot: QtBot, listed: sessionmaker[Session],
                                                   recorded: list[tuple[str, str]]) -> None:
    dialog = _open_form(qtbot, listed)
    dialog.id_edit.setFocus()
    qtbot.keyClicks(dialog.id_edit, "03118000123")
    qtbot.keyClick(dialog.id_edit, Qt.Key.Key_Return)  # Enter: the next field
    assert dialog.focusWidget() is dialog.birth_edit
    problem = dialog.problems["id_number"]
    assert dialog.problem_text("id_number") == "Số CCCD phải có 12 chữ số (đã nhập 11)."
    assert problem.isVisibleTo(dialog) and problem.icon.isVisibleTo(dialog)
    assert dialog.problem_text("birth_date") == ""  # not reached yet: no complaint

    qtbot.keyClicks(dialog.birth_edit, "05091980")
    qtbot.keyClick(dialog.birth_edit, Qt.Key.Key_Return, CTRL)  # save: refused
    assert dialog.isVisible() and dialog.save_button.isEnabled()
    assert dialog.focusWidget() is dialog.id_edit
    assert dialog.birth_edit.text() == "05/09/1980"
    assert not dialog._runner.is_busy()
    assert _collections(listed) == [] and recorded == []

    # The mistake goes away as soon as the number is complete; the number says who it is.
    dialog.id_edit.end(False)
    qtbot.keyClicks(dialog.id_edit, "4")
    assert dialog.problem_text("id_number") == ""
    assert problem.label.text() == "CCCD · nữ · sinh năm 1980 · đăng ký tại Hải Phòng"
    assert not problem.icon.isVisibleTo(dialog)


def test_a_good_form_saves_and_records_the_data_check(
        qtbot: QtBot, listed: sessionmaker[Session], recorded: list[tuple[str, str]]) -> None:
    dialog = _open_form(qtbot, listed)
    dialog.name_edit.setFocus()
    dialog.name_edit.setText("phạm thị dung")
    qtbot.keyClick(dialog.name_edit, Qt.Key.Key_Return)
    assert dialog.name_edit.text() == "Phạm Thị Dung"  # tidied when the field is left
    qtbot.keyClicks(dialog.id_edit, "031 180 001 234")
    qtbot.keyClick(dialog.id_edit, Qt.Key.Key_Return)
    qtbot.keyClicks(dialog.birth_edit, "05/09/1980")
    qtbot.keyClick(dialog.birth_edit, Qt.Key.Key_Return)
    assert dialog.focusWidget() is dialog.address_edit
    qtbot.keyClick(dialog.address_edit, Qt.Key.Key_Return)
    assert dialog.focusWidget() is dialog.on_edit
    with qtbot.waitSignal(dialog.saved, timeout=5000) as blocker:
        qtbot.keyClick(dialog.on_edit, Qt.Key.Key_Return)  # Enter on the last field saves
    result = blocker.args[0]
    assert isinstance(result, pr.ProfileResult) and result.step_recorded
    assert dialog.result() == QDialog.DialogCode.Accepted
    [row] = _collections(listed)
    assert (row.name, row.id_number, row.collected_by) == ("Phạm Thị Dung", "031180001234",
                                                           "Hà")
    assert _step(listed, result.case_id, "data_check") == "collected"
    assert recorded == [("notify", result.text)]


def test_editing_a_collection_asks_for_a_reason(qtbot: QtBot, listed: sessionmaker[Session],
                                                recorded: list[tuple[str, str]]) -> None:
    pr.record_profile(listed, DUNG, name="Phạm Thị Dung", id_text="031180001234",
                      birth_text="05/09/1980", address="12 Lê Lợi, Hải Phòng", actor=LAN)
    dialog = _open_form(qtbot, listed, actor=LAN)
    assert dialog.state_label.text().startswith("✓ Đã thu thập thông tin ngày ")
    assert dialog.id_edit.text() == "031180001234"
    assert dialog.birth_edit.text() == "05/09/1980"
    assert dialog.reason_edit.isVisibleTo(dialog)
    dialog.birth_edit.setText("06/09/1980")
    qtbot.keyClick(dialog.birth_edit, Qt.Key.Key_Return, CTRL)
    assert dialog.problem_text("reason").endswith("sửa lại cần ghi lý do.")
    assert dialog.focusWidget() is dialog.reason_edit
    assert _collections(listed)[0].birth_date.day == 5
    dialog.reason_edit.setText("gõ nhầm ngày sinh")
    with qtbot.waitSignal(dialog.saved, timeout=5000) as blocker:
        dialog.save_button.click()
    assert blocker.args[0].replaced
    assert _collections(listed)[0].birth_date.day == 6


def test_a_refusal_from_the_service_shows_inline(qtbot: QtBot, listed: sessionmaker[Session],
                                                 recorded: list[tuple[str, str]]) -> None:
    dialog = _open_form(qtbot, listed, actor=Actor("Xem", "viewer"))
    dialog.id_edit.setText("031180001234")
    dialog.birth_edit.setText("05/09/1980")
    dialog.save_button.click()
    qtbot.waitUntil(lambda: bool(dialog.error_label.problem), timeout=5000)
    assert "không được ghi kết quả chăm sóc" in dialog.error_label.problem
    assert dialog.isVisible() and dialog.save_button.isEnabled()
    assert _collections(listed) == [] and recorded == []


def test_escape_cancels(qtbot: QtBot, listed: sessionmaker[Session]) -> None:
    dialog = _open_form(qtbot, listed)
    dialog.id_edit.setText("031180001234")
    qtbot.keyClick(dialog.id_edit, Qt.Key.Key_Escape)
    assert dialog.result() == QDialog.DialogCode.Rejected and not dialog.isVisible()
    assert _collections(listed) == []


# --------------------------------------------------------------------------- packages


@pytest.fixture
def met(listed: sessionmaker[Session]) -> sessionmaker[Session]:
    stock.move_stock(listed, "receive", "o-2-khuc", 5, actor=LAN, location=STORE)
    for number in (OFFERED, "0902000002", "0902000004"):
        cw.record_handover(listed, number, actor=HA, item_code="o-2-khuc")
    return listed


def _open_package(qtbot: QtBot, factory: sessionmaker[Session], msisdn: str,
                  actor: Actor = HA) -> PackageDialog:
    offers = cw.desk_lookup(factory, msisdn, actor=Actor("test")).offers
    dialog = PackageDialog(factory, TaskRunner(), actor, _case_id(factory, msisdn), offers)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.customer_label.text() != "", timeout=5000)
    return dialog


def test_package_dialog_records_the_offer_chosen(qtbot: QtBot, met: sessionmaker[Session],
                                                 recorded: list[tuple[str, str]]) -> None:
    dialog = _open_package(qtbot, met, OFFERED)
    items = [dialog.offers_list.item(i).text() for i in range(dialog.offers_list.count())]
    assert items == ["1. MAX90", "2. C120", "Không đăng ký gói nào"]
    assert dialog.customer_label.text() == "KHÁCH HÀNG SỐ 1 · 0902 000 001"
    qtbot.keyClick(dialog.offers_list, Qt.Key.Key_Down)
    assert dialog.chosen() == "C120"
    with qtbot.waitSignal(dialog.recorded, timeout=5000) as blocker:
        qtbot.keyClick(dialog.offers_list, Qt.Key.Key_Return)
    assert blocker.args[0].step == "package_advice"
    assert _step(met, _case_id(met, OFFERED), "package_advice") == "C120"
    assert recorded == [("notify", blocker.args[0].text)]


def test_package_dialog_free_text_and_none(qtbot: QtBot, met: sessionmaker[Session],
                                           recorded: list[tuple[str, str]]) -> None:
    typed = _open_package(qtbot, met, "0902000002")
    assert typed.offers_list.count() == 1  # no offers: only "none"
    assert typed.focusWidget() is typed.other_edit
    qtbot.keyClick(typed.other_edit, Qt.Key.Key_Return)  # nothing chosen yet
    assert typed.problem.problem.startswith("Chọn gói cước khách hàng đăng ký")
    qtbot.keyClicks(typed.other_edit, "D60")
    assert typed.problem.problem == ""
    with qtbot.waitSignal(typed.recorded, timeout=5000):
        qtbot.keyClick(typed.other_edit, Qt.Key.Key_Return)
    assert _step(met, _case_id(met, "0902000002"), "package_advice") == "D60"

    none = _open_package(qtbot, met, "0902000004")
    none.offers_list.setCurrentRow(0)
    assert none.chosen() == pr.NO_PACKAGE
    with qtbot.waitSignal(none.recorded, timeout=5000):
        none.save_button.click()
    assert _step(met, _case_id(met, "0902000004"), "package_advice") == pr.NO_PACKAGE


def test_package_dialog_shows_a_refusal_inline(qtbot: QtBot, listed: sessionmaker[Session],
                                               recorded: list[tuple[str, str]]) -> None:
    dialog = _open_package(qtbot, listed, OFFERED)  # the gift not handed over yet
    dialog.save_button.click()
    qtbot.waitUntil(lambda: bool(dialog.problem.problem), timeout=5000)
    assert "cần ghi trao quà" in dialog.problem.problem
    assert dialog.isVisible() and dialog.save_button.isEnabled()
    assert recorded == []


def test_a_save_after_someone_else_saved_is_refused_and_shows_their_data(
        qtbot: QtBot, listed: sessionmaker[Session], recorded: list[tuple[str, str]]) -> None:
    dialog = _open_form(qtbot, listed, actor=LAN)  # opened before Hà saved
    pr.record_profile(listed, DUNG, name="Phạm Thị Dung", id_text="031180001234",
                      birth_text="05/09/1980", address="12 Lê Lợi, Hải Phòng",
                      actor=Actor("Trần Thu Hà", "admin"))
    dialog.id_edit.setText("031180009999")
    dialog.birth_edit.setText("05/09/1980")
    dialog.save_button.click()
    qtbot.waitUntil(lambda: dialog.id_edit.text() == "031180001234", timeout=5000)
    assert dialog.error_label.problem.startswith(
        "Thông tin của 0901 000 002 vừa được Trần Thu Hà lúc ")
    assert dialog.error_label.problem.endswith("mở lại để xem bản mới rồi làm lại.")
    assert dialog.isVisible() and recorded == []
    [row] = _collections(listed)
    assert (row.id_number, row.row_version) == ("031180001234", 1)  # Hà's, untouched
