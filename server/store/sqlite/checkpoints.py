"""The WAL of the SQLite adapter's file, kept short and bounded.

A checkpointer thread copies the WAL back into the database file on its own
connection, so the writer never stalls on the checkpoint's fsync. It runs
every CHECKPOINT_EVERY commits and at least every CHECKPOINT_SECONDS, which
keeps what `synchronous=NORMAL` may lose on power loss (the commits since
the last checkpoint) as small as SQLite's own auto-checkpoint.

A PASSIVE checkpoint never catches up with writes that never pause, so
SQLite would never start the WAL over. When it holds more than
WAL_RESTART_BYTES, the writer thread runs a RESTART checkpoint between two
batches (`restart_wal`; other writes wait meanwhile), and
`journal_size_limit` truncates the file back to that size when the WAL
starts over.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import sqlite3
import threading
import time

from sqlalchemy import Connection

from taskloom.server.store.sqlite import connections

CHECKPOINT_EVERY = 200  # commits
CHECKPOINT_SECONDS = 1.0
# How long a restart waits for readers still on the WAL, writes held up
# meanwhile; beyond it the restart gives up and is tried again after a pause
# that doubles up to WAL_RESTART_BACKOFF_MAX (a long reader costs writes little).
WAL_RESTART_WAIT_MS = 200
WAL_RESTART_BACKOFF_MAX = 10.0

log = logging.getLogger("taskloom.store")


class WalKeeper:
    def __init__(self, path: str | None, busy_timeout_ms: int) -> None:
        self.path = path
        self.busy_timeout_ms = busy_timeout_ms
        self._thread: threading.Thread | None = None
        self._commits = itertools.count(1)  # next() is atomic: every path counts
        self._due = threading.Event()
        self._stop = threading.Event()
        # Set by the checkpointer when the WAL outgrew WAL_RESTART_BYTES;
        # cleared by the writer thread, which restarts the WAL.
        self.restart_due = threading.Event()
        self._restart_backoff = 0.0  # written by the writer thread only
        self._restart_not_before = 0.0
        # Held by whoever checkpoints, so a restart never meets a PASSIVE
        # checkpoint of this process (SQLite would answer "busy" at once).
        self._lock = threading.Lock()
        # The -wal file's inode once it exists; `lost` says why writes are
        # refused once it is gone (deleted while the database was open).
        self._wal_inode: int | None = None
        self.lost: str | None = None

    def start(self) -> None:
        if self.path is None:
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._checkpoints, args=(self.path,), name="taskloom-checkpoint", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Ends the checkpointer thread (blocking: call it off the loop)."""
        if self._thread is not None:
            self._stop.set()
            self._due.set()
            self._thread.join()
            self._thread = None

    def count_commit(self) -> None:
        if next(self._commits) % CHECKPOINT_EVERY == 0:
            self._due.set()

    def check_wal(self) -> None:
        """Notices the -wal file deleted (or replaced) under the open
        database. SQLite would go on writing to the deleted file, every
        commit acknowledged and then lost, and the next process to open the
        database would find it damaged: writes are refused instead."""
        if self.path is None or self.lost is not None:
            return
        wal = f"{self.path}-wal"
        try:
            inode = os.stat(wal).st_ino
        except FileNotFoundError:
            inode = None
        if self._wal_inode is None:
            self._wal_inode = inode  # None until the first write makes the file
        elif inode != self._wal_inode:
            self.lost = (
                f"cannot write {self.path}: its write-ahead log {wal} was deleted or replaced "
                "while the database was open; writes are refused so that no more are lost. "
                "Stop every Taskloom process on this file, then see the README, "
                "'When the database file fails'"
            )
            log.error("%s", self.lost)

    def restart_wal(self, conn: Connection) -> None:
        """Checkpoints the whole WAL and waits for the readers still on it, so
        the next commit writes the WAL from its start (and cuts the file to
        `journal_size_limit`). The writer thread runs it between two
        batches, holding SQLite's write lock: writes of this and other
        processes wait for it. If the checkpointer is busy, the next batch
        tries again; if readers stay beyond WAL_RESTART_WAIT_MS, the
        checkpointer asks again after a pause."""
        if not self._lock.acquire(blocking=False):
            return
        try:
            self.restart_due.clear()
            driver = conn.connection.driver_connection
            assert driver is not None
            busy = 1
            with contextlib.suppress(sqlite3.Error):
                driver.execute(f"PRAGMA busy_timeout={int(WAL_RESTART_WAIT_MS)}")
                try:
                    busy = driver.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()[0]
                finally:
                    driver.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_ms)}")
            if busy:  # a reader (or another process's writer) stayed
                self._restart_backoff = min(
                    max(2 * self._restart_backoff, CHECKPOINT_SECONDS), WAL_RESTART_BACKOFF_MAX
                )
                self._restart_not_before = time.monotonic() + self._restart_backoff
            else:
                self._restart_backoff = 0.0
        finally:
            self._lock.release()

    def _checkpoints(self, path: str) -> None:
        try:
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            # The file cannot be opened: the first read or write says why,
            # naming it (faults.py); no checkpoints without it.
            log.debug("no checkpoints of %s: %s", path, exc)
            return
        try:
            conn.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_ms)}")
            frame_bytes = 0
            while not self._stop.is_set():
                self._due.wait(CHECKPOINT_SECONDS)
                self._due.clear()
                self.check_wal()
                # Busy or locked: the next round catches up.
                with contextlib.suppress(sqlite3.Error), self._lock:
                    if not frame_bytes:
                        frame_bytes = conn.execute("PRAGMA page_size").fetchone()[0] + 24
                    # (busy, frames in the WAL, frames checkpointed)
                    _busy, frames, _done = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                    if (
                        frames * frame_bytes > connections.WAL_RESTART_BYTES
                        and time.monotonic() >= self._restart_not_before
                    ):
                        self.restart_due.set()
        finally:
            conn.close()
