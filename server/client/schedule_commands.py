"""The commands on schedules: list them, make one through the API (admins
and developers), delete one."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer
from rich.table import Table

from taskloom.definitions.views import ScheduleView
from taskloom.server.client.base import out
from taskloom.server.client.options import AsJson, DatabaseUrl, Input, Token, Url, app
from taskloom.server.client.records import plain
from taskloom.server.client.session import Session, parse_input, print_json


def _show(schedules: list[ScheduleView], as_json: bool) -> None:
    if as_json:
        print_json([plain(asdict(s)) for s in schedules])
        return
    table = Table(header_style="bold")
    for name in ("ID", "DEFINITION", "EXPRESSION", "TIME ZONE", "NEXT", "KIND"):
        table.add_column(name)
    for s in schedules:
        nxt = s.next_run_at.isoformat(timespec="seconds") if s.next_run_at else "-"
        kind = "declared" if s.declared else "api"
        table.add_row(s.id, s.definition_id, s.expression, s.timezone, nxt, kind)
    out.print(table)


@app.command("schedules")
def schedules_command(
    url: Url = None, token: Token = None, database_url: DatabaseUrl = None, as_json: AsJson = False
) -> None:
    """List the schedules: the definitions' own and those made through the API."""
    with Session(url, token, database_url) as backend:
        found = backend.schedules()
    _show(found, as_json)


@app.command("create-schedule")
def create_schedule_command(
    definition: Annotated[str, typer.Argument(help="The definition's id.")],
    expression: Annotated[
        str, typer.Argument(metavar="CRON", help='A cron expression, e.g. "*/5 * * * *".')
    ],
    timezone: Annotated[
        str, typer.Option("--timezone", metavar="ZONE", help="The IANA time zone of CRON.")
    ] = "UTC",
    input: Input = None,
    url: Url = None,
    token: Token = None,
    database_url: DatabaseUrl = None,
    as_json: AsJson = False,
) -> None:
    """Make a schedule: one run of DEFINITION per tick, with the input."""
    data = parse_input(input)
    with Session(url, token, database_url) as backend:
        made = backend.create_schedule(definition, expression, timezone, data)
    _show([made], as_json)


@app.command("delete-schedule")
def delete_schedule_command(
    schedule_id: Annotated[str, typer.Argument(help="The schedule's id.")],
    url: Url = None,
    token: Token = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Delete a schedule made through the API."""
    with Session(url, token, database_url) as backend:
        backend.delete_schedule(schedule_id)
    out.print(f"schedule {schedule_id} deleted")
