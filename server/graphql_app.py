"""Strawberry's ASGI GraphQL app, wired to a running Taskloom.

Builds the per-request context (the service and fresh DataLoaders), serves
the GraphQL playground on GET (server/playground/: GraphiQL served from
the package, with a useful default query), speaks graphql-transport-ws
(and the legacy graphql-ws) on the same path, and answers a malformed body
or a wrong content type with a clean JSON 400."""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextvars import ContextVar
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from cross_web import AsyncHTTPRequestAdapter, HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL
from strawberry.types.unset import UnsetType

from taskloom.schema import Context, build_schema
from taskloom.schema.live_guard import SubscriptionSlots
from taskloom.schema.operation_guard import Limits, security_extensions
from taskloom.server.auth.http import bearer, token_from_params
from taskloom.server.graphql_media import finish, shape_result
from taskloom.server.playground import playground_page
from taskloom.server.socket_watch import SocketWatch

if TYPE_CHECKING:
    from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
    from strawberry.types.execution import ExecutionResult

    from taskloom.server.taskloom import Taskloom

_CODES = {400: "BAD_REQUEST", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}


# The watch of the WebSocket being served (set around strawberry's handler,
# which calls `on_ws_connect` in the same task).
SOCKET_WATCH: ContextVar[SocketWatch | None] = ContextVar("taskloom_socket_watch", default=None)


class NestedTooDeeply(json.JSONDecodeError):
    """JSON deeper than the decoder's recursion allows (about 1,000 levels)."""


class TaskloomGraphQL(GraphQL[Context, None]):
    def __init__(self, taskloom: Taskloom, allowed_origins: Sequence[str] = ()) -> None:
        s = taskloom.settings
        limits = Limits(
            max_depth=s.max_query_depth,
            max_aliases=s.max_aliases,
            max_tokens=s.max_tokens,
            max_document_bytes=s.max_document_bytes,
            introspection=s.introspection,
            memo_bytes=s.document_memo_bytes,
        )
        super().__init__(
            build_schema(
                extensions=security_extensions(limits),
                hide_suggestions=not s.introspection,
                max_cost=s.max_query_cost,
            ),
            graphql_ide="graphiql",
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL),
            connection_init_wait_timeout=timedelta(seconds=s.ws_init_timeout),
            allowed_origins=allowed_origins,
        )
        self.taskloom = taskloom
        self.subscription_slots = SubscriptionSlots(s.max_subscriptions_per_token)
        self._ide_html = playground_page()

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        authenticator = self.taskloom.authenticator
        token = bearer(request.headers.get("authorization"))
        actor = await authenticator.actor(token)
        return Context(
            service=self.taskloom.service.acting_as(actor),
            request=request,
            response=response,
            cache=not isinstance(request, WebSocket),
            actor=actor,
            auth_required=authenticator.enabled,
            token_rejected=token is not None and actor is None,
            tokens=self.taskloom.tokens,
        )

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """A token in the connection_init payload (e.g. GraphiQL's headers)
        authenticates every operation of the connection."""
        if token_from_params(context.connection_params) is not None:
            actor = await self.taskloom.authenticator.from_params(context.connection_params)
            context.actor = actor
            context.token_rejected = actor is None
            context.act_through(self.taskloom.service.acting_as(actor))
        if context.actor is not None:
            context.live.slots = self.subscription_slots
            context.live.key = getattr(context.actor, "token_id", None) or context.actor.owner
        watch = SOCKET_WATCH.get()
        if watch is not None and isinstance(context.request, WebSocket):
            watch.start(context, context.request)
        return UnsetType()

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        """As strawberry processes it; shaped for the GraphQL response media
        type when the client accepts it (server/graphql_media.py)."""
        return shape_result(request, result, await super().process_result(request, result))

    async def render_graphql_ide(self, request: Request) -> Response:
        return HTMLResponse(self._ide_html)

    def decode_json(self, data: str | bytes) -> object:
        try:
            return json.loads(data)
        except UnicodeDecodeError:
            raise HTTPException(400, "The request body is not UTF-8 JSON") from None
        except RecursionError:
            # A WebSocket message: strawberry closes the socket (4400).
            raise NestedTooDeeply("JSON nested too deeply", "", 0) from None

    def parse_json(self, data: str | bytes) -> Any:
        try:
            return self.decode_json(data)
        except NestedTooDeeply:
            raise HTTPException(400, "The request's JSON is nested too deeply") from None
        except json.JSONDecodeError:
            raise HTTPException(400, "Unable to parse request body as JSON") from None

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        try:
            return await super().parse_http_body(request)
        except (AttributeError, TypeError):  # JSON that is not an object
            raise HTTPException(400, "The request body must be a JSON object") from None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            s = self.taskloom.settings
            watch = SocketWatch(
                self.taskloom.authenticator,
                recheck_seconds=s.ws_token_recheck_seconds,
                auth_timeout=s.ws_init_timeout,
            )
            bound = SOCKET_WATCH.set(watch)
            try:
                await super().__call__(scope, receive, send)
            finally:
                SOCKET_WATCH.reset(bound)
                await watch.stop()
            return
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            response = finish(request, await self.run(request))
        except HTTPException as exc:
            code = _CODES.get(exc.status_code, "BAD_REQUEST")
            body = {"errors": [{"message": exc.reason, "extensions": {"code": code}}]}
            response = JSONResponse(body, status_code=exc.status_code)
        await response(scope, receive, send)
