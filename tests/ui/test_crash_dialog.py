"""Unexpected errors: logged with their traceback, shown in the crash dialog with a copy button."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator

import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from mbfcare.errors import ImportFileError
from mbfcare.ui import messages
from mbfcare.ui.crash_dialog import CrashDialog, install_excepthook


@pytest.fixture
def recorded() -> Iterator[list[tuple[str, str, str]]]:
    calls: list[tuple[str, str, str]] = []

    def sink(kind: str, text: str, details: str) -> bool:
        calls.append((kind, text, details))
        return True

    messages.set_sink(sink)
    yield calls
    messages.set_sink(None)


def _boom() -> None:
    raise ZeroDivisionError("chia cho 0")


def test_crash_dialog_shows_the_traceback_and_copies_it(qtbot: QtBot) -> None:
    try:
        _boom()
    except ZeroDivisionError as exc:
        dialog = CrashDialog(exc)
    qtbot.addWidget(dialog)
    assert "ZeroDivisionError: chia cho 0" in dialog.details.toPlainText()
    assert "_boom" in dialog.details.toPlainText()
    assert dialog.windowTitle() == "MBF Care gặp lỗi không mong đợi"
    dialog.copy_button.click()
    assert "chia cho 0" in QApplication.clipboard().text()


def test_show_error_routes_bugs_to_the_crash_dialog(
        qapp: QApplication, recorded: list[tuple[str, str, str]],
        caplog: pytest.LogCaptureFixture) -> None:
    # The application's own log setup may stop propagation to the root logger.
    logger = logging.getLogger("mbfcare")
    logger.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.ERROR, logger="mbfcare"):
            messages.show_error(None, KeyError("x"))
    finally:
        logger.removeHandler(caplog.handler)
    assert recorded[0][0] == "crash"
    assert "KeyError" in recorded[0][2]
    assert "unexpected error" in caplog.text


def test_expected_error_is_one_sentence_with_details(
        qapp: QApplication, recorded: list[tuple[str, str, str]]) -> None:
    try:
        raise ImportFileError("Tệp a.xlsx bị hỏng.") from OSError("bad zip")
    except ImportFileError as exc:
        messages.show_error(None, exc)
    kind, text, details = recorded[0]
    assert (kind, text) == ("error", "Tệp a.xlsx bị hỏng.")
    assert "OSError: bad zip" in details


def test_excepthook_opens_the_crash_dialog(
        qapp: QApplication, recorded: list[tuple[str, str, str]]) -> None:
    old = sys.excepthook
    install_excepthook()
    try:
        sys.excepthook(RuntimeError, RuntimeError("hỏng"), None)
    finally:
        sys.excepthook = old
    assert recorded and recorded[0][0] == "crash" and "hỏng" in recorded[0][1]
