"""Cài đặt › Mẫu giấy tờ: typing the wording, previewing it unsaved, saving, defaults, roles."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence
from PySide6.QtWidgets import QApplication, QLineEdit, QMainWindow, QWidget
from pytestqt.qtbot import QtBot
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.domain.actors import Actor
from mbfcare.errors import RuleError
from mbfcare.models import AuditEntry, PrintedDocument, PrintRun
from mbfcare.services import printing
from mbfcare.ui.form_settings_editor import FormSettingsEditor
from mbfcare.ui.settings_page import SettingsWidget
from mbfcare.ui.tasks import TaskRunner
from tests.unit.reports.pdf.pdf_helpers import page_texts

Factory = sessionmaker[Session]
LAN = Actor("Nguyễn Thị Lan", "admin")
HA = Actor("Phạm Thu Hà", "clerk")


def _editor(qtbot: QtBot, factory: Factory, programme_id: int,
            actor: Actor = LAN) -> FormSettingsEditor:
    runner = TaskRunner()
    editor = FormSettingsEditor(factory, runner, actor)
    runner.setParent(editor)
    qtbot.addWidget(editor)
    editor.resize(1100, 760)
    with qtbot.waitSignals([editor.loaded, editor.preview_shown], timeout=15000):
        editor.set_programme(programme_id, 1)
    return editor


def _preview_text(editor: FormSettingsEditor) -> str:
    assert editor.preview_path is not None
    (text,) = page_texts(editor.preview_path)
    return text


def _keys(widget: QWidget, text: str) -> None:
    """Type `text` as key presses (qtbot.keyClicks knows only ASCII)."""
    for char in text:
        for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            QApplication.sendEvent(widget, QKeyEvent(kind, 0, Qt.KeyboardModifier.NoModifier,
                                                     char))


def _type(editor: FormSettingsEditor, text: str, *path: str) -> QLineEdit:
    field = editor.field(*path)
    assert isinstance(field, QLineEdit)
    field.setFocus()
    _keys(field, text)
    return field


def _audit(factory: Factory) -> list[AuditEntry]:
    with factory() as session:
        return list(session.scalars(select(AuditEntry).where(
            AuditEntry.action == "update_form_settings").order_by(AuditEntry.id)))


def test_fields_show_the_file_defaults_and_the_first_preview(
        qtbot: QtBot, factory: Factory, programme_id: int, data_home: Path) -> None:
    folder = data_home / "prints" / "preview"
    folder.mkdir(parents=True)
    stale, recent = folder / "xem-truoc-receipts-1-1.pdf", folder / "xem-truoc-receipts-2-1.pdf"
    for path in (stale, recent):
        path.write_bytes(b"%PDF-")
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    editor = _editor(qtbot, factory, programme_id)
    # An earlier session's preview is removed; one maybe still shown by another window stays.
    assert not stale.exists() and recent.exists()
    assert editor.preview_path is not None and editor.preview_path.parent == folder
    place = editor.field("places", "Hải Phòng")
    assert isinstance(place, QLineEdit)
    assert (place.placeholderText(), place.text()) == ("Hải Phòng", "")
    assert editor.field("titles", "giver").placeholderText() == "ĐẠI DIỆN BÊN GIAO"
    assert editor.field("branches", "Quảng Ninh").placeholderText() == "MOBIFONE TỈNH QUẢNG NINH"
    assert editor.field("organisation").placeholderText().splitlines() == [
        "TỔNG CÔNG TY VIỄN THÔNG MOBIFONE", "CÔNG TY DỊCH VỤ MOBIFONE KHU VỰC 5"]
    assert editor.overrides() == {} and not editor.is_dirty()
    assert editor.page_count() == 1
    text = _preview_text(editor)
    assert "Hải Phòng, ngày" in text and printing.PREVIEW_MARK in text
    assert not editor._save_button.isEnabled()


def test_typed_place_is_previewed_unsaved_then_saved_and_audited(
        qtbot: QtBot, factory: Factory, programme_id: int,
        sink: list[tuple[str, str, str]]) -> None:
    editor = _editor(qtbot, factory, programme_id)
    field = _type(editor, "Lạch Tray", "places", "Hải Phòng")
    assert editor.is_dirty() and editor._save_button.isEnabled()
    assert editor.overrides() == {"places": {"Hải Phòng": "Lạch Tray"}}

    # F5 in the field redraws the preview with the unsaved text.
    first = editor.preview_path
    with qtbot.waitSignal(editor.preview_shown, timeout=15000):
        qtbot.keyClick(field, Qt.Key.Key_F5)
    text = _preview_text(editor)
    assert "Lạch Tray, ngày" in text and printing.PREVIEW_MARK in text
    assert first is not None and not first.exists()  # the older preview file is gone
    assert "chưa lưu" in editor._preview_state.text()
    assert printing.form_settings(factory, programme_id).overrides == {}  # not saved yet
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(PrintRun)) == 0
        assert session.scalar(select(func.count()).select_from(PrintedDocument)) == 0

    with qtbot.waitSignal(editor.saved, timeout=15000):
        qtbot.mouseClick(editor._save_button, Qt.MouseButton.LeftButton)
    dto = printing.form_settings(factory, programme_id)
    assert dto.overrides == {"places": {"Hải Phòng": "Lạch Tray"}}
    assert dto.settings.place("Hải Phòng") == "Lạch Tray"
    (entry,) = _audit(factory)
    assert entry.user == LAN.name and entry.after == {
        "forms": {"places": {"Hải Phòng": "Lạch Tray"}}}
    assert sink == [("notify", "Đã lưu mẫu giấy tờ: 1 mục dùng chữ riêng của chương trình.",
                     "")]
    assert not editor.is_dirty() and not editor._save_button.isEnabled()


def test_defaults_button_restores_the_file_wording(
        qtbot: QtBot, factory: Factory, programme_id: int,
        sink: list[tuple[str, str, str]]) -> None:
    printing.update_form_settings(factory, programme_id, {
        "places": {"Hải Phòng": "Lạch Tray"}, "titles": {"giver": "NGƯỜI TRAO QUÀ"},
        "organisation": ["TỔNG CÔNG TY VIỄN THÔNG MOBIFONE", "CÔNG TY DỊCH VỤ KV9"]},
        actor=LAN)
    editor = _editor(qtbot, factory, programme_id)
    assert editor.field("places", "Hải Phòng").text() == "Lạch Tray"  # type: ignore[union-attr]
    assert editor.field("organisation").toPlainText().endswith("KV9")  # type: ignore[union-attr]
    text = _preview_text(editor)
    assert "Lạch Tray, ngày" in text and "NGƯỜI TRAO QUÀ" in text and "KV9" in text

    qtbot.mouseClick(editor._defaults_button, Qt.MouseButton.LeftButton)
    assert editor.overrides() == {} and editor.is_dirty()
    assert editor.field("titles", "giver").text() == ""  # type: ignore[union-attr]
    with qtbot.waitSignal(editor.preview_shown, timeout=15000):
        qtbot.mouseClick(editor._preview_button, Qt.MouseButton.LeftButton)
    text = _preview_text(editor)
    assert "Hải Phòng, ngày" in text and "ĐẠI DIỆN BÊN GIAO" in text
    assert "KHU VỰC 5" in text and "KV9" not in text

    with qtbot.waitSignal(editor.saved, timeout=15000):
        editor.save()
    dto = printing.form_settings(factory, programme_id)
    assert dto.overrides == {} and dto.settings.place("Hải Phòng") == "Hải Phòng"
    assert len(_audit(factory)) == 2
    assert sink[-1] == ("notify", "Đã lưu mẫu giấy tờ: dùng toàn bộ mẫu mặc định của tệp.", "")


def test_revert_drops_unsaved_edits(qtbot: QtBot, factory: Factory, programme_id: int) -> None:
    editor = _editor(qtbot, factory, programme_id)
    _type(editor, "BB-QT", "numbers", "receipt")
    assert editor.overrides() == {"numbers": {"receipt": "BB-QT"}}
    # The window reloading the same programme keeps the edits.
    editor.set_programme(programme_id, 1)
    assert editor.field("numbers", "receipt").text() == "BB-QT"  # type: ignore[union-attr]
    qtbot.mouseClick(editor._revert_button, Qt.MouseButton.LeftButton)
    assert editor.overrides() == {} and not editor.is_dirty()


def test_unknown_placeholder_is_shown_inline_and_blocks_saving(
        qtbot: QtBot, factory: Factory, programme_id: int,
        sink: list[tuple[str, str, str]]) -> None:
    editor = _editor(qtbot, factory, programme_id)
    field = _type(editor, "Kính mời {ten} đến nhận quà", "invitation", "closing")
    assert editor.problems_text() == ("Giấy mời – lời kết: không có chỗ điền {ten}; dùng "
                                      "{name}, {programme}, {gift}, {store}, {batch}.")
    assert not editor._problems_label.isHidden() and not editor._problem_icon.isHidden()
    assert "border" in field.styleSheet() and field.toolTip() == editor.problems_text()
    assert not editor._save_button.isEnabled()
    editor.save()  # Ctrl+S while the problem is there
    assert printing.form_settings(factory, programme_id).overrides == {}
    field.clear()
    _keys(field, "Kính mời {name}!")
    assert editor.problems_text() == "" and editor._problems_label.isHidden()
    assert editor._save_button.isEnabled()
    assert sink == []  # inline only, no box


def test_clerk_sees_but_cannot_save(
        qtbot: QtBot, factory: Factory, programme_id: int,
        sink: list[tuple[str, str, str]]) -> None:
    editor = _editor(qtbot, factory, programme_id, HA)
    field = editor.field("places", "Hải Phòng")
    assert isinstance(field, QLineEdit) and field.isReadOnly()
    assert editor.field("organisation").isReadOnly()
    _keys(field, "Lạch Tray")
    assert field.text() == "" and editor.overrides() == {}
    for button in (editor._save_button, editor._defaults_button, editor._revert_button):
        assert not button.isEnabled()
    assert editor._role_label.text() == ("Chỉ xem: vai trò Giao dịch viên không được thay đổi "
                                         "mẫu giấy tờ.")
    assert editor._preview_button.isEnabled()  # looking is allowed

    field.setText("Lạch Tray")  # even if a value got in, saving is refused
    editor.save()
    assert editor.problems_text() == editor._role_label.text()
    assert printing.form_settings(factory, programme_id).overrides == {}
    assert _audit(factory) == [] and sink == []

    with pytest.raises(RuleError):  # and the service refuses the role anyway
        printing.update_form_settings(factory, programme_id, editor.overrides(), actor=HA)

    editor.set_actor(LAN)  # someone who may: the same fields become editable
    assert not field.isReadOnly() and editor._save_button.isEnabled()
    assert editor._role_label.isHidden()


def test_f5_beats_the_window_refresh(qtbot: QtBot, factory: Factory,
                                     programme_id: int) -> None:
    window = QMainWindow()
    qtbot.addWidget(window)
    refreshed: list[bool] = []
    refresh = QAction("Làm mới", window)
    refresh.setShortcut(QKeySequence("F5"))
    refresh.triggered.connect(lambda: refreshed.append(True))
    window.addAction(refresh)
    runner = TaskRunner(window)
    editor = FormSettingsEditor(factory, runner, LAN)
    window.setCentralWidget(editor)
    window.show()
    qtbot.waitExposed(window)
    with qtbot.waitSignals([editor.loaded, editor.preview_shown], timeout=15000):
        editor.set_programme(programme_id, 1)
    field = _type(editor, "Lạch Tray", "places", "Hải Phòng")
    with qtbot.waitSignal(editor.preview_shown, timeout=15000):
        qtbot.keyClick(field, Qt.Key.Key_F5)
    assert refreshed == []
    assert "Lạch Tray, ngày" in _preview_text(editor)


def test_settings_page_holds_the_editor(qtbot: QtBot, factory: Factory, programme_id: int,
                                        sink: list[tuple[str, str, str]],
                                        tmp_path: Path) -> None:
    runner = TaskRunner()
    page = SettingsWidget(factory, runner)
    runner.setParent(page)
    qtbot.addWidget(page)
    page.resize(1100, 760)
    page.show()
    qtbot.waitExposed(page)
    tabs = [page._tabs.tabText(i) for i in range(page._tabs.count())]
    assert tabs == ["Chương trình", "Mẫu giấy tờ", "Bảo vệ dữ liệu cá nhân", "Cơ sở dữ liệu",
                    "Người dùng", "Ngôn ngữ"]
    editor = page.forms_editor
    assert editor.can_edit()  # the default actor: the PC's account, administrator
    with qtbot.waitSignals([page.programme_loaded, editor.loaded, editor.preview_shown],
                           timeout=15000):
        page.set_programme(programme_id, 1)
    page._tabs.setCurrentWidget(editor)
    page.set_actor(HA)
    assert not editor.can_edit()
    assert page._tabs.currentWidget() is not editor  # a clerk is moved off the disabled tab
    page.set_actor(LAN)
    page._tabs.setCurrentWidget(editor)
    _type(editor, "NGƯỜI LẬP BIỂU", "titles", "list_maker")
    with qtbot.waitSignal(editor.saved, timeout=15000):
        qtbot.keyClick(editor.field("titles", "list_maker"), Qt.Key.Key_S,
                       Qt.KeyboardModifier.ControlModifier)
    assert printing.form_settings(factory, programme_id).overrides == {
        "titles": {"list_maker": "NGƯỜI LẬP BIỂU"}}
    assert _audit(factory)[0].user == LAN.name
    page.grab().save(str(tmp_path / "settings-forms.png"))
