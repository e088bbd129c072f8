"""The dialog for a bug: what happened, where the log is, and a copy button for IT."""

from __future__ import annotations

import logging
import sys
import traceback
from types import TracebackType

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from mbfcare import __version__, paths

logger = logging.getLogger(__name__)


class CrashDialog(QDialog):
    """Shows an unexpected error; nothing the user did is lost (work rolled back)."""

    def __init__(self, exc: BaseException, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("MBF Care gặp lỗi không mong đợi"))
        log_file = paths.log_dir() / "mbfcare.log"
        self.report = (
            f"MBF Care {__version__}\n"
            + "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        )
        layout = QVBoxLayout(self)
        intro = QLabel(self.tr(
            "Thao tác vừa rồi không hoàn thành và không có dữ liệu nào bị ghi dở. Hãy thử lại; "
            "nếu lỗi lặp lại, gửi nội dung dưới đây cho bộ phận IT."))
        intro.setWordWrap(True)
        layout.addWidget(intro)
        where = QLabel(self.tr("Nhật ký: {path}").format(path=log_file))
        where.setTextInteractionFlags(where.textInteractionFlags()
                                      | where.textInteractionFlags().TextSelectableByMouse)
        layout.addWidget(where)
        self.details = QPlainTextEdit(self.report)
        self.details.setReadOnly(True)
        layout.addWidget(self.details)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.copy_button = buttons.addButton(self.tr("Sao chép"),
                                             QDialogButtonBox.ButtonRole.ActionRole)
        self.copy_button.clicked.connect(self._on_copy_button_clicked)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(640, 420)

    def _on_copy_button_clicked(self) -> None:
        QApplication.clipboard().setText(self.report)


_open_dialogs: list[CrashDialog] = []


def show_crash(parent: QWidget | None, exc: BaseException) -> CrashDialog:
    """Open the crash dialog (non-modal, so a broken window can still be closed)."""
    from mbfcare.ui import messages

    dialog = CrashDialog(exc, parent)
    if messages._sink is not None:
        messages._sink("crash", str(exc), dialog.report)
        return dialog
    _open_dialogs.append(dialog)
    dialog.finished.connect(lambda _=0: _open_dialogs.remove(dialog))
    dialog.show()
    return dialog


def install_excepthook() -> None:
    """Route uncaught exceptions (in slots too) to the log and the crash dialog."""
    def hook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        logger.error("uncaught exception", exc_info=(kind, exc, tb))
        if QCoreApplication.instance() is None or isinstance(exc, KeyboardInterrupt):
            sys.__excepthook__(kind, exc, tb)
            return
        show_crash(None, exc)
    sys.excepthook = hook
