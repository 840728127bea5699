"""The operator commands of `taskloom`: definitions, runs, show, logs,
trigger, wait, abort, pause, resume, retry.

Each talks to a running server over GraphQL (`--url` / `TASKLOOM_URL`, with
`--token` / `TASKLOOM_TOKEN` sent as a bearer token) or, when given
`--database-url` or no URL at all, straight to the database through
`TaskService` (the database of `TASKLOOM_DATABASE_URL` by default).

Both ways give the same records: a run is a dict with the snake_case keys of
`server.views.RunView` (`id`, `definition_id`, `status`, `progress`, ...),
which is what `--json` prints.

Exit codes: 0 success; 1 an error (unreachable server, unknown run, invalid
input, conflict); 3 the run FAILED; 4 the run was ABORTED; 5 `wait` timed out.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict
from datetime import datetime
from enum import Enum
from typing import Annotated, Any, Protocol

import httpx
import typer
from rich import box
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

app = typer.Typer()

EXIT_ERROR = 1
EXIT_FAILED = 3
EXIT_ABORTED = 4
EXIT_TIMEOUT = 5
TERMINAL = ("SUCCEEDED", "FAILED", "ABORTED")
STATUS_STYLE = {
    "PENDING": "yellow",
    "RUNNING": "cyan",
    "PAUSED": "magenta",
    "SUCCEEDED": "green",
    "FAILED": "red",
    "ABORTED": "bright_black",
}
POLL_SECONDS = 0.25

# piped output is not cut to 80 columns: tables stay whole for grep and less
out = Console(highlight=False, soft_wrap=False, width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, highlight=False)


class CliError(Exception):
    def __init__(
        self, message: str, *, errors: list[dict[str, Any]] | None = None, code: int = 1
    ) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or []
        self.code = code


# --- options -------------------------------------------------------------------

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


# --- records -------------------------------------------------------------------


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return str(value)


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, default=_json_default))


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


# keys whose values are user JSON: their own keys are never renamed
_OPAQUE = frozenset({"input", "state", "output", "data", "input_schema"})


def snake_keys(value: Any) -> Any:
    """GraphQL's camelCase records as the snake_case ones of the service."""
    if isinstance(value, dict):
        renamed = {}
        for key, item in value.items():
            name = _snake(key)
            renamed[name] = item if name in _OPAQUE else snake_keys(item)
        return renamed
    if isinstance(value, list):
        return [snake_keys(item) for item in value]
    return value


def run_record(view: Any) -> dict[str, Any]:
    """A RunView as the dict --json prints (the shape GraphQL mode gives too)."""
    record: dict[str, Any] = _plain(asdict(view))
    if view.progress is not None:
        record["progress"]["percent"] = view.progress.percent
        record["progress"]["display"] = view.progress.display
    record.update(
        can_abort=view.can_abort, waiting_ms=view.waiting_ms, duration_ms=view.duration_ms
    )
    for name in ("can_pause", "can_resume", "can_retry"):
        if hasattr(view, name):
            record[name] = getattr(view, name)
    return record


def definition_record(definition: Any) -> dict[str, Any]:
    retry = definition.retry
    return {
        "id": definition.id,
        "title": definition.title,
        "description": definition.description or (definition.__doc__ or "").strip(),
        "input_schema": definition.input_schema(),
        "max_iterations": definition.max_iterations,
        "iteration_timeout": float(definition.iteration_timeout),
        "retry": {
            "attempts": retry.attempts,
            "wait_seconds": retry.wait_seconds,
            "multiplier": retry.multiplier,
        },
    }


# --- backends ------------------------------------------------------------------


class Backend(Protocol):
    def definitions(self) -> list[dict[str, Any]]: ...

    def runs(self, where: dict[str, Any], first: int) -> tuple[list[dict[str, Any]], int]: ...

    def get(self, run_id: str) -> dict[str, Any]: ...

    def logs(
        self, run_id: str, after: str | None, first: int
    ) -> tuple[list[dict[str, Any]], str | None]: ...

    def trigger(
        self, definition: str, data: Any, name: str | None, priority: int, delay: int | None
    ) -> dict[str, Any]: ...

    def control(self, action: str, run_id: str, message: str | None) -> dict[str, Any]: ...

    def close(self) -> None: ...


RUN_FIELDS = """
  id definitionId name status requested input state output
  error { message code data } iterations attempt priority
  progress { current total units percent display } statusMessage
  createdAt runAt startedAt finishedAt updatedAt waitingMs durationMs
  hasErrors canAbort parentId createdBy
"""
LOG_FIELDS = "id runId level message data iteration createdAt"
MUTATIONS = {
    "abort": "abortTask",
    "pause": "pauseTask",
    "resume": "resumeTask",
    "retry": "retryTask",
}


class GraphQLBackend:
    def __init__(self, url: str, token: str | None) -> None:
        base = url.rstrip("/")
        self.endpoint = base if base.endswith("/graphql") else base + "/graphql"
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.client = httpx.Client(headers=headers, timeout=30)
        self._run_fields: str | None = None

    def close(self) -> None:
        self.client.close()

    def query(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        try:
            response = self.client.post(
                self.endpoint, json={"query": query, "variables": variables or {}}
            )
        except httpx.HTTPError as exc:
            raise CliError(f"cannot reach {self.endpoint}: {exc}") from None
        try:
            body = response.json()
        except ValueError:
            raise CliError(f"{self.endpoint} answered HTTP {response.status_code}") from None
        errors = body.get("errors") if isinstance(body, dict) else None
        if errors:
            first = errors[0]
            extensions = first.get("extensions") or {}
            raise CliError(
                first.get("message", "the server reported an error"),
                errors=list(extensions.get("errors") or []),
            )
        if response.status_code >= 400 or not isinstance(body, dict):
            raise CliError(f"{self.endpoint} answered HTTP {response.status_code}")
        data: dict[str, Any] = body.get("data") or {}
        return data

    def run_fields(self) -> str:
        """The run fields to ask for: the contract's, plus canPause and the
        like when this server has them."""
        if self._run_fields is None:
            data = self.query('{ __type(name: "TaskRun") { fields { name } } }')
            names = {f["name"] for f in (data.get("__type") or {}).get("fields") or []}
            extra = [n for n in ("canPause", "canResume", "canRetry") if n in names]
            self._run_fields = RUN_FIELDS + " ".join(extra)
        return self._run_fields

    def definitions(self) -> list[dict[str, Any]]:
        data = self.query(
            """{ taskDefinitions { id title description inputSchema maxIterations
                 iterationTimeout retry { attempts waitSeconds multiplier } } }"""
        )
        return list(snake_keys(data["taskDefinitions"]))

    def runs(self, where: dict[str, Any], first: int) -> tuple[list[dict[str, Any]], int]:
        graph_where = {
            "definitionId": where.get("definition_id"),
            "status": where.get("statuses"),
            "parentId": where.get("parent_id"),
            "nameContains": where.get("name_contains"),
            "hasErrors": where.get("has_errors"),
        }
        data = self.query(
            f"""query Runs($where: TaskRunFilter, $first: Int) {{
                  taskRuns(where: $where, first: $first) {{
                    totalCount edges {{ node {{ {self.run_fields()} }} }} }} }}""",
            {"where": {k: v for k, v in graph_where.items() if v is not None}, "first": first},
        )
        runs = data["taskRuns"]
        return [snake_keys(e["node"]) for e in runs["edges"]], int(runs["totalCount"])

    def get(self, run_id: str) -> dict[str, Any]:
        data = self.query(
            f"query Run($id: ID!) {{ taskRun(id: $id) {{ {self.run_fields()} }} }}",
            {"id": run_id},
        )
        if data.get("taskRun") is None:
            raise CliError(f"no task run with id {run_id!r}")
        return dict(snake_keys(data["taskRun"]))

    def logs(
        self, run_id: str, after: str | None, first: int
    ) -> tuple[list[dict[str, Any]], str | None]:
        data = self.query(
            f"""query Logs($where: TaskLogFilter, $first: Int, $after: String) {{
                  taskLogs(where: $where, first: $first, after: $after) {{
                    edges {{ node {{ {LOG_FIELDS} }} }} pageInfo {{ endCursor }} }} }}""",
            {"where": {"runId": run_id}, "first": first, "after": after},
        )
        page = data["taskLogs"]
        lines = [snake_keys(e["node"]) for e in page["edges"]]
        return lines, page["pageInfo"]["endCursor"] or after

    def trigger(
        self, definition: str, data: Any, name: str | None, priority: int, delay: int | None
    ) -> dict[str, Any]:
        fields = self.run_fields()
        result = self.query(
            f"""mutation Trigger($definitionId: ID!, $input: JSON, $name: String,
                  $priority: Int, $delaySeconds: Int) {{
                  triggerTask(definitionId: $definitionId, input: $input, name: $name,
                    priority: $priority, delaySeconds: $delaySeconds) {{ {fields} }} }}""",
            {
                "definitionId": definition,
                "input": data,
                "name": name,
                "priority": priority,
                "delaySeconds": delay,
            },
        )
        return dict(snake_keys(result["triggerTask"]))

    def control(self, action: str, run_id: str, message: str | None) -> dict[str, Any]:
        field = MUTATIONS[action]
        data = self.query("{ __schema { mutationType { fields { name args { name } } } } }")
        fields = {
            f["name"]: {a["name"] for a in f["args"]}
            for f in data["__schema"]["mutationType"]["fields"]
        }
        if field not in fields:
            raise CliError(f"this server cannot {action} runs yet (no {field} mutation)")
        with_message = "message" in fields[field] and message is not None
        params, args = "$id: ID!", "id: $id"
        variables: dict[str, Any] = {"id": run_id}
        if with_message:
            params, args = params + ", $message: String", args + ", message: $message"
            variables["message"] = message
        result = self.query(
            f"mutation Control({params}) {{ {field}({args}) {{ {self.run_fields()} }} }}",
            variables,
        )
        return dict(snake_keys(result[field]))


class DatabaseBackend:
    """The same calls through TaskService on the database itself (no worker
    runs here: a run triggered this way is executed by `taskloom serve` or
    `taskloom worker` on the same database)."""

    def __init__(self, database_url: str | None) -> None:
        from server.taskloom import Taskloom

        self.runner = asyncio.Runner()
        self.taskloom = Taskloom(database_url, worker=False)
        try:
            self.runner.run(self.taskloom.start())
        except BaseException:
            self.runner.close()
            raise

    def close(self) -> None:
        try:
            self.runner.run(self.taskloom.stop())
        finally:
            self.runner.close()

    def _call(self, work: Callable[[], Any]) -> Any:
        from definitions.errors import TaskloomError

        async def call() -> Any:
            return await work()

        try:
            return self.runner.run(call())
        except TaskloomError as exc:
            raise CliError(exc.message, errors=list(exc.details.get("errors", []))) from None

    def definitions(self) -> list[dict[str, Any]]:
        return [definition_record(d) for d in self.taskloom.service.definitions()]

    def runs(self, where: dict[str, Any], first: int) -> tuple[list[dict[str, Any]], int]:
        from server.store.paging import RunFilter

        service = self.taskloom.service
        statuses = where.get("statuses")
        condition = RunFilter(
            definition_id=where.get("definition_id"),
            statuses=tuple(statuses) if statuses else None,
            parent_id=where.get("parent_id"),
            name_contains=where.get("name_contains"),
            has_errors=where.get("has_errors"),
        )

        async def work() -> tuple[list[dict[str, Any]], int]:
            page = await service.list_runs(condition, first=first)
            return [run_record(r) for r in page.items], await service.count_runs(condition)

        result: tuple[list[dict[str, Any]], int] = self._call(work)
        return result

    def get(self, run_id: str) -> dict[str, Any]:
        service = self.taskloom.service

        async def work() -> dict[str, Any]:
            return run_record(await service.get(run_id))

        result: dict[str, Any] = self._call(work)
        return result

    def logs(
        self, run_id: str, after: str | None, first: int
    ) -> tuple[list[dict[str, Any]], str | None]:
        service = self.taskloom.service

        async def work() -> tuple[list[dict[str, Any]], str | None]:
            await service.get(run_id)
            page = await service.logs(run_id, first=first, after=after)
            return [_plain(asdict(line)) for line in page.items], page.end_cursor or after

        result: tuple[list[dict[str, Any]], str | None] = self._call(work)
        return result

    def trigger(
        self, definition: str, data: Any, name: str | None, priority: int, delay: int | None
    ) -> dict[str, Any]:
        service = self.taskloom.service

        async def work() -> dict[str, Any]:
            view = await service.trigger(
                definition,
                data,
                name=name,
                priority=priority,
                delay=None if delay is None else float(delay),
            )
            return run_record(view)

        result: dict[str, Any] = self._call(work)
        return result

    def control(self, action: str, run_id: str, message: str | None) -> dict[str, Any]:
        service = self.taskloom.service
        method = getattr(service, action, None)
        if method is None:
            raise CliError(f"this version cannot {action} runs yet")

        async def work() -> dict[str, Any]:
            if action == "abort":
                return run_record(await service.abort(run_id, message))
            return run_record(await method(run_id))

        result: dict[str, Any] = self._call(work)
        return result


def open_backend(url: str | None, token: str | None, database_url: str | None) -> Backend:
    if database_url is None and url:
        return GraphQLBackend(url, token)
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
    err.print(f"[red]error:[/red] {exc.message}")
    for item in exc.errors:
        loc = ".".join(str(part) for part in item.get("loc", []))
        err.print(f"  {loc}: {item.get('message', '')}" if loc else f"  {item.get('message')}")
    raise typer.Exit(exc.code)


def print_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, default=_json_default))


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


# --- rendering -----------------------------------------------------------------


def status_text(run: dict[str, Any]) -> Text:
    status = str(run["status"])
    text = Text(status, style=STATUS_STYLE.get(status, ""))
    if run.get("requested"):
        text.append(f" ({str(run['requested']).lower()} requested)", style="dim")
    return text


def progress_text(run: dict[str, Any], width: int = 12) -> Text:
    progress = run.get("progress")
    if not progress:
        return Text("")
    percent = progress.get("percent")
    label = progress.get("display") or f"{progress['current']:g}"
    if percent is None:
        return Text(label)
    filled = round(width * percent / 100)
    return Text.assemble(
        ("█" * filled, "green"), ("░" * (width - filled), "bright_black"), f" {label}"
    )


def _when(value: Any) -> str:
    if not value:
        return ""
    return str(value).replace("T", " ")[:19]


def _duration(ms: Any) -> str:
    if ms is None:
        return ""
    seconds = ms / 1000
    return f"{seconds:.1f}s" if seconds < 60 else f"{int(seconds // 60)}m{int(seconds % 60):02d}s"


def run_table(runs: list[dict[str, Any]], title: str) -> Table:
    named = any(run.get("name") for run in runs)
    table = Table(title=title, title_justify="left", header_style="bold", box=box.SIMPLE_HEAD)
    table.add_column("ID", no_wrap=True)
    table.add_column("DEFINITION", min_width=10)
    if named:
        table.add_column("NAME")
    table.add_column("STATUS", no_wrap=True)
    table.add_column("PROGRESS", min_width=14)
    table.add_column("CREATED", no_wrap=True)
    table.add_column("DURATION", no_wrap=True, justify="right")
    for run in runs:
        cells: list[Any] = [run["id"], run["definition_id"]]
        if named:
            cells.append(run.get("name") or "")
        cells += [
            status_text(run),
            progress_text(run, 8),
            _when(run.get("created_at"))[5:],
            _duration(run.get("duration_ms")),
        ]
        table.add_row(*cells)
    return table


def run_details(run: dict[str, Any]) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()

    def row(label: str, value: Any) -> None:
        if value is None or value == "" or value == {}:
            return
        if isinstance(value, dict | list):
            value = json.dumps(value, default=_json_default)
        table.add_row(label, value if isinstance(value, Text) else str(value))

    row("id", run["id"])
    row("definition", run["definition_id"])
    row("name", run.get("name"))
    row("status", status_text(run))
    row("message", run.get("status_message"))
    row("progress", progress_text(run, 20) if run.get("progress") else None)
    row("iterations", run.get("iterations"))
    row("attempt", run.get("attempt"))
    row("priority", run.get("priority"))
    row("input", run.get("input"))
    row("state", run.get("state"))
    row("output", run.get("output"))
    error = run.get("error")
    if error:
        row("error", f"{error.get('code') or 'ERROR'}: {error.get('message')}")
    row("created", _when(run.get("created_at")))
    row("started", _when(run.get("started_at")))
    row("finished", _when(run.get("finished_at")))
    row("duration", _duration(run.get("duration_ms")))
    row("parent", run.get("parent_id"))
    return table


def log_line(line: dict[str, Any]) -> Text:
    level = str(line["level"])
    style = {"ERROR": "red", "WARNING": "yellow", "DEBUG": "bright_black"}.get(level, "")
    text = Text.assemble(
        (_when(line.get("created_at"))[11:] + " ", "bright_black"),
        (f"{level:<7} ", style),
        (f"#{line.get('iteration', 0)} ", "bright_black"),
        line["message"],
    )
    if line.get("data") is not None:
        text.append(" " + json.dumps(line["data"], default=_json_default), style="bright_black")
    return text


def exit_code_for(run: dict[str, Any]) -> int:
    return {"FAILED": EXIT_FAILED, "ABORTED": EXIT_ABORTED}.get(str(run["status"]), 0)


# --- commands ------------------------------------------------------------------


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
        str | None, typer.Option("--definition", "-d", help="Only this definition")
    ] = None,
    status: Annotated[
        list[str] | None, typer.Option("--status", "-s", help="Only these statuses (repeatable)")
    ] = None,
    search: Annotated[
        str | None, typer.Option("--search", "-q", help="Name contains (case-insensitive)")
    ] = None,
    parent: Annotated[str | None, typer.Option("--parent", help="Children of this run")] = None,
    errors: Annotated[
        bool | None, typer.Option("--errors/--no-errors", help="With or without errors")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=500)] = 20,
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
    out.print(run_table(runs, f"{len(runs)} of {total} runs"))


@app.command("show")
def show_command(
    run_id: RunId,
    url: Url = None,
    token: Token = None,
    database_url: DatabaseUrl = None,
    as_json: AsJson = False,
) -> None:
    """Print one run (JSON unless printing to a terminal)."""
    with Session(url, token, database_url) as backend:
        run = backend.get(run_id)
    if as_json or not out.is_terminal:
        print_json(run)
    else:
        out.print(run_details(run))


def _iter_logs(
    backend: Backend, run_id: str, follow: bool, level: str | None
) -> Iterator[dict[str, Any]]:
    order = ["DEBUG", "INFO", "WARNING", "ERROR"]
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
        if str(backend.get(run_id)["status"]) in TERMINAL:
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
        bool, typer.Option("--follow", "-f", help="Keep printing until the run ends")
    ] = False,
    level: Annotated[
        str | None, typer.Option("--level", "-l", help="Only lines at or above it")
    ] = None,
    url: Url = None,
    token: Token = None,
    database_url: DatabaseUrl = None,
    as_json: AsJson = False,
) -> None:
    """Print a run's log lines (one JSON object per line with --json)."""
    if level is not None and level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        err.print("[red]error:[/red] --level must be DEBUG, INFO, WARNING or ERROR")
        raise typer.Exit(2)
    with Session(url, token, database_url) as backend:
        for line in _iter_logs(backend, run_id, follow, level):
            if as_json:
                typer.echo(json.dumps(line, default=_json_default))
            else:
                out.print(log_line(line))


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
                description=f"{run['definition_id']} {str(run['status']).lower()}",
                detail=progress.get("display") or "",
            )
            if str(run["status"]) in TERMINAL:
                if run["status"] == "SUCCEEDED" and total:
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
        if error and run["status"] != "SUCCEEDED":
            line.append(f": {error.get('message')}")
        elif run.get("output") is not None:
            line.append(" " + json.dumps(run["output"], default=_json_default))
        out.print(line)
    code = exit_code_for(run)
    if code:
        raise typer.Exit(code)


@app.command("wait")
def wait_command(
    run_id: RunId,
    timeout: Annotated[
        float | None, typer.Option("--timeout", "-t", help="Give up after this many seconds")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar")] = False,
    url: Url = None,
    token: Token = None,
    database_url: DatabaseUrl = None,
    as_json: AsJson = False,
) -> None:
    """Wait for a run to end, with a live progress bar. Exits 0 when it
    SUCCEEDED, 3 when it FAILED, 4 when it was ABORTED, 5 on timeout."""
    with Session(url, token, database_url) as backend:
        run = _wait(backend, run_id, timeout, quiet)
    _finish(run, as_json)


@app.command("trigger")
def trigger_command(
    definition: Annotated[str, typer.Argument(help="Definition id")],
    input: Annotated[str | None, typer.Option("--input", "-i", help="JSON or @file")] = None,
    name: Annotated[str | None, typer.Option(help="A name for the run")] = None,
    priority: Annotated[int, typer.Option(help="Higher runs first")] = 0,
    delay: Annotated[int | None, typer.Option(help="Due this many seconds from now")] = None,
    wait: Annotated[bool, typer.Option("--wait", "-w", help="Wait for the run to end")] = False,
    timeout: Annotated[float | None, typer.Option(help="With --wait: give up after")] = None,
    url: Url = None,
    token: Token = None,
    database_url: DatabaseUrl = None,
    as_json: AsJson = False,
) -> None:
    """Trigger a run and print it (JSON unless printing to a terminal). With
    --wait, exits like `wait`."""
    data = parse_input(input)
    with Session(url, token, database_url) as backend:
        run = backend.trigger(definition, data, name, priority, delay)
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
    action: str, run_id: str, message: str | None, args: tuple[Any, ...], as_json: bool
) -> None:
    with Session(*args) as backend:
        run = backend.control(action, run_id, message)
    if as_json:
        print_json(run)
    else:
        out.print(Text.assemble(f"run {run['id']} ", status_text(run)))


Message = Annotated[str | None, typer.Option("--message", "-m", help="Why (kept on the run)")]


@app.command("abort")
def abort_command(
    run_id: RunId,
    message: Message = None,
    url: Url = None,
    token: Token = None,
    database_url: DatabaseUrl = None,
    as_json: AsJson = False,
) -> None:
    """Abort a run: a waiting one at once, a running one after its iteration."""
    _control("abort", run_id, message, (url, token, database_url), as_json)


@app.command("pause")
def pause_command(
    run_id: RunId,
    url: Url = None,
    token: Token = None,
    database_url: DatabaseUrl = None,
    as_json: AsJson = False,
) -> None:
    """Pause a run: a waiting one at once, a running one after its iteration."""
    _control("pause", run_id, None, (url, token, database_url), as_json)


@app.command("resume")
def resume_command(
    run_id: RunId,
    url: Url = None,
    token: Token = None,
    database_url: DatabaseUrl = None,
    as_json: AsJson = False,
) -> None:
    """Resume a paused run."""
    _control("resume", run_id, None, (url, token, database_url), as_json)


@app.command("retry")
def retry_command(
    run_id: RunId,
    url: Url = None,
    token: Token = None,
    database_url: DatabaseUrl = None,
    as_json: AsJson = False,
) -> None:
    """Retry a run that FAILED or was ABORTED."""
    _control("retry", run_id, None, (url, token, database_url), as_json)


def register(target: typer.Typer) -> None:
    """Adds these commands to the `taskloom` app, replacing same-named ones."""
    names = {c.name for c in app.registered_commands}
    target.registered_commands[:] = [
        c
        for c in target.registered_commands
        if (c.name or getattr(c.callback, "__name__", "")) not in names
    ]
    target.registered_commands.extend(app.registered_commands)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
