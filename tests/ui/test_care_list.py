"""The care list screen's wiring: model over real data, filters, search, detail, export."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog
from pytestqt.qtbot import QtBot
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.db import make_engine, make_session_factory
from mbfcare.domain.actors import Actor
from mbfcare.io.synthetic import generate_subscribers, write_xlsx
from mbfcare.models import CareCase, Subscriber
from mbfcare.services.classification import classify_batch
from mbfcare.services.importing import import_subscribers
from mbfcare.services.programmes import create_programme, default_programme_spec
from mbfcare.services.queries import CareListFilter
from mbfcare.ui.care_list import CareListWidget
from mbfcare.ui.tablemodels.care_list import COLUMNS, CareListTableModel
from mbfcare.ui.tasks import TaskRunner


@pytest.fixture(scope="module")
def filled_db(template_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database with 400 imported subscribers and batch 1's care list, built once."""
    folder = tmp_path_factory.mktemp("carelist")
    path = folder / "filled.sqlite"
    shutil.copy(template_db, path)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MBFCARE_HOME", str(folder))
        engine = make_engine(f"sqlite:///{path.as_posix()}")
        factory = make_session_factory(engine)
        create_programme(factory, default_programme_spec(), actor=Actor("test"))
        extract = write_xlsx(folder / "extract.xlsx", generate_subscribers(400, seed=7), seed=7)
        year, month = extract.care_month
        care_month = f"{month:02d}/{year}"
        import_subscribers(factory, extract.path, batch=1, care_month=care_month,
                           actor=Actor("test"))
        classify_batch(factory, batch=1, care_month=care_month, actor=Actor("test"))
        engine.dispose()
    return path


@pytest.fixture
def care_factory(filled_db: Path, tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    path = tmp_path / "care.sqlite"
    shutil.copy(filled_db, path)
    engine = make_engine(f"sqlite:///{path.as_posix()}")
    yield make_session_factory(engine)
    engine.dispose()




def _count(factory: sessionmaker[Session], **where: object) -> int:
    with factory() as session:
        query = select(CareCase.id)
        for key, value in where.items():
            query = query.where(getattr(CareCase, key) == value)
        return len(session.scalars(query).all())


@pytest.fixture
def widget(qtbot: QtBot, care_factory: sessionmaker[Session],
           sink: list[tuple[str, str, str]]) -> Iterator[CareListWidget]:
    runner = TaskRunner()
    w = CareListWidget(care_factory, runner)
    qtbot.addWidget(w)
    w.resize(1200, 700)
    with qtbot.waitSignal(w.model.ids_loaded, timeout=10000):
        w.set_programme(1, 1)
    w.show()
    yield w
    qtbot.waitUntil(lambda: not runner.is_busy(), timeout=10000)


def test_model_passes_the_model_tester(qtmodeltester, care_factory: sessionmaker[Session]
                                       ) -> None:
    model = CareListTableModel(care_factory)
    model.set_filter(CareListFilter(programme_id=1))
    assert model.rowCount() == _count(care_factory) > 100
    qtmodeltester.check(model, force_py=True)
    model.sort(model.column_of("basis"), Qt.SortOrder.DescendingOrder)
    bases = [model.row_dto(r).basis for r in range(model.rowCount())]  # type: ignore[union-attr]
    assert bases == sorted(bases, reverse=True)
    index = model.index(0, model.column_of("basis"))
    assert index.data(Qt.ItemDataRole.TextAlignmentRole) & Qt.AlignmentFlag.AlignRight
    assert "." in index.data()  # 700.000
    msisdn = model.index(0, model.column_of("msisdn")).data()
    assert len(msisdn) == 12 and msisdn.count(" ") == 2  # 0912 345 678
    state = model.index(0, model.column_of("state"))
    assert state.data(Qt.ItemDataRole.ToolTipRole)
    assert [model.headerData(i, Qt.Orientation.Horizontal) for i in range(len(COLUMNS))] == [
        c.header() for c in COLUMNS]


def test_shows_the_list_and_filter_changes_the_count(
    qtbot: QtBot, widget: CareListWidget, care_factory: sessionmaker[Session]
) -> None:
    total = _count(care_factory)
    assert widget.model.rowCount() == total
    assert widget.count_text() == f"{total} KH"
    combo = widget._group_combo
    index = combo.findData(2)
    assert index > 0
    with qtbot.waitSignal(widget.model.ids_loaded, timeout=10000):
        combo.setCurrentIndex(index)
    in_group_2 = _count(care_factory, group_number=2)
    assert 0 < in_group_2 < total
    assert widget.count_text() == f"{in_group_2} KH"
    district = widget._district_combo
    with qtbot.waitSignal(widget.model.ids_loaded, timeout=10000):
        district.setCurrentIndex(1)
    expected = _count(care_factory, group_number=2, district=district.currentData())
    assert widget.model.rowCount() == expected


def test_typing_an_international_number_finds_the_subscriber(
    qtbot: QtBot, widget: CareListWidget, care_factory: sessionmaker[Session]
) -> None:
    with care_factory() as session:
        number = session.scalars(select(Subscriber.msisdn).join(
            CareCase, CareCase.subscriber_id == Subscriber.id).order_by(CareCase.id)).first()
    assert number is not None
    widget.focus_search()
    with qtbot.waitSignal(widget.model.ids_loaded, timeout=10000):
        qtbot.keyClicks(widget._search_edit, "84" + number[1:])
    assert widget.model.rowCount() == 1
    assert widget.model.row_dto(0).msisdn == number  # type: ignore[union-attr]
    assert widget.count_text() == "1 KH"


def test_selecting_a_row_fills_the_detail_with_the_explanation(
    qtbot: QtBot, widget: CareListWidget
) -> None:
    model = widget.model
    assert model.rowCount() > 3
    row = 3
    with qtbot.waitSignals([widget.selection_changed, widget.detail_shown], timeout=10000):
        widget.table.selectRow(row)
    dto = model.row_dto(row)
    assert dto is not None
    text = widget.detail_text()
    assert dto.name in text
    assert "cước 3 chu kỳ" in text or "Chờ quyết định" in text
    assert "Các bước" in text and "—\tGửi SMS" in text.replace("\n", "\t")


def test_enter_in_the_table_opens_the_detail(qtbot: QtBot, widget: CareListWidget) -> None:
    qtbot.waitUntil(lambda: bool(widget.detail_text()), timeout=10000)
    widget._splitter.setSizes([700, 0])
    widget.table.setFocus()
    qtbot.keyClick(widget.table, Qt.Key.Key_Return)
    assert widget._splitter.sizes()[1] > 0
    qtbot.keyClick(widget.table, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)


def test_export_writes_the_column_titles(
    qtbot: QtBot, widget: CareListWidget, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    sink: list[tuple[str, str, str]],
) -> None:
    out = tmp_path / "danh-sach"
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(out), "")))
    with qtbot.waitSignal(widget.export_finished, timeout=10000) as blocker:
        widget._export_button.click()
    assert blocker.args == [str(out) + ".xlsx"]
    ws = openpyxl.load_workbook(out.with_suffix(".xlsx"), read_only=True).active
    assert ws is not None
    rows = list(ws.iter_rows(values_only=True))
    assert list(rows[0]) == [c.header() for c in COLUMNS]
    assert len(rows) == widget.model.rowCount() + 1
    first = widget.model.row_dto(0)
    assert first is not None and rows[1][1] == first.msisdn
    assert sink[-1][0] == "notify"
