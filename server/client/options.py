"""The Typer app of the operator commands, the options they share, and
how they join the `taskloom` app."""

from __future__ import annotations

from typing import Annotated

import typer

from taskloom.server.cli_help import CommandApp

app = CommandApp()


Url = Annotated[
    str | None,
    typer.Option(
        "--url",
        envvar="TASKLOOM_URL",
        metavar="URL",
        help="The server, e.g. http://127.0.0.1:8000; without it, the database of --database-url.",
    ),
]
Token = Annotated[
    str | None,
    typer.Option("--token", envvar="TASKLOOM_TOKEN", help="The server's API token."),
]
DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        metavar="URL",
        help="Work on this database directly; without it and --url, TASKLOOM_DATABASE_URL.",
    ),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON, for scripts.")]
RunId = Annotated[str, typer.Argument(help="The run's id.")]
Input = Annotated[
    str | None,
    typer.Option(
        "--input", "-i", metavar="JSON", help="The input as JSON, or @FILE to read it from FILE."
    ),
]
Message = Annotated[
    str | None, typer.Option("--message", "-m", metavar="REASON", help="Why; kept on the run.")
]


def register(target: typer.Typer) -> None:
    """Adds these commands to the `taskloom` app, replacing same-named ones."""
    names = {c.name for c in app.registered_commands}
    target.registered_commands[:] = [
        c
        for c in target.registered_commands
        if (c.name or getattr(c.callback, "__name__", "")) not in names
    ]
    target.registered_commands.extend(app.registered_commands)
