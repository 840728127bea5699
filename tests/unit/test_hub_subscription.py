"""A subscription's `get` (server/events/hub.py) never drops its caller's
cancellation: a `wait` or a GraphQL subscription cancelled as an event
arrives must end, not loop on for good."""

from __future__ import annotations

import asyncio

import pytest

from taskloom.server.events.hub import Event, EventHub


async def test_a_get_cancelled_as_its_event_arrives_is_cancelled() -> None:
    subscription = EventHub().subscribe("run", "r1")
    getting = asyncio.ensure_future(subscription.get(5))
    await asyncio.sleep(0)  # waiting in the queue
    subscription.offer(Event("run", "r1"))
    getting.cancel()  # before it could take the event
    # asyncio.wait_for (Python 3.11) returned the event here.
    with pytest.raises(asyncio.CancelledError):
        await getting


async def test_a_get_returns_the_next_event_or_none_after_its_timeout() -> None:
    subscription = EventHub().subscribe("run", "r1")
    assert await subscription.get(0.01) is None
    subscription.offer(Event("run", "r1", data={"n": 1}))
    event = await subscription.get(5)
    assert event is not None and event.data == {"n": 1}
