"""Tổng quan: cards per batch and group, charts per district and per day, the to-do list.

Every number is a link: activating it emits `open_care_list(filter)` with the care-list filter
behind it (e.g. `{"batch": 1, "group": 2, "state": "listed"}`), for the main window to open
the care list filtered to it. Counts are read off the GUI thread through the `TaskRunner`.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Mapping
from typing import Any

import shiboken6
from PySide6.QtCharts import (
    QBarCategoryAxis,
    QBarSeries,
    QBarSet,
    QChart,
    QChartView,
    QDateTimeAxis,
    QLineSeries,
    QValueAxis,
)
from PySide6.QtCore import QDateTime, QLocale, QMargins, Qt, Signal
from PySide6.QtGui import QFont, QFontMetrics, QKeySequence, QPainter, QPalette, QShortcut
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLayout,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.domain.actors import Actor
from mbfcare.domain.values import format_number
from mbfcare.errors import MbfCareError
from mbfcare.services.accounts import local_actor
from mbfcare.services.dashboard import (
    COUNT_FIELDS,
    DashboardDTO,
    GroupCard,
    dashboard,
)
from mbfcare.ui import messages
from mbfcare.ui.tasks import TaskProgress, TaskRunner

VIETNAMESE = QLocale(QLocale.Language.Vietnamese, QLocale.Country.Vietnam)


def _show_all(layout: QLayout) -> None:
    """Show the widgets just added to a layout now, not at the next turn of the event loop."""
    for index in range(layout.count()):
        item = layout.itemAt(index)
        widget = item.widget() if item is not None else None
        if widget is not None:
            widget.show()


def _clear(layout: QLayout) -> None:
    """Remove and delete everything a layout holds (nested layouts included)."""
    while layout.count():
        item = layout.takeAt(0)
        if item is None:
            break
        widget = item.widget()
        inner = item.layout()
        if widget is not None:
            widget.hide()
            widget.deleteLater()
        elif inner is not None:
            _clear(inner)


class NumberLink(QLabel):
    """A count shown as a link; activating it (mouse or keyboard) asks for its care list."""

    def __init__(self, value: int, care_filter: Mapping[str, Any], what: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.value = value
        self.care_filter = dict(care_filter)
        self.setText(f'<a href="care-list">{format_number(value)}</a>')
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.LinksAccessibleByMouse
                                     | Qt.TextInteractionFlag.LinksAccessibleByKeyboard)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.setToolTip(self.tr("Mở danh sách chăm sóc: {what}").format(what=what))
        self.setAccessibleName(f"{what}: {format_number(value)}")


class DashboardWidget(QWidget):
    """The overview of the current programme, or of one batch.

    Signals:
        open_care_list(dict): a number was activated; the dict is the care-list filter.
        loaded(object): a `DashboardDTO` is on screen (tests wait for it).
    """

    open_care_list = Signal(dict)
    loaded = Signal(object)

    def __init__(self, factory: sessionmaker[Session], runner: TaskRunner,
                 parent: QWidget | None = None, *, actor: Actor | None = None) -> None:
        super().__init__(parent)
        self._factory = factory
        self._runner = runner
        # Whose counts: a district head's or a clerk's scope, everything for the others.
        self.actor = actor or local_actor()
        self._programme_id: int | None = None
        self._batch: int | None = None
        self._generation = 0
        self._dto: DashboardDTO | None = None
        self._district_keys: list[str | None] = []

        self.metric_words = {
            "listed": self.tr("Trong danh sách"),
            "waiting": self.tr("Danh sách chờ"),
            "awaiting_group": self.tr("Chờ quyết định nhóm"),
            "has_work": self.tr("Đã có thao tác"),
            "sms_sent": self.tr("Đã gửi SMS"),
            "handed_over": self.tr("Đã trao quà"),
            "owed": self.tr("Đang nợ quà"),
            "surveyed": self.tr("Đã khảo sát"),
            "closed": self.tr("Đã đóng (có kết quả)"),
        }
        self.todo_words = {
            "awaiting_group": self.tr("KH chờ quyết định nhóm (mức cước nằm giữa hai nhóm)"),
            "waiting": self.tr("KH trong danh sách chờ (vượt số quà dự kiến)"),
            "profile_not_standardised": self.tr(
                "KH cần chuẩn hóa thông tin (thu thập phiếu thông tin khi gặp KH)"),
            "owed_overdue": self.tr("Quà nợ đã quá ngày hẹn trao"),
        }

        self._build()
        QShortcut(QKeySequence(QKeySequence.StandardKey.Refresh), self, self.refresh)

    # --- layout ---------------------------------------------------------------------------

    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        outer.addWidget(scroll)
        page = QWidget()
        scroll.setWidget(page)
        layout = QVBoxLayout(page)

        header = QHBoxLayout()
        self._title = QLabel(self.tr("Tổng quan"))
        font = QFont(self._title.font())
        font.setPointSizeF(font.pointSizeF() * 1.4)
        font.setBold(True)
        self._title.setFont(font)
        header.addWidget(self._title)
        self._scope = QLabel()
        header.addWidget(self._scope)
        header.addStretch(1)
        self._refresh_button = QPushButton(self.tr("Làm mới"))
        self._refresh_button.setToolTip(self.tr("Đọc lại số liệu (F5)"))
        self._refresh_button.clicked.connect(self.refresh)
        header.addWidget(self._refresh_button)
        layout.addLayout(header)

        self._status = QLabel()
        self._status.setWordWrap(True)
        self._status.hide()
        layout.addWidget(self._status)

        self._todo_box = QGroupBox(self.tr("Cần làm"))
        self._todo_layout = QGridLayout(self._todo_box)
        self._todo_layout.setColumnStretch(1, 1)
        layout.addWidget(self._todo_box)

        self._cards_box = QGroupBox(self.tr("Theo đợt và nhóm"))
        self._cards_layout = QGridLayout(self._cards_box)
        layout.addWidget(self._cards_box)

        self._stock_box = QGroupBox(self.tr("Kho quà"))
        self._stock_layout = QGridLayout(self._stock_box)
        layout.addWidget(self._stock_box)

        charts = QGridLayout()
        self._charts_layout = charts
        self._district_box = QGroupBox(self.tr("Theo quận/huyện"))
        district_layout = QVBoxLayout(self._district_box)
        self.district_chart = QChart()
        self.district_view = self._chart_view(self.district_chart)
        district_layout.addWidget(self.district_view)
        charts.addWidget(self._district_box, 0, 0)

        self._days_box = QGroupBox(self.tr("Trao quà theo ngày"))
        days_layout = QVBoxLayout(self._days_box)
        self.day_chart = QChart()
        self.day_view = self._chart_view(self.day_chart)
        days_layout.addWidget(self.day_view)
        self._no_handover = QLabel(self.tr("Chưa có lượt trao quà nào được ghi nhận."))
        self._no_handover.setWordWrap(True)
        self._no_handover.setAlignment(Qt.AlignmentFlag.AlignCenter)
        days_layout.addWidget(self._no_handover)
        charts.addWidget(self._days_box, 0, 1)
        charts.setColumnStretch(0, 3)
        charts.setColumnStretch(1, 2)
        layout.addLayout(charts)
        layout.addStretch(1)

        for box in (self._todo_box, self._cards_box, self._stock_box, self._district_box,
                    self._days_box):
            box.hide()

    def _chart_view(self, chart: QChart) -> QChartView:
        chart.setLocale(VIETNAMESE)
        chart.setLocalizeNumbers(True)
        chart.setBackgroundVisible(False)
        chart.setMargins(QMargins(0, 0, 0, 0))
        chart.legend().setAlignment(Qt.AlignmentFlag.AlignBottom)
        chart.layout().setContentsMargins(0, 0, 0, 0)
        view = QChartView(chart)
        view.setRenderHint(QPainter.RenderHint.Antialiasing)
        view.setMinimumHeight(300)
        view.setMinimumWidth(280)
        return view

    # --- loading ----------------------------------------------------------------------------

    def set_programme(self, programme_id: int | None, batch: int | None) -> None:
        """Show `programme_id` (the only one when None), all batches or batch number `batch`."""
        self._programme_id = programme_id
        self._batch = batch
        self.refresh()

    def refresh(self) -> None:
        """Read the counts again (off the GUI thread); the old numbers stay until then."""
        self._generation += 1
        generation = self._generation
        factory, programme_id, batch = self._factory, self._programme_id, self._batch
        actor = self.actor
        self._show_status(self.tr("Đang tải…"))
        self._refresh_button.setEnabled(False)

        def work(_progress: TaskProgress) -> DashboardDTO:
            return dashboard(factory, programme_id, batch, actor=actor)

        self._runner.start(work, lambda dto: self._on_loaded(generation, dto),
                           lambda exc: self._on_failed(generation, exc))

    def dto(self) -> DashboardDTO | None:
        """What is on screen."""
        return self._dto

    def _on_loaded(self, generation: int, dto: DashboardDTO) -> None:
        if not shiboken6.isValid(self) or generation != self._generation:
            return  # closed, or a newer refresh is on its way
        self._refresh_button.setEnabled(True)
        self._dto = dto
        self._show(dto)
        self.loaded.emit(dto)

    def _on_failed(self, generation: int, exc: BaseException) -> None:
        if not shiboken6.isValid(self) or generation != self._generation:
            return
        self._refresh_button.setEnabled(True)
        if isinstance(exc, MbfCareError):
            self._show_status(str(exc))
            for box in (self._todo_box, self._cards_box, self._stock_box, self._district_box,
                    self._days_box):
                box.hide()
        else:
            self._show_status(self.tr("Không đọc được số liệu."))
            messages.show_error(self, exc)

    def _show_status(self, text: str) -> None:
        self._status.setText(text)
        self._status.setVisible(bool(text))

    # --- showing ----------------------------------------------------------------------------

    def _show(self, dto: DashboardDTO) -> None:
        if dto.batch is None:
            self._scope.setText(self.tr("· cả chương trình"))
        else:
            self._scope.setText(self.tr("· đợt {batch}").format(batch=dto.batch))
        if not dto.has_programme:
            self._show_status(self.tr(
                "Chưa có chương trình chăm sóc nào. Tạo chương trình và nhập dữ liệu thuê bao, "
                "số liệu sẽ hiện ở đây."))
        elif dto.is_empty:
            if dto.batch is None:
                text = self.tr("Chương trình chưa có danh sách chăm sóc. Nhập dữ liệu thuê bao "
                               "rồi xếp đợt, số liệu sẽ hiện ở đây.")
            else:
                text = self.tr("Đợt {batch} chưa có danh sách chăm sóc. Nhập dữ liệu thuê bao "
                               "rồi xếp đợt, số liệu sẽ hiện ở đây.").format(batch=dto.batch)
            self._show_status(text)
        else:
            self._show_status("")
        has_data = dto.has_programme and not dto.is_empty
        for box in (self._todo_box, self._cards_box, self._stock_box, self._district_box,
                    self._days_box):
            box.setVisible(has_data)
        if not has_data:
            return
        self._show_todo(dto)
        self._show_cards(dto)
        self._show_stock(dto)
        self._show_districts(dto)
        self._show_days(dto)

    def _link(self, value: int, care_filter: Mapping[str, Any], what: str) -> NumberLink:
        link = NumberLink(value, care_filter, what)
        link.linkActivated.connect(lambda _href: self.open_care_list.emit(dict(link.care_filter)))
        return link

    def _show_todo(self, dto: DashboardDTO) -> None:
        _clear(self._todo_layout)
        items = [item for item in dto.todo if item.count > 0]
        if not items:
            self._todo_layout.addWidget(QLabel(self.tr("Không còn việc nào cần làm.")), 0, 0)
            _show_all(self._todo_layout)
            return
        for row, item in enumerate(items):
            words = self.todo_words.get(item.key, item.key)
            self._todo_layout.addWidget(self._link(item.count, item.filter, words), row, 0,
                                        Qt.AlignmentFlag.AlignRight)
            self._todo_layout.addWidget(QLabel(words), row, 1)
        _show_all(self._todo_layout)

    def _show_stock(self, dto: DashboardDTO) -> None:
        _clear(self._stock_layout)
        heads = (self.tr("Món quà"), self.tr("Nhập"), self.tr("Đã trao"), self.tr("Nợ"),
                 self.tr("Còn"), "")
        for column, text in enumerate(heads):
            self._stock_layout.addWidget(QLabel(f"<b>{html.escape(text)}</b>"), 0, column)
        for row, line in enumerate(dto.stock, start=1):
            cells = (line.item_name, format_number(line.received),
                     format_number(line.handed_over), format_number(line.owed),
                     format_number(line.on_hand))
            for column, text in enumerate(cells):
                label = QLabel(text)
                if column:
                    label.setAlignment(Qt.AlignmentFlag.AlignRight
                                       | Qt.AlignmentFlag.AlignVCenter)
                self._stock_layout.addWidget(label, row, column)
            warning = QLabel(("⚠ " + self.tr("sắp hết, cần nhập thêm")) if line.low else "")
            warning.setObjectName(f"stock_warning_{line.item_code}")
            warning.setStyleSheet("color: #a15c00")
            self._stock_layout.addWidget(warning, row, len(cells))
        self._stock_layout.setColumnStretch(len(heads) - 1, 1)
        _show_all(self._stock_layout)

    def stock_text(self) -> str:
        """The stock box as text, row by row (for tests)."""
        rows: dict[int, list[str]] = {}
        for i in range(self._stock_layout.count()):
            item = self._stock_layout.itemAt(i)
            widget = item.widget() if item is not None else None
            if isinstance(widget, QLabel):
                position: Any = self._stock_layout.getItemPosition(i)
                rows.setdefault(int(position[0]), []).append(widget.text())
        return "\n".join(" | ".join(cells) for _r, cells in sorted(rows.items()))

    def _card_title(self, card: GroupCard) -> str:
        if card.group is None:
            return self.tr("Đợt {batch} · Chưa xếp nhóm").format(batch=card.batch)
        return self.tr("Đợt {batch} · Nhóm {group}").format(batch=card.batch, group=card.group)

    def _card_metrics(self, card: GroupCard) -> list[str]:
        """The counts a card shows: a state that cannot occur on it is left out when zero."""
        impossible = {"listed", "waiting"} if card.group is None else {"awaiting_group"}
        return [name for name in COUNT_FIELDS
                if name not in impossible or getattr(card.counts, name) > 0]

    def _show_cards(self, dto: DashboardDTO) -> None:
        _clear(self._cards_layout)
        batches = sorted({card.batch for card in dto.cards})
        columns: dict[int, int] = {}
        for card in dto.cards:
            frame = QFrame()
            frame.setFrameShape(QFrame.Shape.StyledPanel)
            frame.setFrameShadow(QFrame.Shadow.Raised)
            frame.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
            grid = QGridLayout(frame)
            title = QLabel(f"<b>{html.escape(self._card_title(card))}</b>")
            grid.addWidget(title, 0, 0, 1, 2)
            for row, name in enumerate(self._card_metrics(card), start=1):
                words = self.metric_words.get(name, name)
                grid.addWidget(QLabel(words), row, 0)
                grid.addWidget(self._link(getattr(card.counts, name),
                                          dto.filter_for(name, card.filter),
                                          f"{self._card_title(card)} – {words}"),
                               row, 1, Qt.AlignmentFlag.AlignRight)
            grid.setColumnStretch(0, 1)
            row_index = batches.index(card.batch)
            column = columns.get(card.batch, 0)
            columns[card.batch] = column + 1
            self._cards_layout.addWidget(frame, row_index, column, Qt.AlignmentFlag.AlignTop)
        _show_all(self._cards_layout)
        width = max(columns.values(), default=0)
        for column in range(max(width, self._cards_layout.columnCount())):
            self._cards_layout.setColumnStretch(column, 1 if column < width else 0)

    def district_name(self, district: str | None) -> str:
        """How a district is labelled (a blank one included)."""
        return district if district else self.tr("(Chưa rõ)")

    def _show_districts(self, dto: DashboardDTO) -> None:
        chart = self.district_chart
        chart.removeAllSeries()
        for axis in chart.axes():
            chart.removeAxis(axis)
        self._district_keys = [row.district for row in dto.districts]
        listed = QBarSet(self.metric_words["listed"])
        handed = QBarSet(self.metric_words["handed_over"])
        for row in dto.districts:
            listed.append(row.counts.listed)
            handed.append(row.counts.handed_over)
        series = QBarSeries()
        series.append(listed)
        series.append(handed)
        series.setLabelsVisible(True)
        series.setLabelsFormat("@value")
        series.setLabelsPrecision(15)  # whole numbers, never 1.2e+03
        for barset in (listed, handed):
            barset.setLabelColor(self.palette().color(QPalette.ColorRole.WindowText))
        series.setLabelsPosition(QBarSeries.LabelsPosition.LabelsOutsideEnd)
        series.clicked.connect(self._on_bar_clicked)
        chart.addSeries(series)
        categories = [self.district_name(d) for d in self._district_keys]
        x_axis = QBarCategoryAxis()
        x_axis.append(categories)
        x_axis.setTruncateLabels(False)
        many = len(categories) > 6
        if many:
            x_axis.setLabelsAngle(-90)  # upright labels: each fits, none is hidden
        # Many districts: the bar chart gets the whole width, the line goes below it.
        wide = len(categories) > 8
        charts = self._charts_layout
        charts.removeWidget(self._days_box)
        charts.addWidget(self._days_box, 1 if wide else 0, 0 if wide else 1)
        charts.setColumnStretch(1, 0 if wide else 2)
        # Upright labels take their length in height: make room below the bars for them.
        metrics = QFontMetrics(x_axis.labelsFont())
        longest = max((metrics.horizontalAdvance(c) for c in categories), default=0)
        self.district_view.setMinimumHeight(300 + (longest if many else 0))
        chart.addAxis(x_axis, Qt.AlignmentFlag.AlignBottom)
        series.attachAxis(x_axis)
        top = max((max(r.counts.listed, r.counts.handed_over) for r in dto.districts), default=0)
        y_axis = _count_axis(top)
        chart.addAxis(y_axis, Qt.AlignmentFlag.AlignLeft)
        series.attachAxis(y_axis)
        self.district_view.setToolTip(self.tr(
            "Bấm vào một cột để mở danh sách chăm sóc của quận/huyện đó."))

    def _on_bar_clicked(self, index: int, barset: QBarSet) -> None:
        dto = self._dto
        if dto is None or not 0 <= index < len(self._district_keys):
            return
        metric = "handed_over" if barset.label() == self.metric_words["handed_over"] \
            else "listed"
        self.open_care_list.emit(
            dto.filter_for(metric, {"district": self._district_keys[index]}))

    def _show_days(self, dto: DashboardDTO) -> None:
        chart = self.day_chart
        chart.removeAllSeries()
        for axis in chart.axes():
            chart.removeAxis(axis)
        days = dict(dto.handovers_per_day)
        self.day_view.setVisible(bool(days))
        self._no_handover.setVisible(not days)
        if not days:
            return
        first, last = min(days), max(days)
        series = QLineSeries()
        series.setName(self.tr("Số KH được trao quà trong ngày"))
        series.setPointsVisible(True)
        day = first
        while day <= last:  # days without a handover are zero, not skipped
            series.append(_msecs(day), days.get(day, 0))
            day += dt.timedelta(days=1)
        chart.addSeries(series)
        x_axis = QDateTimeAxis()
        x_axis.setFormat("dd/MM")
        span = (last - first).days
        if span == 0:  # one day: centre it between its neighbours
            first, last, span = first - dt.timedelta(days=1), last + dt.timedelta(days=1), 2
        x_axis.setRange(_datetime(first), _datetime(last))
        # One tick a day while they fit; beyond a week, eight evenly spaced dates.
        x_axis.setTickCount(span + 1 if span <= 7 else 8)
        chart.addAxis(x_axis, Qt.AlignmentFlag.AlignBottom)
        series.attachAxis(x_axis)
        y_axis = _count_axis(max(days.values()))
        chart.addAxis(y_axis, Qt.AlignmentFlag.AlignLeft)
        series.attachAxis(y_axis)

    # --- for tests and the main window -------------------------------------------------------

    def links(self) -> list[NumberLink]:
        """The number links on screen, top to bottom."""
        return [link for link in self.findChildren(NumberLink) if link.isVisibleTo(self)]

    def page_text(self) -> str:
        """The visible labels' text, one per line, without markup."""
        texts = []
        for label in self.findChildren(QLabel):
            if label.isVisibleTo(self) and label.text():
                texts.append(html.unescape(_strip_tags(label.text())))
        return "\n".join(texts)


def _strip_tags(text: str) -> str:
    out, inside = [], False
    for char in text:
        if char == "<":
            inside = True
        elif char == ">":
            inside = False
        elif not inside:
            out.append(char)
    return "".join(out)


def _count_axis(top: int) -> QValueAxis:
    """A value axis from 0 for counts: whole-number ticks, Vietnamese digit grouping."""
    axis = QValueAxis()
    if top <= 4:  # one tick per unit, so no tick falls between two whole numbers
        axis.setRange(0, top + 1)
        axis.setTickCount(top + 2)
    else:
        axis.setRange(0, top * 1.15)
        axis.applyNiceNumbers()
    axis.setLabelFormat("%.0f")  # the chart's locale (vi) groups the digits: 1.500
    return axis


def _datetime(day: dt.date) -> QDateTime:
    return QDateTime.fromMSecsSinceEpoch(_msecs(day))


def _msecs(day: dt.date) -> int:
    """Midnight of `day` on the local clock, as the axis shows it."""
    moment = dt.datetime(day.year, day.month, day.day)
    return int(moment.astimezone().timestamp() * 1000)
