"""Hardening headers for browsers, on every HTTP answer of the app (the
dashboard at `/`, GraphiQL and the API at `/graphql`, `/healthz`,
`/metrics`).

* `Content-Security-Policy`: scripts, styles, fonts and images only from the
  server itself (the dashboard and GraphiQL run no inline script; their
  files are served by Taskloom), connections only back to it (HTTP and
  WebSocket), no plugins, no `<base>` rewriting, and no framing.
* `X-Frame-Options: DENY` (older browsers' `frame-ancestors 'none'`),
  against clickjacking of the dashboard's buttons.
* `Referrer-Policy: no-referrer`: a run id in the URL does not leak to links.
* `X-Content-Type-Options: nosniff`.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


class BrowserHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, with_headers)
