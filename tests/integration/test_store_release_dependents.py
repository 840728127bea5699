"""A run triggered `after` others is due the moment its last dependency's
success commits: the outcome's transaction releases it
(transitions.release_dependents), on every path an outcome takes, not the
lease keeper's sweep a second later. On SQLite and PostgreSQL, and, for
the SQLite writer process's hand-shaped statement, side by side with the
portable one."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from sqlalchemy import Connection, delete, insert, select

from taskloom.definitions import TaskController, TaskDefinition, TaskStatus, WaitReason
from taskloom.server.engine import lease_keeper
from taskloom.server.store.models import dependencies, runs
from taskloom.server.store.new_runs import new_run_row
from taskloom.server.store.sqlite.release_sql import release_step
from taskloom.server.store.sqlite.scripts import run_steps
from taskloom.server.store.transitions import release_dependents
from taskloom.server.taskloom import Taskloom
from tests.support.sqlite_pair import sqlite_pair
from tests.support.waiting import reason_of

WAIT = 15.0


class HeldInput(BaseModel):
    hold: bool = False
    fail: bool = False


class Held(TaskDefinition[HeldInput]):
    """Its one iteration waits until the test lets it end."""

    id = "release-held"
    go: ClassVar[asyncio.Event | None] = None
    running: ClassVar[asyncio.Event | None] = None

    async def run(self, controller: TaskController[HeldInput]) -> Any:
        assert Held.go is not None and Held.running is not None
        if controller.input.hold:
            Held.running.set()
            await Held.go.wait()
        if controller.input.fail:
            return controller.response.error("the source is gone", "SOURCE")
        return "done"


async def test_a_dependent_is_due_when_its_dependency_success_commits(make_app: Any) -> None:
    """The dependent is triggered while its dependency's iteration runs
    (the worker's claimed row does not know it has dependents): the read
    that finds the dependency SUCCEEDED finds the dependent released."""
    Held.go, Held.running = asyncio.Event(), asyncio.Event()
    app: Taskloom = await make_app(Held)
    first = await app.service.trigger(Held, {"hold": True})
    await asyncio.wait_for(Held.running.wait(), WAIT)
    other = await app.service.trigger(Held, {})
    await app.service.wait(other.id, timeout=WAIT)
    dependent = await app.service.trigger(Held, {}, after=[first.id, other.id])
    assert reason_of(dependent) is WaitReason.DEPENDENCIES
    Held.go.set()
    done = await app.service.wait(first.id, timeout=WAIT)
    assert done.status is TaskStatus.SUCCEEDED
    now = await app.service.get(dependent.id)
    assert reason_of(now) is not WaitReason.DEPENDENCIES
    finished = await app.service.wait(dependent.id, timeout=WAIT)
    assert finished.status is TaskStatus.SUCCEEDED


async def test_a_dependent_fails_once_its_dependency_fails_without_the_sweep(
    make_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Triggered while its dependency ran, the dependent is failed
    (DEPENDENCY_FAILED) by the worker that saved the failure, not by the
    lease keeper's sweep, turned off here."""
    monkeypatch.setattr(lease_keeper, "SETTLE_CHECK_SECONDS", 3600.0)
    Held.go, Held.running = asyncio.Event(), asyncio.Event()
    app: Taskloom = await make_app(Held)
    first = await app.service.trigger(Held, {"hold": True, "fail": True})
    await asyncio.wait_for(Held.running.wait(), WAIT)
    dependent = await app.service.trigger(Held, {}, after=[first.id])
    Held.go.set()
    ended = await app.service.wait(dependent.id, timeout=WAIT)
    assert ended.status is TaskStatus.FAILED
    assert ended.error is not None and ended.error.code == "DEPENDENCY_FAILED"


# --- the SQLite writer process's statement, held to the portable one -------

RUNS = [f"0190a000-0000-7000-8000-0000000002{i:02d}" for i in range(6)]
STATUSES = ["PENDING", "RUNNING", "SUCCEEDED", "FAILED", "ABORTED", "PAUSED"]


@pytest.fixture(scope="module")
def connections() -> Iterator[tuple[Connection, Connection]]:
    """Two in-memory SQLite databases: the hand-shaped step, the portable one."""
    with sqlite_pair() as pair:
        yield pair


@st.composite
def graphs(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """Six runs in any status, waiting or not, due later or not, each
    depending on some of the runs before it."""
    rows, edges = [], []
    for index, run_id in enumerate(RUNS):
        scheduled = draw(st.sampled_from([1.0e9, 2.0e9, 3.0e9]))
        row = new_run_row(definition_id="job", input={}, now=1.0e9, run_at=scheduled, run_id=run_id)
        waits = draw(st.booleans())
        row.update(
            status=draw(st.sampled_from(STATUSES)),
            waiting="DEPENDENCIES" if waits else draw(st.sampled_from([None, "CHILDREN"])),
            run_at=253402300799.0 if waits else scheduled,
        )
        rows.append(row)
        for earlier in draw(st.sets(st.sampled_from(RUNS[:index]))) if index else ():
            edges.append({"run_id": run_id, "depends_on": earlier})
    return rows, edges


def _stored(conn: Connection) -> list[dict[str, Any]]:
    return [dict(row) for row in conn.execute(select(runs).order_by(runs.c.id)).mappings()]


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(graph=graphs(), succeeded=st.lists(st.sampled_from(RUNS), min_size=1, max_size=4))
def test_the_hand_shaped_release_does_what_the_portable_one_does(
    connections: tuple[Connection, Connection],
    graph: tuple[list[dict[str, Any]], list[dict[str, str]]],
    succeeded: list[str],
) -> None:
    rows, edges = graph
    shaped, portable = connections
    for conn in (shaped, portable):
        conn.execute(delete(dependencies))
        conn.execute(delete(runs))
        conn.execute(insert(runs), rows)
        if edges:
            conn.execute(insert(dependencies), edges)
    now = 2.5e9
    (by_hand,) = run_steps(shaped, [release_step(succeeded, now)])
    by_core = portable.execute(*release_dependents(succeeded, now)).all()
    assert sorted(map(tuple, by_hand)) == sorted(map(tuple, by_core))
    assert _stored(shaped) == _stored(portable)
