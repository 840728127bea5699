"""Applies the Alembic migrations up to every head, on SQLite or PostgreSQL.

Features add their tables in migrations that may branch from the same
parent; upgrading to "heads" applies all branches."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text

from server.store.database import Database

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


# Any constant: the advisory lock that lets one process at a time migrate.
MIGRATION_LOCK = 0x7A5C_100D


async def migrate(database: Database) -> None:
    """Runs through the (started) database's writer, so several processes
    starting together migrate one after the other: on SQLite the writer's
    `BEGIN IMMEDIATE` (retried while locked) serialises them, on PostgreSQL
    an advisory lock held until commit; the later ones find the head."""

    def upgrade(conn: Connection) -> None:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        command.upgrade(alembic_config(conn), "heads")

    await database.write_fn(upgrade)
