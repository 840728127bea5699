"""SQLite's `PRAGMA data_version`: how the events' commit watch (server/
events/sqlite_watch.py) learns that another connection committed.

It changes whenever a connection other than the one asking has committed,
and reading it costs microseconds: it looks at SQLite's shared-memory WAL
index, with no file read and no lock held.
"""

from __future__ import annotations

import logging
import sqlite3

log = logging.getLogger("taskloom.store")


class DataVersion:
    def __init__(self, path: str) -> None:
        # On the event loop's thread: opening the file and its PRAGMA take
        # microseconds and, with busy_timeout 0, never wait for a lock.
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA busy_timeout=0")

    def read(self) -> int | None:
        """The current version; None when SQLite is busy (a WAL restart)."""
        try:
            version: int = self._conn.execute("PRAGMA data_version").fetchone()[0]
        except sqlite3.Error as exc:
            log.debug("data_version: %s", exc)
            return None
        return version

    def close(self) -> None:
        self._conn.close()
