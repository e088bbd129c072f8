"""Classifying from the window: preview, confirmation, gap decisions."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytestqt.qtbot import QtBot
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.models import CareCase, Charge, Subscriber
from mbfcare.ui import messages
from mbfcare.ui.classify_dialog import ClassifyDialog, GapDecisionDialog
from mbfcare.ui.tasks import TaskRunner


@pytest.fixture
def recorded() -> Iterator[list[tuple[str, str]]]:
    calls: list[tuple[str, str]] = []

    def sink(kind: str, text: str, details: str) -> bool:
        calls.append((kind, text))
        return True

    messages.set_sink(sink)
    yield calls
    messages.set_sink(None)


@pytest.fixture
def data(factory: sessionmaker[Session], programme_id: int) -> sessionmaker[Session]:
    with factory() as session:
        for i, charges in enumerate([(900000,) * 3, (600000,) * 3, (700000, 800000, 900000)]):
            sub = Subscriber(msisdn=f"090100000{i}", ported=False, subscriber_type="postpaid",
                             status="active", name=f"Khách {i}", province="Quảng Ninh",
                             district="Hạ Long")
            session.add(sub)
            session.flush()
            for cycle, amount in zip((201612, 201611, 201610), charges, strict=True):
                session.add(Charge(subscriber_id=sub.id, cycle=cycle, amount=amount))
        session.commit()
    return factory


def test_preview_then_run_then_decide_the_gap(qtbot: QtBot, data: sessionmaker[Session],
                                              recorded: list[tuple[str, str]]) -> None:
    runner = TaskRunner()
    dialog = ClassifyDialog(data, runner, None, 1, "03/2017", [1, 2])
    qtbot.addWidget(dialog)
    dialog.preview_button.click()
    qtbot.waitUntil(lambda: dialog.preview is not None, timeout=5000)
    assert dialog.preview is not None and dialog.preview.dry_run
    labels = {dialog.counts.item(r, 0).text(): dialog.counts.item(r, 1).text()
              for r in range(dialog.counts.rowCount())}
    assert labels["Nhóm 1"] == "1" and labels["Nhóm 2"] == "1"
    assert labels["Chờ quyết định nhóm"] == "1"
    assert "700.000 đ không thuộc nhóm nào" in dialog.summary.text()
    with data() as session:
        assert session.scalars(select(CareCase)).all() == []
    with qtbot.waitSignal(dialog.classified, timeout=5000):
        dialog.run_button.click()
    assert recorded[0] == ("confirm", "Lưu danh sách đợt 1: 3 KH.")
    gap = dialog.gap_dialog
    assert isinstance(gap, GapDecisionDialog)
    qtbot.waitUntil(lambda: len(gap.cases) == 1, timeout=5000)
    gap.table.cellWidget(0, 5).setCurrentIndex(1)  # Nhóm 1
    gap._on_save_clicked()
    assert gap.note_error.text() == "Cần ghi lý do của quyết định."
    gap.note_edit.setText("Giám đốc duyệt")
    with qtbot.waitSignal(gap.decided, timeout=5000):
        gap._on_save_clicked()
    with data() as session:
        case = session.scalars(select(CareCase).join(Subscriber)
                               .where(Subscriber.msisdn == "0901000002")).one()
        assert (case.state, case.group_number, case.decision_note) == ("listed", 1,
                                                                       "Giám đốc duyệt")
    assert ("notify", "Đã lưu 1 quyết định nhóm.") in recorded
