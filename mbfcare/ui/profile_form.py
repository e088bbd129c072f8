"""The information collection form (phiếu thu thập thông tin) and the package advice dialog.

`ProfileFormDialog` is what the clerk types from the customer's identity card to standardise
the profile: name, CCCD/CMND number, date of birth, address. Each field says what is wrong
with it right under it (a red sentence with an icon) when the clerk leaves it or saves, and
the sentence goes away as soon as the field is right. Enter moves to the next field (and
saves from the last), Ctrl+Enter saves from anywhere, Esc cancels. Saving also records the
data check step; changing a collection already saved asks for a reason.

`PackageDialog` records the package advice: which of the customer's offers they took, another
package typed by hand, or none.

Both only gather input; the services run on the `TaskRunner`.
"""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import Any

from PySide6.QtCore import QCoreApplication, Qt, Signal, Slot
from PySide6.QtGui import QFont, QKeyEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QStyle,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.domain.actors import Actor
from mbfcare.domain.identity import (
    IdProblem,
    cccd_province,
    parse_id_number,
    title_case_name,
    validate_profile,
)
from mbfcare.domain.values import ValueProblem, format_date, format_msisdn, parse_date
from mbfcare.domain.vntext import clean_text
from mbfcare.errors import MbfCareError
from mbfcare.services import profiles
from mbfcare.services.care_work import StepResult, local_today
from mbfcare.services.profiles import ProfileProblem, ProfileResult, ProfileStateDTO
from mbfcare.services.versions import ChangedByOther
from mbfcare.ui import messages
from mbfcare.ui.tasks import TaskRunner

ERROR_COLOUR = "#b3261e"
HINT_COLOUR = "#555555"
_STATE_STYLE = {  # colour never alone: each line starts with its sign and says it in words
    "to_collect": ("⚠", "background:#fff4ce; color:#6b4a00; border:1px solid #c19c00;"),
    "collected": ("✓", "background:#dff6dd; color:#0e5c0e; border:1px solid #2e8b2e;"),
    "standardised": ("✓", "background:#dff6dd; color:#0e5c0e; border:1px solid #2e8b2e;"),
}
FIELDS = ("name", "id_number", "birth_date", "address", "on", "reason")


# --------------------------------------------------------------------------- workers


def _load_state(factory: sessionmaker[Session], case_id: int, progress: Any
                ) -> ProfileStateDTO:
    """Worker: where the profile stands. No UI calls here."""
    return profiles.profile_state(factory, case_id)


def _save_profile(factory: sessionmaker[Session], case_id: int, values: dict[str, str],
                  actor: Actor, on: dt.date, reason: str | None, seen_version: int,
                  progress: Any) -> ProfileResult:
    """Worker: store the collection (and the data check). No UI calls here."""
    return profiles.record_profile(factory, case_id, name=values["name"],
                                   id_text=values["id_number"],
                                   birth_text=values["birth_date"], address=values["address"],
                                   actor=actor, on=on, reason=reason,
                                   seen_version=seen_version)


def _save_package(factory: sessionmaker[Session], case_id: int, package: str, actor: Actor,
                  progress: Any) -> StepResult:
    """Worker: record the package advice. No UI calls here."""
    return profiles.record_package(factory, case_id, package, actor=actor)


# --------------------------------------------------------------------------- pieces


class FieldProblem(QWidget):
    """The line under a field: a problem (icon and red sentence) or a hint (grey), or nothing."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        self.icon = QLabel(self)
        size = self.style().pixelMetric(QStyle.PixelMetric.PM_SmallIconSize)
        self.icon.setPixmap(self.style().standardIcon(
            QStyle.StandardPixmap.SP_MessageBoxCritical).pixmap(size, size))
        self.icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.icon)
        layout.addWidget(self.label, 1)
        self.problem = ""
        self.hide()

    def show_problem(self, text: str) -> None:
        """Show `text` as the field's mistake (nothing when empty)."""
        self.problem = text
        if not text:
            self.hide()
            return
        self.icon.show()
        self.label.setStyleSheet(f"color: {ERROR_COLOUR};")
        self.label.setText(text)
        self.show()

    def show_hint(self, text: str) -> None:
        """Show `text` as a quiet note about a right value (nothing when empty)."""
        self.problem = ""
        if not text:
            self.hide()
            return
        self.icon.hide()
        self.label.setStyleSheet(f"color: {HINT_COLOUR};")
        self.label.setText(text)
        self.show()

    def text(self) -> str:
        """What the line says ("" when hidden)."""
        return self.label.text() if self.isVisibleTo(self.parentWidget() or self) else ""


def _state_line(label: QLabel, state: ProfileStateDTO) -> None:
    sign, style = _STATE_STYLE.get(state.state, ("", ""))
    label.setText(f"{sign} {state.text}".strip())
    label.setStyleSheet(f"QLabel {{ {style} padding:6px; }}" if style else "")


def _customer_text(state: ProfileStateDTO) -> str:
    name = state.name.upper() if state.name else ""
    return " · ".join(p for p in (name, format_msisdn(state.msisdn)) if p)


def _typed_date(text: str) -> dt.date | None:
    """A date typed dd/mm/yyyy (or ddmmyyyy without separators); None when blank.

    Raises:
        ValueProblem: not a date.
    """
    typed = text.strip()
    if typed.isdigit():
        if len(typed) != 8:  # bare numbers would be read as Excel serials
            raise ValueProblem("bad_date", text)
        typed = f"{typed[:2]}/{typed[2:4]}/{typed[4:]}"
    return parse_date(typed)


def _tr(text: str) -> str:
    return QCoreApplication.translate("ProfileFormDialog", text)


def _id_hint(text: str) -> str:
    """What a right CCCD/CMND number says about its holder, to catch a slip by eye."""
    try:
        number = parse_id_number(text)
    except IdProblem:
        return ""
    if number.kind != "cccd":
        return _tr("CMND 9 số")
    parts = [_tr("CCCD"), _tr("nữ") if number.is_female else _tr("nam")]
    if number.birth_year is not None:
        parts.append(_tr("sinh năm {year}").format(year=number.birth_year))
    province = cccd_province(number)
    if province:
        parts.append(_tr("đăng ký tại {province}").format(province=province))
    return " · ".join(parts)


# --------------------------------------------------------------------------- the form


class ProfileFormDialog(QDialog):
    """The information collection form for one care-list entry.

    Signals:
        loaded(object): the `ProfileStateDTO` read when the form opened.
        saved(object): the `ProfileResult` once the collection is stored.
    """

    loaded = Signal(object)
    saved = Signal(object)

    def __init__(self, factory: sessionmaker[Session], runner: TaskRunner, actor: Actor,
                 case_id: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._factory, self._runner, self._actor = factory, runner, actor
        self._case_id = case_id
        self.state: ProfileStateDTO | None = None
        self.saved_result: ProfileResult | None = None
        self._touched: set[str] = set()
        self._saving = False
        self.setWindowTitle(self.tr("Phiếu thu thập thông tin khách hàng"))

        self.customer_label = QLabel(self.tr("Đang đọc thông tin khách hàng…"), self)
        font = QFont(self.customer_label.font())
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.15)
        self.customer_label.setFont(font)
        self.state_label = QLabel(self)
        self.state_label.setWordWrap(True)

        self.name_edit = QLineEdit(self)
        self.name_edit.setPlaceholderText(self.tr("họ và tên như trên giấy tờ"))
        self.id_edit = QLineEdit(self)
        self.id_edit.setPlaceholderText(self.tr("CCCD 12 số hoặc CMND 9 số"))
        self.id_edit.setMaxLength(20)
        self.birth_edit = QLineEdit(self)
        self.birth_edit.setPlaceholderText(self.tr("dd/mm/yyyy"))
        self.birth_edit.setMaxLength(12)
        self.address_edit = QLineEdit(self)
        self.address_edit.setPlaceholderText(self.tr("số nhà, đường, phường/xã, tỉnh/thành phố"))
        self.on_edit = QLineEdit(format_date(local_today()), self)
        self.on_edit.setPlaceholderText(self.tr("dd/mm/yyyy"))
        self.on_edit.setMaxLength(12)
        self.reason_edit = QLineEdit(self)
        self.reason_edit.setPlaceholderText(self.tr("vì sao sửa, ví dụ: gõ nhầm năm sinh"))
        self.edits: dict[str, QLineEdit] = {
            "name": self.name_edit, "id_number": self.id_edit, "birth_date": self.birth_edit,
            "address": self.address_edit, "on": self.on_edit, "reason": self.reason_edit}
        self.problems: dict[str, FieldProblem] = {}

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        labels = {"name": self.tr("&Họ tên:"), "id_number": self.tr("Số &CCCD/CMND:"),
                  "birth_date": self.tr("Ngày &sinh:"), "address": self.tr("Đị&a chỉ:"),
                  "on": self.tr("Ngày thu thập:"), "reason": self.tr("&Lý do sửa:")}
        self._rows: dict[str, tuple[QLabel, QWidget]] = {}
        for key, edit in self.edits.items():
            edit.setObjectName(key)
            box = QWidget(self)
            column = QVBoxLayout(box)
            column.setContentsMargins(0, 0, 0, 0)
            column.setSpacing(2)
            column.addWidget(edit)
            problem = FieldProblem(box)
            problem.setObjectName(f"{key}_problem")
            column.addWidget(problem)
            self.problems[key] = problem
            label = QLabel(labels[key], self)
            label.setBuddy(edit)
            form.addRow(label, box)
            self._rows[key] = (label, box)
            edit.textEdited.connect(partial(self._on_field_edited, key))
            edit.editingFinished.connect(partial(self._on_field_finished, key))
        self._set_row_visible("reason", False)

        self.error_label = FieldProblem(self)
        self.error_label.setObjectName("error")
        self.buttons = QDialogButtonBox(self)
        self.save_button = self.buttons.addButton(self.tr("Lưu"),
                                                  QDialogButtonBox.ButtonRole.AcceptRole)
        self.save_button.setToolTip(self.tr("Lưu thông tin và ghi bước kiểm tra dữ liệu "
                                            "(Ctrl+Enter)"))
        cancel = self.buttons.addButton(self.tr("Hủy"), QDialogButtonBox.ButtonRole.RejectRole)
        cancel.setToolTip(self.tr("Đóng, không lưu (Esc)"))
        for button in (self.save_button, cancel):
            # Enter belongs to the fields (next field); Ctrl+Enter saves.
            button.setAutoDefault(False)
            button.setDefault(False)
        self.buttons.accepted.connect(self._on_save_clicked)
        self.buttons.rejected.connect(self.reject)
        help_line = QLabel(self.tr("Enter: sang ô tiếp theo · Ctrl+Enter: lưu · Esc: hủy"), self)
        help_line.setStyleSheet(f"color: {HINT_COLOUR};")

        layout = QVBoxLayout(self)
        layout.addWidget(self.customer_label)
        layout.addWidget(self.state_label)
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        layout.addStretch(1)
        layout.addWidget(help_line)
        layout.addWidget(self.buttons)
        self.resize(560, 420)
        self._set_enabled(False)
        self._runner.start(partial(_load_state, factory, case_id), on_done=self._on_loaded,
                           on_error=self._on_load_failed)

    # --- reading and showing ---------------------------------------------------------------

    def _set_row_visible(self, key: str, visible: bool) -> None:
        label, box = self._rows[key]
        label.setVisible(visible)
        box.setVisible(visible)

    def _set_enabled(self, enabled: bool) -> None:
        for edit in self.edits.values():
            edit.setEnabled(enabled)
        self.save_button.setEnabled(enabled)

    def _on_loaded(self, state: ProfileStateDTO) -> None:
        self.state = state
        self.customer_label.setText(_customer_text(state))
        _state_line(self.state_label, state)
        collected = state.collected
        if collected is not None:
            values = {"name": collected.name, "id_number": collected.id_number,
                      "birth_date": format_date(collected.birth_date),
                      "address": collected.address}
            self.on_edit.setText(format_date(collected.collected_on))
            self._set_row_visible("reason", True)
        else:
            values = {"name": state.name, "id_number": state.extract_id_number,
                      "birth_date": format_date(state.extract_birth_date),
                      "address": state.extract_address}
        for key, value in values.items():
            self.edits[key].setText(value)
        self._set_enabled(True)
        self._update_id_hint()
        first_empty = next((self.edits[k] for k in ("name", "id_number", "birth_date",
                                                     "address") if not self.edits[k].text()),
                           self.name_edit)
        first_empty.setFocus(Qt.FocusReason.OtherFocusReason)
        self.loaded.emit(state)

    def _on_load_failed(self, exc: BaseException) -> None:
        self.customer_label.setText(self.tr("Không đọc được thông tin khách hàng."))
        if isinstance(exc, MbfCareError):
            self.error_label.show_problem(str(exc))
        else:
            messages.show_error(self, exc)

    # --- checking ----------------------------------------------------------------------------

    def values(self) -> dict[str, str]:
        """The four fields as typed."""
        return {key: self.edits[key].text() for key in ("name", "id_number", "birth_date",
                                                         "address")}

    def problem_text(self, key: str) -> str:
        """The sentence shown under a field ("" when it is right)."""
        return self.problems[key].problem

    def _check(self) -> tuple[dict[str, str], dt.date | None, str | None]:
        """(problems per field, the collection date, the reason) for what is typed now."""
        problems: dict[str, str] = {}
        on: dt.date | None = None
        typed_on = self.on_edit.text().strip()
        try:
            on = _typed_date(typed_on) or local_today()
        except ValueProblem:
            problems["on"] = self.tr("Ngày thu thập '{text}' không đúng (nhập ngày/tháng/năm, "
                                     "ví dụ 05/09/2017).").format(text=typed_on)
        if on is not None and on > local_today():
            problems["on"] = self.tr("Ngày thu thập {day} chưa tới.").format(
                day=format_date(on))
            on = None
        values = self.values()
        profile, found = validate_profile(values["name"], values["id_number"],
                                          values["birth_date"], values["address"],
                                          today=on or local_today())
        problems.update(found)
        reason: str | None = None
        collected = self.state.collected if self.state is not None else None
        if collected is not None:
            reason = self.reason_edit.text().strip() or None
            changed = profile is None or (
                profile.name, profile.id_number.number, profile.birth_date, profile.address
            ) != (collected.name, collected.id_number, collected.birth_date, collected.address)
            if changed and profile is not None and not reason:
                problems["reason"] = self.tr("Thông tin này đã thu thập ngày {day}; sửa lại "
                                             "cần ghi lý do.").format(
                    day=format_date(collected.collected_on))
        return problems, on, reason

    def _show(self, problems: dict[str, str], keys: set[str] | None = None) -> None:
        """Show the problems of `keys` (every field when None)."""
        for key, widget in self.problems.items():
            if keys is None or key in keys:
                widget.show_problem(problems.get(key, ""))
        self._update_id_hint()

    def _update_id_hint(self) -> None:
        widget = self.problems["id_number"]
        if not widget.problem:
            widget.show_hint(_id_hint(self.id_edit.text()))

    def _on_field_edited(self, key: str, _text: str = "") -> None:
        # A mistake already shown goes away as soon as the field is right.
        if self.problems[key].problem:
            problems, _, _ = self._check()
            self._show(problems, {key})
        elif key == "id_number":
            self._update_id_hint()

    def _on_field_finished(self, key: str) -> None:
        if self.state is None or not self.edits[key].isEnabled():
            return
        self._touched.add(key)
        problems, _, _ = self._check()
        if key not in problems:
            self._tidy(key)
        self._show(problems, self._touched)

    def _tidy(self, key: str) -> None:
        """Show a right value the way it is stored: `nguyễn văn an` -> `Nguyễn Văn An`,
        `05091980` -> `05/09/1980`, spaces and dots out of the number."""
        edit = self.edits[key]
        typed = edit.text()
        tidy = typed
        if key == "name":
            tidy = clean_text(typed)
            if tidy in (tidy.lower(), tidy.upper()):
                tidy = title_case_name(tidy)
        elif key == "id_number":
            try:
                tidy = parse_id_number(typed).number
            except IdProblem:
                return
        elif key in ("birth_date", "on"):
            try:
                day = _typed_date(typed)
            except ValueProblem:
                return
            tidy = format_date(day) if day is not None else typed
        elif key == "address":
            tidy = clean_text(typed)
        if tidy != typed:
            edit.setText(tidy)

    # --- keys and saving ---------------------------------------------------------------------

    def _visible_fields(self) -> list[QLineEdit]:
        collected = self.state is not None and self.state.collected is not None
        return [e for k, e in self.edits.items() if k != "reason" or collected]

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Enter: next field (save from the last); Ctrl+Enter: save; Esc: cancel."""
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
                self._on_save_clicked()
                return
            focused = self.focusWidget()
            if isinstance(focused, QPushButton):
                focused.click()
                return
            fields = self._visible_fields()
            if isinstance(focused, QLineEdit) and focused in fields:
                index = fields.index(focused)
                if index + 1 < len(fields):
                    fields[index + 1].setFocus(Qt.FocusReason.TabFocusReason)
                    fields[index + 1].selectAll()
                    return
            self._on_save_clicked()
            return
        super().keyPressEvent(event)

    @Slot()
    def _on_save_clicked(self) -> None:
        if self.state is None or self._saving:
            return
        problems, on, reason = self._check()
        self._touched.update(self.edits)
        self._show(problems)
        self.error_label.show_problem("")
        if problems or on is None:
            first = next(k for k in FIELDS if k in problems)
            self.edits[first].setFocus(Qt.FocusReason.OtherFocusReason)
            self.edits[first].selectAll()
            return
        self._saving = True
        self._set_enabled(False)
        # The version this form shows: a save after someone else's is refused, not merged.
        seen = self.state.collected.row_version if self.state.collected is not None else 0
        self._runner.start(
            partial(_save_profile, self._factory, self._case_id, self.values(), self._actor,
                    on, reason, seen),
            on_done=self._on_saved, on_error=self._on_save_failed)

    def _on_saved(self, result: ProfileResult) -> None:
        self._saving = False
        self.saved_result = result
        messages.notify(self.parentWidget(), result.text)
        self.saved.emit(result)
        self.accept()

    def _on_save_failed(self, exc: BaseException) -> None:
        self._saving = False
        self._set_enabled(True)
        if isinstance(exc, ProfileProblem):
            self._show(exc.problems)
            first = next(k for k in FIELDS if k in exc.problems)
            self.edits[first].setFocus(Qt.FocusReason.OtherFocusReason)
        elif isinstance(exc, ChangedByOther):
            # Show what the other person saved; ours was not written (the message says so).
            self.error_label.show_problem(str(exc))
            self._set_enabled(False)
            self._runner.start(partial(_load_state, self._factory, self._case_id),
                               on_done=self._on_reloaded, on_error=self._on_save_failed)
        elif isinstance(exc, MbfCareError):
            self.error_label.show_problem(str(exc))
        else:
            messages.show_error(self, exc)

    def _on_reloaded(self, state: ProfileStateDTO) -> None:
        problem = self.error_label.problem
        self._on_loaded(state)
        self.error_label.show_problem(problem)


# --------------------------------------------------------------------------- package advice


class PackageDialog(QDialog):
    """Record which package the customer took after the advice (or that they took none).

    Signals:
        recorded(object): the `StepResult` of the `package_advice` step.
    """

    recorded = Signal(object)

    def __init__(self, factory: sessionmaker[Session], runner: TaskRunner, actor: Actor,
                 case_id: int, offers: tuple[str, ...], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._factory, self._runner, self._actor = factory, runner, actor
        self._case_id = case_id
        self._saving = False
        self.recorded_result: StepResult | None = None
        self.setWindowTitle(self.tr("Tư vấn gói cước"))
        self.customer_label = QLabel(self)
        font = QFont(self.customer_label.font())
        font.setBold(True)
        self.customer_label.setFont(font)
        self.state_label = QLabel(self)
        self.state_label.setWordWrap(True)
        self.state_label.hide()
        intro = QLabel(self.tr("Gói cước khách hàng đăng ký sau khi được tư vấn:"), self)
        self.offers_list = QListWidget(self)
        self.offers_list.setObjectName("offers")
        for number, offer in enumerate(offers, start=1):
            item = QListWidgetItem(f"{number}. {offer}", self.offers_list)
            item.setData(Qt.ItemDataRole.UserRole, offer)
        none_item = QListWidgetItem(self.tr("Không đăng ký gói nào"), self.offers_list)
        none_item.setData(Qt.ItemDataRole.UserRole, profiles.NO_PACKAGE)
        italic = QFont(none_item.font())
        italic.setItalic(True)
        none_item.setFont(italic)
        if not offers:
            intro.setText(self.tr("Khách hàng chưa có gói ưu đãi nào trong danh sách; gõ gói "
                                  "KH đăng ký hoặc chọn «Không đăng ký»."))
            intro.setWordWrap(True)
        self.other_edit = QLineEdit(self)
        self.other_edit.setObjectName("other")
        self.other_edit.setPlaceholderText(self.tr("gói khác, gõ tên gói"))
        self.problem = FieldProblem(self)
        self.problem.setObjectName("problem")
        self.buttons = QDialogButtonBox(self)
        self.save_button = self.buttons.addButton(self.tr("Lưu"),
                                                  QDialogButtonBox.ButtonRole.AcceptRole)
        self.save_button.setToolTip(self.tr("Ghi bước tư vấn gói cước (Enter)"))
        cancel = self.buttons.addButton(self.tr("Hủy"), QDialogButtonBox.ButtonRole.RejectRole)
        cancel.setToolTip(self.tr("Đóng, không lưu (Esc)"))
        self.buttons.accepted.connect(self._on_save_clicked)
        self.buttons.rejected.connect(self.reject)
        self.offers_list.currentItemChanged.connect(self._on_offer_changed)
        self.offers_list.itemDoubleClicked.connect(self._on_offer_double_clicked)
        self.other_edit.textEdited.connect(self._on_other_edited)

        form = QFormLayout()
        other_label = QLabel(self.tr("Gói &khác:"), self)
        other_label.setBuddy(self.other_edit)
        form.addRow(other_label, self.other_edit)
        layout = QVBoxLayout(self)
        layout.addWidget(self.customer_label)
        layout.addWidget(self.state_label)
        layout.addWidget(intro)
        layout.addWidget(self.offers_list, 1)
        layout.addLayout(form)
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)
        self.resize(420, 360)
        if offers:
            self.offers_list.setCurrentRow(0)
            self.offers_list.setFocus(Qt.FocusReason.OtherFocusReason)
        else:
            self.other_edit.setFocus(Qt.FocusReason.OtherFocusReason)
        self._runner.start(partial(_load_state, factory, case_id), on_done=self._on_loaded,
                           on_error=lambda exc: self.problem.show_problem(str(exc))
                           if isinstance(exc, MbfCareError) else messages.show_error(self, exc))

    def _on_loaded(self, state: ProfileStateDTO) -> None:
        self.customer_label.setText(_customer_text(state))
        if state.package:
            self.state_label.setText(self.tr("✓ Đã ghi ngày {day}: {package}.").format(
                day=format_date(state.package_on), package=state.package))
            self.state_label.show()

    def chosen(self) -> str:
        """The package typed, else the one selected ("" when none)."""
        typed = self.other_edit.text().strip()
        if typed:
            return typed
        item = self.offers_list.currentItem()
        if item is None or not item.isSelected():
            return ""
        return str(item.data(Qt.ItemDataRole.UserRole))

    @Slot()
    def _on_offer_changed(self, current: QListWidgetItem | None, _previous: Any = None) -> None:
        if current is not None and self.other_edit.text():
            self.other_edit.clear()
        self.problem.show_problem("")

    @Slot()
    def _on_offer_double_clicked(self, _item: QListWidgetItem) -> None:
        self._on_save_clicked()

    @Slot()
    def _on_other_edited(self, text: str) -> None:
        if text.strip():
            self.offers_list.clearSelection()
        self.problem.show_problem("")

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Enter saves (from the list or the typed package); Esc cancels."""
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            focused = self.focusWidget()
            if isinstance(focused, QPushButton):
                focused.click()
            else:
                self._on_save_clicked()
            return
        super().keyPressEvent(event)

    @Slot()
    def _on_save_clicked(self) -> None:
        if self._saving:
            return
        package = self.chosen()
        if not package:
            self.problem.show_problem(self.tr("Chọn gói cước khách hàng đăng ký, hoặc «Không "
                                              "đăng ký gói nào»."))
            return
        self._saving = True
        self.save_button.setEnabled(False)
        self.problem.show_problem("")
        self._runner.start(partial(_save_package, self._factory, self._case_id, package,
                                   self._actor),
                           on_done=self._on_saved, on_error=self._on_failed)

    def _on_saved(self, result: StepResult) -> None:
        self._saving = False
        self.recorded_result = result
        messages.notify(self.parentWidget(), result.text)
        self.recorded.emit(result)
        self.accept()

    def _on_failed(self, exc: BaseException) -> None:
        self._saving = False
        self.save_button.setEnabled(True)
        if isinstance(exc, MbfCareError):
            self.problem.show_problem(str(exc))
        else:
            messages.show_error(self, exc)

