"""The bulk recording dialog end to end: choose or drop a file, check, record, result."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDesktopServices, QDropEvent
from PySide6.QtWidgets import QFileDialog
from pytestqt.qtbot import QtBot
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.domain.actors import Actor
from mbfcare.models import CareStep, Handover
from mbfcare.services import stock
from mbfcare.services.bulk_recording import BulkResult
from mbfcare.ui.bulk_recording import (
    PAGE_CHECK,
    PAGE_FILE,
    PAGE_RESULT,
    PAGE_RUN,
    BulkRecordingDialog,
)
from mbfcare.ui.tasks import TaskRunner
from tests.care_data import STORE, seed_listed
from tests.unit.services.test_bulk_recording import write_returned_list

Factory = sessionmaker[Session]
TIMEOUT = 20_000
HEAD = Actor("Phạm Thu Hà", "head")




@pytest.fixture
def runner(qtbot: QtBot) -> Iterator[TaskRunner]:
    runner = TaskRunner()
    yield runner
    runner.wait(30_000)


@pytest.fixture
def listed(factory: Factory, programme_id: int) -> Factory:
    seed_listed(factory, programme_id)
    stock.move_stock(factory, "receive", "balo-keo", 10, actor=Actor("Lan", "admin"))
    stock.move_stock(factory, "receive", "o-2-khuc", 5, actor=Actor("Lan", "admin"),
                     location=STORE)
    return factory


def _dialog(qtbot: QtBot, factory: Factory, runner: TaskRunner,
            programme_id: int) -> BulkRecordingDialog:
    dialog = BulkRecordingDialog(factory, runner, HEAD, programme_id)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def _stored(factory: Factory) -> tuple[int, int]:
    with factory() as session:
        return (session.scalar(select(func.count()).select_from(CareStep)) or 0,
                session.scalar(select(func.count()).select_from(Handover)) or 0)


def _column(table: object, col: int) -> list[str]:
    from PySide6.QtWidgets import QTableWidget

    assert isinstance(table, QTableWidget)
    return [table.item(r, col).text() for r in range(table.rowCount())]


def test_check_then_record(qtbot: QtBot, listed: Factory, programme_id: int,
                           runner: TaskRunner, tmp_path: Path,
                           monkeypatch: pytest.MonkeyPatch,
                           sink: list[tuple[str, str, str]]) -> None:
    path = write_returned_list(tmp_path / "Le Chan tra ve.xlsx")
    dialog = _dialog(qtbot, listed, runner, programme_id)
    assert dialog.current_page() == PAGE_FILE
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        staticmethod(lambda *args, **kwargs: (str(path), "")))
    opened: list[QUrl] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", staticmethod(opened.append))

    # 1 choose the file: the check (dry run) starts at once and stores nothing
    with qtbot.waitSignal(dialog.dry_run_finished, timeout=TIMEOUT) as checked:
        dialog._choose_button.click()
    dry: BulkResult = checked.args[0]
    assert dry.dry_run and (dry.recorded, dry.unchanged, dry.rejected) == (5, 2, 3)
    assert _stored(listed) == (0, 0)

    # 2 the summary: counts per step, reasons, first rejected rows
    assert dialog.current_page() == PAGE_CHECK
    summary = dialog._check_summary.text()
    assert "Le Chan tra ve.xlsx, sheet «Lê Chân», tiêu đề ở dòng 4 (chưa lưu gì)" in summary
    assert "Dòng dữ liệu: 10 · Sẽ ghi: 5 · Không đổi: 2 · Bị từ chối: 3" in summary
    assert _column(dialog._actions_table, 0) == ["Gửi SMS", "Trao quà", "Kết quả"]
    assert _column(dialog._actions_table, 1) == ["3", "3", "1"]
    assert sorted(_column(dialog._reasons_table, 0)) == [
        "Chưa phục vụ được (chờ quyết định nhóm, danh sách chờ)",
        "Không có trong danh sách chăm sóc", "Sai thứ tự hoặc ngày của các bước"]
    assert _column(dialog._rejected_table, 0) == ["9", "11", "12"]
    assert _column(dialog._rejected_table, 1) == ["0902000002", "0905123456", "0903000001"]
    assert "Trao quà không thể trước ngày gửi SMS" in _column(dialog._rejected_table, 2)[0]
    assert dialog._record_button.isEnabled()
    assert dialog._record_button.hasFocus()

    # 3 record (Enter) -> 4 the result
    with qtbot.waitSignal(dialog.recording_finished, timeout=TIMEOUT) as finished:
        qtbot.keyClick(dialog, Qt.Key.Key_Return)
    result: BulkResult = finished.args[0]
    assert not result.dry_run
    assert (result.rows_read, result.recorded, result.unchanged, result.rejected) == (
        10, 5, 2, 3)
    assert dialog.recorded_result() is result
    assert dialog.current_page() == PAGE_RESULT
    assert "Dòng dữ liệu: 10 · Đã ghi: 5 · Không đổi: 2 · Bị từ chối: 3" in (
        dialog._result_summary.text())
    assert _column(dialog._result_actions, 1) == ["3", "3", "1"]
    assert _stored(listed) == (6, 3)
    assert ("notify", "Đã ghi kết quả cho 5 KH, không đổi 2, từ chối 3 dòng", "") in sink
    assert {b.location: b.on_hand for b in stock.balances(listed)} == {"Kho": 8, STORE: 4}
    assert dialog._open_rejects_button.isEnabled()
    dialog._open_rejects_button.click()
    assert result.rejects_file is not None
    assert [u.toLocalFile() for u in opened] == [result.rejects_file]

    # the same file again, dropped: nothing new to record
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    dialog._again_button.click()
    assert dialog.current_page() == PAGE_FILE
    event = QDropEvent(QPointF(5, 5), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(dialog.dry_run_finished, timeout=TIMEOUT) as again:
        dialog._drop_zone.dropEvent(event)
    assert (again.args[0].recorded, again.args[0].unchanged) == (0, 7)
    assert not dialog._record_button.isEnabled()
    assert "Không có gì mới để ghi" in dialog._nothing_note.text()
    # Esc goes back to the file page, then closes the dialog
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert dialog.current_page() == PAGE_FILE
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert not dialog.isVisible()


def test_cancel_rolls_back(qtbot: QtBot, listed: Factory, programme_id: int,
                           runner: TaskRunner, tmp_path: Path,
                           sink: list[tuple[str, str, str]]) -> None:
    path = write_returned_list(tmp_path / "tra_ve.xlsx")
    dialog = _dialog(qtbot, listed, runner, programme_id)
    with qtbot.waitSignal(dialog.dry_run_finished, timeout=TIMEOUT):
        dialog.open_file(path)
    # Hold the one worker so that Cancel is pressed before the recording reaches a row.
    release = threading.Event()
    runner.start(lambda _progress: release.wait(TIMEOUT / 1000))
    dialog._record_button.click()
    assert dialog.current_page() == PAGE_RUN
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)  # Esc cancels while recording
    assert not dialog._cancel_button.isEnabled()
    assert dialog._run_label.text() == "Đang hủy và hoàn tác…"
    release.set()
    qtbot.waitUntil(lambda: dialog.current_page() == PAGE_CHECK, timeout=TIMEOUT)
    assert dialog.recorded_result() is None
    assert _stored(listed) == (0, 0)
    assert sink[-1][0] == "notify"
    assert sink[-1][1] == "Đã hủy ghi kết quả từ tệp; không có gì thay đổi."
    assert dialog.isVisible()


def test_refused_file_is_said_inline(qtbot: QtBot, listed: Factory, programme_id: int,
                                     runner: TaskRunner, tmp_path: Path,
                                     sink: list[tuple[str, str, str]]) -> None:
    path = tmp_path / "ghi_chu.csv"
    path.write_text("Số thuê bao;Họ tên\n0901000001;An\n", encoding="utf-8")
    dialog = _dialog(qtbot, listed, runner, programme_id)
    dialog.open_file(path)
    qtbot.waitUntil(lambda: "không có cột kết quả" in dialog._file_status.text(),
                    timeout=TIMEOUT)
    assert dialog.current_page() == PAGE_FILE
    assert dialog._file_status.text().startswith(
        "Không dùng được tệp: Tệp ghi_chu.csv có cột số thuê bao")
    assert sink == []  # inline, no box
    assert dialog.dry_result() is None


def test_render(qtbot: QtBot, listed: Factory, programme_id: int, runner: TaskRunner,
                tmp_path: Path) -> None:
    path = write_returned_list(tmp_path / "Le Chan tra ve.xlsx")
    dialog = _dialog(qtbot, listed, runner, programme_id)
    dialog.grab().save(str(tmp_path / "bulk_file.png"))
    with qtbot.waitSignal(dialog.dry_run_finished, timeout=TIMEOUT):
        dialog.open_file(path)
    image = dialog.grab()
    assert not image.isNull()
    image.save(str(tmp_path / "bulk_check.png"))


def test_esc_stops_a_check(qtbot: QtBot, listed: Factory, programme_id: int,
                           runner: TaskRunner, tmp_path: Path,
                           sink: list[tuple[str, str, str]]) -> None:
    path = write_returned_list(tmp_path / "tra_ve.xlsx")
    dialog = _dialog(qtbot, listed, runner, programme_id)
    release = threading.Event()
    runner.start(lambda _progress: release.wait(TIMEOUT / 1000))
    dialog.open_file(path)
    assert not dialog._choose_button.isEnabled()
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert dialog.isVisible()
    assert dialog._file_status.text() == "Đang dừng kiểm tra…"
    release.set()
    qtbot.waitUntil(lambda: dialog._choose_button.isEnabled(), timeout=TIMEOUT)
    assert dialog._file_status.text() == "Đã dừng kiểm tra; chưa lưu gì."
    assert dialog.current_page() == PAGE_FILE
    assert dialog.dry_result() is None
    assert sink == []
