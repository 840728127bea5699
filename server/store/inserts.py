"""INSERT of many rows, as each database does it fastest: the SQLite
adapter's compiled statements (sqlite/inserts.py, held to the Core INSERT by
tests/integration/test_store_inserts.py), Core's executemany elsewhere."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, insert

from taskloom.server.store.sqlite import inserts as sqlite_inserts


def insert_rows(conn: Connection, table: Any, rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    if conn.dialect.name == "sqlite":
        sqlite_inserts.insert_rows(conn, table, rows)
    else:
        conn.execute(insert(table), list(rows))
