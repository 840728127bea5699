"""What a subscription's stream is held to while it is open.

* The caller's token must stay valid: the server re-checks a WebSocket's
  token periodically (`server/socket_watch.py`) and calls `revoke()` when it
  was revoked or has expired; every open stream then ends with an
  `UNAUTHENTICATED` error at once, without waiting for its next event.
* One token may hold at most `SubscriptionSlots.limit` open streams across
  all its sockets; one more is `TOO_MANY_SUBSCRIPTIONS`.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncGenerator, Awaitable
from contextlib import aclosing
from typing import TypeVar

from graphql import GraphQLError

from taskloom.schema.operation_guard import unauthenticated

T = TypeVar("T")
TOO_MANY_SUBSCRIPTIONS = "TOO_MANY_SUBSCRIPTIONS"


class SubscriptionSlots:
    """Open subscriptions per token, process-wide."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open: Counter[str] = Counter()

    def take(self, key: str) -> None:
        if self.open[key] >= self.limit:
            raise GraphQLError(
                f"This token already has {self.limit} open subscriptions; "
                "complete one before starting another",
                extensions={"code": TOO_MANY_SUBSCRIPTIONS, "limit": self.limit},
            )
        self.open[key] += 1

    def give_back(self, key: str) -> None:
        self.open[key] -= 1
        if self.open[key] <= 0:
            del self.open[key]


class LiveGuard:
    """One connection's guard: its slot key (the token), the shared slots,
    and whether its token was revoked."""

    def __init__(self, slots: SubscriptionSlots | None = None, key: str | None = None) -> None:
        self.slots = slots
        self.key = key
        self.revoked = asyncio.Event()

    def revoke(self) -> None:
        self.revoked.set()

    async def guard(self, stream: AsyncGenerator[T, None]) -> AsyncGenerator[T, None]:
        """`stream`'s items until it ends or the token is revoked (then
        `UNAUTHENTICATED`), holding one of the token's slots meanwhile."""
        if self.revoked.is_set():
            raise unauthenticated()
        slots, key = self.slots, self.key
        if slots is not None and key is not None:
            slots.take(key)
        try:
            async with aclosing(stream) as items:
                while True:
                    yield await self._unless_revoked(anext(items))
        except StopAsyncIteration:
            return
        finally:
            if slots is not None and key is not None:
                slots.give_back(key)

    async def _unless_revoked(self, step: Awaitable[T]) -> T:
        following = asyncio.ensure_future(step)
        revoked = asyncio.ensure_future(self.revoked.wait())
        try:
            await asyncio.wait({following, revoked}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            revoked.cancel()
            if not following.done():
                following.cancel()
                # Let the stream see its cancellation before it is closed.
                try:
                    await following
                except asyncio.CancelledError:
                    task = asyncio.current_task()
                    if task is not None and task.cancelling():
                        raise  # this subscription itself is being cancelled
        if following.cancelled():
            raise unauthenticated()
        result: T = following.result()
        return result
