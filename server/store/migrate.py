"""Applies the Alembic migrations up to every head, on SQLite or PostgreSQL.

Features add their tables in migrations that may branch from the same
parent; upgrading to "heads" applies all branches."""

from __future__ import annotations

import functools
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text

from server.store.database import Database

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


# Any constant: the advisory lock that lets one process at a time migrate.
MIGRATION_LOCK = 0x7A5C_100D


@functools.cache
def head_revisions() -> frozenset[str]:
    """What a database at head records; reading the scripts takes
    milliseconds, so once per process."""
    return frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


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
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        command.upgrade(alembic_config(conn), "heads")

    await database.write_fn(upgrade)
