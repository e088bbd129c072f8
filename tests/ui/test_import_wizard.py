"""The import wizard's wiring: file → sheet & header → mapping → check → import → result."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QMimeData, QPointF, QSettings, Qt, QUrl
from PySide6.QtGui import QDesktopServices, QDropEvent
from PySide6.QtWidgets import QFileDialog
from pytestqt.qtbot import QtBot
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.domain.actors import Actor
from mbfcare.io.synthetic import (
    MessyOptions,
    WrittenExtract,
    generate_subscribers,
    write_fast_csv,
    write_xlsx,
)
from mbfcare.models import Batch
from mbfcare.services import layouts
from mbfcare.services.importing import (
    ImportResult,
    import_subscribers,
    preview_file,
    stored_counts,
)
from mbfcare.ui import import_wizard as wizard_module
from mbfcare.ui.import_wizard import (
    STEP_CHECK,
    STEP_FILE,
    STEP_MAPPING,
    STEP_RESULT,
    STEP_SHEET,
    ImportWizardWidget,
)
from mbfcare.ui.tasks import TaskRunner

Factory = sessionmaker[Session]
TIMEOUT = 20_000
COUNTS = ("rows_read", "imported", "updated", "unchanged", "rejected", "duplicates",
          "reasons", "cycles")




@pytest.fixture
def runner(qtbot: QtBot) -> Iterator[TaskRunner]:
    runner = TaskRunner()
    yield runner
    runner.wait(30_000)


def _wizard(qtbot: QtBot, factory: Factory, runner: TaskRunner, tmp_path: Path,
            programme_id: int, batch: int | None) -> ImportWizardWidget:
    settings = QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat)
    wizard = ImportWizardWidget(factory, runner, settings=settings)
    qtbot.addWidget(wizard)
    wizard.set_programme(programme_id, batch)
    wizard.show()
    qtbot.waitUntil(lambda: wizard._batch_combo.count() > 1, timeout=TIMEOUT)
    return wizard


def _row(wizard: ImportWizardWidget, key: str) -> wizard_module._FieldRow:
    return next(r for r in wizard._field_rows if r.match.key == key)


def _enter(qtbot: QtBot, wizard: ImportWizardWidget) -> None:
    qtbot.keyClick(wizard, Qt.Key.Key_Return)


def test_wizard_end_to_end(qtbot: QtBot, factory: Factory, programme_id: int, runner: TaskRunner,
                           tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                           sink: list[tuple[str, str, str]]) -> None:
    subs = generate_subscribers(500, seed=41)
    written: WrittenExtract = write_xlsx(
        tmp_path / "messy.xlsx", subs, MessyOptions(duplicates=3, bad_rows=3), seed=41)
    wizard = _wizard(qtbot, factory, runner, tmp_path, programme_id, batch=1)
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        staticmethod(lambda *args, **kwargs: (str(written.path), "")))
    opened: list[QUrl] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", staticmethod(opened.append))
    finished: list[ImportResult] = []
    wizard.import_finished.connect(finished.append)

    # 1 Chọn tệp
    with qtbot.waitSignal(wizard.preview_loaded, timeout=TIMEOUT):
        wizard._choose_button.click()

    # 2 Sheet & dòng tiêu đề: the list's sheet and its header row, highlighted
    assert wizard.current_step() == STEP_SHEET
    assert wizard._sheet_combo.currentData() == written.sheet
    assert wizard._sheet_combo.count() > 1
    assert wizard._header_spin.value() == written.header_row
    model = wizard._grid_model
    header_index = model.header_index()
    assert header_index is not None
    assert model.sheet_row(header_index) == written.header_row
    assert model.data(model.index(header_index, 1), Qt.ItemDataRole.BackgroundRole) is not None
    assert model.data(model.index(0, 1), Qt.ItemDataRole.BackgroundRole) is None
    assert str(written.header_row) in wizard._header_info.text()
    # another header row empties the mapping; going back to the found one restores it
    wizard._header_spin.setValue(1)
    assert int(_row(wizard, "msisdn").combo.currentData()) == -1
    assert wizard._preview is not None and "msisdn" in wizard._preview.missing
    wizard._header_spin.setValue(written.header_row)

    _enter(qtbot, wizard)

    # 3 Ghép cột: detected columns, samples, ticks; batch 1 with the file's care month
    assert wizard.current_step() == STEP_MAPPING
    for key, field in (("msisdn", "msisdn"), ("type", "subscriber_type"),
                       ("status", "status"), ("name", "name")):
        row = _row(wizard, field)
        assert int(row.combo.currentData()) == written.columns[key] - 1, key
        assert row.status.text().startswith("✓")
    assert _row(wizard, "msisdn").samples.text()
    charge_rows = [r for r in wizard._field_rows if r.match.charge is not None]
    assert len(charge_rows) == 3
    assert wizard._batch_combo.currentData() == 1
    assert wizard._care_edit.text() == "03/2017"
    care = f"{written.care_month[1]:02d}/{written.care_month[0]}"
    wizard._care_edit.setText(care)
    wizard._care_edit.textEdited.emit(care)
    assert "03/2017" in wizard._care_note.text() and care in wizard._care_note.text()
    assert all(r.status.text().startswith("✓ chu kỳ") for r in charge_rows)
    assert wizard._mapping_problem.text() == ""
    mapping = wizard.mapping()

    # 4 Kiểm tra: the dry run's counts are the service's
    with qtbot.waitSignal(wizard.dry_run_finished, timeout=TIMEOUT) as blocker:
        _enter(qtbot, wizard)
    dry: ImportResult = blocker.args[0]
    assert wizard.current_step() == STEP_CHECK
    expected = import_subscribers(factory, written.path, programme_id=programme_id, batch=1,
                                  care_month=care, dry_run=True, actor=Actor("test"))
    assert {k: getattr(dry, k) for k in COUNTS} == {k: getattr(expected, k) for k in COUNTS}
    assert dry.rejected == len(written.expected_rejects)
    assert wizard._reasons_table.rowCount() == len(dry.reasons)
    assert wizard._rejected_table.rowCount() == dry.rejected
    assert f"Bị từ chối: {dry.rejected}" in wizard._check_summary.text()
    assert stored_counts(factory)["subscribers"] == 0

    # 5 Nhập → 6 Kết quả
    with qtbot.waitSignal(wizard.import_finished, timeout=TIMEOUT):
        _enter(qtbot, wizard)
    assert wizard.current_step() == STEP_RESULT
    result = finished[0]
    assert {k: getattr(result, k) for k in COUNTS} == {k: getattr(dry, k) for k in COUNTS}
    assert result.imported == len(written.expected)
    assert stored_counts(factory)["subscribers"] == result.imported
    summary = wizard._result_summary.text()
    assert f"Mới: {result.imported}" in summary
    assert f"Bị từ chối: {result.rejected}" in summary
    assert ("notify", f"Đã nhập {result.imported} thuê bao, từ chối {result.rejected} dòng",
            "") in sink
    with factory() as session:
        batch = session.scalar(select(Batch).where(Batch.programme_id == programme_id,
                                                   Batch.number == 1))
        assert batch is not None and (batch.care_year, batch.care_month) == written.care_month

    wizard._open_rejects_button.click()
    assert [url.toLocalFile() for url in opened] == [result.rejects_file]
    with qtbot.waitSignal(wizard.classify_requested, timeout=1000) as classify:
        wizard._classify_button.click()
    assert classify.args == [1]
    assert wizard._classify_button.text() == "Xếp danh sách đợt 1"

    # the mapping is remembered for files with the same headers; the file is a recent one
    assert layouts.remembered_mapping(wizard._preview.headers) == mapping
    assert wizard._recent_list.item(0).text() == str(written.path)
    assert not [m for m in sink if m[0] == "error"]

    # Enter on the result page starts over; Esc goes back
    _enter(qtbot, wizard)
    assert wizard.current_step() == STEP_FILE


def test_remembered_mapping_is_offered(qtbot: QtBot, factory: Factory, programme_id: int,
                                       runner: TaskRunner, tmp_path: Path,
                                       sink: list[tuple[str, str, str]]) -> None:
    subs = generate_subscribers(60, seed=42)
    written = write_xlsx(tmp_path / "plain.xlsx", subs,
                         MessyOptions(header_style="plain", extra_sheets=False), seed=42)
    wizard = _wizard(qtbot, factory, runner, tmp_path, programme_id, batch=None)
    with qtbot.waitSignal(wizard.preview_loaded, timeout=TIMEOUT) as blocker:
        wizard.open_file(written.path)
    preview = blocker.args[0]
    mapping = dict(preview.mapping)
    mapping["contact_number"] = mapping.pop("id_number")
    layouts.remember_mapping(preview.headers, mapping)

    with qtbot.waitSignal(wizard.preview_loaded, timeout=TIMEOUT):
        qtbot.keyClick(wizard, Qt.Key.Key_Escape)
        assert wizard.current_step() == STEP_FILE
        _enter(qtbot, wizard)  # opens the recent file

    assert wizard.mapping() == mapping
    assert wizard._layout_note.text()
    assert int(_row(wizard, "id_number").combo.currentData()) == -1
    assert not sink


def test_drop_zone_opens_a_dropped_file(qtbot: QtBot, factory: Factory, programme_id: int,
                                        runner: TaskRunner, tmp_path: Path,
                                        sink: list[tuple[str, str, str]]) -> None:
    path = tmp_path / "small.csv"
    write_fast_csv(path, 50)
    wizard = _wizard(qtbot, factory, runner, tmp_path, programme_id, batch=None)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(tmp_path / "notes.txt")), QUrl.fromLocalFile(str(path))])
    event = QDropEvent(QPointF(5, 5), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(wizard.preview_loaded, timeout=TIMEOUT) as blocker:
        wizard._drop_zone.dropEvent(event)
    assert blocker.args[0].sheet is None
    assert wizard._sheet_combo.count() == 1
    assert wizard._header_spin.value() == 1


def test_preview_model(qtmodeltester: Any, qtbot: QtBot, tmp_path: Path) -> None:
    path = tmp_path / "small.csv"
    write_fast_csv(path, 80)
    model = wizard_module.PreviewTableModel()
    model.set_preview(preview_file(path))
    assert model.rowCount() == 50
    qtmodeltester.check(model)


def test_cancel_leaves_the_database_unchanged(qtbot: QtBot, factory: Factory,
                                              programme_id: int, runner: TaskRunner,
                                              tmp_path: Path,
                                              sink: list[tuple[str, str, str]]) -> None:
    path = tmp_path / "big.csv"
    write_fast_csv(path, 60_000, seed=7)
    before = stored_counts(factory)
    wizard = _wizard(qtbot, factory, runner, tmp_path, programme_id, batch=None)
    with qtbot.waitSignal(wizard.preview_loaded, timeout=TIMEOUT):
        wizard.open_file(path)
    _enter(qtbot, wizard)
    wizard._care_edit.setText("03/2017")
    wizard._care_edit.textEdited.emit("03/2017")
    with qtbot.waitSignal(wizard.dry_run_finished, timeout=TIMEOUT):
        _enter(qtbot, wizard)

    # cancel as soon as the import reports that it started
    wizard.progress_changed.connect(lambda *args: qtbot.keyClick(wizard, Qt.Key.Key_Escape))
    _enter(qtbot, wizard)
    qtbot.waitUntil(lambda: not runner.is_busy(), timeout=TIMEOUT)

    assert wizard.current_step() == STEP_CHECK
    assert wizard.result() is None
    assert [kind for kind, _, _ in sink] == ["notify"]
    assert "hủy" in sink[0][1].lower()
    assert stored_counts(factory) == before
