"""Where MBF Care keeps its data, logs, backups and rejects; no Qt here."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import platformdirs

from mbfcare import APP_NAME


def data_dir() -> Path:
    """The folder for the default database, backups, logs and rejects workbooks.

    `MBFCARE_HOME` wins; otherwise the per-user data folder
    (Windows: `%LOCALAPPDATA%\\MBFCare`).
    """
    home = os.environ.get("MBFCARE_HOME")
    path = Path(home) if home else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _sub(name: str) -> Path:
    path = data_dir() / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def rejects_dir() -> Path:
    """Folder for the rejects workbooks written by imports."""
    return _sub("rejects")


def backups_dir() -> Path:
    """Folder for database backups."""
    return _sub("backups")


def log_dir() -> Path:
    """Folder for the rotating log files."""
    return _sub("logs")


def default_db_path() -> Path:
    """The SQLite file used when no `--db`/`MBFCARE_DB` is given."""
    return data_dir() / "mbfcare.sqlite"


def default_db_url() -> str:
    """`MBFCARE_DB` if set, else the SQLite file in the data folder."""
    return os.environ.get("MBFCARE_DB") or f"sqlite:///{default_db_path().as_posix()}"


@cache
def resources_dir() -> Path:
    """The `resources/` folder: inside the installed package, or beside it in a checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "resources", here.parent / "resources"):
        if (candidate / "reference").is_dir():
            return candidate
    raise FileNotFoundError("MBF Care resources folder not found next to the package")


def resource_file(*parts: str) -> Path:
    """A file under `resources/`, e.g. `resource_file("surveys", "default.toml")`."""
    return resources_dir().joinpath(*parts)


def reference_file(name: str) -> Path:
    """A file of reference data (provinces, prefixes, header names)."""
    return resource_file("reference", name)
