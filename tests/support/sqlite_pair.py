"""Two in-memory SQLite databases with Taskloom's tables, side by side: the
store's hand-shaped SQL runs on one and the portable SQLAlchemy statement
on the other, and the tests compare what each leaves."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, create_engine

from taskloom.server.store.models import metadata


@contextmanager
def sqlite_pair() -> Iterator[tuple[Connection, Connection]]:
    engines = create_engine("sqlite://"), create_engine("sqlite://")
    try:
        with engines[0].connect() as first, engines[1].connect() as second:
            for conn in (first, second):
                metadata.create_all(conn)
                conn.commit()
            yield first, second
    finally:
        for engine in engines:
            engine.dispose()
