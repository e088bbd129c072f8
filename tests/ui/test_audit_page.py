"""The audit viewer (Báo cáo → Nhật ký thao tác) and the data-protection settings tab."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.domain.actors import Actor
from mbfcare.models import Programme
from mbfcare.services import audit
from mbfcare.services import data_protection as dp
from mbfcare.services.audit_review import AuditFilter
from mbfcare.ui.audit_page import AuditPanel
from mbfcare.ui.data_protection_tab import DataProtectionWidget
from mbfcare.ui.reports_page import ReportsPage
from mbfcare.ui.tablemodels.audit import AuditTableModel
from mbfcare.ui.tasks import TaskRunner
from mbfcare.uow import UnitOfWork
from tests.care_data import seed_listed
from tests.tamper import run_sql

ADMIN = Actor("Trần Quản Trị", "admin", username="quantri")
CLERK = Actor("Lê Văn Tư", "clerk", store="Cửa hàng MobiFone Lê Chân", username="tu")


@pytest.fixture
def logged(factory: sessionmaker[Session], programme_id: int) -> sessionmaker[Session]:
    seed_listed(factory, programme_id)
    with UnitOfWork(factory, write=True) as uow:
        for i in range(45):
            audit.record(uow.session, user="Lan" if i % 3 else "Hà", action="record_step",
                         entity="care_case", entity_id=i, programme_id=programme_id,
                         summary=f"Gửi SMS – 0901 000 {i:03d}", before={"sms_on": None},
                         after={"sms_on": "2017-03-05"})
        audit.record(uow.session, user="Lan", action="export", entity="file", entity_id=None,
                     programme_id=programme_id, summary="Danh sách chăm sóc: ds.csv, 16 dòng",
                     after={"kind": "care_list", "rows": 16})
        uow.commit()
    return factory


@pytest.fixture
def runner(qtbot: QtBot) -> Iterator[TaskRunner]:
    task_runner = TaskRunner()
    yield task_runner
    qtbot.waitUntil(lambda: not task_runner.is_busy(), timeout=20000)


def test_model_pages_in_and_passes_the_model_tester(
        qtbot: QtBot, logged: sessionmaker[Session], runner: TaskRunner) -> None:
    model = AuditTableModel(logged, runner, ADMIN, page=20)
    tester = ModelTester(None)
    tester.check(model)
    with qtbot.waitSignal(model.page_loaded, timeout=10000):
        model.set_filter(AuditFilter(action="record_step"))
    assert model.rowCount() >= 20  # the tester itself may already have fetched more

    def fetched_all() -> bool:
        if model.canFetchMore():
            model.fetchMore()
        return model.rowCount() == 45 and not model.loading()

    qtbot.waitUntil(fetched_all, timeout=10000)
    assert not model.canFetchMore()
    ids = [model.entry(r).id for r in range(45)]  # type: ignore[union-attr]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 45
    tester.check(model)
    first = model.entry(0)
    assert first is not None and first.action == "record_step"
    assert model.data(model.index(0, 4)) == "Gửi SMS – 0901 *** 044"  # masked by default
    assert model.headerData(2, Qt.Orientation.Horizontal) == "Người thực hiện"


@pytest.fixture
def panel(qtbot: QtBot, logged: sessionmaker[Session], runner: TaskRunner,
          programme_id: int, sink: list[tuple[str, str, str]]) -> AuditPanel:
    widget = AuditPanel(logged, runner, ADMIN)
    qtbot.addWidget(widget)
    widget.resize(1300, 700)
    widget.set_programme(programme_id)
    widget.show()
    with qtbot.waitSignal(widget.chain_checked, timeout=10000):
        widget.refresh()
    qtbot.waitUntil(lambda: widget.model.rowCount() > 0 and widget.user_combo.count() == 3,
                    timeout=10000)
    return widget


def test_panel_filters_shows_detail_and_chain(qtbot: QtBot, panel: AuditPanel,
                                              tmp_path: Path) -> None:
    last = panel.model.entry(0)
    assert last is not None
    assert panel.chain_label.text().endswith(
        f"Chuỗi nhật ký nguyên vẹn đến dòng {last.id}.</span>")
    assert [panel.user_combo.itemText(i) for i in range(3)] == ["Tất cả", "Hà", "Lan"]
    panel.action_combo.setCurrentIndex(panel.action_combo.findData("export"))
    with qtbot.waitSignal(panel.model.page_loaded, timeout=10000):
        panel.apply_button.click()
    assert panel.model.rowCount() == 1
    assert panel.count_label.text() == "1 dòng"
    panel.table.selectRow(0)
    assert "Danh sách chăm sóc: ds.csv, 16 dòng" in panel.detail.toPlainText()
    assert '"rows": 16' in panel.detail.toPlainText()
    panel.action_combo.setCurrentIndex(0)
    panel.user_combo.setCurrentIndex(panel.user_combo.findData("Hà"))
    panel.text_edit.setText("*** 003")  # the log stores numbers masked
    with qtbot.waitSignal(panel.model.page_loaded, timeout=10000):
        panel.text_edit.returnPressed.emit()
    assert panel.model.rowCount() == 1
    panel.table.selectRow(0)
    text = panel.detail.toPlainText()
    assert "Trước:" in text and "Sau:" in text and "2017-03-05" in text
    # Programme filter: the programme's entries only.
    panel.user_combo.setCurrentIndex(0)
    panel.text_edit.clear()
    panel.programme_check.setChecked(True)
    with qtbot.waitSignal(panel.model.page_loaded, timeout=10000):
        panel.apply_button.click()
    assert panel.current_filter().programme_id is not None


def test_panel_names_the_first_bad_line(qtbot: QtBot, panel: AuditPanel, db_url: str) -> None:
    entry = panel.model.entry(5)
    assert entry is not None
    run_sql(db_url, f"UPDATE audit_log SET summary = 'sửa lén' WHERE id = {entry.id}")
    with qtbot.waitSignal(panel.chain_checked, timeout=10000) as checked:
        panel.chain_button.click()
    assert checked.args[0].first_bad_id == entry.id
    assert f"Chuỗi nhật ký bị phá từ dòng {entry.id}" in panel.chain_label.text()


def test_panel_export_is_written_and_audited(qtbot: QtBot, panel: AuditPanel, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch,
                                             logged: sessionmaker[Session]) -> None:
    out = tmp_path / "nhat ky.xlsx"
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(out), "")))
    panel.user_combo.setCurrentIndex(panel.user_combo.findData("Hà"))
    with qtbot.waitSignal(panel.model.page_loaded, timeout=10000):
        panel.apply_button.click()
    with qtbot.waitSignal(panel.exported, timeout=10000) as exported:
        panel.export_button.click()
    assert exported.args[0].rows == 15
    rows = list(openpyxl.load_workbook(out).active.iter_rows(min_row=2, values_only=True))
    assert len(rows) == 15 and {r[2] for r in rows} == {"Hà"}
    with logged() as session:
        from mbfcare.models import AuditEntry

        last = session.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1))
        assert last is not None and last.action == "export"
        assert last.summary == "Nhật ký thao tác: nhat ky.xlsx, 15 dòng"


def test_a_clerk_is_told_the_log_is_for_administrators(
        qtbot: QtBot, logged: sessionmaker[Session], runner: TaskRunner) -> None:
    widget = AuditPanel(logged, runner, CLERK)
    qtbot.addWidget(widget)
    widget.show()
    widget.refresh()
    assert widget.refused_label.isVisible() and not widget.body.isVisible()
    assert widget.model.rowCount() == 0


def test_reports_page_opens_the_log(qtbot: QtBot, logged: sessionmaker[Session],
                                    runner: TaskRunner, programme_id: int,
                                    sink: list[tuple[str, str, str]]) -> None:
    page = ReportsPage(logged, runner, ADMIN)
    qtbot.addWidget(page)
    page.set_programme(programme_id, 1, [1])
    titles = [page.menu.item(i).text() for i in range(page.menu.count())]
    assert titles[-1] == "Nhật ký thao tác"
    with qtbot.waitSignal(page.audit.chain_checked, timeout=10000):
        page.show_panel("audit")
    qtbot.waitUntil(lambda: page.audit.model.rowCount() == 46, timeout=10000)


# --------------------------------------------------------------------------- settings tab


def _tab(qtbot: QtBot, factory: sessionmaker[Session], runner: TaskRunner, actor: Actor,
         programme_id: int) -> DataProtectionWidget:
    widget = DataProtectionWidget(factory, runner, actor)
    qtbot.addWidget(widget)
    widget.show()
    widget.set_programme(programme_id)
    qtbot.waitUntil(lambda: not runner.is_busy(), timeout=10000)
    return widget


def test_mask_setting_close_and_purge(qtbot: QtBot, logged: sessionmaker[Session],
                                      runner: TaskRunner, programme_id: int,
                                      sink: list[tuple[str, str, str]]) -> None:
    tab = _tab(qtbot, logged, runner, ADMIN, programme_id)
    assert tab.mask_check.isChecked() and tab.mask_check.isEnabled()
    assert tab.status_text() == f"Chương trình {programme_id} đang mở."
    assert tab.close_button.isEnabled() and not tab.purge_button.isEnabled()
    with qtbot.waitSignal(tab.masking_changed, timeout=10000) as changed:
        tab.mask_check.setChecked(False)
    assert changed.args == [False] and not dp.masking_on(logged)
    with qtbot.waitSignal(tab.programme_closed, timeout=10000):
        tab.close_button.click()
    qtbot.waitUntil(lambda: tab.purge_button.isEnabled(), timeout=10000)
    assert "đã đóng; dữ liệu cá nhân còn lưu" in tab.status_text()
    with qtbot.waitSignal(tab.programme_purged, timeout=20000) as purged:
        tab.purge_button.click()
    assert purged.args[0].subscribers == 16
    confirmations = [text for kind, text, _ in sink if kind == "confirm"]
    assert "Vẫn giữ 16 hồ sơ chăm sóc" in confirmations[-1]
    assert "Không hoàn tác được" in confirmations[-1]
    qtbot.waitUntil(lambda: "dữ liệu cá nhân đã xóa lúc" in tab.status_text(), timeout=10000)
    assert not tab.purge_button.isEnabled() and not tab.close_button.isEnabled()
    with logged() as session:
        programme = session.get(Programme, programme_id)
        assert programme is not None and programme.purged_at is not None


def test_purge_not_confirmed_erases_nothing(qtbot: QtBot, logged: sessionmaker[Session],
                                            runner: TaskRunner, programme_id: int) -> None:
    from mbfcare.ui import messages

    dp.close_programme(logged, ADMIN, programme_id)
    said: list[Any] = []

    def refuse(kind: str, text: str, details: str) -> bool:
        said.append((kind, text))
        return False

    messages.set_sink(refuse)
    try:
        tab = _tab(qtbot, logged, runner, ADMIN, programme_id)
        tab.purge_button.click()
        qtbot.waitUntil(lambda: not runner.is_busy(), timeout=10000)
    finally:
        messages.set_sink(None)
    assert said and said[0][0] == "confirm"
    with logged() as session:
        programme = session.get(Programme, programme_id)
        assert programme is not None and programme.purged_at is None


def test_a_clerk_cannot_change_the_setting(qtbot: QtBot, logged: sessionmaker[Session],
                                           runner: TaskRunner, programme_id: int) -> None:
    tab = _tab(qtbot, logged, runner, CLERK, programme_id)
    assert tab.refused_label.isVisible()
    assert not tab.mask_check.isEnabled()
    assert not tab.close_button.isEnabled() and not tab.purge_button.isEnabled()


def test_care_list_detail_masks_the_contact_number(
        qtbot: QtBot, logged: sessionmaker[Session], runner: TaskRunner, programme_id: int,
        sink: list[tuple[str, str, str]]) -> None:
    from mbfcare.models import Subscriber
    from mbfcare.ui.care_list import CareListWidget

    with logged.begin() as session:
        for sub in session.scalars(select(Subscriber)):
            sub.contact_number = "0987654321"
    widget = CareListWidget(logged, runner, actor=ADMIN)
    qtbot.addWidget(widget)
    widget.show()
    widget.set_programme(programme_id, 1)
    qtbot.waitUntil(lambda: widget.model.rowCount() > 3, timeout=10000)
    # Whether the list already selected a row by itself or not, the detail shows one.
    widget.table.selectRow(2)
    qtbot.waitUntil(lambda: "SĐT liên hệ" in widget.detail_text(), timeout=10000)
    assert "SĐT liên hệ: 0987 *** 321" in widget.detail_text()
    assert "0987654321" not in widget.detail_text()
    dp.set_office_setting(logged, ADMIN, "mask_personal", False)
    widget.table.selectRow(3)
    qtbot.waitUntil(lambda: "SĐT liên hệ: 0987654321" in widget.detail_text(), timeout=10000)
