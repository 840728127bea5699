"""A WebSocket's credentials, re-checked while it is open.

graphql-transport-ws authenticates once, at `connection_init`. `SocketWatch`
keeps that answer honest for as long as the socket lives:

* every `recheck_seconds` it looks the token up again; once the token is
  revoked (or has expired) the connection's actor is gone, so every new
  operation on it is `UNAUTHENTICATED` (`schema/operation_guard.py`), and
  its open subscriptions end with `UNAUTHENTICATED` (`schema/live_guard.py`);
* a socket without a valid token (none sent, a wrong one, or revoked since)
  is closed with 4401 once it has been so for `auth_timeout` seconds. It may
  run introspection meanwhile, as over HTTP. (A socket that never sends
  `connection_init` is closed with 4408 by strawberry after the same time.)
"""

from __future__ import annotations

import asyncio
import time
from contextlib import suppress
from typing import TYPE_CHECKING

from starlette.websockets import WebSocket, WebSocketState

from taskloom.server.auth.http import Authenticator, token_from_params

if TYPE_CHECKING:
    from taskloom.schema.context import Context

UNAUTHORIZED = 4401


class SocketWatch:
    def __init__(
        self, authenticator: Authenticator, *, recheck_seconds: float, auth_timeout: float
    ) -> None:
        self.authenticator = authenticator
        self.recheck_seconds = recheck_seconds
        self.auth_timeout = auth_timeout
        self.task: asyncio.Task[None] | None = None

    def start(self, context: Context, websocket: WebSocket) -> None:
        if self.authenticator.enabled and self.task is None:
            self.task = asyncio.create_task(self.watch(context, websocket))

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with suppress(asyncio.CancelledError):
                await self.task

    async def watch(self, context: Context, websocket: WebSocket) -> None:
        token = token_from_params(context.connection_params)
        unauthenticated_since = None if context.actor is not None else time.monotonic()
        while websocket.application_state is WebSocketState.CONNECTED:
            await asyncio.sleep(self.recheck_seconds)
            if context.actor is not None and await self.authenticator.actor(token) is None:
                context.actor = None
                context.live.revoke()
                unauthenticated_since = time.monotonic()
            if (
                unauthenticated_since is not None
                and time.monotonic() - unauthenticated_since >= self.auth_timeout
            ):
                with suppress(RuntimeError):  # closed meanwhile
                    await websocket.close(UNAUTHORIZED, "Unauthorized")
                return
