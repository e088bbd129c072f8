"""Sign-in at start, the users tab, and what each role's window offers."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QDialog
from pytestqt.qtbot import QtBot
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.domain.actors import Actor
from mbfcare.services import accounts
from mbfcare.ui.main_window import MainWindow
from mbfcare.ui.settings_page import SettingsWidget
from mbfcare.ui.sign_in import ChangePasswordDialog, FirstAdminDialog, SignInDialog
from mbfcare.ui.tasks import TaskRunner
from mbfcare.ui.users_page import UserDialog, UsersTableModel, UsersWidget
from tests.accounts_data import PASSWORD, add_account
from tests.care_data import STORE, seed_listed

RENDER = Path("/tmp/h1")


def _grab(widget, name: str) -> None:
    if RENDER.is_dir():
        widget.grab().save(str(RENDER / f"{name}.png"))


def test_first_run_dialog_creates_the_admin(qtbot: QtBot, factory: sessionmaker[Session]):
    dialog = FirstAdminDialog(factory, TaskRunner())
    qtbot.addWidget(dialog)
    dialog.show()
    assert not dialog.create_button.isEnabled()
    dialog.name_edit.setText("Trần Quản Trị")
    dialog.username_edit.setText("QuanTri")
    dialog.password_edit.setText("ngan")
    assert dialog.rule_label.text() == "Mật khẩu cần ít nhất 10 ký tự (đã nhập 4)."
    dialog.password_edit.setText(PASSWORD)
    dialog.again_edit.setText(PASSWORD + "x")
    assert dialog.rule_label.text() == "Hai lần nhập mật khẩu chưa giống nhau."
    assert not dialog.create_button.isEnabled()
    dialog.again_edit.setText(PASSWORD)
    assert dialog.create_button.isEnabled()
    _grab(dialog, "first_admin")
    with qtbot.waitSignal(dialog.accepted, timeout=10000):
        dialog.create_button.click()
    assert dialog.actor == Actor("Trần Quản Trị", "admin", None, None, "quantri")
    assert accounts.has_accounts(factory)
    assert QSettings().value("signin/username") == "quantri"


def test_first_run_dialog_cannot_be_skipped(qtbot: QtBot, factory: sessionmaker[Session]):
    dialog = FirstAdminDialog(factory, TaskRunner())
    qtbot.addWidget(dialog)
    dialog.show()
    with qtbot.waitSignal(dialog.rejected):
        qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert dialog.result() == QDialog.DialogCode.Rejected and dialog.actor is None
    assert not accounts.has_accounts(factory)


def test_sign_in_dialog(qtbot: QtBot, factory: sessionmaker[Session]):
    add_account(factory, "lan", "clerk", full_name="Lê Thị Lan", store=STORE)
    QSettings().setValue("signin/username", "lan")
    dialog = SignInDialog(factory, TaskRunner())
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.username_edit.text() == "lan"
    dialog.password_edit.setText("sai-mat-khau-roi")
    qtbot.keyClick(dialog.password_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: dialog.sign_in_button.isEnabled(), timeout=10000)
    assert dialog.error_label.text() == "Tên đăng nhập hoặc mật khẩu không đúng."
    assert dialog.password_edit.text() == ""
    assert dialog.isVisible()
    _grab(dialog, "sign_in_wrong")
    dialog.password_edit.setText(PASSWORD)
    with qtbot.waitSignal(dialog.accepted, timeout=10000):
        qtbot.keyClick(dialog.password_edit, Qt.Key.Key_Return)
    assert dialog.actor == Actor("Lê Thị Lan", "clerk", None, STORE, "lan")


def test_change_password_dialog(qtbot: QtBot, factory: sessionmaker[Session], sink):
    add_account(factory, "quantri", "admin")
    actor = accounts.sign_in(factory, "quantri", PASSWORD)
    dialog = ChangePasswordDialog(factory, TaskRunner(), actor)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.old_edit.setText("khong-dung-dau")
    dialog.new_edit.setText("mat-khau-moi-1")
    dialog.again_edit.setText("mat-khau-moi-1")
    dialog.save_button.click()
    qtbot.waitUntil(lambda: dialog.save_button.isEnabled(), timeout=10000)
    assert dialog.error_label.text() == "Mật khẩu hiện tại không đúng."
    dialog.old_edit.setText(PASSWORD)
    with qtbot.waitSignal(dialog.accepted, timeout=10000):
        dialog.save_button.click()
    assert accounts.sign_in(factory, "quantri", "mat-khau-moi-1").role == "admin"


def test_users_table_model(qtmodeltester, factory: sessionmaker[Session]):
    add_account(factory, "lan", "clerk", full_name="Lê Thị Lan", store=STORE)
    admin = accounts.sign_in(factory, "quantri", PASSWORD)
    model = UsersTableModel()
    model.set_users(accounts.list_users(factory, admin))
    qtmodeltester.check(model)
    assert model.rowCount() == 2
    assert [model.index(0, c).data() for c in range(4)] == [
        "lan", "Lê Thị Lan", "Giao dịch viên", STORE]
    assert model.headerData(3, Qt.Orientation.Horizontal) == "Quận/huyện hoặc cửa hàng"


def test_users_tab_only_for_admins(qtbot: QtBot, factory: sessionmaker[Session],
                                   programme_id: int, monkeypatch: pytest.MonkeyPatch, sink):
    seed_listed(factory, programme_id)
    add_account(factory, "lan", "clerk", full_name="Lê Thị Lan", store=STORE)
    admin = accounts.sign_in(factory, "quantri", PASSWORD)
    clerk = accounts.sign_in(factory, "lan", PASSWORD)
    runner = TaskRunner()
    clerk_page = SettingsWidget(factory, runner, actor=clerk)
    qtbot.addWidget(clerk_page)
    titles = [clerk_page._tabs.tabText(i) for i in range(clerk_page._tabs.count())]
    assert "Người dùng" not in titles and clerk_page.users_tab is None
    assert not clerk_page._tabs.isTabEnabled(0)
    assert clerk_page._tabs.tabToolTip(0) == "Chỉ quản trị (Phòng CSKH) thay đổi chương trình."

    page = SettingsWidget(factory, runner, actor=admin)
    qtbot.addWidget(page)
    page.resize(900, 500)
    page.show()
    users = page.users_tab
    assert isinstance(users, UsersWidget)
    page._tabs.setCurrentWidget(users)
    qtbot.waitUntil(lambda: users.model.rowCount() == 2, timeout=10000)
    assert STORE in users.scopes.stores
    _grab(page, "users_tab")

    # Add a district head through the dialog (its answers stand in for the typing).
    def add_dialog_exec(dialog: UserDialog) -> QDialog.DialogCode:
        dialog.username_edit.setText("ha")
        dialog.name_edit.setText("Phạm Thu Hà")
        dialog.role_combo.setCurrentIndex(dialog.role_combo.findData("head"))
        dialog.district_combo.setCurrentText("Lê Chân")
        dialog.password_edit.setText(PASSWORD)
        _grab(dialog, "user_dialog")
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(UserDialog, "exec", add_dialog_exec)
    users.add_button.click()
    qtbot.waitUntil(lambda: users.model.rowCount() == 3, timeout=10000)
    head = accounts.find_user(factory, admin, "ha")
    assert (head.role, head.district) == ("head", "Lê Chân")
    assert ("notify", "Đã thêm người dùng ha.", "") in sink

    # Edit: lock Lan's account.
    def edit_dialog_exec(dialog: UserDialog) -> QDialog.DialogCode:
        assert dialog.username_edit.isReadOnly()
        dialog.active_check.setChecked(False)
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(UserDialog, "exec", edit_dialog_exec)
    users.table.selectRow(1)  # rows: ha, lan, quantri
    assert users.selected().username == "lan"
    users.edit_button.click()
    qtbot.waitUntil(lambda: not accounts.find_user(factory, admin, "lan").active,
                    timeout=10000)


def test_clerk_window_has_no_import_section(qtbot: QtBot, factory: sessionmaker[Session],
                                            programme_id: int):
    clerk = Actor("Lê Thị Lan", "clerk", store=STORE, username="lan")
    window = MainWindow(factory, "test.sqlite", actor=clerk)
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.programmes_loaded, timeout=10000):
        window.show()
    row = window.SECTIONS.index("import")
    item = window._sidebar.item(row)
    assert not (item.flags() & Qt.ItemFlag.ItemIsEnabled)
    assert item.toolTip() == "Vai trò Giao dịch viên không dùng phần này."
    window.show_section("import")
    assert window.current_section() != "import"
    assert not window._import_action.isEnabled()
    assert not window._classify_action.isEnabled()
    assert window._user_status.text() == f"Lê Thị Lan (Giao dịch viên – {STORE})"
    assert window._sign_out_action.isEnabled()
    window.show_section("care_list")
    assert window.current_section() == "care_list"
    assert window.care_list.model.actor == clerk
    _grab(window, "clerk_window")


def test_viewer_window_dashboard_and_reports_only(qtbot: QtBot,
                                                 factory: sessionmaker[Session],
                                                 programme_id: int):
    window = MainWindow(factory, "test.sqlite", actor=Actor("KV5", "viewer", username="kv5"))
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.programmes_loaded, timeout=10000):
        window.show()
    usable = [key for row, key in enumerate(window.SECTIONS)
              if window._sidebar.item(row).flags() & Qt.ItemFlag.ItemIsEnabled]
    assert usable == ["dashboard", "reports"]


def test_sign_out_asks_for_the_sign_in_again(qtbot: QtBot, factory: sessionmaker[Session],
                                             programme_id: int):
    window = MainWindow(factory, "test.sqlite",
                        actor=Actor("Quản Trị", "admin", username="quantri"))
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.sign_out_requested):
        window._sign_out_action.trigger()
    # Without an account (tests, the first start) there is no one to sign out.
    plain = MainWindow(factory, "test.sqlite")
    qtbot.addWidget(plain)
    assert not plain._sign_out_action.isEnabled()
