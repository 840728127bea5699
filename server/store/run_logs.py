"""Log lines written outside an iteration: by the store's own transitions
(an abort, a rescue), by backend code (`AppendLog`), and in bulk
(`InsertLogs`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, update
from sqlalchemy.engine import RowMapping

from taskloom.definitions.records import LogLevel
from taskloom.server.store.group_commit import WriteOp
from taskloom.server.store.models import logs, runs
from taskloom.server.store.run_rows import load_run


def log_line(
    conn: Connection,
    row: RowMapping,
    now: float,
    message: str,
    level: str = LogLevel.INFO.value,
    data: dict[str, Any] | None = None,
) -> None:
    """One line in the log of the run `row`, at its current iteration."""
    conn.execute(
        insert(logs).values(
            run_id=row["id"],
            level=level,
            message=message,
            data=data,
            iteration=row["iterations"],
            created_at=now,
        )
    )


class AppendLog(WriteOp[dict[str, Any]]):
    """A log line written by backend code to any run; ERROR sets has_errors."""

    def __init__(self, row: dict[str, Any]) -> None:
        self.row = row

    def apply(self, conn: Connection) -> dict[str, Any]:
        run = load_run(conn, self.row["run_id"])
        line = dict(self.row, iteration=run["iterations"])
        line["id"] = conn.execute(insert(logs).returning(logs.c.id), [line]).scalar_one()
        if line["level"] == LogLevel.ERROR.value and not run["has_errors"]:
            conn.execute(update(runs).where(runs.c.id == run["id"]).values(has_errors=True))
        return line


class InsertLogs(WriteOp[list[int]]):
    """Log lines, as given; returns their ids."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows

    def apply(self, conn: Connection) -> list[int]:
        if not self.rows:
            return []
        result = conn.execute(insert(logs).returning(logs.c.id), self.rows)
        return [row[0] for row in result]
