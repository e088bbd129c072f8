"""Báo cáo: the progress, survey and stock reports (shown in the window as their PDF, saved as
PDF or XLSX), the regional workbook ("Xuất gửi KV5"), for the regional office the
consolidation of the provinces' workbooks ("Tổng hợp các tỉnh"), and the audit log ("Nhật ký
thao tác", administrators)."""

from __future__ import annotations

import datetime as dt
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtPdf import QPdfDocument
from PySide6.QtPdfWidgets import QPdfView
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QStackedWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid
from sqlalchemy.orm import Session, sessionmaker

from mbfcare import paths
from mbfcare.domain.actors import Actor
from mbfcare.services import consolidation, exporting, reports
from mbfcare.ui import messages
from mbfcare.ui.audit_page import AuditPanel
from mbfcare.ui.tasks import TaskProgress, TaskRunner

REPORT_KINDS = ("progress", "survey", "stock")


class ReportPanel(QWidget):
    """One report: batch filter, "Xem" (made as PDF and shown), "Lưu PDF…", "Lưu Excel…".

    Signals:
        shown(object): the report was made and shown (a `ReportResult`).
    """

    shown = Signal(object)

    def __init__(self, kind: str, factory: sessionmaker[Session], runner: TaskRunner,
                 actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind = kind
        self._factory, self._runner, self._actor = factory, runner, actor
        self._programme_id: int | None = None
        self._batches: list[int] = []
        self.result: Any = None
        self.batch_combo = QComboBox(self)
        self.batch_combo.addItem(self.tr("Cả chương trình"), None)
        self.show_button = QPushButton(self.tr("Xem (F5)"), self)
        self.show_button.setShortcut(QKeySequence("F5"))
        self.pdf_button = QPushButton(self.tr("Lưu PDF…"), self)
        self.xlsx_button = QPushButton(self.tr("Lưu Excel…"), self)
        self.summary = QLabel(self)
        self.summary.setWordWrap(True)
        self.document = QPdfDocument(self)
        self.view = QPdfView(self)
        self.view.setDocument(self.document)
        self.view.setPageMode(QPdfView.PageMode.MultiPage)
        self.view.setZoomMode(QPdfView.ZoomMode.FitToWidth)
        # Fit-to-width with a scroll bar that comes and goes can re-layout for ever.
        self.view.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        row = QHBoxLayout()
        row.addWidget(QLabel(self.tr("Đợt:"), self))
        row.addWidget(self.batch_combo)
        row.addWidget(self.show_button)
        row.addStretch(1)
        row.addWidget(self.pdf_button)
        row.addWidget(self.xlsx_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.summary)
        layout.addWidget(self.view, 1)
        self.show_button.clicked.connect(self.show_report)
        self.pdf_button.clicked.connect(partial(self._on_save_clicked, ".pdf"))
        self.xlsx_button.clicked.connect(partial(self._on_save_clicked, ".xlsx"))

    def set_programme(self, programme_id: int | None, batches: list[int],
                      batch: int | None) -> None:
        """The programme's batches in the filter; the toolbar's batch chosen."""
        self._programme_id = programme_id
        keep = batch
        self.batch_combo.clear()
        self.batch_combo.addItem(self.tr("Cả chương trình"), None)
        for number in batches:
            self.batch_combo.addItem(self.tr("Đợt {n}").format(n=number), number)
        self.batch_combo.setCurrentIndex(max(self.batch_combo.findData(keep), 0))
        for button in (self.show_button, self.pdf_button, self.xlsx_button):
            button.setEnabled(programme_id is not None)

    def set_actor(self, actor: Actor) -> None:
        """Who makes the reports."""
        self._actor = actor

    def page_count(self) -> int:
        """Pages of the report shown (tests)."""
        return self.document.pageCount()

    def write_to(self, out: Path, on_done: Any = None) -> None:
        """Make the report into `out` (PDF or XLSX by its suffix), on the worker."""
        programme_id, batch = self._programme_id, self.batch_combo.currentData()
        if programme_id is None:
            return
        kind, actor, factory = self.kind, self._actor, self._factory

        def work(_progress: TaskProgress) -> Any:
            return reports.write_report(factory, kind, out, programme_id=programme_id,
                                        batch=batch, actor=actor)

        self._runner.start(work, on_done=on_done or self._on_saved,
                           on_error=partial(messages.show_error, self))

    @Slot()
    def show_report(self) -> None:
        """Make the PDF into the data folder and show it."""
        folder = paths.data_dir() / "reports"
        folder.mkdir(parents=True, exist_ok=True)
        out = folder / f"bao_cao_{self.kind}_{dt.datetime.now():%Y%m%d_%H%M%S}.pdf"
        self.write_to(out, on_done=self._on_shown)

    def _on_shown(self, result: Any) -> None:
        if not isValid(self):
            return
        self.result = result
        self.document.load(str(result.file))
        self.summary.setText(result.text if hasattr(result, "text") else str(result.file))
        self.shown.emit(result)

    def _on_saved(self, result: Any) -> None:
        if isValid(self):
            messages.notify(self, result.text if hasattr(result, "text") else str(result.file))

    @Slot(str)
    def _on_save_clicked(self, suffix: str) -> None:
        names = {"progress": "bao_cao_tien_do", "survey": "bao_cao_khao_sat",
                 "stock": "quyet_toan_qua"}
        filters = {".pdf": self.tr("Tệp PDF (*.pdf)"), ".xlsx": self.tr("Tệp Excel (*.xlsx)")}
        path, _ = QFileDialog.getSaveFileName(
            self, self.tr("Lưu báo cáo"), str(Path.home() / f"{names[self.kind]}{suffix}"),
            filters[suffix])
        if path:
            self.write_to(Path(path))


class ConsolidationPanel(QWidget):
    """For the regional office: choose the provinces' workbooks (or drop them), merge them.

    Signals:
        merged(object): the consolidation was written (a `ConsolidationResult`).
    """

    merged = Signal(object)

    def __init__(self, runner: TaskRunner, actor: Actor, parent: QWidget | None = None, *,
                 factory: sessionmaker[Session] | None = None) -> None:
        super().__init__(parent)
        self._runner, self._actor, self._factory = runner, actor, factory
        self.setAcceptDrops(True)
        self.files = QListWidget(self)
        self.files.setObjectName("files")
        self.files.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.add_button = QPushButton(self.tr("Thêm tệp… (Ctrl+O)"), self)
        self.add_button.setShortcut(QKeySequence("Ctrl+O"))
        self.remove_button = QPushButton(self.tr("Bỏ tệp đã chọn (Del)"), self)
        self.remove_button.setShortcut(QKeySequence.StandardKey.Delete)
        self.run_button = QPushButton(self.tr("Tổng hợp…"), self)
        self.result_view = QTextBrowser(self)
        self.result_view.setObjectName("result")
        hint = QLabel(self.tr("Chọn hoặc kéo thả các tệp Excel các tỉnh gửi về (xuất từ MBF Care). "
                              "Tệp đã bị sửa sau khi xuất, tệp của chương trình khác hoặc không "
                              "đọc được sẽ bị loại và nêu lý do; KH trùng chỉ tính một lần."), self)
        hint.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        buttons.addWidget(self.run_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(hint)
        layout.addWidget(self.files, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.result_view, 1)
        self.add_button.clicked.connect(self._on_add_clicked)
        self.remove_button.clicked.connect(self._on_remove_clicked)
        self.run_button.clicked.connect(self._on_run_clicked)

    def set_actor(self, actor: Actor) -> None:
        """Who consolidates (printed in the output's ThongTin)."""
        self._actor = actor

    def add_files(self, paths_: list[Path]) -> None:
        """Add workbooks to the list (each once)."""
        present = {self.files.item(i).data(Qt.ItemDataRole.UserRole)
                   for i in range(self.files.count())}
        for path in paths_:
            if str(path) not in present and path.suffix.lower() == ".xlsx":
                present.add(str(path))
                self.files.addItem(path.name)
                item = self.files.item(self.files.count() - 1)
                item.setData(Qt.ItemDataRole.UserRole, str(path))
                item.setToolTip(str(path))

    def chosen(self) -> list[Path]:
        """The workbooks listed."""
        return [Path(self.files.item(i).data(Qt.ItemDataRole.UserRole))
                for i in range(self.files.count())]

    def run(self, out: Path) -> None:
        """Merge the listed workbooks into `out`, on the worker."""
        chosen, actor, factory = self.chosen(), self._actor, self._factory

        def work(progress: TaskProgress) -> Any:
            # The merged file holds every province's customers: recorded in this office's log.
            return consolidation.consolidate(chosen, out, progress=progress, actor=actor,
                                             factory=factory)

        self.run_button.setEnabled(False)
        self._runner.start(work, on_done=self._on_merged, on_error=self._on_failed)

    def result_text(self) -> str:
        """The result shown (tests)."""
        return self.result_view.toPlainText()

    def _on_merged(self, result: Any) -> None:
        if not isValid(self):
            return
        self.run_button.setEnabled(True)
        self.result_view.setPlainText(result.text)
        messages.notify(self, self.tr("Đã tổng hợp: {file}").format(file=result.file))
        self.merged.emit(result)

    def _on_failed(self, exc: BaseException) -> None:
        if not isValid(self):
            return
        self.run_button.setEnabled(True)
        self.result_view.setPlainText(str(exc))
        messages.show_error(self, exc)

    @Slot()
    def _on_add_clicked(self) -> None:
        names, _ = QFileDialog.getOpenFileNames(self, self.tr("Chọn tệp các tỉnh"),
                                                str(Path.home()),
                                                self.tr("Tệp Excel (*.xlsx)"))
        self.add_files([Path(n) for n in names])

    @Slot()
    def _on_remove_clicked(self) -> None:
        for item in self.files.selectedItems():
            self.files.takeItem(self.files.row(item))

    @Slot()
    def _on_run_clicked(self) -> None:
        if self.files.count() < 1:
            messages.notify(self, self.tr("Chưa chọn tệp nào."))
            return
        path, _ = QFileDialog.getSaveFileName(
            self, self.tr("Lưu tệp tổng hợp"), str(Path.home() / "KV5_tong_hop.xlsx"),
            self.tr("Tệp Excel (*.xlsx)"))
        if path:
            self.run(Path(path))

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        """Accept dropped files."""
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        """Add the dropped workbooks."""
        self.add_files([Path(url.toLocalFile()) for url in event.mimeData().urls()
                        if url.isLocalFile()])


class RegionalPanel(QWidget):
    """"Xuất gửi KV5": the province's workbook for the regional office."""

    exported = Signal(object)

    def __init__(self, factory: sessionmaker[Session], runner: TaskRunner, actor: Actor,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._factory, self._runner, self._actor = factory, runner, actor
        self._programme_id: int | None = None
        self.export_button = QPushButton(self.tr("Xuất tệp gửi MBF KV5…"), self)
        self.result_view = QLabel(self)
        self.result_view.setWordWrap(True)
        self.result_view.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        text = QLabel(self.tr(
            "Tệp Excel theo mẫu của MBF KV5: ChiTiet (mỗi KH một dòng, kết quả chăm sóc), "
            "TongHop, KhoQua, KhaoSat, ThongTin (quy định áp dụng, mã SHA-256 để KV5 phát "
            "hiện tệp bị sửa)."), self)
        text.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(text)
        layout.addWidget(self.export_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.result_view)
        layout.addStretch(1)
        self.export_button.clicked.connect(self._on_export_clicked)

    def set_actor(self, actor: Actor) -> None:
        """Who exports (printed in ThongTin)."""
        self._actor = actor

    def set_programme(self, programme_id: int | None) -> None:
        """The programme to export."""
        self._programme_id = programme_id
        self.export_button.setEnabled(programme_id is not None)

    def export_to(self, out: Path) -> None:
        """Write the workbook to `out`, on the worker."""
        programme_id, actor = self._programme_id, self._actor
        if programme_id is None:
            return
        self._runner.start(
            lambda _p: exporting.export_regional(self._factory, out, programme_id=programme_id,
                                                 actor=actor),
            on_done=self._on_exported, on_error=partial(messages.show_error, self))

    def _on_exported(self, result: Any) -> None:
        if not isValid(self):
            return
        rows = " · ".join(f"{sheet}: {count}" for sheet, count in result.rows.items())
        self.result_view.setText(self.tr("Đã xuất {file}\n{rows}\nSHA-256 ChiTiet: {sha}")
                                 .format(file=result.file, rows=rows, sha=result.sha256))
        messages.notify(self, self.tr("Đã xuất tệp gửi MBF KV5."))
        self.exported.emit(result)

    @Slot()
    def _on_export_clicked(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, self.tr("Xuất tệp gửi MBF KV5"), str(paths.data_dir() / "gui_KV5.xlsx"),
            self.tr("Tệp Excel (*.xlsx)"))
        if path:
            self.export_to(Path(path))


class ReportsPage(QWidget):
    """The Báo cáo section: a list of what can be made, and the chosen one beside it."""

    def __init__(self, factory: sessionmaker[Session], runner: TaskRunner, actor: Actor,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.menu = QListWidget(self)
        self.menu.setObjectName("reports_menu")
        self.menu.setFixedWidth(230)
        self.stack = QStackedWidget(self)
        self.panels: dict[str, QWidget] = {}
        titles = {"progress": self.tr("Tiến độ chăm sóc"), "survey": self.tr("Kết quả khảo sát"),
                  "stock": self.tr("Quyết toán quà (kho)"),
                  "regional": self.tr("Xuất gửi KV5"),
                  "consolidate": self.tr("Tổng hợp các tỉnh (KV5)"),
                  "audit": self.tr("Nhật ký thao tác")}
        for kind in REPORT_KINDS:
            self.panels[kind] = ReportPanel(kind, factory, runner, actor, self)
        self.panels["regional"] = RegionalPanel(factory, runner, actor, self)
        self.panels["consolidate"] = ConsolidationPanel(runner, actor, self, factory=factory)
        self.audit = AuditPanel(factory, runner, actor, self)
        self.panels["audit"] = self.audit
        for key, title in titles.items():
            self.menu.addItem(title)
            self.stack.addWidget(self.panels[key])
        layout = QHBoxLayout(self)
        layout.addWidget(self.menu)
        layout.addWidget(self.stack, 1)
        self.menu.currentRowChanged.connect(self.stack.setCurrentIndex)
        self.menu.currentRowChanged.connect(self._on_menu_current_row_changed)
        self.menu.setCurrentRow(0)

    def set_programme(self, programme_id: int | None, batch: int | None,
                      batches: list[int] | None = None) -> None:
        """Every report follows the toolbar's programme and batch."""
        for kind in REPORT_KINDS:
            panel = self.panels[kind]
            assert isinstance(panel, ReportPanel)
            panel.set_programme(programme_id, list(batches or []), batch)
        regional = self.panels["regional"]
        assert isinstance(regional, RegionalPanel)
        regional.set_programme(programme_id)
        self.audit.set_programme(programme_id)

    def set_actor(self, actor: Actor) -> None:
        """Who makes the reports."""
        for panel in self.panels.values():
            assert isinstance(panel, ReportPanel | RegionalPanel | ConsolidationPanel
                              | AuditPanel)
            panel.set_actor(actor)

    def show_panel(self, key: str) -> None:
        """Select a report by its key."""
        self.menu.setCurrentRow(list(self.panels).index(key))

    @Slot(int)
    def _on_menu_current_row_changed(self, row: int) -> None:
        # The log is read when first opened (and on "Lọc"), not with every other report.
        if list(self.panels)[row:row + 1] == ["audit"]:
            self.audit.refresh()

