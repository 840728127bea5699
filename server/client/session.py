"""Opening a backend for a command, reporting its errors, and the input
and JSON output every command shares."""

from __future__ import annotations

import json
from typing import Any

import typer

from taskloom.server.client.base import Backend, CliError, err
from taskloom.server.client.database import DatabaseBackend
from taskloom.server.client.records import json_default
from taskloom.server.client.remote import RemoteBackend


def open_backend(url: str | None, token: str | None, database_url: str | None) -> Backend:
    if database_url is None and url:
        return RemoteBackend(url, token)
    return DatabaseBackend(database_url)


class Session:
    """Opens the backend, and turns errors into a message and an exit code."""

    def __init__(self, url: str | None, token: str | None, database_url: str | None) -> None:
        self.args = (url, token, database_url)
        self.backend: Backend | None = None

    def __enter__(self) -> Backend:
        try:
            backend = open_backend(*self.args)
        except CliError as exc:
            _fail(exc)
            raise
        self.backend = backend
        return backend

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        if self.backend is not None:
            self.backend.close()
        if isinstance(exc, CliError):
            _fail(exc)


def _fail(exc: CliError) -> None:
    err.print(f"[red]error:[/red] {exc.message}", soft_wrap=True)
    for item in exc.errors:
        loc = ".".join(str(part) for part in item.get("loc", []))
        if "line" in item:  # an input of --from-file
            loc = f"line {item['line']}" + (f": {loc}" if loc else "")
        elif "index" in item:  # an input of a batch
            loc = f"input {item['index']}" + (f": {loc}" if loc else "")
        err.print(f"  {loc}: {item.get('message', '')}" if loc else f"  {item.get('message')}")
    raise typer.Exit(exc.code)


def print_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, default=json_default))


def parse_input(raw: str | None) -> Any:
    if raw is None:
        return None
    text = raw
    if raw.startswith("@"):
        try:
            with open(raw[1:], encoding="utf-8") as handle:
                text = handle.read()
        except OSError as exc:
            err.print(f"[red]error:[/red] cannot read {raw[1:]}: {exc.strerror}")
            raise typer.Exit(2) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        err.print(f"[red]error:[/red] --input is not valid JSON: {exc}")
        raise typer.Exit(2) from None
