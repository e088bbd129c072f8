"""Nhật ký thao tác: the audit log with filters, each entry's before and after, the state of
the chain of hashes, and an export of what is shown (itself recorded in the log)."""

from __future__ import annotations

import datetime as dt
import html
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import QDate, QItemSelection, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid
from sqlalchemy.orm import Session, sessionmaker

from mbfcare import paths
from mbfcare.domain.actors import Actor
from mbfcare.services import audit_review
from mbfcare.services.audit_review import AuditFilter, AuditRow, ChainStatus
from mbfcare.ui import messages
from mbfcare.ui.tablemodels.audit import AuditTableModel, action_text
from mbfcare.ui.tasks import TaskProgress, TaskRunner

ALL = ""  # the filter boxes' "every value" item


class AuditPanel(QWidget):
    """The audit viewer (administrators only; others see why not).

    Signals:
        chain_checked(object): the chain was verified (a `ChainStatus`).
        exported(object): the filtered entries were written (an `AuditExportResult`).
    """

    chain_checked = Signal(object)
    exported = Signal(object)

    def __init__(self, factory: sessionmaker[Session], runner: TaskRunner, actor: Actor,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._factory, self._runner, self._actor = factory, runner, actor
        self._programme_id: int | None = None
        self._shown = False
        self.model = AuditTableModel(factory, runner, actor, self)

        today = QDate.currentDate()
        self.from_check = QCheckBox(self.tr("Từ ngày"), self)
        self.from_edit = QDateEdit(today.addDays(-30), self)
        self.to_check = QCheckBox(self.tr("Đến ngày"), self)
        self.to_edit = QDateEdit(today, self)
        for edit in (self.from_edit, self.to_edit):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("dd/MM/yyyy")
            edit.setEnabled(False)
        self.user_combo = QComboBox(self)
        self.user_combo.setObjectName("user_combo")
        self.action_combo = QComboBox(self)
        self.action_combo.setObjectName("action_combo")
        self.programme_check = QCheckBox(self.tr("Chỉ chương trình đang chọn"), self)
        self.text_edit = QLineEdit(self)
        self.text_edit.setPlaceholderText(self.tr("Tìm trong nội dung…"))
        self.text_edit.setClearButtonEnabled(True)
        self.apply_button = QPushButton(self.tr("Lọc"), self)
        self.export_button = QPushButton(self.tr("Xuất Excel/CSV…"), self)
        self.chain_button = QPushButton(self.tr("Kiểm tra chuỗi"), self)
        self.chain_label = QLabel(self)
        self.chain_label.setObjectName("chain_label")
        self.chain_label.setWordWrap(True)
        self.count_label = QLabel(self)
        self.refused_label = QLabel(self.tr(
            "Chỉ quản trị (Phòng CSKH) xem được nhật ký thao tác."), self)
        self.refused_label.setWordWrap(True)

        self.table = QTableView(self)
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)  # one line per entry; the detail pane has it all
        self.table.verticalHeader().setDefaultSectionSize(
            self.table.fontMetrics().height() + 8)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(False)
        for column, width in enumerate((50, 150, 130, 120, 360, 90)):
            self.table.setColumnWidth(column, width)
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        self.detail = QTextBrowser(self)
        self.detail.setObjectName("detail")

        filters = QHBoxLayout()
        for widget in (self.from_check, self.from_edit, self.to_check, self.to_edit):
            filters.addWidget(widget)
        filters.addWidget(QLabel(self.tr("Người:"), self))
        filters.addWidget(self.user_combo)
        filters.addWidget(QLabel(self.tr("Thao tác:"), self))
        filters.addWidget(self.action_combo)
        filters.addWidget(self.programme_check)
        filters.addWidget(self.text_edit, 1)
        filters.addWidget(self.apply_button)
        bottom = QHBoxLayout()
        bottom.addWidget(self.chain_label, 1)
        bottom.addWidget(self.count_label)
        bottom.addWidget(self.chain_button)
        bottom.addWidget(self.export_button)
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(self.table)
        splitter.addWidget(self.detail)
        splitter.setStretchFactor(0, 5)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([900, 360])
        self.body = QWidget(self)
        body = QVBoxLayout(self.body)
        body.setContentsMargins(0, 0, 0, 0)
        body.addLayout(filters)
        body.addWidget(splitter, 1)
        body.addLayout(bottom)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.refused_label)
        layout.addWidget(self.body, 1)

        self.from_check.toggled.connect(self.from_edit.setEnabled)
        self.to_check.toggled.connect(self.to_edit.setEnabled)
        self.apply_button.clicked.connect(self._on_apply_button_clicked)
        self.text_edit.returnPressed.connect(self._on_apply_button_clicked)
        self.export_button.clicked.connect(self._on_export_button_clicked)
        self.chain_button.clicked.connect(self._on_chain_button_clicked)
        self.model.page_loaded.connect(self._on_model_page_loaded)
        self.model.failed.connect(self._on_model_failed)
        self.table.selectionModel().selectionChanged.connect(self._on_selection_changed)
        self._fill_combos(audit_review.FilterChoices((), ()))
        self._apply_role()

    # --- public API -------------------------------------------------------------------------

    def set_actor(self, actor: Actor) -> None:
        """Who reads the log; only an administrator sees it."""
        self._actor = actor
        self.model.set_actor(actor)
        self._apply_role()
        if self._shown:
            self.refresh()

    def set_programme(self, programme_id: int | None) -> None:
        """The toolbar's programme, for "Chỉ chương trình đang chọn"."""
        self._programme_id = programme_id

    def refresh(self) -> None:
        """Read the filter boxes' choices, the entries and the chain's state again."""
        self._shown = True
        if not self._actor.may("users"):
            return
        factory, actor = self._factory, self._actor
        self._runner.start(lambda _p: audit_review.filter_choices(factory, actor),
                           on_done=self._on_choices_loaded,
                           on_error=partial(messages.show_error, self))
        self.model.set_filter(self.current_filter())
        self.check_chain()

    def current_filter(self) -> AuditFilter:
        """The filter the boxes describe."""
        def day(edit: QDateEdit, check: QCheckBox) -> dt.date | None:
            shown = edit.date()
            return dt.date(shown.year(), shown.month(), shown.day()) if check.isChecked() \
                else None

        return AuditFilter(
            date_from=day(self.from_edit, self.from_check),
            date_to=day(self.to_edit, self.to_check),
            user=self.user_combo.currentData() or None,
            action=self.action_combo.currentData() or None,
            programme_id=self._programme_id if self.programme_check.isChecked() else None,
            text=self.text_edit.text().strip() or None)

    def check_chain(self) -> None:
        """Verify the chain of hashes on the worker and show the result."""
        if not self._actor.may("users"):
            return
        self.chain_label.setText(self.tr("Đang kiểm tra chuỗi nhật ký…"))
        factory, actor = self._factory, self._actor
        self._runner.start(lambda _p: audit_review.chain_status(factory, actor),
                           on_done=self._on_chain_checked,
                           on_error=partial(messages.show_error, self))

    def export_to(self, out: Path) -> None:
        """Write the entries the filter selects to `out` (.xlsx or .csv), on the worker."""
        factory, actor, filt = self._factory, self._actor, self.model.current_filter()

        def work(_progress: TaskProgress) -> Any:
            return audit_review.export_audit(factory, actor, filt, out)

        self.export_button.setEnabled(False)
        self._runner.start(work, on_done=self._on_exported, on_error=self._on_export_failed)

    # --- helpers ----------------------------------------------------------------------------

    def _apply_role(self) -> None:
        allowed = self._actor.may("users")
        self.refused_label.setVisible(not allowed)
        self.body.setVisible(allowed)

    def _fill_combos(self, choices: audit_review.FilterChoices) -> None:
        for combo, values in ((self.user_combo, choices.users),
                              (self.action_combo, choices.actions)):
            keep = combo.currentData()
            combo.blockSignals(True)
            combo.clear()
            combo.addItem(self.tr("Tất cả"), ALL)
            for value in values:
                combo.addItem(action_text(value) if combo is self.action_combo else value,
                              value)
            combo.setCurrentIndex(max(combo.findData(keep), 0))
            combo.blockSignals(False)

    def _detail_html(self, entry: AuditRow) -> str:
        e = html.escape
        local = entry.at.astimezone(dt.timezone(dt.timedelta(hours=7)))
        parts = [
            f"<h3>{e(self.tr('Dòng {n}').format(n=entry.id))} · "
            f"{e(local.strftime('%d/%m/%Y %H:%M:%S'))}</h3>",
            f"<p><b>{e(entry.user)}</b> · {e(action_text(entry.action))} · {e(entry.entity)}"
            + (f" #{entry.entity_id}" if entry.entity_id is not None else "") + "</p>",
            f"<p>{e(entry.summary)}</p>",
        ]
        if entry.reason:
            parts.append(f"<p><b>{e(self.tr('Lý do'))}:</b> {e(entry.reason)}</p>")
        for title, text in ((self.tr("Trước"), entry.before), (self.tr("Sau"), entry.after)):
            if text:
                parts.append(f"<p><b>{e(title)}:</b></p><pre>{e(text)}</pre>")
        parts.append(f"<p><small>SHA-256: {e(entry.hash)}</small></p>")
        return "".join(parts)

    # --- slots ------------------------------------------------------------------------------

    @Slot()
    def _on_apply_button_clicked(self) -> None:
        self.detail.clear()
        self.model.set_filter(self.current_filter())

    def _on_choices_loaded(self, choices: audit_review.FilterChoices) -> None:
        if isValid(self):
            self._fill_combos(choices)

    def _on_model_page_loaded(self, rows: int) -> None:
        more = self.tr(" (cuộn xuống để xem thêm)") if self.model.canFetchMore() else ""
        self.count_label.setText(self.tr("{n} dòng").format(n=rows) + more)

    def _on_model_failed(self, exc: BaseException) -> None:
        messages.show_error(self, exc)

    @Slot(QItemSelection, QItemSelection)
    def _on_selection_changed(self, _selected: QItemSelection,
                              _deselected: QItemSelection) -> None:
        rows = self.table.selectionModel().selectedRows()
        entry = self.model.entry(rows[0].row()) if rows else None
        if entry is None:
            self.detail.clear()
        else:
            self.detail.setHtml(self._detail_html(entry))

    def _on_chain_checked(self, status: ChainStatus) -> None:
        if not isValid(self):
            return
        colour = "#1b5e20" if status.ok else "#b3261e"
        if status.ok:
            text = self.tr("Chuỗi nhật ký nguyên vẹn đến dòng {n}.").format(n=status.last_id)
        else:
            text = self.tr("Chuỗi nhật ký bị phá từ dòng {n}: {problem}").format(
                n=status.first_bad_id, problem=status.problems[0])
        self.chain_label.setText(f"<span style='color:{colour}'>{html.escape(text)}</span>")
        self.chain_checked.emit(status)

    @Slot()
    def _on_chain_button_clicked(self) -> None:
        self.check_chain()

    @Slot()
    def _on_export_button_clicked(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, self.tr("Xuất nhật ký thao tác"), str(paths.data_dir() / "nhat_ky.xlsx"),
            self.tr("Tệp Excel (*.xlsx);;Tệp CSV (*.csv)"))
        if path:
            self.export_to(Path(path))

    def _on_exported(self, result: Any) -> None:
        if not isValid(self):
            return
        self.export_button.setEnabled(True)
        messages.notify(self, self.tr("Đã xuất {n} dòng nhật ký: {file}").format(
            n=result.rows, file=result.file))
        self.exported.emit(result)
        # The export is itself an entry: show it.
        self.model.set_filter(self.model.current_filter())

    def _on_export_failed(self, exc: BaseException) -> None:
        if isValid(self):
            self.export_button.setEnabled(True)
            messages.show_error(self, exc)
