"""The commands that pause and resume a whole definition (admins and
developers): no worker claims its runs while it is paused."""

from __future__ import annotations

from typing import Annotated

import typer

from taskloom.server.client.base import out
from taskloom.server.client.options import DatabaseUrl, Token, Url, app
from taskloom.server.client.session import Session

DefinitionId = Annotated[str, typer.Argument(help="The definition's id.")]


@app.command("pause-definition")
def pause_definition_command(
    definition_id: DefinitionId,
    url: Url = None,
    token: Token = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Pause a definition: no worker claims its runs until it is resumed;
    running runs finish their iteration, then wait."""
    with Session(url, token, database_url) as backend:
        backend.switch_definition(definition_id, pause=True)
    out.print(f"definition {definition_id} paused")


@app.command("resume-definition")
def resume_definition_command(
    definition_id: DefinitionId,
    url: Url = None,
    token: Token = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Resume a paused definition: its due runs are claimed again."""
    with Session(url, token, database_url) as backend:
        backend.switch_definition(definition_id, pause=False)
    out.print(f"definition {definition_id} resumed")
