"""How every `taskloom` command prints its `--help`, and the Typer app that
gives its commands and groups that help (`CommandApp`).

Typer 0.27 ("Update metavar printing") made its Rich help print a Python
type label beside every parameter, flags included (`--json <bool>`,
`run_id <str>`, `--status <list[str]>`), and offers no switch; its
commands panel also keeps a docstring's line breaks ("Exits 0 when it /
SUCCEEDED"), and a long word in a help column is cut with "…". So the
commands print their help here, from click's public parameter data: a flag
shows its names only, an option its metavar (its own `metavar=`, else its
name in capitals), an argument its metavar; prose is re-flowed, and a word
too long for its column folds onto the next line instead of being cut.
Usage lines (also in usage errors) name arguments the same way."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import Any

import typer
from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.panel import Panel
from rich.table import Table
from rich.text import Text
from typer.core import TyperCommand, TyperGroup
from typer.models import CommandFunctionType

# Parameters, contexts and formatters are typed Any: their classes live in
# typer's private `typer._click` (typer vendors click since 0.26).


def paragraphs(text: str | None) -> list[str]:
    """`text`'s paragraphs, each re-flowed onto one line."""
    blocks = inspect.cleandoc(text or "").split("\n\n")
    return [" ".join(block.split()) for block in blocks if block.strip()]


def metavar(param: Any) -> str:
    return str(param.metavar or (param.name or "value").upper())


def names(param: Any) -> str:
    """'--timeout, -t SECONDS', '--cascade / --no-cascade', 'RUN_ID'."""
    if param.param_type_name == "argument":
        return metavar(param)
    shown = ", ".join(sorted(param.opts, key=lambda o: not o.startswith("--")))
    if param.secondary_opts:
        shown += " / " + ", ".join(param.secondary_opts)
    if not param.is_flag and not param.count:
        shown += f" {metavar(param)}"
    return shown


def notes(param: Any) -> list[str]:
    """The bracketed facts after a parameter's help: default, range,
    environment variable, required."""
    found = []
    default = param.default
    if param.param_type_name == "option" and param.is_flag:
        if param.secondary_opts and default is not None:
            found.append(f"default: {(param.opts if default else param.secondary_opts)[0]}")
    elif param.show_default and default not in (None, "", (), []) and not callable(default):
        found.append(f"default: {default}")
    low, high = getattr(param, "min", None), getattr(param, "max", None)
    if low is not None or high is not None:
        found.append(f"{'any' if low is None else low} to {'any' if high is None else high}")
    if param.envvar and getattr(param, "show_envvar", True):
        found.append(f"env var: {param.envvar}")
    if param.required:
        found.append("required")
    return found


def described(help: str, notes: list[str], width: int, console: Console) -> str:
    """`help` and its bracketed notes, in a column `width` wide: a note that
    would not fit after the text before it starts a line of its own, rather
    than break inside its brackets ("[default:" / "--worker]")."""
    text = help.strip()
    for note in notes:
        shown = f"[{note}]"
        if text:
            last = Text(text).wrap(console, width)[-1].cell_len
            text += " " if last + 1 + len(shown) <= width else "\n"
        text += shown
    return text


def two_columns(rows: Iterable[tuple[str, str]]) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(no_wrap=True, style="bold cyan")
    table.add_column(overflow="fold", ratio=1)
    for left, right in rows:  # Text: "[required]" is not Rich markup here
        table.add_row(Text(left), Text(right))
    return table


def panel(title: str, rows: list[tuple[str, str]]) -> Panel:
    return Panel(two_columns(rows), title=title, title_align="left", border_style="dim")


def usage(command: Any, ctx: Any) -> list[str]:
    """The pieces after the command's path: '[OPTIONS]', then each argument
    ('RUN_ID', '[NAME]', 'FILE...'), then a group's 'COMMAND [ARGS]...'."""
    params = command.get_params(ctx)
    pieces = ["[OPTIONS]"] if any(p.param_type_name == "option" for p in params) else []
    for param in params:
        if param.param_type_name == "argument":
            shown = metavar(param) + ("..." if param.nargs == -1 else "")
            pieces.append(shown if param.required else f"[{shown}]")
    if isinstance(command, TyperGroup):
        pieces.append("COMMAND [ARGS]...")
    return pieces


def print_help(command: Any, ctx: Any) -> None:
    console = Console(highlight=False)
    params = [p for p in command.get_params(ctx) if not getattr(p, "hidden", False)]
    parts: list[RenderableType] = [
        Text.assemble(("Usage: ", "yellow"), " ".join([ctx.command_path, *usage(command, ctx)]))
    ]
    parts += [Text(paragraph) for paragraph in paragraphs(command.help)]
    for title, kind in (("Arguments", "argument"), ("Options", "option")):
        shown = [p for p in params if p.param_type_name == kind]
        if shown:
            # the help column: the panel's borders and padding (4), the
            # widest name and the gap after it (2) taken from the width
            width = console.width - 6 - max(len(names(p)) for p in shown)
            rows = [(names(p), described(p.help or "", notes(p), width, console)) for p in shown]
            parts.append(panel(title, rows))
    if isinstance(command, TyperGroup):
        rows = []
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                rows.append((name, (paragraphs(sub.short_help or sub.help) or [""])[0]))
        if rows:
            parts.append(panel("Commands", rows))
    spaced: list[RenderableType] = []
    for part in parts:  # a blank line after each paragraph
        spaced += (
            [Padding(part, (0, 1), expand=False), Text()] if isinstance(part, Text) else [part]
        )
    console.print(Group(*spaced))


def name_arguments(params: Iterable[Any]) -> None:
    """Gives each argument without a metavar its name in capitals, so that
    a usage error ("Missing argument 'RUN_ID'") names it as its help does."""
    for param in params:
        if param.param_type_name == "argument" and param.metavar is None:
            param.metavar = metavar(param)


class HelpCommand(TyperCommand):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        name_arguments(self.params)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        print_help(self, ctx)

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return usage(self, ctx)


class HelpGroup(TyperGroup):
    def format_help(self, ctx: Any, formatter: Any) -> None:
        print_help(self, ctx)

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return usage(self, ctx)


class CommandApp(typer.Typer):
    """A `typer.Typer` whose commands and groups print the help above."""

    def __init__(self, **options: Any) -> None:
        super().__init__(cls=HelpGroup, **options)

    def command(
        self, name: str | None = None, **options: Any
    ) -> Callable[[CommandFunctionType], CommandFunctionType]:
        return super().command(name, cls=HelpCommand, **options)
