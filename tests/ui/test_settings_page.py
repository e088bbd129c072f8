"""The settings page's wiring: live rule check, saving through the runner, the language."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QCoreApplication, QLocale
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.models import Batch, CareCase, Subscriber
from mbfcare.services.programmes import programme_changes, programme_spec
from mbfcare.settings import load_settings
from mbfcare.ui import messages
from mbfcare.ui.i18n import install_translators
from mbfcare.ui.settings_page import SettingsWidget
from mbfcare.ui.tasks import TaskRunner

Factory = sessionmaker[Session]


@pytest.fixture
def recorded() -> Iterator[list[tuple[str, str, str]]]:
    calls: list[tuple[str, str, str]] = []

    def sink(kind: str, text: str, details: str) -> bool:
        calls.append((kind, text, details))
        return True  # "yes" to every confirmation

    messages.set_sink(sink)
    yield calls
    messages.set_sink(None)


def _page(qtbot: QtBot, factory: Factory, programme_id: int) -> SettingsWidget:
    runner = TaskRunner()
    page = SettingsWidget(factory, runner, user="lan")
    runner.setParent(page)  # lives as long as the page
    qtbot.addWidget(page)
    with qtbot.waitSignal(page.programme_loaded, timeout=10000):
        page.set_programme(programme_id, None)
    return page


def test_default_rule_shows_the_700000_gap(
    qtbot: QtBot, factory: Factory, programme_id: int
) -> None:
    page = _page(qtbot, factory, programme_id)
    assert page.rule_check_text() == "⚠ 700.000 đ không thuộc nhóm nào"
    assert page.problems_text() == ""
    assert not page._save_button.isEnabled()
    assert page._group_rows[0].lower.text() == "700.000 đ"


def test_inclusive_upper_bound_closes_the_gap(
    qtbot: QtBot, factory: Factory, programme_id: int
) -> None:
    page = _page(qtbot, factory, programme_id)
    page._group_rows[1].upper_inclusive.setChecked(True)
    assert page.rule_check_text() == "✓ Các nhóm liền nhau, không chồng lấn"
    assert page.is_dirty()
    assert page._save_button.isEnabled()

    page._group_rows[1].upper.setValue(710_000)
    assert page.rule_check_text().startswith("⚠ Nhóm 1 và Nhóm 2 chồng lấn")


def test_bad_care_month_is_shown_inline(
    qtbot: QtBot, factory: Factory, programme_id: int, recorded: list[tuple[str, str, str]]
) -> None:
    page = _page(qtbot, factory, programme_id)
    page._batch_rows[1].month.setText("13/2017")
    page._batch_rows[1].month.textEdited.emit("13/2017")
    assert "Đợt 2: tháng chăm sóc phải viết MM/YYYY" in page.problems_text()
    assert not page._save_button.isEnabled()
    assert recorded == []  # inline, no box


def test_saving_frozen_lists_asks_then_saves(
    qtbot: QtBot, factory: Factory, programme_id: int, recorded: list[tuple[str, str, str]]
) -> None:
    with factory.begin() as session:
        batch_id = session.scalar(select(Batch.id).where(
            Batch.programme_id == programme_id, Batch.number == 1))
        sub = Subscriber(msisdn="0901234567", subscriber_type="prepaid", status="active")
        session.add(sub)
        session.flush()
        session.add(CareCase(
            programme_id=programme_id, batch_id=batch_id, subscriber_id=sub.id, state="listed",
            reason_code="group", group_number=2, delivery="store", gift_type_number=2,
            basis=600_000, cycle_1=201612, cycle_2=201611, cycle_3=201610, charge_1=600_000,
            charge_2=600_000, charge_3=600_000, aggregation="every_cycle", rule_version=1,
            subscriber_type="prepaid", subscriber_status="active"))
    page = _page(qtbot, factory, programme_id)
    assert "Đã có 1 KH trong danh sách đợt 1" in page._frozen_label.text()
    page._group_rows[1].upper_inclusive.setChecked(True)

    with qtbot.waitSignal(page.programme_changed, timeout=10000) as saved:
        page._save_button.click()

    assert saved.args == [programme_id]
    kinds = [kind for kind, _, _ in recorded]
    assert kinds == ["confirm", "notify"]
    assert recorded[0][1].startswith("Chương trình đã có 1 KH trong danh sách đợt 1;")
    assert "Nhóm 2: cận trên 700.000 đ → 700.000 đ (tính cả)" in recorded[0][2]
    assert programme_spec(factory, programme_id).groups[1].upper_inclusive
    [change] = programme_changes(factory, programme_id)
    assert change.user == "lan"
    qtbot.waitUntil(lambda: page._history_tree.topLevelItem(0).text(1) == "lan", timeout=5000)
    assert not page.is_dirty()


def test_saying_no_keeps_the_programme(
    qtbot: QtBot, factory: Factory, programme_id: int
) -> None:
    answers: list[str] = []

    def say_no(kind: str, text: str, details: str) -> bool:
        answers.append(kind)
        return False

    messages.set_sink(say_no)
    try:
        with factory.begin() as session:
            batch_id = session.scalar(select(Batch.id).where(Batch.number == 1))
            sub = Subscriber(msisdn="0901234567", subscriber_type="prepaid", status="active")
            session.add(sub)
            session.flush()
            session.add(CareCase(
                programme_id=programme_id, batch_id=batch_id, subscriber_id=sub.id,
                state="listed", reason_code="group", basis=1, cycle_1=1, cycle_2=1, cycle_3=1,
                charge_1=1, charge_2=1, charge_3=1, aggregation="every_cycle", rule_version=1,
                subscriber_type="prepaid", subscriber_status="active"))
        page = _page(qtbot, factory, programme_id)
        page._name_edit.setText("Tên mới")
        page._name_edit.textEdited.emit("Tên mới")
        page._save_button.click()
        qtbot.waitUntil(lambda: answers == ["confirm"], timeout=10000)
        qtbot.waitUntil(lambda: not page._runner.is_busy(), timeout=5000)
        assert programme_spec(factory, programme_id).name == "Chăm sóc khách hàng năm 2017"
        assert page.is_dirty()
    finally:
        messages.set_sink(None)


def test_language_switch_saves_and_installs_english(
    qapp: QApplication, qtbot: QtBot, factory: Factory, programme_id: int
) -> None:
    page = _page(qtbot, factory, programme_id)
    assert page._vietnamese_radio.isChecked()
    try:
        with qtbot.waitSignal(page.language_changed) as changed:
            page._english_radio.click()
        assert changed.args == ["en"]
        assert load_settings().language == "en"
        assert QCoreApplication.translate("MainWindow", "&Tệp") == "&File"
        assert "restarted" in page._language_note.text()
    finally:
        install_translators(qapp, "vi")
        QLocale.setDefault(QLocale("vi"))
    assert QCoreApplication.translate("MainWindow", "&Tệp") == "&Tệp"
