"""Edit a test database behind the application's back, as someone with a database tool would.

On SQLite that is a plain connection with foreign keys off (and the audit log's triggers
dropped when the edit touches it); on PostgreSQL a superuser session with
`session_replication_role = replica`, which silences foreign keys and triggers alike.
"""

from __future__ import annotations

import sqlite3

from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool


def run_sql(db_url: str, *statements: str, bypass: bool = True) -> int | None:
    """Run `statements` in one transaction; returns the last INSERT's new row id, if any.

    With `bypass=False` the database's own rules (foreign keys, append-only triggers) apply,
    so a test can show that they refuse the edit.
    """
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        return _run_sqlite(str(url.database), statements, bypass)
    engine = create_engine(db_url, poolclass=NullPool)
    last_id: int | None = None
    try:
        with engine.begin() as conn:
            if bypass:
                conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
            for statement in statements:
                if statement.lstrip().upper().startswith("INSERT"):
                    last_id = conn.exec_driver_sql(statement + " RETURNING id").scalar()
                else:
                    conn.exec_driver_sql(statement)
    finally:
        engine.dispose()
    return last_id


def _run_sqlite(path: str, statements: tuple[str, ...], bypass: bool) -> int | None:
    conn = sqlite3.connect(path, isolation_level=None)
    last_id: int | None = None
    try:
        conn.execute(f"PRAGMA foreign_keys={'OFF' if bypass else 'ON'}")
        conn.execute("BEGIN")
        if bypass and any("audit_log" in s for s in statements):
            conn.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
            conn.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
        for statement in statements:
            cursor = conn.execute(statement)
            if statement.lstrip().upper().startswith("INSERT"):
                last_id = cursor.lastrowid
        conn.execute("COMMIT")
    finally:
        conn.close()
    return last_id
