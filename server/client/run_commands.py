"""The commands that act on runs: wait, trigger, abort, pause, resume, retry."""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.text import Text

from taskloom.definitions.records import TERMINAL_STATUSES, TaskStatus
from taskloom.server.client.base import (
    EXIT_TIMEOUT,
    POLL_SECONDS,
    Backend,
    CliError,
    err,
    out,
)
from taskloom.server.client.input_lines import parse_lines
from taskloom.server.client.options import (
    AsJson,
    DatabaseUrl,
    Input,
    Message,
    RunId,
    Token,
    Url,
    app,
)
from taskloom.server.client.records import json_default
from taskloom.server.client.render import exit_code_for, status_text, waiting_text
from taskloom.server.client.session import Session, parse_input, print_json


def _wait(backend: Backend, run_id: str, timeout: float | None, quiet: bool) -> dict[str, Any]:
    """Polls the run until it ends, showing a live progress bar on stderr."""
    deadline = None if timeout is None else time.monotonic() + timeout
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, disable=quiet, transient=False) as bar:
        task = bar.add_task(run_id[:8], total=None, detail="")
        while True:
            run = backend.get(run_id)
            progress = run.get("progress") or {}
            total = progress.get("total")
            bar.update(
                task,
                total=total,
                completed=progress.get("current") or 0,
                description=" ".join(
                    filter(
                        None, (run["definition_id"], str(run["status"]).lower(), waiting_text(run))
                    )
                ),
                detail=progress.get("display") or "",
            )
            if str(run["status"]) in TERMINAL_STATUSES:
                if run["status"] == TaskStatus.SUCCEEDED and total:
                    bar.update(task, completed=total)
                return run
            if deadline is not None and time.monotonic() >= deadline:
                raise CliError(
                    f"run {run_id} is still {run['status']} after {timeout:g} s",
                    code=EXIT_TIMEOUT,
                )
            time.sleep(POLL_SECONDS)


def _finish(run: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(run)
    else:
        line = Text.assemble(f"run {run['id']} ", status_text(run))
        error = run.get("error")
        if error and run["status"] != TaskStatus.SUCCEEDED:
            line.append(f": {error.get('message')}")
        elif run.get("output") is not None:
            line.append(" " + json.dumps(run["output"], default=json_default))
        out.print(line)
    code = exit_code_for(run)
    if code:
        raise typer.Exit(code)


@app.command("wait")
def wait_command(
    run_id: RunId,
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout",
            "-t",
            metavar="SECONDS",
            help="Give up (exit 5) after this many seconds; without it, wait until the run ends.",
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="Show no progress bar.")] = False,
    url: Url = None,
    token: Token = None,
    database_url: DatabaseUrl = None,
    as_json: AsJson = False,
) -> None:
    """Wait for a run to end, with a live progress bar.

    Exits 0 when it SUCCEEDED, 3 when it FAILED, 4 when it was ABORTED, 5 on
    timeout."""
    with Session(url, token, database_url) as backend:
        run = _wait(backend, run_id, timeout, quiet)
    _finish(run, as_json)


@app.command("trigger")
def trigger_command(
    definition: Annotated[str, typer.Argument(help="The definition's id.")],
    input: Input = None,
    from_file: Annotated[
        str | None,
        typer.Option(
            "--from-file",
            metavar="FILE",
            help="One input per line (JSON Lines; - for stdin): one run each, all or none.",
        ),
    ] = None,
    name: Annotated[str | None, typer.Option(help="A name for the run.")] = None,
    priority: Annotated[int, typer.Option(metavar="N", help="Higher runs first.")] = 0,
    delay: Annotated[
        int | None,
        typer.Option(
            metavar="SECONDS", help="Due this many seconds from now; without it, due at once."
        ),
    ] = None,
    after: Annotated[
        list[str] | None,
        typer.Option(
            "--after",
            metavar="RUN_ID",
            help="A run this one waits for (repeat it for several): it starts once each "
            "has SUCCEEDED, and fails DEPENDENCY_FAILED if one ends otherwise.",
        ),
    ] = None,
    deadline: Annotated[
        float | None,
        typer.Option(
            metavar="SECONDS",
            help="It fails DEADLINE this many seconds after its first start; "
            "without it, no deadline.",
        ),
    ] = None,
    expires: Annotated[
        float | None,
        typer.Option(
            metavar="SECONDS",
            help="Not started this many seconds after it is due, it ends EXPIRED; "
            "without it, it waits for a worker however long.",
        ),
    ] = None,
    wait: Annotated[
        bool, typer.Option("--wait", "-w", help="Wait for the run to end, as `wait` does.")
    ] = False,
    timeout: Annotated[
        float | None,
        typer.Option(
            metavar="SECONDS",
            help="With --wait: give up (exit 5) after this many seconds; "
            "without it, wait until the run ends.",
        ),
    ] = None,
    url: Url = None,
    token: Token = None,
    database_url: DatabaseUrl = None,
    as_json: AsJson = False,
) -> None:
    """Trigger a run and print it (JSON unless printing to a terminal).

    With --wait, it exits like `wait`. With --from-file, it triggers one run
    per line, in one transaction, and prints them."""
    if from_file is not None:
        flows = after or deadline is not None or expires is not None
        if input is not None or name is not None or wait or flows:
            err.print(
                "[red]error:[/red] --from-file cannot be combined with --input, --name, "
                "--wait, --after, --deadline or --expires"
            )
            raise typer.Exit(2)
        batch = parse_lines(from_file)
        with Session(url, token, database_url) as backend:
            runs = batch.trigger(backend, definition, priority, delay)
        if as_json or not out.is_terminal:
            print_json(runs)
        else:
            out.print(f"triggered {len(runs)} {definition} runs")
        return
    data = parse_input(input)
    with Session(url, token, database_url) as backend:
        run = backend.trigger(
            definition,
            data,
            name,
            priority,
            delay,
            after=after or None,
            deadline=deadline,
            expires=expires,
        )
        if wait:
            if not as_json and out.is_terminal:
                out.print(f"triggered {run['definition_id']} run {run['id']}")
            run = _wait(backend, run["id"], timeout, quiet=as_json or not err.is_terminal)
    if wait:
        _finish(run, as_json or not out.is_terminal)
    elif as_json or not out.is_terminal:
        print_json(run)
    else:
        out.print(
            Text.assemble(f"triggered {run['definition_id']} run {run['id']} ", status_text(run))
        )


def _control(
    action: str,
    run_id: str,
    message: str | None,
    args: tuple[Any, ...],
    as_json: bool,
    cascade: bool = True,
) -> None:
    with Session(*args) as backend:
        run = backend.control(action, run_id, message, cascade=cascade)
    if as_json:
        print_json(run)
    else:
        out.print(Text.assemble(f"run {run['id']} ", status_text(run)))


@app.command("abort")
def abort_command(
    run_id: RunId,
    message: Message = None,
    cascade: Annotated[
        bool,
        typer.Option(
            "--cascade/--no-cascade",
            help="Also abort its unfinished children and the runs waiting for it.",
        ),
    ] = True,
    url: Url = None,
    token: Token = None,
    database_url: DatabaseUrl = None,
    as_json: AsJson = False,
) -> None:
    """Abort a run: a waiting one at once, a running one after its iteration;
    with its unfinished children and dependents unless --no-cascade."""
    _control("abort", run_id, message, (url, token, database_url), as_json, cascade)


def _control_command(action: str, doc: str) -> None:
    """Adds the command `action`, which changes one run and takes no message."""

    def command(
        run_id: RunId,
        url: Url = None,
        token: Token = None,
        database_url: DatabaseUrl = None,
        as_json: AsJson = False,
    ) -> None:
        _control(action, run_id, None, (url, token, database_url), as_json)

    command.__name__ = command.__qualname__ = f"{action}_command"
    command.__doc__ = doc
    app.command(action)(command)


_control_command("pause", "Pause a run: a waiting one at once, a running one after its iteration.")
_control_command("resume", "Resume a paused run.")
_control_command("retry", "Retry a run that FAILED or was ABORTED.")
