"""The database for a URL: the SQLite or the PostgreSQL adapter."""

from __future__ import annotations

import re

from taskloom.definitions.errors import ConfigurationError
from taskloom.server.store.database import Database

EXAMPLES = "sqlite+aiosqlite:///./taskloom.db or postgresql+asyncpg://user:password@host:5432/db"


def open_database(url: str, *, sqlite_synchronous: str = "NORMAL", pool_size: int = 10) -> Database:
    """SQLite (aiosqlite) or PostgreSQL (asyncpg), by the URL's scheme."""
    if url.startswith("sqlite+aiosqlite:"):
        from taskloom.server.store.sqlite.database import SQLiteDatabase

        return SQLiteDatabase(url, synchronous=sqlite_synchronous)
    if url.startswith("postgresql+asyncpg:"):
        from taskloom.server.store.postgres.database import PostgresDatabase

        return PostgresDatabase(url, pool_size=pool_size)
    scheme = url.split(":", 1)[0] if ":" in url else url
    raise ConfigurationError(
        f"the database URL {shown_url(url)!r} has a scheme Taskloom cannot use ({scheme!r})",
        f"set TASKLOOM_DATABASE_URL to {EXAMPLES}",
    )


def shown_url(url: str) -> str:
    """`url` with its password hidden, for messages."""
    return re.sub(r"(//[^/:@]*:)[^/@]*@", r"\1***@", url)
