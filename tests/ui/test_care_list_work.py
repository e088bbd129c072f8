"""Recording from the care list's detail panel, the six step columns and the two work filters."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox
from pytestqt.qtbot import QtBot
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.domain.actors import Actor
from mbfcare.services import care_work, stock
from mbfcare.ui.care_list import CareListWidget
from mbfcare.ui.record_dialogs import RecordDialog, RecordInput
from mbfcare.ui.tasks import TaskRunner
from tests.care_data import GROUP2, STORE, seed_listed

LAN = Actor("Lan", "admin")
G2 = sorted(GROUP2)




@pytest.fixture
def widget(qtbot: QtBot, factory: sessionmaker[Session], programme_id: int,
           sink: list[tuple[str, str, str]]) -> Iterator[CareListWidget]:
    seed_listed(factory, programme_id)
    stock.move_stock(factory, "receive", "o-2-khuc", 5, actor=LAN, location=STORE)
    runner = TaskRunner()
    w = CareListWidget(factory, runner, actor=LAN)
    qtbot.addWidget(w)
    w.resize(1400, 800)
    with qtbot.waitSignal(w.model.ids_loaded, timeout=10000):
        w.set_programme(programme_id, 1)
    w.show()
    yield w
    qtbot.waitUntil(lambda: not runner.is_busy(), timeout=10000)


def _select(qtbot: QtBot, w: CareListWidget, msisdn: str) -> int:
    row = next(r for r in range(w.model.rowCount()) if w.model.row_dto(r).msisdn == msisdn)  # type: ignore[union-attr]
    with qtbot.waitSignal(w.detail_shown, timeout=10000):
        w.table.selectRow(row)
    return row


def test_record_a_step_from_the_detail_shows_in_its_column(
        qtbot: QtBot, widget: CareListWidget, sink: list[tuple[str, str, str]]) -> None:
    row = _select(qtbot, widget, G2[0])
    assert widget._action_buttons["step"].isEnabled()
    with qtbot.waitSignal(widget.detail_shown, timeout=10000):
        widget.apply_record("step", RecordInput("sms", dt.date(2017, 3, 5), "", "Phòng CSKH"))
    sms = widget.model.index(row, widget.model.column_of("sms"))
    assert sms.data() == "✓"
    assert sms.data(Qt.ItemDataRole.ToolTipRole) == "Gửi SMS: 05/03/2017"
    assert "05/03/2017 · Phòng CSKH" in widget.detail_text()
    assert any("Đã ghi gửi sms" in text for _kind, text, _ in sink)


def test_a_refused_step_says_why(qtbot: QtBot, widget: CareListWidget,
                                 sink: list[tuple[str, str, str]]) -> None:
    _select(qtbot, widget, G2[1])
    widget.apply_record("step", RecordInput("survey", dt.date(2017, 3, 5), "", ""))
    qtbot.waitUntil(lambda: any(kind == "error" for kind, _t, _d in sink), timeout=10000)
    error = next(text for kind, text, _ in sink if kind == "error")
    assert "gặp khách hàng" in error


def test_outcome_and_undo_from_the_detail(qtbot: QtBot, widget: CareListWidget) -> None:
    row = _select(qtbot, widget, G2[2])
    with qtbot.waitSignal(widget.detail_shown, timeout=10000):
        widget.apply_record("outcome", RecordInput("moved", dt.date.today(), "vào Nam", ""))
    assert widget.model.index(row, widget.model.column_of("outcome")).data() == "Chuyển đi"
    assert "Chuyển đi – vào Nam" in widget.detail_text()
    with qtbot.waitSignal(widget.detail_shown, timeout=10000):
        widget.apply_record("undo", RecordInput("outcome", dt.date.today(), "nhầm KH", ""))
    assert widget.model.index(row, widget.model.column_of("outcome")).data() == ""
    assert "Hủy kết quả" in widget.detail_text() and "lý do: nhầm KH" in widget.detail_text()


def test_recording_on_a_panel_someone_else_changed_is_refused_and_reloads(
        qtbot: QtBot, widget: CareListWidget, sink: list[tuple[str, str, str]]) -> None:
    row = _select(qtbot, widget, G2[3])
    # Another workstation closes the entry while this panel still shows it open.
    care_work.record_outcome(widget._factory, G2[3], "refused", actor=Actor("Hà", "admin"),
                             note="không nhận")
    with qtbot.waitSignal(widget.detail_shown, timeout=10000):
        widget.apply_record("step", RecordInput("sms", dt.date(2017, 3, 5), "", ""))
    [error] = [text for kind, text, _ in sink if kind == "error"]
    assert error.startswith("Hồ sơ chăm sóc của 0902 000 004 vừa được Hà lúc ")
    # The panel and the row now show what the database holds; no SMS was recorded.
    assert widget.model.index(row, widget.model.column_of("outcome")).data() == "Từ chối"
    assert widget.model.index(row, widget.model.column_of("sms")).data() == ""
    assert "không nhận" in widget.detail_text()


def test_step_and_outcome_filters(qtbot: QtBot, widget: CareListWidget,
                                  factory: sessionmaker[Session]) -> None:
    care_work.record_handover(factory, G2[0], actor=LAN, item_code="o-2-khuc")
    care_work.record_outcome(factory, G2[1], "refused", actor=LAN)
    todo = widget._todo_combo
    with qtbot.waitSignal(widget.model.ids_loaded, timeout=10000):
        todo.setCurrentIndex(todo.findData("handover"))
    shown = {widget.model.row_dto(r).msisdn for r in range(widget.model.rowCount())}  # type: ignore[union-attr]
    assert G2[0] not in shown and G2[1] not in shown and G2[2] in shown
    outcome = widget._outcome_combo
    with qtbot.waitSignal(widget.model.ids_loaded, timeout=10000):
        todo.setCurrentIndex(0)
    with qtbot.waitSignal(widget.model.ids_loaded, timeout=10000):
        outcome.setCurrentIndex(outcome.findData("refused"))
    assert widget.count_text() == "1 KH"


def test_record_dialog_asks_for_a_reason(qtbot: QtBot) -> None:
    dialog = RecordDialog("undo", "An · 0902 000 001", ["sms", "handover"])
    qtbot.addWidget(dialog)
    dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    assert dialog.problem_text() == "⚠ Cần ghi lý do."
    assert dialog.result() == 0
    dialog.text.setText("ghi nhầm")
    dialog.what.setCurrentIndex(1)
    dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    assert dialog.result() == 1
    assert dialog.result_input().what == "handover"
    assert dialog.result_input().text == "ghi nhầm"
