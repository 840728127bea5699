"""Alembic environment: migrations run on a connection Taskloom hands in."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from taskloom.server.store.models import metadata

config = context.config
connection = config.attributes.get("connection")


def run(conn: object) -> None:
    context.configure(
        connection=conn,  # type: ignore[arg-type]
        target_metadata=metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if connection is not None:
    run(connection)
else:  # plain `alembic` command line, e.g. to autogenerate a revision
    url = config.get_main_option("sqlalchemy.url") or "sqlite:///./taskloom.db"
    with create_engine(
        url.replace("+aiosqlite", "").replace("+asyncpg", "+psycopg")
    ).connect() as c:
        run(c)
