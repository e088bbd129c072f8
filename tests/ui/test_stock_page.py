"""The gift stock screen's wiring: models over real data, the movement form, owed gifts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from care_data import GROUP2, STORE, seed_listed
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon
from PySide6.QtWidgets import QFileDialog
from pytestqt.qtbot import QtBot
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.domain.actors import Actor
from mbfcare.reports.stock_workbook import QUANO_HEADERS, SOKHO_HEADERS, TONKHO_HEADERS
from mbfcare.services import care_work, stock
from mbfcare.services.stock import MOVEMENT_LABELS, OwedDTO
from mbfcare.ui.stock_page import MovementDialog, StockPage
from mbfcare.ui.tablemodels.stock import (
    ERROR_COLOUR,
    KIND_TEXT,
    WARN_COLOUR,
    BalanceModel,
    LedgerModel,
    OwedModel,
    SortRole,
    StockSortProxyModel,
)
from mbfcare.ui.tasks import TaskRunner

LAN = Actor("Lan", "admin")
BALO = "balo-keo"
O = "o-2-khuc"  # noqa: E741 (the item's name)
OWED = next(iter(GROUP2))
Sink = list[tuple[str, str, str]]




@pytest.fixture
def seeded(factory: sessionmaker[Session], programme_id: int) -> sessionmaker[Session]:
    """Batch 1 listed, one gift owed at the store (nothing there yet), balo at the warehouse."""
    seed_listed(factory, programme_id)
    care_work.record_handover(factory, OWED, actor=LAN, item_code=O, owed=True,
                              promised_on=care_work.local_today() + dt.timedelta(days=2),
                              programme_id=programme_id)
    stock.move_stock(factory, "receive", BALO, 3, actor=LAN, programme_id=programme_id)
    return factory


@pytest.fixture
def page(qtbot: QtBot, seeded: sessionmaker[Session], programme_id: int,
         sink: Sink) -> Iterator[StockPage]:
    runner = TaskRunner()
    widget = StockPage(seeded, runner, LAN)
    runner.setParent(widget)
    qtbot.addWidget(widget)
    widget.resize(1200, 650)
    widget.show()
    with qtbot.waitSignal(widget.loaded, timeout=10000):
        widget.set_programme(programme_id, 1)
    yield widget
    qtbot.waitUntil(lambda: not runner.is_busy(), timeout=10000)


def _cells(table_model: object, proxy: StockSortProxyModel | None = None) -> list[list[str]]:
    model = proxy or table_model
    return [[model.index(r, c).data() for c in range(model.columnCount())]  # type: ignore[attr-defined]
            for r in range(model.rowCount())]  # type: ignore[attr-defined]


def _balance_rows(page: StockPage) -> dict[tuple[str, str], list[str]]:
    return {(row[0], row[1]): row for row in _cells(page.balance_model)}


def _accept(qtbot: QtBot, page: StockPage, dialog: MovementDialog) -> None:
    assert dialog.ok_button.isEnabled(), dialog.problem()
    with qtbot.waitSignal(page.loaded, timeout=10000):
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)


# --------------------------------------------------------------------------- models


def test_models_pass_the_model_tester_and_show_formatted_values(
        qtbot: QtBot, qtmodeltester, factory: sessionmaker[Session], programme_id: int) -> None:
    seed_listed(factory, programme_id)
    stock.move_stock(factory, "receive", BALO, 1234, actor=LAN, programme_id=programme_id)
    stock.move_stock(factory, "receive", O, 10, actor=LAN, programme_id=programme_id)
    stock.move_stock(factory, "transfer", O, 9, actor=LAN, to_location=STORE,
                     reason="Cửa hàng cần quà", programme_id=programme_id)
    care_work.record_handover(factory, list(GROUP2)[1], actor=LAN, item_code=O,
                              programme_id=programme_id)
    for number in list(GROUP2)[2:5]:
        care_work.record_handover(factory, number, actor=LAN, item_code="hop-thuc-pham",
                                  owed=True, programme_id=programme_id,
                                  promised_on=care_work.local_today() + dt.timedelta(days=1))

    balances = BalanceModel()
    balances.set_rows(stock.balances(factory, programme_id))
    qtmodeltester.check(balances, force_py=True)
    assert balances.headers() == list(TONKHO_HEADERS)
    rows = {(r[0], r[1]): r for r in _cells(balances)}
    assert rows[("Kho", "Balo kéo du lịch")] == [
        "Kho", "Balo kéo du lịch", "1", "1.234", "0", "0", "0", "0", "0", "0", "1.234"]
    assert rows[(STORE, "Ô 2 khúc cầm tay")][3:] == ["0", "9", "0", "1", "0", "0", "0", "8"]
    on_hand = balances.column_of("on_hand")
    plenty = balances.index(0, on_hand)
    assert plenty.data(Qt.ItemDataRole.TextAlignmentRole) & Qt.AlignmentFlag.AlignRight
    assert plenty.data(Qt.ItemDataRole.DecorationRole) is None
    assert plenty.data(Qt.ItemDataRole.ForegroundRole) is None
    for r in range(balances.rowCount()):
        b = balances.dto(r)
        assert b is not None
        cell = balances.index(r, on_hand)
        if b.item_code == O and b.location == "Kho":  # 1 left: low
            assert isinstance(cell.data(Qt.ItemDataRole.DecorationRole), QIcon)
            assert cell.data(Qt.ItemDataRole.ForegroundRole) == WARN_COLOUR
            assert cell.data(Qt.ItemDataRole.ToolTipRole) == "Sắp hết: còn dưới 5."
        if b.item_code == "hop-thuc-pham":  # none, three owed: short
            assert isinstance(cell.data(Qt.ItemDataRole.DecorationRole), QIcon)
            assert cell.data(Qt.ItemDataRole.ForegroundRole) == ERROR_COLOUR
            assert cell.data(Qt.ItemDataRole.ToolTipRole) == (
                "Không đủ trả 3 quà nợ ở đây: còn 0.")
            assert balances.index(r, balances.column_of("owed")).data() == "3"

    ledger = LedgerModel()
    ledger.set_rows(stock.ledger(factory, programme_id))
    qtmodeltester.check(ledger, force_py=True)
    assert ledger.headers() == list(SOKHO_HEADERS)
    handover, t_in, t_out, *_ = _cells(ledger)
    local = stock.ledger(factory, programme_id)[0].at.astimezone()
    assert handover[0] == local.strftime("%d/%m/%Y %H:%M")
    assert handover[1:5] == ["Trao quà", "Ô 2 khúc cầm tay", STORE, "-1"]
    assert handover[8] == "0902 000 002"
    assert t_in[1:7] == ["Chuyển đến", "Ô 2 khúc cầm tay", STORE, "+9", "Kho", "Lan"]
    assert t_out[4:8] == ["-9", STORE, "Lan", "Cửa hàng cần quà"]
    assert _cells(ledger)[-1][4] == "+1.234"
    assert KIND_TEXT == MOVEMENT_LABELS

    owed = OwedModel(today=care_work.local_today())
    owed.set_rows(stock.owed_gifts(factory, programme_id))
    qtmodeltester.check(owed, force_py=True)
    assert owed.headers() == list(QUANO_HEADERS[:6])
    first = _cells(owed)[0]
    assert first[:4] == ["0902 000 003", "Khách Hàng Số 3", "Hộp đựng thực phẩm hút chân không",
                         STORE]
    assert first[4] == care_work.local_today().strftime("%d/%m/%Y")
    promised = owed.index(0, owed.column_of("promised_on"))
    assert promised.data(Qt.ItemDataRole.DecorationRole) is None
    # Three days later the promise is past: flagged in words and with an icon, not colour only.
    owed.set_today(care_work.local_today() + dt.timedelta(days=3))
    qtmodeltester.check(owed, force_py=True)
    promised = owed.index(0, owed.column_of("promised_on"))
    assert promised.data().endswith(" – quá hẹn")
    assert isinstance(promised.data(Qt.ItemDataRole.DecorationRole), QIcon)
    assert promised.data(Qt.ItemDataRole.ForegroundRole) == ERROR_COLOUR
    assert promised.data(Qt.ItemDataRole.ToolTipRole) == "Đã quá ngày hẹn 2 ngày."


def test_the_proxy_sorts_numbers_as_numbers_dates_as_dates_names_in_vietnamese(
        qtbot: QtBot, qtmodeltester) -> None:
    def owed(number: str, name: str, promised: dt.date | None) -> OwedDTO:
        return OwedDTO(1, 1, number, name, O, "Ô 2 khúc cầm tay", STORE, None, promised, "")

    model = OwedModel(today=dt.date(2017, 3, 1))
    model.set_rows([owed("0902000009", "Đỗ Văn Hải", dt.date(2017, 3, 12)),
                    owed("0902000010", "Dương Thị Lan", dt.date(2017, 3, 9)),
                    owed("0902000011", "Zoãn An", None)])
    proxy = StockSortProxyModel()
    proxy.setSourceModel(model)
    qtmodeltester.check(proxy, force_py=True)
    proxy.sort(model.column_of("promised_on"), Qt.SortOrder.AscendingOrder)
    # As dates, 09/03 comes before 12/03 (as text "12/03/2017" < "09/…" would not).
    assert [proxy.index(r, 1).data() for r in range(3)] == [
        "Zoãn An", "Dương Thị Lan", "Đỗ Văn Hải"]
    proxy.sort(model.column_of("name"), Qt.SortOrder.AscendingOrder)
    assert [proxy.index(r, 1).data() for r in range(3)] == [
        "Dương Thị Lan", "Đỗ Văn Hải", "Zoãn An"]  # Đ after D, before Z

    balances = BalanceModel()
    base = stock.BalanceDTO(BALO, "Balo kéo du lịch", 1, "Kho", "warehouse", 0, 0, 0, 0, 0,
                            0, 0, 0)
    balances.set_rows([base.__class__(**{**base.__dict__, "location": f"Nơi {n}",
                                         "on_hand": n}) for n in (9, 10, 100)])
    proxy.setSourceModel(balances)
    on_hand = balances.column_of("on_hand")
    assert proxy.index(0, on_hand).data(SortRole) == 9
    proxy.sort(on_hand, Qt.SortOrder.DescendingOrder)
    assert [proxy.index(r, on_hand).data() for r in range(3)] == ["100", "10", "9"]


# --------------------------------------------------------------------------- the screen


def test_shows_balances_ledger_and_owed_gifts(page: StockPage) -> None:
    assert _balance_rows(page)[("Kho", "Balo kéo du lịch")][-1] == "3"
    assert _balance_rows(page)[(STORE, "Ô 2 khúc cầm tay")][-2:] == ["1", "0"]
    assert page.ledger_model.rowCount() == 1
    assert page.tabs.tabText(2) == "Quà nợ (1)"
    assert [o.msisdn for o in page.owed_model.rows()] == [OWED]
    assert page.selected_owed() is not None
    assert page._summary_label.text() == (
        "Còn 3 món trong kho và cửa hàng · 2 dòng sắp hết · 1 quà nợ")


def test_receive_through_the_form_shows_the_new_balance(
        qtbot: QtBot, page: StockPage, sink: Sink) -> None:
    page.activateWindow()
    qtbot.waitUntil(page.isActiveWindow)
    page.balance_table.setFocus()
    qtbot.keyClick(page.balance_table, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: page.movement_dialog is not None)  # a shortcut animates the click
    dialog = page.movement_dialog
    assert dialog is not None and dialog.kind == "receive"
    assert dialog.location_combo.currentText() == "Kho"
    assert dialog.ok_button.isEnabled()  # a receive needs no reason
    dialog.set_item("hop-thuc-pham")
    dialog.quantity_spin.setValue(1250)
    assert dialog.quantity_spin.text() == "1.250"
    assert dialog.hint_label.text() == "Hiện có tại Kho: 0 Hộp đựng thực phẩm hút chân không."
    dialog.reason_edit.setText("Nhập đợt 1")
    _accept(qtbot, page, dialog)

    row = _balance_rows(page)[("Kho", "Hộp đựng thực phẩm hút chân không")]
    assert (row[3], row[-1]) == ("1.250", "1.250")
    assert ("notify", "Kho: Hộp đựng thực phẩm hút chân không còn 1.250.", "") in sink
    line = page.ledger_model.rows()[0]
    assert (line.kind, line.quantity, line.reason, line.by) == ("receive", 1250, "Nhập đợt 1",
                                                                 "Lan")


def test_transfer_without_a_reason_keeps_ok_disabled(
        qtbot: QtBot, page: StockPage, sink: Sink) -> None:
    dialog = page.open_movement("transfer")
    assert dialog is not None
    dialog.set_item(BALO)
    dialog.quantity_spin.setValue(2)
    assert dialog.to_combo is not None
    dialog.to_combo.setCurrentText(STORE)
    assert not dialog.ok_button.isEnabled()
    assert dialog.error_label.text() == "Cần ghi lý do chuyển quà."
    assert dialog.error_label.isVisibleTo(dialog)
    assert dialog._error_icon.isVisibleTo(dialog)
    dialog.reason_edit.setText("   ")
    assert not dialog.ok_button.isEnabled()
    dialog.to_combo.setCurrentText("kho")
    dialog.reason_edit.setText("Cửa hàng sắp phát quà")
    assert dialog.error_label.text() == "Nơi chuyển và nơi nhận là một."
    dialog.to_combo.setCurrentText(STORE)
    assert dialog.problem() == "" and not dialog.error_label.isVisibleTo(dialog)
    _accept(qtbot, page, dialog)

    assert _balance_rows(page)[("Kho", "Balo kéo du lịch")][-1] == "1"
    assert _balance_rows(page)[(STORE, "Balo kéo du lịch")][4] == "2"
    assert sink[-1][1] == (f"Đã chuyển 2 Balo kéo du lịch từ Kho (còn 1) đến {STORE} "
                           "(còn 2).")


def test_writing_off_more_than_on_hand_is_refused_with_the_sentence(
        qtbot: QtBot, page: StockPage, seeded: sessionmaker[Session], programme_id: int,
        sink: Sink) -> None:
    dialog = page.open_movement("write_off")
    assert dialog is not None
    dialog.set_item(BALO)
    dialog.reason_edit.setText("Rách quai")
    dialog.quantity_spin.setValue(5)
    assert not dialog.ok_button.isEnabled()
    assert dialog.error_label.text() == "Kho chỉ còn 3 Balo kéo du lịch, không đủ 5."
    dialog.quantity_spin.setValue(3)
    assert dialog.ok_button.isEnabled()
    # Meanwhile another workstation writes two off: the service has the last word.
    stock.move_stock(seeded, "write_off", BALO, 2, actor=LAN, reason="Ướt",
                     programme_id=programme_id)
    with qtbot.waitSignal(page._runner.busy_changed, timeout=10000,
                          check_params_cb=lambda busy: not busy):
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert sink[-1][:2] == ("error", "Kho chỉ còn 1 Balo kéo du lịch, không đủ 3.")
    assert "Traceback" not in sink[-1][2]


def test_a_clerk_is_refused(qtbot: QtBot, page: StockPage, sink: Sink) -> None:
    page.set_actor(Actor("Hà", "clerk"))
    assert page._permission_label.isVisibleTo(page)
    assert "Giao dịch viên không được nhập" in page._permission_label.text()
    qtbot.mouseClick(page._receive_button, Qt.MouseButton.LeftButton)
    assert page.movement_dialog is None
    kind, text, _details = sink[-1]
    assert kind == "error"
    assert text == ("Vai trò Giao dịch viên không được nhập, chuyển hoặc xuất hủy quà trong "
                    "kho; cần: Quản trị (Phòng CSKH), Trưởng MF Quận/Huyện.")
    page.set_actor(LAN)
    assert not page._permission_label.isVisibleTo(page)


def test_an_owed_gift_is_given_once_the_store_has_stock(
        qtbot: QtBot, page: StockPage, seeded: sessionmaker[Session], sink: Sink) -> None:
    page.tabs.setCurrentIndex(2)
    assert page.select_owed(OWED)
    cells = _cells(page.owed_model)[0]
    assert cells[:4] == ["0902 000 001", "Khách Hàng Số 1", "Ô 2 khúc cầm tay", STORE]
    assert not page._give_button.isEnabled()
    assert page.owed_hint_text() == (f"⚠ {STORE} chưa có Ô 2 khúc cầm tay: nhập quà hoặc "
                                     "chuyển quà đến trước khi trao.")

    dialog = page.open_movement("receive")
    assert dialog is not None
    dialog.set_item(O)
    dialog.location_combo.setCurrentText("le chan")  # the folded name finds the store
    dialog.quantity_spin.setValue(4)
    assert dialog.hint_label.text() == f"Hiện có tại {STORE}: 0 Ô 2 khúc cầm tay."
    _accept(qtbot, page, dialog)
    assert page.selected_owed() is not None
    assert page._give_button.isEnabled()
    assert page.owed_hint_text() == f"{STORE} còn 4 Ô 2 khúc cầm tay: trao được."

    with qtbot.waitSignal(page.loaded, timeout=10000):
        qtbot.mouseClick(page._give_button, Qt.MouseButton.LeftButton)
    assert page.owed_model.rowCount() == 0
    assert page.tabs.tabText(2) == "Quà nợ"
    assert sink[-1][:2] == ("notify", "Đã trao Ô 2 khúc cầm tay cho Khách Hàng Số 1 "
                                      f"(0902 000 001) tại {STORE}; còn 3.")
    assert _balance_rows(page)[(STORE, "Ô 2 khúc cầm tay")][-4:] == ["0", "0", "0", "3"]
    assert page.ledger_model.rows()[0].msisdn == OWED
    assert stock.owed_gifts(seeded) == []


def test_a_refused_owed_gift_is_explained_inline(
        qtbot: QtBot, page: StockPage, seeded: sessionmaker[Session], programme_id: int,
        sink: Sink) -> None:
    stock.move_stock(seeded, "receive", O, 1, actor=LAN, location=STORE,
                     programme_id=programme_id)
    with qtbot.waitSignal(page.loaded, timeout=10000):
        page.refresh()
    page.set_actor(Actor("Minh", "viewer"))
    assert page._give_button.isEnabled()
    with qtbot.waitSignal(page._runner.busy_changed, timeout=10000,
                          check_params_cb=lambda busy: not busy):
        qtbot.mouseClick(page._give_button, Qt.MouseButton.LeftButton)
    assert page.owed_hint_text().startswith(
        "✗ Vai trò Chỉ xem không được ghi kết quả chăm sóc")
    assert page.owed_model.rowCount() == 1
    assert not [m for m in sink if m[0] == "error"]


def test_ledger_filters(qtbot: QtBot, page: StockPage, seeded: sessionmaker[Session],
                        programme_id: int) -> None:
    stock.move_stock(seeded, "receive", O, 6, actor=LAN, programme_id=programme_id)
    stock.move_stock(seeded, "transfer", O, 2, actor=LAN, to_location=STORE, reason="Chia",
                     programme_id=programme_id)
    with qtbot.waitSignal(page.loaded, timeout=10000):
        page.refresh()
    assert page.ledger_model.rowCount() == 4
    kind = page._kind_filter
    with qtbot.waitSignal(page.loaded, timeout=10000):
        kind.setCurrentIndex(kind.findData("receive"))
    assert [m.kind for m in page.ledger_model.rows()] == ["receive", "receive"]
    assert page._ledger_count.text() == "2 dòng"
    item = page._item_filter
    with qtbot.waitSignal(page.loaded, timeout=10000):
        item.setCurrentIndex(item.findData(O))
    assert [(m.kind, m.item_code) for m in page.ledger_model.rows()] == [("receive", O)]
    place, kind_all = page._location_filter, 0
    with qtbot.waitSignal(page.loaded, timeout=10000):
        kind.setCurrentIndex(kind_all)
    with qtbot.waitSignal(page.loaded, timeout=10000):
        place.setCurrentIndex(place.findData(STORE))
    assert [(m.kind, m.location) for m in page.ledger_model.rows()] == [("transfer_in", STORE)]
    # A refresh keeps the filter.
    with qtbot.waitSignal(page.loaded, timeout=10000):
        page.refresh()
    assert page._location_filter.currentData() == STORE
    assert page.ledger_model.rowCount() == 1


def test_export_writes_the_workbook_opening_on_the_current_tab(
        qtbot: QtBot, page: StockPage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        sink: Sink) -> None:
    target = tmp_path / "kho-qua"
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(target), "")))
    page.tabs.setCurrentIndex(1)
    with qtbot.waitSignal(page.export_finished, timeout=10000) as blocker:
        qtbot.mouseClick(page._export_button, Qt.MouseButton.LeftButton)
    assert blocker.args == [str(tmp_path / "kho-qua.xlsx")]
    book = openpyxl.load_workbook(tmp_path / "kho-qua.xlsx")
    assert book.active.title == "SoKho"
    assert book["QuaNo"]["A2"].value == OWED
    assert sink[-1][:2] == ("notify", "Đã xuất kho quà ra tệp kho-qua.xlsx.")
    assert page._export_button.isEnabled()


def test_no_programme_means_nothing_to_move(qtbot: QtBot, page: StockPage) -> None:
    page.set_programme(None, None)
    assert page.balance_model.rowCount() == page.owed_model.rowCount() == 0
    assert not page._receive_button.isEnabled() and not page._export_button.isEnabled()
    assert page.open_movement("receive") is None


def test_the_form_colours_are_not_alone(qtbot: QtBot, page: StockPage) -> None:
    dialog = page.open_movement("write_off")
    assert dialog is not None
    assert not dialog.ok_button.isEnabled()
    assert dialog.error_label.text() == "Cần ghi lý do xuất hủy."
    assert QColor(ERROR_COLOUR).name() in dialog.error_label.styleSheet()
    assert dialog._error_icon.pixmap() is not None and not dialog._error_icon.pixmap().isNull()
    dialog.reject()
