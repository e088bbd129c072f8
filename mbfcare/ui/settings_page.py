"""Cài đặt: the programme's rules (with a live check), batches, gifts, area; the language."""

from __future__ import annotations

import dataclasses
import getpass
import logging
from dataclasses import dataclass
from functools import partial
from typing import Any

from PySide6.QtCore import QCoreApplication, QLocale, QSignalBlocker, Qt, Signal, Slot
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QAbstractSpinBox,
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QTableWidget,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.domain.actors import Actor
from mbfcare.domain.programme_spec import (
    BatchSpec,
    GiftItemSpec,
    GiftTypeSpec,
    GroupRule,
    ProgrammeSpec,
)
from mbfcare.domain.reference import old_provinces
from mbfcare.domain.rules import RuleProblem, check_groups
from mbfcare.domain.values import ValueProblem, format_money, format_number, parse_month
from mbfcare.errors import ValidationError
from mbfcare.services import programmes
from mbfcare.services.programmes import ChangeDTO, FrozenListsError, ProgrammeUpdate
from mbfcare.settings import load_settings, save_settings
from mbfcare.ui import messages
from mbfcare.ui.data_protection_tab import DataProtectionWidget
from mbfcare.ui.database_page import DatabaseSettingsWidget
from mbfcare.ui.form_settings_editor import FormSettingsEditor
from mbfcare.ui.i18n import install_translators
from mbfcare.ui.tasks import TaskProgress, TaskRunner
from mbfcare.ui.users_page import UsersWidget

logger = logging.getLogger(__name__)

MONEY_STEP = 10_000
MONEY_MAX = 2_000_000_000
WARN_COLOUR = "#8a5300"  # amber, dark enough to read on a light window
OK_COLOUR = "#1e6b30"
ERROR_COLOUR = "#b3261e"
VI_LOCALE = QLocale(QLocale.Language.Vietnamese, QLocale.Country.Vietnam)


@dataclass(frozen=True)
class _Loaded:
    programme_id: int
    spec: ProgrammeSpec
    changes: list[ChangeDTO]
    frozen: dict[int, int]


def _load(factory: sessionmaker[Session], programme_id: int, _progress: TaskProgress) -> _Loaded:
    """Worker: read the rules, the history and the frozen lists. No UI calls here."""
    return _Loaded(
        programme_id,
        programmes.programme_spec(factory, programme_id),
        programmes.programme_changes(factory, programme_id),
        programmes.frozen_lists(factory, programme_id),
    )


def _save(factory: sessionmaker[Session], programme_id: int, spec: ProgrammeSpec,
          actor: Actor, confirmed: bool, _progress: TaskProgress) -> ProgrammeUpdate:
    """Worker: store the rules. No UI calls here."""
    return programmes.update_programme(factory, programme_id, spec, actor=actor,
                                       confirmed=confirmed)


class MoneySpinBox(QSpinBox):
    """An amount in whole đồng shown the Vietnamese way (`700.000 đ`); the lowest step is none."""

    def __init__(self, none_text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setLocale(VI_LOCALE)  # Vietnamese digit grouping whatever the UI language
        self.setRange(-MONEY_STEP, MONEY_MAX)
        self.setSingleStep(MONEY_STEP)
        self.setGroupSeparatorShown(True)
        self.setSuffix(" đ")
        self.setSpecialValueText(none_text)
        self.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.setCorrectionMode(QAbstractSpinBox.CorrectionMode.CorrectToNearestValue)

    def amount(self) -> int | None:
        """The amount, or None for "none"."""
        value = self.value()
        return None if value < 0 else value

    def set_amount(self, amount: int | None) -> None:
        """Show an amount (None: none)."""
        self.setValue(self.minimum() if amount is None else amount)


def _count_spin(none_text: str) -> QSpinBox:
    spin = QSpinBox()
    spin.setLocale(VI_LOCALE)
    spin.setRange(-1, 10_000_000)
    spin.setGroupSeparatorShown(True)
    spin.setSpecialValueText(none_text)
    spin.setAlignment(Qt.AlignmentFlag.AlignRight)
    return spin


@dataclass
class _GroupRow:
    number: QSpinBox
    name: QLineEdit
    lower: MoneySpinBox
    lower_inclusive: QCheckBox
    upper: MoneySpinBox
    upper_inclusive: QCheckBox
    delivery: QComboBox
    gift_type: QComboBox


@dataclass
class _BatchRow:
    number: QSpinBox
    month: QLineEdit
    plan: dict[int, QSpinBox]


class SettingsWidget(QWidget):
    """The settings page: tab "Chương trình" (rules, batches, gifts, area, history), "Mẫu giấy
    tờ" (the printed documents' wording, `FormSettingsEditor`), "Ngôn ngữ".

    Signals:
        programme_loaded(int): the programme's rules were read and shown.
        programme_changed(int): the programme's rules were saved.
        language_changed(str): the user chose another language (`vi` or `en`), already saved
            and installed.
    """

    programme_loaded = Signal(int)
    programme_changed = Signal(int)
    language_changed = Signal(str)

    def __init__(
        self,
        factory: sessionmaker[Session],
        runner: TaskRunner,
        parent: QWidget | None = None,
        *,
        user: str | None = None,
        actor: Actor | None = None,
    ) -> None:
        super().__init__(parent)
        self._factory = factory
        self._runner = runner
        # Until sign-in (issue 8): the PC's account, with the administrator's role.
        self._actor = actor if actor is not None else Actor(
            user if user is not None else _login_name())
        self._user = user if user is not None else self._actor.name
        self._programme_id: int | None = None
        self._batch: int | None = None
        self._loaded: _Loaded | None = None
        self._filling = False
        self._dirty = False
        self._saving = False
        self._group_rows: list[_GroupRow] = []
        self._batch_rows: list[_BatchRow] = []

        self._tabs = QTabWidget(self)
        self._tabs.addTab(self._build_programme_tab(), self.tr("Chương trình"))
        self.forms_editor = FormSettingsEditor(factory, runner, self._actor)
        self._tabs.addTab(self.forms_editor, self.tr("Mẫu giấy tờ"))
        self.data_protection = DataProtectionWidget(factory, runner, self._actor, self)
        self._tabs.addTab(self.data_protection, self.tr("Bảo vệ dữ liệu cá nhân"))
        self.database_tab = DatabaseSettingsWidget(factory, runner, self._actor, self)
        self._tabs.addTab(self.database_tab, self.tr("Cơ sở dữ liệu"))
        # Accounts: administrators only; the others do not get the tab at all.
        self.users_tab: UsersWidget | None = None
        if self._actor.may("users"):
            self.users_tab = UsersWidget(factory, runner, self._actor, self)
            self._tabs.addTab(self.users_tab, self.tr("Người dùng"))
            self._tabs.currentChanged.connect(self._on_tabs_current_changed)
        self._language_tab = self._build_language_tab()
        self._tabs.addTab(self._language_tab, self.tr("Ngôn ngữ"))
        self._apply_role()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._tabs)

        shortcut = QShortcut(QKeySequence.StandardKey.Save, self)
        shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        shortcut.activated.connect(self._on_save_shortcut_activated)
        self.set_programme(None, None)

    # --- public API -------------------------------------------------------------------------

    def set_programme(self, programme_id: int | None, batch: int | None) -> None:
        """Show a programme's rules and document wording (read off the GUI thread); None
        shows that none exists."""
        self._programme_id, self._batch = programme_id, batch
        self.forms_editor.set_programme(programme_id, batch)
        self.data_protection.set_programme(programme_id)
        if programme_id is None:
            self._loaded = None
            self._editor.setEnabled(False)
            self._state_label.setText(self.tr("Chưa có chương trình để cài đặt."))
            self._set_buttons()
            return
        self._editor.setEnabled(False)
        self._state_label.setText(self.tr("Đang đọc chương trình…"))
        self._runner.start(partial(_load, self._factory, programme_id),
                           on_done=self._on_programme_read,
                           on_error=self._on_task_failed)

    def set_actor(self, actor: Actor) -> None:
        """Who changes the settings (recorded with the changes; the role decides whether the
        document wording can be changed)."""
        self._actor = actor
        self._user = actor.name
        self.forms_editor.set_actor(actor)
        self.data_protection.set_actor(actor)
        self.database_tab.set_actor(actor)
        self._apply_role()

    def _apply_role(self) -> None:
        # Programme rules and document wording are the administrators' (`manage`); the
        # service refuses the others anyway, the disabled tab only says so beforehand.
        allowed = self._actor.may("manage")
        why = "" if allowed else self.tr("Chỉ quản trị (Phòng CSKH) thay đổi chương trình.")
        for index in (0, 1):
            self._tabs.setTabEnabled(index, allowed)
            self._tabs.setTabToolTip(index, why)
        if not allowed and self._tabs.currentIndex() in (0, 1):
            self._tabs.setCurrentWidget(self._language_tab)

    @Slot(int)
    def _on_tabs_current_changed(self, index: int) -> None:
        if self.users_tab is not None and self._tabs.widget(index) is self.users_tab:
            self.users_tab.refresh()

    def programme_id(self) -> int | None:
        """The programme shown."""
        return self._programme_id

    def is_dirty(self) -> bool:
        """Whether there are edits not saved yet."""
        return self._dirty

    def rule_check_text(self) -> str:
        """The live rule check as shown under the groups table."""
        return self._rule_label.text()

    def problems_text(self) -> str:
        """The inline validation text (empty when the form can be saved)."""
        return self._problems_label.text()

    # --- building ---------------------------------------------------------------------------

    def _build_programme_tab(self) -> QWidget:
        page = QWidget()
        outer = QVBoxLayout(page)
        self._editor = QWidget()
        content = QVBoxLayout(self._editor)
        content.setContentsMargins(0, 0, 0, 0)

        top = QHBoxLayout()
        top.addWidget(self._build_general_box(), 3)
        top.addWidget(self._build_aggregation_box(), 2)
        top.addWidget(self._build_tenure_box(), 2)
        content.addLayout(top)
        content.addWidget(self._build_groups_box())
        middle = QHBoxLayout()
        middle.addWidget(self._build_batches_box(), 4)
        middle.addWidget(self._build_gifts_box(), 3)
        middle.addWidget(self._build_provinces_box(), 2)
        content.addLayout(middle)
        content.addWidget(self._build_history_box())
        content.addStretch(1)

        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(self._editor)
        outer.addWidget(scroll, 1)

        bar = QHBoxLayout()
        self._state_label = QLabel()
        self._problems_label = QLabel()
        self._problems_label.setWordWrap(True)
        self._problems_label.setStyleSheet(f"color: {ERROR_COLOUR};")
        status = QVBoxLayout()
        status.addWidget(self._state_label)
        status.addWidget(self._problems_label)
        bar.addLayout(status, 1)
        self._revert_button = QPushButton(self.tr("Hoàn tác"))
        self._revert_button.setToolTip(self.tr("Bỏ các sửa đổi chưa lưu"))
        self._revert_button.clicked.connect(self._on_revert_button_clicked)
        self._save_button = QPushButton(self.tr("Lưu"))
        self._save_button.setToolTip(self.tr("Lưu chương trình (Ctrl+S)"))
        self._save_button.setDefault(True)
        self._save_button.clicked.connect(self._on_save_button_clicked)
        bar.addWidget(self._revert_button, 0, Qt.AlignmentFlag.AlignTop)
        bar.addWidget(self._save_button, 0, Qt.AlignmentFlag.AlignTop)
        outer.addLayout(bar)
        return page

    def _build_general_box(self) -> QGroupBox:
        box = QGroupBox(self.tr("Thông tin chung"))
        form = QFormLayout(box)
        self._name_edit = QLineEdit()
        self._name_edit.textEdited.connect(self._on_edited)
        self._year_spin = QSpinBox()
        self._year_spin.setRange(2000, 2100)
        self._year_spin.valueChanged.connect(self._on_edited)
        self._region_edit = QLineEdit()
        self._region_edit.textEdited.connect(self._on_edited)
        self._frozen_label = QLabel()
        self._frozen_label.setWordWrap(True)
        form.addRow(self.tr("Tên chương trình:"), self._name_edit)
        form.addRow(self.tr("Năm:"), self._year_spin)
        form.addRow(self.tr("Khu vực:"), self._region_edit)
        form.addRow(self._frozen_label)
        return box

    def _build_aggregation_box(self) -> QGroupBox:
        box = QGroupBox(self.tr("Mức cước căn cứ (chu kỳ n-3, n-4, n-5)"))
        layout = QVBoxLayout(box)
        self._every_cycle_radio = QRadioButton(self.tr("Mỗi chu kỳ đều đạt (mặc định)"))
        self._average_radio = QRadioButton(self.tr("Bình quân 3 chu kỳ"))
        self._aggregation_group = QButtonGroup(box)
        for radio in (self._every_cycle_radio, self._average_radio):
            self._aggregation_group.addButton(radio)
            layout.addWidget(radio)
            radio.toggled.connect(self._on_edited)
        layout.addStretch(1)
        return box

    def _build_tenure_box(self) -> QGroupBox:
        box = QGroupBox(self.tr("Năm sử dụng"))
        layout = QVBoxLayout(box)
        layout.addWidget(QLabel(self.tr("Các mốc (năm), cách nhau bằng dấu phẩy:")))
        self._tenure_edit = QLineEdit()
        self._tenure_edit.setPlaceholderText("0, 2, 5, 10")
        self._tenure_edit.textEdited.connect(self._on_edited)
        layout.addWidget(self._tenure_edit)
        self._tenure_hint = QLabel()
        self._tenure_hint.setWordWrap(True)
        layout.addWidget(self._tenure_hint)
        layout.addStretch(1)
        return box

    def _build_groups_box(self) -> QGroupBox:
        box = QGroupBox(self.tr("Nhóm"))
        layout = QVBoxLayout(box)
        self._groups_table = QTableWidget(0, 8)
        self._groups_table.setHorizontalHeaderLabels([
            self.tr("Nhóm"), self.tr("Tên"), self.tr("Cận dưới"), "", self.tr("Cận trên"), "",
            self.tr("Cách trao quà"), self.tr("Quà"),
        ])
        _table_look(self._groups_table)
        # The name column stretches and shrinks instead: no scroll bar space under two rows.
        self._groups_table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        header = self._groups_table.horizontalHeader()
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        layout.addWidget(self._groups_table)
        buttons = QHBoxLayout()
        self._add_group_button = QPushButton(self.tr("Thêm nhóm"))
        self._add_group_button.clicked.connect(self._on_add_group_button_clicked)
        self._remove_group_button = QPushButton(self.tr("Bỏ nhóm đang chọn"))
        self._remove_group_button.clicked.connect(self._on_remove_group_button_clicked)
        self._rule_label = QLabel()
        self._rule_label.setWordWrap(True)
        self._rule_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons.addWidget(self._rule_label, 1)
        buttons.addWidget(self._add_group_button, 0, Qt.AlignmentFlag.AlignTop)
        buttons.addWidget(self._remove_group_button, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(buttons)
        return box

    def _build_batches_box(self) -> QGroupBox:
        box = QGroupBox(self.tr("Đợt và tháng chăm sóc"))
        layout = QVBoxLayout(box)
        self._batches_table = QTableWidget(0, 2)
        _table_look(self._batches_table)
        layout.addWidget(self._batches_table)
        self._batch_hint = QLabel()
        self._batch_hint.setWordWrap(True)
        self._batch_hint.setStyleSheet(f"color: {ERROR_COLOUR};")
        layout.addWidget(self._batch_hint)
        buttons = QHBoxLayout()
        add = QPushButton(self.tr("Thêm đợt"))
        add.clicked.connect(self._on_add_batch_button_clicked)
        remove = QPushButton(self.tr("Bỏ đợt đang chọn"))
        remove.clicked.connect(self._on_remove_batch_button_clicked)
        buttons.addStretch(1)
        buttons.addWidget(add)
        buttons.addWidget(remove)
        layout.addLayout(buttons)
        layout.addStretch(1)
        return box

    def _build_gifts_box(self) -> QGroupBox:
        box = QGroupBox(self.tr("Quà tặng"))
        layout = QVBoxLayout(box)
        self._gifts_tree = QTreeWidget()
        self._gifts_tree.setHeaderLabels([self.tr("Loại quà / mã"), self.tr("Tên")])
        self._gifts_tree.setEditTriggers(QAbstractItemView.EditTrigger.AllEditTriggers)
        self._gifts_tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self._gifts_tree.setMinimumHeight(150)
        self._gifts_tree.itemChanged.connect(self._on_gifts_tree_item_changed)
        layout.addWidget(self._gifts_tree)
        buttons = QHBoxLayout()
        add_type = QPushButton(self.tr("Thêm loại quà"))
        add_type.clicked.connect(self._on_add_gift_type_button_clicked)
        add_item = QPushButton(self.tr("Thêm món quà"))
        add_item.clicked.connect(self._on_add_gift_item_button_clicked)
        remove = QPushButton(self.tr("Bỏ"))
        remove.clicked.connect(self._on_remove_gift_button_clicked)
        for button in (add_type, add_item, remove):
            buttons.addWidget(button)
        layout.addLayout(buttons)
        return box

    def _build_provinces_box(self) -> QGroupBox:
        box = QGroupBox(self.tr("Địa bàn"))
        layout = QVBoxLayout(box)
        self._province_filter = QLineEdit()
        self._province_filter.setPlaceholderText(self.tr("Lọc tỉnh/thành…"))
        self._province_filter.setClearButtonEnabled(True)
        self._province_filter.textChanged.connect(self._on_province_filter_text_changed)
        layout.addWidget(self._province_filter)
        self._provinces_list = QListWidget()
        self._provinces_list.setMinimumHeight(150)
        self._provinces_list.itemChanged.connect(self._on_province_item_changed)
        layout.addWidget(self._provinces_list)
        self._provinces_count = QLabel()
        layout.addWidget(self._provinces_count)
        return box

    def _build_history_box(self) -> QGroupBox:
        box = QGroupBox(self.tr("Lịch sử thay đổi"))
        layout = QVBoxLayout(box)
        self._history_tree = QTreeWidget()
        self._history_tree.setHeaderLabels([self.tr("Lúc"), self.tr("Người sửa"),
                                            self.tr("Phiên bản quy tắc"), self.tr("Thay đổi")])
        self._history_tree.setRootIsDecorated(False)
        self._history_tree.setWordWrap(True)
        self._history_tree.setMinimumHeight(120)
        for column in (0, 1, 2):
            self._history_tree.header().setSectionResizeMode(
                column, QHeaderView.ResizeMode.ResizeToContents)
        layout.addWidget(self._history_tree)
        return box

    def _build_language_tab(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        box = QGroupBox(self.tr("Ngôn ngữ giao diện"))
        box_layout = QVBoxLayout(box)
        self._vietnamese_radio = QRadioButton("Tiếng Việt")
        self._english_radio = QRadioButton("English")
        language_group = QButtonGroup(box)
        current = load_settings().language
        for radio, code in ((self._vietnamese_radio, "vi"), (self._english_radio, "en")):
            language_group.addButton(radio)
            radio.setChecked(code == current)
            radio.toggled.connect(partial(self._on_language_radio_toggled, code))
            box_layout.addWidget(radio)
        self._language_note = QLabel()
        self._language_note.setWordWrap(True)
        box_layout.addWidget(self._language_note)
        layout.addWidget(box)
        layout.addStretch(1)
        return page

    # --- filling the form from a spec --------------------------------------------------------

    def _fill(self, loaded: _Loaded) -> None:
        spec = loaded.spec
        self._filling = True
        try:
            self._name_edit.setText(spec.name)
            self._year_spin.setValue(spec.year)
            self._region_edit.setText(spec.region)
            radio = self._average_radio if spec.aggregation == "average" else (
                self._every_cycle_radio)
            radio.setChecked(True)
            self._tenure_edit.setText(", ".join(str(b) for b in spec.tenure_bands))
            self._fill_gifts(spec.gift_types)
            self._groups_table.setRowCount(0)
            self._group_rows.clear()
            for group in spec.groups:
                self._append_group(group)
            self._fill_batches([(b.number, f"{b.care_month:02d}/{b.care_year}", b.gift_plan)
                                for b in spec.batches])
            self._fill_provinces(spec.provinces)
            self._fill_history(loaded.changes)
            self._frozen_label.setText(self._frozen_text(loaded.frozen))
        finally:
            self._filling = False
        self._dirty = False
        self._refresh_checks()

    def _frozen_text(self, frozen: dict[int, int]) -> str:
        if not frozen:
            return self.tr("Chưa có danh sách chăm sóc nào: sửa thoải mái.")
        batches = ", ".join(str(n) for n in frozen)
        return self.tr("🔒 Đã có {count} KH trong danh sách đợt {batches} (đã chốt).").format(
            count=format_number(sum(frozen.values())), batches=batches)

    def _fill_gifts(self, gift_types: tuple[GiftTypeSpec, ...]) -> None:
        with QSignalBlocker(self._gifts_tree):
            self._gifts_tree.clear()
            for gift_type in gift_types:
                node = self._new_gift_type_node(gift_type.number, gift_type.name)
                for item in gift_type.items:
                    self._new_gift_item_node(node, item.code, item.name)
            self._gifts_tree.expandAll()

    def _new_gift_type_node(self, number: int, name: str) -> QTreeWidgetItem:
        node = QTreeWidgetItem(self._gifts_tree,
                               [self.tr("Quà loại {n}").format(n=number), name])
        node.setData(0, Qt.ItemDataRole.UserRole, number)
        node.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                      | Qt.ItemFlag.ItemIsEditable)
        return node

    def _new_gift_item_node(self, parent: QTreeWidgetItem, code: str,
                            name: str) -> QTreeWidgetItem:
        node = QTreeWidgetItem(parent, [code, name])
        node.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                      | Qt.ItemFlag.ItemIsEditable)
        return node

    def _gift_type_nodes(self) -> list[QTreeWidgetItem]:
        nodes = (self._gifts_tree.topLevelItem(i)
                 for i in range(self._gifts_tree.topLevelItemCount()))
        return [node for node in nodes if node is not None]

    def _gift_type_choices(self) -> list[tuple[int, str]]:
        return [(int(node.data(0, Qt.ItemDataRole.UserRole)), node.text(1))
                for node in self._gift_type_nodes()]

    def _append_group(self, group: GroupRule) -> None:
        row_index = self._groups_table.rowCount()
        self._groups_table.insertRow(row_index)
        none_text = self.tr("không có")
        row = _GroupRow(
            number=QSpinBox(), name=QLineEdit(group.name),
            lower=MoneySpinBox(none_text), lower_inclusive=QCheckBox(self.tr("tính cả")),
            upper=MoneySpinBox(none_text), upper_inclusive=QCheckBox(self.tr("tính cả")),
            delivery=QComboBox(), gift_type=QComboBox(),
        )
        row.number.setRange(1, 99)
        row.number.setValue(group.number)
        row.lower.set_amount(group.lower)
        row.lower_inclusive.setChecked(group.lower_inclusive)
        row.upper.set_amount(group.upper)
        row.upper_inclusive.setChecked(group.upper_inclusive)
        row.delivery.addItem(self.tr("MBF đến tặng"), "visit")
        row.delivery.addItem(self.tr("KH đến cửa hàng nhận"), "store")
        row.delivery.setCurrentIndex(max(row.delivery.findData(group.delivery), 0))
        self._fill_gift_combo(row.gift_type, group.gift_type)
        row.lower.setToolTip(self.tr("Để trống (bấm xuống hết cỡ): không có cận dưới"))
        row.upper.setToolTip(self.tr("Để trống (bấm xuống hết cỡ): không có cận trên"))
        widgets: list[QWidget] = [row.number, row.name, row.lower, row.lower_inclusive,
                                  row.upper, row.upper_inclusive, row.delivery, row.gift_type]
        for column, widget in enumerate(widgets):
            self._groups_table.setCellWidget(row_index, column, widget)
        row.number.valueChanged.connect(self._on_edited)
        row.name.textEdited.connect(self._on_edited)
        row.lower.valueChanged.connect(self._on_edited)
        row.upper.valueChanged.connect(self._on_edited)
        row.lower_inclusive.toggled.connect(self._on_edited)
        row.upper_inclusive.toggled.connect(self._on_edited)
        row.delivery.currentIndexChanged.connect(self._on_edited)
        row.gift_type.currentIndexChanged.connect(self._on_edited)
        self._group_rows.append(row)
        self._groups_table.resizeColumnsToContents()
        self._groups_table.horizontalHeader().setSectionResizeMode(
            1, QHeaderView.ResizeMode.Stretch)
        _fit_height(self._groups_table)

    def _fill_gift_combo(self, combo: QComboBox, selected: int | None) -> None:
        with QSignalBlocker(combo):
            combo.clear()
            for number, name in self._gift_type_choices():
                default_name = self.tr("Quà loại {n}").format(n=number)
                text = name if name == default_name else self.tr("Loại {n} – {name}").format(
                    n=number, name=name)
                combo.addItem(text, number)
            index = combo.findData(selected)
            if index < 0 and selected is not None:
                combo.addItem(self.tr("Loại {n} (không còn)").format(n=selected), selected)
                index = combo.count() - 1
            combo.setCurrentIndex(index)

    def _fill_batches(self, rows: list[tuple[int, str, dict[int, int]]]) -> None:
        types = [number for number, _ in self._gift_type_choices()]
        table = self._batches_table
        table.setRowCount(0)
        table.setColumnCount(2 + len(types))
        table.setHorizontalHeaderLabels(
            [self.tr("Đợt"), self.tr("Tháng chăm sóc")]
            + [self.tr("Loại {n} (dự kiến)").format(n=n) for n in types])
        self._batch_rows.clear()
        for number, month, plan in rows:
            index = table.rowCount()
            table.insertRow(index)
            number_spin = QSpinBox()
            number_spin.setRange(1, 99)
            number_spin.setValue(number)
            month_edit = QLineEdit(month)
            month_edit.setPlaceholderText(self.tr("MM/YYYY"))
            month_edit.setToolTip(self.tr("Tháng chăm sóc n, viết MM/YYYY; mức cước căn cứ là "
                                          "các chu kỳ n-3, n-4, n-5"))
            row = _BatchRow(number_spin, month_edit, {})
            table.setCellWidget(index, 0, number_spin)
            table.setCellWidget(index, 1, month_edit)
            for column, gift_type in enumerate(types, start=2):
                spin = _count_spin(self.tr("không giới hạn"))
                spin.setValue(plan.get(gift_type, -1))
                spin.setToolTip(self.tr("Số quà dự kiến cho đợt; quá số này KH chờ theo thứ tự"))
                spin.valueChanged.connect(self._on_edited)
                table.setCellWidget(index, column, spin)
                row.plan[gift_type] = spin
            number_spin.valueChanged.connect(self._on_edited)
            month_edit.textEdited.connect(self._on_edited)
            self._batch_rows.append(row)
        table.resizeColumnsToContents()
        _fit_height(table)
        if self._batch is not None:
            for index, row in enumerate(self._batch_rows):
                if row.number.value() == self._batch:
                    table.selectRow(index)

    def _batch_state(self) -> list[tuple[int, str, dict[int, int]]]:
        return [(row.number.value(), row.month.text(),
                 {t: s.value() for t, s in row.plan.items() if s.value() >= 0})
                for row in self._batch_rows]

    def _fill_provinces(self, chosen: tuple[str, ...]) -> None:
        names = list(old_provinces())
        names += [p for p in chosen if p not in names]  # new-style names the file may use
        with QSignalBlocker(self._provinces_list):
            self._provinces_list.clear()
            chosen_set = set(chosen)
            # The programme's provinces first, in its order; then the rest, as listed.
            ordered = [p for p in chosen if p in names] + [p for p in names
                                                           if p not in chosen_set]
            for name in ordered:
                item = QListWidgetItem(name, self._provinces_list)
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(Qt.CheckState.Checked if name in chosen_set
                                   else Qt.CheckState.Unchecked)
        self._on_province_filter_text_changed(self._province_filter.text())

    def _chosen_provinces(self) -> tuple[str, ...]:
        return tuple(
            self._provinces_list.item(i).text() for i in range(self._provinces_list.count())
            if self._provinces_list.item(i).checkState() == Qt.CheckState.Checked)

    def _fill_history(self, changes: list[ChangeDTO]) -> None:
        self._history_tree.clear()
        for change in changes:
            version = (str(change.rule_version_after)
                       if change.rule_version_before == change.rule_version_after
                       else f"{change.rule_version_before} → {change.rule_version_after}")
            QTreeWidgetItem(self._history_tree, [
                change.at.astimezone().strftime("%d/%m/%Y %H:%M"),
                change.user or self.tr("(không rõ)"), version, change.summary])
        if not changes:
            item = QTreeWidgetItem(self._history_tree,
                                   ["", "", "", self.tr("Chưa có thay đổi nào.")])
            item.setDisabled(True)

    # --- reading the form back ---------------------------------------------------------------

    def _read_spec(self) -> tuple[ProgrammeSpec | None, list[str]]:
        """The spec the form describes and the input problems, in the UI's words."""
        problems: list[str] = []
        base = self._loaded.spec if self._loaded is not None else None
        if base is None:
            return None, [self.tr("Chưa có chương trình.")]
        bands: tuple[int, ...] = ()
        try:
            bands = tuple(int(part) for part in self._tenure_edit.text().replace(";", ",")
                          .split(",") if part.strip())
        except ValueError:
            problems.append(self.tr("Năm sử dụng: chỉ ghi số năm, cách nhau bằng dấu phẩy "
                                    "(ví dụ 0, 2, 5, 10)."))
        gift_types = []
        for node in self._gift_type_nodes():
            children = [node.child(j) for j in range(node.childCount())]
            items = tuple(GiftItemSpec(c.text(0).strip(), c.text(1).strip())
                          for c in children if c is not None)
            gift_types.append(GiftTypeSpec(int(node.data(0, Qt.ItemDataRole.UserRole)),
                                           node.text(1).strip(), items))
        groups = tuple(
            GroupRule(
                number=row.number.value(), name=row.name.text().strip(),
                lower=row.lower.amount(), lower_inclusive=row.lower_inclusive.isChecked(),
                upper=row.upper.amount(), upper_inclusive=row.upper_inclusive.isChecked(),
                delivery=str(row.delivery.currentData()),
                gift_type=int(row.gift_type.currentData() or 0),
            )
            for row in self._group_rows
        )
        batches = []
        for number, month_text, plan in self._batch_state():
            try:
                year, month = parse_month(month_text.strip())
            except ValueProblem:
                problems.append(self.tr("Đợt {n}: tháng chăm sóc phải viết MM/YYYY, ví dụ "
                                        "09/2017.").format(n=number))
                continue
            batches.append(BatchSpec(number, year, month, plan))
        spec = dataclasses.replace(
            base,
            name=self._name_edit.text().strip(), year=self._year_spin.value(),
            region=self._region_edit.text().strip(),
            aggregation="average" if self._average_radio.isChecked() else "every_cycle",
            provinces=self._chosen_provinces(), tenure_bands=bands,
            groups=tuple(sorted(groups, key=lambda g: g.number)),
            gift_types=tuple(sorted(gift_types, key=lambda t: t.number)),
            batches=tuple(sorted(batches, key=lambda b: b.number)),
        )
        problems += programmes.validate_spec(spec)
        return (None if problems else spec), problems

    # --- live checks ------------------------------------------------------------------------

    def _refresh_checks(self) -> None:
        groups = [
            GroupRule(row.number.value(), row.name.text(), row.lower.amount(),
                      row.lower_inclusive.isChecked(), row.upper.amount(),
                      row.upper_inclusive.isChecked(), "", 0)
            for row in self._group_rows
        ]
        if not groups:
            self._show_rule(self.tr("⚠ Chưa có nhóm nào: không ai được xếp nhóm."), ok=False)
        else:
            rule_problems = check_groups(groups)
            if rule_problems:
                self._show_rule("\n".join(self._rule_problem_text(p) for p in rule_problems),
                                ok=False)
            else:
                self._show_rule(self.tr("✓ Các nhóm liền nhau, không chồng lấn"), ok=True)
        self._tenure_hint.setText(self._tenure_text())
        bad_months = [row.number.value() for row in self._batch_rows
                      if not _is_month(row.month.text())]
        self._batch_hint.setText(
            self.tr("✗ Tháng chăm sóc của đợt {batches} phải viết MM/YYYY.").format(
                batches=", ".join(map(str, bad_months))) if bad_months else "")
        self._provinces_count.setText(self.tr("Đã chọn {n} tỉnh/thành").format(
            n=len(self._chosen_provinces())))
        _, problems = self._read_spec() if self._loaded is not None else (None, [])
        self._problems_label.setText("\n".join(f"✗ {p}" for p in problems))
        self._set_buttons(has_problems=bool(problems))

    def _show_rule(self, text: str, *, ok: bool) -> None:
        self._rule_label.setText(text)
        colour = OK_COLOUR if ok else WARN_COLOUR
        self._rule_label.setStyleSheet(f"color: {colour}; font-weight: bold;")

    def _rule_problem_text(self, problem: RuleProblem) -> str:
        if problem.kind == "gap" and problem.high is None and problem.groups:
            return self.tr("⚠ Nhóm {n} không chứa mức cước nào").format(n=problem.groups[0])
        if problem.kind == "gap":
            if problem.low == problem.high:
                return self.tr("⚠ {amount} không thuộc nhóm nào").format(
                    amount=format_money(problem.low))
            return self.tr("⚠ Từ {low} đến {high} không thuộc nhóm nào").format(
                low=format_money(problem.low), high=format_money(problem.high))
        first, second = problem.groups[0], problem.groups[-1]
        if problem.high is None:
            where = self.tr("từ {low} trở lên").format(low=format_money(problem.low))
        elif problem.low == problem.high:
            where = self.tr("đúng {amount}").format(amount=format_money(problem.low))
        else:
            where = self.tr("từ {low} đến {high}").format(
                low=format_money(problem.low), high=format_money(problem.high))
        return self.tr("⚠ Nhóm {a} và Nhóm {b} chồng lấn: cả hai chứa mức {where}").format(
            a=first, b=second, where=where)

    def _tenure_text(self) -> str:
        try:
            bands = sorted({int(p) for p in self._tenure_edit.text().replace(";", ",").split(",")
                            if p.strip()})
        except ValueError:
            return ""
        labels = []
        for i, low in enumerate(bands):
            high = bands[i + 1] if i + 1 < len(bands) else None
            if high is None:
                labels.append(self.tr("từ {low} năm").format(low=low))
            elif low == 0:
                labels.append(self.tr("dưới {high} năm").format(high=high))
            else:
                labels.append(self.tr("{low}–{high} năm").format(low=low, high=high))
        return " · ".join(labels)

    def _set_buttons(self, *, has_problems: bool = False) -> None:
        loaded = self._loaded is not None and not self._saving
        self._save_button.setEnabled(loaded and self._dirty and not has_problems)
        self._revert_button.setEnabled(loaded and self._dirty)
        if loaded:
            self._state_label.setText(self.tr("Có sửa đổi chưa lưu.") if self._dirty
                                      else self.tr("Đã lưu."))

    # --- slots ------------------------------------------------------------------------------

    @Slot()
    def _on_edited(self, *_args: Any) -> None:
        if self._filling:
            return
        self._dirty = True
        self._refresh_checks()

    @Slot(object)
    def _on_programme_read(self, loaded: _Loaded) -> None:
        if loaded.programme_id != self._programme_id:
            return  # the user moved on to another programme meanwhile
        self._loaded = loaded
        self._fill(loaded)
        self._editor.setEnabled(True)
        self.programme_loaded.emit(loaded.programme_id)

    @Slot(object)
    def _on_task_failed(self, exc: BaseException) -> None:
        self._saving = False
        self._editor.setEnabled(self._loaded is not None)
        if self._loaded is not None:
            self._refresh_checks()
        else:
            self._set_buttons()
        messages.show_error(self, exc)

    @Slot()
    def _on_add_group_button_clicked(self) -> None:
        numbers = [row.number.value() for row in self._group_rows]
        number = max(numbers, default=0) + 1
        types = self._gift_type_choices()
        self._append_group(GroupRule(number, self.tr("Nhóm {n}").format(n=number), None, True,
                                     None, False, "store", types[0][0] if types else 0))
        self._on_edited()

    @Slot()
    def _on_remove_group_button_clicked(self) -> None:
        index = self._groups_table.currentRow()
        if index < 0 and self._group_rows:
            index = len(self._group_rows) - 1
        if index < 0:
            return
        self._groups_table.removeRow(index)
        del self._group_rows[index]
        _fit_height(self._groups_table)
        self._on_edited()

    @Slot()
    def _on_add_batch_button_clicked(self) -> None:
        state = self._batch_state()
        number = max((n for n, _, _ in state), default=0) + 1
        self._fill_batches([*state, (number, "", {})])
        self._batch_rows[-1].month.setFocus()
        self._on_edited()

    @Slot()
    def _on_remove_batch_button_clicked(self) -> None:
        index = self._batches_table.currentRow()
        state = self._batch_state()
        if index < 0:
            index = len(state) - 1
        if index < 0:
            return
        del state[index]
        self._fill_batches(state)
        self._on_edited()

    @Slot()
    def _on_add_gift_type_button_clicked(self) -> None:
        number = max((n for n, _ in self._gift_type_choices()), default=0) + 1
        with QSignalBlocker(self._gifts_tree):
            node = self._new_gift_type_node(number, self.tr("Quà loại {n}").format(n=number))
            item = self._new_gift_item_node(node, "", "")
            node.setExpanded(True)
        self._gift_types_changed()
        self._gifts_tree.setCurrentItem(item, 0)
        self._gifts_tree.editItem(item, 0)

    @Slot()
    def _on_add_gift_item_button_clicked(self) -> None:
        current = self._gifts_tree.currentItem()
        if current is None:
            nodes = self._gift_type_nodes()
            if not nodes:
                return
            current = nodes[-1]
        parent = current.parent() or current
        with QSignalBlocker(self._gifts_tree):
            item = self._new_gift_item_node(parent, "", "")
            parent.setExpanded(True)
        self._on_edited()
        self._gifts_tree.setCurrentItem(item, 0)
        self._gifts_tree.editItem(item, 0)

    @Slot()
    def _on_remove_gift_button_clicked(self) -> None:
        current = self._gifts_tree.currentItem()
        if current is None:
            return
        with QSignalBlocker(self._gifts_tree):
            parent = current.parent()
            if parent is None:
                self._gifts_tree.takeTopLevelItem(
                    self._gifts_tree.indexOfTopLevelItem(current))
            else:
                parent.removeChild(current)
        self._gift_types_changed()

    @Slot(QTreeWidgetItem, int)
    def _on_gifts_tree_item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        if item.parent() is None:
            number = item.data(0, Qt.ItemDataRole.UserRole)
            label = self.tr("Quà loại {n}").format(n=number)
            if column == 0 and item.text(0) != label:
                with QSignalBlocker(self._gifts_tree):
                    item.setText(0, label)  # the number is fixed; rename in column 2
            self._gift_types_changed()
        else:
            self._on_edited()

    def _gift_types_changed(self) -> None:
        """Gift types added, removed or renamed: the groups' choices and the plan columns."""
        for row in self._group_rows:
            self._fill_gift_combo(row.gift_type, row.gift_type.currentData())
        self._fill_batches(self._batch_state())
        self._on_edited()

    @Slot(str)
    def _on_province_filter_text_changed(self, text: str) -> None:
        needle = text.strip().casefold()
        for i in range(self._provinces_list.count()):
            item = self._provinces_list.item(i)
            item.setHidden(bool(needle) and needle not in item.text().casefold())

    @Slot(QListWidgetItem)
    def _on_province_item_changed(self, _item: QListWidgetItem) -> None:
        self._on_edited()

    @Slot()
    def _on_revert_button_clicked(self) -> None:
        if self._loaded is not None:
            self._fill(self._loaded)

    @Slot()
    def _on_save_shortcut_activated(self) -> None:
        # One Ctrl+S for the page: it saves the tab in front.
        if self._tabs.currentWidget() is self.forms_editor:
            self.forms_editor.save()
        else:
            self._on_save_button_clicked()

    @Slot()
    def _on_save_button_clicked(self) -> None:
        if self._programme_id is None or self._loaded is None or self._saving:
            return
        spec, problems = self._read_spec()
        if spec is None:
            self._problems_label.setText("\n".join(f"✗ {p}" for p in problems))
            return
        self._start_save(spec, confirmed=False)

    def _start_save(self, spec: ProgrammeSpec, *, confirmed: bool) -> None:
        assert self._programme_id is not None
        self._saving = True
        self._set_buttons()
        self._state_label.setText(self.tr("Đang lưu…"))
        self._runner.start(
            partial(_save, self._factory, self._programme_id, spec, self._actor, confirmed),
            on_done=self._on_programme_saved,
            on_error=partial(self._on_save_failed, spec),
        )

    def _on_save_failed(self, spec: ProgrammeSpec, exc: BaseException) -> None:
        self._saving = False
        if isinstance(exc, FrozenListsError):
            if messages.confirm(self, str(exc), "\n".join(exc.changes)):
                self._start_save(spec, confirmed=True)
                return
            self._refresh_checks()
            self._state_label.setText(self.tr("Chưa lưu: đã hủy."))
            return
        if isinstance(exc, ValidationError):
            self._refresh_checks()
            self._problems_label.setText(f"✗ {exc}")
            return
        self._on_task_failed(exc)

    @Slot(object)
    def _on_programme_saved(self, update: ProgrammeUpdate) -> None:
        self._saving = False
        if update.changed:
            messages.notify(self, self.tr(
                "Đã lưu chương trình ({n} thay đổi, phiên bản quy tắc {v}).").format(
                    n=len(update.summary), v=update.rule_version_after))
        else:
            messages.notify(self, self.tr("Không có gì thay đổi."))
        self._dirty = False
        self.set_programme(update.programme_id, self._batch)
        if update.changed:
            self.programme_changed.emit(update.programme_id)

    @Slot(str, bool)
    def _on_language_radio_toggled(self, language: str, checked: bool) -> None:
        if not checked:
            return
        settings = load_settings()
        if settings.language == language:
            return
        save_settings(dataclasses.replace(settings, language=language))
        app = QCoreApplication.instance()
        if app is not None:
            install_translators(app, language)
        self._language_note.setText(self.tr("Đã lưu. Một số chữ đổi hẳn khi mở lại chương "
                                            "trình."))
        self.language_changed.emit(language)


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name in some service accounts
        return ""


def _is_month(text: str) -> bool:
    try:
        parse_month(text.strip())
    except ValueProblem:
        return False
    return True


def _table_look(table: QTableWidget) -> None:
    table.verticalHeader().setVisible(False)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
    table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)


def _fit_height(table: QTableWidget) -> None:
    """Show every row: the page scrolls, not each little table."""
    table.resizeRowsToContents()
    rows = sum(table.rowHeight(i) for i in range(table.rowCount()))
    scrollbar = (table.horizontalScrollBar().sizeHint().height()
                 if table.horizontalScrollBarPolicy() != Qt.ScrollBarPolicy.ScrollBarAlwaysOff
                 else 0)
    height = table.horizontalHeader().sizeHint().height() + rows + 2 * table.frameWidth()
    table.setFixedHeight(max(height + scrollbar, 60))
