"""Applies the Alembic migrations up to every head, on SQLite or PostgreSQL.

Features add their tables in migrations that may branch from the same
parent; upgrading to "heads" applies all branches. Alembic is imported only
to upgrade: a process that finds its database at head (every worker but the
first) starts without it, about a fifth of its import time."""

from __future__ import annotations

import ast
import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, inspect, text

from taskloom.server.store.database import Database

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


# Any constant: the advisory lock that lets one process at a time migrate.
MIGRATION_LOCK = 0x7A5C_100D


@functools.cache
def head_revisions() -> frozenset[str]:
    """What a database at head records: the revisions no other one revises,
    read from the scripts' `revision` and `down_revision` (a test holds
    this to Alembic's own answer); once per process."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for script in (MIGRATIONS / "versions").glob("*.py"):
        names = _assignments(script.read_text())
        if "revision" in names:
            revisions.add(names["revision"])
            down = names.get("down_revision") or ()
            revised.update(down if isinstance(down, tuple) else (down,))
    return frozenset(revisions - revised)


def _assignments(source: str) -> dict[str, Any]:
    """The script's top-level `name = literal` assignments."""
    return {
        target.id: ast.literal_eval(node.value)
        for node in ast.parse(source).body
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None
        for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
        if isinstance(target, ast.Name) and target.id in ("revision", "down_revision")
    }


def at_head(conn: Connection) -> bool:
    if not inspect(conn).has_table("alembic_version"):
        return False
    recorded = conn.execute(text("SELECT version_num FROM alembic_version")).scalars()
    return frozenset(recorded) == head_revisions()


async def migrate(database: Database) -> None:
    """Runs through the (started) database's writer, so several processes
    starting together migrate one after the other: on SQLite the writer's
    `BEGIN IMMEDIATE` (retried while locked) serialises them, on PostgreSQL
    an advisory lock held until commit; the later ones find the head. A
    database already at head is only read (Alembic's upgrade would change
    nothing there, in about ten times the time: most of a start)."""
    if await database.read(at_head):
        return

    def upgrade(conn: Connection) -> None:
        from alembic import command

        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        command.upgrade(alembic_config(conn), "heads")

    await database.write_fn(upgrade)
