"""Báo cáo: a report made and shown in the window, saved as a workbook; the regional workbook;
the regional office's consolidation chosen from files, an edited file named."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from pytestqt.qtbot import QtBot
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.domain.actors import Actor
from mbfcare.services import care_work, stock
from mbfcare.ui.reports_page import ConsolidationPanel, RegionalPanel, ReportPanel, ReportsPage
from mbfcare.ui.tasks import TaskRunner
from tests.care_data import GROUP2, STORE, seed_listed

LAN = Actor("Lan", "admin")


@pytest.fixture
def page(qtbot: QtBot, factory: sessionmaker[Session], programme_id: int,
         sink: list[tuple[str, str, str]]) -> Iterator[ReportsPage]:
    seed_listed(factory, programme_id)
    stock.move_stock(factory, "receive", "o-2-khuc", 5, actor=LAN, location=STORE)
    for number in sorted(GROUP2)[:3]:
        care_work.record_handover(factory, number, actor=LAN, item_code="o-2-khuc")
    runner = TaskRunner()
    widget = ReportsPage(factory, runner, LAN)
    qtbot.addWidget(widget)
    widget.resize(1200, 800)
    widget.set_programme(programme_id, 1, [1, 2, 3, 4])
    widget.show()
    yield widget
    qtbot.waitUntil(lambda: not runner.is_busy(), timeout=20000)


def test_progress_report_shown_and_saved(qtbot: QtBot, page: ReportsPage,
                                         tmp_path: Path) -> None:
    panel = page.panels["progress"]
    assert isinstance(panel, ReportPanel)
    assert [panel.batch_combo.itemText(i) for i in range(panel.batch_combo.count())] == [
        "Cả chương trình", "Đợt 1", "Đợt 2", "Đợt 3", "Đợt 4"]
    assert panel.batch_combo.currentData() == 1
    with qtbot.waitSignal(panel.shown, timeout=30000) as shown:
        panel.show_button.click()
    assert shown.args[0].kind == "progress"
    assert panel.page_count() == shown.args[0].pages >= 1
    out = tmp_path / "tien do.xlsx"
    panel.write_to(out)
    qtbot.waitUntil(out.exists, timeout=30000)
    book = openpyxl.load_workbook(out)
    assert book.sheetnames[0] == "TienDo"


def test_stock_report_in_the_window(qtbot: QtBot, page: ReportsPage) -> None:
    page.show_panel("stock")
    panel = page.panels["stock"]
    assert isinstance(panel, ReportPanel)
    assert page.stack.currentWidget() is panel
    with qtbot.waitSignal(panel.shown, timeout=30000):
        panel.show_report()
    assert panel.page_count() >= 1


def test_regional_export_then_consolidation_names_an_edited_file(
        qtbot: QtBot, page: ReportsPage, tmp_path: Path) -> None:
    regional = page.panels["regional"]
    assert isinstance(regional, RegionalPanel)
    first, second = tmp_path / "tinh_a.xlsx", tmp_path / "tinh_b.xlsx"
    for target in (first, second):
        with qtbot.waitSignal(regional.exported, timeout=30000):
            regional.export_to(target)
    assert "SHA-256 ChiTiet" in regional.result_view.text()
    book = openpyxl.load_workbook(second)
    sheet = book["ChiTiet"]
    headers = [c.value for c in sheet[1]]
    sheet.cell(row=2, column=headers.index("Mức cước căn cứ") + 1, value=9_999_999)
    book.save(second)
    merge = page.panels["consolidate"]
    assert isinstance(merge, ConsolidationPanel)
    merge.add_files([first, second, first])
    assert merge.chosen() == [first, second]
    out = tmp_path / "kv5.xlsx"
    with qtbot.waitSignal(merge.merged, timeout=30000) as merged:
        merge.run(out)
    result = merged.args[0]
    assert [m["file"] for m in result.to_json()["merged"]] == [str(first)]
    assert [r["file"] for r in result.to_json()["refused"]] == [str(second)]
    assert "tinh_b.xlsx" in merge.result_text()
    assert out.exists()
