"""Start the window: QApplication, translations, the database (migrated), the main window."""

from __future__ import annotations

import logging
import sys

from PySide6.QtWidgets import QApplication, QMessageBox

from mbfcare import APP_NAME, ORG_NAME, __version__, logs, paths
from mbfcare.db import describe, open_database
from mbfcare.errors import MbfCareError
from mbfcare.ui.crash_dialog import install_excepthook
from mbfcare.ui.garbage import GarbageCollector
from mbfcare.ui.i18n import install_translators
from mbfcare.ui.main_window import MainWindow

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

    Returns:
        The exit status: 0 closed normally, 1 the database could not be opened.
    """
    app = _application()
    logs.setup()
    install_excepthook()
    collector = GarbageCollector(app)  # noqa: F841 - lives with the application
    url = db_url or paths.default_db_url()
    while True:
        translators = install_translators(app)  # parented to app: they live as long as it
        try:
            engine, factory = open_database(url)
        except MbfCareError as exc:
            logger.error("cannot open the database: %s", exc)
            QMessageBox.critical(
                None, QApplication.translate("App", "Không mở được cơ sở dữ liệu"), str(exc))
            return 1
        restart: dict[str, str] = {}
        try:
            window = MainWindow(factory, describe(url))

            def _on_restart(new_url: str, window: MainWindow = window,
                            restart: dict[str, str] = restart, current: str = url) -> None:
                restart["url"] = new_url or current
                window.close()

            window.restart_requested.connect(_on_restart)
            window.show()
            code = app.exec()
        finally:
            engine.dispose()
            for translator in translators:
                app.removeTranslator(translator)
        if "url" not in restart:
            return int(code)
        url = restart["url"]
