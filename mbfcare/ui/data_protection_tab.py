"""Settings tab "Bảo vệ dữ liệu cá nhân": the office's masking setting, and closing a programme
and erasing its personal data (Law 91/2025/QH15, Decree 356/2025/NĐ-CP). Administrators only;
the services refuse anyone else as well."""

from __future__ import annotations

from functools import partial
from typing import Any

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.domain.actors import Actor
from mbfcare.domain.masking import MASK_SETTING
from mbfcare.services import data_protection as dp
from mbfcare.ui import messages
from mbfcare.ui.tasks import TaskProgress, TaskRunner


class DataProtectionWidget(QWidget):
    """The masking checkbox and the programme's close and purge buttons.

    Signals:
        masking_changed(bool): the office's masking setting was saved.
        programme_closed(int): the programme was closed.
        programme_purged(object): a purge finished (a `PurgeResult`).
    """

    masking_changed = Signal(bool)
    programme_closed = Signal(int)
    programme_purged = Signal(object)

    def __init__(self, factory: sessionmaker[Session], runner: TaskRunner, actor: Actor,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._factory, self._runner, self._actor = factory, runner, actor
        self._programme_id: int | None = None
        self._preview: dp.PurgePreview | None = None
        self._filling = False

        privacy = QGroupBox(self.tr("Bảo vệ dữ liệu cá nhân"), self)
        self.mask_check = QCheckBox(self.tr(
            "Che số CCCD/CMND và số liên hệ trong danh sách, báo cáo và nhật ký"), privacy)
        self.mask_check.setObjectName("mask_check")
        note = QLabel(self.tr(
            "Theo Luật Bảo vệ dữ liệu cá nhân (91/2025/QH15) và Nghị định 356/2025/NĐ-CP: số "
            "chỉ hiện đầy đủ ở nơi cần cho công việc (tra cứu tại quầy, biên bản khách ký, tệp "
            "cập nhật iCRM). Tệp log của phần mềm luôn che số. Cài đặt áp dụng cho mọi máy "
            "dùng chung cơ sở dữ liệu; mỗi lần đổi được ghi vào nhật ký thao tác."), privacy)
        note.setWordWrap(True)
        box = QVBoxLayout(privacy)
        box.addWidget(self.mask_check)
        box.addWidget(note)

        ending = QGroupBox(self.tr("Kết thúc chương trình"), self)
        self.status_label = QLabel(ending)
        self.status_label.setObjectName("status_label")
        self.status_label.setWordWrap(True)
        self.close_button = QPushButton(self.tr("Đóng chương trình…"), ending)
        self.purge_button = QPushButton(self.tr("Xóa dữ liệu cá nhân…"), ending)
        explain = QLabel(self.tr(
            "Khi chương trình đã xong, đóng chương trình rồi xóa dữ liệu cá nhân: họ tên, số "
            "giấy tờ, ngày sinh, địa chỉ, số liên hệ, câu trả lời tự do và ghi chú. Các số liệu "
            "(hồ sơ, bước, nhóm, quận/huyện, mức cước, quà) được giữ nên báo cáo không đổi."),
            ending)
        explain.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.close_button)
        buttons.addWidget(self.purge_button)
        buttons.addStretch(1)
        box = QVBoxLayout(ending)
        box.addWidget(explain)
        box.addWidget(self.status_label)
        box.addLayout(buttons)

        self.refused_label = QLabel(self.tr(
            "Chỉ quản trị (Phòng CSKH) thay đổi được các cài đặt này."), self)
        self.refused_label.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.refused_label)
        layout.addWidget(privacy)
        layout.addWidget(ending)
        layout.addStretch(1)

        self.mask_check.toggled.connect(self._on_mask_check_toggled)
        self.close_button.clicked.connect(self._on_close_button_clicked)
        self.purge_button.clicked.connect(self._on_purge_button_clicked)
        self._apply_role()

    # --- public API -------------------------------------------------------------------------

    def set_actor(self, actor: Actor) -> None:
        """Who changes the settings (administrators only)."""
        self._actor = actor
        self._apply_role()
        self.refresh()

    def set_programme(self, programme_id: int | None) -> None:
        """The programme the close and purge buttons act on."""
        self._programme_id = programme_id
        self.refresh()

    def refresh(self) -> None:
        """Read the setting and the programme's state on the worker."""
        factory, actor, pid = self._factory, self._actor, self._programme_id
        admin = actor.may("users")

        def work(_progress: TaskProgress) -> tuple[bool, dp.PurgePreview | None]:
            preview = dp.purge_preview(factory, actor, pid) if admin and pid is not None \
                else None
            return dp.masking_on(factory), preview

        self._runner.start(work, on_done=self._on_read,
                           on_error=partial(messages.show_error, self))

    def status_text(self) -> str:
        """The programme's state as shown (tests)."""
        return self.status_label.text()

    # --- helpers ----------------------------------------------------------------------------

    def _apply_role(self) -> None:
        admin = self._actor.may("users")
        self.refused_label.setVisible(not admin)
        self.mask_check.setEnabled(admin)
        self._set_buttons()

    def _set_buttons(self) -> None:
        admin = self._actor.may("users")
        preview = self._preview
        self.close_button.setEnabled(admin and preview is not None and not preview.closed)
        self.purge_button.setEnabled(admin and preview is not None and preview.closed
                                     and preview.purged_at is None)

    def _show_state(self) -> None:
        preview = self._preview
        if preview is None:
            self.status_label.setText(self.tr("Chưa chọn chương trình.")
                                      if self._programme_id is None else "")
        elif preview.purged_at is not None:
            when = preview.purged_at.astimezone().strftime("%d/%m/%Y %H:%M")
            self.status_label.setText(self.tr(
                "Chương trình {id} đã đóng; dữ liệu cá nhân đã xóa lúc {when}.").format(
                id=preview.programme_id, when=when))
        elif preview.closed:
            self.status_label.setText(self.tr(
                "Chương trình {id} đã đóng; dữ liệu cá nhân còn lưu.").format(
                id=preview.programme_id))
        else:
            self.status_label.setText(self.tr("Chương trình {id} đang mở.").format(
                id=preview.programme_id))
        self._set_buttons()

    # --- slots ------------------------------------------------------------------------------

    def _on_read(self, read: tuple[bool, dp.PurgePreview | None]) -> None:
        if not isValid(self):
            return
        masked, preview = read
        self._filling = True
        self.mask_check.setChecked(masked)
        self._filling = False
        self._preview = preview
        self._show_state()

    @Slot(bool)
    def _on_mask_check_toggled(self, checked: bool) -> None:
        if self._filling:
            return
        factory, actor = self._factory, self._actor

        def work(_progress: TaskProgress) -> Any:
            return dp.set_office_setting(factory, actor, MASK_SETTING, checked)

        self._runner.start(work, on_done=self._on_mask_saved, on_error=self._on_mask_failed)

    def _on_mask_saved(self, value: Any) -> None:
        if not isValid(self):
            return
        messages.notify(self, self.tr("Đã bật che số.") if value else self.tr("Đã tắt che số."))
        self.masking_changed.emit(bool(value))

    def _on_mask_failed(self, exc: BaseException) -> None:
        messages.show_error(self, exc)
        self.refresh()  # show what is really stored

    @Slot()
    def _on_close_button_clicked(self) -> None:
        pid = self._programme_id
        if pid is None or not messages.confirm(self, self.tr(
                "Đóng chương trình {id}? Sau khi đóng, chương trình không còn nhận thêm kết quả "
                "chăm sóc; có thể xóa dữ liệu cá nhân.").format(id=pid)):
            return
        factory, actor = self._factory, self._actor
        self._runner.start(lambda _p: dp.close_programme(factory, actor, pid),
                           on_done=self._on_closed, on_error=partial(messages.show_error, self))

    def _on_closed(self, result: dp.ProgrammeStatusResult) -> None:
        if not isValid(self):
            return
        messages.notify(self, result.text)
        self.programme_closed.emit(result.programme_id)
        self.refresh()

    @Slot()
    def _on_purge_button_clicked(self) -> None:
        preview = self._preview
        if preview is None or not messages.confirm(self, preview.text):
            return
        factory, actor, pid = self._factory, self._actor, preview.programme_id
        self.purge_button.setEnabled(False)
        self._runner.start(lambda _p: dp.purge_personal_data(factory, actor, pid),
                           on_done=self._on_purged, on_error=self._on_purge_failed)

    def _on_purged(self, result: dp.PurgeResult) -> None:
        if not isValid(self):
            return
        messages.notify(self, result.text)
        self.programme_purged.emit(result)
        self.refresh()

    def _on_purge_failed(self, exc: BaseException) -> None:
        messages.show_error(self, exc)
        self.refresh()
