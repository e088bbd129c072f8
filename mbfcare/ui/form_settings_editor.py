"""Cài đặt › Mẫu giấy tờ: the printed documents' wording of a programme, and its preview.

Every field starts blank with the default of `resources/templates/forms.toml` shown greyed
inside it: a blank field prints the file's text, a filled one is the programme's own (only
those are saved, as the programme's overrides). The preview draws one sample document with
what is typed, saved or not, and records nothing.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import QBuffer, QByteArray, QEvent, QIODevice, Qt, Signal, Slot
from PySide6.QtGui import QKeyEvent
from PySide6.QtPdf import QPdfDocument
from PySide6.QtPdfWidgets import QPdfView
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QStyle,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid
from sqlalchemy.orm import Session, sessionmaker

from mbfcare import paths
from mbfcare.domain.actors import ROLES, Actor
from mbfcare.errors import RuleError, ValidationError
from mbfcare.reports.pdf.data import FormSettings, load_form_settings
from mbfcare.services import printing, programmes, queries
from mbfcare.services.printing import FormSettingsDTO
from mbfcare.ui import messages
from mbfcare.ui.tasks import TaskProgress, TaskRunner

logger = logging.getLogger(__name__)

ERROR_COLOUR = "#b3261e"
#: The placeholders the invitation's texts may use (see forms.toml, [invitation]).
INVITATION_FIELDS = ("name", "programme", "gift", "store", "batch")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_TEXT_HEIGHT = 64  # a multi-line field: about three lines

KeyPath = tuple[str, ...]


# --------------------------------------------------------------------------- checking


@dataclass(frozen=True)
class PlaceholderProblem:
    """A text that would not print as meant: braces that do not pair (`unknown` empty), or
    a {placeholder} that is not one of `allowed`."""

    unknown: str
    allowed: tuple[str, ...]


def placeholder_problem(text: str, allowed: Iterable[str]) -> PlaceholderProblem | None:
    """What is wrong with the {placeholders} of `text`, or None."""
    allowed = tuple(allowed)
    if text.count("{") != text.count("}"):
        return PlaceholderProblem("", allowed)
    unknown = [name for name in _PLACEHOLDER.findall(text) if name not in allowed]
    return PlaceholderProblem(unknown[0], allowed) if unknown else None


def _allowed_placeholders(path: KeyPath) -> tuple[str, ...]:
    if path[0] == "invitation":
        return INVITATION_FIELDS
    if path == ("branch_default",):
        return ("province",)
    return ()


def _put(target: dict[str, Any], path: KeyPath, value: Any) -> None:
    for key in path[:-1]:
        target = target.setdefault(key, {})
    target[path[-1]] = value


def _get(source: Mapping[str, Any], path: KeyPath) -> Any:
    value: Any = source
    for key in path:
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    return value


# --------------------------------------------------------------------------- workers


@dataclass(frozen=True)
class _Loaded:
    programme_id: int
    overrides: Mapping[str, Any]
    provinces: tuple[str, ...]  # the area, the programme's own province first
    stores: tuple[str, ...]
    problem: str = ""  # the stored overrides no longer fit the template


def _load(factory: sessionmaker[Session], programme_id: int, _progress: TaskProgress) -> _Loaded:
    """Worker: the programme's overrides, its area and stores. No UI calls here."""
    spec = programmes.programme_spec(factory, programme_id)
    provinces = tuple(dict.fromkeys(p for p in (spec.province, *spec.provinces) if p))
    stores = queries.filter_choices(factory, programme_id).stores
    try:
        dto = printing.form_settings(factory, programme_id)
    except ValidationError as exc:
        return _Loaded(programme_id, {}, provinces, stores, str(exc))
    return _Loaded(programme_id, dto.overrides, provinces, stores)


def _save(factory: sessionmaker[Session], programme_id: int, overrides: dict[str, Any],
          actor: Actor, _progress: TaskProgress) -> FormSettingsDTO:
    """Worker: store the overrides. No UI calls here."""
    return printing.update_form_settings(factory, programme_id, overrides, actor=actor)


def _preview(factory: sessionmaker[Session], programme_id: int, kind: str, out: Path,
             overrides: dict[str, Any], batch: int, province: str | None,
             _progress: TaskProgress) -> tuple[Path, int]:
    """Worker: draw the sample document. No UI calls here."""
    pages = printing.preview_document(factory, kind, out, programme_id=programme_id,
                                      overrides=overrides, batch=batch, province=province)
    return out, pages


# --------------------------------------------------------------------------- the widget


@dataclass
class _Field:
    """One editable text: where it goes in the overrides, its widget, the file's value."""

    path: KeyPath
    widget: QLineEdit | QPlainTextEdit
    default: str
    label: str


def _text_of(widget: QLineEdit | QPlainTextEdit) -> str:
    return widget.text() if isinstance(widget, QLineEdit) else widget.toPlainText()


def _set_text(widget: QLineEdit | QPlainTextEdit, text: str) -> None:
    if isinstance(widget, QLineEdit):
        widget.setText(text)
    else:
        widget.setPlainText(text)


_serial = itertools.count(1)


class FormSettingsEditor(QWidget):
    """The wording of the printed documents (organisation, branches, places, signatories,
    numbers, invitation, stores) over the file's defaults, with a preview.

    Read-only for a role that may not change the programme.

    Signals:
        loaded(int): the programme's wording was read and shown.
        saved(object): the wording was saved (a `FormSettingsDTO`).
        preview_shown(int): a preview was drawn and shown (its pages).
    """

    loaded = Signal(int)
    saved = Signal(object)
    preview_shown = Signal(int)

    def __init__(self, factory: sessionmaker[Session], runner: TaskRunner, actor: Actor,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._factory, self._runner, self._actor = factory, runner, actor
        self._defaults: FormSettings = load_form_settings()
        self._programme_id: int | None = None
        self._batch: int | None = None
        self._saved: Mapping[str, Any] = {}
        self._filling = False
        self._busy = False
        self._fields: list[_Field] = []
        self._dynamic: list[_Field] = []
        self._preview_serial = 0
        self._buffer: QBuffer | None = None
        self.preview_path: Path | None = None

        splitter = QSplitter(self)
        splitter.addWidget(self._build_form())
        splitter.addWidget(self._build_preview())
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter, 1)
        layout.addLayout(self._build_bar())
        self._apply_role()
        self.set_programme(None, None)

    # --- public API -------------------------------------------------------------------------

    def set_programme(self, programme_id: int | None, batch: int | None) -> None:
        """Show a programme's wording (read on the worker); None: nothing to edit.

        Unsaved edits of the same programme are kept (the window refreshes often).
        """
        same = programme_id == self._programme_id
        self._batch = batch
        if same and programme_id is not None and self.is_dirty():
            return
        self._programme_id = programme_id
        if programme_id is None:
            self._form.setEnabled(False)
            self._preview_button.setEnabled(False)
            self._state_label.setText(self.tr("Chưa có chương trình để sửa mẫu giấy tờ."))
            self._set_buttons()
            return
        self._form.setEnabled(False)
        self._state_label.setText(self.tr("Đang đọc mẫu giấy tờ…"))
        self._runner.start(partial(_load, self._factory, programme_id),
                           on_done=self._on_loaded, on_error=self._on_task_failed)

    def set_actor(self, actor: Actor) -> None:
        """Who edits (recorded in the audit log); a role without "manage" only looks."""
        self._actor = actor
        self._apply_role()
        self._set_buttons()

    def field(self, *path: str) -> QLineEdit | QPlainTextEdit:
        """The field of an override path, e.g. `field("places", "Hải Phòng")` (tests)."""
        if path == ("organisation",):
            return self._organisation_edit
        for item in self._all_fields():
            if item.path == path:
                return item.widget
        raise KeyError(path)

    def overrides(self) -> dict[str, Any]:
        """The wording as typed, as overrides: only the fields filled with something other
        than the file's text."""
        result: dict[str, Any] = {}
        lines = [line.strip() for line in self._organisation_edit.toPlainText().splitlines()
                 if line.strip()]
        if lines and tuple(lines) != self._defaults.organisation:
            result["organisation"] = lines
        for item in self._all_fields():
            value = _text_of(item.widget).strip()
            if value and value != item.default:
                _put(result, item.path, value)
        return result

    def problems(self) -> list[str]:
        """One sentence per field that would not print as meant."""
        return [text for _item, text in self._field_problems()]

    def problems_text(self) -> str:
        """The inline problem text (empty when the wording can be saved)."""
        return self._problems_label.text()

    def is_dirty(self) -> bool:
        """Whether the wording typed differs from the saved one."""
        return self._programme_id is not None and self.overrides() != dict(self._saved)

    def can_edit(self) -> bool:
        """Whether the actor's role may change the wording."""
        return self._actor.may("manage")

    def preview(self) -> None:
        """Draw the chosen document with the wording as typed (on the worker) and show it."""
        programme_id = self._programme_id
        if programme_id is None:
            return
        folder = paths.data_dir() / "prints" / "preview"
        folder.mkdir(parents=True, exist_ok=True)
        if self.preview_path is None:
            _remove_stale_previews(folder)
        kind = str(self._kind_combo.currentData())
        self._preview_serial = next(_serial)
        out = folder / f"xem-truoc-{kind}-{os.getpid()}-{self._preview_serial}.pdf"
        province = self._province_combo.currentData()
        self._preview_state.setText(self.tr("Đang vẽ bản xem trước…"))
        self._runner.start(
            partial(_preview, self._factory, programme_id, kind, out, self.overrides(),
                    self._batch or 1, province),
            on_done=partial(self._on_preview_done, self._preview_serial, self.is_dirty()),
            on_error=partial(self._on_preview_failed, out))

    def save(self) -> None:
        """Save the wording typed as the programme's overrides (on the worker)."""
        if self._programme_id is None or self._busy:
            return
        if not self.can_edit():
            self._show_problems([self._read_only_text()])
            return
        problems = self.problems()
        if problems:
            self._show_problems(problems)
            return
        self._busy = True
        self._set_buttons()
        self._state_label.setText(self.tr("Đang lưu…"))
        self._runner.start(partial(_save, self._factory, self._programme_id, self.overrides(),
                                   self._actor),
                           on_done=self._on_saved, on_error=self._on_save_failed)

    def restore_defaults(self) -> None:
        """Empty every field: the file's wording everywhere (saved by "Lưu")."""
        if not self.can_edit():
            return
        self._fill_fields({})
        self._on_edited()
        self._state_label.setText(self.tr("Mọi ô đã về mặc định của tệp mẫu; bấm Lưu để áp "
                                          "dụng."))

    def revert(self) -> None:
        """Back to the saved wording."""
        self._fill_fields(self._saved)
        self._on_edited()

    def page_count(self) -> int:
        """Pages of the preview shown (tests)."""
        return self.document.pageCount()

    # --- building ---------------------------------------------------------------------------

    def _line(self, path: KeyPath, label: str, default: str, placeholder: str | None = None,
              into: list[_Field] | None = None) -> QLineEdit:
        edit = QLineEdit()
        edit.setPlaceholderText(default if placeholder is None else placeholder)
        edit.setClearButtonEnabled(True)
        edit.setToolTip(self.tr("Để trống: dùng chữ mặc định (chữ mờ trong ô)."))
        edit.textEdited.connect(self._on_edited)
        (self._fields if into is None else into).append(_Field(path, edit, default, label))
        return edit

    def _text(self, path: KeyPath, label: str, default: str) -> QPlainTextEdit:
        edit = QPlainTextEdit()
        edit.setPlaceholderText(default)
        edit.setTabChangesFocus(True)  # Tab moves on, as in the other fields
        edit.setFixedHeight(_TEXT_HEIGHT)
        edit.setToolTip(self.tr("Để trống: dùng chữ mặc định (chữ mờ trong ô)."))
        edit.textChanged.connect(self._on_edited)
        self._fields.append(_Field(path, edit, default, label))
        return edit

    def _build_form(self) -> QWidget:
        d = self._defaults
        self._form = QWidget()
        content = QVBoxLayout(self._form)
        intro = QLabel(self.tr(
            "Ô để trống in chữ mặc định của tệp mẫu (chữ mờ trong ô); gõ vào ô để chương "
            "trình dùng chữ riêng."))
        intro.setWordWrap(True)
        content.addWidget(intro)

        box = QGroupBox(self.tr("Cơ quan ban hành (góc trên bên trái)"))
        form = QFormLayout(box)
        self._organisation_edit = QPlainTextEdit()
        self._organisation_edit.setPlaceholderText("\n".join(d.organisation))
        self._organisation_edit.setTabChangesFocus(True)
        self._organisation_edit.setFixedHeight(_TEXT_HEIGHT)
        self._organisation_edit.setToolTip(self.tr(
            "Mỗi dòng một cơ quan (tổng công ty, công ty), chữ in hoa; để trống: dùng các dòng "
            "mặc định."))
        self._organisation_edit.textChanged.connect(self._on_edited)
        form.addRow(self.tr("Cơ quan cấp trên:"), self._organisation_edit)
        form.addRow(self.tr("Chi nhánh (tỉnh khác):"), self._line(
            ("branch_default",), self.tr("Chi nhánh (tỉnh khác)"), d.branch_default))
        branch_hint = QLabel(self.tr("Dòng chi nhánh của tỉnh không có trong bảng dưới; "
                                     "{province} là tên tỉnh."))
        branch_hint.setWordWrap(True)
        form.addRow(branch_hint)
        content.addWidget(box)

        box = QGroupBox(self.tr("Chi nhánh và địa danh theo tỉnh/thành"))
        self._provinces_grid = QGridLayout(box)
        content.addWidget(box)

        box = QGroupBox(self.tr("Chức danh người ký"))
        form = QFormLayout(box)
        for key, label in (
                ("giver", self.tr("Biên bản – bên giao")),
                ("receiver", self.tr("Biên bản – bên nhận")),
                ("giver_position_store", self.tr("Chức vụ người trao tại cửa hàng")),
                ("giver_position_visit", self.tr("Chức vụ người trao tại nhà")),
                ("list_maker", self.tr("Danh sách ký nhận – người lập")),
                ("list_approver", self.tr("Danh sách ký nhận – người duyệt")),
                ("surveyor", self.tr("Phiếu khảo sát – người khảo sát")),
                ("collector", self.tr("Phiếu thu thập – người thu thập")),
                ("customer", self.tr("Phiếu – khách hàng")),
                ("invitation_signer", self.tr("Giấy mời – người ký"))):
            form.addRow(f"{label}:", self._line(("titles", key), label, d.titles[key]))
        content.addWidget(box)

        box = QGroupBox(self.tr("Số văn bản (phần sau dấu /, ví dụ 125/BB-GNQ)"))
        form = QFormLayout(box)
        for key, label in (("receipt", self.tr("Biên bản giao nhận")),
                           ("signature_list", self.tr("Danh sách ký nhận")),
                           ("invitation", self.tr("Giấy mời"))):
            form.addRow(f"{label}:", self._line(("numbers", key), label, d.numbers[key]))
        content.addWidget(box)

        box = QGroupBox(self.tr("Giấy mời nhận quà"))
        form = QFormLayout(box)
        words = d.invitation
        form.addRow(self.tr("Tiêu đề:"), self._line(("invitation", "title"),
                                                    self.tr("Giấy mời – tiêu đề"),
                                                    words["title"]))
        form.addRow(self.tr("Tiêu đề phụ:"), self._line(("invitation", "subtitle"),
                                                        self.tr("Giấy mời – tiêu đề phụ"),
                                                        words["subtitle"]))
        form.addRow(self.tr("Lời mời:"), self._text(("invitation", "body"),
                                                    self.tr("Giấy mời – lời mời"),
                                                    words["body"]))
        form.addRow(self.tr("Lưu ý khi đến nhận:"), self._text(
            ("invitation", "bring"), self.tr("Giấy mời – lưu ý khi đến nhận"), words["bring"]))
        form.addRow(self.tr("Lời kết:"), self._line(("invitation", "closing"),
                                                    self.tr("Giấy mời – lời kết"),
                                                    words["closing"]))
        hint = QLabel(self.tr("Chỗ điền: {name} tên khách hàng, {programme} chương trình, "
                              "{gift} quà, {store} cửa hàng, {batch} đợt."))
        hint.setWordWrap(True)
        form.addRow(hint)
        form.addRow(self.tr("Giờ mở cửa chung:"), self._line(
            ("stores", "default_hours"), self.tr("Giờ mở cửa chung"), d.default_hours))
        content.addWidget(box)

        box = QGroupBox(self.tr("Cửa hàng (địa chỉ và giờ mở cửa in trên giấy mời)"))
        self._stores_grid = QGridLayout(box)
        content.addWidget(box)
        content.addStretch(1)

        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(self._form)
        scroll.setMinimumWidth(420)
        return scroll

    def _build_preview(self) -> QWidget:
        box = QGroupBox(self.tr("Xem trước"))
        layout = QVBoxLayout(box)
        row = QHBoxLayout()
        self._kind_combo = QComboBox()
        for kind, text in (("receipts", self.tr("Biên bản giao nhận quà tặng")),
                           ("signature-list", self.tr("Danh sách khách hàng ký nhận quà")),
                           ("surveys", self.tr("Phiếu khảo sát ý kiến khách hàng")),
                           ("info-forms", self.tr("Phiếu thu thập thông tin khách hàng")),
                           ("invitations", self.tr("Giấy mời nhận quà (nhóm 2)"))):
            self._kind_combo.addItem(text, kind)
        self._kind_combo.setToolTip(self.tr("Giấy tờ xem trước"))
        # It may shrink (the province and the button keep their width).
        self._kind_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self._kind_combo.setMinimumContentsLength(14)
        self._kind_combo.activated.connect(self._on_preview_choice_activated)
        self._province_combo = QComboBox()
        self._province_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self._province_combo.setToolTip(self.tr("Tỉnh/thành của khách hàng mẫu (chi nhánh, địa "
                                                "danh)"))
        self._province_combo.activated.connect(self._on_preview_choice_activated)
        self._preview_button = QPushButton(self.tr("Xem trước (F5)"))
        self._preview_button.setToolTip(self.tr(
            "Vẽ lại bản xem trước theo nội dung đang sửa, chưa cần lưu; không ghi vào sổ in"))
        self._preview_button.clicked.connect(self.preview)
        row.addWidget(self._kind_combo, 1)
        row.addWidget(self._province_combo)
        row.addWidget(self._preview_button)
        layout.addLayout(row)
        self._preview_state = QLabel()
        self._preview_state.setWordWrap(True)
        layout.addWidget(self._preview_state)
        self.document = QPdfDocument(self)
        self.view = QPdfView(self)
        self.view.setDocument(self.document)
        self.view.setPageMode(QPdfView.PageMode.MultiPage)
        self.view.setZoomMode(QPdfView.ZoomMode.FitToWidth)
        # Fitting to the width with a scroll bar that comes and goes can make the view
        # resize itself for ever (the bar narrows the page, which then fits in height...).
        self.view.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        self.view.setMinimumWidth(320)
        layout.addWidget(self.view, 1)
        return box

    def _build_bar(self) -> QHBoxLayout:
        bar = QHBoxLayout()
        self._problem_icon = QLabel()
        size = self.style().pixelMetric(QStyle.PixelMetric.PM_SmallIconSize)
        self._problem_icon.setPixmap(self.style().standardIcon(
            QStyle.StandardPixmap.SP_MessageBoxWarning).pixmap(size, size))
        self._problem_icon.hide()
        self._problems_label = QLabel()
        self._problems_label.setWordWrap(True)
        self._problems_label.setStyleSheet(f"color: {ERROR_COLOUR};")
        self._problems_label.hide()
        self._state_label = QLabel()
        self._role_label = QLabel()
        self._role_label.hide()
        status_box = QWidget()
        status_box.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        status = QVBoxLayout(status_box)
        status.setContentsMargins(0, 0, 0, 0)
        status.addWidget(self._role_label)
        problems = QHBoxLayout()
        problems.addWidget(self._problem_icon, 0, Qt.AlignmentFlag.AlignTop)
        problems.addWidget(self._problems_label, 1)
        status.addLayout(problems)
        status.addWidget(self._state_label)
        bar.addWidget(status_box, 1)
        self._defaults_button = QPushButton(self.tr("Về mặc định"))
        self._defaults_button.setToolTip(self.tr(
            "Để trống mọi ô: dùng chữ của tệp mẫu (bấm Lưu để áp dụng)"))
        self._defaults_button.clicked.connect(self.restore_defaults)
        self._revert_button = QPushButton(self.tr("Hoàn tác"))
        self._revert_button.setToolTip(self.tr("Bỏ các sửa đổi chưa lưu"))
        self._revert_button.clicked.connect(self.revert)
        self._save_button = QPushButton(self.tr("Lưu"))
        self._save_button.setToolTip(self.tr("Lưu mẫu giấy tờ của chương trình (Ctrl+S)"))
        self._save_button.clicked.connect(self.save)
        for button in (self._defaults_button, self._revert_button, self._save_button):
            bar.addWidget(button, 0, Qt.AlignmentFlag.AlignTop)
        return bar

    # --- filling ----------------------------------------------------------------------------

    def _all_fields(self) -> list[_Field]:
        return self._fields + self._dynamic

    def _rebuild_rows(self, provinces: tuple[str, ...], stores: tuple[str, ...]) -> None:
        """The rows of the provinces and the stores: the programme's, and any the file or
        the saved wording names."""
        for grid in (self._provinces_grid, self._stores_grid):
            while grid.count():
                item = grid.takeAt(0)
                widget = item.widget() if item is not None else None
                if widget is not None:
                    widget.deleteLater()
        dynamic: list[_Field] = []
        d = self._defaults
        saved = self._saved
        names = list(dict.fromkeys([*provinces, *(_get(saved, ("branches",)) or {}),
                                    *(_get(saved, ("places",)) or {})]))
        for column, title in enumerate((self.tr("Tỉnh/thành"), self.tr("Dòng chi nhánh"),
                                        self.tr("Địa danh ghi ngày tháng"))):
            header = QLabel(f"<b>{title}</b>")
            self._provinces_grid.addWidget(header, 0, column)
        for row, name in enumerate(names, 1):
            self._provinces_grid.addWidget(QLabel(name), row, 0)
            branch = self._line(("branches", name), self.tr("Chi nhánh {province}").format(
                province=name), d.branch(name), into=dynamic)
            place = self._line(("places", name), self.tr("Địa danh {province}").format(
                province=name), d.place(name), into=dynamic)
            self._provinces_grid.addWidget(branch, row, 1)
            self._provinces_grid.addWidget(place, row, 2)
        self._provinces_grid.setColumnStretch(1, 3)
        self._provinces_grid.setColumnStretch(2, 2)

        store_names = list(dict.fromkeys([*stores, *d.stores,
                                          *(_get(saved, ("stores", "info")) or {})]))
        if not store_names:
            note = QLabel(self.tr("Chưa có cửa hàng nào trên danh sách chăm sóc."))
            self._stores_grid.addWidget(note, 0, 0)
        else:
            for column, title in enumerate((self.tr("Cửa hàng"), self.tr("Địa chỉ"),
                                            self.tr("Giờ mở cửa"))):
                self._stores_grid.addWidget(QLabel(f"<b>{title}</b>"), 0, column)
        for row, name in enumerate(store_names, 1):
            info = d.stores.get(name)
            label = QLabel(name)
            label.setWordWrap(True)
            self._stores_grid.addWidget(label, row, 0)
            address = self._line(
                ("stores", "info", name, "address"), self.tr("Địa chỉ {store}").format(
                    store=name), info.address if info else "",
                placeholder=(info.address if info and info.address
                             else self.tr("quận/huyện, tỉnh của khách hàng")), into=dynamic)
            hours = self._line(
                ("stores", "info", name, "hours"), self.tr("Giờ mở cửa {store}").format(
                    store=name), info.hours if info else "",
                placeholder=info.hours if info and info.hours else self.tr("giờ mở cửa chung"),
                into=dynamic)
            self._stores_grid.addWidget(address, row, 1)
            self._stores_grid.addWidget(hours, row, 2)
        self._stores_grid.setColumnStretch(1, 3)
        self._stores_grid.setColumnStretch(2, 2)
        self._dynamic = dynamic
        self._apply_role()

    def _fill_fields(self, overrides: Mapping[str, Any]) -> None:
        self._filling = True
        try:
            organisation = overrides.get("organisation")
            self._organisation_edit.setPlainText(
                "\n".join(organisation) if isinstance(organisation, list) else "")
            for item in self._all_fields():
                value = _get(overrides, item.path)
                _set_text(item.widget, value if isinstance(value, str) else "")
        finally:
            self._filling = False

    def _apply_role(self) -> None:
        read_only = not self.can_edit()
        self._organisation_edit.setReadOnly(read_only)
        for item in self._all_fields():
            item.widget.setReadOnly(read_only)
        self._role_label.setText(self._read_only_text() if read_only else "")
        self._role_label.setVisible(read_only)

    def _read_only_text(self) -> str:
        return self.tr("Chỉ xem: vai trò {role} không được thay đổi mẫu giấy tờ.").format(
            role=ROLES.get(self._actor.role, self._actor.role))

    def _show_problems(self, problems: list[str]) -> None:
        self._problems_label.setText("\n".join(problems))
        self._problems_label.setVisible(bool(problems))
        self._problem_icon.setVisible(bool(problems))

    def _set_buttons(self) -> None:
        editable = self.can_edit() and self._programme_id is not None and not self._busy
        dirty = self.is_dirty()
        self._save_button.setEnabled(editable and dirty and not self.problems())
        self._revert_button.setEnabled(editable and dirty)
        self._defaults_button.setEnabled(editable and bool(self.overrides()))
        self._preview_button.setEnabled(self._programme_id is not None)

    def _field_problems(self) -> list[tuple[_Field, str]]:
        found = []
        for item in self._all_fields():
            problem = placeholder_problem(_text_of(item.widget),
                                          _allowed_placeholders(item.path))
            if problem is None:
                continue
            if not problem.unknown:
                text = self.tr("{field}: dấu {{ và }} không thành cặp.")
            elif problem.allowed:
                text = self.tr("{field}: không có chỗ điền {{{name}}}; dùng {allowed}.")
            else:
                text = self.tr("{field}: ô này không có chỗ điền {{{name}}}.")
            found.append((item, text.format(
                field=item.label, name=problem.unknown,
                allowed=", ".join(f"{{{name}}}" for name in problem.allowed))))
        return found

    def _mark_problems(self) -> list[str]:
        """Check every field; a field with a problem gets a red frame and the sentence as its
        tooltip (the sentence is also shown under the form)."""
        problems = dict((id(item), text) for item, text in self._field_problems())
        for item in self._all_fields():
            text = problems.get(id(item))
            item.widget.setStyleSheet(f"border: 1px solid {ERROR_COLOUR};" if text else "")
            item.widget.setToolTip(text or self.tr(
                "Để trống: dùng chữ mặc định (chữ mờ trong ô)."))
        return list(problems.values())

    # --- slots ------------------------------------------------------------------------------

    def _on_edited(self, *_args: Any) -> None:
        if self._filling:
            return
        self._show_problems(self._mark_problems())
        if self.is_dirty():
            self._state_label.setText(self.tr("Có sửa đổi chưa lưu."))
        self._set_buttons()

    def _on_loaded(self, loaded: _Loaded) -> None:
        if not isValid(self) or loaded.programme_id != self._programme_id:
            return  # closed, or the user moved on to another programme meanwhile
        self._saved = dict(loaded.overrides)
        self._rebuild_rows(loaded.provinces, loaded.stores)
        self._fill_fields(self._saved)
        keep = self._province_combo.currentData()
        self._province_combo.clear()
        for name in loaded.provinces:
            self._province_combo.addItem(name, name)
        self._province_combo.setCurrentIndex(max(self._province_combo.findData(keep), 0))
        self._form.setEnabled(True)
        self._on_edited()
        count = len(self._saved)
        self._state_label.setText(
            self.tr("Mẫu đã lưu không dùng được ({problem}); các ô để mặc định, bấm Lưu để ghi "
                    "lại.").format(problem=loaded.problem) if loaded.problem else
            self.tr("Đang dùng mẫu mặc định của tệp.") if not count else
            self.tr("Chương trình có chữ riêng ở một số mục; ô trống dùng mẫu mặc định."))
        self._set_buttons()
        self.loaded.emit(loaded.programme_id)
        self.preview()

    def _on_task_failed(self, exc: BaseException) -> None:
        if not isValid(self):
            return
        self._state_label.setText(self.tr("Không đọc được mẫu giấy tờ."))
        messages.show_error(self, exc)

    def _on_saved(self, dto: FormSettingsDTO) -> None:
        if not isValid(self):
            return
        self._busy = False
        if dto.programme_id != self._programme_id:  # saved, then another programme was shown
            self._set_buttons()
            return
        changed = dict(dto.overrides) != dict(self._saved)
        self._saved = dict(dto.overrides)
        self._show_problems([])
        self._state_label.setText("")
        if changed:
            text = (self.tr("Đã lưu mẫu giấy tờ: {n} mục dùng chữ riêng của chương trình.")
                    .format(n=_count_texts(dto.overrides)) if dto.overrides else
                    self.tr("Đã lưu mẫu giấy tờ: dùng toàn bộ mẫu mặc định của tệp."))
        else:
            text = self.tr("Mẫu giấy tờ không có gì thay đổi.")
        messages.notify(self, text)
        self._on_edited()
        self.saved.emit(dto)

    def _on_save_failed(self, exc: BaseException) -> None:
        if not isValid(self):
            return
        self._busy = False
        self._state_label.setText(self.tr("Chưa lưu."))
        if isinstance(exc, ValidationError | RuleError):
            self._show_problems([str(exc)])
            self._set_buttons()
            return
        self._set_buttons()
        messages.show_error(self, exc)

    @Slot(int)
    def _on_preview_choice_activated(self, _index: int) -> None:
        self.preview()

    def _on_preview_done(self, serial: int, dirty: bool, result: tuple[Path, int]) -> None:
        path, pages = result
        if not isValid(self) or serial != self._preview_serial:
            path.unlink(missing_ok=True)  # an older preview, overtaken by a newer one
            return
        # Shown from memory: the file can go at once (Windows keeps an open file locked).
        self.document.close()
        if self._buffer is not None:
            self._buffer.close()
            self._buffer.deleteLater()
        self._buffer = QBuffer(self)
        self._buffer.setData(QByteArray(path.read_bytes()))
        self._buffer.open(QIODevice.OpenModeFlag.ReadOnly)
        self.document.load(self._buffer)
        if self.preview_path is not None and self.preview_path != path:
            self.preview_path.unlink(missing_ok=True)
        self.preview_path = path
        self._preview_state.setText(
            self.tr("Bản xem trước theo nội dung đang sửa (chưa lưu); không ghi vào sổ in.")
            if dirty else self.tr("Bản xem trước theo mẫu đã lưu; không ghi vào sổ in."))
        self.preview_shown.emit(pages)

    def _on_preview_failed(self, out: Path, exc: BaseException) -> None:
        out.unlink(missing_ok=True)
        if not isValid(self):
            return
        self._preview_state.setText(self.tr("Không vẽ được bản xem trước."))
        if isinstance(exc, ValidationError):
            self._show_problems([str(exc)])
            return
        messages.show_error(self, exc)

    # --- Qt overrides -----------------------------------------------------------------------

    def event(self, event: QEvent) -> bool:
        # F5 here redraws the preview; the window's own F5 (reload everything) would drop
        # the edits being previewed, so claim the key before it becomes a shortcut.
        if event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent) \
                and event.key() == Qt.Key.Key_F5 \
                and event.modifiers() == Qt.KeyboardModifier.NoModifier:
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_F5 and event.modifiers() == Qt.KeyboardModifier.NoModifier:
            self.preview()
            event.accept()
            return
        super().keyPressEvent(event)


def _remove_stale_previews(folder: Path, age_s: float = 3600.0) -> None:
    """Remove the previews an earlier session left behind (older than an hour)."""
    now = time.time()
    for old in folder.glob("xem-truoc-*.pdf"):
        try:
            if now - old.stat().st_mtime > age_s:
                old.unlink()
        except OSError:  # open in another program, or already gone: it can wait
            continue


def _count_texts(overrides: Mapping[str, Any]) -> int:
    """How many texts the overrides hold (the organisation block counts as one)."""
    count = 0
    for key, value in overrides.items():
        if isinstance(value, Mapping):
            count += _count_texts(value)
        elif key == "organisation" or isinstance(value, str):
            count += 1
    return count
