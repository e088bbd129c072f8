"""Start the window: QApplication, translations, the database (migrated), the main window."""

from __future__ import annotations

import logging
import sys

from PySide6.QtWidgets import QApplication, QMessageBox

from mbfcare import APP_NAME, ORG_NAME, __version__, logs, paths
from mbfcare.db import describe, open_database
from mbfcare.domain.actors import Actor
from mbfcare.errors import MbfCareError
from mbfcare.ui.crash_dialog import install_excepthook
from mbfcare.ui.garbage import GarbageCollector
from mbfcare.ui.i18n import install_translators
from mbfcare.ui.main_window import MainWindow
from mbfcare.ui.recovery import check_at_start
from mbfcare.ui.sign_in import sign_in_at_start
from mbfcare.ui.tasks import TaskRunner

logger = logging.getLogger(__name__)


def _application() -> QApplication:
    # Names first: QSettings and the platform integration read them when the app starts.
    QApplication.setOrganizationName(ORG_NAME)
    QApplication.setApplicationName(APP_NAME)
    QApplication.setApplicationDisplayName("MBF Care")
    QApplication.setApplicationVersion(__version__)
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    return QApplication(sys.argv[:1])


def run_gui(db_url: str | None) -> int:
    """Open the database and show the main window until it is closed.

    The window may ask to be opened again (the language changed, another database was
    chosen); the loop does that without leaving the application.

    Args:
        db_url: SQLAlchemy URL; None means `MBFCARE_DB` or the per-user SQLite file.

    Before the window, the first-run dialog (no account yet) or the sign-in dialog; closing
    it quits.

    Returns:
        The exit status: 0 closed normally, 1 the database could not be opened.
    """
    app = _application()
    logs.setup()
    install_excepthook()
    collector = GarbageCollector(app)  # noqa: F841 - lives with the application
    url = db_url or paths.default_db_url()
    # Who signed in, and on which database: a language change keeps him, another database
    # or "Đăng xuất" asks again.
    actor: Actor | None = None
    signed_in_on = ""
    sign_in_runner = TaskRunner(app)
    while True:
        translators = install_translators(app)  # parented to app: they live as long as it
        if not check_at_start(url):  # quick check, recovery of a damaged file, backup
            return 1
        try:
            engine, factory = open_database(url)
        except MbfCareError as exc:
            logger.error("cannot open the database: %s", exc)
            QMessageBox.critical(
                None, QApplication.translate("App", "Không mở được cơ sở dữ liệu"), str(exc))
            return 1
        restart: dict[str, str] = {}
        try:
            if actor is None or signed_in_on != url:
                actor = sign_in_at_start(factory, sign_in_runner)
                if actor is None:  # the user closed the sign-in: quit
                    return 0
                signed_in_on = url
            window = MainWindow(factory, describe(url), actor=actor)

            def _on_restart(new_url: str, window: MainWindow = window,
                            restart: dict[str, str] = restart, current: str = url) -> None:
                restart["url"] = new_url or current
                window.close()

            def _on_sign_out(window: MainWindow = window, restart: dict[str, str] = restart,
                             current: str = url) -> None:
                restart["url"] = current
                restart["sign_out"] = "yes"
                window.close()

            window.restart_requested.connect(_on_restart)
            window.sign_out_requested.connect(_on_sign_out)
            window.show()
            code = app.exec()
        finally:
            engine.dispose()
            for translator in translators:
                app.removeTranslator(translator)
        if "url" not in restart:
            return int(code)
        url = restart["url"]
        if "sign_out" in restart:
            actor = None
