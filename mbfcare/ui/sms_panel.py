"""The SMS half of "In ấn & SMS": the two templates with a live count, the batch's list with
its totals, the export for the gateway, and marking the batch's SMS as sent (step 1)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QTableView,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid
from sqlalchemy.orm import Session, sessionmaker

from mbfcare import paths
from mbfcare.domain.actors import Actor
from mbfcare.domain.sms import (
    SAMPLE_VALUES,
    TemplateProblem,
    check_template,
    make_message,
    sms_count,
)
from mbfcare.domain.values import format_msisdn, format_number
from mbfcare.services import sms
from mbfcare.services.sms import SmsBatchDTO, SmsRowDTO, SmsTemplatesDTO
from mbfcare.ui import messages
from mbfcare.ui.tasks import TaskProgress, TaskRunner

PREVIEW_ROWS = 500  # the list shows the first messages; the totals cover the whole batch


class SmsRowsModel(QAbstractTableModel):
    """The messages of the batch (the first PREVIEW_ROWS), one per row."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: list[SmsRowDTO] = []
        self._headers = (self.tr("Số thuê bao"), self.tr("Họ tên"), self.tr("Loại tin"),
                         self.tr("Nội dung"), self.tr("Số tin"), self.tr("Đã gửi"))
        self._kinds = {"notice": self.tr("Thông báo (nhóm 1)"),
                       "invitation": self.tr("Mời nhận quà (nhóm 2)")}

    def set_rows(self, rows: Sequence[SmsRowDTO]) -> None:
        """Show these rows."""
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._headers)

    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row, column = self._rows[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            values = (format_msisdn(row.msisdn), row.name, self._kinds.get(row.kind, row.kind),
                      row.message, format_number(row.parts),
                      row.sent_on.strftime("%d/%m/%Y") if row.sent_on else "")
            return values[column]
        if role == Qt.ItemDataRole.ToolTipRole and column == 3:
            return f"{row.message}\n\n{sms_count(row.message).text}"
        if role == Qt.ItemDataRole.TextAlignmentRole and column == 4:
            return Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if (orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole
                and 0 <= section < len(self._headers)):
            return self._headers[section]
        return None


class SmsPanel(QWidget):
    """Templates, the batch's messages and totals, export and "mark as sent".

    Signals:
        loaded(): the list and totals were read.
        sent_marked(object): step 1 was recorded (an `SmsMarkResult`).
    """

    loaded = Signal()
    sent_marked = Signal(object)

    def __init__(self, factory: sessionmaker[Session], runner: TaskRunner, actor: Actor,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._factory, self._runner, self._actor = factory, runner, actor
        self._programme_id: int | None = None
        self._batch: int | None = None
        self._batch_dto: SmsBatchDTO | None = None
        self._generation = 0

        self.notice_edit = QPlainTextEdit(self)
        self.notice_edit.setObjectName("notice")
        self.invitation_edit = QPlainTextEdit(self)
        self.invitation_edit.setObjectName("invitation")
        for edit in (self.notice_edit, self.invitation_edit):
            edit.setTabChangesFocus(True)
            edit.setMaximumHeight(90)
        self.notice_count = QLabel(self)
        self.invitation_count = QLabel(self)
        self.deadline_spin = QSpinBox(self)
        self.deadline_spin.setRange(1, 120)
        self.deadline_spin.setSuffix(self.tr(" ngày"))
        self.plain_box = QCheckBox(self.tr("Không dấu (rẻ hơn: mỗi tin 160 ký tự)"), self)
        self.plain_box.setChecked(True)
        self.legend = QLabel(self)
        self.legend.setWordWrap(True)
        self.problem = QLabel(self)
        self.problem.setStyleSheet("color: #b00020")
        self.problem.setWordWrap(True)
        self.save_button = QPushButton(self.tr("Lưu mẫu tin"), self)
        self.reset_button = QPushButton(self.tr("Về mẫu mặc định"), self)

        templates = QGroupBox(self.tr("Mẫu tin nhắn"), self)
        form = QFormLayout(templates)
        form.addRow(self.tr("Nhóm 1 – thông báo (MBF đến tặng):"), self.notice_edit)
        form.addRow("", self.notice_count)
        form.addRow(self.tr("Nhóm 2 – mời đến cửa hàng nhận quà:"), self.invitation_edit)
        form.addRow("", self.invitation_count)
        form.addRow(self.tr("Hạn nhận quà ({han}) sau ngày lập danh sách:"), self.deadline_spin)
        form.addRow(self.legend)
        form.addRow(self.problem)
        buttons = QHBoxLayout()
        buttons.addWidget(self.plain_box)
        buttons.addStretch(1)
        buttons.addWidget(self.reset_button)
        buttons.addWidget(self.save_button)
        form.addRow(buttons)

        self.model = SmsRowsModel(self)
        self.table = QTableView(self)
        self.table.setModel(self.model)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.totals = QLabel(self)
        self.totals.setObjectName("totals")
        self.totals.setWordWrap(True)
        self.export_button = QPushButton(self.tr("Xuất danh sách SMS…"), self)
        self.export_button.setToolTip(self.tr("Tệp CSV hoặc Excel cho tổng đài SMS: số 84…, "
                                              "nội dung"))
        self.mark_button = QPushButton(self.tr("Đánh dấu đã gửi SMS"), self)
        self.mark_button.setToolTip(self.tr("Ghi bước 1 (gửi SMS) cho các KH trong danh sách"))
        actions = QHBoxLayout()
        actions.addWidget(self.totals, 1)
        actions.addWidget(self.export_button)
        actions.addWidget(self.mark_button)

        layout = QVBoxLayout(self)
        layout.addWidget(templates)
        layout.addLayout(actions)
        layout.addWidget(self.table, 1)

        self._count_timer = QTimer(self)
        self._count_timer.setSingleShot(True)
        self._count_timer.setInterval(150)
        self._count_timer.timeout.connect(self._update_counts)
        self.notice_edit.textChanged.connect(self._count_timer.start)
        self.invitation_edit.textChanged.connect(self._count_timer.start)
        self.plain_box.toggled.connect(self._on_plain_box_toggled)
        self.save_button.clicked.connect(self._on_save_button_clicked)
        self.reset_button.clicked.connect(self._on_reset_button_clicked)
        self.export_button.clicked.connect(self._on_export_button_clicked)
        self.mark_button.clicked.connect(self._on_mark_button_clicked)
        self._set_enabled(False)

    # --- public ---------------------------------------------------------------------------

    def set_programme(self, programme_id: int | None, batch: int | None) -> None:
        """Show the SMS of this programme's batch."""
        self._programme_id, self._batch = programme_id, batch
        self._set_enabled(programme_id is not None and batch is not None)
        if programme_id is None:
            return
        self._runner.start(lambda _p: sms.sms_templates(self._factory, programme_id),
                           on_done=self._on_templates_loaded,
                           on_error=partial(messages.show_error, self))
        self.refresh()

    def set_actor(self, actor: Actor) -> None:
        """Who saves templates and marks SMS as sent."""
        self._actor = actor

    def refresh(self) -> None:
        """Read the batch's messages and totals again."""
        programme_id, batch = self._programme_id, self._batch
        if programme_id is None or batch is None:
            return
        self._generation += 1
        generation, plain = self._generation, self.plain_box.isChecked()
        self._runner.start(
            lambda _p: sms.sms_preview(self._factory, programme_id, batch,
                                       diacritics=not plain, limit=PREVIEW_ROWS),
            on_done=partial(self._on_preview_loaded, generation),
            on_error=self._on_preview_failed)

    def totals_text(self) -> str:
        """The totals line (tests)."""
        return self.totals.text()

    def export_to(self, path: Path) -> None:
        """Write the gateway file of the batch (CSV or XLSX by the suffix), on the worker."""
        programme_id, batch, plain = self._programme_id, self._batch, self.plain_box.isChecked()
        if programme_id is None or batch is None:
            return
        actor = self._actor
        self._runner.start(
            lambda _p: sms.export_sms(self._factory, path, programme_id=programme_id,
                                      batch=batch, diacritics=not plain, actor=actor),
            on_done=lambda result: messages.notify(self, result.text),
            on_error=partial(messages.show_error, self))

    def mark_sent(self, on: dt.date | None = None) -> None:
        """Record step 1 for the batch's messages, on the worker."""
        programme_id, batch, actor = self._programme_id, self._batch, self._actor
        if programme_id is None or batch is None:
            return

        def work(progress: TaskProgress) -> Any:
            return sms.mark_sms_sent(self._factory, programme_id=programme_id, batch=batch,
                                     on=on, actor=actor, progress=progress)

        self._runner.start(work, on_done=self._on_marked,
                           on_error=partial(messages.show_error, self))

    # --- helpers ----------------------------------------------------------------------------

    def _set_enabled(self, enabled: bool) -> None:
        for widget in (self.save_button, self.reset_button, self.export_button,
                       self.mark_button, self.notice_edit, self.invitation_edit):
            widget.setEnabled(enabled)

    def _count_line(self, template: str) -> str:
        try:
            check_template(template)
        except TemplateProblem as exc:
            return "⚠ " + str(exc)
        sample = make_message(template, SAMPLE_VALUES, diacritics=not self.plain_box.isChecked())
        return self.tr("Ví dụ: {count}").format(count=sms_count(sample).text)

    # --- slots ------------------------------------------------------------------------------

    @Slot()
    def _update_counts(self) -> None:
        self.notice_count.setText(self._count_line(self.notice_edit.toPlainText()))
        self.invitation_count.setText(self._count_line(self.invitation_edit.toPlainText()))

    def _on_templates_loaded(self, dto: SmsTemplatesDTO) -> None:
        if not isValid(self):
            return
        self.notice_edit.setPlainText(dto.notice)
        self.invitation_edit.setPlainText(dto.invitation)
        self.deadline_spin.setValue(dto.deadline_days)
        self._defaults = dto
        self.legend.setText(self.tr("Chỗ điền: ") + " · ".join(
            f"{{{key}}} {label}" for key, label in dto.placeholders))
        self._update_counts()

    def _on_preview_loaded(self, generation: int, dto: SmsBatchDTO) -> None:
        if not isValid(self) or generation != self._generation:
            return
        self._batch_dto = dto
        self.model.set_rows(dto.rows)
        saving = dto.parts_without_diacritics
        self.totals.setText(self.tr(
            "{messages} tin nhắn · {parts} tin SMS tính cước (không dấu: {plain}) · đã gửi: "
            "{sent} · từ chối nhận SMS: {opted} · không gửi: {skipped}").format(
            messages=format_number(dto.messages), parts=format_number(dto.parts),
            plain=format_number(saving), sent=format_number(dto.already_sent),
            opted=format_number(dto.opted_out), skipped=format_number(dto.skipped)))
        self.loaded.emit()

    def _on_preview_failed(self, exc: BaseException) -> None:
        if not isValid(self):
            return
        self.model.set_rows([])
        self.totals.setText(str(exc))
        self.loaded.emit()

    @Slot(bool)
    def _on_plain_box_toggled(self, _checked: bool) -> None:
        self._update_counts()
        self.refresh()

    @Slot()
    def _on_save_button_clicked(self) -> None:
        programme_id, actor = self._programme_id, self._actor
        if programme_id is None:
            return
        notice, invitation = self.notice_edit.toPlainText(), self.invitation_edit.toPlainText()
        days = self.deadline_spin.value()
        self.problem.clear()

        def saved(dto: SmsTemplatesDTO) -> None:
            if isValid(self):
                messages.notify(self, self.tr("Đã lưu mẫu tin nhắn."))
                self._on_templates_loaded(dto)
                self.refresh()

        def failed(exc: BaseException) -> None:
            if isValid(self):
                self.problem.setText("⚠ " + str(exc))

        self._runner.start(
            lambda _p: sms.update_sms_templates(self._factory, programme_id, notice=notice,
                                                invitation=invitation, deadline_days=days,
                                                actor=actor),
            on_done=saved, on_error=failed)

    @Slot()
    def _on_reset_button_clicked(self) -> None:
        defaults = getattr(self, "_defaults", None)
        if defaults is None:
            return
        self.notice_edit.setPlainText(defaults.default_notice)
        self.invitation_edit.setPlainText(defaults.default_invitation)
        self.deadline_spin.setValue(defaults.default_deadline_days)

    @Slot()
    def _on_export_button_clicked(self) -> None:
        name = f"sms_dot{self._batch or 1}.csv"
        path, _ = QFileDialog.getSaveFileName(
            self, self.tr("Xuất danh sách SMS"), str(paths.data_dir() / name),
            self.tr("Tệp CSV (*.csv);;Tệp Excel (*.xlsx)"))
        if path:
            self.export_to(Path(path))

    @Slot()
    def _on_mark_button_clicked(self) -> None:
        dto = self._batch_dto
        count = (dto.messages - dto.already_sent) if dto else 0
        if count <= 0:
            messages.notify(self, self.tr("Không còn KH nào chưa ghi gửi SMS trong đợt này."))
            return
        if messages.confirm(self, self.tr(
                "Ghi đã gửi SMS hôm nay cho {n} KH của đợt {batch}?").format(
                n=format_number(count), batch=self._batch)):
            self.mark_sent()

    def _on_marked(self, result: Any) -> None:
        if not isValid(self):
            return
        messages.notify(self, result.text)
        self.sent_marked.emit(result)
        self.refresh()
