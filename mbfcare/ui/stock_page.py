"""The gift stock screen (Kho quà): balances, the ledger, owed gifts, and the stock movements."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import QLocale, QModelIndex, Qt, Signal, Slot
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QStyle,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.domain.actors import Actor, PermissionProblem
from mbfcare.domain.values import format_number
from mbfcare.domain.vntext import clean_text, fold
from mbfcare.errors import RuleError
from mbfcare.reports.stock_workbook import SHEETS, StockWorkbookWritten, export_stock
from mbfcare.services import care_work, queries, stock
from mbfcare.services.care_work import HandoverResult
from mbfcare.services.stock import BalanceDTO, MovementDTO, MovementResult, OwedDTO
from mbfcare.ui import messages
from mbfcare.ui.tablemodels.stock import (
    ERROR_COLOUR,
    WARN_COLOUR,
    BalanceModel,
    LedgerModel,
    OwedModel,
    StockSortProxyModel,
    balance_level,
    kind_text,
)
from mbfcare.ui.tasks import TaskRunner

logger = logging.getLogger(__name__)

VI_LOCALE = QLocale(QLocale.Language.Vietnamese, QLocale.Country.Vietnam)
MAX_QUANTITY = 1_000_000

# The kinds of movement a person starts from this screen (handovers come from the desk).
MOVEMENT_KINDS = ("receive", "transfer", "return", "write_off")
_OUTGOING = ("transfer", "write_off")
_NEEDS_REASON = ("transfer", "write_off")

ItemChoice = tuple[str, str, int]  # code, name, gift type number


@dataclass(frozen=True)
class _Ledger:
    movements: list[MovementDTO]
    item_code: str | None
    location: str | None
    kind: str | None


@dataclass(frozen=True)
class _Snapshot:
    """Everything the screen shows, read in one go on the worker."""

    balances: list[BalanceDTO]
    ledger: _Ledger
    owed: list[OwedDTO]
    items: list[ItemChoice]
    locations: list[str]
    today: dt.date


def _read_ledger(factory: sessionmaker[Session], programme_id: int, item_code: str | None,
                 location: str | None, kind: str | None) -> _Ledger:
    """The ledger lines of the filter (worker; no UI calls here)."""
    return _Ledger(stock.ledger(factory, programme_id, item_code=item_code, location=location,
                                kind=kind), item_code, location, kind)


def _read_all(factory: sessionmaker[Session], programme_id: int, item_code: str | None,
              location: str | None, kind: str | None) -> _Snapshot:
    """Balances, ledger, owed gifts, items and places of the programme (worker; no UI calls)."""
    names = [loc.name for loc in stock.locations(factory)]
    if stock.WAREHOUSE not in names:
        names.insert(0, stock.WAREHOUSE)
    # The stores on the care lists too: that is where store pick-ups take their gift from.
    known = {fold(n) for n in names}
    for store in queries.filter_choices(factory, programme_id).stores:
        if fold(store) not in known:
            known.add(fold(store))
            names.append(store)
    return _Snapshot(
        balances=stock.balances(factory, programme_id),
        ledger=_read_ledger(factory, programme_id, item_code, location, kind),
        owed=stock.owed_gifts(factory, programme_id),
        items=stock.item_choices(factory, programme_id),
        locations=names,
        today=care_work.local_today(),
    )


def resolve_location(typed: str, names: Sequence[str]) -> str | None:
    """The known place a typed name means, as the service finds it: the same folded name,
    or the only one containing it ("le chan")."""
    wanted = fold(typed)
    if not wanted:
        return None
    for name in names:
        if fold(name) == wanted:
            return name
    found = [name for name in names if wanted in fold(name)]
    return found[0] if len(found) == 1 else None


@dataclass(frozen=True)
class MovementRequest:
    """What the movement dialog asks for: the arguments of `stock.move_stock`."""

    kind: str
    item_code: str
    quantity: int
    location: str
    to_location: str | None
    reason: str


class MovementDialog(QDialog):
    """One form for receiving, transferring, returning and writing off gifts.

    OK stays disabled until the form is complete; what is missing is said inline, in red,
    with an icon. For a transfer or a write-off the quantity is checked against what the
    place had when the screen last read it (the service checks again when saving).
    """

    def __init__(self, kind: str, items: Sequence[ItemChoice], locations: Sequence[str],
                 on_hand: Mapping[tuple[str, str], int], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        if kind not in MOVEMENT_KINDS:
            raise ValueError(f"unknown movement {kind!r}")
        self._kind = kind
        self._items = list(items)
        self._locations = list(locations)
        self._on_hand = dict(on_hand)
        self.setObjectName(f"movement_{kind}")
        self.setWindowTitle({
            "receive": self.tr("Nhập quà"),
            "transfer": self.tr("Chuyển quà"),
            "return": self.tr("Trả lại quà"),
            "write_off": self.tr("Xuất hủy quà (hỏng)"),
        }[kind])
        self.setMinimumWidth(460)

        self.item_combo = QComboBox(self)
        self.item_combo.setObjectName("item")
        for code, name, gift_type in self._items:
            self.item_combo.addItem(self.tr("{name} (quà loại {n})").format(name=name,
                                                                             n=gift_type), code)
        self.quantity_spin = QSpinBox(self)
        self.quantity_spin.setObjectName("quantity")
        self.quantity_spin.setLocale(VI_LOCALE)
        self.quantity_spin.setGroupSeparatorShown(True)
        self.quantity_spin.setRange(1, MAX_QUANTITY)
        self.quantity_spin.setAccelerated(True)
        self.location_combo = self._place_combo("location", stock.WAREHOUSE)
        self.to_combo: QComboBox | None = None
        if kind == "transfer":
            first_other = next((n for n in self._locations if fold(n) != fold(stock.WAREHOUSE)),
                               "")
            self.to_combo = self._place_combo("to_location", first_other)
        self.reason_edit = QLineEdit(self)
        self.reason_edit.setObjectName("reason")
        self.reason_edit.setPlaceholderText(
            self.tr("bắt buộc") if kind in _NEEDS_REASON else self.tr("không bắt buộc"))
        self.hint_label = QLabel(self)
        self.hint_label.setObjectName("hint")
        self.hint_label.setWordWrap(True)
        self._error_icon = QLabel(self)
        size = self.style().pixelMetric(QStyle.PixelMetric.PM_SmallIconSize)
        self._error_icon.setPixmap(self.style().standardIcon(
            QStyle.StandardPixmap.SP_MessageBoxCritical).pixmap(size, size))
        self.error_label = QLabel(self)
        self.error_label.setObjectName("error")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet(f"color: {ERROR_COLOUR.name()}; font-weight: bold;")
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText({"receive": self.tr("Nhập"), "transfer": self.tr("Chuyển"),
                                "return": self.tr("Trả lại"),
                                "write_off": self.tr("Xuất hủy")}[kind])
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(self.tr("Hủy"))

        form = QFormLayout()
        form.addRow(self.tr("&Món quà"), self.item_combo)
        form.addRow(self.tr("&Số lượng"), self.quantity_spin)
        place_label = {"receive": self.tr("&Nhập về"), "transfer": self.tr("&Từ nơi"),
                       "return": self.tr("&Trả về"), "write_off": self.tr("&Tại")}[kind]
        form.addRow(place_label, self.location_combo)
        if self.to_combo is not None:
            form.addRow(self.tr("Đến &nơi"), self.to_combo)
        form.addRow(self.tr("&Lý do"), self.reason_edit)
        error_row = QHBoxLayout()
        error_row.addWidget(self._error_icon, 0, Qt.AlignmentFlag.AlignTop)
        error_row.addWidget(self.error_label, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.hint_label)
        layout.addLayout(error_row)
        layout.addWidget(self.buttons)

        self.buttons.accepted.connect(self._on_buttons_accepted)
        self.buttons.rejected.connect(self.reject)
        self.item_combo.currentIndexChanged.connect(self._validate)
        self.quantity_spin.valueChanged.connect(self._validate)
        self.location_combo.currentTextChanged.connect(self._validate)
        if self.to_combo is not None:
            self.to_combo.currentTextChanged.connect(self._validate)
        self.reason_edit.textChanged.connect(self._validate)
        self._validate()

    # --- public ---------------------------------------------------------------------------

    @property
    def kind(self) -> str:
        """`receive`, `transfer`, `return` or `write_off`."""
        return self._kind

    def problem(self) -> str:
        """Why the form cannot be saved yet, in one sentence ("" when it can)."""
        code = self.item_combo.currentData()
        if not code:
            return self.tr("Chưa có món quà nào: thêm quà trong Cài đặt chương trình.")
        place = clean_text(self.location_combo.currentText())
        if not place:
            return self.tr("Cần ghi nơi để quà.")
        if self.to_combo is not None:
            to = clean_text(self.to_combo.currentText())
            if not to:
                return self.tr("Cần chọn nơi nhận.")
            if fold(to) == fold(place) or (
                    resolve_location(to, self._locations) is not None
                    and resolve_location(to, self._locations)
                    == resolve_location(place, self._locations)):
                return self.tr("Nơi chuyển và nơi nhận là một.")
        if self._kind in _NEEDS_REASON and not self.reason_edit.text().strip():
            return (self.tr("Cần ghi lý do chuyển quà.") if self._kind == "transfer"
                    else self.tr("Cần ghi lý do xuất hủy."))
        if self._kind in _OUTGOING:
            known = resolve_location(place, self._locations)
            name = self._item_name(code)
            if known is None:
                return self.tr("{place} chưa có {item}.").format(place=place, item=name)
            left = self._on_hand.get((code, known), 0)
            wanted = self.quantity_spin.value()
            if wanted > left:
                return self.tr("{place} chỉ còn {left} {item}, không đủ {wanted}.").format(
                    place=known, left=format_number(left), item=name,
                    wanted=format_number(wanted))
        return ""

    def request(self) -> MovementRequest:
        """The movement the form describes."""
        to = clean_text(self.to_combo.currentText()) if self.to_combo is not None else None
        return MovementRequest(self._kind, str(self.item_combo.currentData() or ""),
                               self.quantity_spin.value(),
                               clean_text(self.location_combo.currentText()), to or None,
                               self.reason_edit.text().strip())

    def set_item(self, code: str) -> None:
        """Choose the item with this code."""
        self.item_combo.setCurrentIndex(max(self.item_combo.findData(code), 0))

    # --- helpers ----------------------------------------------------------------------------

    def _place_combo(self, name: str, default: str) -> QComboBox:
        combo = QComboBox(self)
        combo.setObjectName(name)
        combo.setEditable(True)
        combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        combo.addItems(self._locations)
        combo.setMinimumContentsLength(28)
        combo.setCurrentText(default)
        return combo

    def _item_name(self, code: str) -> str:
        return next((name for c, name, _t in self._items if c == code), code)

    @Slot()
    def _validate(self) -> None:
        problem = self.problem()
        self.error_label.setText(problem)
        self.error_label.setVisible(bool(problem))
        self._error_icon.setVisible(bool(problem))
        self.ok_button.setEnabled(not problem)
        self.hint_label.setText(self._hint())

    def _hint(self) -> str:
        code = self.item_combo.currentData()
        place = clean_text(self.location_combo.currentText())
        if not code or not place:
            return ""
        known = resolve_location(place, self._locations)
        if known is None:
            return self.tr("Nơi mới: {place} sẽ được thêm vào danh sách nơi để quà.").format(
                place=place) if self._kind in ("receive", "return") else ""
        return self.tr("Hiện có tại {place}: {left} {item}.").format(
            place=known, left=format_number(self._on_hand.get((code, known), 0)),
            item=self._item_name(code))

    @Slot()
    def _on_buttons_accepted(self) -> None:
        if not self.problem():
            self.accept()


class StockPage(QWidget):
    """The gift stock of the current programme, and the movements that change it.

    Reads and writes run through the `TaskRunner`; the tables hold frozen DTOs.

    Signals:
        loaded(): the tables show a fresh read.
        stock_changed(): a movement or an owed gift was saved (other screens may refresh).
        export_finished(str): the workbook was written to this file.
    """

    loaded = Signal()
    stock_changed = Signal()
    export_finished = Signal(str)

    def __init__(self, factory: sessionmaker[Session], runner: TaskRunner, actor: Actor,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._factory = factory
        self._runner = runner
        self._actor = actor
        self._programme_id: int | None = None
        self._generation = 0
        self._ledger_generation = 0
        self._items: list[ItemChoice] = []
        self._locations: list[str] = []
        self._dialog: MovementDialog | None = None

        self.balance_model = BalanceModel(self)
        self.ledger_model = LedgerModel(self)
        self.owed_model = OwedModel(self)

        self._receive_button = self._button("receive", self.tr("Nhập quà (Ctrl+N)"),
                                            self.tr("Nhập quà về kho hoặc cửa hàng"), "Ctrl+N")
        self._transfer_button = self._button("transfer", self.tr("Chuyển quà (Ctrl+T)"),
                                             self.tr("Chuyển quà từ nơi này đến nơi khác "
                                                     "(cần lý do)"), "Ctrl+T")
        self._return_button = self._button("return", self.tr("T&rả lại"),
                                           self.tr("Nhận lại quà đã xuất (Alt+R)"))
        self._write_off_button = self._button("write_off", self.tr("Xuất &hủy (hỏng)"),
                                              self.tr("Xuất hủy quà hỏng (cần lý do, Alt+H)"))
        self._export_button = QPushButton(self.tr("Xuất &Excel"), self)
        self._export_button.setObjectName("export")
        self._export_button.setToolTip(self.tr("Xuất tồn kho, sổ kho và quà nợ ra tệp Excel; "
                                               "tệp mở ở thẻ đang xem (Alt+E)"))
        self._summary_label = QLabel(self)
        self._summary_label.setObjectName("summary")
        self._permission_label = QLabel(self)
        self._permission_label.setObjectName("permission")
        self._permission_label.setWordWrap(True)
        self._permission_label.setStyleSheet(f"color: {WARN_COLOUR.name()};")

        self.balance_table = self._table(self.balance_model, "balances")
        self._legend_label = QLabel(self.tr(
            "Biểu tượng cảnh báo ở cột Còn: chữ nâu là sắp hết (dưới 5), chữ đỏ là không đủ "
            "trả quà nợ ở nơi đó."), self)
        self._legend_label.setWordWrap(True)

        self._item_filter = self._combo("item_filter")
        self._location_filter = self._combo("location_filter")
        self._kind_filter = self._combo("kind_filter")
        self._kind_filter.addItem(self.tr("Tất cả"), None)
        for kind in stock.MOVEMENT_KINDS:
            self._kind_filter.addItem(kind_text(kind), kind)
        self._ledger_count = QLabel(self)
        self.ledger_table = self._table(self.ledger_model, "ledger")

        self.owed_table = self._table(self.owed_model, "owed")
        self._give_button = QPushButton(self.tr("Trao quà &nợ"), self)
        self._give_button.setObjectName("give_owed")
        self._give_button.setToolTip(self.tr("Trao món quà nợ của khách hàng đang chọn: quà "
                                             "xuất khỏi nơi ghi nợ (Alt+N)"))
        self._owed_hint = QLabel(self)
        self._owed_hint.setObjectName("owed_hint")
        self._owed_hint.setWordWrap(True)
        self._owed_error = QLabel(self)
        self._owed_error.setObjectName("owed_error")
        self._owed_error.setWordWrap(True)
        self._owed_error.setStyleSheet(f"color: {ERROR_COLOUR.name()}; font-weight: bold;")
        self._owed_error.hide()

        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("stock_tabs")
        self.tabs.addTab(self._balance_tab(), self.tr("Tồn kho"))
        self.tabs.addTab(self._ledger_tab(), self.tr("Sổ kho"))
        self.tabs.addTab(self._owed_tab(), self.tr("Quà nợ"))

        actions = QHBoxLayout()
        for button in self._movement_buttons():
            actions.addWidget(button)
        actions.addStretch(1)
        actions.addWidget(self._summary_label)
        actions.addWidget(self._export_button)
        layout = QVBoxLayout(self)
        layout.addLayout(actions)
        layout.addWidget(self._permission_label)
        layout.addWidget(self.tabs, 1)

        self._export_button.clicked.connect(self._on_export_button_clicked)
        self._give_button.clicked.connect(self._on_give_button_clicked)
        for combo in (self._item_filter, self._location_filter, self._kind_filter):
            combo.currentIndexChanged.connect(self._on_ledger_filter_changed)
        self.owed_table.selectionModel().currentRowChanged.connect(
            self._on_owed_current_row_changed)
        self._set_enabled(False)
        self._show_actor()
        self._fill_filters()

    # --- public ---------------------------------------------------------------------------

    @property
    def movement_dialog(self) -> MovementDialog | None:
        """The movement dialog open now, if any."""
        return self._dialog if self._dialog is not None and isValid(self._dialog) else None

    @property
    def actor(self) -> Actor:
        """Who moves stock and gives owed gifts from this screen."""
        return self._actor

    @Slot(object, object)
    def set_programme(self, programme_id: int | None, batch: int | None = None) -> None:
        """Show the stock of `programme_id` (None: nothing). Stock is per programme, so the
        batch changes nothing here."""
        if programme_id != self._programme_id:
            self._item_filter.blockSignals(True)
            self._item_filter.setCurrentIndex(0)
            self._item_filter.blockSignals(False)
        self._programme_id = programme_id
        if programme_id is None:
            self._generation += 1
            self._items, self._locations = [], []
            self.balance_model.set_rows([])
            self.ledger_model.set_rows([])
            self.owed_model.set_rows([])
            self._fill_filters()
            self._set_enabled(False)
            self._update_texts()
            return
        self.refresh()

    def set_actor(self, actor: Actor) -> None:
        """The person using the screen changed (their role decides what they may do)."""
        self._actor = actor
        self._show_actor()

    @Slot()
    def refresh(self) -> None:
        """Read everything again (after stock changed here or elsewhere)."""
        if self._programme_id is None:
            return
        self._generation += 1
        generation = self._generation
        self._ledger_generation += 1
        programme_id = self._programme_id
        item, place, kind = self._ledger_filter()
        self._runner.start(
            lambda _progress: _read_all(self._factory, programme_id, item, place, kind),
            on_done=partial(self._on_loaded, generation),
            on_error=self._on_task_failed)

    def open_movement(self, kind: str) -> MovementDialog | None:
        """Open the form for a movement (`receive`, `transfer`, `return`, `write_off`).

        The form opens without blocking; on OK the movement is saved on the worker.
        """
        if self._programme_id is None:
            return None
        try:
            self._actor.require("stock")
        except PermissionProblem as exc:
            messages.show_error(self, RuleError(str(exc)))
            return None
        previous = self.movement_dialog
        if previous is not None:
            previous.close()
        on_hand = {(b.item_code, b.location): b.on_hand for b in self.balance_model.rows()}
        dialog = MovementDialog(kind, self._items, self._locations, on_hand, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        current = self._current_item_code()
        if current:
            dialog.set_item(current)
        dialog.accepted.connect(partial(self._on_dialog_accepted, dialog))
        self._dialog = dialog
        dialog.open()
        return dialog

    def export_to(self, path: Path) -> None:
        """Write the stock workbook to `path` on the worker; it opens on the current tab."""
        if self._programme_id is None:
            return
        programme_id = self._programme_id
        item, place, kind = self._ledger_filter()
        active = SHEETS[max(self.tabs.currentIndex(), 0)]
        self._export_button.setEnabled(False)
        actor = self._actor
        self._runner.start(
            lambda _progress: export_stock(self._factory, path, programme_id, item_code=item,
                                           location=place, kind=kind, active=active,
                                           actor=actor),
            on_done=self._on_exported,
            on_error=self._on_export_failed)

    def owed_hint_text(self) -> str:
        """The line under the owed gifts: availability, or the last refusal."""
        return self._owed_error.text() if not self._owed_error.isHidden() else \
            self._owed_hint.text()

    def selected_owed(self) -> OwedDTO | None:
        """The owed gift of the selected row."""
        index = self.owed_table.currentIndex()
        if not index.isValid():
            return None
        proxy = self.owed_table.model()
        assert isinstance(proxy, StockSortProxyModel)
        return self.owed_model.dto(proxy.mapToSource(index).row())

    def select_owed(self, msisdn: str) -> bool:
        """Select the owed gift of this subscriber number; False when not listed."""
        proxy = self.owed_table.model()
        assert isinstance(proxy, StockSortProxyModel)
        for row, owed in enumerate(self.owed_model.rows()):
            if owed.msisdn == msisdn:
                self.owed_table.setCurrentIndex(proxy.mapFromSource(self.owed_model.index(row, 0)))
                return True
        return False

    # --- building ---------------------------------------------------------------------------

    def _button(self, kind: str, text: str, tip: str, shortcut: str | None = None
                ) -> QPushButton:
        button = QPushButton(text, self)
        button.setObjectName(kind)
        button.setToolTip(tip)
        if shortcut:
            button.setShortcut(QKeySequence(shortcut))
        button.clicked.connect(self._on_movement_button_clicked)
        return button

    def _movement_buttons(self) -> tuple[QPushButton, ...]:
        return (self._receive_button, self._transfer_button, self._return_button,
                self._write_off_button)

    def _combo(self, name: str) -> QComboBox:
        combo = QComboBox(self)
        combo.setObjectName(name)
        combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        return combo

    def _table(self, model: Any, name: str) -> QTableView:
        proxy = StockSortProxyModel(self)
        proxy.setSourceModel(model)
        table = QTableView(self)
        table.setObjectName(name)
        table.setModel(proxy)
        # No indicator: the service's order (warehouse first, newest first, earliest promise)
        # until the user clicks a header.
        table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        table.setSortingEnabled(True)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setAlternatingRowColors(True)
        table.setWordWrap(False)
        table.verticalHeader().setDefaultSectionSize(table.fontMetrics().height() + 6)
        header = table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(False)
        return table

    def _fit_columns(self, table: QTableView) -> None:
        table.resizeColumnsToContents()
        for col in range(table.model().columnCount()):
            table.setColumnWidth(col, min(table.columnWidth(col) + 12, 320))

    def _balance_tab(self) -> QWidget:
        page = QWidget(self)
        layout = QVBoxLayout(page)
        layout.addWidget(self.balance_table, 1)
        layout.addWidget(self._legend_label)
        return page

    def _ledger_tab(self) -> QWidget:
        page = QWidget(self)
        filters = QHBoxLayout()
        for text, combo in ((self.tr("Món &quà"), self._item_filter),
                            (self.tr("&Nơi"), self._location_filter),
                            (self.tr("&Loại"), self._kind_filter)):
            caption = QLabel(text, page)
            caption.setBuddy(combo)
            filters.addWidget(caption)
            filters.addWidget(combo)
        filters.addStretch(1)
        filters.addWidget(self._ledger_count)
        layout = QVBoxLayout(page)
        layout.addLayout(filters)
        layout.addWidget(self.ledger_table, 1)
        return page

    def _owed_tab(self) -> QWidget:
        page = QWidget(self)
        row = QHBoxLayout()
        row.addWidget(self._owed_hint, 1)
        row.addWidget(self._give_button)
        layout = QVBoxLayout(page)
        layout.addWidget(self.owed_table, 1)
        layout.addLayout(row)
        layout.addWidget(self._owed_error)
        return page

    # --- helpers ----------------------------------------------------------------------------

    def _ledger_filter(self) -> tuple[str | None, str | None, str | None]:
        return (self._item_filter.currentData(), self._location_filter.currentData(),
                self._kind_filter.currentData())

    def _current_item_code(self) -> str | None:
        """The item of the selected balance row (to preselect it in the movement form)."""
        if self.tabs.currentIndex() != 0:
            return None
        index = self.balance_table.currentIndex()
        if not index.isValid():
            return None
        proxy = self.balance_table.model()
        assert isinstance(proxy, StockSortProxyModel)
        balance = self.balance_model.dto(proxy.mapToSource(index).row())
        return balance.item_code if balance is not None else None

    def _fill_filters(self) -> None:
        everything = self.tr("Tất cả")

        def refill(combo: QComboBox, items: list[tuple[str, str]]) -> None:
            keep = combo.currentData()
            combo.blockSignals(True)
            combo.clear()
            combo.addItem(everything, None)
            for text, data in items:
                combo.addItem(text, data)
            combo.setCurrentIndex(max(combo.findData(keep), 0) if keep is not None else 0)
            combo.blockSignals(False)

        refill(self._item_filter, [(name, code) for code, name, _t in self._items])
        refill(self._location_filter, [(name, name) for name in self._locations])

    def _set_enabled(self, enabled: bool) -> None:
        for widget in (*self._movement_buttons(), self._export_button, self._item_filter,
                       self._location_filter, self._kind_filter):
            widget.setEnabled(enabled)
        self._update_give_button()

    def _show_actor(self) -> None:
        try:
            self._actor.require("stock")
        except PermissionProblem as exc:
            self._permission_label.setText(self.tr("⚠ {reason} Vẫn xem được tồn kho, sổ kho "
                                                   "và quà nợ.").format(reason=exc))
            self._permission_label.show()
        else:
            self._permission_label.clear()
            self._permission_label.hide()

    def _update_texts(self) -> None:
        balances = self.balance_model.rows()
        owed = self.owed_model.rows()
        overdue = sum(1 for o in owed if self.owed_model.overdue(o))
        low = sum(1 for b in balances if balance_level(b) is not None)
        parts = [self.tr("Còn {n} món trong kho và cửa hàng").format(
            n=format_number(sum(b.on_hand for b in balances)))]
        if low:
            parts.append(self.tr("{n} dòng sắp hết").format(n=low))
        parts.append(self.tr("{n} quà nợ").format(n=len(owed)))
        if overdue:
            parts.append(self.tr("{n} quá hẹn").format(n=overdue))
        self._summary_label.setText(" · ".join(parts) if self._programme_id else "")
        self.tabs.setTabText(2, self.tr("Quà nợ ({n})").format(n=len(owed)) if owed
                             else self.tr("Quà nợ"))
        self._ledger_count.setText(self.tr("{n} dòng").format(
            n=format_number(self.ledger_model.rowCount())))

    def _update_give_button(self) -> None:
        owed = self.selected_owed()
        if owed is None or self._programme_id is None:
            self._give_button.setEnabled(False)
            self._owed_hint.setText(self.tr("Chọn một khách hàng để trao quà nợ.")
                                    if self.owed_model.rowCount() else
                                    self.tr("Không còn quà nợ nào."))
            self._owed_hint.setStyleSheet("")
            return
        left = self.balance_model.on_hand(owed.item_code, owed.location)
        self._give_button.setEnabled(left > 0)
        if left > 0:
            self._owed_hint.setText(self.tr("{place} còn {left} {item}: trao được.").format(
                place=owed.location, left=format_number(left), item=owed.item_name))
            self._owed_hint.setStyleSheet("")
        else:
            self._owed_hint.setText(self.tr("⚠ {place} chưa có {item}: nhập quà hoặc chuyển "
                                            "quà đến trước khi trao.").format(
                place=owed.location, item=owed.item_name))
            self._owed_hint.setStyleSheet(f"color: {WARN_COLOUR.name()};")

    def _show_owed_error(self, text: str) -> None:
        self._owed_error.setText("✗ " + text if text else "")
        self._owed_error.setVisible(bool(text))

    # --- slots ------------------------------------------------------------------------------

    def _on_loaded(self, generation: int, snapshot: _Snapshot) -> None:
        if not isValid(self) or generation != self._generation:
            return  # closed, or a later read supersedes this one
        selected = self.selected_owed()
        self._items, self._locations = snapshot.items, snapshot.locations
        self.owed_model.set_today(snapshot.today)
        self.balance_model.set_rows(snapshot.balances)
        self.owed_model.set_rows(snapshot.owed)
        self._fill_filters()
        self._show_ledger(snapshot.ledger)
        ledger = snapshot.ledger
        if (ledger.item_code, ledger.location, ledger.kind) != self._ledger_filter():
            self._on_ledger_filter_changed()  # the filter changed while this was read
        for table in (self.balance_table, self.owed_table):
            self._fit_columns(table)
        if not (selected is not None and self.select_owed(selected.msisdn)) and snapshot.owed:
            self.select_owed(self.owed_model.rows()[0].msisdn)
        self._set_enabled(True)
        self._update_texts()
        self.loaded.emit()

    def _show_ledger(self, ledger: _Ledger) -> None:
        self.ledger_model.set_rows(ledger.movements)
        self._fit_columns(self.ledger_table)
        self._update_texts()

    @Slot()
    def _on_ledger_filter_changed(self) -> None:
        if self._programme_id is None:
            return
        self._ledger_generation += 1
        generation = self._ledger_generation
        programme_id = self._programme_id
        item, place, kind = self._ledger_filter()
        self._runner.start(
            lambda _progress: _read_ledger(self._factory, programme_id, item, place, kind),
            on_done=partial(self._on_ledger_loaded, generation),
            on_error=self._on_task_failed)

    def _on_ledger_loaded(self, generation: int, ledger: _Ledger) -> None:
        if not isValid(self) or generation != self._ledger_generation:
            return
        self._show_ledger(ledger)
        self.loaded.emit()

    @Slot()
    def _on_movement_button_clicked(self) -> None:
        sender = self.sender()
        if isinstance(sender, QPushButton):
            self.open_movement(sender.objectName())

    def _on_dialog_accepted(self, dialog: MovementDialog) -> None:
        if not isValid(self):
            return
        request = dialog.request()
        actor, programme_id = self._actor, self._programme_id
        self._runner.start(
            lambda _progress: stock.move_stock(
                self._factory, request.kind, request.item_code, request.quantity, actor=actor,
                location=request.location, to_location=request.to_location,
                reason=request.reason, programme_id=programme_id),
            on_done=self._on_moved,
            on_error=self._on_task_failed)

    def _on_moved(self, result: MovementResult) -> None:
        if not isValid(self):
            return
        messages.notify(self, result.text)
        self.stock_changed.emit()
        self.refresh()

    @Slot(QModelIndex, QModelIndex)
    def _on_owed_current_row_changed(self, _current: QModelIndex, _previous: QModelIndex
                                     ) -> None:
        self._show_owed_error("")
        self._update_give_button()

    @Slot()
    def _on_give_button_clicked(self) -> None:
        owed = self.selected_owed()
        if owed is None or self._programme_id is None:
            return
        self._show_owed_error("")
        self._give_button.setEnabled(False)
        actor, programme_id = self._actor, self._programme_id
        self._runner.start(
            lambda _progress: care_work.give_owed(self._factory, owed.msisdn, actor=actor,
                                                  programme_id=programme_id),
            on_done=self._on_owed_given,
            on_error=self._on_give_failed)

    def _on_owed_given(self, result: HandoverResult) -> None:
        if not isValid(self):
            return
        messages.notify(self, result.text)
        self.stock_changed.emit()
        self.refresh()

    def _on_give_failed(self, exc: BaseException) -> None:
        if not isValid(self):
            return
        if isinstance(exc, RuleError):
            self._show_owed_error(str(exc))  # the refusal, where the user looked
            self._update_give_button()
            return
        self._update_give_button()
        messages.show_error(self, exc)

    @Slot()
    def _on_export_button_clicked(self) -> None:
        name, _filter = QFileDialog.getSaveFileName(
            self, self.tr("Xuất kho quà ra Excel"), "kho-qua.xlsx", self.tr("Tệp Excel (*.xlsx)"))
        if not name:
            return
        path = Path(name)
        if path.suffix.lower() != ".xlsx":
            path = path.with_name(path.name + ".xlsx")
        self.export_to(path)

    def _on_exported(self, written: StockWorkbookWritten) -> None:
        if not isValid(self):
            return
        self._export_button.setEnabled(True)
        messages.notify(self, self.tr("Đã xuất kho quà ra tệp {file}.").format(
            file=written.path.name))
        self.export_finished.emit(str(written.path))

    def _on_export_failed(self, exc: BaseException) -> None:
        if not isValid(self):
            return
        self._export_button.setEnabled(True)
        messages.show_error(self, exc)

    def _on_task_failed(self, exc: BaseException) -> None:
        if not isValid(self):
            return
        messages.show_error(self, exc)
