"""In ấn & SMS: pick a document and its scope, make the print (recorded, with fresh codes),
look at it in the window, print it through the system dialog or save the PDF; and the SMS
lists (`SmsPanel`)."""

from __future__ import annotations

import datetime as dt
import shutil
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, Qt, Signal, Slot
from PySide6.QtGui import QKeySequence, QPageSize, QPainter
from PySide6.QtPdf import QPdfDocument
from PySide6.QtPdfWidgets import QPdfView
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid
from sqlalchemy.orm import Session, sessionmaker

from mbfcare import paths
from mbfcare.domain.actors import Actor
from mbfcare.domain.values import format_number
from mbfcare.services import printing, queries
from mbfcare.services.printing import PrintResult, PrintRunDTO
from mbfcare.services.queries import FilterChoices
from mbfcare.ui import messages
from mbfcare.ui.sms_panel import SmsPanel
from mbfcare.ui.tasks import Task, TaskProgress, TaskRunner

PRINT_DPI = 300  # enough for the QR codes and small text; a page is ~35 MB while printed


class DocumentsPanel(QWidget):
    """Make, preview, print and save one kind of document for a scope of the care list.

    Signals:
        printed(object): a print was made and recorded (a `PrintResult`).
    """

    printed = Signal(object)

    def __init__(self, factory: sessionmaker[Session], runner: TaskRunner, actor: Actor,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._factory, self._runner, self._actor = factory, runner, actor
        self._programme_id: int | None = None
        self._batch: int | None = None
        self._task: Task | None = None
        self.result: PrintResult | None = None

        self.kind_combo = QComboBox(self)
        self.kind_combo.setObjectName("kind")
        for kind, text in (("receipts", self.tr("Biên bản giao nhận quà tặng")),
                           ("signature-list", self.tr("Danh sách khách hàng ký nhận quà")),
                           ("surveys", self.tr("Phiếu khảo sát ý kiến khách hàng")),
                           ("info-forms", self.tr("Phiếu thu thập thông tin khách hàng")),
                           ("invitations", self.tr("Giấy mời nhận quà (nhóm 2)"))):
            self.kind_combo.addItem(text, kind)
        self.group_combo = QComboBox(self)
        self.group_combo.addItem(self.tr("Tất cả"), None)
        self.group_combo.addItem(self.tr("Nhóm 1"), 1)
        self.group_combo.addItem(self.tr("Nhóm 2"), 2)
        self.district_combo = QComboBox(self)
        self.store_combo = QComboBox(self)
        for combo in (self.district_combo, self.store_combo):
            combo.addItem(self.tr("Tất cả"), None)
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.blank_spin = QSpinBox(self)
        self.blank_spin.setRange(0, 500)
        self.blank_spin.setToolTip(self.tr("Thêm phiếu trống để điền tay"))
        self.make_button = QPushButton(self.tr("Tạo bản in (Ctrl+P)"), self)
        self.make_button.setObjectName("make")
        self.make_button.setShortcut(QKeySequence("Ctrl+P"))
        self.make_button.setToolTip(self.tr(
            "Tạo tệp PDF và ghi vào sổ in; mã trên các bản in trước của cùng KH hết hiệu lực"))
        self.cancel_button = QPushButton(self.tr("Hủy"), self)
        self.cancel_button.hide()
        self.progress = QProgressBar(self)
        self.progress.hide()
        self.print_button = QPushButton(self.tr("In…"), self)
        self.save_button = QPushButton(self.tr("Lưu PDF…"), self)
        self.summary = QLabel(self)
        self.summary.setObjectName("summary")
        self.summary.setWordWrap(True)

        self.document = QPdfDocument(self)
        self.view = QPdfView(self)
        self.view.setDocument(self.document)
        self.view.setPageMode(QPdfView.PageMode.MultiPage)
        self.view.setZoomMode(QPdfView.ZoomMode.FitToWidth)
        # Fit-to-width with a scroll bar that comes and goes can re-layout for ever.
        self.view.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        self.log = QListWidget(self)
        self.log.setObjectName("print_log")

        form = QFormLayout()
        form.addRow(self.tr("Giấy tờ:"), self.kind_combo)
        form.addRow(self.tr("Nhóm:"), self.group_combo)
        form.addRow(self.tr("Quận/Huyện:"), self.district_combo)
        form.addRow(self.tr("Cửa hàng:"), self.store_combo)
        form.addRow(self.tr("Phiếu trống thêm:"), self.blank_spin)
        left = QVBoxLayout()
        left.addLayout(form)
        left.addWidget(self.make_button)
        row = QHBoxLayout()
        row.addWidget(self.progress, 1)
        row.addWidget(self.cancel_button)
        left.addLayout(row)
        left.addWidget(self.summary)
        buttons = QHBoxLayout()
        buttons.addWidget(self.print_button)
        buttons.addWidget(self.save_button)
        left.addLayout(buttons)
        left.addWidget(QLabel(self.tr("Sổ in (mới nhất trước):"), self))
        left.addWidget(self.log, 1)
        left_box = QWidget(self)
        left_box.setLayout(left)
        splitter = QSplitter(self)
        splitter.addWidget(left_box)
        splitter.addWidget(self.view)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([360, 900])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

        self.kind_combo.currentIndexChanged.connect(self._on_kind_changed)
        self.make_button.clicked.connect(self.make)
        self.cancel_button.clicked.connect(self._on_cancel_clicked)
        self.print_button.clicked.connect(self._on_print_clicked)
        self.save_button.clicked.connect(self._on_save_clicked)
        self._on_kind_changed()
        self._set_have_file(False)

    # --- public ---------------------------------------------------------------------------

    def set_programme(self, programme_id: int | None, batch: int | None) -> None:
        """Documents of this programme's batch."""
        self._programme_id, self._batch = programme_id, batch
        self.make_button.setEnabled(programme_id is not None and batch is not None)
        if programme_id is None:
            return
        # A head or a clerk chooses among his own district's or store's documents only.
        actor = self._actor
        self._runner.start(lambda _p: queries.filter_choices(self._factory, programme_id,
                                                             actor=actor),
                           on_done=self._on_choices, on_error=partial(messages.show_error,
                                                                      self))
        self._load_log()

    def set_actor(self, actor: Actor) -> None:
        """Who prints (recorded in the print log)."""
        self._actor = actor

    def make(self) -> None:
        """Make the print of the chosen document and scope, on the worker, then show it."""
        programme_id, batch = self._programme_id, self._batch
        if programme_id is None or batch is None or self._task is not None:
            return
        kind = str(self.kind_combo.currentData())
        folder = paths.data_dir() / "prints"
        folder.mkdir(parents=True, exist_ok=True)
        out = folder / f"{kind}_dot{batch}_{dt.datetime.now():%Y%m%d_%H%M%S}.pdf"
        options = {"programme_id": programme_id, "batch": batch,
                   "group": self.group_combo.currentData(),
                   "district": self.district_combo.currentData(),
                   "store": self.store_combo.currentData(),
                   "blank": self.blank_spin.value() if self.blank_spin.isEnabled() else 0}
        actor, factory = self._actor, self._factory

        def work(progress: TaskProgress) -> PrintResult:
            return printing.print_documents(factory, kind, out, actor=actor,
                                            progress=progress, **options)

        self._task = self._runner.start(work, on_done=self._on_made, on_error=self._on_failed)
        self._task.signals.progress_changed.connect(self._on_progress)
        self.progress.setValue(0)
        self.progress.show()
        self.cancel_button.show()
        self.make_button.setEnabled(False)

    def page_count(self) -> int:
        """Pages of the print shown (tests)."""
        return self.document.pageCount()

    def save_to(self, path: Path) -> None:
        """Copy the print shown to `path`."""
        if self.result is None:
            return
        try:
            shutil.copyfile(self.result.file, path)
        except OSError as exc:
            messages.show_error(self, exc)
            return
        messages.notify(self, self.tr("Đã lưu {file}.").format(file=path))

    # --- helpers ----------------------------------------------------------------------------

    def _set_have_file(self, have: bool) -> None:
        self.print_button.setEnabled(have)
        self.save_button.setEnabled(have)

    def _finish_task(self) -> None:
        self._task = None
        self.progress.hide()
        self.cancel_button.hide()
        self.make_button.setEnabled(self._programme_id is not None)

    def _load_log(self) -> None:
        programme_id = self._programme_id
        if programme_id is None:
            return
        self._runner.start(lambda _p: printing.print_runs(self._factory, programme_id,
                                                          limit=50),
                           on_done=self._on_log, on_error=lambda _exc: None)

    # --- slots ------------------------------------------------------------------------------

    @Slot()
    def _on_kind_changed(self) -> None:
        self.blank_spin.setEnabled(self.kind_combo.currentData() in ("surveys", "info-forms"))

    def _on_choices(self, choices: FilterChoices) -> None:
        if not isValid(self):
            return
        for combo, values in ((self.district_combo, choices.districts),
                              (self.store_combo, choices.stores)):
            keep = combo.currentData()
            combo.clear()
            combo.addItem(self.tr("Tất cả"), None)
            for value in values:
                combo.addItem(value, value)
            combo.setCurrentIndex(max(combo.findData(keep), 0))

    def _on_log(self, runs: list[PrintRunDTO]) -> None:
        if not isValid(self):
            return
        self.log.clear()
        words = {kind: self.kind_combo.itemText(i) for i in range(self.kind_combo.count())
                 for kind in [self.kind_combo.itemData(i)]}
        for run in runs:
            self.log.addItem(self.tr("{at} · {user} · {what}: {documents} tài liệu, {pages} trang")
                             .format(at=run.at.astimezone().strftime("%d/%m/%Y %H:%M"),
                                     user=run.user or "?", what=words.get(run.kind, run.kind),
                                     documents=format_number(run.documents),
                                     pages=format_number(run.pages)))

    @Slot(int, int, str)
    def _on_progress(self, done: int, total: int, _text: str) -> None:
        self.progress.setMaximum(max(total, 1))
        self.progress.setValue(done)

    def _on_made(self, result: PrintResult) -> None:
        if not isValid(self):
            return
        self._finish_task()
        self.result = result
        self.document.load(result.file)
        self._set_have_file(result.pages > 0)
        self.summary.setText(result.text)
        messages.notify(self, result.text)
        self._load_log()
        self.printed.emit(result)

    def _on_failed(self, exc: BaseException) -> None:
        if not isValid(self):
            return
        self._finish_task()
        messages.show_error(self, exc)

    @Slot()
    def _on_cancel_clicked(self) -> None:
        if self._task is not None:
            self._task.progress.cancel()

    @Slot()
    def _on_save_clicked(self) -> None:
        if self.result is None:
            return
        path, _ = QFileDialog.getSaveFileName(
            self, self.tr("Lưu PDF"), str(Path.home() / Path(self.result.file).name),
            self.tr("Tệp PDF (*.pdf)"))
        if path:
            self.save_to(Path(path))

    @Slot()
    def _on_print_clicked(self) -> None:
        if self.result is None or self.document.pageCount() == 0:
            return
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        printer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
        printer.setResolution(PRINT_DPI)
        printer.setFullPage(True)  # the PDF has its own margins (Nghị định 30)
        printer.setDocName(Path(self.result.file).name)
        dialog = QPrintDialog(printer, self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        self.print_to(printer)

    def print_to(self, printer: Any) -> int:
        """Send every page to `printer` (a QPrinter or any paint device); the pages sent."""
        painter = QPainter()
        if not painter.begin(printer):
            messages.show_error(self, OSError(self.tr("Không mở được máy in.")))
            return 0
        sent = 0
        try:
            for page in range(self.document.pageCount()):
                if page and hasattr(printer, "newPage"):
                    printer.newPage()
                target = painter.viewport()
                image = self.document.render(page, QSize(target.width(), target.height()))
                painter.drawImage(target, image)
                sent += 1
        finally:
            painter.end()
        return sent


class PrintPage(QWidget):
    """The In ấn & SMS section: two tabs, documents and SMS."""

    def __init__(self, factory: sessionmaker[Session], runner: TaskRunner, actor: Actor,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.documents = DocumentsPanel(factory, runner, actor, self)
        self.sms = SmsPanel(factory, runner, actor, self)
        self.tabs = QTabWidget(self)
        self.tabs.addTab(self.documents, self.tr("Giấy tờ"))
        self.tabs.addTab(self.sms, self.tr("SMS"))
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        self.tabs.currentChanged.connect(self._on_tab_changed)

    def set_programme(self, programme_id: int | None, batch: int | None) -> None:
        """Both tabs follow the toolbar's programme and batch."""
        self.documents.set_programme(programme_id, batch)
        self.sms.set_programme(programme_id, batch)

    def set_actor(self, actor: Actor) -> None:
        """Who prints and sends."""
        self.documents.set_actor(actor)
        self.sms.set_actor(actor)

    @Slot(int)
    def _on_tab_changed(self, index: int) -> None:
        if self.tabs.widget(index) is self.sms:
            self.sms.refresh()
