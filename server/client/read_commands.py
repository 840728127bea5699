"""The commands that read: definitions, runs, show, logs."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Annotated, Any

import typer
from rich.table import Table

from taskloom.definitions.records import TERMINAL_STATUSES, LogLevel
from taskloom.server.client.base import POLL_SECONDS, Backend, err, out
from taskloom.server.client.options import AsJson, DatabaseUrl, RunId, Token, Url, app
from taskloom.server.client.records import json_default
from taskloom.server.client.render import log_line, run_details, run_table
from taskloom.server.client.session import Session, print_json


@app.command("definitions")
def definitions_command(
    url: Url = None, token: Token = None, database_url: DatabaseUrl = None, as_json: AsJson = False
) -> None:
    """List the task definitions."""
    with Session(url, token, database_url) as backend:
        found = backend.definitions()
    if as_json:
        print_json(found)
        return
    table = Table(header_style="bold")
    for name in ("ID", "TITLE", "DESCRIPTION", "INPUT", "RETRIES"):
        table.add_column(name)
    for d in found:
        properties = (d.get("input_schema") or {}).get("properties") or {}
        table.add_row(
            d["id"],
            d["title"],
            d["description"],
            ", ".join(properties),
            str(d["retry"]["attempts"]),
        )
    out.print(table)


@app.command("runs")
def runs_command(
    definition: Annotated[
        str | None, typer.Option("--definition", "-d", help="Only runs of this definition.")
    ] = None,
    status: Annotated[
        list[str] | None,
        typer.Option("--status", "-s", help="Only runs in this status; repeat it for several."),
    ] = None,
    search: Annotated[
        str | None,
        typer.Option(
            "--search", "-q", metavar="PART", help="Only runs whose name contains PART (any case)."
        ),
    ] = None,
    parent: Annotated[
        str | None, typer.Option("--parent", metavar="RUN_ID", help="Only children of this run.")
    ] = None,
    errors: Annotated[
        bool | None,
        typer.Option(
            "--errors/--no-errors", help="Only runs with an error, or only those without one."
        ),
    ] = None,
    limit: Annotated[
        int,
        typer.Option("--limit", "-n", metavar="N", min=1, max=500, help="At most this many."),
    ] = 20,
    url: Url = None,
    token: Token = None,
    database_url: DatabaseUrl = None,
    as_json: AsJson = False,
) -> None:
    """List runs, newest first."""
    statuses = [s.upper() for s in status] if status else None
    where = {
        "definition_id": definition,
        "statuses": statuses,
        "name_contains": search,
        "parent_id": parent,
        "has_errors": errors,
    }
    with Session(url, token, database_url) as backend:
        runs, total = backend.runs(where, limit)
    if as_json:
        print_json({"total": total, "runs": runs})
        return
    width = out.width if out.is_terminal else None  # piped: whole, for grep and less
    out.print(run_table(runs, f"{len(runs)} of {total} runs", width))


@app.command("show")
def show_command(
    run_id: RunId,
    url: Url = None,
    token: Token = None,
    database_url: DatabaseUrl = None,
    as_json: AsJson = False,
) -> None:
    """Print one run (JSON unless printing to a terminal), with the runs it
    waits for and how many children it has."""
    with Session(url, token, database_url) as backend:
        run = backend.get(run_id)
        run["dependencies"] = [
            {"id": d["id"], "status": d["status"]} for d in backend.dependencies(run_id)
        ]
        run["children"] = backend.runs({"parent_id": run_id}, 1)[1]
    if as_json or not out.is_terminal:
        print_json(run)
    else:
        out.print(run_details(run))


def _iter_logs(
    backend: Backend, run_id: str, follow: bool, level: str | None
) -> Iterator[dict[str, Any]]:
    order: list[str] = list(LogLevel)  # least severe first
    floor = order.index(level.upper()) if level else 0
    cursor: str | None = None
    while True:
        lines, cursor = backend.logs(run_id, cursor, 500)
        for line in lines:
            if order.index(str(line["level"])) >= floor:
                yield line
        if lines:
            continue
        if not follow:
            return
        if str(backend.get(run_id)["status"]) in TERMINAL_STATUSES:
            lines, cursor = backend.logs(run_id, cursor, 500)
            yield from (x for x in lines if order.index(str(x["level"])) >= floor)
            if not lines:
                return
            continue
        time.sleep(POLL_SECONDS)


@app.command("logs")
def logs_command(
    run_id: RunId,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing lines until the run ends.")
    ] = False,
    level: Annotated[
        str | None,
        typer.Option(
            "--level", "-l", help="Only lines at or above it: DEBUG, INFO, WARNING or ERROR."
        ),
    ] = None,
    url: Url = None,
    token: Token = None,
    database_url: DatabaseUrl = None,
    as_json: AsJson = False,
) -> None:
    """Print a run's log lines (one JSON object per line with --json)."""
    if level is not None and level.upper() not in set(LogLevel):
        err.print("[red]error:[/red] --level must be DEBUG, INFO, WARNING or ERROR")
        raise typer.Exit(2)
    with Session(url, token, database_url) as backend:
        for line in _iter_logs(backend, run_id, follow, level):
            if as_json:
                typer.echo(json.dumps(line, default=json_default))
            else:
                out.print(log_line(line))
