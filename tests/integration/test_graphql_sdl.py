"""`schema.graphql` is the committed contract: it must match the code, and
`taskloom schema` prints exactly it. After a deliberate change, refresh it
with `.venv/bin/taskloom schema > schema.graphql`."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from taskloom.schema import sdl
from taskloom.server.cli import app

COMMITTED = Path(__file__).resolve().parents[2] / "schema.graphql"


def test_committed_sdl_matches_the_code() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == sdl(), (
        "schema.graphql drifted from the code: run `taskloom schema > schema.graphql`"
    )


def test_taskloom_schema_prints_the_sdl() -> None:
    result = CliRunner().invoke(app, ["schema"])
    assert result.exit_code == 0, result.output
    assert result.output == sdl()
    for name in ("type TaskRun", "triggerTask(", "taskRunUpdated(id: ID!)", "TaskRunFilter"):
        assert name in result.output
