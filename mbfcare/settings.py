"""The user's settings: a typed, frozen dataclass stored as TOML in the data folder; no Qt."""

from __future__ import annotations

import logging
import os
import tempfile
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from mbfcare import paths

logger = logging.getLogger(__name__)

SETTINGS_VERSION = 1
LANGUAGES = ("vi", "en")
FILE_NAME = "settings.toml"


@dataclass(frozen=True)
class Settings:
    """Real settings (UI state such as window geometry lives in QSettings, apart).

    Attributes:
        language: `vi` (the source language) or `en`.
        version: the file format version these values follow.
    """

    language: str = "vi"
    version: int = SETTINGS_VERSION


def settings_path() -> Path:
    """`<data folder>/settings.toml`."""
    return paths.data_dir() / FILE_NAME


# --- upgrades: raw table of version N -> raw table of version N+1 ---------------------------

def _upgrade_v0(raw: dict[str, Any]) -> dict[str, Any]:
    """Files written before versioning: `language` may be a locale name (`vi_VN`, `en-US`)."""
    language = str(raw.get("language", "vi")).replace("-", "_").split("_")[0].lower()
    return {**raw, "language": language, "version": 1}


_UPGRADES: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {0: _upgrade_v0}


def _upgrade(raw: dict[str, Any]) -> dict[str, Any]:
    """Bring a raw table up to `SETTINGS_VERSION`, one version at a time."""
    version = raw.get("version", 0)
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        logger.warning("settings: bad version %r, read as version 0", version)
        version = 0
    while version < SETTINGS_VERSION:
        raw = _UPGRADES[version](raw)
        version += 1
        raw["version"] = version
    if version > SETTINGS_VERSION:
        logger.warning("settings: file version %d is newer than %d; reading what is known",
                       version, SETTINGS_VERSION)
    return raw


def _from_raw(raw: dict[str, Any]) -> Settings:
    defaults = Settings()
    language = raw.get("language", defaults.language)
    if language not in LANGUAGES:
        logger.warning("settings: unknown language %r, using %r", language, defaults.language)
        language = defaults.language
    return replace(defaults, language=language)


def load_settings(path: Path | None = None) -> Settings:
    """The stored settings; defaults when the file is missing, unreadable or wrong (logged)."""
    path = path or settings_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Settings()
    except (OSError, UnicodeDecodeError) as exc:
        logger.warning("settings: cannot read %s (%s); using defaults", path, exc)
        return Settings()
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        logger.warning("settings: %s is not valid TOML (%s); using defaults", path, exc)
        return Settings()
    return _from_raw(_upgrade(raw))


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        escaped = "".join(c if c >= " " else f"\\u{ord(c):04x}" for c in escaped)
        return f'"{escaped}"'
    raise TypeError(f"settings value of type {type(value).__name__} cannot be written")


def dumps(settings: Settings) -> str:
    """The TOML text of the settings (flat keys: strings, integers, booleans)."""
    lines = ["# MBF Care settings; written by the program, safe to edit while it is closed."]
    lines += [f"{f.name} = {_toml_value(getattr(settings, f.name))}" for f in fields(settings)]
    return "\n".join(lines) + "\n"


def save_settings(settings: Settings, path: Path | None = None) -> None:
    """Write the settings atomically (a crash never leaves half a file)."""
    path = path or settings_path()
    settings = replace(settings, version=SETTINGS_VERSION)
    fd, tmp = tempfile.mkstemp(prefix=".settings-", suffix=".toml", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(dumps(settings))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    logger.info("settings saved: language=%s", settings.language)
