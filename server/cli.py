"""The `taskloom` command line."""

from __future__ import annotations

import asyncio
import signal
from typing import Annotated, Any

import typer

from taskloom.server.auth.cli import prepare_serve, token_app
from taskloom.server.client import register as register_client_commands
from taskloom.server.command_runner import (
    exit_now_if_threads_linger,
    migrate_database,
    new_taskloom,
    run_command,
)
from taskloom.server.settings import Settings
from taskloom.server.webhooks.cli import webhook_app

app = typer.Typer(help="Taskloom: background tasks you can see.", no_args_is_help=True)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    worker: Annotated[bool, typer.Option(help="Run a worker in this process")] = True,
) -> None:
    """Serve the API (and, by default, a worker) with uvicorn."""
    import uvicorn

    from taskloom.server.app import create_app
    from taskloom.server.logformat import configure_logging

    configure_logging(Settings().log_format)
    # The database opened and migrated first: one line and exit status 2 if
    # it cannot be (not uvicorn's traceback of a failed startup).
    run_command(migrate_database)
    prepare_serve(host, port)  # loopback rule for TASKLOOM_AUTH=disabled; first admin token
    taskloom = new_taskloom(worker=worker)
    application = create_app(taskloom)
    typer.echo(f"Taskloom on http://{host}:{port}/  (GraphQL: http://{host}:{port}/graphql)")
    # uvicorn stops cleanly on SIGTERM or SIGINT, then raises the signal
    # again with the handlers it found: these, so a clean stop exits 0.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _already_handled)
    uvicorn.run(application, host=host, port=port, log_level="info", log_config=None, lifespan="on")
    exit_now_if_threads_linger(taskloom)


def _already_handled(_sig: int, _frame: Any) -> None:
    """The signal uvicorn raises again after its clean shutdown."""


@app.command("worker")
def worker_command(
    concurrency: Annotated[int | None, typer.Option(help="Runs at once")] = None,
) -> None:
    """Run a worker without HTTP until SIGTERM or SIGINT."""

    from taskloom.server.logformat import configure_logging

    configure_logging(Settings().log_format)

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

    run_command(work)
    exit_now_if_threads_linger(taskloom)


@app.command()
def migrate() -> None:
    """Apply database migrations up to the latest (no task definitions are
    imported)."""
    typer.echo(f"migrated {run_command(migrate_database)}")


@app.command("schema")
def schema_command() -> None:
    """Print the GraphQL schema (SDL), as committed in schema.graphql."""
    from taskloom.schema import sdl

    typer.echo(sdl(), nl=False)


register_client_commands(app)
app.add_typer(token_app, name="token")
app.add_typer(webhook_app, name="webhook")


def main() -> None:
    app(prog_name="taskloom")


if __name__ == "__main__":
    main()
