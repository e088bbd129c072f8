"""The "Nhập dữ liệu" section: a six-step import wizard over the import services.

1 Chọn tệp → 2 Sheet & dòng tiêu đề → 3 Ghép cột → 4 Kiểm tra (dry run) → 5 Nhập → 6 Kết quả.
Reading the file, the dry run and the import run on the task runner; the widget only shows
their results and passes the user's choices (sheet, header row, mapping, batch, care month)
to `import_subscribers`, so what the user saw is what is imported.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QElapsedTimer,
    QModelIndex,
    QPersistentModelIndex,
    QSettings,
    Qt,
    QUrl,
    Signal,
    Slot,
)
from PySide6.QtGui import (
    QBrush,
    QColor,
    QDesktopServices,
    QDragEnterEvent,
    QDropEvent,
    QFont,
    QKeyEvent,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QStackedWidget,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.domain.actors import Actor
from mbfcare.domain.headers import resolve_month
from mbfcare.errors import Cancelled
from mbfcare.services import importing, layouts, programmes
from mbfcare.services.accounts import local_actor
from mbfcare.services.importing import FieldMatch, FilePreview, ImportResult
from mbfcare.services.programmes import BatchInfo
from mbfcare.ui import messages
from mbfcare.ui.tasks import Task, TaskProgress, TaskRunner

logger = logging.getLogger(__name__)

SUFFIXES = (".xlsx", ".xlsm", ".xls", ".csv")
RECENT_KEY = "ImportWizardWidget/recent_files"
MAX_RECENT = 8
(STEP_FILE, STEP_SHEET, STEP_MAPPING, STEP_CHECK, STEP_IMPORT, STEP_RESULT) = range(6)
_CARE_MONTH = re.compile(r"^\s*(\d{1,2})\s*/\s*(\d{4})\s*$")
_HEADER_BACKGROUND = QColor(255, 236, 179)  # amber: "the row read as the header"
_NO_COLUMN = -1
_SAMPLE_CHARS = 32  # a long address would push the ticks off the page
_ROOT = QModelIndex()  # the default parent of a flat table


def _vn(value: int) -> str:
    """`1234567` → `1.234.567`."""
    return f"{value:,}".replace(",", ".")


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _parse_care_month(text: str) -> tuple[int, int] | None:
    match = _CARE_MONTH.match(text)
    if not match:
        return None
    month, year = int(match.group(1)), int(match.group(2))
    return (year, month) if 1 <= month <= 12 and 1990 <= year <= 2100 else None


# --------------------------------------------------------------------------- workers


def _load_preview(path: Path, sheet: str | None, _progress: TaskProgress
                  ) -> tuple[FilePreview, dict[str, dict[str, int]]]:
    """Worker: the file's preview and the remembered layouts. No UI calls here."""
    return importing.preview_file(path, sheet), layouts.load_layouts()


def _load_batches(factory: sessionmaker[Session], programme_id: int | None,
                  _progress: TaskProgress) -> list[BatchInfo]:
    """Worker: the batches of the programme (or of the only one). No UI calls here."""
    found = programmes.list_programmes(factory)
    for programme in found:
        if programme.id == programme_id or (programme_id is None and len(found) == 1):
            return list(programme.batches)
    return []


@dataclass(frozen=True)
class ImportChoices:
    """Everything the user chose, as `import_subscribers` takes it."""

    path: Path
    programme_id: int | None
    sheet: str | None
    header_row: int
    mapping: dict[str, int]
    headers: tuple[str, ...]
    batch: int | None
    care_month: str | None


def _run_import(factory: sessionmaker[Session], choices: ImportChoices, actor: Actor,
                dry_run: bool, progress: TaskProgress) -> ImportResult:
    """Worker: the dry run or the import; remembers the mapping once imported. No UI calls."""
    result = importing.import_subscribers(
        factory, choices.path, programme_id=choices.programme_id, batch=choices.batch,
        care_month=choices.care_month, sheet=choices.sheet, header_row=choices.header_row,
        mapping=choices.mapping, dry_run=dry_run, actor=actor, progress=progress,
    )
    if not dry_run:
        try:
            layouts.remember_mapping(choices.headers, choices.mapping)
        except OSError:  # losing a remembered layout only costs the user a few clicks
            logger.warning("could not remember the column mapping", exc_info=True)
    return result


# --------------------------------------------------------------------------- pieces


class PreviewTableModel(QAbstractTableModel):
    """The first rows of a sheet as text; the header row is highlighted and bold."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: tuple[tuple[str, ...], ...] = ()
        self._width = 0
        self._first_row = 1
        self._first_column = 0
        self._header_row: int | None = None
        self._hidden: frozenset[int] = frozenset()

    def set_preview(self, preview: FilePreview | None) -> None:
        """Show another preview (or nothing)."""
        self.beginResetModel()
        if preview is None:
            self._rows, self._width, self._header_row = (), 0, None
        else:
            self._rows, self._width = preview.rows, preview.width
            self._first_row, self._first_column = preview.first_row, preview.first_column
            self._header_row, self._hidden = preview.header_row, preview.hidden_columns
        self.endResetModel()

    def sheet_row(self, row: int) -> int:
        """The sheet row number of a model row."""
        return self._first_row + row

    def header_index(self) -> int | None:
        """The model row of the header, if it is shown."""
        if self._header_row is None:
            return None
        index = self._header_row - self._first_row
        return index if 0 <= index < len(self._rows) else None

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else self._width

    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        is_header = index.row() == self.header_index()
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            row = self._rows[index.row()]
            text = row[index.column()] if index.column() < len(row) else ""
            return _one_line(text) if role == Qt.ItemDataRole.DisplayRole else (text or None)
        if role == Qt.ItemDataRole.BackgroundRole and is_header:
            return QBrush(_HEADER_BACKGROUND)
        if role == Qt.ItemDataRole.FontRole and is_header:
            font = QFont()
            font.setBold(True)
            return font
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            letter = _column_letter(section + self._first_column)
            hidden = section + self._first_column in self._hidden
            return self.tr("{letter} (ẩn)").format(letter=letter) if hidden else letter
        number = self._first_row + section
        # the header row is marked by a word too, not by colour alone
        return f"▶ {number}" if section == self.header_index() else str(number)


class FileDropZone(QFrame):
    """A frame that takes one spreadsheet or CSV file dropped on it.

    Signals:
        file_dropped(str): the local path of the file.
    """

    file_dropped = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setFrameShadow(QFrame.Shadow.Sunken)
        self.setMinimumHeight(110)
        layout = QVBoxLayout(self)
        label = QLabel(self.tr("Kéo tệp Excel (.xlsx, .xlsm, .xls) hoặc CSV thả vào đây"), self)
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        label.setWordWrap(True)
        layout.addWidget(label)

    @staticmethod
    def accepted_path(event: QDragEnterEvent | QDropEvent) -> str | None:
        """The first local file with a known suffix among the dragged URLs."""
        mime = event.mimeData()
        if mime is None or not mime.hasUrls():
            return None
        for url in mime.urls():
            path = url.toLocalFile()
            if path and Path(path).suffix.lower() in SUFFIXES:
                return path
        return None

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self.accepted_path(event):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        path = self.accepted_path(event)
        if path is None:
            event.ignore()
            return
        event.acceptProposedAction()
        self.file_dropped.emit(path)


@dataclass
class _FieldRow:
    match: FieldMatch
    combo: QComboBox
    samples: QLabel
    status: QLabel


# --------------------------------------------------------------------------- the wizard


class ImportWizardWidget(QWidget):
    """The import wizard page of the main window (not a modal dialog).

    Enter goes to the next step, Esc back (on step 5, Esc cancels the import).

    Signals:
        import_finished(object): the `ImportResult` of a finished import.
        classify_requested(int): the user asked to classify this batch next.
        preview_loaded(object): a `FilePreview` is shown (file or sheet chosen).
        dry_run_finished(object): the `ImportResult` of the check (step 4).
        progress_changed(int, int, str): the running import's progress (done, total, text).
        step_changed(int): the step now shown (0-based).
    """

    import_finished = Signal(object)
    classify_requested = Signal(int)
    preview_loaded = Signal(object)
    dry_run_finished = Signal(object)
    progress_changed = Signal(int, int, str)
    step_changed = Signal(int)

    def __init__(self, factory: sessionmaker[Session], runner: TaskRunner,
                 parent: QWidget | None = None, *, settings: QSettings | None = None,
                 actor: Actor | None = None) -> None:
        super().__init__(parent)
        self._factory = factory
        self._runner = runner
        self.actor = actor or local_actor()
        self._settings = settings if settings is not None else QSettings()
        self._programme_id: int | None = None
        self._wanted_batch: int | None = None
        self._batches: list[BatchInfo] = []
        self._path: Path | None = None
        self._preview: FilePreview | None = None
        self._layouts: dict[str, dict[str, int]] = {}
        self._field_rows: list[_FieldRow] = []
        self._task: Task | None = None
        self._choices: ImportChoices | None = None
        self._dry_result: ImportResult | None = None
        self._result: ImportResult | None = None
        self._updating = False  # programmatic changes do not count as the user's
        self._care_auto = True  # the care month field follows the batch until typed in
        self._clock = QElapsedTimer()

        self._build()
        self._load_recent()
        self._show_step(STEP_FILE)

    # ------------------------------------------------------------------ public API

    def set_programme(self, programme_id: int | None, batch: int | None) -> None:
        """Follow the programme and batch chosen in the main window's toolbar."""
        self._programme_id = programme_id
        self._wanted_batch = batch
        self._runner.start(partial(_load_batches, self._factory, programme_id),
                           on_done=self._on_batches_loaded,
                           on_error=lambda exc: messages.show_error(self, exc))

    def open_file(self, path: str | Path) -> None:
        """Read a file's preview (on the runner) and go to step 2 when it arrives."""
        self._path = Path(path)
        self._file_status.setText(self.tr("Đang đọc {name}…").format(name=self._path.name))
        self._start(partial(_load_preview, self._path, None), self._on_preview_loaded,
                    self._on_preview_failed)

    def current_step(self) -> int:
        """The step shown (0-based: 0 Chọn tệp … 5 Kết quả)."""
        return self._pages.currentIndex()

    def mapping(self) -> dict[str, int]:
        """The mapping as the user has set it on step 3."""
        return {row.match.key: int(row.combo.currentData()) for row in self._field_rows
                if int(row.combo.currentData()) != _NO_COLUMN}

    def result(self) -> ImportResult | None:
        """The last finished import."""
        return self._result

    # ------------------------------------------------------------------ construction

    def _build(self) -> None:
        outer = QVBoxLayout(self)
        steps = QHBoxLayout()
        self._step_labels = []
        for text in (self.tr("1 Chọn tệp"), self.tr("2 Sheet & dòng tiêu đề"),
                     self.tr("3 Ghép cột"), self.tr("4 Kiểm tra"), self.tr("5 Nhập"),
                     self.tr("6 Kết quả")):
            label = QLabel(text, self)
            steps.addWidget(label)
            self._step_labels.append(label)
        steps.addStretch(1)
        outer.addLayout(steps)

        self._pages = QStackedWidget(self)
        for build in (self._build_file_page, self._build_sheet_page, self._build_mapping_page,
                      self._build_check_page, self._build_import_page,
                      self._build_result_page):
            self._pages.addWidget(build())
        outer.addWidget(self._pages, 1)

        buttons = QHBoxLayout()
        self._back_button = QPushButton(self.tr("Quay lại (Esc)"), self)
        self._back_button.clicked.connect(self._on_back_button_clicked)
        self._next_button = QPushButton(self.tr("Tiếp tục (Enter)"), self)
        self._next_button.clicked.connect(self._on_next_button_clicked)
        buttons.addStretch(1)
        buttons.addWidget(self._back_button)
        buttons.addWidget(self._next_button)
        outer.addLayout(buttons)

    def _build_file_page(self) -> QWidget:
        page = QWidget(self)
        layout = QVBoxLayout(page)
        self._choose_button = QPushButton(self.tr("Chọn tệp…"), page)
        self._choose_button.setToolTip(self.tr("Chọn tệp danh sách thuê bao (Excel hoặc CSV)"))
        self._choose_button.clicked.connect(self._on_choose_button_clicked)
        layout.addWidget(self._choose_button, 0, Qt.AlignmentFlag.AlignLeft)
        self._drop_zone = FileDropZone(page)
        self._drop_zone.file_dropped.connect(self._on_drop_zone_file_dropped)
        layout.addWidget(self._drop_zone)
        layout.addWidget(QLabel(self.tr("Tệp gần đây (Enter để mở tệp đang chọn):"), page))
        self._recent_list = QListWidget(page)
        self._recent_list.itemDoubleClicked.connect(self._on_recent_list_item_double_clicked)
        layout.addWidget(self._recent_list, 1)
        self._file_status = QLabel(page)
        self._file_status.setWordWrap(True)
        layout.addWidget(self._file_status)
        return page

    def _build_sheet_page(self) -> QWidget:
        page = QWidget(self)
        layout = QVBoxLayout(page)
        form = QFormLayout()
        self._sheet_combo = QComboBox(page)
        self._sheet_combo.currentIndexChanged.connect(self._on_sheet_combo_index_changed)
        form.addRow(self.tr("Sheet:"), self._sheet_combo)
        row = QHBoxLayout()
        self._header_spin = QSpinBox(page)
        self._header_spin.setSpecialValueText(self.tr("(chưa chọn)"))
        self._header_spin.valueChanged.connect(self._on_header_spin_value_changed)
        row.addWidget(self._header_spin)
        self._use_row_button = QPushButton(self.tr("Dùng dòng đang chọn làm tiêu đề"), page)
        self._use_row_button.clicked.connect(self._on_use_row_button_clicked)
        row.addWidget(self._use_row_button)
        row.addStretch(1)
        form.addRow(self.tr("Dòng tiêu đề:"), row)
        layout.addLayout(form)
        self._header_info = QLabel(page)
        self._header_info.setWordWrap(True)
        layout.addWidget(self._header_info)
        self._grid_model = PreviewTableModel(page)
        self._grid = QTableView(page)
        self._grid.setModel(self._grid_model)
        self._grid.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self._grid.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self._grid.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self._grid.doubleClicked.connect(self._on_grid_double_clicked)
        layout.addWidget(self._grid, 1)
        return page

    def _build_mapping_page(self) -> QWidget:
        page = QWidget(self)
        layout = QVBoxLayout(page)
        form = QFormLayout()
        self._batch_combo = QComboBox(page)
        self._batch_combo.addItem(self.tr("Không gắn đợt"), 0)
        self._batch_combo.currentIndexChanged.connect(self._on_batch_combo_index_changed)
        form.addRow(self.tr("Đợt:"), self._batch_combo)
        self._care_edit = QLineEdit(page)
        self._care_edit.setPlaceholderText(self.tr("MM/YYYY, ví dụ 09/2017"))
        self._care_edit.textEdited.connect(self._on_care_edit_text_edited)
        form.addRow(self.tr("Tháng chăm sóc:"), self._care_edit)
        layout.addLayout(form)
        self._care_note = QLabel(page)
        self._care_note.setWordWrap(True)
        layout.addWidget(self._care_note)
        self._layout_note = QLabel(page)
        self._layout_note.setWordWrap(True)
        layout.addWidget(self._layout_note)
        scroll = QScrollArea(page)
        scroll.setWidgetResizable(True)
        self._fields_widget = QWidget()
        self._fields_grid = QGridLayout(self._fields_widget)
        scroll.setWidget(self._fields_widget)
        layout.addWidget(scroll, 1)
        self._mapping_problem = QLabel(page)
        self._mapping_problem.setWordWrap(True)
        self._mapping_problem.setStyleSheet("color: #b00020")
        layout.addWidget(self._mapping_problem)
        return page

    def _build_check_page(self) -> QWidget:
        page = QWidget(self)
        layout = QVBoxLayout(page)
        self._check_summary = QLabel(page)
        self._check_summary.setWordWrap(True)
        self._check_summary.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self._check_summary)
        layout.addWidget(QLabel(self.tr("Lý do từ chối:"), page))
        self._reasons_table = QTableWidget(0, 2, page)
        self._reasons_table.setHorizontalHeaderLabels([self.tr("Lý do"), self.tr("Số dòng")])
        self._reasons_table.horizontalHeader().setSectionResizeMode(
            0, QHeaderView.ResizeMode.Stretch)
        self._reasons_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        layout.addWidget(self._reasons_table, 1)
        layout.addWidget(QLabel(self.tr("Các dòng bị từ chối đầu tiên:"), page))
        self._rejected_table = QTableWidget(0, 2, page)
        self._rejected_table.setHorizontalHeaderLabels([self.tr("Dòng"), self.tr("Lý do")])
        self._rejected_table.horizontalHeader().setSectionResizeMode(
            1, QHeaderView.ResizeMode.Stretch)
        self._rejected_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        layout.addWidget(self._rejected_table, 2)
        return page

    def _build_import_page(self) -> QWidget:
        page = QWidget(self)
        layout = QVBoxLayout(page)
        self._import_label = QLabel(page)
        layout.addWidget(self._import_label)
        self._progress_bar = QProgressBar(page)
        layout.addWidget(self._progress_bar)
        self._rate_label = QLabel(page)
        layout.addWidget(self._rate_label)
        self._cancel_button = QPushButton(self.tr("Hủy (Esc)"), page)
        self._cancel_button.setToolTip(self.tr("Dừng và hoàn tác: không có gì được lưu"))
        self._cancel_button.clicked.connect(self._on_cancel_button_clicked)
        layout.addWidget(self._cancel_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addStretch(1)
        return page

    def _build_result_page(self) -> QWidget:
        page = QWidget(self)
        layout = QVBoxLayout(page)
        self._result_summary = QLabel(page)
        self._result_summary.setWordWrap(True)
        self._result_summary.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self._result_summary)
        row = QHBoxLayout()
        self._open_rejects_button = QPushButton(self.tr("Mở tệp dòng bị từ chối"), page)
        self._open_rejects_button.clicked.connect(self._on_open_rejects_button_clicked)
        row.addWidget(self._open_rejects_button)
        self._classify_button = QPushButton(self.tr("Xếp danh sách đợt…"), page)
        self._classify_button.clicked.connect(self._on_classify_button_clicked)
        row.addWidget(self._classify_button)
        self._again_button = QPushButton(self.tr("Nhập tệp khác"), page)
        self._again_button.clicked.connect(self._on_again_button_clicked)
        row.addWidget(self._again_button)
        row.addStretch(1)
        layout.addLayout(row)
        layout.addStretch(1)
        return page

    # ------------------------------------------------------------------ steps

    def _show_step(self, step: int) -> None:
        self._pages.setCurrentIndex(step)
        for i, label in enumerate(self._step_labels):
            font = label.font()
            font.setBold(i == step)
            label.setFont(font)
            label.setEnabled(i <= step)
        next_texts = {
            STEP_FILE: self.tr("Tiếp tục (Enter)"), STEP_SHEET: self.tr("Tiếp tục (Enter)"),
            STEP_MAPPING: self.tr("Kiểm tra (Enter)"), STEP_CHECK: self.tr("Nhập (Enter)"),
            STEP_IMPORT: self.tr("Nhập (Enter)"), STEP_RESULT: self.tr("Nhập tệp khác (Enter)"),
        }
        self._next_button.setText(next_texts[step])
        focus = {STEP_FILE: self._choose_button, STEP_SHEET: self._grid,
                 STEP_MAPPING: self._care_edit, STEP_CHECK: self._next_button,
                 STEP_IMPORT: self._cancel_button, STEP_RESULT: self._next_button}[step]
        self._update_buttons()
        focus.setFocus()
        self.step_changed.emit(step)

    def _busy(self) -> bool:
        return self._task is not None

    def _update_buttons(self) -> None:
        step = self.current_step()
        busy = self._busy()
        can_next = {
            STEP_FILE: self._recent_list.currentItem() is not None,
            STEP_SHEET: self._preview is not None and self._preview.header_row is not None,
            STEP_MAPPING: not self._mapping_problems(),
            STEP_CHECK: self._dry_result is not None,
            STEP_IMPORT: False,
            STEP_RESULT: True,
        }[step]
        self._next_button.setEnabled(can_next and not busy)
        self._back_button.setEnabled(step not in (STEP_FILE, STEP_IMPORT) and not busy)
        self._choose_button.setEnabled(not busy)
        self._sheet_combo.setEnabled(not busy)
        self._header_spin.setEnabled(not busy)
        self._use_row_button.setEnabled(not busy)

    def _start(self, fn: Any, on_done: Any, on_error: Any) -> Task:
        task = Task(fn)
        self._task = task

        def done(result: object) -> None:
            self._task = None
            on_done(result)
            self._update_buttons()

        def failed(exc: BaseException) -> None:
            self._task = None
            on_error(exc)
            self._update_buttons()

        task.signals.progress_changed.connect(self._on_task_progress_changed)
        self._runner.submit(task, done, failed)
        self._update_buttons()
        return task

    @Slot()
    def _on_next_button_clicked(self) -> None:
        if self._busy():
            return
        step = self.current_step()
        if step == STEP_FILE:
            item = self._recent_list.currentItem()
            if item is not None:
                self.open_file(item.text())
        elif step == STEP_SHEET and self._preview and self._preview.header_row is not None:
            self._show_step(STEP_MAPPING)
        elif step == STEP_MAPPING and not self._mapping_problems():
            self._start_check()
        elif step == STEP_CHECK and self._dry_result is not None:
            self._start_import()
        elif step == STEP_RESULT:
            self._on_again_button_clicked()

    @Slot()
    def _on_back_button_clicked(self) -> None:
        step = self.current_step()
        if step == STEP_IMPORT:
            self._on_cancel_button_clicked()
            return
        if self._busy():
            return
        if step == STEP_RESULT:
            self._on_again_button_clicked()
        elif step > STEP_FILE:
            self._show_step(step - 1)

    # ------------------------------------------------------------------ step 1: file

    def _load_recent(self) -> None:
        paths = self._recent_paths()
        self._recent_list.clear()
        for path in paths[:MAX_RECENT]:
            item = QListWidgetItem(str(path), self._recent_list)
            item.setToolTip(str(path))
        if self._recent_list.count():
            self._recent_list.setCurrentRow(0)

    def _recent_paths(self) -> list[str]:
        value = self._settings.value(RECENT_KEY, [])
        if isinstance(value, str):  # an INI file gives back a one-item list as a string
            return [value]
        return [str(p) for p in value] if isinstance(value, (list, tuple)) else []

    def _add_recent(self, path: Path) -> None:
        paths = [str(path), *(p for p in self._recent_paths() if p != str(path))][:MAX_RECENT]
        self._settings.setValue(RECENT_KEY, paths)
        self._load_recent()

    @Slot()
    def _on_choose_button_clicked(self) -> None:
        start = str(self._path.parent) if self._path else ""
        path, _ = QFileDialog.getOpenFileName(
            self, self.tr("Chọn tệp danh sách thuê bao"), start,
            self.tr("Bảng tính và CSV (*.xlsx *.xlsm *.xls *.csv);;Mọi tệp (*)"))
        if path:
            self.open_file(path)

    @Slot(str)
    def _on_drop_zone_file_dropped(self, path: str) -> None:
        if not self._busy():
            self.open_file(path)

    @Slot(QListWidgetItem)
    def _on_recent_list_item_double_clicked(self, item: QListWidgetItem) -> None:
        if not self._busy():
            self.open_file(item.text())

    def _on_preview_loaded(self, loaded: tuple[FilePreview, dict[str, dict[str, int]]]) -> None:
        preview, known = loaded
        self._layouts = known
        self._file_status.clear()
        if self._path is not None:
            self._add_recent(self._path)
        self._show_preview(preview)
        self._show_step(STEP_SHEET)

    def _on_preview_failed(self, exc: BaseException) -> None:
        self._file_status.setText(self.tr("Không đọc được tệp."))
        messages.show_error(self, exc)

    # ------------------------------------------------------------------ step 2: sheet, header

    def _show_preview(self, preview: FilePreview) -> None:
        self._preview = preview
        self._dry_result = None
        self._updating = True
        try:
            self._sheet_combo.clear()
            for info in preview.sheets:
                name = info.name if info.name is not None else self.tr("(tệp CSV)")
                self._sheet_combo.addItem(
                    self.tr("{name} — {rows} dòng").format(name=name, rows=_vn(info.rows)),
                    info.name)
            names = [info.name for info in preview.sheets]
            self._sheet_combo.setCurrentIndex(names.index(preview.sheet)
                                              if preview.sheet in names else 0)
            self._header_spin.setRange(preview.first_row - 1,
                                       preview.first_row + max(len(preview.rows), 1) - 1)
            self._header_spin.setValue(preview.header_row if preview.header_row is not None
                                       else preview.first_row - 1)
        finally:
            self._updating = False
        self._grid_model.set_preview(preview)
        index = self._grid_model.header_index()
        if index is not None:
            self._grid.selectRow(index)
            self._grid.scrollTo(self._grid_model.index(index, 0))
        if preview.header_row is None:
            self._header_info.setText(self.tr(
                "⚠ Không tìm thấy dòng tiêu đề có cột số thuê bao. Chọn dòng tiêu đề trong "
                "bảng dưới rồi bấm \"Dùng dòng đang chọn làm tiêu đề\"."))
        elif preview.header_row == preview.detected_header_row:
            self._header_info.setText(self.tr(
                "Dòng tiêu đề tìm thấy: dòng {row} (tô màu, đánh dấu ▶).").format(
                row=preview.header_row))
        else:
            self._header_info.setText(self.tr(
                "Dòng tiêu đề do bạn chọn: dòng {row} (tô màu, đánh dấu ▶).").format(
                row=preview.header_row))
        self._build_field_rows()
        self.preview_loaded.emit(preview)
        self._update_buttons()

    @Slot(int)
    def _on_sheet_combo_index_changed(self, index: int) -> None:
        if self._updating or self._path is None or index < 0:
            return
        sheet = self._sheet_combo.itemData(index)
        self._start(partial(_load_preview, self._path, sheet), self._on_sheet_loaded,
                    lambda exc: messages.show_error(self, exc))

    def _on_sheet_loaded(self, loaded: tuple[FilePreview, dict[str, dict[str, int]]]) -> None:
        self._layouts = loaded[1]
        self._show_preview(loaded[0])

    @Slot(int)
    def _on_header_spin_value_changed(self, value: int) -> None:
        if self._updating or self._preview is None or value < self._preview.first_row:
            return
        self._set_header_row(value)

    @Slot()
    def _on_use_row_button_clicked(self) -> None:
        rows = self._grid.selectionModel().selectedRows() if self._grid.selectionModel() \
            else []
        if rows:
            self._set_header_row(self._grid_model.sheet_row(rows[0].row()))

    @Slot(QModelIndex)
    def _on_grid_double_clicked(self, index: QModelIndex) -> None:
        self._set_header_row(self._grid_model.sheet_row(index.row()))

    def _set_header_row(self, row: int) -> None:
        """Read the list with another header row; the rows are in memory, no file access."""
        if self._preview is None or row == self._preview.header_row:
            return
        try:
            preview = self._preview.with_header_row(row)
        except Exception as exc:
            messages.show_error(self, exc)
            return
        self._show_preview(preview)

    # ------------------------------------------------------------------ step 3: mapping

    @Slot(object)
    def _on_batches_loaded(self, batches: list[BatchInfo]) -> None:
        self._batches = batches
        self._updating = True
        try:
            self._batch_combo.clear()
            self._batch_combo.addItem(self.tr("Không gắn đợt"), 0)
            for info in batches:
                self._batch_combo.addItem(self.tr("Đợt {n} – {month}").format(
                    n=info.number, month=info.care_month_text), info.number)
            wanted = self._batch_combo.findData(self._wanted_batch or 0)
            self._batch_combo.setCurrentIndex(max(wanted, 0))
        finally:
            self._updating = False
        self._on_batch_combo_index_changed(self._batch_combo.currentIndex())

    def _batch_info(self) -> BatchInfo | None:
        number = self._batch_combo.currentData()
        return next((b for b in self._batches if b.number == number), None)

    @Slot(int)
    def _on_batch_combo_index_changed(self, _index: int) -> None:
        if self._updating:
            return
        info = self._batch_info()
        if info is not None and (self._care_auto or not self._care_edit.text().strip()):
            self._care_edit.setText(info.care_month_text)
            self._care_auto = True
        self._refresh_mapping()

    @Slot(str)
    def _on_care_edit_text_edited(self, _text: str) -> None:
        self._care_auto = False
        self._refresh_mapping()

    def _care(self) -> tuple[int, int] | None:
        return _parse_care_month(self._care_edit.text())

    def _build_field_rows(self) -> None:
        grid = self._fields_grid
        while grid.count():
            item = grid.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.hide()
                widget.deleteLater()
        self._field_rows = []
        preview = self._preview
        if preview is None:
            return
        for col, title in enumerate((self.tr("Trường"), self.tr("Cột trong tệp"),
                                     self.tr("Kiểm tra"), self.tr("Giá trị mẫu"))):
            head = QLabel(f"<b>{title}</b>", self._fields_widget)
            grid.addWidget(head, 0, col)
        remembered = None
        if preview.header_row is not None:
            remembered = self._layouts.get(layouts.layout_signature(preview.headers))
        if remembered is not None:
            self._layout_note.setText(self.tr(
                "Đã dùng cách ghép cột lưu lần trước cho tệp có cùng dòng tiêu đề."))
        else:
            self._layout_note.clear()
        for i, match in enumerate(preview.fields, start=1):
            text = match.label if match.charge is None else self.tr("Cước: {header}").format(
                header=match.label)
            name = QLabel(text + (" *" if match.required else ""), self._fields_widget)
            combo = QComboBox(self._fields_widget)
            combo.addItem(self.tr("(không dùng)"), _NO_COLUMN)
            for col in range(preview.width):
                header = _one_line(preview.headers[col]) if col < len(preview.headers) else ""
                letter = _column_letter(col + preview.first_column)
                combo.addItem(f"{letter} – {header}" if header else
                              self.tr("{letter} (không có tiêu đề)").format(letter=letter), col)
            column = match.column
            if remembered is not None:
                saved = remembered.get(match.key, _NO_COLUMN)
                column = saved if 0 <= saved < preview.width else None
            combo.setCurrentIndex(combo.findData(column if column is not None else _NO_COLUMN))
            name.setBuddy(combo)
            samples = QLabel(self._fields_widget)
            samples.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            status = QLabel(self._fields_widget)
            grid.addWidget(name, i, 0)
            grid.addWidget(combo, i, 1)
            grid.addWidget(status, i, 2)
            grid.addWidget(samples, i, 3)
            row = _FieldRow(match, combo, samples, status)
            combo.currentIndexChanged.connect(self._on_field_combo_index_changed)
            self._field_rows.append(row)
        grid.setColumnStretch(3, 1)
        self._refresh_mapping()

    @Slot(int)
    def _on_field_combo_index_changed(self, _index: int) -> None:
        self._dry_result = None
        self._refresh_mapping()

    def _refresh_mapping(self) -> None:
        """Samples and a tick or a warning per field, then the problems that block step 4."""
        preview = self._preview
        care = self._care()
        used: dict[int, int] = {}
        for row in self._field_rows:
            col = int(row.combo.currentData())
            if col != _NO_COLUMN:
                used[col] = used.get(col, 0) + 1
        for row in self._field_rows:
            col = int(row.combo.currentData())
            samples = preview.column_samples(col) if preview and col != _NO_COLUMN else ()
            row.samples.setText(" · ".join(
                s if len(s) <= _SAMPLE_CHARS else s[:_SAMPLE_CHARS - 1] + "…" for s in samples))
            row.samples.setToolTip("\n".join(samples))
            if col == _NO_COLUMN:
                row.status.setText(self.tr("⚠ Bắt buộc – chưa ghép cột") if row.match.required
                                   else self.tr("— không dùng"))
            elif used.get(col, 0) > 1:
                row.status.setText(self.tr("⚠ Cột này đã ghép cho trường khác"))
            elif row.match.charge is not None:
                month = resolve_month(row.match.charge, care[0] if care else None,
                                      care[1] if care else None)
                row.status.setText(
                    self.tr("✓ chu kỳ {month}").format(month=f"{month[1]:02d}/{month[0]}")
                    if month else self.tr("⚠ Cần tháng chăm sóc"))
            else:
                row.status.setText(self.tr("✓"))
        info = self._batch_info()
        text = self._care_edit.text().strip()
        if info is not None and care is not None and care != (info.care_year, info.care_month):
            self._care_note.setText(self.tr(
                "Tháng chăm sóc của đợt {n} sẽ đổi từ {old} thành {new}.").format(
                n=info.number, old=info.care_month_text, new=f"{care[1]:02d}/{care[0]}"))
        elif text and care is None:
            self._care_note.setText(self.tr("Tháng chăm sóc viết dạng MM/YYYY, ví dụ 09/2017."))
        else:
            self._care_note.clear()
        problems = self._mapping_problems()
        self._mapping_problem.setText("\n".join(problems))
        self._update_buttons()

    def _mapping_problems(self) -> list[str]:
        """Why the mapping cannot be checked yet (inline, in Vietnamese); empty when fine."""
        if self._preview is None or self._preview.header_row is None:
            return [self.tr("Chưa chọn dòng tiêu đề.")]
        problems = []
        chosen = {row.match.key: int(row.combo.currentData()) for row in self._field_rows}
        missing = [row.match.label for row in self._field_rows
                   if row.match.required and chosen[row.match.key] == _NO_COLUMN]
        if missing:
            problems.append(self.tr("Chưa ghép cột cho: {fields}.").format(
                fields=", ".join(missing)))
        charges = [row for row in self._field_rows if row.match.charge is not None
                   and chosen[row.match.key] != _NO_COLUMN]
        if not charges:
            problems.append(self.tr("Tệp chưa có cột cước nào (ví dụ 'Cước T-3' hoặc "
                                    "'Cước 06/2017')."))
        columns = [c for c in chosen.values() if c != _NO_COLUMN]
        if len(columns) != len(set(columns)):
            problems.append(self.tr("Có cột được ghép cho hai trường; mỗi cột chỉ ghép một "
                                    "trường."))
        text = self._care_edit.text().strip()
        care = self._care()
        if text and care is None:
            problems.append(self.tr("Tháng chăm sóc '{text}' không hợp lệ: viết MM/YYYY.")
                            .format(text=text))
        elif care is None and any(resolve_month(row.match.charge, None, None) is None
                                  for row in charges if row.match.charge is not None):
            problems.append(self.tr("Các cột cước tính theo tháng chăm sóc: chọn đợt hoặc "
                                    "nhập tháng chăm sóc."))
        return problems

    def _collect_choices(self) -> ImportChoices:
        assert self._preview is not None and self._preview.header_row is not None
        assert self._path is not None
        info = self._batch_info()
        care = self._care()
        care_text = f"{care[1]:02d}/{care[0]}" if care else None
        if info is not None and care == (info.care_year, info.care_month):
            care_text = None  # the batch's own month: nothing to change
        return ImportChoices(
            path=self._path, programme_id=self._programme_id, sheet=self._preview.sheet,
            header_row=self._preview.header_row, mapping=self.mapping(),
            headers=self._preview.headers, batch=info.number if info else None,
            care_month=care_text,
        )

    # ------------------------------------------------------------------ step 4: check

    def _start_check(self) -> None:
        self._choices = self._collect_choices()
        self._dry_result = None
        self._check_summary.setText(self.tr("Đang kiểm tra tệp (chưa lưu gì)…"))
        self._reasons_table.setRowCount(0)
        self._rejected_table.setRowCount(0)
        self._show_step(STEP_CHECK)
        self._start(partial(_run_import, self._factory, self._choices, self.actor, True),
                    self._on_check_finished, self._on_check_failed)

    def _counts_text(self, result: ImportResult) -> str:
        return self.tr(
            "Dòng dữ liệu: {rows}\nMới: {new}\nCập nhật: {updated}\nKhông đổi: {unchanged}\n"
            "Bị từ chối: {rejected} (trong đó trùng số thuê bao: {duplicates})\n"
            "Chu kỳ cước: {cycles}").format(
            rows=_vn(result.rows_read), new=_vn(result.imported), updated=_vn(result.updated),
            unchanged=_vn(result.unchanged), rejected=_vn(result.rejected),
            duplicates=_vn(result.duplicates), cycles=", ".join(result.cycles) or "—")

    def _on_check_finished(self, result: ImportResult) -> None:
        self._dry_result = result
        self._check_summary.setText(
            self.tr("Kết quả kiểm tra (chưa lưu gì):") + "\n" + self._counts_text(result))
        reasons = sorted(result.reasons.items(), key=lambda kv: (-kv[1], kv[0]))
        self._reasons_table.setRowCount(len(reasons))
        for i, (code, count) in enumerate(reasons):
            self._reasons_table.setItem(i, 0, QTableWidgetItem(self._reason_label(code)))
            item = QTableWidgetItem(_vn(count))
            item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self._reasons_table.setItem(i, 1, item)
        self._rejected_table.setRowCount(len(result.rejected_sample))
        for i, (number, reason) in enumerate(result.rejected_sample):
            self._rejected_table.setItem(i, 0, QTableWidgetItem(str(number)))
            self._rejected_table.setItem(i, 1, QTableWidgetItem(reason))
        self.dry_run_finished.emit(result)

    def _on_check_failed(self, exc: BaseException) -> None:
        self._show_step(STEP_MAPPING)
        messages.show_error(self, exc)

    def _reason_label(self, code: str) -> str:
        labels = {
            "missing_msisdn": self.tr("Thiếu số thuê bao"),
            "bad_msisdn": self.tr("Số thuê bao không hợp lệ"),
            "missing_type": self.tr("Thiếu loại thuê bao (trả trước/trả sau)"),
            "bad_type": self.tr("Loại thuê bao không rõ"),
            "missing_status": self.tr("Thiếu trạng thái thuê bao"),
            "bad_status": self.tr("Trạng thái không rõ"),
            "bad_money": self.tr("Cước không đọc được"),
            "bad_date": self.tr("Ngày không đọc được"),
            "bad_flag": self.tr("Giá trị Có/Không không rõ"),
            "bad_province": self.tr("Không nhận ra tỉnh/thành phố"),
            "duplicate": self.tr("Trùng số thuê bao (giữ dòng sau)"),
        }
        return labels.get(code, importing.REASONS.get(code, code))

    # ------------------------------------------------------------------ step 5: import

    def _start_import(self) -> None:
        assert self._choices is not None
        self._result = None
        self._import_label.setText(
            self.tr("Đang nhập {name}…").format(name=self._choices.path.name))
        self._progress_bar.setRange(0, 0)
        self._rate_label.clear()
        self._cancel_button.setEnabled(True)
        self._show_step(STEP_IMPORT)
        self._clock.start()
        self._start(partial(_run_import, self._factory, self._choices, self.actor, False),
                    self._on_import_done, self._on_import_failed)

    @Slot(int, int, str)
    def _on_task_progress_changed(self, done: int, total: int, text: str) -> None:
        if self.current_step() == STEP_IMPORT:
            if total <= 0:
                self._progress_bar.setRange(0, 0)
                if text:
                    self._import_label.setText(text)
            else:
                self._progress_bar.setRange(0, total)
                self._progress_bar.setValue(done)
                seconds = max(self._clock.elapsed(), 1) / 1000
                self._rate_label.setText(self.tr("{done} / {total} dòng · {rate} dòng/giây")
                                         .format(done=_vn(done), total=_vn(total),
                                                 rate=_vn(int(done / seconds))))
        self.progress_changed.emit(done, total, text)

    @Slot()
    def _on_cancel_button_clicked(self) -> None:
        if self.current_step() != STEP_IMPORT or self._task is None:
            return
        self._task.progress.cancel()
        self._cancel_button.setEnabled(False)
        self._import_label.setText(self.tr("Đang hủy và hoàn tác…"))

    def _on_import_done(self, result: ImportResult) -> None:
        self._result = result
        self._result_summary.setText(
            self.tr("Đã nhập xong {name}.").format(name=Path(result.file).name) + "\n"
            + self._counts_text(result))
        self._open_rejects_button.setEnabled(bool(result.rejects_file))
        batch = self._choices.batch if self._choices else None
        self._classify_button.setEnabled(batch is not None)
        self._classify_button.setText(
            self.tr("Xếp danh sách đợt {n}").format(n=batch) if batch is not None
            else self.tr("Xếp danh sách đợt… (chưa chọn đợt)"))
        self._show_step(STEP_RESULT)
        messages.notify(self, self.tr("Đã nhập {count} thuê bao, từ chối {rejected} dòng")
                        .format(count=_vn(result.imported + result.updated),
                                rejected=_vn(result.rejected)))
        self.import_finished.emit(result)

    def _on_import_failed(self, exc: BaseException) -> None:
        self._show_step(STEP_CHECK)
        if isinstance(exc, Cancelled):
            self._import_label.clear()
        messages.show_error(self, exc)

    # ------------------------------------------------------------------ step 6: result

    @Slot()
    def _on_open_rejects_button_clicked(self) -> None:
        if self._result is not None and self._result.rejects_file:
            QDesktopServices.openUrl(QUrl.fromLocalFile(self._result.rejects_file))

    @Slot()
    def _on_classify_button_clicked(self) -> None:
        if self._choices is not None and self._choices.batch is not None:
            self.classify_requested.emit(self._choices.batch)

    @Slot()
    def _on_again_button_clicked(self) -> None:
        self._dry_result = None
        self._show_step(STEP_FILE)

    # ------------------------------------------------------------------ Qt overrides

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            if self._next_button.isEnabled():
                self._next_button.click()
            event.accept()
            return
        if key == Qt.Key.Key_Escape:
            if self.current_step() == STEP_IMPORT:
                self._on_cancel_button_clicked()
            elif self._back_button.isEnabled():
                self._back_button.click()
            event.accept()
            return
        super().keyPressEvent(event)
