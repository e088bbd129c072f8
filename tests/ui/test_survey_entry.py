"""The survey entry grid (keyboard only) and the survey form editor."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QInputMethodEvent
from PySide6.QtWidgets import QApplication, QLineEdit
from pytestqt.qtbot import QtBot
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.domain.actors import Actor
from mbfcare.models import CareCase, Subscriber, SurveyResponse
from mbfcare.services import care_work, stock, surveys
from mbfcare.ui import messages
from mbfcare.ui.survey_entry import SurveyEntryDialog
from mbfcare.ui.survey_form_editor import (
    EditableQuestion,
    SurveyFormEditor,
    SurveyFormEditorDialog,
    SurveyQuestionsModel,
)
from mbfcare.ui.tasks import TaskRunner
from tests.care_data import GROUP1, GROUP2, STORE, seed_listed
from tests.print_data import printed_code

G1, G2 = list(GROUP1), list(GROUP2)
ADMIN = Actor("lan", "admin")
CLERK = Actor("hà", "clerk")
DAY = dt.date(2017, 3, 10)
MET = G2[:3]
NOT_MET = G1[2]

# Three paper forms, typed as a clerk would: one entry per question, "" = left blank.
PAPERS = [
    ["4", "5", "3", "5", "1 3", "1", "3", "Sóng yếu ở nhà"],
    ["2", "3", "4", "5", "123", "chua chac", "6", ""],
    ["5", "5", "5", "5", "7", "2", "tin nhan", "Cảm ơn MobiFone"],
]
STORED = [
    {"overall": 4, "network": 5, "customer_care": 3, "gift": 5,
     "services": ["Gọi điện", "Data 3G/4G"], "recommend": "Có",
     "contact_channel": "Zalo", "suggestions": "Sóng yếu ở nhà"},
    {"overall": 2, "network": 3, "customer_care": 4, "gift": 5,
     "services": ["Gọi điện", "SMS", "Data 3G/4G"], "recommend": "Chưa chắc",
     "contact_channel": "Tại cửa hàng MobiFone"},
    {"overall": 5, "network": 5, "customer_care": 5, "gift": 5,
     "services": ["Dịch vụ khác"], "recommend": "Không", "contact_channel": "Tin nhắn SMS",
     "suggestions": "Cảm ơn MobiFone"},
]


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
def met(factory: sessionmaker[Session], programme_id: int) -> sessionmaker[Session]:
    """Batch 1 listed; three store customers handed over on DAY."""
    seed_listed(factory, programme_id)
    stock.move_stock(factory, "receive", "o-2-khuc", 5, actor=ADMIN, location=STORE)
    for number in MET:
        care_work.record_handover(factory, number, actor=ADMIN, on=DAY, item_code="o-2-khuc")
    return factory


def _case_id(factory: sessionmaker[Session], msisdn: str) -> int:
    with factory() as session:
        return session.scalars(select(CareCase.id).join(Subscriber).where(
            Subscriber.msisdn == msisdn)).one()


def _answers(factory: sessionmaker[Session], msisdn: str) -> dict[str, Any] | None:
    with factory() as session:
        row = session.scalars(select(SurveyResponse).where(
            SurveyResponse.care_case_id == _case_id(factory, msisdn))).one_or_none()
        return None if row is None else dict(row.answers)


def _open(qtbot: QtBot, factory: sessionmaker[Session], programme_id: int,
          actor: Actor = CLERK, case_id: int | None = None) -> SurveyEntryDialog:
    dialog = SurveyEntryDialog(factory, TaskRunner(), actor, programme_id, case_id)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.form is not None, timeout=5000)
    return dialog


def _keys(qtbot: QtBot, widget: QLineEdit, text: str) -> None:
    """Keys for ASCII; Vietnamese letters arrive as the input method commits them."""
    if text.isascii():
        qtbot.keyClicks(widget, text)
    else:
        event = QInputMethodEvent()
        event.setCommitString(text)
        QApplication.sendEvent(widget, event)


def _type(qtbot: QtBot, dialog: SurveyEntryDialog, text: str) -> QLineEdit:
    """Type into whatever has the focus, as the keyboard would."""
    widget = dialog.focusWidget()
    assert isinstance(widget, QLineEdit)
    if text:
        _keys(qtbot, widget, text)
    return widget


def _scan(qtbot: QtBot, dialog: SurveyEntryDialog, code: str) -> None:
    assert dialog.focusWidget() is dialog.scan_edit
    _type(qtbot, dialog, code)
    qtbot.keyClick(dialog.scan_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: dialog.case is not None or "✗" in dialog.customer_note.text(),
                    timeout=5000)


def test_three_paper_forms_by_keyboard_only(qtbot: QtBot, met: sessionmaker[Session],
                                            programme_id: int,
                                            recorded: list[tuple[str, str]]) -> None:
    # The forms were printed before the clerk types them in.
    codes = {n: printed_code(met, "survey", programme_id, _case_id(met, n)) for n in MET}
    dialog = _open(qtbot, met, programme_id)
    for number, paper in zip(MET, PAPERS, strict=True):
        _scan(qtbot, dialog, codes[number])
        assert dialog.case is not None and dialog.case.msisdn == number
        assert dialog.customer_label.text().endswith("· Nhóm 2 · Đợt 1")
        assert dialog.date_edit.date().toPython() == DAY
        for index, text in enumerate(paper):
            edit = _type(qtbot, dialog, text)
            assert edit is dialog.answer_edits[index]
            if index < len(paper) - 1:
                qtbot.keyClick(edit, Qt.Key.Key_Return)
            else:
                with qtbot.waitSignal(dialog.saved, timeout=5000) as saved:
                    qtbot.keyClick(edit, Qt.Key.Key_Return)
        assert saved.args is not None and saved.args[0].case_id == _case_id(met, number)
        # Ready for the next paper form.
        assert dialog.case is None and dialog.focusWidget() is dialog.scan_edit
        assert dialog.scan_edit.text() == ""
        assert all(edit.text() == "" for edit in dialog.answer_edits)
        assert dialog.status_label.text().startswith("✓ Đã lưu phiếu của Khách Hàng Số")
    for number, stored in zip(MET, STORED, strict=True):
        assert _answers(met, number) == stored
    with met() as session:
        assert {c.survey_on for c in session.scalars(select(CareCase).where(
            CareCase.survey_on.is_not(None)))} == {DAY}
    assert dialog.count_label.text() == "Đã nhập 3 phiếu trong lần này."
    assert ("notify", "Đã lưu phiếu của Khách Hàng Số 1 (0902 000 001).") in recorded


def test_live_hints_and_an_invalid_answer_does_not_advance(
        qtbot: QtBot, met: sessionmaker[Session], programme_id: int,
        recorded: list[tuple[str, str]]) -> None:
    dialog = _open(qtbot, met, programme_id)
    _scan(qtbot, dialog, MET[0])
    first = _type(qtbot, dialog, "9")
    assert dialog.hint_labels[0].text() == "✗ Chọn từ 1 đến 5."
    qtbot.keyClick(first, Qt.Key.Key_Return)
    assert dialog.focusWidget() is first and first.selectedText() == "9"
    qtbot.keyClicks(first, "5")
    assert dialog.hint_labels[0].text() == "✓ 5/5 · Rất hài lòng"
    qtbot.keyClick(first, Qt.Key.Key_Return)
    assert dialog.focusWidget() is dialog.answer_edits[1]
    dialog.answer_edits[4].setText("1 3")
    assert dialog.hint_labels[4].text() == "✓ Gọi điện; Data 3G/4G"
    dialog.answer_edits[4].setText("1 9")
    assert dialog.hint_labels[4].text().startswith("✗ Không có lựa chọn 9")
    # Enter on a blank required question stays there.
    second = dialog.answer_edits[1]
    qtbot.keyClick(second, Qt.Key.Key_Return)
    assert dialog.focusWidget() is second
    assert dialog.hint_labels[1].text() == "✗ Câu này bắt buộc, chưa có câu trả lời."
    # Ctrl+Enter checks everything and saves nothing.
    qtbot.keyClick(second, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert dialog.status_label.text() == "✗ Còn 6 câu chưa đúng; sửa rồi lưu lại."
    assert dialog.focusWidget() is second
    assert _answers(met, MET[0]) is None
    assert dialog.case is not None  # still on the same paper form


def test_unknown_and_not_met_customers(qtbot: QtBot, met: sessionmaker[Session],
                                       programme_id: int) -> None:
    dialog = _open(qtbot, met, programme_id)
    _scan(qtbot, dialog, "0999999999")
    assert dialog.customer_note.text() == "✗ Không có thuê bao 0999 999 999 trong cơ sở dữ liệu."
    assert dialog.focusWidget() is dialog.scan_edit and dialog.scan_edit.selectedText()
    qtbot.keyClick(dialog.scan_edit, Qt.Key.Key_Backspace)
    _scan(qtbot, dialog, printed_code(met, "survey", programme_id, _case_id(met, NOT_MET)))
    assert dialog.case is not None and "ghi trao quà trước" in dialog.customer_note.text()
    assert not dialog.answer_edits[0].isEnabled()
    assert dialog.focusWidget() is dialog.scan_edit


def test_existing_response_needs_a_reason_to_be_corrected(
        qtbot: QtBot, met: sessionmaker[Session], programme_id: int,
        recorded: list[tuple[str, str]]) -> None:
    case_id = _case_id(met, MET[0])
    surveys.save_response(met, programme_id, case_id, STORED[0], actor=CLERK)
    head = Actor("Phạm Thu Hà", "head")
    dialog = _open(qtbot, met, programme_id, actor=head, case_id=case_id)
    qtbot.waitUntil(lambda: dialog.case is not None, timeout=5000)
    assert dialog.focusWidget() is dialog.answer_edits[0]
    assert dialog.customer_note.text().startswith("⚠ Phiếu đã nhập ngày 10/03/2017")
    assert [e.text() for e in dialog.answer_edits][:5] == ["4/5", "5/5", "3/5", "5/5",
                                                           "Gọi điện; Data 3G/4G"]
    assert dialog.reason_edit.isVisibleTo(dialog)
    qtbot.keyClicks(dialog.answer_edits[0], "2")
    qtbot.keyClick(dialog.answer_edits[0], Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert dialog.status_label.text() == "✗ Phiếu này đã nhập: ghi lý do sửa rồi lưu."
    assert dialog.focusWidget() is dialog.reason_edit
    _keys(qtbot, dialog.reason_edit, "gõ nhầm câu 1")
    with qtbot.waitSignal(dialog.saved, timeout=5000) as saved:
        qtbot.keyClick(dialog.reason_edit, Qt.Key.Key_Return)
    assert saved.args is not None and saved.args[0].replaced
    stored = _answers(met, MET[0])
    assert stored is not None and stored["overall"] == 2


def test_a_clerk_cannot_correct(qtbot: QtBot, met: sessionmaker[Session],
                                programme_id: int) -> None:
    case_id = _case_id(met, MET[1])
    surveys.save_response(met, programme_id, case_id, STORED[1], actor=CLERK)
    dialog = _open(qtbot, met, programme_id, case_id=case_id)
    qtbot.waitUntil(lambda: dialog.case is not None, timeout=5000)
    dialog.answer_edits[0].setText("5")
    dialog.reason_edit.setText("gõ nhầm")
    dialog.save_button.click()
    qtbot.waitUntil(lambda: "không được hủy hoặc sửa" in dialog.status_label.text(),
                    timeout=5000)
    stored = _answers(met, MET[1])
    assert stored is not None and stored["overall"] == 2


def test_questions_model(qtmodeltester: Any) -> None:
    model = SurveyQuestionsModel()
    model.set_questions([
        EditableQuestion("overall", "Hài lòng?", "scale", low="Kém", high="Tốt"),
        EditableQuestion("channel", "Kênh?", "single", ("SMS", "Zalo")),
        EditableQuestion("channel", "Kênh nữa?", "single", ("SMS",)),
    ])
    qtmodeltester.check(model, force_py=True)
    assert model.data(model.index(0, 4)) == "1 Kém … 5 Tốt"
    assert model.data(model.index(1, 4)) == "1 SMS · 2 Zalo"
    assert model.data(model.index(2, 3)) == "Chọn một"
    assert model.problems() == {2: "Câu 3 (channel): câu hỏi loại 'single' cần ít nhất hai "
                                   "lựa chọn (options)."}
    model.update_row(2, EditableQuestion("channel", "Kênh nữa?", "single", ("SMS", "Zalo")))
    assert model.problems() == {2: "Câu 3 (channel): khóa 'channel' bị trùng với một câu "
                                   "trước."}
    assert model.move_row(2, -1) == 1
    assert [q.text for q in model.questions()] == ["Hài lòng?", "Kênh nữa?", "Kênh?"]
    assert model.problems() == {2: "Câu 3 (channel): khóa 'channel' bị trùng với một câu "
                                   "trước."}
    model.remove_row(2)
    assert model.problems() == {} and model.rowCount() == 2
    qtmodeltester.check(model, force_py=True)


def test_form_editor_adds_a_question_and_saves_a_new_version(
        qtbot: QtBot, met: sessionmaker[Session], programme_id: int,
        recorded: list[tuple[str, str]]) -> None:
    surveys.save_response(met, programme_id, MET[0], STORED[0], actor=CLERK)
    dialog = SurveyFormEditorDialog(met, TaskRunner(), ADMIN, programme_id)
    qtbot.addWidget(dialog)
    dialog.show()
    editor = dialog.editor
    qtbot.waitUntil(lambda: editor.loaded is not None, timeout=5000)
    assert editor.model.rowCount() == 8 and not editor.save_button.isEnabled()
    assert editor.version_label.text() == "Phiên bản 1 · 1 phiếu đã nhập"
    editor.table.selectRow(7)
    editor.add_question()
    assert editor.current_row() == 8 and editor.key_edit.text() == "cau_9"
    assert editor.problems_label.text() == "✗ Câu 9 (cau_9): chưa có nội dung câu hỏi (text)."
    assert not editor.save_button.isEnabled()
    event = QInputMethodEvent()
    event.setCommitString("Anh/Chị đến cửa hàng bằng gì?")
    QApplication.sendEvent(editor.text_edit, event)
    editor.kind_combo.setCurrentIndex(editor.kind_combo.findData("single"))
    assert editor.options_edit.isVisibleTo(editor) and not editor.low_edit.isVisibleTo(editor)
    assert editor.problems_label.text().endswith("cần ít nhất hai lựa chọn (options).")
    editor.options_edit.setPlainText("Xe máy\nÔ tô\nĐi bộ")
    assert editor.problems_label.text() == ""
    assert editor.model.data(editor.model.index(8, 4)) == "1 Xe máy · 2 Ô tô · 3 Đi bộ"
    editor.move_question(-1)
    assert editor.current_row() == 7 and editor.model.question_at(7).key == "cau_9"
    # Removing a question with answers asks first (the sink says yes).
    editor.table.selectRow(3)
    assert "1 phiếu đã trả lời" in editor.answers_note.text()
    editor.remove_question()
    assert recorded[-1][0] == "confirm" and "('gift') đã có 1 phiếu trả lời" in recorded[-1][1]
    assert editor.is_dirty() and editor.save_button.isEnabled()
    with qtbot.waitSignal(editor.saved, timeout=5000) as saved:
        editor.save_button.click()
    assert saved.args is not None and saved.args[0].version == 2
    qtbot.waitUntil(lambda: editor.loaded is not None and editor.loaded.version == 2,
                    timeout=5000)
    assert ("notify", "Đã lưu phiếu khảo sát, phiên bản 2.") in recorded
    form = surveys.survey_form(met, programme_id)
    assert [q.key for q in form.definition.questions] == [
        "overall", "network", "customer_care", "services", "recommend", "contact_channel",
        "cau_9", "suggestions"]
    assert form.definition.question("cau_9").options == ("Xe máy", "Ô tô", "Đi bộ")
    assert not editor.is_dirty()


def test_form_editor_is_read_only_for_a_clerk(qtbot: QtBot, factory: sessionmaker[Session],
                                              programme_id: int) -> None:
    editor = SurveyFormEditor(factory, TaskRunner(), CLERK, programme_id)
    qtbot.addWidget(editor)
    qtbot.waitUntil(lambda: editor.loaded is not None, timeout=5000)
    assert editor.key_edit.isReadOnly() and not editor.add_button.isEnabled()
    assert "chỉ được xem" in editor.version_label.text()
    editor.add_question()
    assert editor.model.rowCount() == 8
