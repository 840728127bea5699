"""Every command's and group's `--help`, at 80 columns and not on a
terminal: no Python type labels (`<bool>`, `<str>`, `<list[str]>`), a
metavar on every option that takes a value and none on a flag, no line
longer than 80 columns or cut with "…", no line broken where the next word
would have fitted ("Exits 0 when it / SUCCEEDED"), and every duration
option naming its unit and what leaving it out means."""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import pairwise
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from taskloom.server.cli import app

WIDTH = 80
TYPE_LABEL = re.compile(r"<(str|int|float|bool|path|file|uuid|datetime|list\[.*?\]|.+ range)>")
DURATION = re.compile(r"timeout|delay|deadline|expires|interval|seconds")
UNITS = ("SECONDS", "DURATION")
TYPE_NAMES = {"STR", "INT", "FLOAT", "BOOL", "TEXT", "INTEGER", "BOOLEAN", "VALUE"}


def commands() -> Iterator[tuple[list[str], Any]]:
    """(path after `taskloom`, click command) for the app and everything
    under it."""
    pending: list[tuple[list[str], Any]] = [([], typer.main.get_command(app))]
    while pending:
        path, command = pending.pop(0)
        yield path, command
        for name, sub in getattr(command, "commands", {}).items():
            pending.append(([*path, name], sub))


COMMANDS = dict((" ".join(path) or "taskloom", (path, command)) for path, command in commands())


def help_of(path: list[str]) -> str:
    done = CliRunner().invoke(
        app, [*path, "--help"], env={"COLUMNS": str(WIDTH)}, prog_name="taskloom"
    )
    assert done.exit_code == 0, done.output
    return done.output


def odd_breaks(text: str) -> list[str]:
    """Lines broken before a word that fitted on them: in a paragraph, or in
    a panel's column (a continuation line starts with more indentation than
    a row). A bracketed note ("[default: 20]") that did not fit whole may
    start a line; no line may end inside one."""
    found = []
    lines = text.splitlines()
    for line, following in pairwise(lines):
        if line.startswith("│") and following.startswith("│"):
            inner, after = line[1 : line.rindex("│")], following[1 : following.rindex("│")]
            room = len(inner) - 1  # the panel's padding
            continues = after.startswith("  ") and after.strip() != ""
        else:
            inner, after, room = line, following, WIDTH - 1
            continues = bool(inner.strip() and after.strip()) and not after.startswith("╭")
        if not continues:
            continue
        note_moved = after.strip().startswith("[")
        fitted = len(inner.rstrip()) + 1 + len(after.split()[0]) <= room
        if (fitted and not note_moved) or re.search(r"\[[^\]]*$", inner.rstrip()):
            found.append(f"{line.rstrip()} / {after.strip()}")
    return found


def test_every_command_is_walked() -> None:
    assert {"taskloom", "wait", "runs", "token create", "webhook deliveries"} <= set(COMMANDS)
    assert len(COMMANDS) > 25


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_the_help_reads_cleanly_at_80_columns(name: str) -> None:
    path, command = COMMANDS[name]
    shown = help_of(path)
    assert shown.startswith(f" Usage: taskloom {' '.join(path)}".rstrip())
    assert TYPE_LABEL.search(shown) is None, TYPE_LABEL.search(shown)
    assert "…" not in shown
    assert [line for line in shown.splitlines() if len(line) > WIDTH] == []
    assert odd_breaks(shown) == []
    rows = [line[2:].split("  ")[0] for line in shown.splitlines() if line.startswith("│ -")]
    for param in command.params:
        if param.param_type_name != "option" or param.hidden:
            continue
        row = next(r for r in rows if r.split(",")[0].split()[0] == param.opts[0])
        if param.is_flag:
            assert row.split()[-1].startswith("-"), f"a flag shows no value: {row}"
        else:
            shown = row.split()[-1]
            assert shown.isupper(), f"an option shows its metavar: {row}"
            assert shown not in TYPE_NAMES, f"a metavar says what, not which type: {row}"
        if DURATION.search(param.name):
            assert param.metavar in UNITS, f"{row}: a duration names its unit"
            assert "without it" in (param.help or ""), f"{row}: and what its absence means"


def test_a_usage_error_names_the_argument_as_the_help_does() -> None:
    done = CliRunner().invoke(app, ["wait"], env={"COLUMNS": str(WIDTH)}, prog_name="taskloom")
    assert done.exit_code == 2
    assert "Usage: taskloom wait [OPTIONS] RUN_ID" in done.output
    assert "Missing argument 'RUN_ID'" in done.output


def test_the_odd_break_finder_finds_the_old_break() -> None:
    """As typer printed the commands panel before (a docstring's own line
    break kept)."""
    old = [
        "│ wait               Wait for a run to end, with a live progress bar. Exits 0  │",
        "│                    when it                                                   │",
        "│                    SUCCEEDED, 3 when it FAILED, 4 when it was ABORTED, 5 on  │",
    ]
    assert odd_breaks("\n".join(old)) == [
        f"{old[1]} / SUCCEEDED, 3 when it FAILED, 4 when it was ABORTED, 5 on"
    ]


def test_the_odd_break_finder_finds_a_note_broken_inside_its_brackets() -> None:
    split = [
        "│ --worker / --no-worker  Run a worker in this process too. [default:          │",
        "│                         --worker]                                            │",
    ]
    moved = [
        "│ --worker / --no-worker  Run a worker in this process too.                    │",
        "│                         [default: --worker]                                  │",
    ]
    assert odd_breaks("\n".join(split)) == [f"{split[0]} / --worker]"]
    assert odd_breaks("\n".join(moved)) == []
