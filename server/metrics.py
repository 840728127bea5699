"""Prometheus metrics at `/metrics`.

Two kinds of figures:

* counters and the iteration histogram of *this process*, fed synchronously
  by the event hub (`EventHub.on_publish`): runs triggered, runs finished by
  definition and status, iteration durations;
* gauges read from the database at scrape time (`server/store/gauges.py`),
  so they describe the whole cluster whatever process is scraped: runs due
  (waiting for a worker slot), runs delayed (due later), unfinished runs by
  status as clients read it, started runs waiting for their next iteration,
  the age of the oldest due run; plus this process's busy and free worker
  slots.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    gc_collector,
    generate_latest,
    platform_collector,
    process_collector,
)
from starlette.requests import Request
from starlette.responses import Response

from taskloom.definitions.records import TERMINAL_STATUSES
from taskloom.server.events.hub import Event
from taskloom.server.store.gauges import queue_figures
from taskloom.server.store.unloaded import due_unloaded

if TYPE_CHECKING:
    from taskloom.server.taskloom import Taskloom

ITERATION_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)


class Metrics:
    """The metrics of one Taskloom: `attach` after it started, `endpoint`
    serves `/metrics`. Each instance has its own registry, so several
    Taskloom objects in one process (tests) never share counters."""

    def __init__(self, *, process: bool = True) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        if process:
            process_collector.ProcessCollector(registry=r)
            platform_collector.PlatformCollector(registry=r)
            gc_collector.GCCollector(registry=r)
        self.triggered = Counter(
            "taskloom_runs_triggered",
            "Runs created (triggered or started as children) by this process",
            ["definition"],
            registry=r,
        )
        self.finished = Counter(
            "taskloom_runs_finished",
            "Runs that reached a final status in this process",
            ["definition", "status"],
            registry=r,
        )
        self.iterations = Histogram(
            "taskloom_iteration_duration_seconds",
            "Time one iteration (one call of run(), its hooks included) took",
            ["definition"],
            buckets=ITERATION_BUCKETS,
            registry=r,
        )
        self.due = Gauge(
            "taskloom_runs_due",
            "Runs due now, waiting for a slot (never started, or between iterations)",
            registry=r,
        )
        self.delayed = Gauge(
            "taskloom_runs_delayed",
            "Runs that become due later (never started, or between iterations)",
            registry=r,
        )
        self.waiting = Gauge(
            "taskloom_runs_waiting",
            "RUNNING runs waiting for their next iteration (counted in taskloom_runs too)",
            registry=r,
        )
        self.unfinished = Gauge(
            "taskloom_runs", "Unfinished runs by status (whole database)", ["status"], registry=r
        )
        self.oldest_due = Gauge(
            "taskloom_oldest_due_run_age_seconds",
            "How long the oldest due run has been waiting (0 when none is due)",
            registry=r,
        )
        self.slots = Gauge(
            "taskloom_worker_slots",
            "This process's worker slots by state (busy or free)",
            ["state"],
            registry=r,
        )
        self.not_loaded = Gauge(
            "taskloom_runs_definition_not_loaded",
            "Due runs whose definition is not loaded in this process (they wait)",
            ["definition"],
            registry=r,
        )
        self.taskloom: Taskloom | None = None

    def attach(self, taskloom: Taskloom) -> None:
        """Starts counting the events of a started Taskloom."""
        self.taskloom = taskloom
        taskloom.hub.on_publish(self.observe)

    def observe(self, event: Event) -> None:
        if event.kind != "run":
            return
        data = event.data
        definition = data.get("definition_id")
        if definition is None:
            return
        if data.get("triggered"):
            self.triggered.labels(definition).inc()
        seconds = data.get("seconds")
        if seconds is not None:
            self.iterations.labels(definition).observe(seconds)
        if data.get("finished") and event.status in TERMINAL_STATUSES:
            self.finished.labels(definition, event.status).inc()

    async def refresh(self) -> None:
        """Reads the gauges that come from the database and the worker."""
        taskloom = self.taskloom
        if taskloom is None:
            return
        now = time.time()
        figures = await taskloom.database.read(lambda c: queue_figures(c, now))
        self.due.set(figures.due)
        self.delayed.set(figures.delayed)
        self.waiting.set(figures.waiting)
        for status, count in figures.by_status.items():
            self.unfinished.labels(status).set(count)
        known = {definition.id for definition in taskloom.registry}
        unloaded = await taskloom.database.read(lambda c: due_unloaded(c, known, now))
        self.not_loaded.clear()
        for definition, count in unloaded.items():
            self.not_loaded.labels(definition).set(count)
        self.oldest_due.set(0 if figures.oldest_due_at is None else now - figures.oldest_due_at)
        worker = taskloom.worker
        slots = 0 if worker is None else worker.options.concurrency
        busy = 0 if worker is None else worker.busy
        self.slots.labels("busy").set(busy)
        self.slots.labels("free").set(slots - busy)

    def render(self) -> bytes:
        return generate_latest(self.registry)

    async def endpoint(self, request: Request) -> Response:
        await self.refresh()
        return Response(self.render(), headers={"Content-Type": CONTENT_TYPE_LATEST})
