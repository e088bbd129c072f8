"""The overview's wiring: counts read off the GUI thread, shown, and each one a link."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from dashboard_data import Case, seed
from PySide6.QtCharts import QBarCategoryAxis, QBarSeries, QLineSeries
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.ui import messages
from mbfcare.ui.dashboard import DashboardWidget
from mbfcare.ui.tasks import TaskRunner

H = dt.UTC
CASES = [
    # batch, state, group, district, has_work, handed over (UTC), profile standardised
    Case(1, "listed", 1, "Lê Chân", True, dt.datetime(2017, 3, 20, 3, 0, tzinfo=H), True),
    Case(1, "listed", 1, "Lê Chân", True, dt.datetime(2017, 3, 20, 18, 0, tzinfo=H), None),
    Case(1, "listed", 1, "Hồng Bàng", False, None, False),
    Case(1, "listed", 2, "Lê Chân", False, None, False),
    Case(1, "waiting", 2, "Hồng Bàng", False, None, None),
    Case(1, "awaiting_group", None, "Hồng Bàng", False, None, None),
    Case(2, "listed", 1, "Ân Thi", True, dt.datetime(2017, 3, 21, 4, 0, tzinfo=H), None),
    Case(2, "left_out", None, "Ân Thi", False, None, None),
]


@pytest.fixture(autouse=True)
def sink() -> Iterator[list[tuple[str, str, str]]]:
    recorded: list[tuple[str, str, str]] = []

    def record(kind: str, text: str, details: str) -> bool:
        recorded.append((kind, text, details))
        return False

    messages.set_sink(record)
    yield recorded
    messages.set_sink(None)


def _widget(qtbot: QtBot, factory: sessionmaker[Session],
            programme_id: int | None, batch: int | None = None) -> DashboardWidget:
    runner = TaskRunner()
    widget = DashboardWidget(factory, runner)
    runner.setParent(widget)
    qtbot.addWidget(widget)
    widget.resize(1100, 900)
    widget.show()
    with qtbot.waitSignal(widget.loaded, timeout=10000):
        widget.set_programme(programme_id, batch)
    return widget


@pytest.fixture
def shown(qtbot: QtBot, factory: sessionmaker[Session], programme_id: int) -> DashboardWidget:
    seed(factory, programme_id, CASES)
    return _widget(qtbot, factory, programme_id)


def test_shows_cards_and_todo(shown: DashboardWidget) -> None:
    text = shown.page_text()
    assert "Đang tải…" not in text
    for title in ("Đợt 1 · Nhóm 1", "Đợt 1 · Nhóm 2", "Đợt 1 · Chưa xếp nhóm", "Đợt 2 · Nhóm 1"):
        assert title in text
    assert "Đợt 2 · Chưa xếp nhóm" not in text  # only a left-out entry there: not in care
    values = {(link.care_filter.get("batch"), link.care_filter.get("group"),
               next(k for k in link.care_filter if k not in ("batch", "group")),
               str(link.care_filter.get("state", ""))): link.value
              for link in shown.links() if "batch" in link.care_filter}
    assert values[(1, 1, "state", "listed")] == 3
    assert values[(1, 1, "handed_over", "")] == 2
    assert values[(1, 1, "has_work", "")] == 2
    assert values[(1, 2, "state", "waiting")] == 1
    assert values[(1, None, "state", "awaiting_group")] == 1
    assert values[(2, 1, "handed_over", "")] == 1
    assert "KH cần chuẩn hóa thông tin" in text


def test_numbers_use_vietnamese_grouping(
    qtbot: QtBot, factory: sessionmaker[Session], programme_id: int
) -> None:
    seed(factory, programme_id, [Case(1, "listed", 1, "Lê Chân", False, None, None)] * 1234)
    widget = _widget(qtbot, factory, programme_id)
    assert "1.234" in widget.page_text()


def test_bar_chart_one_category_per_district(shown: DashboardWidget) -> None:
    chart = shown.district_chart
    (axis,) = [a for a in chart.axes(Qt.Orientation.Horizontal)]
    assert isinstance(axis, QBarCategoryAxis)
    assert axis.categories() == ["Ân Thi", "Hồng Bàng", "Lê Chân"]
    (series,) = chart.series()
    assert isinstance(series, QBarSeries)
    listed, handed = series.barSets()
    assert listed.label() == "Trong danh sách"
    assert handed.label() == "Đã trao quà"
    assert [listed.at(i) for i in range(3)] == [1, 1, 3]
    assert [handed.at(i) for i in range(3)] == [1, 0, 2]


def test_line_chart_counts_handovers_per_vietnam_day(shown: DashboardWidget) -> None:
    (series,) = shown.day_chart.series()
    assert isinstance(series, QLineSeries)
    # 20/03 03:00 UTC is the 20th; 20/03 18:00 and 21/03 04:00 UTC are the 21st in Vietnam.
    assert [point.y() for point in series.points()] == [1, 2]


def test_clicking_a_number_opens_the_filtered_care_list(
    qtbot: QtBot, shown: DashboardWidget
) -> None:
    link = next(link for link in shown.links()
                if link.care_filter == {"batch": 1, "group": 2, "state": "listed"})
    with qtbot.waitSignal(shown.open_care_list, timeout=2000) as blocker:
        qtbot.mouseClick(link, Qt.MouseButton.LeftButton, pos=link.rect().center())
    assert blocker.args == [{"batch": 1, "group": 2, "state": "listed"}]

    todo = next(link for link in shown.links() if link.care_filter == {"state": "awaiting_group"})
    with qtbot.waitSignal(shown.open_care_list, timeout=2000) as blocker:
        qtbot.mouseClick(todo, Qt.MouseButton.LeftButton, pos=todo.rect().center())
    assert blocker.args == [{"state": "awaiting_group"}]


def test_clicking_a_bar_opens_the_district(qtbot: QtBot, shown: DashboardWidget) -> None:
    (series,) = shown.district_chart.series()
    assert isinstance(series, QBarSeries)
    with qtbot.waitSignal(shown.open_care_list, timeout=2000) as blocker:
        series.clicked.emit(2, series.barSets()[1])
    assert blocker.args == [{"district": "Lê Chân", "handed_over": True}]


def test_one_batch_keeps_the_batch_in_every_filter(
    qtbot: QtBot, factory: sessionmaker[Session], programme_id: int
) -> None:
    seed(factory, programme_id, CASES)
    widget = _widget(qtbot, factory, programme_id, batch=2)
    assert "Đợt 1 · Nhóm 1" not in widget.page_text()
    assert widget.links()
    assert all(link.care_filter.get("batch") == 2 for link in widget.links())


def test_empty_database_explains_instead_of_failing(
    qtbot: QtBot, factory: sessionmaker[Session], sink: list[tuple[str, str, str]]
) -> None:
    widget = _widget(qtbot, factory, None)
    assert "Chưa có chương trình chăm sóc nào" in widget.page_text()
    assert widget.links() == []
    assert not widget.district_view.isVisibleTo(widget)
    assert sink == []


def test_programme_without_lists_explains(
    qtbot: QtBot, factory: sessionmaker[Session], programme_id: int,
    sink: list[tuple[str, str, str]]
) -> None:
    widget = _widget(qtbot, factory, programme_id)
    assert "chưa có danh sách chăm sóc" in widget.page_text()
    assert widget.links() == []
    assert sink == []


def test_shows_loading_text_then_a_known_error_inline(
    qtbot: QtBot, factory: sessionmaker[Session], programme_id: int,
    sink: list[tuple[str, str, str]]
) -> None:
    widget = _widget(qtbot, factory, programme_id)
    with qtbot.waitSignal(widget._runner.busy_changed, timeout=5000,
                          check_params_cb=lambda busy: not busy):
        widget.set_programme(programme_id, 9)
        assert "Đang tải…" in widget.page_text()
    assert "không có đợt 9" in widget.page_text()
    assert sink == []
