"""A new user's first session, in the window: create, import, classify and decide, find, export."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from pytestqt.qtbot import QtBot
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.domain.actors import Actor
from mbfcare.io.synthetic import generate_subscribers, write_xlsx
from mbfcare.models import CareCase, Subscriber
from mbfcare.services.importing import import_subscribers
from mbfcare.ui import messages
from mbfcare.ui.classify_dialog import ClassifyDialog, GapDecisionDialog
from mbfcare.ui.main_window import MainWindow


@pytest.fixture
def recorded() -> Iterator[list[tuple[str, str]]]:
    calls: list[tuple[str, str]] = []

    def sink(kind: str, text: str, details: str) -> bool:
        calls.append((kind, text))
        return True

    messages.set_sink(sink)
    yield calls
    messages.set_sink(None)


def test_first_session(qtbot: QtBot, factory: sessionmaker[Session], tmp_path: Path,
                       recorded: list[tuple[str, str]]) -> None:
    window = MainWindow(factory, "test.sqlite", user="Nguyễn Thị Lan")
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.programmes_loaded, timeout=10000):
        window.show()
    assert window.programmes == []
    with qtbot.waitSignal(window.programmes_loaded, timeout=10000):
        window._create_button.click()
    assert window.programme_id is not None and window.batch == 1
    assert window.current_section() == "dashboard"

    subs = generate_subscribers(600, seed=21)
    extract = write_xlsx(tmp_path / "trich xuat.xlsx", subs)
    care = extract.care_month
    care_month = care if isinstance(care, str) else f"{care[1]:02d}/{care[0]}"
    result = import_subscribers(factory, extract.path, batch=1, care_month=care_month,
                                actor=Actor("test"))
    assert result.imported == len(extract.expected)
    with qtbot.waitSignal(window.programmes_loaded, timeout=10000):
        window.refresh()

    window.open_classify(1)
    dialog = window._dialog
    assert isinstance(dialog, ClassifyDialog)
    with qtbot.waitSignal(dialog.classified, timeout=10000):
        dialog._run(dry_run=False)
    gap = getattr(dialog, "gap_dialog", None)
    if gap is not None:
        assert isinstance(gap, GapDecisionDialog)
        qtbot.waitUntil(lambda: bool(gap.cases), timeout=10000)
        for row in range(len(gap.cases)):
            gap.table.cellWidget(row, 5).setCurrentIndex(1)
        gap.note_edit.setText("Giám đốc duyệt")
        with qtbot.waitSignal(gap.decided, timeout=10000):
            gap._on_save_clicked()

    with factory() as session:
        number = session.scalar(
            select(Subscriber.msisdn).join(CareCase, CareCase.subscriber_id == Subscriber.id)
            .where(CareCase.group_number == 1, CareCase.state == "listed")
            .order_by(Subscriber.msisdn).limit(1))
    assert number is not None
    window.show_section("care_list")
    care_list = window.care_list
    qtbot.waitUntil(lambda: care_list.model.rowCount() > 0, timeout=10000)
    care_list._search_edit.setText("84" + number[1:])
    care_list._on_filter_changed()
    qtbot.waitUntil(lambda: care_list.model.rowCount() == 1, timeout=10000)
    care_list.table.selectRow(0)
    qtbot.waitUntil(lambda: "mỗi chu kỳ trên" in care_list.detail_text(), timeout=20000)
    assert "Nhóm 1" in care_list.detail_text()
    assert "mỗi chu kỳ trên 700.000 đ" in care_list.detail_text()

    care_list._search_edit.clear()
    care_list._on_filter_changed()
    qtbot.waitUntil(lambda: care_list.model.rowCount() > 1, timeout=10000)
    out = tmp_path / "danh sách đợt 1.xlsx"
    with qtbot.waitSignal(care_list.export_finished, timeout=10000):
        care_list.export_to(out)
    sheet = openpyxl.load_workbook(out).active
    assert sheet is not None
    assert sheet.max_row == care_list.model.rowCount() + 1
    assert not [k for k, _ in recorded if k in ("error", "crash")]
