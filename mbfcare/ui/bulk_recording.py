"""Record the work of a district's returned list in one go: choose the file, check, record.

1 Chọn tệp (button or drop) → 2 Kiểm tra (a dry run: counts per step, rejected rows and
their reasons) → 3 Ghi kết quả (progress, Cancel rolls back) → 4 Kết quả. The check and the
recording run `bulk_recording.record_from_file` on the task runner, the second with the sheet
and header row the check found, so what the user saw is what is recorded.
"""

from __future__ import annotations

import logging
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import QElapsedTimer, Qt, QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.domain.actors import Actor
from mbfcare.domain.values import format_number
from mbfcare.errors import Cancelled, ImportFileError
from mbfcare.services import bulk_recording
from mbfcare.services.bulk_recording import BulkResult
from mbfcare.ui import messages
from mbfcare.ui.import_wizard import FileDropZone
from mbfcare.ui.tasks import Task, TaskProgress, TaskRunner

logger = logging.getLogger(__name__)

PAGE_FILE, PAGE_CHECK, PAGE_RUN, PAGE_RESULT = range(4)


def _item(text: str, align_right: bool = False) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
    if align_right:
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item


def _table(parent: QWidget, titles: list[str], stretch: int) -> QTableWidget:
    table = QTableWidget(0, len(titles), parent)
    table.setHorizontalHeaderLabels(titles)
    table.horizontalHeader().setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
    table.verticalHeader().setVisible(False)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    # one line per row: a long reason is in the cell's tooltip and the rejects workbook
    table.setWordWrap(False)
    return table


def _record(factory: sessionmaker[Session], path: Path, programme_id: int | None,
            actor: Actor, dry_run: bool, sheet: str | None, header_row: int | None,
            progress: TaskProgress) -> BulkResult:
    """Worker: the check (dry run) or the recording. No UI calls here."""
    return bulk_recording.record_from_file(
        factory, path, programme_id=programme_id, sheet=sheet, header_row=header_row,
        dry_run=dry_run, actor=actor, progress=progress)


class BulkRecordingDialog(QDialog):
    """Bulk recording from a returned list: check first, then record (Cancel rolls back).

    Enter does the page's main action; Esc goes back, cancels a running recording, or closes.

    Signals:
        dry_run_finished(object): the `BulkResult` of the check.
        recording_finished(object): the `BulkResult` of the stored recording (care lists,
            stock and the dashboard changed).
        progress_changed(int, int, str): the running recording's progress.
    """

    dry_run_finished = Signal(object)
    recording_finished = Signal(object)
    progress_changed = Signal(int, int, str)

    def __init__(self, factory: sessionmaker[Session], runner: TaskRunner, actor: Actor,
                 programme_id: int | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._factory, self._runner = factory, runner
        self._actor, self._programme_id = actor, programme_id
        self._path: Path | None = None
        self._task: Task | None = None
        self._dry: BulkResult | None = None
        self._result: BulkResult | None = None
        self._clock = QElapsedTimer()
        self.setWindowTitle(self.tr("Ghi kết quả hàng loạt"))
        self.setAcceptDrops(False)
        self.resize(760, 560)
        self._build()
        self._show_page(PAGE_FILE)

    # ------------------------------------------------------------------ public API

    def open_file(self, path: str | Path) -> None:
        """Check a file (a dry run on the runner); the summary page shows when it is done."""
        if self._task is not None:
            return
        self._path = Path(path)
        self._dry = None
        self._file_status.setText(self.tr("Đang kiểm tra {name} (chưa lưu gì)…").format(
            name=self._path.name))
        self._file_status.setStyleSheet("")
        self._start(True, self._on_check_done, self._on_check_failed)

    def current_page(self) -> int:
        """The page shown (0 file, 1 check, 2 recording, 3 result)."""
        return self._pages.currentIndex()

    def dry_result(self) -> BulkResult | None:
        """The last check."""
        return self._dry

    def recorded_result(self) -> BulkResult | None:
        """The last stored recording."""
        return self._result

    # ------------------------------------------------------------------ construction

    def _build(self) -> None:
        outer = QVBoxLayout(self)
        self._pages = QStackedWidget(self)
        for build in (self._build_file_page, self._build_check_page, self._build_run_page,
                      self._build_result_page):
            self._pages.addWidget(build())
        outer.addWidget(self._pages, 1)

    def _build_file_page(self) -> QWidget:
        page = QWidget(self)
        layout = QVBoxLayout(page)
        intro = QLabel(self.tr(
            "Chọn danh sách quận/huyện gửi lại. Tệp cần cột <b>Số thuê bao</b> và ít nhất một "
            "cột đã làm: Ngày gửi SMS, Ngày kiểm tra dữ liệu, Ngày trao quà (kèm Món quà, "
            "Người trao, Nơi trao), Ngày tư vấn hoặc Gói cước đăng ký, Ngày giải đáp, Ngày "
            "khảo sát, Kết quả (Không liên lạc được, Từ chối, Chuyển đi, Khác) và Ghi chú."
            "<br><br>Ô để trống nghĩa là <b>không thay đổi</b>: không xóa gì đã ghi. Tệp được "
            "kiểm tra trước, chưa lưu gì cho đến khi bấm «Ghi kết quả»."), page)
        intro.setWordWrap(True)
        intro.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(intro)
        self._choose_button = QPushButton(self.tr("Chọn tệp… (Ctrl+O)"), page)
        self._choose_button.setShortcut(QKeySequence(QKeySequence.StandardKey.Open))
        self._choose_button.setToolTip(self.tr("Chọn tệp Excel hoặc CSV quận/huyện gửi lại"))
        self._choose_button.clicked.connect(self._on_choose_button_clicked)
        layout.addWidget(self._choose_button, 0, Qt.AlignmentFlag.AlignLeft)
        self._drop_zone = FileDropZone(page)
        self._drop_zone.file_dropped.connect(self._on_drop_zone_file_dropped)
        layout.addWidget(self._drop_zone, 1)
        self._file_status = QLabel(page)
        self._file_status.setWordWrap(True)
        self._file_status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self._file_status)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self._close_file_button = QPushButton(self.tr("Đóng (Esc)"), page)
        self._close_file_button.clicked.connect(self._on_close_button_clicked)
        buttons.addWidget(self._close_file_button)
        layout.addLayout(buttons)
        return page

    def _build_check_page(self) -> QWidget:
        page = QWidget(self)
        layout = QVBoxLayout(page)
        self._check_summary = QLabel(page)
        self._check_summary.setWordWrap(True)
        self._check_summary.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self._check_summary)
        row = QHBoxLayout()
        left = QVBoxLayout()
        left.addWidget(QLabel(self.tr("Sẽ ghi theo bước:"), page))
        self._actions_table = _table(page, [self.tr("Bước"), self.tr("Số KH")], 0)
        left.addWidget(self._actions_table)
        row.addLayout(left, 2)
        right = QVBoxLayout()
        right.addWidget(QLabel(self.tr("Lý do từ chối:"), page))
        self._reasons_table = _table(page, [self.tr("Lý do"), self.tr("Số dòng")], 0)
        right.addWidget(self._reasons_table)
        row.addLayout(right, 3)
        layout.addLayout(row, 2)
        layout.addWidget(QLabel(self.tr("Các dòng bị từ chối đầu tiên:"), page))
        self._rejected_table = _table(
            page, [self.tr("Dòng"), self.tr("Số thuê bao"), self.tr("Lý do")], 2)
        layout.addWidget(self._rejected_table, 3)
        self._nothing_note = QLabel(page)
        self._nothing_note.setWordWrap(True)
        layout.addWidget(self._nothing_note)
        buttons = QHBoxLayout()
        self._other_file_button = QPushButton(self.tr("Chọn tệp khác"), page)
        self._other_file_button.clicked.connect(self._on_other_file_button_clicked)
        buttons.addWidget(self._other_file_button)
        buttons.addStretch(1)
        self._record_button = QPushButton(self.tr("Ghi kết quả (Enter)"), page)
        self._record_button.setToolTip(self.tr(
            "Ghi các dòng hợp lệ trong một lần; bấm Hủy khi đang ghi để hoàn tác"))
        self._record_button.clicked.connect(self._on_record_button_clicked)
        buttons.addWidget(self._record_button)
        self._close_check_button = QPushButton(self.tr("Đóng"), page)
        self._close_check_button.clicked.connect(self._on_close_button_clicked)
        buttons.addWidget(self._close_check_button)
        layout.addLayout(buttons)
        return page

    def _build_run_page(self) -> QWidget:
        page = QWidget(self)
        layout = QVBoxLayout(page)
        self._run_label = QLabel(page)
        self._run_label.setWordWrap(True)
        layout.addWidget(self._run_label)
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
        self._result_actions = _table(page, [self.tr("Bước"), self.tr("Số KH đã ghi")], 0)
        layout.addWidget(self._result_actions, 1)
        buttons = QHBoxLayout()
        self._open_rejects_button = QPushButton(self.tr("Mở tệp dòng bị từ chối"), page)
        self._open_rejects_button.clicked.connect(self._on_open_rejects_button_clicked)
        buttons.addWidget(self._open_rejects_button)
        self._again_button = QPushButton(self.tr("Ghi tệp khác"), page)
        self._again_button.clicked.connect(self._on_other_file_button_clicked)
        buttons.addWidget(self._again_button)
        buttons.addStretch(1)
        self._close_result_button = QPushButton(self.tr("Đóng (Enter)"), page)
        self._close_result_button.clicked.connect(self.accept)
        buttons.addWidget(self._close_result_button)
        layout.addLayout(buttons)
        return page

    # ------------------------------------------------------------------ pages

    def _show_page(self, page: int) -> None:
        self._pages.setCurrentIndex(page)
        focus = {PAGE_FILE: self._choose_button, PAGE_CHECK: self._record_button,
                 PAGE_RUN: self._cancel_button, PAGE_RESULT: self._close_result_button}[page]
        self._update_buttons()
        if not focus.isEnabled():
            focus = self._other_file_button if page == PAGE_CHECK else focus
        focus.setFocus()

    def _update_buttons(self) -> None:
        busy = self._task is not None
        self._choose_button.setEnabled(not busy)
        self._drop_zone.setEnabled(not busy)
        self._record_button.setEnabled(
            not busy and self._dry is not None and self._dry.recorded > 0)
        self._other_file_button.setEnabled(not busy)

    def _start(self, dry_run: bool, on_done: Any, on_error: Any) -> None:
        assert self._path is not None
        dry = self._dry
        sheet = dry.sheet if dry is not None and not dry_run else None
        header_row = dry.header_row if dry is not None and not dry_run else None
        task = Task(partial(_record, self._factory, self._path, self._programme_id, self._actor,
                            dry_run, sheet, header_row))
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

    def _counts_text(self, result: BulkResult, *, stored: bool) -> str:
        head = self.tr("Dòng dữ liệu: {rows} · {verb}: {recorded} · Không đổi: {unchanged} · "
                       "Bị từ chối: {rejected}")
        return head.format(
            rows=format_number(result.rows_read),
            verb=self.tr("Đã ghi") if stored else self.tr("Sẽ ghi"),
            recorded=format_number(result.recorded), unchanged=format_number(result.unchanged),
            rejected=format_number(result.rejected))

    def _where(self, result: BulkResult) -> str:
        name = Path(result.file).name
        if result.sheet:
            return self.tr("{name}, sheet «{sheet}», tiêu đề ở dòng {row}").format(
                name=name, sheet=result.sheet, row=result.header_row)
        return self.tr("{name}, tiêu đề ở dòng {row}").format(name=name, row=result.header_row)

    @staticmethod
    def _fill_actions(table: QTableWidget, result: BulkResult) -> None:
        shown = [(k, v) for k, v in result.per_action.items() if v]
        table.setRowCount(len(shown))
        for i, (key, count) in enumerate(shown):
            table.setItem(i, 0, _item(bulk_recording.ACTION_LABELS[key]))
            table.setItem(i, 1, _item(format_number(count), align_right=True))

    # ------------------------------------------------------------------ check

    def _on_check_done(self, result: BulkResult) -> None:
        self._dry = result
        self._file_status.clear()
        self._check_summary.setText(
            self.tr("Kết quả kiểm tra {where} (chưa lưu gì):").format(where=self._where(result))
            + "\n" + self._counts_text(result, stored=False))
        self._fill_actions(self._actions_table, result)
        reasons = sorted(result.reasons.items(), key=lambda kv: (-kv[1], kv[0]))
        self._reasons_table.setRowCount(len(reasons))
        for i, (code, count) in enumerate(reasons):
            label = _item(self._reason_label(code))
            label.setToolTip(label.text())
            self._reasons_table.setItem(i, 0, label)
            self._reasons_table.setItem(i, 1, _item(format_number(count), align_right=True))
        self._rejected_table.setRowCount(len(result.rejected_sample))
        for i, (row, written, reason) in enumerate(result.rejected_sample):
            self._rejected_table.setItem(i, 0, _item(str(row), align_right=True))
            self._rejected_table.setItem(i, 1, _item(written))
            cell = _item(reason)
            cell.setToolTip(reason)
            self._rejected_table.setItem(i, 2, cell)
        self._rejected_table.resizeColumnToContents(0)
        self._rejected_table.resizeColumnToContents(1)
        self._nothing_note.setText(
            "" if result.recorded else
            self.tr("Không có gì mới để ghi: các dòng đều không đổi hoặc bị từ chối."))
        self._show_page(PAGE_CHECK)
        self.dry_run_finished.emit(result)

    def _on_check_failed(self, exc: BaseException) -> None:
        self._show_page(PAGE_FILE)
        if isinstance(exc, Cancelled):
            self._file_status.setText(self.tr("Đã dừng kiểm tra; chưa lưu gì."))
            return
        # the file's problem is said inline, in red and with a word ("Không dùng được")
        self._file_status.setText(self.tr("Không dùng được tệp: {reason}").format(
            reason=str(exc)))
        self._file_status.setStyleSheet("color: #b00020")
        if not isinstance(exc, ImportFileError):
            messages.show_error(self, exc)

    def _reason_label(self, code: str) -> str:
        labels = {
            "missing_msisdn": self.tr("Thiếu số thuê bao"),
            "bad_msisdn": self.tr("Số thuê bao không hợp lệ"),
            "bad_date": self.tr("Ngày không đọc được"),
            "missing_date": self.tr("Thiếu ngày của bước"),
            "bad_item": self.tr("Món quà không rõ"),
            "missing_item": self.tr("Thiếu món quà (loại quà có nhiều món)"),
            "bad_outcome": self.tr("Kết quả không rõ"),
            "note_needed": self.tr("Kết quả «Khác» cần ghi chú"),
            "duplicate_conflict": self.tr("Trùng số thuê bao nhưng khác nội dung"),
            "not_found": self.tr("Không có trong danh sách chăm sóc"),
            "not_servable": self.tr("Chưa phục vụ được (chờ quyết định nhóm, danh sách chờ)"),
            "closed": self.tr("Đã đóng với kết quả"),
            "handed_over": self.tr("Đã nhận quà, không đóng với kết quả"),
            "already_handed_over": self.tr("Đã trao quà (hoặc ghi nợ) trước đó"),
            "already_recorded": self.tr("Bước đã ghi với ngày khác"),
            "out_of_stock": self.tr("Hết quà ở nơi trao"),
            "bad_location": self.tr("Không có nơi để quà"),
            "step_order": self.tr("Sai thứ tự hoặc ngày của các bước"),
        }
        return labels.get(code, bulk_recording.REASONS.get(code, code))

    # ------------------------------------------------------------------ recording

    def _start_recording(self) -> None:
        assert self._path is not None
        self._result = None
        self._run_label.setText(self.tr("Đang ghi kết quả từ {name}…").format(
            name=self._path.name))
        self._progress_bar.setRange(0, 0)
        self._rate_label.clear()
        self._cancel_button.setEnabled(True)
        self._clock.start()
        self._show_page(PAGE_RUN)
        self._start(False, self._on_recording_done, self._on_recording_failed)

    @Slot(int, int, str)
    def _on_task_progress_changed(self, done: int, total: int, text: str) -> None:
        if self.current_page() != PAGE_RUN:
            return
        if total <= 0:
            self._progress_bar.setRange(0, 0)
        else:
            self._progress_bar.setRange(0, total)
            self._progress_bar.setValue(done)
            seconds = max(self._clock.elapsed(), 1) / 1000
            self._rate_label.setText(self.tr("{done} / {total} dòng · {rate} dòng/giây").format(
                done=format_number(done), total=format_number(total),
                rate=format_number(int(done / seconds))))
        self.progress_changed.emit(done, total, text)

    def _on_recording_done(self, result: BulkResult) -> None:
        self._result = result
        self._result_summary.setText(
            self.tr("Đã ghi kết quả từ {where}.").format(where=self._where(result)) + "\n"
            + self._counts_text(result, stored=True)
            + (("\n" + self.tr("Các dòng bị từ chối và lý do ở tệp: {path}").format(
                path=result.rejects_file)) if result.rejects_file else ""))
        self._fill_actions(self._result_actions, result)
        self._open_rejects_button.setEnabled(bool(result.rejects_file))
        self._show_page(PAGE_RESULT)
        messages.notify(self, self.tr(
            "Đã ghi kết quả cho {recorded} KH, không đổi {unchanged}, từ chối {rejected} dòng")
            .format(recorded=format_number(result.recorded),
                    unchanged=format_number(result.unchanged),
                    rejected=format_number(result.rejected)))
        self.recording_finished.emit(result)

    def _on_recording_failed(self, exc: BaseException) -> None:
        self._show_page(PAGE_CHECK if self._dry is not None else PAGE_FILE)
        if isinstance(exc, Cancelled):
            self._nothing_note.setText(str(exc))
        messages.show_error(self, exc)

    # ------------------------------------------------------------------ slots

    @Slot()
    def _on_choose_button_clicked(self) -> None:
        start = str(self._path.parent) if self._path else ""
        path, _ = QFileDialog.getOpenFileName(
            self, self.tr("Chọn danh sách quận/huyện gửi lại"), start,
            self.tr("Bảng tính và CSV (*.xlsx *.xlsm *.xls *.csv);;Mọi tệp (*)"))
        if path:
            self.open_file(path)

    @Slot(str)
    def _on_drop_zone_file_dropped(self, path: str) -> None:
        self.open_file(path)

    @Slot()
    def _on_other_file_button_clicked(self) -> None:
        if self._task is None:
            self._dry = None
            self._show_page(PAGE_FILE)

    @Slot()
    def _on_record_button_clicked(self) -> None:
        if self._task is None and self._dry is not None and self._dry.recorded > 0:
            self._start_recording()

    @Slot()
    def _on_cancel_button_clicked(self) -> None:
        if self.current_page() != PAGE_RUN or self._task is None:
            return
        self._task.progress.cancel()
        self._cancel_button.setEnabled(False)
        self._run_label.setText(self.tr("Đang hủy và hoàn tác…"))

    @Slot()
    def _on_close_button_clicked(self) -> None:
        if self._task is None:
            super().reject()

    @Slot()
    def _on_open_rejects_button_clicked(self) -> None:
        if self._result is not None and self._result.rejects_file:
            QDesktopServices.openUrl(QUrl.fromLocalFile(self._result.rejects_file))

    # ------------------------------------------------------------------ Qt overrides

    def reject(self) -> None:
        """Esc: cancel a running recording (rolled back), go back from the check, or close."""
        if self._task is not None:
            if self.current_page() == PAGE_RUN:
                self._on_cancel_button_clicked()
            else:  # the check of a long list: stop it (it stored nothing anyway)
                self._task.progress.cancel()
                self._file_status.setText(self.tr("Đang dừng kiểm tra…"))
            return
        if self.current_page() == PAGE_CHECK:
            self._on_other_file_button_clicked()
            return
        super().reject()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            page = self.current_page()
            button = {PAGE_FILE: self._choose_button, PAGE_CHECK: self._record_button,
                      PAGE_RESULT: self._close_result_button}.get(page)
            if button is not None and button.isEnabled():
                button.click()
            event.accept()
            return
        super().keyPressEvent(event)
