"""The `taskloom` command line."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Awaitable, Callable
from dataclasses import asdict, is_dataclass
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from server.auth.cli import prepare_serve, token_app
from server.client import register as register_client_commands
from server.settings import Settings

if TYPE_CHECKING:
    from server.taskloom import Taskloom

app = typer.Typer(help="Taskloom: background tasks you can see.", no_args_is_help=True)
T = TypeVar("T")


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    return str(value)


def _print_json(value: Any) -> None:
    data = asdict(value) if is_dataclass(value) and not isinstance(value, type) else value
    typer.echo(json.dumps(data, default=_json_default, indent=2))


def _taskloom(**settings: Any) -> Taskloom:
    """The server is imported only when a command runs it, so that
    `taskloom --help` and the client commands start without loading it."""
    from server.taskloom import Taskloom

    return Taskloom(**settings)


def _run(work: Callable[[], Awaitable[T]]) -> T:
    """Runs `work`, turning Taskloom's errors into a message and exit 1."""
    from definitions.errors import TaskloomError

    try:
        return asyncio.run(work())  # type: ignore[arg-type]
    except TaskloomError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        for error in exc.details.get("errors", []):
            typer.echo(
                f"  {'.'.join(map(str, error.get('loc', [])))}: {error['message']}", err=True
            )
        raise typer.Exit(1) from None


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    worker: Annotated[bool, typer.Option(help="Run a worker in this process")] = True,
) -> None:
    """Serve the API (and, by default, a worker) with uvicorn."""
    import uvicorn

    from server.app import create_app
    from server.logformat import configure_logging

    configure_logging(Settings().log_format)
    prepare_serve(host, port)  # loopback rule for TASKLOOM_AUTH=disabled; first admin token
    application = create_app(_taskloom(worker=worker))
    typer.echo(f"Taskloom on http://{host}:{port}/  (GraphQL: http://{host}:{port}/graphql)")
    uvicorn.run(application, host=host, port=port, log_level="info", log_config=None, lifespan="on")


@app.command("worker")
def worker_command(
    concurrency: Annotated[int | None, typer.Option(help="Runs at once")] = None,
) -> None:
    """Run a worker without HTTP until SIGTERM or SIGINT."""

    from server.logformat import configure_logging

    configure_logging(Settings().log_format)

    async def work() -> None:
        overrides: dict[str, Any] = {} if concurrency is None else {"concurrency": concurrency}
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        async with _taskloom(**overrides) as taskloom:
            assert taskloom.worker is not None
            typer.echo(f"worker {taskloom.worker.worker_id} running; Ctrl+C to stop")
            await stop.wait()
            typer.echo("stopping: finishing in-flight iterations")

    _run(work)


@app.command()
def migrate() -> None:
    """Apply database migrations up to the latest."""

    async def work() -> None:
        async with _taskloom(worker=False):
            pass

    _run(work)
    typer.echo(f"migrated {Settings().database_url}")


@app.command("schema")
def schema_command() -> None:
    """Print the GraphQL schema (SDL), as committed in schema.graphql."""
    from schema import sdl

    typer.echo(sdl(), nl=False)


register_client_commands(app)
app.add_typer(token_app, name="token")


def main() -> None:
    app(prog_name="taskloom")


if __name__ == "__main__":
    main()
