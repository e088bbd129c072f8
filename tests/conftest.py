"""Shared fixtures: offscreen Qt, a private data folder per test, a migrated database."""

from __future__ import annotations

import gc
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before any Qt import

import pytest
from sqlalchemy.orm import Session, sessionmaker

from mbfcare.db import make_engine, make_session_factory, migrate
from mbfcare.services.programmes import create_programme, default_programme_spec


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that needs a QApplication (qutebrowser's automatic marker)."""
    for item in items:
        if "qapp" in getattr(item, "fixturenames", ()) or "qtbot" in getattr(
            item, "fixturenames", ()
        ):
            item.add_marker("gui")


# As in the application (mbfcare/ui/garbage.py): garbage holding Qt objects must be collected
# on the GUI thread, never by a worker thread that happens to trigger the collector.
gc.disable()


@pytest.fixture(autouse=True)
def _collect_on_main_thread() -> Iterator[None]:
    yield
    gc.collect()


@pytest.fixture(autouse=True)
def _private_qsettings(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """Window state and recent files of a test go to its own folder, not the user's."""
    if not {"qtbot", "qapp"} & set(request.fixturenames):
        return
    from PySide6.QtCore import QSettings

    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope,
                      str(tmp_path / "qsettings"))


@pytest.fixture(autouse=True)
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own MBFCARE_HOME (database, rejects, backups, logs)."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("MBFCARE_HOME", str(home))
    monkeypatch.delenv("MBFCARE_DB", raising=False)
    return home


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty database migrated to head, built once and copied per test (Anki's trick)."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite"
    url = f"sqlite:///{path.as_posix()}"
    engine = make_engine(url)
    migrate(engine, url)
    engine.dispose()
    return path


@pytest.fixture
def db_url(template_db: Path, tmp_path: Path) -> str:
    """URL of a fresh migrated SQLite database for this test."""
    path = tmp_path / "test.sqlite"
    shutil.copy(template_db, path)
    return f"sqlite:///{path.as_posix()}"


@pytest.fixture
def factory(db_url: str) -> Iterator[sessionmaker[Session]]:
    """Session factory over the test database (no programme yet)."""
    engine = make_engine(db_url)
    yield make_session_factory(engine)
    # Work a window started may still be running on its worker: let it end before the
    # database goes away (only when Qt was used at all).
    tasks = sys.modules.get("mbfcare.ui.tasks")
    if tasks is not None:
        tasks.wait_all_runners()
    engine.dispose()


@pytest.fixture
def programme_id(factory: sessionmaker[Session]) -> int:
    """The source document's programme, created in the test database."""
    return create_programme(factory, default_programme_spec())
