"""LISTEN/NOTIFY on PostgreSQL: one event hub across processes.

Every process that shares a PostgreSQL database listens on one channel
(the database's `listen`, a dedicated connection). What the local hub
publishes (run and log events, "runs are due", abort and pause requests) is
queued here and sent with the database's `notify`, through its writer, so
it rides in the next group commit, after the writes the events describe
have committed. Notifications
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
import json
import logging
import os
from typing import Any

from taskloom.server.events.hub import Event, EventHub
from taskloom.server.store.database import Database, Listening

log = logging.getLogger("taskloom.notify")

CHANNEL = "taskloom_events"
# PostgreSQL refuses payloads of 8000 bytes or more.
MAX_PAYLOAD = 7_800
# A single event larger than this is sent without its data (subscribers
# re-read the database; the event is a wake-up, its data a convenience).
MAX_EVENT = 2_000


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
        self.hub = hub
        self.database = database
        self.origin = f"{os.getpid()}-{os.urandom(4).hex()}"
        self.received = 0
        self._seq = 0
        self._items: list[str] = []
        self._due = False
        self._listening: Listening | None = None
        self._flusher: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._listening = await self.database.listen(
            CHANNEL, self._on_message, self.hub.receive_due
        )
        self.hub.relay = self

    async def close(self) -> None:
        """Sends what is queued, then stops listening."""
        if self.hub.relay is self:
            self.hub.relay = None
        if self._flusher is not None:
            with contextlib.suppress(Exception):
                await self._flusher
        if self._listening is not None:
            listening, self._listening = self._listening, None
            await listening.close()

    # --- listening ----------------------------------------------------------

    def _on_message(self, payload: str) -> None:
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
                await self.database.notify(CHANNEL, payloads)
            except Exception:
                log.exception("could not send %d notifications", len(payloads))
