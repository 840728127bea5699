"""Savepoints on the hot path.

Every batch of outcomes is written inside a savepoint (two, when the batch
first tries the UPDATE that checks every lease at once). SQLAlchemy's
`begin_nested` sends SAVEPOINT and RELEASE through its full statement path
and keeps its own transaction bookkeeping: 5% of a drained run's time on
SQLite, more than SQLite takes for the statements. On SQLite `Savepoint`
sends them straight to the driver; other dialects get `begin_nested`.
"""

from __future__ import annotations

import sqlite3
from types import TracebackType

from sqlalchemy import Connection, NestedTransaction
from sqlalchemy.exc import DBAPIError

# SQLite keeps savepoints on a stack: RELEASE and ROLLBACK TO name the
# innermost savepoint of that name, so nested ones may share it.
_NAME = "taskloom_save"


class Savepoint:
    """`with Savepoint(conn):` releases it at the end, or rolls back to it
    when the block raises; `rollback()` undoes the block's work early."""

    def __init__(self, conn: Connection) -> None:
        self._nested: NestedTransaction | None = None
        self._driver: sqlite3.Connection | None = None
        self._open = True
        driver = conn.connection.driver_connection
        if conn.dialect.name == "sqlite" and isinstance(driver, sqlite3.Connection):
            self._driver = driver
            self._execute(f"SAVEPOINT {_NAME}")
        else:
            self._nested = conn.begin_nested()

    def __enter__(self) -> Savepoint:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if not self._open:
            return
        if exc is None:
            self.commit()
            return
        driver = self._driver
        if driver is not None and not driver.in_transaction:
            # SQLite ended the transaction itself (a full disk, say): there is
            # nothing to roll back to, and the caller's rollback handles it.
            self._open = False
            return
        self.rollback()

    def commit(self) -> None:
        self._open = False
        if self._nested is not None:
            self._nested.commit()
        else:
            self._execute(f"RELEASE {_NAME}")

    def rollback(self) -> None:
        self._open = False
        if self._nested is not None:
            self._nested.rollback()
        else:
            self._execute(f"ROLLBACK TO {_NAME}")
            self._execute(f"RELEASE {_NAME}")

    def _execute(self, sql: str) -> None:
        assert self._driver is not None
        try:
            self._driver.execute(sql)
        except sqlite3.Error as exc:
            raise DBAPIError.instance(sql, (), exc, sqlite3.Error) from exc
