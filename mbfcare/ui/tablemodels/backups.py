"""The backups of the database as a table: date and time, why it was made, size, file name."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QCoreApplication,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtGui import QFont

from mbfcare.backup_files import BackupFile
from mbfcare.domain.values import format_number

_CONTEXT = "BackupTableModel"
_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter

_ROOT = QModelIndex()  # Qt's own default: the invisible root

BackupRole = Qt.ItemDataRole.UserRole + 1
"""The row's `BackupFile`."""


def QT_TRANSLATE_NOOP(context: str, text: str) -> str:
    """Mark `text` for lupdate (which knows this name) and return it untranslated."""
    return text


KIND_TEXT = {
    "": QT_TRANSLATE_NOOP("BackupTableModel", "Tự động"),
    "thu-cong": QT_TRANSLATE_NOOP("BackupTableModel", "Sao lưu ngay"),
    "truoc-nang-cap": QT_TRANSLATE_NOOP("BackupTableModel", "Trước khi nâng cấp"),
    "truoc-nhap": QT_TRANSLATE_NOOP("BackupTableModel", "Trước khi nhập dữ liệu"),
    "truoc-khoi-phuc": QT_TRANSLATE_NOOP("BackupTableModel", "Trước khi khôi phục"),
}
HEADERS = (
    QT_TRANSLATE_NOOP("BackupTableModel", "Ngày giờ"),
    QT_TRANSLATE_NOOP("BackupTableModel", "Loại"),
    QT_TRANSLATE_NOOP("BackupTableModel", "Dung lượng"),
    QT_TRANSLATE_NOOP("BackupTableModel", "Tệp"),
)


def _tr(text: str) -> str:
    return QCoreApplication.translate(_CONTEXT, text)


def kind_text(kind: str) -> str:
    """Why a backup was made, translated."""
    return _tr(KIND_TEXT[kind]) if kind in KIND_TEXT else kind


def size_text(size: int) -> str:
    """`812 KB`, `12,3 MB` (the Vietnamese decimal comma)."""
    if size < 1024 * 1024:
        return f"{format_number(max(size // 1024, 1))} KB"
    return f"{size / 1024 / 1024:.1f} MB".replace(".", ",")


class BackupTableModel(QAbstractTableModel):
    """Backups newest first (as `list_database_backups` gives them); the newest in bold."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[BackupFile] = []

    def set_backups(self, backups: Sequence[BackupFile]) -> None:
        """Show these backups (newest first)."""
        self.beginResetModel()
        self._rows = list(backups)
        self.endResetModel()

    def backup(self, row: int) -> BackupFile | None:
        """The backup of a row, if any."""
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole \
                and 0 <= section < len(HEADERS):
            return _tr(HEADERS[section])
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        backup = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return backup.taken_at.strftime("%d/%m/%Y %H:%M:%S")
            if column == 1:
                return kind_text(backup.kind)
            if column == 2:
                return size_text(backup.size)
            if column == 3:
                return backup.file.name
            return None
        if role == Qt.ItemDataRole.ToolTipRole and column == 3:
            return str(backup.file)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _RIGHT if column == 2 else _LEFT
        if role == Qt.ItemDataRole.FontRole and index.row() == 0:
            font = QFont()
            font.setBold(True)
            return font
        if role == BackupRole:
            return backup
        return None
