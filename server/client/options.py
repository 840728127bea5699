"""The Typer app of the operator commands, the options they share, and
how they join the `taskloom` app."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer()


Url = Annotated[
    str | None,
    typer.Option("--url", envvar="TASKLOOM_URL", help="Server URL, e.g. http://127.0.0.1:8000"),
]
Token = Annotated[
    str | None, typer.Option("--token", envvar="TASKLOOM_TOKEN", help="API token (bearer)")
]
DatabaseUrl = Annotated[
    str | None,
    typer.Option("--database-url", help="Work on this database directly instead of a server"),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON for scripts")]
RunId = Annotated[str, typer.Argument(help="Run id")]
Message = Annotated[str | None, typer.Option("--message", "-m", help="Why (kept on the run)")]


def register(target: typer.Typer) -> None:
    """Adds these commands to the `taskloom` app, replacing same-named ones."""
    names = {c.name for c in app.registered_commands}
    target.registered_commands[:] = [
        c
        for c in target.registered_commands
        if (c.name or getattr(c.callback, "__name__", "")) not in names
    ]
    target.registered_commands.extend(app.registered_commands)
