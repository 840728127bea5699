"""`taskloom serve`'s listening socket and server. The socket is bound
before the address is announced, so a port in use is one line saying so
(a ConfigurationError), not an announcement followed by uvicorn's bind
error."""

from __future__ import annotations

import asyncio
import errno
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING

from taskloom.definitions.errors import ConfigurationError

if TYPE_CHECKING:
    from starlette.types import ASGIApp

BACKLOG = 2048  # uvicorn's default
FIX = "choose another with --port or TASKLOOM_PORT (make serve PORT=8010)"


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to host:port, as uvicorn would bind it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ConfigurationError(f"port {port} on {host} is already in use", FIX) from None
        if exc.errno == errno.EACCES:
            raise ConfigurationError(f"not allowed to listen on port {port}", FIX) from None
        raise ConfigurationError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}",
            "set --host or TASKLOOM_HOST to an address of this machine (127.0.0.1, 0.0.0.0)",
        ) from None
    sock.listen(BACKLOG)  # connections wait in the backlog until uvicorn accepts them
    return sock


def serve_on(sock: socket.socket, app: ASGIApp, then: Callable[[], None] | None = None) -> None:
    """Serves `app` with uvicorn on the bound socket until stopped; then
    calls `then()` on the loop, before asyncio's teardown cancels the tasks
    left and waits for each (one that swallows its cancellation would keep
    the process alive)."""
    import uvicorn

    config = uvicorn.Config(app, log_level="info", log_config=None, lifespan="on")
    server = uvicorn.Server(config)

    async def serve() -> None:
        await server.serve(sockets=[sock])
        if then is not None:
            then()

    with asyncio.Runner(loop_factory=config.get_loop_factory()) as runner:
        runner.run(serve())
