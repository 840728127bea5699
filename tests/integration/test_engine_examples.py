"""The examples `make serve` loads, run by the real engine."""

from __future__ import annotations

from typing import Any

import pytest

from taskloom.definitions import TaskStatus
from taskloom.definitions.examples import BatchImport, Countdown, Flaky, fan_out
from taskloom.definitions.filters import RunFilter
from taskloom.server.taskloom import Taskloom

WAIT = 15.0


@pytest.fixture
async def app(make_app: Any) -> Taskloom:
    started: Taskloom = await make_app(Countdown, BatchImport, Flaky, fan_out)
    return started


async def test_countdown_counts_down_with_progress(app: Taskloom) -> None:
    run = await app.service.trigger("countdown", {"start": 3, "delay_seconds": 0})
    run = await app.service.wait(run.id, timeout=WAIT)
    assert run.status is TaskStatus.SUCCEEDED
    assert run.output == {"counted": 3}
    assert run.iterations == 3
    assert run.progress is not None and run.progress.display == "3 of 3 steps"
    messages = [e.message for e in (await app.service.logs(run.id)).items]
    assert messages == ["3...", "2...", "1..."]


async def test_batch_import_imports_every_row(app: Taskloom) -> None:
    run = await app.service.trigger("batch-import", {"rows": 2_000, "batch_size": 500})
    run = await app.service.wait(run.id, timeout=WAIT)
    assert run.status is TaskStatus.SUCCEEDED
    assert run.output == {"imported": 2_000}
    assert run.progress is not None and run.progress.percent == 100


async def test_flaky_succeeds_when_nothing_fails(app: Taskloom) -> None:
    run = await app.service.trigger("flaky", {"failure_rate": 0})
    run = await app.service.wait(run.id, timeout=WAIT)
    assert run.status is TaskStatus.SUCCEEDED
    assert run.output == {"attempt": 0}


async def test_fan_out_waits_for_its_children(app: Taskloom) -> None:
    run = await app.service.trigger("fan-out", {"children": 2})
    run = await app.service.wait(run.id, timeout=WAIT)
    assert run.status is TaskStatus.SUCCEEDED
    assert run.output == {"children": 2}
    children = (await app.service.list_runs(RunFilter(parent_id=run.id))).items
    assert len(children) == 2
    assert all(c.status is TaskStatus.SUCCEEDED for c in children)
    assert {c.name for c in children} == {"child 0", "child 1"}
