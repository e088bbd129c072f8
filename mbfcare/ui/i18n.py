"""Install the application's translation and Qt's own (`MBFCARE_LANG`, else the settings)."""

from __future__ import annotations

import logging
import os

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QTranslator

from mbfcare.paths import resources_dir
from mbfcare.settings import load_settings

logger = logging.getLogger(__name__)

SOURCE_LANGUAGE = "vi"  # the strings in the code are Vietnamese
_TRANSLATOR_NAME = "mbfcare_i18n"  # marks the translators installed here, to swap them live


def current_language() -> str:
    """`MBFCARE_LANG` when set, else the language saved in the settings."""
    return (os.environ.get("MBFCARE_LANG") or load_settings().language).lower()


def install_translators(app: QCoreApplication, language: str | None = None) -> list[QTranslator]:
    """Load `resources/i18n/mbfcare_<lang>.qm` and Qt's `qtbase_<lang>.qm` when they exist.

    Translators installed earlier by this function are removed first, so calling it again
    switches the language live (widgets retranslate on `QEvent.LanguageChange`).

    Args:
        app: the application that keeps the translators.
        language: `vi` or `en`; default `MBFCARE_LANG`, else the settings (Vietnamese).

    Returns:
        The translators installed (parented to `app`, so they live as long as it does).
    """
    language = (language or current_language()).lower()
    for old in app.findChildren(QTranslator, _TRANSLATOR_NAME):
        app.removeTranslator(old)
        old.deleteLater()
    QLocale.setDefault(QLocale(language))
    installed: list[QTranslator] = []
    qt_dir = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
    candidates = [(f"qtbase_{language}", qt_dir)]
    if language != SOURCE_LANGUAGE:
        candidates.append((f"mbfcare_{language}", str(resources_dir() / "i18n")))
    for name, folder in candidates:
        translator = QTranslator(app)
        translator.setObjectName(_TRANSLATOR_NAME)
        if translator.load(name, folder):
            app.installTranslator(translator)
            installed.append(translator)
        else:
            translator.deleteLater()
            logger.debug("no translation %s in %s", name, folder)
    return installed
