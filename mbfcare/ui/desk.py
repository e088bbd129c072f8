"""The handover desk (Quầy trao quà): scan or type, see the customer, hand over with Enter.

Built for a queue and a keyboard (a USB scanner types like a keyboard and ends with Enter):

1. The clerk scans a printed code or types the number and presses Enter: the customer is
   looked up and shown (name, group, batch, the gift's items with what is left, the profile
   to collect, the packages to advise, the steps still to do).
2. Keys 1 / 2 choose the item when the gift type has two; a single item is preselected.
3. Enter again (with the input empty) hands the gift over; the result sentence shows in green,
   the "Vừa trao" strip grows, and the input is empty and focused for the next customer.

Refusals (a second handover, no stock, not on a list, awaiting a group decision) show inline
in red in one sentence, never as a box or a traceback. F6 records an owed gift, F4 opens the
profile form, F7 the survey entry, Esc clears. Every database call runs on the `TaskRunner`.
"""

from __future__ import annotations

import datetime as dt
import logging
from functools import partial
from typing import Any

from PySide6.QtCore import QDate, QEvent, QObject, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QFont, QKeyEvent, QKeySequence, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.domain.actors import ROLES, Actor
from mbfcare.domain.codes import EntryCode, ScanProblem, parse_scan
from mbfcare.domain.steps import OUTCOME_LABELS, STEP_LABELS
from mbfcare.domain.values import format_date, format_msisdn, format_number
from mbfcare.errors import MbfCareError
from mbfcare.services import care_work, stock
from mbfcare.services.care_work import (
    AlreadyHandedOver,
    DeskCaseDTO,
    HandoverResult,
    RecentHandover,
)
from mbfcare.services.stock import LocationDTO
from mbfcare.ui import messages
from mbfcare.ui.tasks import TaskProgress, TaskRunner

logger = logging.getLogger(__name__)

RECENT_LIMIT = 8
OWED_DEFAULT_DAYS = 7

# Colour is never alone: each banner also starts with its sign and says it in words.
_BANNER_STYLE = {
    "error": ("✖", "background:#fde7e9; color:#8a1c1c; border:1px solid #c4314b;"),
    "warning": ("⚠", "background:#fff4ce; color:#6b4a00; border:1px solid #c19c00;"),
    "success": ("✓", "background:#dff6dd; color:#0e5c0e; border:1px solid #2e8b2e;"),
    "info": ("", ""),
}

# Modes of the panel: what Enter (and the buttons) do for the customer shown.
_NONE, _SERVE, _OWED, _BLOCKED, _SERVED = "none", "serve", "owed", "blocked", "served"


# --------------------------------------------------------------------------- workers


def _lookup(factory: sessionmaker[Session], text: str, programme_id: int,
            location: str | None, actor: Actor, _progress: TaskProgress) -> DeskCaseDTO:
    """Worker: the customer a scan or a typed number names. No UI calls here."""
    return care_work.desk_lookup(factory, text, actor=actor, programme_id=programme_id,
                                 location=location)


def _record(factory: sessionmaker[Session], msisdn: str, actor: Actor, item_code: str | None,
            location: str | None, programme_id: int, owed: bool,
            promised_on: dt.date | None, note: str, _progress: TaskProgress) -> HandoverResult:
    """Worker: hand over (or record as owed). No UI calls here."""
    return care_work.record_handover(factory, msisdn, actor=actor, item_code=item_code,
                                     location=location, programme_id=programme_id,
                                     owed=owed, promised_on=promised_on, note=note)


def _give_owed(factory: sessionmaker[Session], msisdn: str, actor: Actor,
               item_code: str | None, programme_id: int,
               _progress: TaskProgress) -> HandoverResult:
    """Worker: give an owed gift now that there is one. No UI calls here."""
    return care_work.give_owed(factory, msisdn, actor=actor, item_code=item_code,
                               programme_id=programme_id)


def _recent(factory: sessionmaker[Session], programme_id: int, location: str | None,
            _progress: TaskProgress) -> list[RecentHandover]:
    """Worker: the last handovers (at the chosen location). No UI calls here."""
    return care_work.recent_handovers(factory, programme_id=programme_id, location=location,
                                      limit=RECENT_LIMIT)


def _locations(factory: sessionmaker[Session], _progress: TaskProgress) -> list[LocationDTO]:
    """Worker: the places gifts are kept. No UI calls here."""
    return stock.locations(factory)


def short_item_name(name: str) -> str:
    """The item as the strip names it: `Ô 2 khúc cầm tay` -> `ô`, `Hộp đựng …` -> `hộp`."""
    words = name.split()
    return words[0].lower() if words else name


# --------------------------------------------------------------------------- owed dialog


class OwedGiftDialog(QDialog):
    """Ghi nợ quà: the date promised to the customer and a note.

    Opened window-modal with `open()`, so the desk stays responsive and a test can set the
    values and call `accept()`.
    """

    def __init__(self, customer: str, item_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Ghi nợ quà"))
        today = care_work.local_today()
        self.promised_edit = QDateEdit(self)
        self.promised_edit.setObjectName("promised_on")
        self.promised_edit.setDisplayFormat("dd/MM/yyyy")
        self.promised_edit.setCalendarPopup(True)
        self.promised_edit.setMinimumDate(QDate(today.year, today.month, today.day))
        promised = today + dt.timedelta(days=OWED_DEFAULT_DAYS)
        self.promised_edit.setDate(QDate(promised.year, promised.month, promised.day))
        self.note_edit = QLineEdit(self)
        self.note_edit.setObjectName("note")
        self.note_edit.setPlaceholderText(self.tr("Ví dụ: KH chọn ô, cửa hàng hết ô"))
        intro = QLabel(self.tr("Ghi nợ %1 cho %2; trao khi cửa hàng có quà.")
                       .replace("%1", item_name).replace("%2", customer), self)
        intro.setWordWrap(True)
        form = QFormLayout()
        form.addRow(self.tr("&Hẹn ngày trao:"), self.promised_edit)
        form.addRow(self.tr("Ghi &chú:"), self.note_edit)
        buttons = QDialogButtonBox(self)
        ok = buttons.addButton(self.tr("Ghi nợ quà"), QDialogButtonBox.ButtonRole.AcceptRole)
        ok.setDefault(True)
        buttons.addButton(self.tr("Hủy"), QDialogButtonBox.ButtonRole.RejectRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(buttons)
        self.setMinimumWidth(self.fontMetrics().horizontalAdvance("0") * 48)
        self.promised_edit.setFocus()

    def promised_on(self) -> dt.date:
        """The date promised."""
        value = self.promised_edit.date()
        return dt.date(value.year(), value.month(), value.day())

    def note(self) -> str:
        """The note, trimmed."""
        return self.note_edit.text().strip()


# --------------------------------------------------------------------------- the page


class DeskPage(QWidget):
    """The handover desk of the current programme (every batch of it is served here).

    Signals:
        receipt_requested(int): a gift was just handed over to this care case; the main
            window connects it to printing the handover receipt (biên bản giao nhận, issue 6).
            Emitted after each successful handover, including an owed gift given later, never
            for a gift recorded as owed.
        handover_recorded(object): the `HandoverResult` of a handover or an owed gift (for
            pages showing stock or progress to refresh).
        case_shown(int): the panel now shows this care case (after a lookup or a refresh).
    """

    receipt_requested = Signal(int)
    handover_recorded = Signal(object)
    case_shown = Signal(int)

    def __init__(self, factory: sessionmaker[Session], runner: TaskRunner, actor: Actor,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._factory = factory
        self._runner = runner
        self._actor = actor
        self._programme_id: int | None = None
        self._batch: int | None = None
        self._dto: DeskCaseDTO | None = None
        self._mode = _NONE
        self._served_text = ""
        self._generation = 0
        self._pending = 0
        self._owed_dialog: OwedGiftDialog | None = None
        self._last_action = ""  # lookup, handover or owed: what a refusal refuses

        # --- top: where the gifts come from, and the input
        self._location_combo = QComboBox(self)
        self._location_combo.setObjectName("location")
        self._location_combo.addItem(self.tr("(theo KH)"), None)
        self._location_combo.setToolTip(self.tr(
            "Nơi lấy quà (Alt+N): theo KH là cửa hàng của khách hàng (nhóm 1: kho); chọn một "
            "cửa hàng khi trao quà tại đó."))
        self._location_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToContents)
        location_caption = QLabel(self.tr("&Nơi trao:"), self)
        location_caption.setBuddy(self._location_combo)
        self.input = QLineEdit(self)
        self.input.setObjectName("scan")
        self.input.setPlaceholderText(self.tr("Quét mã hoặc nhập số thuê bao"))
        self.input.setToolTip(self.tr(
            "Quét mã in trên giấy mời, biên bản, phiếu khảo sát hoặc nhập số thuê bao rồi nhấn "
            "Enter; nhấn Enter lần nữa (ô trống) để trao quà."))
        self.input.setClearButtonEnabled(True)
        big = QFont(self.input.font())
        if big.pointSizeF() > 0:
            big.setPointSizeF(big.pointSizeF() * 1.4)
        self.input.setFont(big)
        input_caption = QLabel(self.tr("&Quét mã hoặc nhập số thuê bao:"), self)
        input_caption.setBuddy(self.input)

        # --- the customer panel
        self._panel = QFrame(self)
        self._panel.setObjectName("customer_panel")
        self._panel.setFrameShape(QFrame.Shape.StyledPanel)
        self._name_label = QLabel(self._panel)
        self._name_label.setObjectName("name")
        name_font = QFont(self.font())
        if name_font.pointSizeF() > 0:
            name_font.setPointSizeF(name_font.pointSizeF() * 1.6)
        name_font.setBold(True)
        self._name_label.setFont(name_font)
        self._name_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._facts_label = QLabel(self._panel)
        self._facts_label.setObjectName("facts")
        self._gift_label = QLabel(self._panel)
        self._gift_label.setObjectName("gift")
        self._items_box = QWidget(self._panel)
        self._items_layout = QHBoxLayout(self._items_box)
        self._items_layout.setContentsMargins(0, 0, 0, 0)
        self._item_group = QButtonGroup(self)
        self._item_group.setExclusive(True)
        self._item_radios: list[QRadioButton] = []
        self._banner = QLabel(self._panel)
        self._banner.setObjectName("banner")
        self._banner.setWordWrap(True)
        self._banner.setTextFormat(Qt.TextFormat.PlainText)
        self._banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._banner_kind = ""
        self._profile_label = QLabel(self._panel)
        self._profile_label.setObjectName("profile")
        self._profile_label.setWordWrap(True)
        self._profile_button = self._button(
            self.tr("Nhập thông tin (F4)"),
            self.tr("Mở phiếu thu thập thông tin để chuẩn hóa hồ sơ khách hàng (F4)"))
        self._profile_row = QWidget(self._panel)
        profile_layout = QHBoxLayout(self._profile_row)
        profile_layout.setContentsMargins(0, 0, 0, 0)
        profile_layout.addWidget(self._profile_label, 1)
        profile_layout.addWidget(self._profile_button)
        self._offers_label = QLabel(self._panel)
        self._offers_label.setObjectName("offers")
        self._offers_label.setWordWrap(True)
        self._steps_label = QLabel(self._panel)
        self._steps_label.setObjectName("steps")
        self._steps_label.setWordWrap(True)
        self._hint_label = QLabel(self._panel)
        self._hint_label.setObjectName("hint")
        self._hint_label.setWordWrap(True)

        self._hand_over_button = self._button(
            self.tr("Trao quà && in biên bản (Enter)"),
            self.tr("Trao quà cho khách hàng đang hiển thị và in biên bản giao nhận "
                    "(Enter khi ô quét trống)"))
        self._owe_button = self._button(
            self.tr("Ghi nợ quà (F6)"),
            self.tr("Hết quà: ghi nợ món đã chọn, hẹn ngày trao (F6)"))
        self._survey_button = self._button(
            self.tr("Khảo sát (F7)"),
            self.tr("Nhập phiếu khảo sát ý kiến của khách hàng này (F7)"))
        self._package_button = self._button(
            self.tr("Tư vấn gói (F8)"),
            self.tr("Ghi gói cước khách hàng đăng ký sau khi tư vấn (F8)"))
        self._clear_button = self._button(
            self.tr("Xóa (Esc)"), self.tr("Bỏ khách hàng đang hiển thị, xóa ô quét (Esc)"))

        panel_layout = QVBoxLayout(self._panel)
        panel_layout.addWidget(self._name_label)
        panel_layout.addWidget(self._facts_label)
        gift_row = QHBoxLayout()
        gift_row.addWidget(self._gift_label)
        gift_row.addWidget(self._items_box, 1)
        panel_layout.addLayout(gift_row)
        panel_layout.addWidget(self._banner)
        panel_layout.addWidget(self._profile_row)
        panel_layout.addWidget(self._offers_label)
        panel_layout.addWidget(self._steps_label)
        panel_layout.addWidget(self._hint_label)
        panel_layout.addSpacing(6)
        actions = QHBoxLayout()
        for button in (self._hand_over_button, self._owe_button, self._package_button,
                       self._survey_button):
            actions.addWidget(button)
        actions.addStretch(1)
        actions.addWidget(self._clear_button)
        panel_layout.addLayout(actions)
        panel_layout.addStretch(1)

        # --- bottom: the strip of the last handovers
        self._recent_label = QLabel(self)
        self._recent_label.setObjectName("recent")
        self._recent_label.setWordWrap(True)
        self._recent_label.setFrameShape(QFrame.Shape.StyledPanel)

        top = QHBoxLayout()
        top.addWidget(input_caption)
        top.addWidget(self.input, 1)
        top.addSpacing(12)
        top.addWidget(location_caption)
        top.addWidget(self._location_combo)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self._panel, 1)
        layout.addWidget(self._recent_label)

        self.input.returnPressed.connect(self._on_input_return_pressed)
        self.input.installEventFilter(self)
        self._item_group.idClicked.connect(self._on_item_group_id_clicked)
        self._hand_over_button.clicked.connect(self._on_hand_over_button_clicked)
        self._owe_button.clicked.connect(self._on_owe_button_clicked)
        self._profile_button.clicked.connect(self._on_profile_button_clicked)
        self._survey_button.clicked.connect(self._on_survey_button_clicked)
        self._package_button.clicked.connect(self._on_package_button_clicked)
        self._clear_button.clicked.connect(self.clear)
        self._location_combo.activated.connect(self._on_location_combo_activated)
        self._shortcuts = [self._shortcut(key, slot) for key, slot in (
            ("F4", self._on_profile_button_clicked),
            ("F6", self._on_owe_button_clicked),
            ("F7", self._on_survey_button_clicked),
            ("F8", self._on_package_button_clicked),
            ("Esc", self.clear),
        )]

        self._show_nothing()
        self._set_recent([])
        self.setFocusProxy(self.input)

    # --- public ---------------------------------------------------------------------------

    @Slot(object, object)
    def set_programme(self, programme_id: int | None, batch: int | None = None) -> None:
        """Serve the customers of `programme_id` (None: nothing); `batch` is the toolbar's,
        shown for reference: a customer of any batch of the programme can be served."""
        changed = programme_id != self._programme_id
        self._programme_id = programme_id
        self._batch = batch
        self.input.setEnabled(programme_id is not None)
        if programme_id is None:
            self.input.setPlaceholderText(self.tr("Chọn chương trình trước"))
        else:
            self.input.setPlaceholderText(self.tr("Quét mã hoặc nhập số thuê bao"))
        if changed:
            self.clear()
            self._set_recent([])
        self._load_locations()
        self._load_recent()

    def set_actor(self, actor: Actor) -> None:
        """Record what follows in `actor`'s name (after signing in as someone else)."""
        self._actor = actor
        self._update_actions()

    def focus_input(self) -> None:
        """Put the typing focus back in the scan input (after every customer and dialog)."""
        self.input.setFocus(Qt.FocusReason.OtherFocusReason)

    @Slot()
    def clear(self) -> None:
        """Esc: forget the customer shown, empty the input, focus it."""
        self._generation += 1
        self.input.clear()
        self._show_nothing()
        self.focus_input()

    def is_busy(self) -> bool:
        """Whether a lookup or a handover of this page is still running."""
        return self._pending > 0

    def current_case(self) -> DeskCaseDTO | None:
        """The customer the panel shows."""
        return self._dto

    def chosen_item(self) -> str | None:
        """The code of the item chosen (None: none yet)."""
        index = self._item_group.checkedId()
        if self._dto is None or not 0 <= index < len(self._dto.items):
            return None
        return self._dto.items[index].code

    def banner_text(self) -> str:
        """The red, amber or green sentence (with its sign), or the empty string."""
        return self._banner.text() if not self._banner.isHidden() else ""

    def banner_kind(self) -> str:
        """`error`, `warning`, `success`, or the empty string."""
        return self._banner_kind if not self._banner.isHidden() else ""

    def panel_text(self) -> str:
        """Everything the customer panel says, one line per part (tests, copying)."""
        parts: list[QLabel | QRadioButton] = [
            self._name_label, self._facts_label, self._gift_label, *self._item_radios,
            self._banner, self._profile_label, self._offers_label, self._steps_label,
            self._hint_label]
        return "\n".join(w.text() for w in parts if w.isVisibleTo(self) and w.text())

    def recent_text(self) -> str:
        """The "Vừa trao" strip."""
        return self._recent_label.text()

    def hand_over_action_text(self) -> str:
        """The main button's text (it changes for an owed gift)."""
        return self._hand_over_button.text().replace("&&", "&")

    def can_hand_over(self) -> bool:
        """Whether Enter would hand over (or give the owed gift) now."""
        return (self._mode in (_SERVE, _OWED) and self.chosen_item() is not None
                and self._actor.may("record"))

    def can_owe(self) -> bool:
        """Whether F6 would record an owed gift now."""
        return (self._mode == _SERVE and self.chosen_item() is not None
                and self._actor.may("record"))

    @property
    def owed_dialog(self) -> OwedGiftDialog | None:
        """The "Ghi nợ quà" dialog while it is open."""
        return self._owed_dialog

    # --- building ---------------------------------------------------------------------------

    def _button(self, text: str, tip: str) -> QPushButton:
        button = QPushButton(text, self)
        button.setToolTip(tip)
        # The scan input keeps the focus; buttons are for the mouse, keys are shortcuts.
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        button.setAutoDefault(False)
        return button

    def _shortcut(self, key: str, slot: Any) -> QShortcut:
        shortcut = QShortcut(QKeySequence(key), self)
        shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        shortcut.activated.connect(slot)
        return shortcut

    def _show_banner(self, kind: str, text: str) -> None:
        sign, style = _BANNER_STYLE[kind]
        self._banner_kind = kind
        self._banner.setText(f"{sign} {text}" if sign else text)
        self._banner.setStyleSheet(f"QLabel {{ {style} padding:6px; }}" if style else "")
        self._banner.setHidden(not text)

    def _hide_banner(self) -> None:
        self._banner_kind = ""
        self._banner.clear()
        self._banner.hide()

    def _show_nothing(self) -> None:
        self._dto = None
        self._mode = _NONE
        self._served_text = ""
        for label in (self._facts_label, self._gift_label, self._offers_label,
                      self._steps_label):
            label.clear()
            label.hide()
        self._name_label.clear()
        self._name_label.hide()
        self._profile_row.hide()
        self._set_items(None)
        self._hide_banner()
        self._hint_label.setText(self.tr(
            "Quét mã trên giấy mời hoặc biên bản, hoặc nhập số thuê bao rồi nhấn Enter."))
        self._hint_label.show()
        self._update_actions()

    def _set_items(self, dto: DeskCaseDTO | None, *, selected: str | None = None) -> None:
        for radio in self._item_radios:
            self._item_group.removeButton(radio)
            radio.deleteLater()
        self._item_radios = []
        if dto is None or not dto.items:
            self._items_box.hide()
            return
        for index, item in enumerate(dto.items):
            radio = QRadioButton(
                self.tr("(%1) %2 · Còn: %3").replace("%1", str(index + 1))
                .replace("%2", item.name).replace("%3", format_number(item.on_hand)),
                self._items_box)
            radio.setObjectName(f"item_{item.code}")
            radio.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            radio.setToolTip(self.tr("Nhấn %1 để chọn %2").replace("%1", str(index + 1))
                             .replace("%2", item.name))
            self._item_group.addButton(radio, index)
            self._items_layout.addWidget(radio)
            radio.show()  # the layout would only show it from a queued call, a paint later
            self._item_radios.append(radio)
            if item.code == selected or (selected is None and len(dto.items) == 1):
                radio.setChecked(True)
        self._items_box.show()

    def _update_actions(self) -> None:
        has_case = self._dto is not None
        owed = self._mode == _OWED
        self._hand_over_button.setText(self.tr("Trao quà nợ (Enter)") if owed
                                       else self.tr("Trao quà && in biên bản (Enter)"))
        self._hand_over_button.setEnabled(self.can_hand_over())
        self._owe_button.setEnabled(self.can_owe())
        self._profile_button.setEnabled(has_case)
        self._survey_button.setEnabled(has_case)
        # Package advice happens when the customer is met: after the gift (or its debt).
        self._package_button.setEnabled(
            has_case and self._dto is not None and self._dto.first_handover is not None
            and "package_advice" in self._dto.steps_to_do)
        self._clear_button.setEnabled(has_case or bool(self.input.text()))
        for radio in self._item_radios:
            radio.setEnabled(self._mode in (_SERVE, _OWED))
        self._update_hint()

    def _update_hint(self) -> None:
        if self._dto is None:
            return
        if self._mode in (_SERVE, _OWED) and not self._actor.may("record"):
            text = self.tr("Vai trò %1 chỉ xem được, không ghi trao quà.").replace(
                "%1", ROLES.get(self._actor.role, self._actor.role))
        elif self._mode in (_SERVE, _OWED):
            if self.chosen_item() is None:
                keys = " / ".join(str(i + 1) for i in range(len(self._dto.items)))
                text = self.tr("Khách hàng chọn món nào? Nhấn %1 để chọn, rồi Enter để trao.") \
                    .replace("%1", keys)
            elif self._mode == _OWED:
                text = self.tr("Nhấn Enter để trao quà nợ; quét mã khác để phục vụ khách "
                               "hàng tiếp theo.")
            else:
                text = self.tr("Nhấn Enter để trao quà và in biên bản; F6 nếu phải ghi nợ.")
        elif self._mode == _SERVED:
            text = self.tr("Quét mã khách hàng tiếp theo; F7 để nhập phiếu khảo sát.")
        else:
            text = self.tr("Quét mã khách hàng tiếp theo hoặc nhấn Esc.")
        self._hint_label.setText(text)
        self._hint_label.show()

    def _show_case(self, dto: DeskCaseDTO, *, served: bool = False,
                   keep_banner: bool = False) -> None:
        """Fill the panel for `dto`; `served`: this desk just gave the gift (not a 2nd visit)."""
        self._dto = dto
        self._name_label.setText(dto.name or format_msisdn(dto.msisdn))
        self._name_label.show()
        facts = [format_msisdn(dto.msisdn),
                 self.tr("Nhóm %1").replace("%1", str(dto.group)) if dto.group
                 else self.tr("Chưa có nhóm"),
                 self.tr("Đợt %1").replace("%1", str(dto.batch))]
        if dto.delivery == "visit":
            facts.append(self.tr("MBF đến tặng") + (f" ({dto.district})" if dto.district else ""))
        elif dto.store:
            facts.append(dto.store)
        elif dto.district:
            facts.append(dto.district)
        self._facts_label.setText(" · ".join(facts))
        self._facts_label.show()

        first = dto.first_handover
        if not keep_banner:
            self._hide_banner()
        selected: str | None = None
        if dto.state != "listed":
            self._mode = _BLOCKED
            self._show_banner("error", self.tr("Chưa trao quà được: khách hàng %1.")
                              .replace("%1", self._state_words(dto.state)))
        elif first is not None and first.status == "given":
            self._mode = _SERVED if served else _BLOCKED
            if served:
                self._show_banner("success", self._served_text or first.text)
            elif not keep_banner:
                self._show_banner("error", first.text)
        elif dto.outcome:
            self._mode = _BLOCKED
            self._show_banner("error", self.tr(
                "Đã đóng với kết quả “%1”: không trao quà; muốn trao thì hủy kết quả trước.")
                .replace("%1", OUTCOME_LABELS.get(dto.outcome, dto.outcome)))
        elif first is not None:  # owed
            self._mode = _OWED
            selected = next((i.code for i in dto.items if i.name == first.item), None)
            promise = (self.tr(", hẹn %1").replace("%1", format_date(first.promised_on))
                       if first.promised_on else "")
            if not keep_banner:
                self._show_banner("warning", self.tr("Đang nợ quà %1 tại %2%3.")
                                  .replace("%1", first.item).replace("%2", first.location)
                                  .replace("%3", promise))
        else:
            self._mode = _SERVE

        if dto.gift_type_name:
            self._gift_label.setText(self.tr("%1 tại %2:").replace("%1", dto.gift_type_name)
                                     .replace("%2", dto.location))
            self._gift_label.show()
        else:
            self._gift_label.hide()
        self._set_items(dto, selected=selected)

        if dto.profile_missing:
            if dto.profile_missing == ("xác nhận thông tin",):
                need = self.tr("cần xác nhận thông tin")
            else:
                need = self.tr("cần thu thập %1").replace("%1", ", ".join(dto.profile_missing))
            self._profile_label.setText(self.tr("⚠ Chưa chuẩn hóa thông tin: %1")
                                        .replace("%1", need))
            self._profile_label.setStyleSheet(
                f"QLabel {{ {_BANNER_STYLE['warning'][1]} padding:4px; }}")
            self._profile_row.show()
        else:
            self._profile_row.hide()
        if dto.offers:
            self._offers_label.setText(self.tr("Gói cước có thể tư vấn: %1")
                                       .replace("%1", ", ".join(dto.offers)))
            self._offers_label.show()
        else:
            self._offers_label.hide()
        to_do = [STEP_LABELS[s] for s in dto.steps_to_do]
        if dto.outcome or dto.state != "listed":
            self._steps_label.hide()
        else:
            self._steps_label.setText(
                self.tr("Còn phải làm: %1").replace("%1", ", ".join(to_do)) if to_do
                else self.tr("Đã làm đủ sáu bước."))
            self._steps_label.show()
        self._update_actions()
        self.case_shown.emit(dto.case_id)

    def _state_words(self, state: str) -> str:
        words = {
            "waiting": self.tr("đang ở danh sách chờ (quà của đợt đã hết theo kế hoạch)"),
            "awaiting_group": self.tr("đang chờ cán bộ quyết định nhóm"),
            "left_out": self.tr("đã được quyết định không chăm sóc"),
        }
        return words.get(state, state)

    def _refuse(self, text: str) -> None:
        """A refusal with no customer to keep (not found, not a code): red, input ready."""
        self._show_nothing()
        self._hint_label.hide()
        self._show_banner("error", text)

    def _set_recent(self, recent: list[RecentHandover]) -> None:
        entries = []
        for line in recent:
            when = line.at.astimezone().strftime("%H:%M") if line.at else format_date(line.on)
            item = short_item_name(line.item_name)
            what = self.tr("nợ %1").replace("%1", item) if line.status == "owed" else item
            entries.append(f"{when} {line.name or format_msisdn(line.msisdn)} ({what})")
        self._recent_label.setText(self.tr("Vừa trao: %1").replace(
            "%1", " · ".join(entries) if entries else self.tr("chưa có")))

    def _location(self) -> str | None:
        value = self._location_combo.currentData()
        return str(value) if value else None

    # --- running work -----------------------------------------------------------------------

    def _start(self, fn: Any, on_done: Any, *, input_text: str) -> None:
        """Run `fn` on the runner; results of an older generation (after Esc) are dropped."""
        self._pending += 1
        generation = self._generation
        self._update_busy()
        self._runner.start(fn, on_done=partial(self._on_task_done, generation, input_text,
                                               on_done),
                           on_error=partial(self._on_task_error, generation, input_text))

    def _update_busy(self) -> None:
        busy = self._pending > 0
        for button in (self._hand_over_button, self._owe_button):
            button.setEnabled(not busy and button.isEnabled())
        if not busy:
            self._update_actions()

    def _finish(self, input_text: str) -> bool:
        """Common end of a task; False when the page is gone or the result is stale."""
        if not isValid(self):
            return False
        self._pending -= 1
        # Clear what was typed for this task, never what the next customer's scan typed since.
        if self.input.text().strip() == input_text:
            self.input.clear()
        self._update_busy()
        self.focus_input()
        return True

    def _on_task_done(self, generation: int, input_text: str, on_done: Any,
                      result: Any) -> None:
        if self._finish(input_text) and generation == self._generation:
            on_done(result)

    def _on_task_error(self, generation: int, input_text: str, exc: BaseException) -> None:
        if not self._finish(input_text) or generation != self._generation:
            return
        if not isinstance(exc, MbfCareError):
            messages.show_error(self, exc)
            return
        self._on_refused(exc)

    def _on_refused(self, exc: MbfCareError) -> None:
        logger.info("desk refused: %s", type(exc).__name__)
        if isinstance(exc, AlreadyHandedOver):
            # Another workstation was faster (or the lookup is older than the handover).
            if self._dto is not None:
                self._mode = _BLOCKED
                self._show_banner("error", exc.first.text)
                self._update_actions()
                self._reload_case()
            else:
                self._refuse(exc.first.text)
            return
        if self._dto is None or self._last_action == "lookup":
            self._refuse(str(exc))
            return
        # A refused handover (no stock, step order, role): the customer stays so that F6 can
        # record the gift as owed.
        self._show_banner("error", str(exc))
        self._update_actions()
        if self.can_owe():
            self._hint_label.setText(self.tr("Nhấn F6 để ghi nợ quà và hẹn ngày trao, hoặc "
                                             "Esc để bỏ qua."))

    def _lookup(self, text: str, *, refresh: bool = False) -> None:
        if self._programme_id is None:
            return
        survey_code = False
        try:
            scanned = parse_scan(text)
        except ScanProblem as exc:
            self.input.clear()
            self._refuse(str(exc))
            self.focus_input()
            return
        if isinstance(scanned, EntryCode) and scanned.kind == "survey":
            survey_code = True
        self._last_action = "lookup"
        served_case = self._dto.case_id if refresh and self._mode == _SERVED and self._dto \
            else None
        self._start(partial(_lookup, self._factory, text, self._programme_id,
                            self._location(), self._actor),
                    partial(self._on_looked_up, survey_code, served_case,
                            refresh and self._banner_kind == "error"),
                    input_text="" if refresh else text)

    def _reload_case(self) -> None:
        if self._dto is not None:
            self._lookup(self._dto.msisdn, refresh=True)

    def _on_looked_up(self, survey_code: bool, served_case: int | None, keep_banner: bool,
                      dto: DeskCaseDTO) -> None:
        self._show_case(dto, served=dto.case_id == served_case, keep_banner=keep_banner)
        if survey_code:
            # After this callback returns: the survey dialog runs its own event loop.
            QTimer.singleShot(0, self._open_survey)

    def _hand_over(self) -> None:
        dto = self._dto
        if dto is None or self._programme_id is None or not self.can_hand_over():
            return
        item = self.chosen_item()
        self._last_action = "handover"
        if self._mode == _OWED:
            fn = partial(_give_owed, self._factory, dto.msisdn, self._actor, item,
                         dto.programme_id)
        else:
            fn = partial(_record, self._factory, dto.msisdn, self._actor, item,
                         self._location(), dto.programme_id, False, None, "")
        self._start(fn, self._on_handed_over, input_text="")

    def _on_handed_over(self, result: HandoverResult) -> None:
        self._served_text = result.text
        if self._dto is not None and self._dto.case_id == result.case_id:
            self._mode = _SERVED
            self._show_banner("success", result.text)
            self._set_items(None)
            self._gift_label.setText(
                (self.tr("Đã trao: %1") if result.status == "given" else self.tr("Ghi nợ: %1"))
                .replace("%1", result.item_name))
            self._gift_label.show()
            to_do = [STEP_LABELS[s] for s in self._dto.steps_to_do
                     if s != "handover" or result.status == "owed"]
            self._steps_label.setText(self.tr("Còn phải làm: %1").replace("%1", ", ".join(to_do))
                                      if to_do else self.tr("Đã làm đủ sáu bước."))
            self._update_actions()
        messages.notify(self, result.text)
        self.handover_recorded.emit(result)
        if result.status == "given":
            self.receipt_requested.emit(result.case_id)
        self._load_recent()

    def _load_recent(self) -> None:
        if self._programme_id is None:
            return
        self._runner.start(partial(_recent, self._factory, self._programme_id,
                                   self._location()),
                           on_done=self._on_recent_loaded, on_error=self._on_side_failed)

    def _on_recent_loaded(self, recent: list[RecentHandover]) -> None:
        if isValid(self):
            self._set_recent(recent)

    def _load_locations(self) -> None:
        self._runner.start(partial(_locations, self._factory),
                           on_done=self._on_locations_loaded, on_error=self._on_side_failed)

    def _on_locations_loaded(self, found: list[LocationDTO]) -> None:
        if not isValid(self):
            return
        current = self._location()
        combo = self._location_combo
        combo.blockSignals(True)
        while combo.count() > 1:
            combo.removeItem(1)
        for location in found:
            combo.addItem(location.name, location.name)
        index = combo.findData(current) if current else 0
        combo.setCurrentIndex(max(index, 0))
        combo.blockSignals(False)

    def _on_side_failed(self, exc: BaseException) -> None:
        if isValid(self):
            messages.show_error(self, exc)

    def _open_dialog(self, dialog: QDialog) -> None:
        """Run one of the colleagues' dialogs modally, then read the customer again."""
        dialog.exec()
        dialog.deleteLater()
        if isValid(self):
            self._reload_case()
            self.focus_input()

    def _open_survey(self) -> None:
        dto = self._dto
        if dto is None:
            return
        try:
            from mbfcare.ui.survey_entry import SurveyEntryDialog
        except ImportError:
            self._show_banner("warning", self.tr(
                "Màn hình nhập phiếu khảo sát chưa có trong bản cài đặt này."))
            return
        self._open_dialog(SurveyEntryDialog(self._factory, self._runner, self._actor,
                                            dto.programme_id, dto.case_id, self))

    # --- slots ------------------------------------------------------------------------------

    @Slot()
    def _on_input_return_pressed(self) -> None:
        if self._pending:
            return  # a second Enter (or a hurried scan) while the last one is still saving
        text = self.input.text().strip()
        if text:
            self._lookup(text)
        elif self.can_hand_over():
            self._hand_over()
        elif self._dto is not None and self._mode in (_SERVE, _OWED):
            self._hint_label.setText(self.tr("Chọn món quà trước: nhấn %1.").replace(
                "%1", " / ".join(str(i + 1) for i in range(len(self._dto.items)))))

    @Slot(int)
    def _on_item_group_id_clicked(self, _index: int) -> None:
        self._update_actions()
        self.focus_input()

    @Slot()
    def _on_hand_over_button_clicked(self) -> None:
        if not self._pending:
            self._hand_over()
        self.focus_input()

    @Slot()
    def _on_owe_button_clicked(self) -> None:
        dto = self._dto
        if self._pending or dto is None or self._mode != _SERVE:
            return
        item_code = self.chosen_item()
        if item_code is None:
            self._hint_label.setText(self.tr("Chọn món quà để ghi nợ: nhấn %1.").replace(
                "%1", " / ".join(str(i + 1) for i in range(len(dto.items)))))
            return
        item = next(i for i in dto.items if i.code == item_code)
        dialog = OwedGiftDialog(dto.name or format_msisdn(dto.msisdn), item.name, self)
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.accepted.connect(partial(self._on_owed_dialog_accepted, dto, item_code, dialog))
        dialog.finished.connect(partial(self._on_owed_dialog_finished, dialog))
        self._owed_dialog = dialog
        dialog.open()

    def _on_owed_dialog_accepted(self, dto: DeskCaseDTO, item_code: str,
                                 dialog: OwedGiftDialog) -> None:
        if self._dto is not dto or self._pending:
            return
        self._last_action = "owed"
        self._start(partial(_record, self._factory, dto.msisdn, self._actor, item_code,
                            self._location(), dto.programme_id, True, dialog.promised_on(),
                            dialog.note()),
                    self._on_handed_over, input_text="")

    def _on_owed_dialog_finished(self, dialog: OwedGiftDialog, _result: int) -> None:
        if self._owed_dialog is dialog:
            self._owed_dialog = None
        dialog.deleteLater()
        self.focus_input()

    @Slot()
    def _on_profile_button_clicked(self) -> None:
        dto = self._dto
        if dto is None or self._pending:
            return
        try:
            from mbfcare.ui.profile_form import ProfileFormDialog
        except ImportError:
            self._show_banner("warning", self.tr(
                "Màn hình nhập thông tin khách hàng chưa có trong bản cài đặt này."))
            return
        self._open_dialog(ProfileFormDialog(self._factory, self._runner, self._actor,
                                            dto.case_id, self))

    @Slot()
    def _on_package_button_clicked(self) -> None:
        dto = self._dto
        if dto is None or self._pending or not self._package_button.isEnabled():
            return
        from mbfcare.ui.profile_form import PackageDialog

        self._open_dialog(PackageDialog(self._factory, self._runner, self._actor, dto.case_id,
                                        dto.offers, self))

    @Slot()
    def _on_survey_button_clicked(self) -> None:
        if not self._pending:
            self._open_survey()

    @Slot(int)
    def _on_location_combo_activated(self, _index: int) -> None:
        self._load_recent()
        if self._dto is not None and self._mode in (_SERVE, _OWED):
            self._reload_case()
        self.focus_input()

    # --- Qt overrides -----------------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Keys 1, 2 … choose the item while the input is empty (no number starts so)."""
        if (watched is self.input and event.type() == QEvent.Type.KeyPress
                and isinstance(event, QKeyEvent) and not self.input.text()
                and self._mode in (_SERVE, _OWED) and event.modifiers() in (
                    Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.KeypadModifier)):
            text = event.text()
            if len(text) == 1 and text in "123456789" and self._dto is not None:
                index = int(text) - 1
                if index < len(self._item_radios):
                    self._item_radios[index].setChecked(True)
                    self._update_actions()
                    return True
        return super().eventFilter(watched, event)

    def showEvent(self, event: QShowEvent) -> None:
        """Focus the input whenever the desk comes into view."""
        super().showEvent(event)
        self.focus_input()
