"""The SMS tab: live counts under the templates, the batch's list and totals, export, marking
the batch's SMS as sent (step 1)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.domain.actors import Actor
from mbfcare.services import sms
from mbfcare.ui.sms_panel import SmsPanel, SmsRowsModel
from mbfcare.ui.tasks import TaskRunner
from tests.care_data import GROUP1, GROUP2, seed_listed

LAN = Actor("Lan", "admin")




@pytest.fixture
def panel(qtbot: QtBot, factory: sessionmaker[Session], programme_id: int,
          sink: list[tuple[str, str, str]]) -> Iterator[SmsPanel]:
    seed_listed(factory, programme_id)
    runner = TaskRunner()
    widget = SmsPanel(factory, runner, LAN)
    qtbot.addWidget(widget)
    with qtbot.waitSignal(widget.loaded, timeout=10000):
        widget.set_programme(programme_id, 1)
    qtbot.waitUntil(lambda: bool(widget.notice_edit.toPlainText()), timeout=10000)
    yield widget
    qtbot.waitUntil(lambda: not runner.is_busy(), timeout=10000)


def test_lists_one_message_per_customer_with_totals(panel: SmsPanel) -> None:
    expected = len(GROUP1) + len(GROUP2)  # the gap case gets none
    assert panel.model.rowCount() == expected
    assert panel.totals_text().startswith(f"{expected} tin nhắn")
    kinds = {panel.model.index(r, 2).data() for r in range(panel.model.rowCount())}
    assert kinds == {"Thông báo (nhóm 1)", "Mời nhận quà (nhóm 2)"}
    assert "không dấu" in panel.notice_count.text()  # the "no diacritics" box starts ticked


def test_live_count_and_unknown_placeholder(qtbot: QtBot, panel: SmsPanel) -> None:
    panel.notice_edit.setPlainText("Kinh gui {ten}: qua cua Quy khach da san sang.")
    qtbot.waitUntil(lambda: "1 tin" in panel.notice_count.text(), timeout=3000)
    panel.notice_edit.setPlainText("Chào {tenn}")
    qtbot.waitUntil(lambda: panel.notice_count.text().startswith("⚠"), timeout=3000)
    assert "tenn" in panel.notice_count.text()


def test_save_templates_then_export_and_mark_sent(
        qtbot: QtBot, panel: SmsPanel, factory: sessionmaker[Session], programme_id: int,
        tmp_path: Path, sink: list[tuple[str, str, str]]) -> None:
    panel.invitation_edit.setPlainText("Moi {ten} den {cua_hang} nhan qua truoc {han}.")
    with qtbot.waitSignal(panel.loaded, timeout=10000):
        panel.save_button.click()
    assert sms.sms_templates(factory, programme_id).invitation.startswith("Moi {ten}")
    out = tmp_path / "sms.csv"
    panel.export_to(out)
    qtbot.waitUntil(out.exists, timeout=10000)
    with out.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert len(rows) == 1 + len(GROUP1) + len(GROUP2)
    assert all(r[0].startswith("84") for r in rows[1:])
    assert any(r[1].startswith("Moi Khach Hang So") for r in rows[1:])
    with qtbot.waitSignal(panel.sent_marked, timeout=10000) as marked:
        panel.mark_button.click()
    assert marked.args[0].recorded == len(GROUP1) + len(GROUP2)
    assert any(kind == "confirm" for kind, _t, _d in sink)
    qtbot.waitUntil(lambda: "đã gửi: 15" in panel.totals_text(), timeout=10000)


def test_rows_model(qtmodeltester, panel: SmsPanel) -> None:
    model = SmsRowsModel()
    model.set_rows(sms.sms_preview(panel._factory, panel._programme_id, 1).rows)
    qtmodeltester.check(model, force_py=True)
