"""SIGTERM to a worker whose iterations outlast the shutdown grace, with
async and plain `def` iterations: the process exits (status 0) soon after
the grace, the runs are handed back, and no iteration runs in two
processes at once. Before: a worker with plain `def` iterations lived on
until their threads returned while a second worker ran the same runs.

Also: `taskloom serve` exits 0 after a clean SIGTERM (it exited 143); a
worker whose async iteration swallows its cancellation exits too (it waited
for that iteration for good)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from taskloom.definitions import TaskStatus
from taskloom.definitions.registry import Registry
from taskloom.server.taskloom import Taskloom
from tests.reliability import ledger
from tests.reliability.defs import Blocking, Sleeping, Stubborn
from tests.reliability.harness import Proc, wait_until

RUNS = 2  # of each kind
SLEEP = 30.0  # far past the grace; the second worker sleeps a hundredth of it


@pytest.mark.timeout(180)
async def test_after_sigterm_no_iteration_runs_in_two_processes(
    database_url: str, tmp_path: Path
) -> None:
    book = tmp_path / "ledger.jsonl"
    api = Taskloom(
        database_url, registry=Registry([Blocking, Sleeping]), worker=False, load_entry_points=False
    )
    await api.start()
    first = Proc(["worker"], database_url, tmp_path, book, TASKLOOM_SHUTDOWN_GRACE="1")
    second = Proc(["worker"], database_url, tmp_path, book, REL_SLEEP_SCALE="0.01")
    try:
        first.start().wait_ready("running")
        runs = [
            await api.service.trigger(definition, {"sleep": SLEEP})
            for definition in (Blocking.id, Sleeping.id)
            for _ in range(RUNS)
        ]

        def started_in_first() -> bool:
            entries = ledger.read(book)
            return sum(e.event == "start" and e.pid == first.pid for e in entries) == len(runs)

        wait_until(started_in_first, 30, "the first worker to start every run")
        second.start().wait_ready("running")
        first.term()
        status = first.wait(timeout=SLEEP / 2)  # not after its iterations' 30 s
        first_gone = time.time()
        assert status == 0, first.output()[-3000:]

        for run in runs:
            done = await api.service.wait(run.id, timeout=60)
            assert done.status is TaskStatus.SUCCEEDED, done.error
        entries = ledger.read(book)
        for run in runs:
            mine = [e for e in entries if e.run == run.id]
            in_first = [e for e in mine if e.pid == first.pid]
            in_second = [e for e in mine if e.pid == second.pid]
            assert [e.event for e in in_second] == ["start", "end"]
            assert "end" not in [e.event for e in in_first]
            # The first process's execution ended (cancelled, or its thread
            # gone with the process) before the second's began.
            cancelled = run.definition_id == Sleeping.id
            ended = max(e.t for e in in_first) if cancelled else first_gone
            assert in_second[0].t > ended, (run.id, in_first, in_second)
        handed_back = [line for line in first.output().splitlines() if "handed back" in line]
        assert handed_back, first.output()[-3000:]
    finally:
        first.stop()
        second.stop()
        await api.stop()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_serve_exits_0_after_a_clean_sigterm(database_url: str, tmp_path: Path) -> None:
    book = tmp_path / "ledger.jsonl"
    api = Taskloom(
        database_url, registry=Registry([Blocking]), worker=False, load_entry_points=False
    )
    await api.start()
    served = Proc(
        ["serve", "--port", "0"], database_url, tmp_path, book, TASKLOOM_SHUTDOWN_GRACE="1"
    )
    try:
        served.start().wait_ready("Application startup complete")
        await api.service.trigger(Blocking.id, {"sleep": SLEEP})
        wait_until(lambda: bool(ledger.read(book)), 30, "the run to start")
        served.term()
        assert served.wait(timeout=SLEEP / 2) == 0, served.output()[-3000:]
    finally:
        served.stop()
        await api.stop()


@pytest.mark.timeout(120)
async def test_sigterm_ends_a_worker_whose_iteration_swallows_its_cancellation(
    database_url: str, tmp_path: Path
) -> None:
    book = tmp_path / "ledger.jsonl"
    api = Taskloom(
        database_url, registry=Registry([Stubborn]), worker=False, load_entry_points=False
    )
    await api.start()
    worker = Proc(["worker"], database_url, tmp_path, book, TASKLOOM_SHUTDOWN_GRACE="1")
    try:
        worker.start().wait_ready("running")
        run = await api.service.trigger(Stubborn.id, {"sleep": 600})
        wait_until(lambda: bool(ledger.read(book)), 30, "the run to start")
        worker.term()
        assert worker.wait(timeout=60) == 0, worker.output()[-3000:]
        output = worker.output()
        assert f"run {run.id}: its iteration went on after it was cancelled" in output
        assert "exiting without waiting for 1 iterations still running" in output
        assert [e.event for e in ledger.read(book)] == ["start", "cancelled"]
        released = await api.service.get(run.id)
        assert released.status is TaskStatus.RUNNING and released.worker_id is None
    finally:
        worker.stop()
        await api.stop()
