"""Authentication at the edge: bearer tokens over HTTP, `connection_init`
over WebSocket, the loopback rule for `TASKLOOM_AUTH=disabled`, and the cap
on request bodies.

Secrets are only ever hashed and compared here; nothing in this module logs
a header, a payload or a token.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from taskloom.server.auth.identity import Actor, Role
from taskloom.server.auth.tokens import ApiTokens

LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


class AuthDisabledOffLoopback(RuntimeError):
    """TASKLOOM_AUTH=disabled was asked for on an address others can reach."""


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    name = host.strip().strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_bind(auth: str, host: str) -> None:
    """Refuses to serve without authentication on a non-loopback address."""
    if auth == "disabled" and not is_loopback(host):
        raise AuthDisabledOffLoopback(
            f"TASKLOOM_AUTH=disabled is only allowed on a loopback address, not {host!r}; "
            "create a token with `taskloom token create` instead"
        )


def bearer(value: str | None) -> str | None:
    """The token of an `Authorization: Bearer TOKEN` value (or a bare token)."""
    if not value:
        return None
    scheme, _, rest = value.strip().partition(" ")
    if rest and scheme.lower() == "bearer":
        return rest.strip() or None
    return None if rest else scheme or None


def token_from_params(params: Any) -> str | None:
    """The token in a graphql-transport-ws `connection_init` payload:
    `{"Authorization": "Bearer TOKEN"}` (any case), `{"headers":
    {"Authorization": ...}}` or `{"token": TOKEN}`."""
    if not isinstance(params, Mapping):
        return None
    lowered = {str(k).lower(): v for k, v in params.items()}
    for key in ("authorization", "token", "authtoken"):
        value = lowered.get(key)
        if isinstance(value, str):
            return bearer(value)
    headers = lowered.get("headers")
    if isinstance(headers, Mapping):
        return token_from_params({k: v for k, v in headers.items() if str(k).lower() != "headers"})
    return None


class Authenticator:
    """Turns credentials into an `Actor`. With auth disabled every caller is
    the local `admin`."""

    def __init__(self, tokens: ApiTokens, *, enabled: bool) -> None:
        self.tokens = tokens
        self.enabled = enabled

    async def actor(self, token: str | None) -> Actor | None:
        found = await self.tokens.authenticate(token) if token else None
        if found is None and not self.enabled:
            return LOCAL_ADMIN
        return found

    async def from_headers(self, headers: Mapping[str, str]) -> Actor | None:
        return await self.actor(bearer(headers.get("authorization")))

    async def from_params(self, params: Any) -> Actor | None:
        return await self.actor(token_from_params(params))


LOCAL_ADMIN = Actor(owner="local", role=Role.ADMIN)


def _error_body(message: str, code: str) -> bytes:
    return json.dumps(
        {"data": None, "errors": [{"message": message, "extensions": {"code": code}}]}
    ).encode()


async def _send_json(send: Send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """Answers 413 to a request whose body is larger than `max_bytes`, before
    the app reads any of it (by Content-Length) or as soon as the streamed
    body passes the limit."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self.app(scope, self._capped_messages(receive, send), send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        message = f"request body larger than {self.max_bytes} bytes"
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    too_big = int(value) > self.max_bytes
                except ValueError:
                    too_big = True
                if too_big:
                    await _send_json(send, 413, _error_body(message, "BAD_USER_INPUT"))
                    return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            incoming = await receive()
            if incoming["type"] == "http.disconnect":
                return
            body = incoming.get("body", b"")
            size += len(body)
            if size > self.max_bytes:
                await _send_json(send, 413, _error_body(message, "BAD_USER_INPUT"))
                return
            chunks.append(body)
            more = incoming.get("more_body", False)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _capped_messages(self, receive: Receive, send: Send) -> Receive:
        """WebSocket messages larger than `max_bytes` close the connection
        with 1009 (message too big) instead of reaching the app."""

        async def capped() -> Message:
            message = await receive()
            if message["type"] == "websocket.receive":
                size = len(message.get("bytes") or b"") + len(
                    (message.get("text") or "").encode("utf-8", "replace")
                )
                if size > self.max_bytes:
                    await send({"type": "websocket.close", "code": 1009, "reason": "too big"})
                    return {"type": "websocket.disconnect", "code": 1009}
            return message

        return capped


def host_name(header: str) -> str:
    """The name in a Host header, without its port: `[::1]:8000` -> `::1`."""
    value = header.strip()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def loopback_host(scope: Scope) -> bool:
    """Whether the request names exactly one Host, and that a loopback one."""
    hosts = [value for name, value in scope.get("headers", ()) if name == b"host"]
    return len(hosts) == 1 and is_loopback(host_name(hosts[0].decode("latin-1")))


class LoopbackOnly:
    """With auth disabled, refuses (403; a WebSocket: close 4403) any client
    that is not on loopback, whatever address the server was bound to, and
    any request whose Host header is not a loopback name or address. The
    Host check stops DNS rebinding: a page of `attacker.example`, its name
    re-pointed to 127.0.0.1, reaches the port from the victim's browser, but
    its requests still say `Host: attacker.example`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            client = scope.get("client")
            address = client[0] if client else None
            if not is_loopback(address):
                await _forbid(scope, send, "only loopback clients")
                return
            if not loopback_host(scope):
                await _forbid(scope, send, "only a loopback Host header (127.0.0.1, localhost)")
                return
        await self.app(scope, receive, send)


async def _forbid(scope: Scope, send: Send, why: str) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 4403, "reason": "Forbidden"})
        return
    body = _error_body(f"authentication is disabled: {why}", "FORBIDDEN")
    await _send_json(send, 403, body)
