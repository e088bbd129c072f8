"""The gift stock as table models: balances, the ledger and owed gifts, over frozen DTO lists.

Each model holds the DTOs a read-side service returned (`mbfcare.services.stock`); a view
sorts them through `StockSortProxyModel`, which orders by `SortRole` (numbers as numbers,
dates as dates, names in Vietnamese dictionary order).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from PySide6.QtCore import (
    QAbstractTableModel,
    QCoreApplication,
    QDate,
    QDateTime,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QColor, QIcon
from PySide6.QtWidgets import QApplication, QStyle

from mbfcare.domain.collation import vietnamese_sort_key
from mbfcare.domain.values import format_date, format_msisdn, format_number
from mbfcare.services.stock import BalanceDTO, MovementDTO, OwedDTO

SortRole = Qt.ItemDataRole.UserRole + 1
"""The raw value a column sorts by: int, QDate, QDateTime or str."""

LOW_STOCK = 5
"""Under this many left, a balance is shown as running low."""

WARN_COLOUR = QColor("#8a5300")  # amber, dark enough to read on a light window
ERROR_COLOUR = QColor("#b3261e")

_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_CENTER = Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignVCenter
_CONTEXT = "StockTableModel"


def QT_TRANSLATE_NOOP(context: str, text: str) -> str:
    """Mark `text` for lupdate (which knows this name) and return it untranslated."""
    return text


# The service's MOVEMENT_LABELS, marked for lupdate (a test keeps the two the same).
KIND_TEXT = {
    "receive": QT_TRANSLATE_NOOP("StockTableModel", "Nhập kho"),
    "transfer_out": QT_TRANSLATE_NOOP("StockTableModel", "Chuyển đi"),
    "transfer_in": QT_TRANSLATE_NOOP("StockTableModel", "Chuyển đến"),
    "handover": QT_TRANSLATE_NOOP("StockTableModel", "Trao quà"),
    "return": QT_TRANSLATE_NOOP("StockTableModel", "Trả lại"),
    "write_off": QT_TRANSLATE_NOOP("StockTableModel", "Xuất hủy (hỏng)"),
}


def tr(text: str) -> str:
    """The translation of a source text of this module (thread-safe, as Qt's translate is)."""
    return QCoreApplication.translate(_CONTEXT, text)


def kind_text(kind: str) -> str:
    """A kind of movement in words (`Nhập kho`, `Chuyển đi` …)."""
    return tr(KIND_TEXT[kind]) if kind in KIND_TEXT else kind


def local_time(value: dt.datetime) -> dt.datetime:
    """A stored (UTC) instant on the office PC's clock."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone()


def format_time(value: dt.datetime) -> str:
    """`dd/mm/yyyy HH:MM` in local time."""
    return local_time(value).strftime("%d/%m/%Y %H:%M")


def format_signed(value: int) -> str:
    """`+10`, `-3` (with 1.234 grouping), `0`."""
    if value > 0:
        return "+" + format_number(value)
    if value < 0:
        return "-" + format_number(-value)
    return "0"


def warning_icon() -> QIcon:
    """The style's warning icon (the cue that is not colour)."""
    if not isinstance(QApplication.instance(), QApplication):
        return QIcon()  # no widgets (a model used without a window)
    return QApplication.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)


def _qdate(value: dt.date | None) -> QDate:
    return QDate(value.year, value.month, value.day) if value is not None else QDate()


def _qdatetime(value: dt.datetime) -> QDateTime:
    return QDateTime.fromMSecsSinceEpoch(int(local_time(value).timestamp() * 1000))


def _text(value: object) -> str:
    return "" if value is None else str(value)


Row = TypeVar("Row")


@dataclass(frozen=True)
class Column(Generic[Row]):
    """One column: the header's source text, the text shown, the value sorted by."""

    key: str
    title: str  # source text; translated by `header()`
    display: Callable[[Row], str]
    sort: Callable[[Row], Any]
    align: Qt.AlignmentFlag = _LEFT

    def header(self) -> str:
        """The translated title."""
        return tr(self.title)


class _DtoTableModel(QAbstractTableModel, Generic[Row]):
    """A read-only table over a list of frozen DTOs, replaced whole by `set_rows`."""

    columns: tuple[Column[Row], ...] = ()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[Row] = []

    def set_rows(self, rows: Sequence[Row]) -> None:
        """Show exactly these rows."""
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def rows(self) -> list[Row]:
        """The rows shown, in model order (a copy)."""
        return list(self._rows)

    def dto(self, row: int) -> Row | None:
        """The DTO on `row`, or None."""
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def column_of(self, key: str) -> int:
        """The column index of a column key."""
        return next(i for i, c in enumerate(self.columns) if c.key == key)

    def headers(self) -> list[str]:
        """The translated column titles."""
        return [c.header() for c in self.columns]

    def _extra(self, row: Row, column: Column[Row], role: int) -> Any:
        """Colour, icon and tooltip of flagged cells (subclasses)."""
        return None

    # --- Qt overrides -----------------------------------------------------------------------

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        column = self.columns[index.column()]
        row = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return column.display(row)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return column.align
        if role == SortRole:
            return column.sort(row)
        return self._extra(row, column, role)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(self.columns):
            if role == Qt.ItemDataRole.DisplayRole:
                return self.columns[section].header()
            if role == Qt.ItemDataRole.TextAlignmentRole:
                return self.columns[section].align
        if (orientation == Qt.Orientation.Vertical and role == Qt.ItemDataRole.DisplayRole
                and 0 <= section < len(self._rows)):
            return section + 1
        return None


# --------------------------------------------------------------------------- balances


def _counter(name: str) -> tuple[Callable[[BalanceDTO], str], Callable[[BalanceDTO], int]]:
    def value(b: BalanceDTO) -> int:
        return int(getattr(b, name))

    return (lambda b: format_number(value(b))), value


def balance_level(b: BalanceDTO) -> str | None:
    """`short` (fewer than the gifts owed there), `low` (under LOW_STOCK), or None."""
    if b.on_hand < b.owed:
        return "short"
    if b.on_hand < LOW_STOCK:
        return "low"
    return None


class BalanceModel(_DtoTableModel[BalanceDTO]):
    """Balance per item × location; a low "Còn" has a warning icon, coloured text and a tip."""

    columns = (
        Column("location", QT_TRANSLATE_NOOP("StockTableModel", "Nơi"),
               lambda b: b.location, lambda b: b.location),
        Column("item", QT_TRANSLATE_NOOP("StockTableModel", "Món quà"),
               lambda b: b.item_name, lambda b: b.item_name),
        Column("gift_type", QT_TRANSLATE_NOOP("StockTableModel", "Loại"),
               lambda b: str(b.gift_type), lambda b: b.gift_type, _CENTER),
        Column("received", QT_TRANSLATE_NOOP("StockTableModel", "Nhập"),
               *_counter("received"), _RIGHT),
        Column("transferred_in", QT_TRANSLATE_NOOP("StockTableModel", "Chuyển đến"),
               *_counter("transferred_in"), _RIGHT),
        Column("transferred_out", QT_TRANSLATE_NOOP("StockTableModel", "Chuyển đi"),
               *_counter("transferred_out"), _RIGHT),
        Column("handed_over", QT_TRANSLATE_NOOP("StockTableModel", "Đã trao"),
               *_counter("handed_over"), _RIGHT),
        Column("returned", QT_TRANSLATE_NOOP("StockTableModel", "Trả lại"),
               *_counter("returned"), _RIGHT),
        Column("written_off", QT_TRANSLATE_NOOP("StockTableModel", "Hủy"),
               *_counter("written_off"), _RIGHT),
        Column("owed", QT_TRANSLATE_NOOP("StockTableModel", "Nợ"),
               *_counter("owed"), _RIGHT),
        Column("on_hand", QT_TRANSLATE_NOOP("StockTableModel", "Còn"),
               *_counter("on_hand"), _RIGHT),
    )

    def on_hand(self, item_code: str, location: str) -> int:
        """How many of the item the location has, as last read (0 when unknown)."""
        return next((b.on_hand for b in self._rows
                     if b.item_code == item_code and b.location == location), 0)

    def _extra(self, row: BalanceDTO, column: Column[BalanceDTO], role: int) -> Any:
        if column.key != "on_hand":
            return None
        level = balance_level(row)
        if level is None:
            return None
        if role == Qt.ItemDataRole.DecorationRole:
            return warning_icon()
        if role == Qt.ItemDataRole.ForegroundRole:
            return ERROR_COLOUR if level == "short" else WARN_COLOUR
        if role == Qt.ItemDataRole.ToolTipRole:
            if level == "short":
                return tr(QT_TRANSLATE_NOOP(
                    "StockTableModel", "Không đủ trả {owed} quà nợ ở đây: còn {left}.")).format(
                    owed=format_number(row.owed), left=format_number(row.on_hand))
            return tr(QT_TRANSLATE_NOOP("StockTableModel", "Sắp hết: còn dưới {n}.")).format(
                n=LOW_STOCK)
        return None


# --------------------------------------------------------------------------- ledger


class LedgerModel(_DtoTableModel[MovementDTO]):
    """The stock ledger, one movement a row, signed quantities."""

    columns = (
        Column("at", QT_TRANSLATE_NOOP("StockTableModel", "Thời gian"),
               lambda m: format_time(m.at), lambda m: _qdatetime(m.at)),
        Column("kind", QT_TRANSLATE_NOOP("StockTableModel", "Loại"),
               lambda m: kind_text(m.kind), lambda m: kind_text(m.kind)),
        Column("item", QT_TRANSLATE_NOOP("StockTableModel", "Món quà"),
               lambda m: m.item_name, lambda m: m.item_name),
        Column("location", QT_TRANSLATE_NOOP("StockTableModel", "Nơi"),
               lambda m: m.location, lambda m: m.location),
        Column("quantity", QT_TRANSLATE_NOOP("StockTableModel", "Số lượng"),
               lambda m: format_signed(m.quantity), lambda m: m.quantity, _RIGHT),
        Column("other_location", QT_TRANSLATE_NOOP("StockTableModel", "Nơi kia"),
               lambda m: _text(m.other_location), lambda m: _text(m.other_location)),
        Column("by", QT_TRANSLATE_NOOP("StockTableModel", "Người"),
               lambda m: m.by, lambda m: m.by),
        Column("reason", QT_TRANSLATE_NOOP("StockTableModel", "Lý do"),
               lambda m: m.reason, lambda m: m.reason),
        Column("msisdn", QT_TRANSLATE_NOOP("StockTableModel", "Thuê bao"),
               lambda m: format_msisdn(m.msisdn) if m.msisdn else "",
               lambda m: m.msisdn or ""),
    )

    def _extra(self, row: MovementDTO, column: Column[MovementDTO], role: int) -> Any:
        if role == Qt.ItemDataRole.ToolTipRole and column.key == "reason" and row.reason:
            return row.reason  # long reasons are cut off in the cell
        return None


# --------------------------------------------------------------------------- owed gifts


class OwedModel(_DtoTableModel[OwedDTO]):
    """Gifts owed, with their promised dates; a date already past is flagged "quá hẹn"."""

    def __init__(self, parent: QObject | None = None, today: dt.date | None = None) -> None:
        super().__init__(parent)
        self._today = today or dt.datetime.now().astimezone().date()
        self.columns = (
            Column("msisdn", QT_TRANSLATE_NOOP("StockTableModel", "Thuê bao"),
                   lambda o: format_msisdn(o.msisdn), lambda o: o.msisdn),
            Column("name", QT_TRANSLATE_NOOP("StockTableModel", "Họ tên"),
                   lambda o: o.name, lambda o: o.name),
            Column("item", QT_TRANSLATE_NOOP("StockTableModel", "Món quà"),
                   lambda o: o.item_name, lambda o: o.item_name),
            Column("location", QT_TRANSLATE_NOOP("StockTableModel", "Nơi"),
                   lambda o: o.location, lambda o: o.location),
            Column("owed_on", QT_TRANSLATE_NOOP("StockTableModel", "Ngày ghi nợ"),
                   lambda o: format_date(self._owed_on(o)), lambda o: _qdate(self._owed_on(o)),
                   _CENTER),
            Column("promised_on", QT_TRANSLATE_NOOP("StockTableModel", "Ngày hẹn"),
                   self._promised_text, lambda o: _qdate(o.promised_on), _CENTER),
        )

    @property
    def today(self) -> dt.date:
        """The day promises are compared with."""
        return self._today

    def set_today(self, today: dt.date) -> None:
        """Compare promises with `today` (the screen calls it when it reloads)."""
        if today != self._today:
            self.beginResetModel()
            self._today = today
            self.endResetModel()

    def overdue(self, owed: OwedDTO) -> bool:
        """Whether the promised date is already past."""
        return owed.promised_on is not None and owed.promised_on < self._today

    @staticmethod
    def _owed_on(o: OwedDTO) -> dt.date | None:
        return local_time(o.owed_at).date() if o.owed_at is not None else None

    def _promised_text(self, o: OwedDTO) -> str:
        text = format_date(o.promised_on)
        if self.overdue(o):
            text += " – " + tr(QT_TRANSLATE_NOOP("StockTableModel", "quá hẹn"))
        return text

    def _extra(self, row: OwedDTO, column: Column[OwedDTO], role: int) -> Any:
        if column.key != "promised_on" or not self.overdue(row):
            return None
        if role == Qt.ItemDataRole.DecorationRole:
            return warning_icon()
        if role == Qt.ItemDataRole.ForegroundRole:
            return ERROR_COLOUR
        if role == Qt.ItemDataRole.ToolTipRole:
            assert row.promised_on is not None
            days = (self._today - row.promised_on).days
            return tr(QT_TRANSLATE_NOOP("StockTableModel", "Đã quá ngày hẹn {days} ngày.")).format(
                days=format_number(days))
        return None


# --------------------------------------------------------------------------- sorting


class StockSortProxyModel(QSortFilterProxyModel):
    """Sorts by `SortRole`; text in Vietnamese dictionary order (Đ after D, tones last)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setSortRole(SortRole)

    def lessThan(self, left: QModelIndex | QPersistentModelIndex,
                 right: QModelIndex | QPersistentModelIndex) -> bool:
        a, b = left.data(SortRole), right.data(SortRole)
        if isinstance(a, str) and isinstance(b, str):
            return vietnamese_sort_key(a) < vietnamese_sort_key(b)
        return super().lessThan(left, right)
