"""In ấn & SMS: make a print of the batch's receipts, see it in the window, send it to a
paint device as a printer would, save it; the print log."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtGui import QColor, QImage
from pytestqt.qtbot import QtBot
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.domain.actors import Actor
from mbfcare.services import care_work, printing
from mbfcare.ui.print_page import PrintPage
from mbfcare.ui.tasks import TaskRunner
from tests.care_data import GROUP1, GROUP2, seed_listed

LAN = Actor("Lan", "admin")




@pytest.fixture
def page(qtbot: QtBot, factory: sessionmaker[Session], programme_id: int,
         sink: list[tuple[str, str, str]]) -> Iterator[PrintPage]:
    seed_listed(factory, programme_id)
    runner = TaskRunner()
    widget = PrintPage(factory, runner, LAN)
    qtbot.addWidget(widget)
    widget.resize(1200, 800)
    widget.set_programme(programme_id, 1)
    widget.show()
    qtbot.waitUntil(lambda: widget.documents.district_combo.count() > 1, timeout=10000)
    yield widget
    qtbot.waitUntil(lambda: not runner.is_busy(), timeout=10000)


def test_make_preview_print_and_save_receipts(qtbot: QtBot, page: PrintPage,
                                              factory: sessionmaker[Session],
                                              tmp_path: Path) -> None:
    panel = page.documents
    panel.kind_combo.setCurrentIndex(panel.kind_combo.findData("receipts"))
    panel.group_combo.setCurrentIndex(panel.group_combo.findData(2))
    with qtbot.waitSignal(panel.printed, timeout=20000) as made:
        panel.make_button.click()
    result = made.args[0]
    assert result.documents == len(GROUP2) and result.pages == len(GROUP2)
    assert panel.page_count() == len(GROUP2)
    assert panel.print_button.isEnabled() and panel.save_button.isEnabled()
    assert "biên bản giao nhận quà" in panel.summary.text()
    # the codes on this print are the ones the desk accepts now
    case = care_work.desk_lookup(factory, result.codes[0], actor=Actor("test"))
    assert case.group == 2
    # a printer gets every page, each drawn (not blank)
    image = QImage(600, 850, QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    assert panel.print_to(image) == len(GROUP2)
    assert any(image.pixelColor(x, y) != QColor("white")
               for x in range(0, 600, 7) for y in range(0, 850, 7))
    target = tmp_path / "bien ban nhom 2.pdf"
    panel.save_to(target)
    assert target.read_bytes() == Path(result.file).read_bytes()
    qtbot.waitUntil(lambda: panel.log.count() == 1, timeout=10000)
    assert "Lan" in panel.log.item(0).text() and "12 tài liệu" in panel.log.item(0).text()
    assert printing.print_runs(factory)[0].documents == len(GROUP2)


def test_blank_forms_only_for_forms(page: PrintPage) -> None:
    panel = page.documents
    panel.kind_combo.setCurrentIndex(panel.kind_combo.findData("receipts"))
    assert not panel.blank_spin.isEnabled()
    panel.kind_combo.setCurrentIndex(panel.kind_combo.findData("surveys"))
    assert panel.blank_spin.isEnabled()


def test_nothing_to_print_is_one_sentence(qtbot: QtBot, page: PrintPage,
                                          sink: list[tuple[str, str, str]]) -> None:
    panel = page.documents
    panel.kind_combo.setCurrentIndex(panel.kind_combo.findData("invitations"))
    panel.group_combo.setCurrentIndex(panel.group_combo.findData(1))  # group 1: no invitations
    panel.make_button.click()
    qtbot.waitUntil(lambda: any(kind == "error" for kind, _t, _d in sink), timeout=10000)
    assert panel.make_button.isEnabled()
    assert not panel.print_button.isEnabled()
    assert len(GROUP1) == 3
