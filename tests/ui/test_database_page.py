"""Settings tab "Cơ sở dữ liệu": backup settings, the backups table, backup now, restore; the
window's periodic backup and the check before it opens."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.backup_files import BackupFile, BackupPolicy, backup_name, list_backups
from mbfcare.db import make_session_factory, sqlite_path
from mbfcare.domain.actors import Actor
from mbfcare.settings import load_settings
from mbfcare.ui.database_page import DatabaseSettingsWidget
from mbfcare.ui.main_window import MainWindow
from mbfcare.ui.recovery import check_at_start
from mbfcare.ui.tablemodels.backups import BackupRole, BackupTableModel
from mbfcare.ui.tasks import TaskRunner

pytestmark = pytest.mark.sqlite_only

Factory = sessionmaker[Session]


def _count(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("SELECT count(*) FROM programmes").fetchone()[0])
    finally:
        conn.close()


def _page(qtbot: QtBot, factory: Factory, actor: Actor | None = None) -> DatabaseSettingsWidget:
    page = DatabaseSettingsWidget(factory, TaskRunner(), actor or Actor("Lan"))
    qtbot.addWidget(page)
    page.resize(900, 640)
    return page


def test_backup_table_model(qtmodeltester: Any) -> None:
    model = BackupTableModel()
    rows = [BackupFile(Path(f"/b/test-2026-11-2{i}_143000.sqlite"),
                       dt.datetime(2026, 11, 20 + i, 14, 30), kind, 1_500_000 * i + 900)
            for i, kind in ((3, ""), (2, "truoc-nhap"), (1, "truoc-khoi-phuc"))]
    model.set_backups(rows)
    qtmodeltester.check(model)
    assert model.rowCount() == 3 and model.columnCount() == 4
    assert [model.index(0, c).data() for c in range(4)] == [
        "23/11/2026 14:30:00", "Tự động", "4,3 MB", "test-2026-11-23_143000.sqlite"]
    assert model.index(1, 1).data() == "Trước khi nhập dữ liệu"
    assert model.index(2, 2).data() == "1,4 MB"
    assert model.index(0, 0).data(BackupRole) == rows[0]
    assert model.headerData(2, Qt.Orientation.Horizontal) == "Dung lượng"
    model.set_backups([])
    qtmodeltester.check(model)


def test_backup_now_lists_the_backup(qtbot: QtBot, factory: Factory, programme_id: int,
                                     data_home: Path, sink: list[Any]) -> None:
    page = _page(qtbot, factory)
    qtbot.waitUntil(lambda: "Chưa có bản sao lưu nào" in page.summary_label.text())
    assert page.folder_edit.text() == str(data_home / "backups")
    assert (page.daily_spin.value(), page.weekly_spin.value(), page.monthly_spin.value(),
            page.minutes_spin.value()) == (7, 4, 6, 30)
    assert not page.restore_button.isEnabled()
    page.backup_button.click()
    qtbot.waitUntil(lambda: page.model.rowCount() == 1)
    made = page.model.backup(0)
    assert made is not None and made.kind == "thu-cong" and made.file.exists()
    assert ("notify", f"Đã sao lưu và kiểm tra toàn vẹn: {made.file}.", "") in sink
    assert page.summary_label.text().startswith(f"1 bản trong {data_home / 'backups'}; mới nhất")


def test_settings_are_validated_saved_and_announced(qtbot: QtBot, factory: Factory,
                                                    tmp_path: Path, sink: list[Any]) -> None:
    page = _page(qtbot, factory)
    assert not page.save_button.isEnabled()
    page.daily_spin.setValue(10)
    page.minutes_spin.setValue(15)
    page.folder_edit.setText(str(tmp_path / "sao luu"))
    assert page.save_button.isEnabled()
    with qtbot.waitSignal(page.policy_changed) as signal:
        page.save_button.click()
    assert signal.args == [BackupPolicy(tmp_path / "sao luu", 10, 4, 6, 15)]
    settings = load_settings()
    assert (settings.backup_folder, settings.keep_daily, settings.backup_minutes) == (
        str(tmp_path / "sao luu"), 10, 15)
    assert (tmp_path / "sao luu").is_dir()
    page.folder_edit.setText("")
    page.daily_spin.setValue(11)
    page.save_button.click()
    assert page.problems_label.text() == "Chọn thư mục sao lưu."


def test_restore_asks_naming_the_time_then_reopens(qtbot: QtBot, factory: Factory,
                                                   programme_id: int, db_url: str,
                                                   sink: list[Any]) -> None:
    page = _page(qtbot, factory)
    page.backup_button.click()
    qtbot.waitUntil(lambda: page.model.rowCount() == 1)
    from mbfcare.services.programmes import create_programme, default_programme_spec

    create_programme(factory, default_programme_spec(), actor=Actor("Lan"))
    path = sqlite_path(db_url)
    assert path is not None and _count(path) == 2
    page.table.selectRow(0)
    assert page.restore_button.isEnabled()
    backup = page.model.backup(0)
    assert backup is not None
    with qtbot.waitSignal(page.restart_requested, timeout=10000) as signal:
        page.restore_button.click()
    assert signal.args == [""]
    _kind, question, details = next(m for m in sink if m[0] == "confirm")
    assert question == (f"Khôi phục bản sao lưu lúc {backup.taken_at:%H:%M} ngày "
                        f"{backup.taken_at:%d/%m/%Y}?")
    assert "Dữ liệu hiện tại được sao lưu trước" in details
    assert _count(path) == 1
    kinds = [b.kind for b in list_backups(path, page.policy().folder)]
    assert sorted(kinds) == ["thu-cong", "truoc-khoi-phuc"]


def test_a_clerk_may_back_up_but_not_restore(qtbot: QtBot, factory: Factory,
                                             sink: list[Any]) -> None:
    page = _page(qtbot, factory, Actor("Hoa", "clerk", store="CH Hải Châu"))
    page.backup_button.click()
    qtbot.waitUntil(lambda: page.model.rowCount() == 1)
    page.table.selectRow(0)
    assert not page.restore_button.isEnabled()
    assert not page.daily_spin.isEnabled() and not page.save_button.isEnabled()
    assert page.restore_button.toolTip() == "Chỉ quản trị được khôi phục và đổi cài đặt sao lưu."


def test_postgresql_says_the_server_backs_it_up(qtbot: QtBot) -> None:
    engine = create_engine("postgresql+psycopg://care:secret@db.local/mbfcare")
    page = _page(qtbot, make_session_factory(engine))
    assert page.findChild(object, "database_note").text().startswith(  # type: ignore[union-attr]
        "Cơ sở dữ liệu PostgreSQL do máy chủ sao lưu (pg_dump")
    assert page.findChild(object, "database_label").text() == (  # type: ignore[union-attr]
        "postgresql+psycopg://care:***@db.local/mbfcare")
    assert not page.table.isVisibleTo(page)
    engine.dispose()


def test_the_window_backs_up_while_open_and_on_close(qtbot: QtBot, factory: Factory,
                                                     programme_id: int, db_url: str,
                                                     data_home: Path, sink: list[Any]) -> None:
    window = MainWindow(factory, "test", runner=TaskRunner())
    qtbot.addWidget(window)
    assert window._backup_timer.isActive()
    assert window._backup_timer.interval() == 30 * 60_000
    path = sqlite_path(db_url)
    assert path is not None
    window._on_backup_timer_timeout()
    qtbot.waitUntil(lambda: len(list_backups(path, data_home / "backups")) == 1)
    # The file is there before the worker's result reaches the window: wait for the words.
    qtbot.waitUntil(lambda: any(
        m[0] == "notify" and m[1].startswith("Đã tự sao lưu lúc ") for m in sink))
    window.settings_page.database_tab.policy_changed.emit(BackupPolicy(data_home / "backups",
                                                                       minutes=10))
    assert window._backup_timer.interval() == 10 * 60_000
    # Name the backup as started after the last write: on close nothing new is backed up.
    (only,) = list_backups(path, data_home / "backups")
    ahead = dt.datetime.now() + dt.timedelta(seconds=10)
    only.file.rename(only.file.with_name(backup_name(path, only.kind, ahead)))
    window.close()
    assert len(list_backups(path, data_home / "backups")) == 1


def test_a_restore_reopens_the_window(qtbot: QtBot, factory: Factory) -> None:
    window = MainWindow(factory, "test", runner=TaskRunner())
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.restart_requested) as signal:
        window.settings_page.database_tab.restart_requested.emit("")
    assert signal.args == [""]
    tabs = window.settings_page._tabs
    assert tabs.tabText(tabs.indexOf(window.settings_page.database_tab)) == "Cơ sở dữ liệu"


def test_the_window_backs_a_changed_file_up_on_close(qtbot: QtBot, factory: Factory,
                                                     programme_id: int, db_url: str,
                                                     data_home: Path) -> None:
    window = MainWindow(factory, "test", runner=TaskRunner())
    qtbot.addWidget(window)
    path = sqlite_path(db_url)
    assert path is not None and list_backups(path, data_home / "backups") == []
    window.close()
    (made,) = list_backups(path, data_home / "backups")
    assert made.kind == "" and _count(made.file) == 1


def test_check_at_start_restores_and_tells_the_time(db_url: str, data_home: Path) -> None:
    from mbfcare.services import backups

    made = backups.backup_now(db_url)
    path = sqlite_path(db_url)
    assert path is not None
    path.write_bytes(os.urandom(32768))
    shown: list[tuple[str, str, str]] = []
    assert check_at_start(db_url, lambda *box: shown.append(box)) is True
    assert len(shown) == 1 and shown[0][0] == "warning"
    assert shown[0][2] == (
        f"Tệp cơ sở dữ liệu bị hỏng nên đã được cất sang {path}.damaged; đã khôi phục bản sao "
        f"lưu lúc {made.taken_at:%H:%M} ngày {made.taken_at:%d/%m/%Y}. Công việc ghi sau giờ "
        "đó cần nhập lại.")
    for backup in list_backups(path, data_home / "backups"):
        backup.file.unlink()
    path.write_bytes(os.urandom(32768))
    shown.clear()
    assert check_at_start(db_url, lambda *box: shown.append(box)) is False
    assert shown[0][0] == "critical" and str(path) in shown[0][2]
    assert "gọi bộ phận hỗ trợ (IT)" in shown[0][2]


def test_check_at_start_backs_a_sound_file_up(db_url: str, data_home: Path) -> None:
    shown: list[Any] = []
    assert check_at_start(db_url, lambda *box: shown.append(box)) is True
    assert shown == []
    path = sqlite_path(db_url)
    assert path is not None
    assert [b.kind for b in list_backups(path, data_home / "backups")] == [""]


def test_the_kinds_match_the_services_labels() -> None:
    from mbfcare.backup_files import KIND_LABELS
    from mbfcare.ui.tablemodels.backups import KIND_TEXT

    assert KIND_TEXT == KIND_LABELS
