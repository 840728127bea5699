"""The database for a URL: the SQLite or the PostgreSQL adapter."""

from __future__ import annotations

from taskloom.server.store.database import Database


def open_database(url: str, *, sqlite_synchronous: str = "NORMAL", pool_size: int = 10) -> Database:
    """SQLite (aiosqlite) or PostgreSQL (asyncpg), by the URL's scheme."""
    if url.startswith("sqlite+aiosqlite:"):
        from taskloom.server.store.sqlite.database import SQLiteDatabase

        return SQLiteDatabase(url, synchronous=sqlite_synchronous)
    if url.startswith("postgresql+asyncpg:"):
        from taskloom.server.store.postgres.database import PostgresDatabase

        return PostgresDatabase(url, pool_size=pool_size)
    raise ValueError(
        "TASKLOOM_DATABASE_URL must start with sqlite+aiosqlite:// or postgresql+asyncpg://"
    )
