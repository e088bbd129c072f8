"""The main window: the programme(s) in the database and the number of subscribers stored."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QAction, QCloseEvent, QFont, QKeySequence
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.orm import Session, sessionmaker

from mbfcare import __version__
from mbfcare.errors import MbfCareError
from mbfcare.services import programmes
from mbfcare.services.programmes import ProgrammeSummary
from mbfcare.ui.tasks import TaskProgress, TaskRunner

logger = logging.getLogger(__name__)


def vn_number(value: int) -> str:
    """`1234567` → `1.234.567` (Vietnamese digit grouping)."""
    return f"{value:,}".replace(",", ".")


def _load_programmes(
    factory: sessionmaker[Session], _progress: TaskProgress
) -> list[ProgrammeSummary]:
    """Worker: read the summaries. No UI calls here."""
    return programmes.list_programmes(factory)


def _create_default_programme(factory: sessionmaker[Session], _progress: TaskProgress) -> int:
    """Worker: store the source document's programme. No UI calls here."""
    return programmes.create_programme(factory, programmes.default_programme_spec())


class MainWindow(QMainWindow):
    """The application window.

    Signals:
        programmes_loaded(object): the list of `ProgrammeSummary` just shown.
    """

    programmes_loaded = Signal(object)

    def __init__(
        self,
        factory: sessionmaker[Session],
        db_description: str,
        runner: TaskRunner | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._factory = factory
        self._db_description = db_description
        self._runner = runner or TaskRunner(self)
        self.programmes: list[ProgrammeSummary] = []

        self.setWindowTitle("MBF Care")
        self.resize(1100, 720)
        self._build_actions()
        self._build_menus()
        self._build_pages()
        self._build_status_bar()
        self._runner.busy_changed.connect(self._on_runner_busy_changed)
        self.refresh()

    # ------------------------------------------------------------------ construction

    def _build_actions(self) -> None:
        self._refresh_action = QAction(self.tr("Làm &mới"), self)
        self._refresh_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Refresh))
        if self._refresh_action.shortcut().isEmpty():  # not every platform maps Refresh
            self._refresh_action.setShortcut(QKeySequence("F5"))
        self._refresh_action.setStatusTip(self.tr("Đọc lại dữ liệu từ cơ sở dữ liệu"))
        self._refresh_action.triggered.connect(self.refresh)

        self._quit_action = QAction(self.tr("&Thoát"), self)
        self._quit_action.setShortcut(QKeySequence("Ctrl+Q"))
        self._quit_action.setMenuRole(QAction.MenuRole.QuitRole)
        self._quit_action.setStatusTip(self.tr("Đóng MBF Care"))
        self._quit_action.triggered.connect(self.close)

        self._about_action = QAction(self.tr("&Giới thiệu"), self)
        self._about_action.setMenuRole(QAction.MenuRole.AboutRole)
        self._about_action.triggered.connect(self._on_about_action_triggered)

        for action in (self._refresh_action, self._quit_action, self._about_action):
            shortcut = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            text = action.text().replace("&", "")
            action.setToolTip(f"{text} ({shortcut})" if shortcut else text)

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu(self.tr("&Tệp"))
        file_menu.addAction(self._refresh_action)
        file_menu.addSeparator()
        file_menu.addAction(self._quit_action)
        help_menu = self.menuBar().addMenu(self.tr("Trợ &giúp"))
        help_menu.addAction(self._about_action)

    def _build_pages(self) -> None:
        self._stack = QStackedWidget(self)
        self.setCentralWidget(self._stack)

        self._loading_label = QLabel(self.tr("Đang đọc dữ liệu…"), self._stack)
        self._loading_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._stack.addWidget(self._loading_label)

        self._welcome_page = self._build_welcome_page()
        self._stack.addWidget(self._welcome_page)

        self._programme_scroll = QScrollArea(self._stack)
        self._programme_scroll.setWidgetResizable(True)
        self._programme_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self._programme_page = QWidget()
        self._programme_scroll.setWidget(self._programme_page)
        self._stack.addWidget(self._programme_scroll)

        self._error_label = QLabel(self._stack)
        self._error_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._error_label.setWordWrap(True)
        self._error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._stack.addWidget(self._error_label)

    def _build_welcome_page(self) -> QWidget:
        page = QWidget(self._stack)
        layout = QVBoxLayout(page)
        layout.addStretch(1)
        title = QLabel(self.tr("Chào mừng đến với MBF Care"), page)
        title.setFont(_scaled_font(title.font(), 1.6, bold=True))
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(title)
        text = QLabel(
            self.tr(
                "Cơ sở dữ liệu chưa có chương trình chăm sóc khách hàng nào.\n"
                "Tạo chương trình theo văn bản CSKH 2017 của MobiFone KV5 (2 nhóm, 4 đợt) "
                "để bắt đầu, hoặc tạo từ tệp TOML bằng lệnh "
                "mbfcare programme create --config TỆP."
            ),
            page,
        )
        text.setWordWrap(True)
        text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        # A fixed-width column (not an alignment flag) so the wrapped text gets its height.
        text.setFixedWidth(640)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(text)
        row.addStretch(1)
        layout.addLayout(row)
        layout.addSpacing(12)
        self._create_button = QPushButton(
            self.tr("Tạo chương trình theo văn bản (CSKH 2017 – KV5)"), page
        )
        self._create_button.setDefault(True)
        self._create_button.setAutoDefault(True)
        self._create_button.clicked.connect(self._on_create_button_clicked)
        layout.addWidget(self._create_button, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(2)
        return page

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self._programme_status = QLabel(self)
        self._db_status = QLabel(self.tr("CSDL: {db}").format(db=self._db_description), self)
        self._db_status.setToolTip(self._db_description)
        for label in (self._programme_status, self._db_status):
            label.setContentsMargins(8, 0, 8, 0)
        bar.addPermanentWidget(self._programme_status)
        bar.addPermanentWidget(self._db_status)

    # ------------------------------------------------------------------ behaviour

    @Slot()
    def refresh(self) -> None:
        """Read the programmes again (on the worker) and show them."""
        if not self.programmes:
            self._stack.setCurrentWidget(self._loading_label)
        self._runner.start(
            partial(_load_programmes, self._factory),
            on_done=self._on_programmes_loaded,
            on_error=self._on_load_failed,
        )

    def _show_programmes(self, items: list[ProgrammeSummary]) -> None:
        self.programmes = list(items)
        if not items:
            self._programme_status.setText(self.tr("Chưa có chương trình"))
            self._stack.setCurrentWidget(self._welcome_page)
            self._create_button.setFocus()
            return
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(24, 20, 24, 20)
        layout.setSpacing(16)
        count = items[0].subscriber_count
        self._count_label = QLabel(
            self.tr("Thuê bao đã lưu: {count}").format(count=vn_number(count)), page
        )
        self._count_label.setObjectName("subscriberCount")
        self._count_label.setFont(_scaled_font(self._count_label.font(), 1.5, bold=True))
        layout.addWidget(self._count_label)
        for item in items:
            box = self._programme_box(item, page)
            box.setMaximumWidth(960)  # long lines are hard to read on wide screens
            layout.addWidget(box)
        layout.addStretch(1)
        self._programme_scroll.setWidget(page)  # the old page is deleted by the scroll area
        self._programme_page = page
        self._stack.setCurrentWidget(self._programme_scroll)
        first = items[0]
        self._programme_status.setText(
            self.tr("{name} – {region}").format(name=first.name, region=first.region)
            if first.region
            else first.name
            if len(items) == 1
            else self.tr("{n} chương trình").format(n=len(items))
        )

    def _programme_box(self, item: ProgrammeSummary, parent: QWidget) -> QWidget:
        box = QWidget(parent)
        outer = QVBoxLayout(box)
        outer.setContentsMargins(0, 0, 0, 0)
        title = QLabel(item.name, box)
        title.setFont(_scaled_font(title.font(), 1.25, bold=True))
        title.setWordWrap(True)
        outer.addWidget(title)
        frame = QFrame(box)
        frame.setFrameShape(QFrame.Shape.StyledPanel)
        outer.addWidget(frame)
        # A grid, not a QFormLayout: wrapped values then get the height they need.
        grid = QGridLayout(frame)
        grid.setColumnStretch(1, 1)
        grid.setHorizontalSpacing(16)
        grid.setVerticalSpacing(8)

        def add_row(label: str, value: str) -> None:
            row = grid.rowCount()
            label_widget = QLabel(label, frame)
            label_widget.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
            value_widget = QLabel(value, frame)
            value_widget.setWordWrap(True)
            value_widget.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
            value_widget.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            grid.addWidget(label_widget, row, 0)
            grid.addWidget(value_widget, row, 1)

        add_row(self.tr("Năm:"), str(item.year))
        add_row(self.tr("Khu vực:"), item.region or "—")
        add_row(
            self.tr("Địa bàn:"),
            self.tr("{n} tỉnh/thành: {names}").format(
                n=len(item.provinces), names=", ".join(item.provinces)
            )
            if item.provinces
            else "—",
        )
        add_row(self.tr("Mức cước căn cứ:"), self._aggregation_text(item.aggregation))
        add_row(self.tr("Nhóm:"), ", ".join(item.group_names) or "—")
        batches = "\n".join(
            self.tr("Đợt {number} – {month}").format(number=b.number, month=b.care_month_text)
            for b in item.batches
        )
        add_row(self.tr("Đợt (tháng chăm sóc):"), batches or "—")
        return box

    def _aggregation_text(self, aggregation: str) -> str:
        if aggregation == "every_cycle":
            return self.tr("mỗi chu kỳ cước n-3, n-4, n-5 đều đạt ngưỡng (lấy mức thấp nhất)")
        if aggregation == "average":
            return self.tr("trung bình các chu kỳ cước n-3, n-4, n-5")
        return aggregation

    def page_text(self) -> str:
        """All text on the current page (for tests and accessibility checks)."""
        current = self._stack.currentWidget()
        if current is None:
            return ""
        labels = [current] if isinstance(current, QLabel) else current.findChildren(QLabel)
        parts: list[str] = [label.text() for label in labels]
        return "\n".join(parts)

    # ------------------------------------------------------------------ slots

    def _on_programmes_loaded(self, items: Any) -> None:
        self._show_programmes(items)
        self.programmes_loaded.emit(self.programmes)

    def _on_load_failed(self, exc: BaseException) -> None:
        self._error_label.setText(self._error_text(exc))
        self._stack.setCurrentWidget(self._error_label)
        self.statusBar().showMessage(self.tr("Không đọc được dữ liệu."), 10000)

    @Slot()
    def _on_create_button_clicked(self) -> None:
        self._create_button.setEnabled(False)
        self._runner.start(
            partial(_create_default_programme, self._factory),
            on_done=self._on_programme_created,
            on_error=self._on_create_failed,
        )

    def _on_programme_created(self, programme_id: Any) -> None:
        self._create_button.setEnabled(True)
        self.statusBar().showMessage(
            self.tr("Đã tạo chương trình số {id}.").format(id=programme_id), 10000
        )
        self.refresh()

    def _on_create_failed(self, exc: BaseException) -> None:
        self._create_button.setEnabled(True)
        QMessageBox.critical(self, self.tr("Không tạo được chương trình"), self._error_text(exc))

    @Slot(bool)
    def _on_runner_busy_changed(self, busy: bool) -> None:
        self._refresh_action.setEnabled(not busy)

    @Slot()
    def _on_about_action_triggered(self) -> None:
        QMessageBox.about(
            self,
            self.tr("Giới thiệu MBF Care"),
            self.tr(
                "MBF Care {version}\n\n"
                "Quản lý chương trình chăm sóc khách hàng và trao quà tặng "
                "của MobiFone (Khu vực 5).\n\nCơ sở dữ liệu: {db}"
            ).format(version=__version__, db=self._db_description),
        )

    def _error_text(self, exc: BaseException) -> str:
        if isinstance(exc, MbfCareError):
            return str(exc)
        logger.error("unexpected error", exc_info=exc)
        return self.tr("Lỗi không mong đợi: {error}. Hãy báo cho bộ phận IT.").format(
            error=f"{type(exc).__name__}: {exc}"
        )

    # ------------------------------------------------------------------ Qt overrides

    def closeEvent(self, event: QCloseEvent) -> None:
        # A read or a create in flight finishes (or rolls back) before the window goes away.
        self._runner.wait(10000)
        super().closeEvent(event)


def _scaled_font(font: QFont, factor: float, *, bold: bool = False) -> QFont:
    scaled = QFont(font)
    if scaled.pointSizeF() > 0:
        scaled.setPointSizeF(scaled.pointSizeF() * factor)
    scaled.setBold(bold)
    return scaled
