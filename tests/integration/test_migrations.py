"""The Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from mbfcare.db import current_revision, head_revision, make_engine, migrate
from mbfcare.models.base import Base


def _url(tmp_path: Path, name: str = "empty.sqlite") -> str:
    return f"sqlite:///{(tmp_path / name).as_posix()}"


def test_upgrade_empty_database_matches_models(tmp_path: Path) -> None:
    url = _url(tmp_path)
    engine = make_engine(url)
    try:
        assert current_revision(engine) is None
        assert migrate(engine, url) is True
        assert head_revision() is not None
        assert current_revision(engine) == head_revision()
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == []
        tables = set(inspect(engine).get_table_names())
        assert {"subscribers", "charges", "exclusions", "import_runs", "programmes",
                "batches"} <= tables
    finally:
        engine.dispose()


def test_migrating_again_is_a_no_op(tmp_path: Path, data_home: Path) -> None:
    url = _url(tmp_path, "twice.sqlite")
    engine = make_engine(url)
    try:
        assert migrate(engine, url) is True
        with engine.connect() as conn:
            tables_before = sorted(inspect(conn).get_table_names())
        assert migrate(engine, url) is False
        assert current_revision(engine) == head_revision()
        with engine.connect() as conn:
            assert sorted(inspect(conn).get_table_names()) == tables_before
        # Nothing ran, so no backup before an upgrade was taken either.
        backups = data_home / "backups"
        assert not backups.exists() or not list(backups.iterdir())
    finally:
        engine.dispose()


def test_template_database_of_the_fixtures_is_at_head(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        assert current_revision(engine) == head_revision()
        assert migrate(engine, db_url) is False
    finally:
        engine.dispose()


def test_older_database_is_backed_up_then_migrated(tmp_path: Path, data_home: Path) -> None:
    """A database left at the first schema is copied to backups/ and brought to head."""
    from alembic import command
    from sqlalchemy import text

    from mbfcare.db import alembic_config, current_revision, head_revision, make_engine, migrate

    url = f"sqlite:///{(tmp_path / 'old.sqlite').as_posix()}"
    engine = make_engine(url)
    with engine.begin() as conn:
        cfg = alembic_config(url)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO subscribers (msisdn, ported, subscriber_type, status, updated_at) "
            "VALUES ('0901234567', 0, 'prepaid', 'active', '2017-01-01 00:00:00')"))
    assert current_revision(engine) == "0001"
    assert migrate(engine, url) is True
    assert current_revision(engine) == head_revision()
    # named after the database file, then why: `<name>-truoc-nang-cap-<time>.sqlite`
    backups = list((data_home / "backups").glob("*-truoc-nang-cap-*.sqlite"))
    assert len(backups) == 1
    import sqlite3

    copy = sqlite3.connect(backups[0])
    assert copy.execute("SELECT msisdn FROM subscribers").fetchall() == [("0901234567",)]
    copy.close()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM care_cases")).scalar_one() == 0
        assert conn.execute(text("SELECT msisdn FROM subscribers")).scalar_one() == "0901234567"
