"""The care list as a table model: ordered ids from SQL, rows loaded in pages on demand."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
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
from shiboken6 import isValid
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.domain.actors import Actor
from mbfcare.domain.steps import STEPS
from mbfcare.domain.values import format_date, format_msisdn, format_number
from mbfcare.services import queries
from mbfcare.services.accounts import local_actor
from mbfcare.services.queries import CareListFilter, CareRowDTO
from mbfcare.ui.tasks import TaskRunner

logger = logging.getLogger(__name__)

PAGE_SIZE = 200
_MAX_PAGES = 50  # ~10,000 rows kept; a long scroll drops the oldest pages
_CONTEXT = "CareListTableModel"

CaseIdRole = Qt.ItemDataRole.UserRole + 1


def QT_TRANSLATE_NOOP(context: str, text: str) -> str:
    """Mark `text` for lupdate (which knows this name) and return it untranslated; typed,
    unlike PySide6's own, which returns `object`."""
    return text


_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_CENTER = Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignVCenter

STATE_TEXT = {
    "listed": QT_TRANSLATE_NOOP("CareListTableModel", "Trong danh sách"),
    "waiting": QT_TRANSLATE_NOOP("CareListTableModel", "Danh sách chờ"),
    "awaiting_group": QT_TRANSLATE_NOOP("CareListTableModel", "Chờ quyết định nhóm"),
    "left_out": QT_TRANSLATE_NOOP("CareListTableModel", "Không chăm sóc (đã quyết định)"),
}
STATE_TIP = {
    "listed": QT_TRANSLATE_NOOP(
        "CareListTableModel", "Trong danh sách chăm sóc của nhóm, sẽ được trao quà."
    ),
    "waiting": QT_TRANSLATE_NOOP(
        "CareListTableModel",
        "Đủ điều kiện nhưng quà của đợt đã hết theo kế hoạch: chờ theo thứ tự.",
    ),
    "awaiting_group": QT_TRANSLATE_NOOP(
        "CareListTableModel", "Mức cước căn cứ nằm giữa các nhóm: cán bộ cần quyết định nhóm."
    ),
    "left_out": QT_TRANSLATE_NOOP("CareListTableModel", "Cán bộ đã quyết định không chăm sóc."),
}
STEP_SHORT_TEXT = {
    "sms": QT_TRANSLATE_NOOP("CareListTableModel", "SMS"),
    "data_check": QT_TRANSLATE_NOOP("CareListTableModel", "DL"),
    "handover": QT_TRANSLATE_NOOP("CareListTableModel", "Quà"),
    "package_advice": QT_TRANSLATE_NOOP("CareListTableModel", "Gói"),
    "questions": QT_TRANSLATE_NOOP("CareListTableModel", "Hỏi"),
    "survey": QT_TRANSLATE_NOOP("CareListTableModel", "KS"),
}
STEP_TEXT = {
    "sms": QT_TRANSLATE_NOOP("CareListTableModel", "Gửi SMS"),
    "data_check": QT_TRANSLATE_NOOP("CareListTableModel", "Kiểm tra dữ liệu"),
    "handover": QT_TRANSLATE_NOOP("CareListTableModel", "Trao quà"),
    "package_advice": QT_TRANSLATE_NOOP("CareListTableModel", "Tư vấn gói cước"),
    "questions": QT_TRANSLATE_NOOP("CareListTableModel", "Giải đáp thắc mắc"),
    "survey": QT_TRANSLATE_NOOP("CareListTableModel", "Khảo sát"),
}
OUTCOME_TEXT = {
    "unreachable": QT_TRANSLATE_NOOP("CareListTableModel", "Không liên lạc được"),
    "refused": QT_TRANSLATE_NOOP("CareListTableModel", "Từ chối"),
    "moved": QT_TRANSLATE_NOOP("CareListTableModel", "Chuyển đi"),
    "other": QT_TRANSLATE_NOOP("CareListTableModel", "Khác"),
}
DELIVERY_TEXT = {
    "visit": QT_TRANSLATE_NOOP("CareListTableModel", "MBF đến tặng"),
    "store": QT_TRANSLATE_NOOP("CareListTableModel", "KH đến cửa hàng nhận"),
}


def tr(text: str) -> str:
    """The translation of a source text of this module (thread-safe, as Qt's translate is)."""
    return QCoreApplication.translate(_CONTEXT, text)


def state_text(state: str) -> str:
    """A state in words."""
    return tr(STATE_TEXT[state]) if state in STATE_TEXT else state


def delivery_text(delivery: str | None) -> str:
    """How the gift is delivered, in words."""
    return tr(DELIVERY_TEXT[delivery]) if delivery in DELIVERY_TEXT else ""


def step_text(step: str) -> str:
    """A step's name in words."""
    return tr(STEP_TEXT[step]) if step in STEP_TEXT else step


def outcome_text(outcome: str | None) -> str:
    """An outcome in words ("" for none)."""
    return tr(OUTCOME_TEXT[outcome]) if outcome in OUTCOME_TEXT else (outcome or "")


def _tick(value: object) -> str:
    if value == "owed":
        return tr(QT_TRANSLATE_NOOP("CareListTableModel", "nợ"))
    return "✓" if value else ""


def _step_value(i: int) -> Callable[[CareRowDTO], object]:
    def value(row: CareRowDTO) -> object:
        if STEPS[i] == "handover" and row.steps[i] is None and row.gift_owed:
            return "owed"
        return row.steps[i]
    return value


def _plain(value: object) -> str:
    return "" if value is None else str(value)


def _number(value: object) -> str:
    return format_number(value) if isinstance(value, int) else _plain(value)


def _msisdn(value: object) -> str:
    return format_msisdn(value) if isinstance(value, str) else _plain(value)


@dataclass(frozen=True)
class Column:
    """One column, shared by the header, the display, the Excel export and the tests.

    `value` gives the raw cell (what the export writes: numbers stay numbers); `display`
    turns it into screen text; `sort_key` is the `queries.SORT_KEYS` key, None when the
    column cannot be sorted.
    """

    key: str
    title: str  # source text; translated by `header()`
    value: Callable[[CareRowDTO], object]
    align: Qt.AlignmentFlag
    display: Callable[[object], str] = _plain
    sort_key: str | None = None

    def header(self) -> str:
        """The translated title."""
        return tr(self.title)


COLUMNS: tuple[Column, ...] = (
    Column(
        "batch",
        QT_TRANSLATE_NOOP("CareListTableModel", "Đợt"),
        lambda r: r.batch,
        _CENTER,
        sort_key="batch",
    ),
    Column(
        "msisdn",
        QT_TRANSLATE_NOOP("CareListTableModel", "Số thuê bao"),
        lambda r: r.msisdn,
        _LEFT,
        _msisdn,
        "msisdn",
    ),
    Column(
        "name",
        QT_TRANSLATE_NOOP("CareListTableModel", "Họ tên"),
        lambda r: r.name,
        _LEFT,
        sort_key="name",
    ),
    Column(
        "group",
        QT_TRANSLATE_NOOP("CareListTableModel", "Nhóm"),
        lambda r: r.group,
        _CENTER,
        sort_key="group",
    ),
    Column(
        "delivery",
        QT_TRANSLATE_NOOP("CareListTableModel", "Hình thức"),
        lambda r: delivery_text(r.delivery),
        _LEFT,
    ),
    Column(
        "district",
        QT_TRANSLATE_NOOP("CareListTableModel", "Quận/Huyện"),
        lambda r: r.district,
        _LEFT,
        sort_key="district",
    ),
    Column(
        "store",
        QT_TRANSLATE_NOOP("CareListTableModel", "Cửa hàng"),
        lambda r: r.store,
        _LEFT,
        sort_key="store",
    ),
    Column(
        "charge_1",
        QT_TRANSLATE_NOOP("CareListTableModel", "Cước n-3"),
        lambda r: r.charge_1,
        _RIGHT,
        _number,
    ),
    Column(
        "charge_2",
        QT_TRANSLATE_NOOP("CareListTableModel", "Cước n-4"),
        lambda r: r.charge_2,
        _RIGHT,
        _number,
    ),
    Column(
        "charge_3",
        QT_TRANSLATE_NOOP("CareListTableModel", "Cước n-5"),
        lambda r: r.charge_3,
        _RIGHT,
        _number,
    ),
    Column(
        "basis",
        QT_TRANSLATE_NOOP("CareListTableModel", "Mức cước căn cứ"),
        lambda r: r.basis,
        _RIGHT,
        _number,
        "basis",
    ),
    Column(
        "tenure",
        QT_TRANSLATE_NOOP("CareListTableModel", "Năm sử dụng"),
        lambda r: r.tenure_years,
        _RIGHT,
        sort_key="tenure",
    ),
    Column(
        "state",
        QT_TRANSLATE_NOOP("CareListTableModel", "Trạng thái"),
        lambda r: state_text(r.state),
        _LEFT,
        sort_key="state",
    ),
    *(Column(step, STEP_SHORT_TEXT[step], _step_value(i), _CENTER, _tick, step)
      for i, step in enumerate(STEPS)),
    Column(
        "outcome",
        QT_TRANSLATE_NOOP("CareListTableModel", "Kết quả"),
        lambda r: outcome_text(r.outcome),
        _LEFT,
        sort_key="outcome",
    ),
    Column(
        "waiting_rank",
        QT_TRANSLATE_NOOP("CareListTableModel", "Thứ tự chờ"),
        lambda r: r.waiting_rank,
        _RIGHT,
    ),
    Column(
        "responsible",
        QT_TRANSLATE_NOOP("CareListTableModel", "Người phụ trách"),
        lambda r: r.responsible,
        _LEFT,
    ),
)


def export_columns() -> list[tuple[str, Callable[[CareRowDTO], object]]]:
    """(translated title, value) per column, for `exporting.export_ids` (call on the GUI
    thread; the value functions themselves are pure and run on the worker)."""
    owed = tr(QT_TRANSLATE_NOOP("CareListTableModel", "nợ quà"))

    def exported(column: Column) -> Callable[[CareRowDTO], object]:
        if column.key not in STEPS:
            return column.value
        return lambda row: owed if (v := column.value(row)) == "owed" else v

    return [(c.header(), exported(c)) for c in COLUMNS]


class CareListTableModel(QAbstractTableModel):
    """The care list of one filter and sort: it holds the ordered ids only.

    Rows are read as `CareRowDTO` pages of `PAGE_SIZE` when the view first asks for them,
    on the GUI thread (a page query takes about a millisecond on SQLite). The id query runs
    through the `TaskRunner` (or at once when no runner is given, e.g. in tests).

    Signals:
        ids_loaded(int): a new list of ids is shown; its length.
        load_failed(object): the id query raised this exception.
    """

    ids_loaded = Signal(int)
    load_failed = Signal(object)

    def __init__(
        self,
        factory: sessionmaker[Session],
        runner: TaskRunner | None = None,
        parent: QObject | None = None,
        *,
        actor: Actor | None = None,
    ) -> None:
        super().__init__(parent)
        self._factory = factory
        self._runner = runner
        # Who looks: the ids and rows are limited to his district or store in the queries.
        self.actor = actor or local_actor()
        self._ids: list[int] = []
        self._row_of: dict[int, int] | None = None
        self._pages: dict[int, dict[int, CareRowDTO]] = {}
        self._filter: CareListFilter | None = None
        self._sort_key = "name"
        self._descending = False
        self._generation = 0
        self._pending = False  # an id query of the current generation is still running

    # --- public ---------------------------------------------------------------------------

    @property
    def filter(self) -> CareListFilter | None:
        """The filter shown (None: nothing chosen yet, the list is empty)."""
        return self._filter

    @property
    def sort_key(self) -> str:
        """The `queries.SORT_KEYS` key the list is sorted by."""
        return self._sort_key

    @property
    def descending(self) -> bool:
        """Whether the sort is descending."""
        return self._descending

    def ids(self) -> list[int]:
        """The ids shown, in order (a copy)."""
        return list(self._ids)

    def case_id(self, row: int) -> int | None:
        """The care-case id on `row`."""
        return self._ids[row] if 0 <= row < len(self._ids) else None

    def row_of(self, case_id: int) -> int | None:
        """The row showing `case_id`, or None."""
        if self._row_of is None:
            self._row_of = {cid: i for i, cid in enumerate(self._ids)}
        return self._row_of.get(case_id)

    def row_dto(self, row: int) -> CareRowDTO | None:
        """The DTO on `row`, loading its page if needed."""
        case_id = self.case_id(row)
        if case_id is None:
            return None
        page = row // PAGE_SIZE
        rows = self._pages.get(page)
        if rows is None:
            if len(self._pages) >= _MAX_PAGES:
                self._pages.pop(next(iter(self._pages)))
            chunk = self._ids[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
            rows = self._pages[page] = {r.id: r for r in queries.care_rows(self._factory, chunk,
                                                                     actor=self.actor)}
        return rows.get(case_id)

    def set_filter(self, flt: CareListFilter | None) -> None:
        """Show the entries matching `flt` (in the current order); None empties the list."""
        self._filter = flt
        self.reload()

    def set_sort(self, sort_key: str, descending: bool = False) -> None:
        """Order by `sort_key` (one of `queries.SORT_KEYS`), in the database."""
        if self._pending and (sort_key, descending) == (self._sort_key, self._descending):
            # QTableView.sortByColumn asks twice (header signal, then directly): one query.
            return
        self._sort_key, self._descending = sort_key, descending
        self.reload()

    def reload(self) -> None:
        """Ask the database again for the ids (e.g. after the data changed)."""
        self._generation += 1
        generation = self._generation
        flt = self._filter
        if flt is None:
            self.set_ids([])
            return
        work = partial(queries.care_list_ids, self._factory, flt, self._sort_key, self._descending,
                       actor=self.actor)
        if self._runner is None:
            try:
                ids = work()
            except Exception as exc:
                self.load_failed.emit(exc)
                return
            self._on_ids(generation, ids)
            return
        self._pending = True
        self._runner.start(
            lambda _progress: work(),
            on_done=partial(self._on_ids, generation),
            on_error=partial(self._on_failed, generation),
        )

    def set_ids(self, ids: Sequence[int]) -> None:
        """Show exactly these ids (drops the row cache)."""
        self.beginResetModel()
        self._ids = list(ids)
        self._row_of = None
        self._pages.clear()
        self.endResetModel()
        self.ids_loaded.emit(len(self._ids))

    def refresh_rows(self) -> None:
        """Read the shown rows again (a step was recorded), keeping ids, order and selection."""
        self._pages.clear()
        if self._ids:
            self.dataChanged.emit(self.index(0, 0),
                                  self.index(len(self._ids) - 1, len(COLUMNS) - 1))

    def column_of(self, key: str) -> int:
        """The column index of a column key."""
        return next(i for i, c in enumerate(COLUMNS) if c.key == key)

    # --- callbacks --------------------------------------------------------------------------

    def _on_ids(self, generation: int, ids: list[int]) -> None:
        if not isValid(self):
            return  # deleted (its view closed) while the worker was busy
        if generation == self._generation:  # a later request supersedes this one
            self._pending = False
            self.set_ids(ids)

    def _on_failed(self, generation: int, exc: BaseException) -> None:
        if not isValid(self):
            return
        if generation == self._generation:
            self._pending = False
            self.load_failed.emit(exc)

    # --- Qt overrides -----------------------------------------------------------------------

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._ids)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if not index.isValid():
            return None
        column = COLUMNS[index.column()]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return column.align
        if role == CaseIdRole:
            return self.case_id(index.row())
        if role not in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return None
        row = self.row_dto(index.row())
        if row is None:
            return None
        if role == Qt.ItemDataRole.ToolTipRole:
            if column.key in STEPS:
                value = column.value(row)
                if value == "owed":
                    return tr(QT_TRANSLATE_NOOP("CareListTableModel", "Trao quà: đang nợ quà"))
                if isinstance(value, dt.date):
                    return f"{step_text(column.key)}: {format_date(value)}"
                return tr(QT_TRANSLATE_NOOP("CareListTableModel", "{step}: chưa làm")).format(
                    step=step_text(column.key))
            if column.key != "state":
                return None
            tip = tr(STATE_TIP.get(row.state, row.state))
            if row.state == "waiting" and row.waiting_rank is not None:
                tip += " " + tr(QT_TRANSLATE_NOOP(
                    "CareListTableModel", "Thứ tự chờ: {rank}.")).format(rank=row.waiting_rank)
            return tip
        return column.display(column.value(row))

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(COLUMNS):
            if role == Qt.ItemDataRole.DisplayRole:
                return COLUMNS[section].header()
            if role == Qt.ItemDataRole.TextAlignmentRole:
                return COLUMNS[section].align
        if (
            orientation == Qt.Orientation.Vertical
            and role == Qt.ItemDataRole.DisplayRole
            and 0 <= section < len(self._ids)
        ):
            return section + 1
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Ask the database for the ids in the new order; columns without a key are ignored."""
        if not 0 <= column < len(COLUMNS):
            return
        key = COLUMNS[column].sort_key
        if key is None:
            return
        self.set_sort(key, order == Qt.SortOrder.DescendingOrder)
