"""Install the application's translation and Qt's own (`MBFCARE_LANG`, default Vietnamese)."""

from __future__ import annotations

import logging
import os

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QTranslator

from mbfcare.paths import resources_dir

logger = logging.getLogger(__name__)

SOURCE_LANGUAGE = "vi"  # the strings in the code are Vietnamese


def install_translators(app: QCoreApplication, language: str | None = None) -> list[QTranslator]:
    """Load `resources/i18n/mbfcare_<lang>.qm` and Qt's `qtbase_<lang>.qm` when they exist.

    Args:
        app: the application that keeps the translators.
        language: `vi` or `en`; default `MBFCARE_LANG`, else Vietnamese.

    Returns:
        The translators installed (keep them alive as long as the application).
    """
    language = (language or os.environ.get("MBFCARE_LANG") or SOURCE_LANGUAGE).lower()
    QLocale.setDefault(QLocale(language))
    installed: list[QTranslator] = []
    qt_dir = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
    candidates = [(f"qtbase_{language}", qt_dir)]
    if language != SOURCE_LANGUAGE:
        candidates.append((f"mbfcare_{language}", str(resources_dir() / "i18n")))
    for name, folder in candidates:
        translator = QTranslator(app)
        if translator.load(name, folder):
            app.installTranslator(translator)
            installed.append(translator)
        else:
            logger.debug("no translation %s in %s", name, folder)
    return installed
