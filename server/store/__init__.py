"""Persistence: tables, migrations, the writer, and the queries."""

from taskloom.server.store.database import Database, open_database
from taskloom.server.store.migrate import migrate

__all__ = ["Database", "migrate", "open_database"]
