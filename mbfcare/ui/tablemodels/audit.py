"""The audit log as a table model that pages in from the database as the view scrolls.

The model holds `AuditRow` DTOs; `fetchMore` asks the worker for the next page (keyset paging
by id, `services.audit_review.entries_page`) and appends it when it arrives, so a log of any
length opens at once and the GUI thread never reads the database.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QCoreApplication,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.domain.actors import Actor
from mbfcare.services import audit_review
from mbfcare.services.audit_review import AuditFilter, AuditRow
from mbfcare.ui.tasks import TaskProgress, TaskRunner

_CONTEXT = "AuditTableModel"
_LOCAL = dt.timezone(dt.timedelta(hours=7), "ICT")


def QT_TRANSLATE_NOOP(context: str, text: str) -> str:
    """Mark `text` for lupdate (which knows this name) and return it untranslated."""
    return text


COLUMNS = (
    ("id", QT_TRANSLATE_NOOP("AuditTableModel", "Dòng")),
    ("at", QT_TRANSLATE_NOOP("AuditTableModel", "Thời điểm")),
    ("user", QT_TRANSLATE_NOOP("AuditTableModel", "Người thực hiện")),
    ("action", QT_TRANSLATE_NOOP("AuditTableModel", "Thao tác")),
    ("summary", QT_TRANSLATE_NOOP("AuditTableModel", "Nội dung")),
    ("programme", QT_TRANSLATE_NOOP("AuditTableModel", "Chương trình")),
)

# What each action is called on screen; an action not listed shows its key.
ACTION_TEXT = {
    "export": QT_TRANSLATE_NOOP("AuditTableModel", "Xuất tệp"),
    "print": QT_TRANSLATE_NOOP("AuditTableModel", "In giấy tờ"),
    "office_setting": QT_TRANSLATE_NOOP("AuditTableModel", "Cài đặt chung"),
    "close_programme": QT_TRANSLATE_NOOP("AuditTableModel", "Đóng chương trình"),
    "purge_personal_data": QT_TRANSLATE_NOOP("AuditTableModel", "Xóa dữ liệu cá nhân"),
    "record_step": QT_TRANSLATE_NOOP("AuditTableModel", "Ghi bước"),
    "record_handover": QT_TRANSLATE_NOOP("AuditTableModel", "Trao quà"),
    "record_owed": QT_TRANSLATE_NOOP("AuditTableModel", "Ghi nợ quà"),
    "give_owed": QT_TRANSLATE_NOOP("AuditTableModel", "Trao quà nợ"),
    "record_outcome": QT_TRANSLATE_NOOP("AuditTableModel", "Ghi kết quả"),
    "record_profile": QT_TRANSLATE_NOOP("AuditTableModel", "Thu thập thông tin"),
    "correct_profile": QT_TRANSLATE_NOOP("AuditTableModel", "Sửa thông tin"),
    "sign_in": QT_TRANSLATE_NOOP("AuditTableModel", "Đăng nhập"),
    "sign_in_failed": QT_TRANSLATE_NOOP("AuditTableModel", "Đăng nhập sai"),
    "sign_in_refused": QT_TRANSLATE_NOOP("AuditTableModel", "Đăng nhập bị từ chối"),
}


def action_text(action: str) -> str:
    """The action's words on screen (translated), or its key when it has none."""
    words = ACTION_TEXT.get(action)
    return QCoreApplication.translate(_CONTEXT, words) if words else action


_ROOT = QModelIndex()  # the invalid index: the table's root

RowRole = Qt.ItemDataRole.UserRole + 1
"""The row's `AuditRow`."""


class AuditTableModel(QAbstractTableModel):
    """The entries matching a filter, newest first, a page at a time.

    Signals:
        page_loaded(int): a page arrived; the argument is the number of rows now held.
        failed(object): reading the log failed (the exception).
    """

    page_loaded = Signal(int)
    failed = Signal(object)

    def __init__(self, factory: sessionmaker[Session], runner: TaskRunner, actor: Actor,
                 parent: QObject | None = None, *, page: int = audit_review.PAGE) -> None:
        super().__init__(parent)
        self._factory, self._runner, self._actor = factory, runner, actor
        self._page = page
        self._rows: list[AuditRow] = []
        self._filter = AuditFilter()
        self._more = False
        self._loading = False
        self._generation = 0

    # --- public API -------------------------------------------------------------------------

    def set_actor(self, actor: Actor) -> None:
        """Who reads the log (an administrator)."""
        self._actor = actor

    def set_filter(self, filt: AuditFilter) -> None:
        """Show the entries matching `filt`: drop what is held and load the first page."""
        self._generation += 1
        self.beginResetModel()
        self._rows = []
        self._filter = filt
        self._more = False
        self._loading = False
        self.endResetModel()
        self._load(None)

    def current_filter(self) -> AuditFilter:
        """The filter shown."""
        return self._filter

    def entry(self, row: int) -> AuditRow | None:
        """The entry of a row, or None out of range."""
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def loading(self) -> bool:
        """Whether a page is being read."""
        return self._loading

    # --- helpers ----------------------------------------------------------------------------

    def _load(self, before_id: int | None) -> None:
        self._loading = True
        generation = self._generation
        factory, actor, filt, page = self._factory, self._actor, self._filter, self._page

        def work(_progress: TaskProgress) -> list[AuditRow]:
            return audit_review.entries_page(factory, actor, filt, before_id=before_id,
                                             limit=page)

        self._runner.start(work, on_done=lambda rows: self._on_page(generation, rows),
                           on_error=lambda exc: self._on_failed(generation, exc))

    def _on_page(self, generation: int, rows: list[AuditRow]) -> None:
        if generation != self._generation:  # a newer filter replaced this one
            return
        self._more = len(rows) == self._page
        if rows:
            # Still "loading" while the rows go in: a view (or tester) asking for more from
            # inside the insertion would otherwise page from the old last row again.
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(rows) - 1)
            self._rows.extend(rows)
            self.endInsertRows()
        self._loading = False
        self.page_loaded.emit(len(self._rows))

    def _on_failed(self, generation: int, exc: BaseException) -> None:
        if generation != self._generation:
            return
        self._loading = False
        self._more = False
        self.failed.emit(exc)

    def _text(self, entry: AuditRow, key: str) -> str:
        if key == "id":
            return str(entry.id)
        if key == "at":
            return entry.at.astimezone(_LOCAL).strftime("%d/%m/%Y %H:%M:%S")
        if key == "programme":
            return "" if entry.programme_id is None else str(entry.programme_id)
        if key == "action":
            return action_text(entry.action)
        return str(getattr(entry, key))

    # --- Qt overrides -----------------------------------------------------------------------

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        entry = self._rows[index.row()]
        key = COLUMNS[index.column()][0]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return self._text(entry, key)
        if role == Qt.ItemDataRole.TextAlignmentRole and key in ("id", "programme"):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == RowRole:
            return entry
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if (orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole
                and 0 <= section < len(COLUMNS)):
            return QCoreApplication.translate(_CONTEXT, COLUMNS[section][1])
        return None

    def canFetchMore(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> bool:
        return not parent.isValid() and self._more and not self._loading

    def fetchMore(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> None:
        if parent.isValid() or not self._more or self._loading or not self._rows:
            return
        self._load(self._rows[-1].id)
