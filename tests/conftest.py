"""Shared fixtures: offscreen Qt, a private data folder per test, a migrated database."""

from __future__ import annotations

import gc
import itertools
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before any Qt import

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from mbfcare.db import make_engine, make_session_factory, migrate
from mbfcare.domain.actors import Actor
from mbfcare.services.programmes import create_programme, default_programme_spec

# A PostgreSQL server the database tests also run against (`.ci/run` starts one), given as
# the URL of a database the tests may create and drop databases from.
PG_ADMIN_URL = os.environ.get("MBFCARE_TEST_PG_URL", "")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test on a database runs on SQLite and, with a server, on PostgreSQL too.

    The window's tests stay on SQLite: they exercise the same services through a worker
    thread, and doubling them would double the slowest part of the suite for no new path.
    """
    if "backend" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker
    backends: list[object] = [] if marker("postgres_only") else ["sqlite"]
    on_gui = {"qtbot", "qapp"} & set(metafunc.fixturenames)
    if PG_ADMIN_URL and not on_gui and marker("sqlite_only") is None:
        backends.append(pytest.param("postgres", marks=pytest.mark.postgres))
    metafunc.parametrize("backend", backends)


# Files that run for a minute or more in one worker: started first, so that the other worker
# works through the short files meanwhile instead of waiting for them at the end.
LONG_FILES = ("test_kill_import.py", "test_hostile_files.py", "test_fuzz_import.py",
              "test_races.py", "test_cli_restore.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Long files first; mark every test that needs a QApplication (qutebrowser's marker)."""
    items.sort(key=lambda item: item.path.name not in LONG_FILES)
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
    # What survives is moved out of the collector's sight, so that the next test's collection
    # walks only what that test made, not the whole run's heap again (seconds per test late
    # in a long run otherwise).
    gc.freeze()


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


def _pg_admin(statement: str) -> None:
    """Run one CREATE/DROP DATABASE on the test server (outside any transaction)."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as conn:
        conn.execute(text(statement))
    admin.dispose()


def _pg_url(database: str) -> str:
    return make_url(PG_ADMIN_URL).set(database=database).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def pg_template(worker_id: str) -> Iterator[str]:
    """A PostgreSQL database migrated to head, one per test worker, cloned for every test."""
    name = f"mbfcare_tpl_{worker_id}_{os.getpid()}"
    _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _pg_admin(f'CREATE DATABASE "{name}"')
    url = _pg_url(name)
    engine = make_engine(url)
    migrate(engine, url)
    engine.dispose()
    yield name
    _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


_pg_numbers = itertools.count()


@pytest.fixture
def backend() -> str:
    """The database a test runs on; `pytest_generate_tests` adds PostgreSQL when it can."""
    return "sqlite"


@pytest.fixture
def db_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of a fresh migrated database for this test, on the backend it runs on."""
    if backend == "sqlite":
        path = tmp_path / "test.sqlite"
        shutil.copy(request.getfixturevalue("template_db"), path)
        yield f"sqlite:///{path.as_posix()}"
        return
    template = request.getfixturevalue("pg_template")
    name = f"{template}_{next(_pg_numbers)}"
    _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    yield _pg_url(name)
    _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


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
    return create_programme(factory, default_programme_spec(), actor=Actor("test"))
