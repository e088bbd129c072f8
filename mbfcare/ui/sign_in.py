"""Sign-in at start: the first administrator on a new database, else the sign-in form."""

from __future__ import annotations

from functools import partial
from typing import Any

from PySide6.QtCore import QSettings, Qt, Slot
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.domain.actors import Actor
from mbfcare.errors import MbfCareError
from mbfcare.services import accounts
from mbfcare.ui import messages
from mbfcare.ui.tasks import TaskProgress, TaskRunner

_ERROR_STYLE = "color: #b00020"
_USERNAME_KEY = "signin/username"


def _password_edit(parent: QWidget) -> QLineEdit:
    edit = QLineEdit(parent)
    edit.setEchoMode(QLineEdit.EchoMode.Password)
    return edit


def _error_label(parent: QWidget) -> QLabel:
    label = QLabel(parent)
    label.setStyleSheet(_ERROR_STYLE)
    label.setWordWrap(True)
    return label


def _create_and_sign_in(factory: sessionmaker[Session], username: str, full_name: str,
                        password: str, _progress: TaskProgress) -> Actor:
    """Worker: create the first administrator and sign in. No UI calls here."""
    accounts.create_first_admin(factory, username, full_name, password)
    return accounts.sign_in(factory, username, password)


def _sign_in(factory: sessionmaker[Session], username: str, password: str,
             _progress: TaskProgress) -> Actor:
    """Worker: check the name and password. No UI calls here."""
    return accounts.sign_in(factory, username, password)


class FirstAdminDialog(QDialog):
    """"Tạo tài khoản quản trị": the first account of a new database; cannot be skipped.

    Closing it (or Esc) rejects, and the application quits. `actor` is the administrator,
    signed in, once accepted.
    """

    def __init__(self, factory: sessionmaker[Session], runner: TaskRunner,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._factory, self._runner = factory, runner
        self.actor: Actor | None = None
        self.setWindowTitle(self.tr("Tạo tài khoản quản trị"))
        layout = QVBoxLayout(self)
        intro = QLabel(self.tr(
            "Cơ sở dữ liệu chưa có tài khoản nào. Tạo tài khoản quản trị (Phòng CSKH) để bắt "
            "đầu; quản trị tạo tài khoản cho các trưởng MF quận/huyện, giao dịch viên và "
            "người xem báo cáo."), self)
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        self.name_edit = QLineEdit(self)
        self.name_edit.setPlaceholderText(self.tr("ví dụ: Nguyễn Thị Lan"))
        self.username_edit = QLineEdit(self)
        self.username_edit.setPlaceholderText(self.tr("ví dụ: lan.cskh"))
        self.password_edit = _password_edit(self)
        self.again_edit = _password_edit(self)
        form.addRow(self.tr("Họ tên:"), self.name_edit)
        form.addRow(self.tr("Tên đăng nhập:"), self.username_edit)
        form.addRow(self.tr("Mật khẩu:"), self.password_edit)
        form.addRow(self.tr("Nhập lại mật khẩu:"), self.again_edit)
        layout.addLayout(form)
        self.rule_label = QLabel(self)
        self.rule_label.setWordWrap(True)
        layout.addWidget(self.rule_label)
        self.error_label = _error_label(self)
        layout.addWidget(self.error_label)
        box = QDialogButtonBox(self)
        self.create_button = box.addButton(self.tr("Tạo tài khoản"),
                                           QDialogButtonBox.ButtonRole.AcceptRole)
        quit_button = box.addButton(self.tr("Thoát"), QDialogButtonBox.ButtonRole.RejectRole)
        quit_button.setAutoDefault(False)
        self.create_button.setDefault(True)
        box.accepted.connect(self._on_create_clicked)
        box.rejected.connect(self.reject)
        layout.addWidget(box)
        for edit in (self.name_edit, self.username_edit, self.password_edit, self.again_edit):
            edit.textChanged.connect(self._on_text_changed)
        self._on_text_changed()
        self.setMinimumWidth(460)

    def problem(self) -> str | None:
        """What is missing or wrong in the form (the rule shown inline), or None."""
        if not " ".join(self.name_edit.text().split()):
            return self.tr("Cần họ tên.")
        if not self.username_edit.text().strip():
            return self.tr("Cần tên đăng nhập.")
        password = self.password_edit.text()
        if len(password) < accounts.MIN_PASSWORD_LENGTH:
            return self.tr("Mật khẩu cần ít nhất {n} ký tự (đã nhập {typed}).").format(
                n=accounts.MIN_PASSWORD_LENGTH, typed=len(password))
        if accounts.fold_username(password) == accounts.fold_username(
                self.username_edit.text()):
            return self.tr("Mật khẩu không được trùng tên đăng nhập.")
        if self.again_edit.text() != password:
            return self.tr("Hai lần nhập mật khẩu chưa giống nhau.")
        return None

    @Slot()
    def _on_text_changed(self) -> None:
        problem = self.problem()
        if problem is None:
            self.rule_label.setText(self.tr("✓ Mật khẩu dùng được."))
            self.rule_label.setStyleSheet("color: #1b5e20")
        else:
            self.rule_label.setText(problem)
            self.rule_label.setStyleSheet("")
        self.create_button.setEnabled(problem is None)
        self.error_label.clear()

    @Slot()
    def _on_create_clicked(self) -> None:
        if self.problem() is not None:
            return
        self.create_button.setEnabled(False)
        self._runner.start(
            partial(_create_and_sign_in, self._factory, self.username_edit.text(),
                    self.name_edit.text(), self.password_edit.text()),
            on_done=self._on_created, on_error=self._on_failed)

    def _on_created(self, actor: Any) -> None:
        self.actor = actor
        QSettings().setValue(_USERNAME_KEY, actor.username)
        self.accept()

    def _on_failed(self, exc: BaseException) -> None:
        self.create_button.setEnabled(True)
        if isinstance(exc, MbfCareError):
            self.error_label.setText(str(exc))
        else:
            messages.show_error(self, exc)


class SignInDialog(QDialog):
    """The sign-in form: the last user name remembered, Enter signs in, Esc quits.

    `actor` is who signed in once accepted. A wrong password is said inline and the field
    cleared.
    """

    def __init__(self, factory: sessionmaker[Session], runner: TaskRunner,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._factory, self._runner = factory, runner
        self.actor: Actor | None = None
        self.setWindowTitle(self.tr("Đăng nhập MBF Care"))
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.username_edit = QLineEdit(self)
        self.username_edit.setText(str(QSettings().value(_USERNAME_KEY, "") or ""))
        self.password_edit = _password_edit(self)
        form.addRow(self.tr("Tên đăng nhập:"), self.username_edit)
        form.addRow(self.tr("Mật khẩu:"), self.password_edit)
        layout.addLayout(form)
        self.error_label = _error_label(self)
        layout.addWidget(self.error_label)
        box = QDialogButtonBox(self)
        self.sign_in_button = box.addButton(self.tr("Đăng nhập"),
                                            QDialogButtonBox.ButtonRole.AcceptRole)
        quit_button = box.addButton(self.tr("Thoát"), QDialogButtonBox.ButtonRole.RejectRole)
        quit_button.setAutoDefault(False)
        self.sign_in_button.setDefault(True)
        box.accepted.connect(self._on_sign_in_clicked)
        box.rejected.connect(self.reject)
        layout.addWidget(box)
        self.setMinimumWidth(380)
        (self.password_edit if self.username_edit.text() else self.username_edit).setFocus()

    @Slot()
    def _on_sign_in_clicked(self) -> None:
        username = self.username_edit.text().strip()
        if not username:
            self.error_label.setText(self.tr("Nhập tên đăng nhập."))
            self.username_edit.setFocus()
            return
        self.sign_in_button.setEnabled(False)
        self.error_label.setText(self.tr("Đang kiểm tra…"))
        self._runner.start(partial(_sign_in, self._factory, username,
                                   self.password_edit.text()),
                           on_done=self._on_signed_in, on_error=self._on_failed)

    def _on_signed_in(self, actor: Any) -> None:
        self.actor = actor
        QSettings().setValue(_USERNAME_KEY, actor.username)
        self.accept()

    def _on_failed(self, exc: BaseException) -> None:
        self.sign_in_button.setEnabled(True)
        self.password_edit.clear()
        self.password_edit.setFocus()
        if isinstance(exc, MbfCareError):
            self.error_label.setText(str(exc))
        else:
            self.error_label.clear()
            messages.show_error(self, exc)


class ChangePasswordDialog(QDialog):
    """The signed-in person changes his own password (the current one is asked)."""

    def __init__(self, factory: sessionmaker[Session], runner: TaskRunner, actor: Actor,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._factory, self._runner, self._actor = factory, runner, actor
        self.setWindowTitle(self.tr("Đổi mật khẩu"))
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.old_edit = _password_edit(self)
        self.new_edit = _password_edit(self)
        self.again_edit = _password_edit(self)
        form.addRow(self.tr("Mật khẩu hiện tại:"), self.old_edit)
        form.addRow(self.tr("Mật khẩu mới:"), self.new_edit)
        form.addRow(self.tr("Nhập lại mật khẩu mới:"), self.again_edit)
        layout.addLayout(form)
        self.error_label = _error_label(self)
        layout.addWidget(self.error_label)
        box = QDialogButtonBox(self)
        self.save_button: QPushButton = box.addButton(self.tr("Đổi mật khẩu"),
                                                      QDialogButtonBox.ButtonRole.AcceptRole)
        box.addButton(self.tr("Hủy"), QDialogButtonBox.ButtonRole.RejectRole)
        box.accepted.connect(self._on_save_clicked)
        box.rejected.connect(self.reject)
        layout.addWidget(box)
        self.setMinimumWidth(400)

    @Slot()
    def _on_save_clicked(self) -> None:
        new = self.new_edit.text()
        problem = accounts.password_problem(self._actor.username, new)
        if problem is None and new != self.again_edit.text():
            problem = self.tr("Hai lần nhập mật khẩu mới chưa giống nhau.")
        if problem is not None:
            self.error_label.setText(problem)
            return
        self.save_button.setEnabled(False)
        factory, actor, old = self._factory, self._actor, self.old_edit.text()
        self._runner.start(
            lambda _p: accounts.change_password(factory, actor, old, new),
            on_done=self._on_saved, on_error=self._on_failed)

    def _on_saved(self, _result: Any) -> None:
        messages.notify(self.parentWidget(), self.tr("Đã đổi mật khẩu."))
        self.accept()

    def _on_failed(self, exc: BaseException) -> None:
        self.save_button.setEnabled(True)
        if isinstance(exc, MbfCareError):
            self.error_label.setText(str(exc))
            self.old_edit.clear()
            self.old_edit.setFocus()
        else:
            messages.show_error(self, exc)


def sign_in_at_start(factory: sessionmaker[Session], runner: TaskRunner) -> Actor | None:
    """The first-run dialog or the sign-in dialog, modal; None when the user quit."""
    dialog: FirstAdminDialog | SignInDialog
    dialog = SignInDialog(factory, runner) if accounts.has_accounts(factory) \
        else FirstAdminDialog(factory, runner)
    dialog.setWindowModality(Qt.WindowModality.ApplicationModal)
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return None
    return dialog.actor
