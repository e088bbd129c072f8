"""The single route for messages to the user: status-bar notes, error boxes, confirmations.

Tests install a recording sink (`set_sink`) so that no modal box ever opens in a test; the
sink receives ("notify" | "error" | "confirm", text, details) and, for confirmations, returns
the answer.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QMainWindow, QMessageBox, QWidget

from mbfcare.errors import (
    Cancelled,
    ImportFileError,
    MbfCareError,
    RuleError,
    StorageError,
    UsageError,
)

logger = logging.getLogger(__name__)

Sink = Callable[[str, str, str], bool]
_sink: Sink | None = None


def set_sink(sink: Sink | None) -> None:
    """Send every message to `sink` instead of the screen (tests), or back (None)."""
    global _sink  # one process-wide route, like Qt's own message handler
    _sink = sink


def _tr(text: str) -> str:
    return QCoreApplication.translate("Messages", text)


def notify(parent: QWidget | None, text: str, timeout_ms: int = 8000) -> None:
    """A one-sentence success note in the status bar of the window holding `parent`."""
    if _sink is not None:
        _sink("notify", text, "")
        return
    window = parent.window() if parent is not None else None
    if isinstance(window, QMainWindow):
        window.statusBar().showMessage(text, timeout_ms)


def title_for(exc: BaseException) -> str:
    """The box title for an error, by whose fault it is."""
    if isinstance(exc, ImportFileError):
        return _tr("Không nhập được tệp")
    if isinstance(exc, StorageError):
        return _tr("Cơ sở dữ liệu không dùng được")
    if isinstance(exc, RuleError):
        return _tr("Không thực hiện được")
    if isinstance(exc, UsageError):
        return _tr("Thông tin chưa đúng")
    return _tr("Lỗi")


def show_error(parent: QWidget | None, exc: BaseException) -> None:
    """One plain sentence for an expected error (details on demand); cancellations are quiet.

    Anything that is not an `MbfCareError` is a bug: it is logged with its traceback and the
    crash dialog shows it.
    """
    if isinstance(exc, Cancelled):
        notify(parent, str(exc))
        return
    if not isinstance(exc, MbfCareError):
        logger.error("unexpected error", exc_info=(type(exc), exc, exc.__traceback__))
        from mbfcare.ui.crash_dialog import show_crash

        show_crash(parent, exc)
        return
    details = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    cause = exc.__cause__
    if cause is not None:
        details += "\n" + "".join(traceback.format_exception_only(type(cause), cause)).strip()
    if _sink is not None:
        _sink("error", str(exc), details)
        return
    box = QMessageBox(QMessageBox.Icon.Warning, title_for(exc), str(exc),
                      QMessageBox.StandardButton.Ok, parent)
    box.setDetailedText(details)
    box.exec()


def confirm(parent: QWidget | None, text: str, details: str = "") -> bool:
    """Ask before something that changes much; the question names what will change."""
    if _sink is not None:
        return _sink("confirm", text, details)
    box = QMessageBox(QMessageBox.Icon.Question, _tr("Xác nhận"), text,
                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                      parent)
    if details:
        box.setInformativeText(details)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    return box.exec() == QMessageBox.StandardButton.Yes
