"""The per-request GraphQL context: the service and the request's loaders.

`schema` reaches the running system only through `info.context.service`,
known by the SDK's protocol `TaskServiceAPI`; `server/graphql_app.py` builds
the context with the server's `TaskService`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeAlias

from strawberry.types import Info as StrawberryInfo

from taskloom.definitions.service_api import ApiTokenStore, Caller, TaskServiceAPI
from taskloom.schema.live_guard import LiveGuard
from taskloom.schema.loaders import Loaders


@dataclass
class Context:
    service: TaskServiceAPI
    request: Any = None
    response: Any = None
    cache: bool = True
    # Set by server/auth: who is calling (None: nobody authenticated), whether
    # an operation needs someone, and the WebSocket's connection_init payload.
    actor: Caller | None = None
    auth_required: bool = False
    # A token was sent but is unknown or revoked (not merely missing).
    token_rejected: bool = False
    connection_params: Any = None
    tokens: ApiTokenStore | None = None  # for schema/tokens.py
    # A WebSocket's: its token re-checked, its subscriptions bounded.
    live: LiveGuard = field(default_factory=LiveGuard)
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        # Long-lived contexts (one per WebSocket) must not serve stale rows.
        self.loaders = Loaders(self.service, cache=self.cache)

    def act_through(self, service: TaskServiceAPI) -> None:
        """From now on, reach the system through `service` (a WebSocket whose
        connection_init authenticates binds the service to that caller),
        with loaders of its own."""
        self.service = service
        self.loaders = Loaders(service, cache=self.cache)


Info: TypeAlias = StrawberryInfo[Context, None]
