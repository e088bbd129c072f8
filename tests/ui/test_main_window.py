"""The main window's wiring: it reads the programme off the GUI thread and shows it."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QLocale
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.models import Subscriber
from mbfcare.services.programmes import list_programmes
from mbfcare.ui.i18n import install_translators
from mbfcare.ui.main_window import MainWindow, vn_number
from mbfcare.ui.tasks import Task, TaskRunner


def _window(qtbot: QtBot, factory: sessionmaker[Session]) -> MainWindow:
    window = MainWindow(factory, "test.sqlite")
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.programmes_loaded, timeout=10000):
        window.show()
    return window


def test_shows_programme_batches_and_subscriber_count(
    qtbot: QtBot, factory: sessionmaker[Session], programme_id: int
) -> None:
    with factory.begin() as session:
        for msisdn in ("0901234567", "0901234568", "0931234569"):
            session.add(Subscriber(msisdn=msisdn, subscriber_type="prepaid", status="active"))

    window = _window(qtbot, factory)

    text = window.page_text()
    assert window.windowTitle() == "MBF Care"
    assert "Chăm sóc khách hàng năm 2017" in text
    assert "Đợt 1 – 03/2017" in text
    assert "Đợt 4 – 12/2017" in text
    assert "Thuê bao đã lưu: 3" in text
    assert [p.id for p in window.programmes] == [programme_id]


def test_empty_database_offers_the_default_programme(
    qtbot: QtBot, factory: sessionmaker[Session]
) -> None:
    window = _window(qtbot, factory)
    assert window.programmes == []
    button = window._create_button
    assert button.isVisible()
    assert button.text() == "Tạo chương trình theo văn bản (CSKH 2017 – KV5)"

    button.click()

    qtbot.waitUntil(lambda: "Đợt 1 – 03/2017" in window.page_text(), timeout=10000)
    stored = list_programmes(factory)
    assert [p.name for p in stored] == ["Chăm sóc khách hàng năm 2017"]
    assert "Thuê bao đã lưu: 0" in window.page_text()
    assert not button.isVisible()


def test_refresh_shows_new_data(
    qtbot: QtBot, factory: sessionmaker[Session], programme_id: int
) -> None:
    window = _window(qtbot, factory)
    with factory.begin() as session:
        session.add(Subscriber(msisdn="0901234567", subscriber_type="postpaid", status="active"))

    with qtbot.waitSignal(window.programmes_loaded, timeout=10000):
        window._refresh_action.trigger()

    assert "Thuê bao đã lưu: 1" in window.page_text()


@pytest.mark.parametrize(("value", "text"), [(0, "0"), (999, "999"), (1234567, "1.234.567")])
def test_vn_number(value: int, text: str) -> None:
    assert vn_number(value) == text


def test_task_runner_delivers_result(qtbot: QtBot) -> None:
    runner = TaskRunner()
    done: list[object] = []
    task = Task(lambda progress: 6 * 7)
    with qtbot.waitSignal(task.signals.finished, timeout=5000) as blocker:
        runner.submit(task, on_done=done.append)
    assert blocker.args == [42]
    qtbot.waitUntil(lambda: done == [42])
    assert not runner.is_busy()


def test_task_runner_delivers_exception(qtbot: QtBot) -> None:
    def boom(progress: object) -> None:
        raise ValueError("hỏng")

    runner = TaskRunner()
    errors: list[BaseException] = []
    busy: list[bool] = []
    runner.busy_changed.connect(busy.append)
    task = Task(boom)
    with qtbot.waitSignal(task.signals.failed, timeout=5000) as blocker:
        runner.submit(task, on_error=errors.append)
    assert isinstance(blocker.args[0], ValueError)
    assert str(blocker.args[0]) == "hỏng"
    qtbot.waitUntil(lambda: errors != [])
    assert errors == [blocker.args[0]]
    assert busy == [True, False]


def test_english_translation(
    qapp: QApplication, qtbot: QtBot, factory: sessionmaker[Session], programme_id: int
) -> None:
    translators = install_translators(qapp, "en")
    try:
        assert any(t.language() == "en_US" for t in translators)
        window = _window(qtbot, factory)
        assert "Subscribers stored: 0" in window.page_text()
        assert "Batch 1 – 03/2017" in window.page_text()
        assert window.menuBar().actions()[0].text() == "&File"
    finally:
        for translator in translators:
            qapp.removeTranslator(translator)
        QLocale.setDefault(QLocale("vi"))


def test_sections_and_shortcuts_reach_the_desk_and_the_stock(
    qtbot: QtBot, factory: sessionmaker[Session], programme_id: int
) -> None:
    window = _window(qtbot, factory)
    titles = [window._sidebar.item(i).text() for i in range(window._sidebar.count())]
    assert titles == ["▣  Tổng quan", "⇪  Nhập dữ liệu", "☰  Danh sách chăm sóc",
                      "✦  Quầy trao quà", "▤  Kho quà", "✉  In ấn & SMS", "▥  Báo cáo",
                      "⚙  Cài đặt"]
    shortcuts = [a.shortcut().toString() for a in window._section_actions]
    assert shortcuts == [f"Ctrl+{i}" for i in range(1, 9)]
    assert window._section_actions[5].text() == "In ấn && SMS"
    window._section_actions[3].trigger()
    assert window.current_section() == "desk"
    qtbot.waitUntil(lambda: window.desk.input.hasFocus() or not window.isActiveWindow(),
                    timeout=5000)
    assert window.desk.input.isEnabled()
    window._section_actions[4].trigger()
    assert window.current_section() == "stock"
    assert window._user_status.text().endswith("(Quản trị)")
