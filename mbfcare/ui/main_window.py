"""The main window: a sidebar of sections, the programme and batch every section follows."""

from __future__ import annotations

import datetime as dt
import getpass
import logging
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

from PySide6.QtCore import QByteArray, QSettings, QSize, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QCloseEvent, QFont, QKeySequence
from PySide6.QtPrintSupport import QPrinter, QPrinterInfo
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.orm import Session, sessionmaker

from mbfcare import __version__, paths
from mbfcare.backup_files import BackupFile, BackupPolicy
from mbfcare.domain.actors import ROLES, Actor
from mbfcare.domain.values import format_number
from mbfcare.errors import MbfCareError
from mbfcare.services import backups, exporting, printing, profiles, programmes, surveys
from mbfcare.services.programmes import ProgrammeSummary
from mbfcare.ui import messages
from mbfcare.ui.bulk_recording import BulkRecordingDialog
from mbfcare.ui.care_list import CareListWidget
from mbfcare.ui.classify_dialog import ClassifyDialog, GapDecisionDialog
from mbfcare.ui.dashboard import DashboardWidget
from mbfcare.ui.desk import DeskPage
from mbfcare.ui.import_wizard import ImportWizardWidget
from mbfcare.ui.print_page import PrintPage
from mbfcare.ui.reports_page import ReportsPage
from mbfcare.ui.settings_page import SettingsWidget
from mbfcare.ui.sign_in import ChangePasswordDialog
from mbfcare.ui.stock_page import StockPage
from mbfcare.ui.survey_entry import SurveyEntryDialog
from mbfcare.ui.survey_form_editor import SurveyFormEditorDialog
from mbfcare.ui.tasks import TaskProgress, TaskRunner

logger = logging.getLogger(__name__)


def vn_number(value: int) -> str:
    """`1234567` → `1.234.567` (Vietnamese digit grouping)."""
    return format_number(value)


def _load_programmes(factory: sessionmaker[Session], _progress: TaskProgress
                     ) -> list[ProgrammeSummary]:
    """Worker: read the summaries. No UI calls here."""
    return programmes.list_programmes(factory)


def _create_default_programme(factory: sessionmaker[Session], actor: Actor,
                              _progress: TaskProgress) -> int:
    """Worker: store the source document's programme. No UI calls here."""
    return programmes.create_programme(factory, programmes.default_programme_spec(),
                                       actor=actor)


class MainWindow(QMainWindow):
    """The application window.

    Signals:
        programmes_loaded(object): the list of `ProgrammeSummary` just shown.
        restart_requested(str): open the window again, on this database URL ("" = same),
            e.g. after the language or the database changed.
    """

    programmes_loaded = Signal(object)
    restart_requested = Signal(str)
    sign_out_requested = Signal()

    SECTIONS = ("dashboard", "import", "care_list", "desk", "stock", "print", "reports",
                "settings")
    # The permission (mbfcare.domain.actors) a section needs to be usable.
    SECTION_PERMISSIONS: ClassVar[dict[str, str]] = {
        "dashboard": "report", "import": "import", "care_list": "view_lists", "desk": "record",
        "stock": "view_lists", "print": "export_personal", "reports": "report"}

    def __init__(self, factory: sessionmaker[Session], db_description: str,
                 runner: TaskRunner | None = None, user: str | None = None,
                 parent: QWidget | None = None, *, actor: Actor | None = None) -> None:
        super().__init__(parent)
        self._factory = factory
        self._db_description = db_description
        self._runner = runner or TaskRunner(self)
        # Who signed in; without one (no account yet, tests) the PC's user, as administrator.
        self._user = actor.name if actor is not None else (user or getpass.getuser())
        self.actor = actor if actor is not None else Actor(self._user, "admin")
        self.programmes: list[ProgrammeSummary] = []
        self.programme_id: int | None = None
        self.batch: int | None = None

        self.setWindowTitle("MBF Care")
        self.resize(1280, 800)
        self._build_sections()
        self._build_actions()
        self._build_menus()
        self._build_toolbar()
        self._build_status_bar()
        self._apply_role()
        self._runner.busy_changed.connect(self._on_runner_busy_changed)
        self._restore_state()
        self._start_backup_timer()
        self.refresh()

    # ------------------------------------------------------------------ construction

    def _build_sections(self) -> None:
        self._stack = QStackedWidget(self)
        self._loading_label = QLabel(self.tr("Đang đọc dữ liệu…"), self._stack)
        self._loading_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._stack.addWidget(self._loading_label)
        self._welcome_page = self._build_welcome_page()
        self._stack.addWidget(self._welcome_page)
        self._error_label = QLabel(self._stack)
        self._error_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._error_label.setWordWrap(True)
        self._stack.addWidget(self._error_label)

        self.overview = self._build_overview()
        self.import_page = ImportWizardWidget(self._factory, self._runner, self,
                                              actor=self.actor)
        self.care_list = CareListWidget(self._factory, self._runner, self, actor=self.actor)
        self.desk = DeskPage(self._factory, self._runner, self.actor, self)
        self.stock_page = StockPage(self._factory, self._runner, self.actor, self)
        self.print_page = PrintPage(self._factory, self._runner, self.actor, self)
        self.reports_page = ReportsPage(self._factory, self._runner, self.actor, self)
        self.settings_page = SettingsWidget(self._factory, self._runner, self, actor=self.actor)
        self._pages: dict[str, QWidget] = {
            "dashboard": self.overview, "import": self.import_page,
            "care_list": self.care_list, "desk": self.desk, "stock": self.stock_page,
            "print": self.print_page, "reports": self.reports_page,
            "settings": self.settings_page,
        }
        for page in self._pages.values():
            self._stack.addWidget(page)

        self._sidebar = QListWidget(self)
        self._sidebar.setObjectName("sidebar")
        self._sidebar.setIconSize(QSize(20, 20))
        titles = {
            "dashboard": self.tr("▣  Tổng quan"), "import": self.tr("⇪  Nhập dữ liệu"),
            "care_list": self.tr("☰  Danh sách chăm sóc"), "desk": self.tr("✦  Quầy trao quà"),
            "stock": self.tr("▤  Kho quà"), "print": self.tr("✉  In ấn & SMS"),
            "reports": self.tr("▥  Báo cáo"),
            "settings": self.tr("⚙  Cài đặt"),
        }
        for key in self.SECTIONS:
            item = QListWidgetItem(titles[key])
            item.setData(Qt.ItemDataRole.UserRole, key)
            self._sidebar.addItem(item)
        self._sidebar.setFixedWidth(210)
        self._sidebar.currentRowChanged.connect(self._on_sidebar_current_row_changed)

        splitter = QSplitter(self)
        splitter.addWidget(self._sidebar)
        splitter.addWidget(self._stack)
        splitter.setStretchFactor(1, 1)
        splitter.setChildrenCollapsible(False)
        self._splitter = splitter
        self.setCentralWidget(splitter)

        self.dashboard.open_care_list.connect(self._on_dashboard_open_care_list)
        self.import_page.import_finished.connect(self._on_import_finished)
        self.import_page.classify_requested.connect(self.open_classify)
        self.settings_page.programme_changed.connect(lambda _id: self.refresh())
        # Work recorded at the desk or in the stock changes the counts elsewhere.
        self.desk.handover_recorded.connect(lambda _result: self._on_work_recorded())
        self.stock_page.stock_changed.connect(self._on_work_recorded)
        self.print_page.sms.sent_marked.connect(lambda _result: self._on_work_recorded())
        self.desk.receipt_requested.connect(self._on_receipt_requested)
        self.settings_page.language_changed.connect(lambda _lang: self.restart_requested.emit(""))
        # A restore reopens the window on the restored file; new backup settings apply now.
        self.settings_page.database_tab.restart_requested.connect(self.restart_requested)
        self.settings_page.database_tab.policy_changed.connect(self._on_backup_policy_changed)

    def _build_overview(self) -> QWidget:
        page = QWidget(self._stack)
        layout = QVBoxLayout(page)
        layout.setContentsMargins(16, 12, 16, 12)
        self._count_label = QLabel(page)
        self._count_label.setObjectName("subscriberCount")
        self._count_label.setFont(_scaled_font(self._count_label.font(), 1.3, bold=True))
        layout.addWidget(self._count_label)
        self._programme_holder = QVBoxLayout()
        layout.addLayout(self._programme_holder)
        self.dashboard = DashboardWidget(self._factory, self._runner, page, actor=self.actor)
        layout.addWidget(self.dashboard, 1)
        scroll = QScrollArea(self._stack)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(page)
        return scroll

    def _build_welcome_page(self) -> QWidget:
        page = QWidget(self._stack)
        layout = QVBoxLayout(page)
        layout.addStretch(1)
        title = QLabel(self.tr("Chào mừng đến với MBF Care"), page)
        title.setFont(_scaled_font(title.font(), 1.6, bold=True))
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(title)
        text = QLabel(self.tr(
            "Cơ sở dữ liệu chưa có chương trình chăm sóc khách hàng nào.\n"
            "Tạo chương trình theo văn bản CSKH 2017 của MobiFone KV5 (2 nhóm, 4 đợt) để bắt "
            "đầu, hoặc mở một cơ sở dữ liệu đã có."), page)
        text.setWordWrap(True)
        text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        text.setFixedWidth(640)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(text)
        row.addStretch(1)
        layout.addLayout(row)
        where = QLabel(self.tr("Dữ liệu được lưu tại: {db}").format(db=self._db_description),
                       page)
        where.setAlignment(Qt.AlignmentFlag.AlignCenter)
        where.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(where)
        layout.addSpacing(12)
        self._create_button = QPushButton(
            self.tr("Tạo chương trình theo văn bản (CSKH 2017 – KV5)"), page)
        self._create_button.setDefault(True)
        self._create_button.clicked.connect(self._on_create_button_clicked)
        layout.addWidget(self._create_button, 0, Qt.AlignmentFlag.AlignHCenter)
        others = QHBoxLayout()
        others.addStretch(1)
        open_button = QPushButton(self.tr("Mở cơ sở dữ liệu khác…"), page)
        open_button.clicked.connect(self._on_open_database_triggered)
        server_button = QPushButton(self.tr("Kết nối máy chủ…"), page)
        server_button.clicked.connect(self._on_connect_server_triggered)
        others.addWidget(open_button)
        others.addWidget(server_button)
        others.addStretch(1)
        layout.addLayout(others)
        layout.addStretch(2)
        return page

    def _action(self, text: str, shortcut: str | None, slot: Any, tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        plain = text.replace("&", "")
        native = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        action.setToolTip(f"{plain} ({native})" if native else plain)
        action.setStatusTip(tip or plain)
        action.triggered.connect(slot)
        return action

    def _build_actions(self) -> None:
        self._refresh_action = self._action(self.tr("Làm &mới"), "F5", self.refresh,
                                            self.tr("Đọc lại dữ liệu từ cơ sở dữ liệu"))
        self._quit_action = self._action(self.tr("&Thoát"), "Ctrl+Q", self.close)
        self._quit_action.setMenuRole(QAction.MenuRole.QuitRole)
        self._open_db_action = self._action(self.tr("&Mở cơ sở dữ liệu khác…"), "Ctrl+O",
                                            self._on_open_database_triggered)
        self._server_action = self._action(self.tr("&Kết nối máy chủ…"), None,
                                           self._on_connect_server_triggered)
        self._export_action = self._action(self.tr("&Xuất gửi KV5…"), "Ctrl+E",
                                           self._on_export_regional_triggered,
                                           self.tr("Tệp Excel gửi MobiFone KV5"))
        self._import_action = self._action(self.tr("&Nhập danh sách thuê bao…"), "Ctrl+I",
                                           lambda: self.show_section("import"))
        self._bulk_action = self._action(
            self.tr("&Ghi kết quả từ danh sách trả về…"), "Ctrl+Shift+I",
            self._on_bulk_action_triggered,
            self.tr("Ghi nhiều bước cùng lúc từ tệp Excel quận/huyện gửi lại"))
        self._survey_action = self._action(self.tr("Nhập &phiếu khảo sát…"), "Ctrl+Shift+S",
                                           self._on_survey_action_triggered)
        self._survey_form_action = self._action(self.tr("Sửa mẫu phiếu &khảo sát…"), None,
                                                self._on_survey_form_action_triggered)
        self._icrm_profiles_action = self._action(
            self.tr("Xuất thông tin KH đã thu thập (iCRM)…"), None,
            partial(self._export_for_icrm, "profiles"),
            self.tr("Tệp thông tin khách hàng đã thu thập để cập nhật lên iCRM"))
        self._icrm_surveys_action = self._action(
            self.tr("Xuất phiếu khảo sát (iCRM)…"), None,
            partial(self._export_for_icrm, "surveys"),
            self.tr("Tệp kết quả khảo sát để cập nhật lên iCRM"))
        self._classify_action = self._action(self.tr("&Xếp danh sách đợt…"), "Ctrl+K",
                                             lambda: self.open_classify(self.batch or 1))
        self._gap_action = self._action(self.tr("&Quyết định nhóm…"), "Ctrl+G",
                                        self._on_gap_action_triggered)
        self._about_action = self._action(self.tr("&Giới thiệu"), None,
                                          self._on_about_action_triggered)
        self._about_action.setMenuRole(QAction.MenuRole.AboutRole)
        self._password_action = self._action(self.tr("Đổ&i mật khẩu…"), None,
                                             self._on_password_action_triggered)
        self._sign_out_action = self._action(self.tr("Đăn&g xuất"), None,
                                             self.sign_out_requested.emit,
                                             self.tr("Đăng xuất và trở về màn hình đăng nhập"))
        self._section_actions = []
        for i, key in enumerate(self.SECTIONS, start=1):
            item = self._sidebar.item(i - 1)
            action = self._action(item.text().split("  ", 1)[-1].replace("&", "&&"), f"Ctrl+{i}",
                                  partial(self.show_section, key))
            self._section_actions.append(action)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu(self.tr("&Tệp"))
        for action in (self._open_db_action, self._server_action):
            file_menu.addAction(action)
        file_menu.addSeparator()
        file_menu.addAction(self._export_action)
        file_menu.addAction(self._icrm_profiles_action)
        file_menu.addAction(self._icrm_surveys_action)
        file_menu.addSeparator()
        file_menu.addAction(self._refresh_action)
        file_menu.addAction(self._password_action)
        file_menu.addAction(self._sign_out_action)
        file_menu.addAction(self._quit_action)
        programme_menu = bar.addMenu(self.tr("&Chương trình"))
        programme_menu.addAction(self._classify_action)
        programme_menu.addAction(self._gap_action)
        data_menu = bar.addMenu(self.tr("&Dữ liệu"))
        data_menu.addAction(self._import_action)
        data_menu.addAction(self._bulk_action)
        data_menu.addAction(self._survey_action)
        programme_menu.addAction(self._survey_form_action)
        view_menu = bar.addMenu(self.tr("&Xem"))
        for action in self._section_actions:
            view_menu.addAction(action)
        help_menu = bar.addMenu(self.tr("Trợ &giúp"))
        help_menu.addAction(self._about_action)

    def _build_toolbar(self) -> None:
        bar = QToolBar(self.tr("Chương trình và đợt"), self)
        bar.setObjectName("programmeToolbar")
        bar.setMovable(False)
        bar.addWidget(QLabel(self.tr(" Chương trình: ")))
        self._programme_combo = QComboBox(self)
        self._programme_combo.setMinimumWidth(260)
        self._programme_combo.currentIndexChanged.connect(self._on_programme_combo_changed)
        bar.addWidget(self._programme_combo)
        bar.addWidget(QLabel(self.tr("  Đợt: ")))
        self._batch_combo = QComboBox(self)
        self._batch_combo.setMinimumWidth(160)
        self._batch_combo.currentIndexChanged.connect(self._on_batch_combo_changed)
        bar.addWidget(self._batch_combo)
        bar.addSeparator()
        bar.addAction(self._classify_action)
        bar.addAction(self._export_action)
        self.addToolBar(bar)

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self._programme_status = QLabel(self)
        self._db_status = QLabel(self._db_description, self)
        self._db_status.setToolTip(self._db_description)
        role_words = {"admin": self.tr("Quản trị"), "head": self.tr("Trưởng MF Quận/Huyện"),
                      "clerk": self.tr("Giao dịch viên"), "viewer": self.tr("Chỉ xem")}
        role = role_words.get(self.actor.role, ROLES.get(self.actor.role, self.actor.role))
        scope = self.actor.district if self.actor.role == "head" else \
            self.actor.store if self.actor.role == "clerk" else None
        self._user_status = QLabel(f"{self.actor.name} ({role}"
                                   + (f" – {scope}" if scope else "") + ")", self)
        for label in (self._programme_status, self._db_status, self._user_status):
            label.setContentsMargins(8, 0, 8, 0)
            bar.addPermanentWidget(label)

    # ------------------------------------------------------------------ behaviour

    def _apply_role(self) -> None:
        """Disable what the signed-in role may not use, with a tooltip saying why (the
        services refuse anyway: this only spares the user a refusal)."""
        role = ROLES.get(self.actor.role, self.actor.role)
        why = self.tr("Vai trò {role} không dùng phần này.").format(role=role)
        self.blocked_sections = {key for key, action in self.SECTION_PERMISSIONS.items()
                                 if not self.actor.may(action)}
        if self.actor.role == "viewer":  # the regional office: overview and reports only
            self.blocked_sections.add("settings")
        for row, key in enumerate(self.SECTIONS):
            if key in self.blocked_sections:
                item = self._sidebar.item(row)
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEnabled)
                item.setToolTip(why)
                self._section_actions[row].setEnabled(False)
                self._section_actions[row].setToolTip(why)
        for action, needed in ((self._import_action, "import"), (self._bulk_action, "bulk"),
                               (self._survey_action, "record"),
                               (self._survey_form_action, "manage"),
                               (self._classify_action, "manage"),
                               (self._gap_action, "manage")):
            if not self.actor.may(needed):
                action.setEnabled(False)
                action.setToolTip(why)
        if not self.actor.may("manage"):
            self._create_button.setEnabled(False)
            self._create_button.setToolTip(why)
        self._password_action.setEnabled(bool(self.actor.username))
        self._sign_out_action.setEnabled(bool(self.actor.username))

    def show_section(self, key: str) -> None:
        """Switch to a section (`dashboard`, `import`, `care_list`, `settings`)."""
        if not self.programmes or key in self.blocked_sections:
            return
        self._sidebar.setCurrentRow(self.SECTIONS.index(key))

    def current_section(self) -> str | None:
        """The section shown, or None on the welcome/loading pages."""
        current = self._stack.currentWidget()
        for key, page in self._pages.items():
            if page is current:
                return key
        return None

    @Slot()
    def refresh(self) -> None:
        """Read the programmes again (on the worker) and show them."""
        if not self.programmes:
            self._stack.setCurrentWidget(self._loading_label)
        self._runner.start(partial(_load_programmes, self._factory),
                           on_done=self._on_programmes_loaded, on_error=self._on_load_failed)

    def _apply_programmes(self, items: list[ProgrammeSummary]) -> None:
        self.programmes = list(items)
        if not items:
            self._programme_status.setText(self.tr("Chưa có chương trình"))
            self._sidebar.setEnabled(False)
            self._stack.setCurrentWidget(self._welcome_page)
            self._create_button.setFocus()
            return
        self._sidebar.setEnabled(True)
        keep = self.programme_id
        self._programme_combo.blockSignals(True)
        self._programme_combo.clear()
        for item in items:
            self._programme_combo.addItem(f"{item.name} – {item.region}".rstrip(" –"), item.id)
        index = max(self._programme_combo.findData(keep), 0)
        self._programme_combo.setCurrentIndex(index)
        self._programme_combo.blockSignals(False)
        self._set_programme(items[index].id, keep_batch=True)
        if self.current_section() is None:
            self.show_section(self._saved_section or "dashboard")
            if self.current_section() is None:
                self._stack.setCurrentWidget(self.overview)

    def _summary(self) -> ProgrammeSummary | None:
        return next((p for p in self.programmes if p.id == self.programme_id), None)

    def _set_programme(self, programme_id: int, keep_batch: bool = False) -> None:
        self.programme_id = programme_id
        summary = self._summary()
        assert summary is not None
        keep = self.batch if keep_batch else None
        self._batch_combo.blockSignals(True)
        self._batch_combo.clear()
        for b in summary.batches:
            self._batch_combo.addItem(
                self.tr("Đợt {number} ({month})").format(number=b.number,
                                                        month=b.care_month_text), b.number)
        index = max(self._batch_combo.findData(keep), 0) if keep else 0
        self._batch_combo.setCurrentIndex(index)
        self._batch_combo.blockSignals(False)
        self.batch = self._batch_combo.currentData()
        self._show_overview(summary)
        self._propagate()

    def _on_work_recorded(self) -> None:
        # Pages not in view read again when next shown; the one in view stays as the user
        # left it (the desk keeps its customer, the list its selection).
        self.dashboard.refresh()
        if self.current_section() != "stock" and "stock" not in self.blocked_sections:
            self.stock_page.refresh()
        if self.current_section() != "care_list" and "care_list" not in self.blocked_sections:
            self.care_list.model.refresh_rows()

    def _propagate(self) -> None:
        pages: dict[str, Any] = {
            "dashboard": self.dashboard, "import": self.import_page, "care_list": self.care_list,
            "desk": self.desk, "stock": self.stock_page, "print": self.print_page,
            "settings": self.settings_page}
        for key, page in pages.items():
            # A section the role may not use loads nothing: the service would only refuse.
            if key not in self.blocked_sections:
                page.set_programme(self.programme_id, self.batch)
        summary = self._summary()
        self.reports_page.set_programme(
            self.programme_id, self.batch,
            [b.number for b in summary.batches] if summary else [])
        batch = next((b for b in summary.batches if b.number == self.batch), None) \
            if summary else None
        parts = [f"{summary.name} – {summary.region}".rstrip(" –")] if summary else []
        if batch is not None:
            parts.append(self.tr("Đợt {number} ({month})").format(
                number=batch.number, month=batch.care_month_text))
        self._programme_status.setText(" · ".join(parts))

    def _show_overview(self, item: ProgrammeSummary) -> None:
        self._count_label.setText(self.tr("Thuê bao đã lưu: {count}").format(
            count=vn_number(item.subscriber_count)))
        while self._programme_holder.count():
            taken = self._programme_holder.takeAt(0)
            old = taken.widget() if taken is not None else None
            if old is not None:
                old.deleteLater()
        box = self._programme_box(item)
        box.setMaximumWidth(1100)
        self._programme_holder.addWidget(box)

    def _programme_box(self, item: ProgrammeSummary) -> QWidget:
        frame = QFrame()
        frame.setFrameShape(QFrame.Shape.StyledPanel)
        grid = QGridLayout(frame)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        rows = [
            (self.tr("Chương trình:"), f"{item.name} ({item.year})"),
            (self.tr("Khu vực:"), item.region or "—"),
            (self.tr("Địa bàn:"), self.tr("{n} tỉnh/thành: {names}").format(
                n=len(item.provinces), names=", ".join(item.provinces)) if item.provinces
             else "—"),
            (self.tr("Mức cước căn cứ:"), self._aggregation_text(item.aggregation)),
            (self.tr("Nhóm:"), ", ".join(item.group_names) or "—"),
            (self.tr("Đợt (tháng chăm sóc):"), ", ".join(
                self.tr("Đợt {number} – {month}").format(number=b.number,
                                                        month=b.care_month_text)
                for b in item.batches) or "—"),
        ]
        for i, (label, value) in enumerate(rows):
            value_label = QLabel(value)
            value_label.setWordWrap(True)
            value_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            grid.addWidget(QLabel(label), i, 0, Qt.AlignmentFlag.AlignTop)
            grid.addWidget(value_label, i, 1, Qt.AlignmentFlag.AlignTop)
        return frame

    def _aggregation_text(self, aggregation: str) -> str:
        if aggregation == "every_cycle":
            return self.tr("mỗi chu kỳ cước n-3, n-4, n-5 đều đạt ngưỡng (lấy mức thấp nhất)")
        if aggregation == "average":
            return self.tr("bình quân các chu kỳ cước n-3, n-4, n-5 (làm tròn xuống)")
        return aggregation

    def page_text(self) -> str:
        """All text on the current page (for tests and accessibility checks)."""
        current = self._stack.currentWidget()
        if current is None:
            return ""
        labels = [current] if isinstance(current, QLabel) else current.findChildren(QLabel)
        return "\n".join(label.text() for label in labels)

    @Slot(int)
    def open_classify(self, batch: int) -> None:
        """The classification dialog for a batch of the current programme."""
        summary = self._summary()
        if summary is None:
            return
        info = next((b for b in summary.batches if b.number == batch), None)
        if info is None:
            return
        dialog = ClassifyDialog(self._factory, self._runner, self.programme_id, batch,
                                info.care_month_text, list(summary.gift_types), self,
                                actor=self.actor)
        dialog.classified.connect(lambda _r: self._reload_sections())
        dialog.open()
        self._dialog: QWidget = dialog

    def _reload_sections(self) -> None:
        self.dashboard.refresh()
        self.care_list.refresh()

    # ------------------------------------------------------------------ slots

    def _on_programmes_loaded(self, items: Any) -> None:
        self._apply_programmes(items)
        self.programmes_loaded.emit(self.programmes)

    def _on_load_failed(self, exc: BaseException) -> None:
        self._error_label.setText(str(exc))
        self._stack.setCurrentWidget(self._error_label)
        messages.show_error(self, exc)

    @Slot(int)
    def _on_sidebar_current_row_changed(self, row: int) -> None:
        if 0 <= row < len(self.SECTIONS) and self.programmes:
            self._stack.setCurrentWidget(self._pages[self.SECTIONS[row]])

    @Slot(int)
    def _on_programme_combo_changed(self, index: int) -> None:
        if index >= 0:
            self._set_programme(self._programme_combo.itemData(index))

    @Slot(int)
    def _on_batch_combo_changed(self, index: int) -> None:
        if index >= 0:
            self.batch = self._batch_combo.itemData(index)
            self._propagate()

    def _on_dashboard_open_care_list(self, filters: dict[str, Any]) -> None:
        self.show_section("care_list")
        apply = getattr(self.care_list, "apply_filter", None)
        if callable(apply):
            apply(filters)

    def _on_import_finished(self, result: Any) -> None:
        messages.notify(self, self.tr(
            "Đã nhập {imported} thuê bao mới, cập nhật {updated}, từ chối {rejected} dòng."
        ).format(imported=vn_number(result.imported), updated=vn_number(result.updated),
                 rejected=vn_number(result.rejected)))
        self.refresh()

    @Slot()
    def _on_create_button_clicked(self) -> None:
        self._create_button.setEnabled(False)
        self._runner.start(partial(_create_default_programme, self._factory, self.actor),
                           on_done=self._on_programme_created,
                           on_error=self._on_create_failed)

    def _on_programme_created(self, programme_id: Any) -> None:
        self._create_button.setEnabled(True)
        messages.notify(self, self.tr("Đã tạo chương trình số {id}.").format(id=programme_id))
        self.refresh()

    def _on_create_failed(self, exc: BaseException) -> None:
        self._create_button.setEnabled(True)
        messages.show_error(self, exc)

    @Slot()
    def _on_open_database_triggered(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, self.tr("Mở cơ sở dữ liệu"), str(paths.data_dir()),
            self.tr("Cơ sở dữ liệu MBF Care (*.sqlite *.db)"))
        if path:
            self.restart_requested.emit(f"sqlite:///{path}")

    @Slot()
    def _on_connect_server_triggered(self) -> None:
        url, ok = QInputDialog.getText(
            self, self.tr("Kết nối máy chủ"),
            self.tr("Địa chỉ máy chủ PostgreSQL, ví dụ\n"
                    "postgresql+psycopg://nguoidung:matkhau@192.168.1.10/mbfcare"))
        if ok and url.strip():
            self.restart_requested.emit(url.strip())

    @Slot()
    def _on_export_regional_triggered(self) -> None:
        if self.programme_id is None:
            return
        path, _ = QFileDialog.getSaveFileName(
            self, self.tr("Xuất tệp gửi MobiFone KV5"),
            str(paths.data_dir() / "gui_KV5.xlsx"), self.tr("Tệp Excel (*.xlsx)"))
        if not path:
            return
        self._runner.start(
            partial(_export_regional, self._factory, self.programme_id, path, self.actor),
            on_done=lambda r: messages.notify(self, self.tr(
                "Đã xuất {file} ({rows} dòng chi tiết).").format(
                file=r.file, rows=vn_number(r.rows.get("ChiTiet", 0)))),
            on_error=lambda exc: messages.show_error(self, exc))

    def _export_for_icrm(self, what: str) -> None:
        """Write collected profiles or survey answers (only those not yet sent) for iCRM."""
        if self.programme_id is None:
            return
        names = {"profiles": "thong_tin_KH_iCRM.xlsx", "surveys": "khao_sat_iCRM.xlsx"}
        path, _ = QFileDialog.getSaveFileName(
            self, self.tr("Xuất tệp cập nhật iCRM"), str(paths.data_dir() / names[what]),
            self.tr("Tệp Excel (*.xlsx);;Tệp CSV (*.csv)"))
        if not path:
            return
        factory, programme_id, actor = self._factory, self.programme_id, self.actor

        def work(_progress: TaskProgress) -> str:
            if what == "profiles":
                return profiles.export_profiles(factory, Path(path), programme_id,
                                                actor=actor).text
            return surveys.export_responses(factory, Path(path), programme_id,
                                            actor=actor).text

        self._runner.start(work, on_done=lambda text: messages.notify(self, text),
                           on_error=lambda exc: messages.show_error(self, exc))

    @Slot(int)
    def _on_receipt_requested(self, case_id: int) -> None:
        """The desk handed a gift over: make its receipt and send it to the default printer."""
        if self.programme_id is None:
            return
        folder = paths.data_dir() / "prints"
        out = folder / f"bien_ban_{case_id}_{dt.datetime.now():%Y%m%d_%H%M%S}.pdf"
        factory, actor, programme_id = self._factory, self.actor, self.programme_id

        def work(_progress: TaskProgress) -> Any:
            folder.mkdir(parents=True, exist_ok=True)
            return printing.print_documents(factory, "receipts", out, actor=actor,
                                            programme_id=programme_id, case_ids=[case_id])

        self._runner.start(work, on_done=self._on_receipt_made,
                           on_error=lambda exc: messages.show_error(self, exc))

    def _on_receipt_made(self, result: Any) -> None:
        if QPrinterInfo.defaultPrinter().isNull():
            messages.notify(self, self.tr(
                "Đã tạo biên bản {file}; máy này chưa có máy in mặc định để in ngay.").format(
                file=result.file))
            return
        panel = self.print_page.documents
        panel.result = result
        panel.document.load(result.file)
        printer = QPrinter(QPrinterInfo.defaultPrinter(), QPrinter.PrinterMode.HighResolution)
        printer.setResolution(300)
        printer.setFullPage(True)
        panel.print_to(printer)
        messages.notify(self, self.tr("Đã in biên bản giao nhận quà."))

    @Slot()
    def _on_bulk_action_triggered(self) -> None:
        if self.programme_id is None:
            return
        dialog = BulkRecordingDialog(self._factory, self._runner, self.actor,
                                     self.programme_id, self)
        dialog.recording_finished.connect(lambda _result: self._on_work_recorded())
        dialog.open()
        self._dialog = dialog

    def _on_survey_action_triggered(self) -> None:
        if self.programme_id is None:
            return
        dialog = SurveyEntryDialog(self._factory, self._runner, self.actor, self.programme_id,
                                   None, self)
        dialog.finished.connect(lambda _code: self._on_work_recorded())
        dialog.open()
        self._dialog = dialog

    def _on_survey_form_action_triggered(self) -> None:
        if self.programme_id is None:
            return
        dialog = SurveyFormEditorDialog(self._factory, self._runner, self.actor,
                                        self.programme_id, self)
        dialog.open()
        self._dialog = dialog

    def _on_gap_action_triggered(self) -> None:
        dialog = GapDecisionDialog(self._factory, self._runner, self.programme_id, self.batch,
                                   self, actor=self.actor)
        dialog.decided.connect(lambda _n: self._reload_sections())
        dialog.open()
        self._dialog = dialog

    @Slot()
    def _on_password_action_triggered(self) -> None:
        dialog = ChangePasswordDialog(self._factory, self._runner, self.actor, self)
        dialog.open()
        self._dialog = dialog

    @Slot(bool)
    def _on_runner_busy_changed(self, busy: bool) -> None:
        # The one worker queues work, so nothing needs disabling; the cursor says "busy".
        if busy:
            self.statusBar().showMessage(self.tr("Đang xử lý…"))
        else:
            self.statusBar().clearMessage()

    @Slot()
    def _on_about_action_triggered(self) -> None:
        QMessageBox.about(self, self.tr("Giới thiệu MBF Care"), self.tr(
            "MBF Care {version}\n\nQuản lý chương trình chăm sóc khách hàng và trao quà tặng "
            "của MobiFone (Khu vực 5).\n\nCơ sở dữ liệu: {db}\nThư mục dữ liệu: {home}"
        ).format(version=__version__, db=self._db_description, home=paths.data_dir()))

    # ------------------------------------------------------------------ backups

    def _start_backup_timer(self) -> None:
        """While the window is open, back a changed SQLite file up every few minutes."""
        self._backup_url = backups.factory_url(self._factory) or ""
        self._backup_timer = QTimer(self)
        self._backup_timer.timeout.connect(self._on_backup_timer_timeout)
        if self._backup_url and backups.database_file(self._backup_url) is not None:
            policy = self.settings_page.database_tab.policy()
            self._backup_timer.start(policy.minutes * 60_000)

    @Slot(object)
    def _on_backup_policy_changed(self, policy: BackupPolicy) -> None:
        if self._backup_timer.isActive():
            self._backup_timer.start(policy.minutes * 60_000)

    @Slot()
    def _on_backup_timer_timeout(self) -> None:
        policy = self.settings_page.database_tab.policy()
        self._runner.start(partial(_backup_if_changed, self._backup_url, policy),
                           on_done=self._on_periodic_backup_done,
                           on_error=self._on_periodic_backup_failed)

    def _on_periodic_backup_done(self, backup: BackupFile | None) -> None:
        if backup is not None:
            messages.notify(self, self.tr("Đã tự sao lưu lúc {time}.").format(
                time=f"{backup.taken_at:%H:%M}"))

    def _on_periodic_backup_failed(self, exc: BaseException) -> None:
        # Not a modal box every half hour: the status bar says it, the log keeps it, and the
        # next attempt comes with the next interval.
        logger.warning("periodic backup failed: %s", exc)
        messages.notify(self, self.tr("Chưa tự sao lưu được: {reason}").format(reason=exc),
                        60_000)

    def _backup_on_close(self) -> None:
        """The backup on close (the work is done; the window waits for it)."""
        if not self._backup_timer.isActive():
            return
        self._backup_timer.stop()
        try:
            backups.backup_if_changed(self._backup_url, self.settings_page.database_tab.policy())
        except MbfCareError as exc:
            logger.warning("backup on close failed: %s", exc)

    # ------------------------------------------------------------------ window state

    def _restore_state(self) -> None:
        settings = QSettings()
        geometry = settings.value("main/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        state = settings.value("main/state")
        if isinstance(state, QByteArray):
            self.restoreState(state)
        section = settings.value("main/section")
        self._saved_section = section if section in self.SECTIONS else None

    def _save_state(self) -> None:
        settings = QSettings()
        settings.setValue("main/geometry", self.saveGeometry())
        settings.setValue("main/state", self.saveState())
        if self.current_section():
            settings.setValue("main/section", self.current_section())

    # ------------------------------------------------------------------ Qt overrides

    def closeEvent(self, event: QCloseEvent) -> None:
        self._save_state()
        # Work in flight finishes (or rolls back) before the window goes away.
        self._runner.wait(10000)
        self._backup_on_close()
        super().closeEvent(event)


def _backup_if_changed(url: str, policy: BackupPolicy, _progress: TaskProgress
                       ) -> BackupFile | None:
    """Worker: the periodic backup, when the database changed. No UI calls here."""
    return backups.backup_if_changed(url, policy)


def _export_regional(factory: sessionmaker[Session], programme_id: int, path: str,
                     actor: Actor, _progress: TaskProgress) -> Any:
    """Worker: write the regional workbook. No UI calls here."""
    from pathlib import Path

    return exporting.export_regional(factory, Path(path), programme_id=programme_id,
                                     actor=actor)


def _scaled_font(font: QFont, factor: float, *, bold: bool = False) -> QFont:
    scaled = QFont(font)
    if scaled.pointSizeF() > 0:
        scaled.setPointSizeF(scaled.pointSizeF() * factor)
    scaled.setBold(bold)
    return scaled
