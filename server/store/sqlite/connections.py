"""How the SQLite adapter's connections are opened: PRAGMAs, URLs, and
telling "database is locked" from other errors."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection

# When the WAL holds more than this, the writer thread restarts it
# (checkpoints.py); also the size a restarted WAL file is cut to.
WAL_RESTART_BYTES = 64 * 1024 * 1024


# A reader's page cache (SQLite's default is 2 MiB). In WAL mode a
# connection drops its whole cache when a read transaction begins after
# another connection's commit, so while a worker writes, a reader's cache
# only serves the transaction that filled it; larger, the pool's readers
# (`pool_size`) each grew to 2 MiB as the file grew, held and seldom used.
READER_CACHE_KIB = 512


def pragma_list(synchronous: str, busy_timeout_ms: int, *, writer: bool = False) -> list[str]:
    # busy_timeout first: switching a new file to WAL takes a lock that
    # another process starting at the same moment may hold.
    pragmas = [
        f"busy_timeout={int(busy_timeout_ms)}",
        "journal_mode=WAL",
        "foreign_keys=ON",
        f"synchronous={synchronous}",
    ]
    if writer:
        pragmas += [
            # The checkpointer thread copies the WAL into the database (and
            # fsyncs) off the writer's path; see checkpoints.py.
            "wal_autocheckpoint=0",
            # The connection whose commit starts the WAL over cuts the file.
            f"journal_size_limit={int(WAL_RESTART_BYTES)}",
            "temp_store=MEMORY",
        ]
    else:
        pragmas.append(f"cache_size=-{READER_CACHE_KIB}")
    return pragmas


def pragmas(
    synchronous: str, busy_timeout_ms: int, *, writer: bool = False
) -> Callable[[Any, Any], None]:
    """A "connect" listener that sets the PRAGMAs on each new connection."""
    wanted = pragma_list(synchronous, busy_timeout_ms, writer=writer)

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN IMMEDIATE itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in wanted:
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    return on_connect


def begin_immediate(conn: Connection) -> None:
    """A "begin" listener for the writers."""
    # Straight to the driver: the writer begins thousands of these a second.
    conn.connection.driver_connection.execute("BEGIN IMMEDIATE")  # type: ignore[union-attr]


def begin_deferred(conn: Connection) -> None:
    """A "begin" listener for the readers."""
    conn.exec_driver_sql("BEGIN")


def sync_url(url: str) -> str:
    """The aiosqlite URL for the stdlib driver."""
    return url.replace("sqlite+aiosqlite:", "sqlite+pysqlite:", 1)


def file_of(path: str | None) -> str | None:
    """The database file of a URL's path; None in memory."""
    return path if path and path != ":memory:" and not path.startswith("file:") else None


def is_locked(exc: BaseException) -> bool:
    cause = getattr(exc, "orig", exc)
    return isinstance(cause, sqlite3.OperationalError) and "locked" in str(cause)
