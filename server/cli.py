"""The `taskloom` command line."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from typing import Annotated, Any

import typer

from taskloom.server.auth.cli import prepare_serve, token_app
from taskloom.server.cli_help import CommandApp
from taskloom.server.client import register as register_client_commands
from taskloom.server.command_runner import (
    exit_now_if_threads_linger,
    migrate_database,
    new_taskloom,
    run_command,
)
from taskloom.server.settings import load_settings
from taskloom.server.store.connect import shown_url
from taskloom.server.webhooks.cli import webhook_app

app = CommandApp(help="Taskloom: background tasks you can see.", no_args_is_help=True)


@app.callback()
def options(
    debug: Annotated[
        bool,
        typer.Option(
            "--debug",
            envvar="TASKLOOM_DEBUG",
            help="Show the traceback of a configuration error, not just its one line.",
        ),
    ] = False,
) -> None:
    if debug:  # read by main() once the command has failed
        os.environ["TASKLOOM_DEBUG"] = "1"


@app.command()
def serve(
    host: Annotated[
        str | None,
        typer.Option(
            metavar="ADDRESS",
            help="The address to listen on; without it, TASKLOOM_HOST or 127.0.0.1.",
        ),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(help="The port to listen on; without it, TASKLOOM_PORT or 8000."),
    ] = None,
    worker: Annotated[bool, typer.Option(help="Run a worker in this process too.")] = True,
) -> None:
    """Serve the API (and, by default, a worker) with uvicorn."""
    from taskloom.server.app import create_app
    from taskloom.server.logformat import configure_logging
    from taskloom.server.serving import listening_socket, serve_on

    settings = load_settings()
    host = settings.host if host is None else host
    port = settings.port if port is None else port
    configure_logging(settings.log_format)
    sock = listening_socket(host, port)
    # Opened once first (definitions imported, the database reached and
    # migrated): a mistake is one line and exit status 2, not uvicorn's
    # traceback of a failed startup.
    run_command(_open_once)
    prepare_serve(host, port)  # loopback rule for TASKLOOM_AUTH=disabled; first admin token
    taskloom = new_taskloom(worker=worker)
    application = create_app(taskloom)
    typer.echo(f"Taskloom on http://{host}:{port}/  (GraphQL: http://{host}:{port}/graphql)")
    # uvicorn stops cleanly on SIGTERM or SIGINT, then raises the signal
    # again with the handlers it found: these, so a clean stop exits 0.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _already_handled)
    serve_on(sock, application, then=lambda: exit_now_if_threads_linger(taskloom))


def _already_handled(_sig: int, _frame: Any) -> None:
    """The signal uvicorn raises again after its clean shutdown."""


async def _open_once() -> None:
    async with new_taskloom(worker=False):
        pass


@app.command("worker")
def worker_command(
    concurrency: Annotated[
        int | None,
        typer.Option(
            metavar="N", help="Iterations at once; without it, TASKLOOM_CONCURRENCY or 256."
        ),
    ] = None,
) -> None:
    """Run a worker without HTTP until SIGTERM or SIGINT."""

    from taskloom.server.logformat import configure_logging

    configure_logging(load_settings().log_format)

    overrides: dict[str, Any] = {} if concurrency is None else {"concurrency": concurrency}
    taskloom = new_taskloom(**overrides)

    async def work() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        async with taskloom:
            assert taskloom.worker is not None
            typer.echo(f"worker {taskloom.worker.worker_id} running; Ctrl+C to stop")
            await stop.wait()
            typer.echo("stopping: finishing in-flight iterations")
        # Here, not after asyncio.run: its teardown waits for every task
        # left, an iteration that swallows its cancellation included.
        exit_now_if_threads_linger(taskloom)

    run_command(work)


@app.command()
def migrate() -> None:
    """Apply the database migrations up to the latest (no task definitions
    are imported)."""
    typer.echo(f"migrated {shown_url(run_command(migrate_database))}")


@app.command("schema")
def schema_command() -> None:
    """Print the GraphQL schema (SDL), as committed in schema.graphql."""
    from taskloom.schema import sdl

    typer.echo(sdl(), nl=False)


register_client_commands(app)
app.add_typer(token_app, name="token")
app.add_typer(webhook_app, name="webhook")


def main() -> None:
    """The `taskloom` command: a configuration error is one line on stderr
    and exit status 2 (its traceback with --debug or TASKLOOM_DEBUG=1)."""
    from taskloom.definitions.errors import ConfigurationError

    try:
        app(prog_name="taskloom")
    except ConfigurationError as exc:
        if os.environ.get("TASKLOOM_DEBUG", "").lower() in ("1", "true", "yes"):
            raise
        sys.stderr.write(f"error: {exc}\n")
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
