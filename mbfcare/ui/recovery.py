"""Before the window opens: the quick check of the SQLite file, recovery, the backup at start."""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QMessageBox, QWidget

from mbfcare.errors import MbfCareError
from mbfcare.services import backups, maintenance
from mbfcare.services.maintenance import RecoveryReport

logger = logging.getLogger(__name__)

Box = Callable[[str, str, str], None]
"""(kind `critical` | `warning` | `information`, title, text): shows one message box."""


def _tr(text: str) -> str:
    return QCoreApplication.translate("Recovery", text)


def message_box(kind: str, title: str, text: str, parent: QWidget | None = None) -> None:
    """A modal box of the kind given (the default `Box`)."""
    show = {"critical": QMessageBox.critical, "warning": QMessageBox.warning}.get(
        kind, QMessageBox.information)
    show(parent, title, text)


def recovery_text(report: RecoveryReport) -> str:
    """The sentence for the user, translated."""
    if report.restored is None:
        return _tr("Tệp cơ sở dữ liệu {file} bị hỏng và không có bản sao lưu nào dùng được để "
                   "khôi phục. Đừng xóa hay ghi đè tệp này; hãy gọi bộ phận hỗ trợ (IT) để cứu "
                   "dữ liệu.").format(file=report.database)
    taken = report.restored.taken_at
    return _tr("Tệp cơ sở dữ liệu bị hỏng nên đã được cất sang {damaged}; đã khôi phục bản sao "
               "lưu lúc {time} ngày {date}. Công việc ghi sau giờ đó cần nhập lại.").format(
        damaged=report.damaged, time=f"{taken:%H:%M}", date=f"{taken:%d/%m/%Y}")


def check_at_start(url: str, box: Box = message_box) -> bool:
    """Quick-check the SQLite file, put the newest sound backup back if it is damaged (and
    say so), then back it up if it changed since the last backup.

    Runs on the GUI thread before the window exists (like the migration): nothing else uses
    the file yet.

    Returns:
        False when the application cannot go on (a damaged file and no sound backup); the
        user was told where the file is.
    """
    try:
        report = maintenance.recover_if_damaged(url)
    except MbfCareError as exc:
        logger.error("recovery at start failed: %s", exc)
        box("critical", _tr("Không mở được cơ sở dữ liệu"), str(exc))
        return False
    if report is not None:
        logger.warning("recovery at start: %s", report.to_json())
        if report.restored is None:
            box("critical", _tr("Cơ sở dữ liệu bị hỏng"), recovery_text(report))
            return False
        box("warning", _tr("Đã khôi phục cơ sở dữ liệu"), recovery_text(report))
    try:
        backups.backup_if_changed(url)
    except MbfCareError as exc:
        # Working on is safer than not opening at all; the user knows the backup is missing.
        logger.warning("backup at start failed: %s", exc)
        box("warning", _tr("Chưa sao lưu được"),
            _tr("Chưa sao lưu được cơ sở dữ liệu khi mở chương trình: {reason}").format(
                reason=exc))
    return True
