"""Settings tab "Cơ sở dữ liệu": where the data is, the backup settings, the backups, restore."""

from __future__ import annotations

import dataclasses
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableView,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.backup_files import BackupFile, BackupPolicy
from mbfcare.db import describe
from mbfcare.domain.actors import Actor
from mbfcare.errors import ValidationError
from mbfcare.services import backups
from mbfcare.services.backups import BackupList, RestoreResult
from mbfcare.settings import BACKUP_LIMITS, load_settings, save_settings
from mbfcare.ui import messages
from mbfcare.ui.tablemodels.backups import BackupTableModel
from mbfcare.ui.tasks import TaskProgress, TaskRunner

ERROR_COLOUR = "#b3261e"


def _list(url: str, policy: BackupPolicy, _progress: TaskProgress) -> BackupList:
    """Worker: read the backups folder. No UI calls here."""
    return backups.list_database_backups(url, policy)


def _backup_now(url: str, policy: BackupPolicy, _progress: TaskProgress) -> BackupFile:
    """Worker: make a verified backup now. No UI calls here."""
    return backups.backup_now(url, policy)


def _restore(engine: Any, url: str, file: Path, policy: BackupPolicy, actor: Actor,
             _progress: TaskProgress) -> RestoreResult:
    """Worker: let go of this window's connections, then restore. No UI calls here."""
    if engine is not None:
        # The pool's idle connections would hold the file; the window reopens afterwards.
        engine.dispose()
    return backups.restore_backup(url, file, policy, actor=actor)


class DatabaseSettingsWidget(QWidget):
    """The database shown, its backup settings and backups, "Sao lưu ngay", "Khôi phục…".

    Signals:
        restart_requested(str): reopen the window ("" = the same database), after a restore.
        policy_changed(object): the backup settings were saved (the new `BackupPolicy`).
    """

    restart_requested = Signal(str)
    policy_changed = Signal(object)

    def __init__(self, factory: sessionmaker[Session], runner: TaskRunner, actor: Actor,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._factory, self._runner, self._actor = factory, runner, actor
        self._url = backups.factory_url(factory) or ""
        self._engine = factory.kw.get("bind")
        self._sqlite = bool(self._url) and backups.database_file(self._url) is not None
        self._policy = BackupPolicy.current()
        self._filling = True  # the spin boxes' ranges are set before there is anything to save
        self.model = BackupTableModel(self)

        layout = QVBoxLayout(self)
        layout.addWidget(self._build_where_box())
        layout.addWidget(self._build_settings_box())
        layout.addWidget(self._build_backups_box(), 1)
        self.status_label = QLabel(self)
        self.status_label.setWordWrap(True)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.status_label)
        self._settings_box.setVisible(self._sqlite)
        self._backups_box.setVisible(self._sqlite)
        if not self._sqlite:
            layout.addStretch(1)
        self._fill_settings()
        self._apply_role()
        self.refresh()

    # --- public API -------------------------------------------------------------------------

    def set_actor(self, actor: Actor) -> None:
        """Who works here (only an administrator restores or changes the settings)."""
        self._actor = actor
        self._apply_role()

    def policy(self) -> BackupPolicy:
        """The backup settings in force."""
        return self._policy

    @Slot()
    def refresh(self) -> None:
        """Read the backups folder again (off the GUI thread)."""
        if not self._sqlite:
            return
        self._runner.start(partial(_list, self._url, self._policy),
                           on_done=self._on_backups_listed, on_error=self._on_list_failed)

    # --- building ---------------------------------------------------------------------------

    def _build_where_box(self) -> QGroupBox:
        box = QGroupBox(self.tr("Cơ sở dữ liệu"), self)
        form = QFormLayout(box)
        where = QLabel(describe(self._url) if self._url else "—", box)
        where.setObjectName("database_label")
        where.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        where.setWordWrap(True)
        form.addRow(self.tr("Dữ liệu lưu tại:"), where)
        if self._sqlite:
            note = QLabel(self.tr(
                "Tệp SQLite trên máy này. Không đặt tệp trong thư mục chia sẻ qua mạng, ổ mạng "
                "hay thư mục đồng bộ (OneDrive, Google Drive, Dropbox…): hai máy cùng ghi có "
                "thể làm hỏng tệp. Nhiều máy dùng chung thì dùng máy chủ PostgreSQL."), box)
        else:
            note = QLabel(self.tr(
                "Cơ sở dữ liệu PostgreSQL do máy chủ sao lưu (pg_dump theo lịch của quản trị, "
                "khôi phục bằng pg_restore trên máy chủ); chương trình không tự sao lưu nó."),
                box)
        note.setObjectName("database_note")
        note.setWordWrap(True)
        form.addRow(note)
        return box

    def _spin(self, name: str, suffix: str) -> QSpinBox:
        spin = QSpinBox(self)
        spin.setObjectName(f"{name}_spin")
        low, high = BACKUP_LIMITS[name]
        spin.setRange(low, high)
        spin.setSuffix(suffix)
        spin.setAlignment(Qt.AlignmentFlag.AlignRight)
        spin.setMinimumWidth(120)
        spin.setMaximumWidth(160)
        spin.valueChanged.connect(self._on_settings_edited)
        return spin

    def _build_settings_box(self) -> QGroupBox:
        box = QGroupBox(self.tr("Sao lưu tự động"), self)
        self._settings_box = box
        form = QFormLayout(box)
        explain = QLabel(self.tr(
            "Chương trình sao lưu khi mở, khi đóng, trước khi nâng cấp, trước mỗi lần nhập dữ "
            "liệu và trong lúc làm việc nếu dữ liệu thay đổi; mỗi bản được kiểm tra toàn vẹn "
            "trước khi giữ. Giữ mọi bản của hôm nay và hôm qua, rồi mỗi ngày, mỗi tuần, mỗi "
            "tháng một bản."), box)
        explain.setWordWrap(True)
        form.addRow(explain)
        folder_row = QHBoxLayout()
        self.folder_edit = QLineEdit(box)
        self.folder_edit.setObjectName("folder_edit")
        self.folder_edit.textEdited.connect(self._on_settings_edited)
        self._folder_button = QPushButton(self.tr("Chọn…"), box)
        self._folder_button.clicked.connect(self._on_folder_button_clicked)
        folder_row.addWidget(self.folder_edit, 1)
        folder_row.addWidget(self._folder_button)
        form.addRow(self.tr("Thư mục sao lưu:"), folder_row)
        self.daily_spin = self._spin("keep_daily", self.tr(" ngày"))
        self.weekly_spin = self._spin("keep_weekly", self.tr(" tuần"))
        self.monthly_spin = self._spin("keep_monthly", self.tr(" tháng"))
        self.minutes_spin = self._spin("backup_minutes", self.tr(" phút"))
        form.addRow(self.tr("Giữ mỗi ngày một bản, trong:"), self.daily_spin)
        form.addRow(self.tr("Rồi mỗi tuần một bản, trong:"), self.weekly_spin)
        form.addRow(self.tr("Rồi mỗi tháng một bản, trong:"), self.monthly_spin)
        form.addRow(self.tr("Khi có thay đổi, sao lưu ít nhất mỗi:"), self.minutes_spin)
        bar = QHBoxLayout()
        self.problems_label = QLabel(box)
        self.problems_label.setWordWrap(True)
        self.problems_label.setStyleSheet(f"color: {ERROR_COLOUR};")
        bar.addWidget(self.problems_label, 1)
        self.save_button = QPushButton(self.tr("Lưu cài đặt sao lưu"), box)
        self.save_button.setObjectName("save_button")
        self.save_button.clicked.connect(self._on_save_button_clicked)
        bar.addWidget(self.save_button)
        form.addRow(bar)
        return box

    def _build_backups_box(self) -> QGroupBox:
        box = QGroupBox(self.tr("Các bản sao lưu"), self)
        self._backups_box = box
        layout = QVBoxLayout(box)
        self.table = QTableView(box)
        self.table.setObjectName("backups_table")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.selectionModel().selectionChanged.connect(self._on_selection_changed)
        self.table.doubleClicked.connect(lambda _index: self._on_restore_button_clicked())
        layout.addWidget(self.table)
        buttons = QHBoxLayout()
        self.summary_label = QLabel(box)
        self.summary_label.setWordWrap(True)
        buttons.addWidget(self.summary_label, 1)
        self.refresh_button = QPushButton(self.tr("Làm mới"), box)
        self.refresh_button.clicked.connect(self.refresh)
        self.backup_button = QPushButton(self.tr("Sao lưu ngay"), box)
        self.backup_button.setObjectName("backup_button")
        self.backup_button.clicked.connect(self._on_backup_button_clicked)
        self.restore_button = QPushButton(self.tr("Khôi phục…"), box)
        self.restore_button.setObjectName("restore_button")
        self.restore_button.clicked.connect(self._on_restore_button_clicked)
        for button in (self.refresh_button, self.backup_button, self.restore_button):
            buttons.addWidget(button, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(buttons)
        return box

    def _fill_settings(self) -> None:
        policy = self._policy
        self._filling = True
        try:
            self.folder_edit.setText(str(policy.folder))
            self.daily_spin.setValue(policy.keep_daily)
            self.weekly_spin.setValue(policy.keep_weekly)
            self.monthly_spin.setValue(policy.keep_monthly)
            self.minutes_spin.setValue(policy.minutes)
        finally:
            self._filling = False
        self.save_button.setEnabled(False)

    def _apply_role(self) -> None:
        admin = self._actor.may("users")
        tip = "" if admin else self.tr("Chỉ quản trị được khôi phục và đổi cài đặt sao lưu.")
        for widget in (self.folder_edit, self._folder_button, self.daily_spin,
                       self.weekly_spin, self.monthly_spin, self.minutes_spin):
            widget.setEnabled(admin)
            widget.setToolTip(tip)
        self.save_button.setToolTip(tip)
        self.restore_button.setToolTip(tip)
        self._on_selection_changed()
        if not admin:
            self.save_button.setEnabled(False)

    def _selected(self) -> BackupFile | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.backup(rows[0].row()) if rows else None

    # --- slots ------------------------------------------------------------------------------

    @Slot()
    def _on_settings_edited(self) -> None:
        if not self._filling:
            self.save_button.setEnabled(self._actor.may("users"))
            self.problems_label.clear()

    @Slot()
    def _on_folder_button_clicked(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("Thư mục sao lưu"),
                                                  self.folder_edit.text())
        if folder:
            self.folder_edit.setText(folder)
            self._on_settings_edited()

    @Slot()
    def _on_save_button_clicked(self) -> None:
        folder = self.folder_edit.text().strip()
        if not folder:
            self.problems_label.setText(self.tr("Chọn thư mục sao lưu."))
            return
        default = str(BackupPolicy.from_settings(dataclasses.replace(
            load_settings(), backup_folder="")).folder)
        settings = dataclasses.replace(
            load_settings(), backup_folder="" if folder == default else folder,
            keep_daily=self.daily_spin.value(), keep_weekly=self.weekly_spin.value(),
            keep_monthly=self.monthly_spin.value(), backup_minutes=self.minutes_spin.value())
        try:
            Path(folder).mkdir(parents=True, exist_ok=True)
            save_settings(settings)
        except ValidationError as exc:
            self.problems_label.setText(str(exc))
            return
        except OSError as exc:
            self.problems_label.setText(self.tr("Không dùng được thư mục {folder} ({reason}).")
                                        .format(folder=folder, reason=exc.strerror or exc))
            return
        self._policy = BackupPolicy.from_settings(settings)
        self._fill_settings()
        messages.notify(self, self.tr("Đã lưu cài đặt sao lưu."))
        self.policy_changed.emit(self._policy)
        self.refresh()

    def _on_backups_listed(self, listing: BackupList) -> None:
        selected = self._selected()
        self.model.set_backups(listing.backups)
        newest = listing.newest
        if newest is None:
            self.summary_label.setText(self.tr("Chưa có bản sao lưu nào trong {folder}.")
                                       .format(folder=listing.folder))
        else:
            self.summary_label.setText(self.tr(
                "{count} bản trong {folder}; mới nhất lúc {time} ngày {date}.").format(
                count=len(listing.backups), folder=listing.folder,
                time=f"{newest.taken_at:%H:%M}", date=f"{newest.taken_at:%d/%m/%Y}"))
        if selected is not None:
            for row, backup in enumerate(listing.backups):
                if backup.file == selected.file:
                    self.table.selectRow(row)
        self._on_selection_changed()

    @Slot()
    def _on_selection_changed(self, *_args: object) -> None:
        self.restore_button.setEnabled(self._actor.may("users") and self._selected() is not None)

    @Slot()
    def _on_backup_button_clicked(self) -> None:
        self.backup_button.setEnabled(False)
        self.status_label.setText(self.tr("Đang sao lưu…"))
        self._runner.start(partial(_backup_now, self._url, self._policy),
                           on_done=self._on_backup_made, on_error=self._on_task_failed)

    def _on_backup_made(self, backup: BackupFile) -> None:
        self.backup_button.setEnabled(True)
        text = self.tr("Đã sao lưu và kiểm tra toàn vẹn: {file}.").format(file=backup.file)
        self.status_label.setText(text)
        messages.notify(self, text)
        self.refresh()

    @Slot()
    def _on_restore_button_clicked(self) -> None:
        backup = self._selected()
        if backup is None or not self._actor.may("users"):
            return
        time, date = f"{backup.taken_at:%H:%M}", f"{backup.taken_at:%d/%m/%Y}"
        question = self.tr("Khôi phục bản sao lưu lúc {time} ngày {date}?").format(
            time=time, date=date)
        details = self.tr(
            "Dữ liệu hiện tại được sao lưu trước (loại \"Trước khi khôi phục\"). Công việc ghi "
            "sau {time} ngày {date} sẽ không còn trong cơ sở dữ liệu. Các máy khác phải đóng "
            "chương trình; cửa sổ này sẽ mở lại trên dữ liệu đã khôi phục.").format(
            time=time, date=date)
        if not messages.confirm(self, question, details):
            return
        self.restore_button.setEnabled(False)
        self.backup_button.setEnabled(False)
        self.status_label.setText(self.tr("Đang khôi phục…"))
        self._runner.start(
            partial(_restore, self._engine, self._url, backup.file, self._policy, self._actor),
            on_done=self._on_restored, on_error=self._on_task_failed)

    def _on_restored(self, result: RestoreResult) -> None:
        self.status_label.setText(self.tr("Đã khôi phục bản sao lưu lúc {time} ngày {date}.")
                                  .format(time=f"{result.restored.taken_at:%H:%M}",
                                          date=f"{result.restored.taken_at:%d/%m/%Y}"))
        self.restart_requested.emit("")

    def _on_list_failed(self, exc: BaseException) -> None:
        self.model.set_backups([])
        messages.show_error(self, exc)

    def _on_task_failed(self, exc: BaseException) -> None:
        self.backup_button.setEnabled(True)
        self.status_label.clear()
        messages.show_error(self, exc)
        # Nothing is assumed after a storage error: the list is read again from the disk.
        self.refresh()
