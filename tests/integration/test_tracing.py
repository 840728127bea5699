"""OpenTelemetry with the SDK's in-memory exporter, on SQLite and
PostgreSQL: a trigger's span and the run's stored trace context, each
iteration a span of that trace, a GraphQL request's trace continued into
the run it triggers; and without the extra, nothing imported."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from taskloom.definitions import TaskController, TaskDefinition
from taskloom.server.store import queries
from taskloom.server.taskloom import Taskloom
from tests.integration.graphql_support import data, served

ROOT = Path(__file__).resolve().parents[2]
EXPORTER = InMemorySpanExporter()


@pytest.fixture(autouse=True)
def spans() -> InMemorySpanExporter:
    """The process's tracer provider (set once: OpenTelemetry allows one),
    exporting to memory, emptied for each test."""
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(EXPORTER))
        trace.set_tracer_provider(provider)
    EXPORTER.clear()
    return EXPORTER


class Thrice(TaskDefinition[Any]):
    id = "trace-thrice"

    async def run(self, controller: TaskController[Any]) -> Any:
        done = controller.state.get("done", 0) + 1
        if done < 3:
            return controller.response.continue_(state={"done": done})
        return controller.response.done(output=done)


def iterations_of(run_id: str) -> list[ReadableSpan]:
    found = [
        s
        for s in EXPORTER.get_finished_spans()
        if (s.attributes or {}).get("taskloom.run_id") == run_id
    ]
    return sorted(found, key=lambda s: int((s.attributes or {})["taskloom.iteration"]))  # type: ignore[arg-type]


def named(name: str) -> ReadableSpan:
    (span,) = [s for s in EXPORTER.get_finished_spans() if s.name == name]
    return span


async def stored_traceparent(app: Taskloom, run_id: str) -> str | None:
    row = await app.database.read(lambda c: queries.get_run(c, run_id))
    assert row is not None
    value: str | None = row["traceparent"]
    return value


async def test_a_trigger_and_each_iteration_are_spans_of_one_trace(make_app: Any) -> None:
    app = await make_app(Thrice)
    run = await app.service.trigger("trace-thrice")
    await app.service.wait(run.id, timeout=10)
    trigger = named("trigger trace-thrice")
    context = trigger.get_span_context()
    assert context is not None
    assert await stored_traceparent(app, run.id) == (
        f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"
    )
    spans = iterations_of(run.id)
    assert [s.name for s in spans] == ["iteration trace-thrice"] * 3
    for span in spans:
        assert span.parent is not None and span.parent.span_id == context.span_id
        assert span.get_span_context().trace_id == context.trace_id  # type: ignore[union-attr]
        assert span.kind is trace.SpanKind.CONSUMER
    assert [dict(s.attributes or {}) for s in spans] == [
        {
            "taskloom.run_id": run.id,
            "taskloom.definition": "trace-thrice",
            "taskloom.iteration": n,
            "taskloom.attempt": 0,
            "taskloom.outcome": outcome,
        }
        for n, outcome in ((0, "PENDING"), (1, "PENDING"), (2, "SUCCEEDED"))
    ]


async def test_a_graphql_requests_trace_continues_into_the_run_it_triggers(
    database_url: str,
) -> None:
    caller_trace, caller_span = 0x0AF7651916CD43DD8448EB211C80319C, 0xB7AD6B7169203331
    traceparent = f"00-{caller_trace:032x}-{caller_span:016x}-01"
    async with served(database_url, definitions=(Thrice,)) as (taskloom, client):
        response = await client.post(
            "/graphql",
            json={"query": 'mutation { triggerTask(definitionId: "trace-thrice") { id } }'},
            headers={"traceparent": traceparent},
        )
        run_id = response.json()["data"]["triggerTask"]["id"]
        await taskloom.service.wait(run_id, timeout=10)
        assert await data(client, "{ taskDefinitions { id } }")  # a request of its own trace
    servers = [s for s in EXPORTER.get_finished_spans() if s.kind is trace.SpanKind.SERVER]
    assert [s.name for s in servers] == ["POST /graphql"] * 2
    request, other = servers
    assert request.parent is not None and request.parent.span_id == caller_span
    assert other.context.trace_id != caller_trace
    trigger = named("trigger trace-thrice")
    assert trigger.parent is not None and trigger.parent.span_id == request.context.span_id
    spans = iterations_of(run_id)
    assert len(spans) == 3
    assert {s.context.trace_id for s in spans} == {caller_trace}


NO_EXTRA = """
import asyncio, importlib.abc, sys

class NotInstalled(importlib.abc.MetaPathFinder):
    tried = 0

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "opentelemetry":
            NotInstalled.tried += 1
            raise ModuleNotFoundError(name)
        return None

sys.meta_path.insert(0, NotInstalled())

from taskloom.definitions import TaskDefinition
from taskloom.definitions.registry import Registry
from taskloom.server.store import queries
from taskloom.server.taskloom import Taskloom


class Once(TaskDefinition):
    id = "once"

    async def run(self, controller):
        return controller.response.done(output=1)


async def main():
    async with Taskloom(sys.argv[1], registry=Registry([Once]), load_entry_points=False) as app:
        run = await app.service.trigger("once")
        run = await app.service.wait(run.id, timeout=10)
        row = await app.database.read(lambda c: queries.get_run(c, run.id))
        print(run.status.value, row["traceparent"])

asyncio.run(main())
print(NotInstalled.tried, sorted(m for m in sys.modules if m.startswith("opentelemetry")))
"""


UNCONFIGURED = """
import asyncio, sys
from taskloom.server import tracing
from taskloom.server.taskloom import Taskloom

async def main():
    async with Taskloom(sys.argv[1], worker=False, load_entry_points=False):
        print(tracing.TRACER)

asyncio.run(main())
"""


def test_installed_but_with_no_tracer_provider_configured_no_span_is_made(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-c", UNCONFIGURED, f"sqlite+aiosqlite:///{tmp_path / 'plain.db'}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["None"]


def test_without_the_extra_nothing_is_imported_and_runs_carry_no_trace(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-c", NO_EXTRA, f"sqlite+aiosqlite:///{tmp_path / 'plain.db'}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["SUCCEEDED None", "1 []"]
