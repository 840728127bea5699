"""The in-process event hub: the engine publishes, subscriptions and
`wait()` listen. A slow subscriber loses its oldest events instead of
slowing the publisher."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

QUEUE_SIZE = 1_000


@dataclass(slots=True)
class Event:
    """One change, published to subscribers as is: treat it as read-only.
    (Not frozen: a frozen dataclass sets each field through
    object.__setattr__, and the engine makes two per run.)"""

    kind: str  # "run" (status, progress or iteration changed) or "log"
    run_id: str
    status: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


class Subscription:
    def __init__(self, hub: EventHub, key: tuple[str, str]) -> None:
        self._hub = hub
        self.key = key
        self.queue: asyncio.Queue[Event] = asyncio.Queue(QUEUE_SIZE)
        self.dropped = 0

    def offer(self, event: Event) -> None:
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(event)

    async def get(self, timeout: float | None = None) -> Event | None:
        """The next event, or None after `timeout` seconds. Not with
        `asyncio.wait_for`: on Python 3.11 it returns an event that arrived
        as its caller was cancelled and drops the cancellation, and the
        caller's loop (a `wait`, a subscription) went on for good."""
        try:
            async with asyncio.timeout(timeout):
                return await self.queue.get()
        except TimeoutError:
            return None

    def close(self) -> None:
        self._hub.unsubscribe(self)

    async def __aiter__(self) -> AsyncIterator[Event]:
        while True:
            yield await self.queue.get()


class Relay(Protocol):
    """Carries a hub's events, wake-ups and requests to other processes."""

    def event(self, event: Event) -> None: ...

    def due(self) -> None: ...

    def request(self, run_id: str, request: str) -> None: ...


class EventHub:
    def __init__(self) -> None:
        self._subscribers: dict[tuple[str, str], set[Subscription]] = {}
        self._due_listeners: list[Callable[[], None]] = []
        self._request_listeners: list[Callable[[str, str], None]] = []
        self._publish_listeners: list[Callable[[Event], None]] = []
        # Set by the PostgreSQL bridge (pg_bridge.py) when other processes
        # share the database: what is published here is also sent to them,
        # and what they publish arrives through `receive*`, never sent back.
        self.relay: Relay | None = None

    def subscribe(self, kind: str, run_id: str) -> Subscription:
        """Events of one kind for one run; run_id "*" receives every run."""
        subscription = Subscription(self, (kind, run_id))
        self._subscribers.setdefault(subscription.key, set()).add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        subscribers = self._subscribers.get(subscription.key)
        if subscribers is not None:
            subscribers.discard(subscription)
            if not subscribers:
                del self._subscribers[subscription.key]

    def on_publish(self, listener: Callable[[Event], None]) -> None:
        """Called synchronously with every published event (metrics). Run
        events that metrics count carry in `data`: `definition_id`, and
        `triggered` (a new run), `finished` (a final status) or `seconds`
        (the duration of the iteration that led to this status)."""
        self._publish_listeners.append(listener)

    def publish(self, event: Event) -> None:
        for listener in self._publish_listeners:
            listener(event)
        if self.relay is not None:
            self.relay.event(event)
        self.receive(event)

    def receive(self, event: Event) -> None:
        """Delivers an event to this process's subscribers only: for events
        that another process published (and counted) itself."""
        if not self._subscribers:
            return
        for key in ((event.kind, event.run_id), (event.kind, "*")):
            for subscription in tuple(self._subscribers.get(key, ())):
                subscription.offer(event)

    def on_due(self, listener: Callable[[], None]) -> None:
        """Called whenever runs become due (new, re-queued, resumed)."""
        self._due_listeners.append(listener)

    @property
    def wants_due(self) -> bool:
        """Whether anything here listens for due runs (a worker does)."""
        return bool(self._due_listeners)

    def notify_due(self) -> None:
        if self.relay is not None:
            self.relay.due()
        self.receive_due()

    def receive_due(self) -> None:
        for listener in self._due_listeners:
            listener()

    def on_request(self, listener: Callable[[str, str], None]) -> None:
        """Called when an abort or pause is requested for a running run."""
        self._request_listeners.append(listener)

    def notify_request(self, run_id: str, request: str) -> None:
        if self.relay is not None:
            self.relay.request(run_id, request)
        self.receive_request(run_id, request)

    def receive_request(self, run_id: str, request: str) -> None:
        for listener in self._request_listeners:
            listener(run_id, request)
