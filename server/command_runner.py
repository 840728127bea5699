"""What the `taskloom` commands share: the server, imported only when a
command runs it (so that `taskloom --help` and the client commands start
without loading the store, the engine and GraphQL), and Taskloom's errors
turned into a message and an exit status (a configuration error goes up to
`main()`, which makes it one line and exit status 2)."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import typer

if TYPE_CHECKING:
    from taskloom.server.taskloom import Taskloom

T = TypeVar("T")


def new_taskloom(**settings: Any) -> Taskloom:
    from taskloom.server.taskloom import Taskloom

    return Taskloom(**settings)


async def migrate_database() -> str:
    """The database brought to the latest schema (no definitions imported);
    its URL."""
    from taskloom.server.taskloom import migrate_database as migrate

    return await migrate()


def exit_now_if_threads_linger(taskloom: Taskloom) -> None:
    """After a stop: when synchronous run() calls still run past the
    shutdown grace (their runs were handed back), or the stop abandoned a
    phase that did not end in time (server/shutdown.py), the process ends
    now, status 0, instead of waiting for what may never end; their results
    are discarded (README, "Stopping a worker")."""
    lingering = taskloom.lingering_threads
    abandoned = taskloom.abandoned_at_stop
    if not lingering and not abandoned:
        return
    log = logging.getLogger("taskloom.worker")
    if lingering:
        log.warning(
            "exiting without waiting for %d iterations still running (synchronous run() "
            "calls, or code that swallowed its cancellation; results discarded)",
            lingering,
        )
    if abandoned:
        log.warning("exiting without waiting for the %s", ", ".join(abandoned))
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def run_command(work: Callable[[], Awaitable[T]]) -> T:
    """Runs `work`; a TaskloomError becomes its message (and the located
    errors it carries) on stderr and exit status 1, or 2 when the database
    was unavailable (missing, read-only, full, locked, unreachable)."""
    from taskloom.definitions.errors import ConfigurationError, TaskloomError, Unavailable

    try:
        return asyncio.run(work())  # type: ignore[arg-type]
    except ConfigurationError:
        raise  # main() reports it: one line, exit status 2
    except TaskloomError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        for error in exc.details.get("errors", []):
            typer.echo(
                f"  {'.'.join(map(str, error.get('loc', [])))}: {error['message']}", err=True
            )
        raise typer.Exit(2 if isinstance(exc, Unavailable) else 1) from None
