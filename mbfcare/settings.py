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
from mbfcare.errors import ValidationError

logger = logging.getLogger(__name__)

SETTINGS_VERSION = 2
LANGUAGES = ("vi", "en")
FILE_NAME = "settings.toml"

# Bounds of the backup settings: (smallest, largest); defaults follow Anki's spirit with the
# issue's floor of 7 daily, 4 weekly and 6 monthly backups.
BACKUP_LIMITS = {
    "keep_daily": (1, 365),
    "keep_weekly": (0, 520),
    "keep_monthly": (0, 240),
    "backup_minutes": (5, 24 * 60),
}


@dataclass(frozen=True)
class Settings:
    """Real settings (UI state such as window geometry lives in QSettings, apart).

    Attributes:
        language: `vi` (the source language) or `en`.
        backup_folder: where SQLite backups go ("" = `<data folder>/backups`).
        keep_daily: backups kept one per day, for this many days that have one.
        keep_weekly: then one per week, for this many weeks.
        keep_monthly: then one per month, for this many months.
        backup_minutes: while the window is open, back up at least this often when the
            database changed.
        version: the file format version these values follow.
    """

    language: str = "vi"
    backup_folder: str = ""
    keep_daily: int = 7
    keep_weekly: int = 4
    keep_monthly: int = 6
    backup_minutes: int = 30
    version: int = SETTINGS_VERSION


def settings_path() -> Path:
    """`<data folder>/settings.toml`."""
    return paths.data_dir() / FILE_NAME


# --- upgrades: raw table of version N -> raw table of version N+1 ---------------------------

def _upgrade_v0(raw: dict[str, Any]) -> dict[str, Any]:
    """Files written before versioning: `language` may be a locale name (`vi_VN`, `en-US`)."""
    language = str(raw.get("language", "vi")).replace("-", "_").split("_")[0].lower()
    return {**raw, "language": language, "version": 1}


def _upgrade_v1(raw: dict[str, Any]) -> dict[str, Any]:
    """Version 2 added the backup settings; an older file gets their defaults."""
    defaults = Settings()
    added = {name: getattr(defaults, name) for name in
             ("backup_folder", "keep_daily", "keep_weekly", "keep_monthly", "backup_minutes")}
    return {**added, **raw, "version": 2}


_UPGRADES: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {
    0: _upgrade_v0, 1: _upgrade_v1}


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
    folder = raw.get("backup_folder", defaults.backup_folder)
    if not isinstance(folder, str):
        logger.warning("settings: backup_folder %r is not a path, using the default", folder)
        folder = defaults.backup_folder
    counts: dict[str, int] = {}
    for name, (low, high) in BACKUP_LIMITS.items():
        value = raw.get(name, getattr(defaults, name))
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            logger.warning("settings: %s = %r is not a whole number from %d to %d, using %d",
                           name, value, low, high, getattr(defaults, name))
            value = getattr(defaults, name)
        counts[name] = value
    return replace(defaults, language=language, backup_folder=folder, **counts)


def validate_backup_settings(settings: Settings) -> list[str]:
    """Sentences naming each backup setting out of bounds (empty when all are fine)."""
    labels = {"keep_daily": "Số bản sao lưu giữ theo ngày",
              "keep_weekly": "Số bản sao lưu giữ theo tuần",
              "keep_monthly": "Số bản sao lưu giữ theo tháng",
              "backup_minutes": "Số phút giữa hai lần tự sao lưu"}
    problems = []
    for name, (low, high) in BACKUP_LIMITS.items():
        value = getattr(settings, name)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            problems.append(f"{labels[name]} phải từ {low} đến {high}, không phải {value!r}.")
    return problems


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
    """Write the settings atomically (a crash never leaves half a file).

    Raises:
        ValidationError: a backup setting is out of bounds; nothing was written.
    """
    problems = validate_backup_settings(settings)
    if problems:
        raise ValidationError(" ".join(problems))
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
    logger.info("settings saved: language=%s, backups kept %d/%d/%d, every %d min",
                settings.language, settings.keep_daily, settings.keep_weekly,
                settings.keep_monthly, settings.backup_minutes)
