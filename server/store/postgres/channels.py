"""PostgreSQL's LISTEN/NOTIFY, as the adapter offers it to the event bridge
(server/events/pg_bridge.py): a listener on a dedicated asyncpg connection
that reconnects when it drops, and `Notify`, payloads sent through the
writer, so they ride in its next group commit after the writes queued
before them.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Callable, Sequence
from typing import Any

import asyncpg
from sqlalchemy import ARRAY, Connection, Text, bindparam, text
from sqlalchemy.ext.asyncio import AsyncEngine

from taskloom.server.store.group_commit import WriteOp

log = logging.getLogger("taskloom.notify")

RECONNECT_SECONDS = 1.0

_NOTIFY = text("SELECT pg_notify(:channel, p) FROM unnest(:payloads) AS p").bindparams(
    bindparam("payloads", type_=ARRAY(Text))
)


class Notify(WriteOp[None]):
    """Payloads to send on a channel when the writer's transaction commits."""

    def __init__(self, channel: str, payloads: Sequence[str]) -> None:
        self.channel = channel
        self.payloads = list(payloads)

    @classmethod
    def apply_many(cls, conn: Connection, ops: Sequence[Any]) -> list[Any]:
        by_channel: dict[str, list[str]] = {}
        for op in ops:
            by_channel.setdefault(op.channel, []).extend(op.payloads)
        for channel, payloads in by_channel.items():
            if payloads:
                conn.execute(_NOTIFY, {"channel": channel, "payloads": payloads})
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


class ChannelListener:
    """LISTEN on one channel, kept up until closed."""

    def __init__(
        self,
        engine: AsyncEngine,
        channel: str,
        on_message: Callable[[str], None],
        on_reconnect: Callable[[], None],
    ) -> None:
        self.connect_kwargs = connect_kwargs(engine)
        self.channel = channel
        self.on_message = on_message
        self.on_reconnect = on_reconnect
        self._conn: asyncpg.Connection | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._lost = asyncio.Event()
        self._closing = False

    async def start(self) -> None:
        await self._connect()
        self._watcher = asyncio.create_task(self._keep_listening(), name="taskloom-listen")

    async def close(self) -> None:
        self._closing = True
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
        if self._conn is not None:
            conn, self._conn = self._conn, None
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 5)

    async def _connect(self) -> None:
        conn = await asyncpg.connect(**self.connect_kwargs)
        conn.add_termination_listener(lambda _conn: self._lost.set())
        await conn.add_listener(self.channel, self._on_notify)
        self._conn = conn
        self._lost.clear()

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        self.on_message(payload)

    async def _keep_listening(self) -> None:
        """Reconnects when the listening connection drops, then calls
        `on_reconnect`, since notifications may have been missed."""
        while not self._closing:
            await self._lost.wait()
            if self._closing:
                return
            log.warning("lost the LISTEN connection; reconnecting")
            old, self._conn = self._conn, None
            if old is not None:
                old.terminate()
            failures = 0
            while not self._closing:
                try:
                    await self._connect()
                    break
                except (OSError, asyncpg.PostgresError) as exc:
                    # Once per outage, not once per attempt.
                    level = logging.WARNING if not failures else logging.DEBUG
                    log.log(level, "LISTEN reconnect failed (%s); retrying", exc)
                    failures += 1
                    await asyncio.sleep(RECONNECT_SECONDS)
            if failures and not self._closing:
                log.warning("LISTEN reconnected after %d failed attempts", failures)
            self.on_reconnect()
