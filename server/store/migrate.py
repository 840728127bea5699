"""Applies the Alembic migrations up to every head, on SQLite or PostgreSQL.

Features add their tables in migrations that may branch from the same
parent; upgrading to "heads" applies all branches."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection

from server.store.database import Database

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


async def migrate(database: Database) -> None:
    def upgrade(conn: Connection) -> None:
        command.upgrade(alembic_config(conn), "heads")

    async with database.engine.begin() as conn:
        await conn.run_sync(upgrade)
