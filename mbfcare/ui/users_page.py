"""Settings tab "Người dùng" (administrators): the accounts, add, edit, reset a password."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QCoreApplication,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
    Slot,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.domain.actors import ROLES, Actor
from mbfcare.domain.values import format_date
from mbfcare.services import accounts
from mbfcare.services.accounts import ScopesDTO, UserDTO
from mbfcare.ui import messages
from mbfcare.ui.tasks import TaskProgress, TaskRunner

_Index = QModelIndex | QPersistentModelIndex


def QT_TRANSLATE_NOOP(context: str, text: str) -> str:
    """Mark `text` for lupdate and return it untranslated (typed, unlike PySide6's own)."""
    return text


ROLE_WORDS = {
    "admin": QT_TRANSLATE_NOOP("UsersTableModel", "Quản trị (Phòng CSKH)"),
    "head": QT_TRANSLATE_NOOP("UsersTableModel", "Trưởng MF Quận/Huyện"),
    "clerk": QT_TRANSLATE_NOOP("UsersTableModel", "Giao dịch viên"),
    "viewer": QT_TRANSLATE_NOOP("UsersTableModel", "Chỉ xem"),
}


def role_words(role: str) -> str:
    """The role in the interface language."""
    return QCoreApplication.translate("UsersTableModel", ROLE_WORDS.get(role, role))


@dataclass(frozen=True)
class Column:
    """One column of the accounts table."""

    key: str
    title: str
    value: Callable[[UserDTO], str]


def _when(value: Any) -> str:
    return format_date(value.astimezone().date()) if value is not None else "—"


COLUMNS = (
    Column("username", QT_TRANSLATE_NOOP("UsersTableModel", "Tên đăng nhập"),
           lambda u: u.username),
    Column("full_name", QT_TRANSLATE_NOOP("UsersTableModel", "Họ tên"), lambda u: u.full_name),
    Column("role", QT_TRANSLATE_NOOP("UsersTableModel", "Vai trò"), lambda u: role_words(u.role)),
    Column("scope", QT_TRANSLATE_NOOP("UsersTableModel", "Quận/huyện hoặc cửa hàng"),
           lambda u: u.scope or "—"),
    Column("active", QT_TRANSLATE_NOOP("UsersTableModel", "Trạng thái"),
           lambda u: QCoreApplication.translate("UsersTableModel", "Đang dùng") if u.active
           else QCoreApplication.translate("UsersTableModel", "Đã khóa")),
    Column("last_sign_in", QT_TRANSLATE_NOOP("UsersTableModel", "Đăng nhập gần nhất"),
           lambda u: _when(u.last_sign_in_at)),
)


class UsersTableModel(QAbstractTableModel):
    """The accounts (a few dozen at most: all rows held)."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._users: list[UserDTO] = []

    def set_users(self, users: list[UserDTO]) -> None:
        """Show these accounts."""
        self.beginResetModel()
        self._users = list(users)
        self.endResetModel()

    def user(self, row: int) -> UserDTO | None:
        """The account of a row."""
        return self._users[row] if 0 <= row < len(self._users) else None

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._users)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not (0 <= index.row() < len(self._users)):
            return None
        user = self._users[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[index.column()].value(user)
        if role == Qt.ItemDataRole.ForegroundRole and not user.active:
            return Qt.GlobalColor.gray
        if role == Qt.ItemDataRole.UserRole:
            return user.id
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if (orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole
                and 0 <= section < len(COLUMNS)):
            return QCoreApplication.translate("UsersTableModel", COLUMNS[section].title)
        return None


@dataclass(frozen=True)
class _Loaded:
    users: list[UserDTO]
    scopes: ScopesDTO


def _load(factory: sessionmaker[Session], actor: Actor, _progress: TaskProgress) -> _Loaded:
    """Worker: the accounts and the known districts and stores. No UI calls here."""
    return _Loaded(accounts.list_users(factory, actor), accounts.known_scopes(factory))


class UserDialog(QDialog):
    """Add an account, or edit one (role, district or store, whether it may sign in)."""

    def __init__(self, scopes: ScopesDTO, user: UserDTO | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.user = user
        self.setWindowTitle(self.tr("Sửa người dùng") if user else self.tr("Thêm người dùng"))
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.username_edit = QLineEdit(self)
        self.name_edit = QLineEdit(self)
        self.role_combo = QComboBox(self)
        for key in ROLES:
            self.role_combo.addItem(role_words(key), key)
        self.district_combo = QComboBox(self)
        self.district_combo.setEditable(True)
        self.district_combo.addItems(list(scopes.districts))
        self.store_combo = QComboBox(self)
        self.store_combo.setEditable(True)
        self.store_combo.addItems(list(scopes.stores))
        self.password_edit = QLineEdit(self)
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.active_check = QCheckBox(self.tr("Được đăng nhập"), self)
        self.active_check.setChecked(True)
        form.addRow(self.tr("Tên đăng nhập:"), self.username_edit)
        form.addRow(self.tr("Họ tên:"), self.name_edit)
        form.addRow(self.tr("Vai trò:"), self.role_combo)
        self._district_label = QLabel(self.tr("Quận/huyện:"), self)
        form.addRow(self._district_label, self.district_combo)
        self._store_label = QLabel(self.tr("Cửa hàng:"), self)
        form.addRow(self._store_label, self.store_combo)
        if user is None:
            form.addRow(self.tr("Mật khẩu:"), self.password_edit)
            self.active_check.hide()  # a new account may sign in
        else:
            self.password_edit.hide()
            form.addRow("", self.active_check)
        layout.addLayout(form)
        self.error_label = QLabel(self)
        self.error_label.setStyleSheet("color: #b00020")
        self.error_label.setWordWrap(True)
        layout.addWidget(self.error_label)
        box = QDialogButtonBox(self)
        box.addButton(self.tr("Lưu"), QDialogButtonBox.ButtonRole.AcceptRole)
        box.addButton(self.tr("Hủy"), QDialogButtonBox.ButtonRole.RejectRole)
        box.accepted.connect(self._on_save_clicked)
        box.rejected.connect(self.reject)
        layout.addWidget(box)
        self.role_combo.currentIndexChanged.connect(self._on_role_changed)
        if user is not None:
            self.username_edit.setText(user.username)
            self.username_edit.setReadOnly(True)
            self.name_edit.setText(user.full_name)
            self.role_combo.setCurrentIndex(max(self.role_combo.findData(user.role), 0))
            self.district_combo.setCurrentText(user.district or "")
            self.store_combo.setCurrentText(user.store or "")
            self.active_check.setChecked(user.active)
        else:
            self.role_combo.setCurrentIndex(self.role_combo.findData("clerk"))
            self.district_combo.setCurrentText("")
            self.store_combo.setCurrentText("")
        self._on_role_changed()
        self.setMinimumWidth(440)

    def values(self) -> dict[str, Any]:
        """What the form says, as the account services take it."""
        role = self.role_combo.currentData()
        return {"username": self.username_edit.text().strip(),
                "full_name": self.name_edit.text().strip(), "role": role,
                "district": self.district_combo.currentText().strip() if role == "head"
                else None,
                "store": self.store_combo.currentText().strip() if role == "clerk" else None,
                "password": self.password_edit.text(), "active": self.active_check.isChecked()}

    @Slot()
    def _on_role_changed(self) -> None:
        role = self.role_combo.currentData()
        for widget in (self._district_label, self.district_combo):
            widget.setVisible(role == "head")
        for widget in (self._store_label, self.store_combo):
            widget.setVisible(role == "clerk")

    @Slot()
    def _on_save_clicked(self) -> None:
        v = self.values()
        problem = None
        if not v["username"] or not v["full_name"]:
            problem = self.tr("Cần tên đăng nhập và họ tên.")
        elif v["role"] == "head" and not v["district"]:
            problem = self.tr("Trưởng MF Quận/Huyện cần chọn quận/huyện phụ trách.")
        elif v["role"] == "clerk" and not v["store"]:
            problem = self.tr("Giao dịch viên cần chọn cửa hàng làm việc.")
        elif self.user is None:
            problem = accounts.password_problem(v["username"], v["password"])
        if problem:
            self.error_label.setText(problem)
            return
        self.accept()


class UsersWidget(QWidget):
    """The accounts table with its buttons; every change runs a service on the worker.

    Signals:
        users_changed(): an account was added or changed (the table was read again).
    """

    users_changed = Signal()

    def __init__(self, factory: sessionmaker[Session], runner: TaskRunner, actor: Actor,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._factory, self._runner, self._actor = factory, runner, actor
        self.scopes = ScopesDTO((), ())
        self.model = UsersTableModel(self)
        layout = QVBoxLayout(self)
        intro = QLabel(self.tr(
            "Mỗi người dùng đăng nhập bằng tài khoản riêng. Trưởng MF Quận/Huyện chỉ thấy "
            "quận/huyện của mình, giao dịch viên chỉ thấy cửa hàng của mình; người xem chỉ "
            "xem tổng quan và báo cáo."), self)
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.table = QTableView(self)
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)  # the full name
        self.table.doubleClicked.connect(lambda _i: self._on_edit_clicked())
        layout.addWidget(self.table, 1)
        buttons = QHBoxLayout()
        self.add_button = QPushButton(self.tr("Thêm người dùng…"), self)
        self.edit_button = QPushButton(self.tr("Sửa…"), self)
        self.reset_button = QPushButton(self.tr("Đặt lại mật khẩu…"), self)
        for button, slot in ((self.add_button, self._on_add_clicked),
                             (self.edit_button, self._on_edit_clicked),
                             (self.reset_button, self._on_reset_clicked)):
            button.clicked.connect(slot)
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self.table.selectionModel().selectionChanged.connect(self._set_buttons)
        self._set_buttons()

    def selected(self) -> UserDTO | None:
        """The account selected in the table."""
        rows = self.table.selectionModel().selectedRows()
        return self.model.user(rows[0].row()) if rows else None

    def refresh(self) -> None:
        """Read the accounts again (on the worker)."""
        self._runner.start(partial(_load, self._factory, self._actor),
                           on_done=self._on_loaded, on_error=self._on_failed)

    def _on_loaded(self, loaded: Any) -> None:
        self.scopes = loaded.scopes
        self.model.set_users(loaded.users)
        self._set_buttons()

    def _on_failed(self, exc: BaseException) -> None:
        messages.show_error(self, exc)

    def _on_changed(self, _result: Any) -> None:
        self.refresh()
        self.users_changed.emit()

    @Slot()
    def _set_buttons(self) -> None:
        chosen = self.selected() is not None
        self.edit_button.setEnabled(chosen)
        self.reset_button.setEnabled(chosen)

    def _start(self, work: Callable[[TaskProgress], Any], done_text: str) -> None:
        def done(result: Any) -> None:
            messages.notify(self, done_text)
            self._on_changed(result)

        self._runner.start(work, on_done=done, on_error=self._on_failed)

    @Slot()
    def _on_add_clicked(self) -> None:
        dialog = UserDialog(self.scopes, None, self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        v, factory, actor = dialog.values(), self._factory, self._actor
        self._start(lambda _p: accounts.create_user(
            factory, actor, username=v["username"], full_name=v["full_name"],
            password=v["password"], role=v["role"], district=v["district"], store=v["store"]),
            self.tr("Đã thêm người dùng {name}.").format(name=v["username"]))

    @Slot()
    def _on_edit_clicked(self) -> None:
        user = self.selected()
        if user is None:
            return
        dialog = UserDialog(self.scopes, user, self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        v, factory, actor = dialog.values(), self._factory, self._actor
        self._start(lambda _p: accounts.update_user(
            factory, actor, user.id, row_version=user.row_version, full_name=v["full_name"],
            role=v["role"], district=v["district"], store=v["store"], active=v["active"]),
            self.tr("Đã lưu người dùng {name}.").format(name=user.username))

    @Slot()
    def _on_reset_clicked(self) -> None:
        user = self.selected()
        if user is None:
            return
        dialog = ResetPasswordDialog(user, self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        password, factory, actor = dialog.password(), self._factory, self._actor
        self._start(lambda _p: accounts.reset_password(factory, actor, user.id, password),
                    self.tr("Đã đặt mật khẩu mới cho {name}.").format(name=user.username))


class ResetPasswordDialog(QDialog):
    """A new password for someone who forgot his (also lifts a lock)."""

    def __init__(self, user: UserDTO, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._user = user
        self.setWindowTitle(self.tr("Đặt lại mật khẩu cho {name}").format(name=user.username))
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.new_edit = QLineEdit(self)
        self.new_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.again_edit = QLineEdit(self)
        self.again_edit.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow(self.tr("Mật khẩu mới:"), self.new_edit)
        form.addRow(self.tr("Nhập lại:"), self.again_edit)
        layout.addLayout(form)
        self.error_label = QLabel(self)
        self.error_label.setStyleSheet("color: #b00020")
        self.error_label.setWordWrap(True)
        layout.addWidget(self.error_label)
        box = QDialogButtonBox(self)
        box.addButton(self.tr("Đặt mật khẩu"), QDialogButtonBox.ButtonRole.AcceptRole)
        box.addButton(self.tr("Hủy"), QDialogButtonBox.ButtonRole.RejectRole)
        box.accepted.connect(self._on_ok_clicked)
        box.rejected.connect(self.reject)
        layout.addWidget(box)

    def password(self) -> str:
        """The new password typed."""
        return self.new_edit.text()

    @Slot()
    def _on_ok_clicked(self) -> None:
        problem = accounts.password_problem(self._user.username, self.new_edit.text())
        if problem is None and self.new_edit.text() != self.again_edit.text():
            problem = self.tr("Hai lần nhập mật khẩu chưa giống nhau.")
        if problem:
            self.error_label.setText(problem)
            return
        self.accept()
