"""LISTEN/NOTIFY on PostgreSQL: one event hub across processes.

Every process that shares a PostgreSQL database listens on one channel on a
dedicated asyncpg connection. What the local hub publishes (run and log
events, "runs are due", abort and pause requests) is queued here and sent
with `pg_notify` through the process's writer, so it rides in the next group
commit, after the writes the events describe have committed. Notifications
from the other processes are handed to the local hub's `receive*` methods:
subscribers see them, workers wake on them, and nothing is sent back or
delivered twice (each process drops what carries its own origin).

A notification is lost if a process dies between its commit and its notify,
or while a listener reconnects: workers also poll slowly, and subscriptions
re-read the database, so a lost notification only delays.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
import os
from collections.abc import Sequence
from typing import Any

import asyncpg
from sqlalchemy import ARRAY, Connection, Text, bindparam, text
from sqlalchemy.ext.asyncio import AsyncEngine

from taskloom.server.events import Event, EventHub
from taskloom.server.store.batch import WriteOp
from taskloom.server.store.database import Database

log = logging.getLogger("taskloom.notify")

CHANNEL = "taskloom_events"
# PostgreSQL refuses payloads of 8000 bytes or more.
MAX_PAYLOAD = 7_800
# A single event larger than this is sent without its data (subscribers
# re-read the database; the event is a wake-up, its data a convenience).
MAX_EVENT = 2_000
RECONNECT_SECONDS = 1.0

_NOTIFY = text("SELECT pg_notify(:channel, p) FROM unnest(:payloads) AS p").bindparams(
    bindparam("payloads", type_=ARRAY(Text))
)


class NotifyOp(WriteOp[None]):
    """Payloads to send on the channel when the writer's transaction commits."""

    def __init__(self, payloads: list[str]) -> None:
        self.payloads = payloads

    @classmethod
    def apply_many(cls, conn: Connection, ops: Sequence[Any]) -> list[Any]:
        payloads = [p for op in ops for p in op.payloads]
        if payloads:
            conn.execute(_NOTIFY, {"channel": CHANNEL, "payloads": payloads})
        return [None] * len(ops)


def asyncpg_dsn(url: str) -> str:
    """The SQLAlchemy URL as a plain libpq URL for asyncpg."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def connect_kwargs(engine: AsyncEngine) -> dict[str, Any]:
    """asyncpg.connect() arguments for the engine's URL, as SQLAlchemy reads
    it (password escapes, host=/socket/dir, ssl=...), without the options
    only SQLAlchemy's adapter understands."""
    _args, params = engine.dialect.create_connect_args(engine.url)
    accepted = inspect.signature(asyncpg.connect).parameters
    return {key: value for key, value in params.items() if key in accepted}


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=str)


def encode_event(event: Event) -> str:
    encoded = _json([event.kind, event.run_id, event.status, event.data])
    if len(encoded.encode()) > MAX_EVENT:
        encoded = _json([event.kind, event.run_id, event.status, {"truncated": True}])
    return encoded


def encode(origin: str, seq: int, due: bool, items: list[str]) -> list[str]:
    """Payloads under MAX_PAYLOAD bytes: {"o": origin, "n": seq, "d": due,
    "e": [[kind, run_id, status, data] | ["request", run_id, request], ...]},
    from items already encoded as JSON."""
    payloads: list[str] = []
    head = {"o": origin, "n": seq, "d": int(due)}
    batch: list[str] = []
    size = 0

    def flush() -> None:
        nonlocal batch, size
        body = json.dumps({**head, "n": seq + len(payloads)}, separators=(",", ":"))
        payloads.append(body[:-1] + ',"e":[' + ",".join(batch) + "]}")
        head["d"] = 0  # the wake-up travels once
        batch, size = [], 0

    for encoded in items:
        length = len(encoded.encode()) + 1
        if size + length > MAX_PAYLOAD - 100 and batch:
            flush()
        batch.append(encoded)
        size += length
    if batch or due:
        flush()
    return payloads


class PgEventBridge:
    """The relay of one process's hub over LISTEN/NOTIFY."""

    def __init__(self, database: Database, hub: EventHub) -> None:
        self.connect_kwargs = connect_kwargs(database.engine)
        self.hub = hub
        self.database = database
        self.origin = f"{os.getpid()}-{os.urandom(4).hex()}"
        self.received = 0
        self._seq = 0
        self._items: list[str] = []
        self._due = False
        self._conn: asyncpg.Connection | None = None
        self._flusher: asyncio.Task[None] | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._lost = asyncio.Event()
        self._closing = False

    async def start(self) -> None:
        await self._connect()
        self._watcher = asyncio.create_task(self._keep_listening(), name="taskloom-listen")
        self.hub.relay = self

    async def close(self) -> None:
        """Sends what is queued, then stops listening."""
        self._closing = True
        if self.hub.relay is self:
            self.hub.relay = None
        if self._flusher is not None:
            with contextlib.suppress(Exception):
                await self._flusher
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
        if self._conn is not None:
            conn, self._conn = self._conn, None
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 5)

    # --- listening ----------------------------------------------------------

    async def _connect(self) -> None:
        conn = await asyncpg.connect(**self.connect_kwargs)
        conn.add_termination_listener(lambda _conn: self._lost.set())
        await conn.add_listener(CHANNEL, self._on_notify)
        self._conn = conn
        self._lost.clear()

    async def _keep_listening(self) -> None:
        """Reconnects when the listening connection drops, and wakes the
        local workers then, since notifications may have been missed."""
        while not self._closing:
            await self._lost.wait()
            if self._closing:
                return
            log.warning("lost the LISTEN connection; reconnecting")
            old, self._conn = self._conn, None
            if old is not None:
                old.terminate()
            while not self._closing:
                try:
                    await self._connect()
                    break
                except (OSError, asyncpg.PostgresError) as exc:
                    log.warning("LISTEN reconnect failed (%s); retrying", exc)
                    await asyncio.sleep(RECONNECT_SECONDS)
            self.hub.receive_due()

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            message = json.loads(payload)
            if message.get("o") == self.origin:
                return
            self.received += 1
            for item in message.get("e", ()):
                if item[0] == "request":
                    self.hub.receive_request(item[1], item[2])
                else:
                    self.hub.receive(Event(item[0], item[1], item[2], item[3] or {}))
            if message.get("d"):
                self.hub.receive_due()
        except Exception:
            log.exception("could not handle a notification: %.200s", payload)

    # --- sending (the hub's Relay) -------------------------------------------

    def event(self, event: Event) -> None:
        self._items.append(encode_event(event))
        self._schedule()

    def due(self) -> None:
        self._due = True
        self._schedule()

    def request(self, run_id: str, request: str) -> None:
        self._items.append(_json(["request", run_id, request]))
        self._schedule()

    def _schedule(self) -> None:
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(
                self._flush(), name="taskloom-notify"
            )

    async def _flush(self) -> None:
        """Sends everything queued; what arrives meanwhile goes next, so
        events published together share a notification and a commit."""
        while self._items or self._due:
            items, due = self._items, self._due
            self._items, self._due = [], False
            payloads = encode(self.origin, self._seq, due, items)
            self._seq += len(payloads)
            try:
                await self.database.run_write(NotifyOp(payloads))
            except Exception:
                log.exception("could not send %d notifications", len(payloads))
