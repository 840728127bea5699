"""The loop that sends webhook deliveries.

It runs beside the worker in every process that runs one (`taskloom serve`,
`taskloom worker`, an embedded `Taskloom` with a worker), as a task of its
own: it never holds up a claim. Every `poll` seconds it reads whether a
delivery is due (store/webhooks.py `any_due`, an indexed read: an idle
sender never writes, so it never takes SQLite's write lock) and, when one
is, leases the due deliveries (`take_due`), posts each, signed, with a
timeout, at most `concurrency` at once, and records the attempt:
delivered on a 2xx answer, else queued again after an exponential backoff
with jitter, until `retry_seconds` after the event, then given up. A
sender that dies mid-send leaves its lease to expire and another (or
itself, restarted) sends again: deliveries go out at least once, and a
receiver tells a repeat by its `Taskloom-Delivery` id."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from taskloom.definitions.webhook_signature import HEADER, signature
from taskloom.definitions.webhooks import DeliveryState
from taskloom.server.store import webhooks as store
from taskloom.server.store.database import Database
from taskloom.server.webhooks.payload import body

if TYPE_CHECKING:
    import httpx

    from taskloom.server.webhooks.poster import Poster

log = logging.getLogger("taskloom.webhooks")

BATCH = 100


@dataclass(frozen=True)
class SenderOptions:
    poll: float = 0.5
    timeout: float = 10.0
    concurrency: int = 16
    backoff: float = 5.0  # the first retry's wait; doubled each time
    max_backoff: float = 3600.0
    retry_seconds: float = 86_400.0  # give up this long after the event


def next_wait(attempts: int, options: SenderOptions) -> float:
    """The wait after the `attempts`-th failed attempt: doubling, capped,
    with ±20 % jitter so endpoints that failed together are not retried
    together."""
    wait: float = min(options.backoff * 2.0 ** (attempts - 1), options.max_backoff)
    return wait * random.uniform(0.8, 1.2)


class WebhookSender:
    def __init__(
        self,
        database: Database,
        options: SenderOptions,
        clock: Callable[[], float] = time.time,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.database = database
        self.options = options
        self.clock = clock
        self._transport = transport
        self._poster: Poster | None = None
        self._task: asyncio.Task[None] | None = None
        self._slots = asyncio.Semaphore(options.concurrency)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="taskloom-webhooks")

    async def stop(self) -> None:
        """Stops at once; what was being sent is sent again after its lease."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._poster is not None:
            await self._poster.aclose()
            self._poster = None

    async def _loop(self) -> None:
        while True:
            try:
                sent = await self.send_due()
            except Exception:
                log.exception("could not send webhook deliveries")
                sent = 0
            if sent < BATCH:
                await asyncio.sleep(self.options.poll)

    async def send_due(self) -> int:
        """Sends the deliveries due now; returns how many were taken."""
        now = self.clock()
        if not await self.database.read(lambda c: store.any_due(c, now)):
            return 0
        lease_until = now + self.options.timeout * 2 + 30
        rows = await self.database.write_fn(lambda c: store.take_due(c, now, lease_until, BATCH))
        if rows and self._poster is None:
            # Imported and made at the first delivery, not at start: httpx
            # (webhooks/poster.py), and its CA certificates, which take the
            # event loop for about 30 ms.
            from taskloom.server.webhooks.poster import Poster

            self._poster = Poster(self.options.timeout, self._transport)
        await asyncio.gather(*(self._send(row) for row in rows))
        return len(rows)

    async def _send(self, row: Any) -> None:
        async with self._slots:
            status, error = await self._post(row)
        now = self.clock()
        attempts = row["attempts"] + 1
        next_at = None
        if status is not None and 200 <= status < 300:
            state = DeliveryState.DELIVERED
        else:
            wait_until = now + next_wait(attempts, self.options)
            retrying = wait_until <= row["occurred_at"] + self.options.retry_seconds
            state = DeliveryState.QUEUED if retrying else DeliveryState.GAVE_UP
            next_at = wait_until if retrying else None
            log.warning(
                "webhook delivery %s to %s failed (attempt %d): %s%s",
                row["id"],
                row["url"],
                attempts,
                error or f"HTTP {status}",
                "" if retrying else "; giving up",
            )
        await self.database.write_fn(
            lambda c: store.record_attempt(
                c,
                row["id"],
                now=now,
                state=state,
                response_status=status,
                error=error,
                next_attempt_at=next_at,
            )
        )

    async def _post(self, row: Any) -> tuple[int | None, str | None]:
        """(HTTP status, None) when the endpoint answered, else (None, why)."""
        assert self._poster is not None, "made by send_due"
        content = body(row)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "taskloom-webhooks",
            "Taskloom-Event": f"run.{row['event']}",
            "Taskloom-Delivery": str(row["id"]),
            HEADER: signature(row["secret"], int(self.clock()), content),
        }
        return await self._poster.post(row["url"], content, headers)
