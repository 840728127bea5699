"""`TaskService`: the single entry point for backend code and for GraphQL.

It is composed of parts, each an object holding what it needs:

* `presenter.py`: a stored run as clients see it;
* `input_checks.py`: what an input and a trigger's options must be;
* `reader.py` (and `batched_reads.py` for GraphQL's DataLoaders, `live.py`
  for streams): reading runs, logs and results;
* `triggering.py`: creating runs (also through a caller's session);
* `run_actions.py`: abort, pause, resume, retry, priority, deletion, logs;
* `bulk_actions.py`: abort or retry the runs a filter matches;
* `schedules.py`: the schedules, and turning them on or off;
* `definition_switches.py`: pausing a whole definition, and why a due run waits;
* `webhooks.py`: the endpoints told of run events, and their deliveries.

The service resolves who acts (an `actor` argument, else the one bound with
`acting_as`, else the system) and hands the parts that actor."""

from __future__ import annotations

import copy
from collections.abc import AsyncGenerator, Iterable, Sequence
from datetime import datetime
from typing import Any

from taskloom.definitions.definition import TaskDefinition
from taskloom.definitions.filters import LogFilter, RunFilter
from taskloom.definitions.records import TERMINAL_STATUSES, LogLevel, TaskStatus, WaitReason
from taskloom.definitions.registry import Registry
from taskloom.definitions.run_view import RunView
from taskloom.definitions.views import BulkResult, LogView, Page, ResultView, ScheduleView
from taskloom.definitions.webhooks import (
    CreatedWebhook,
    WebhookDeliveryView,
    WebhookEvent,
    WebhookView,
)
from taskloom.server.auth.identity import Actor
from taskloom.server.events.hub import EventHub
from taskloom.server.service.batched_reads import BatchedReads
from taskloom.server.service.bulk_actions import BulkActions
from taskloom.server.service.definition_switches import DefinitionSwitches
from taskloom.server.service.input_checks import InputChecks
from taskloom.server.service.live import follow_logs, watch_run
from taskloom.server.service.presenter import RunPresenter
from taskloom.server.service.reader import RunReader
from taskloom.server.service.run_actions import PURGE_BATCH, RunActions
from taskloom.server.service.run_stream import run_events
from taskloom.server.service.schedules import ScheduleSwitches
from taskloom.server.service.triggering import Triggerer
from taskloom.server.service.webhooks import Webhooks
from taskloom.server.store.database import Database


class TaskService:
    """Acts as the system (may do everything) unless an `actor` is passed to a
    method or bound with `acting_as`: then a `user` sees and acts only on its
    own runs (others' are NotFound), definitions' `roles` restrict triggering,
    and runs record the actor's owner as `created_by`."""

    actor: Actor | None = None

    def __init__(self, database: Database, registry: Registry, hub: EventHub) -> None:
        self.database = database
        self.registry = registry
        self.hub = hub
        self.checks = InputChecks(registry)
        presenter = RunPresenter(registry)
        self.reader = RunReader(database, registry, hub, presenter)
        self.batched = BatchedReads(database, presenter)
        self.triggerer = Triggerer(database, registry, self.checks, presenter, self.reader)
        self.actions = RunActions(database, registry, hub, presenter, self.reader)
        self.bulk = BulkActions(self.reader, self.actions)
        self.schedule_switches = ScheduleSwitches(database, registry, self.checks.prepare_input)
        self.definition_switches = DefinitionSwitches(database, registry, hub)
        self.webhook_admin = Webhooks(database, registry)

    @property
    def max_input_bytes(self) -> int:
        """The largest input a trigger accepts, in bytes of JSON."""
        return self.checks.max_input_bytes

    @max_input_bytes.setter
    def max_input_bytes(self, value: int) -> None:
        self.checks.max_input_bytes = value

    def acting_as(self, actor: Actor | None) -> TaskService:
        """This service, acting as `actor` in every call (None: the system)."""
        bound = copy.copy(self)
        bound.actor = actor
        return bound

    def _who(self, actor: Actor | None) -> Actor | None:
        return actor if actor is not None else self.actor

    # --- definitions and input ------------------------------------------------

    def definitions(self) -> list[type[TaskDefinition[Any]]]:
        return list(self.registry)

    def definition(self, ref: Any) -> type[TaskDefinition[Any]]:
        return self.registry.resolve(ref)

    async def prepare_input(self, ref: Any, raw: Any) -> dict[str, Any]:
        """Validates input and applies the definition's own checks and its
        `on_before_trigger`; returns the input as it will be stored."""
        return await self.checks.prepare_input(ref, raw)

    # --- triggering -------------------------------------------------------------

    async def trigger(
        self,
        definition: Any,
        input: Any = None,
        *,
        name: str | None = None,
        delay: float | None = None,
        run_at: datetime | None = None,
        priority: int = 0,
        parent_id: str | None = None,
        created_by: str | None = None,
        actor: Actor | None = None,
        idempotency_key: str | None = None,
        simulate: bool = False,
        session: Any = None,
        after: Sequence[str] | None = None,
        deadline: float | None = None,
        expires: float | datetime | None = None,
    ) -> RunView:
        """Creates a PENDING run; durable once this returns.

        `after`: ids of runs this one waits for; it starts once each has
        SUCCEEDED, and fails with DEPENDENCY_FAILED, naming the run, if one
        ends otherwise (the ids must exist: no cycle can be made).
        `deadline`: seconds from its first start to its end, across
        iterations and retries, past which it fails with DEADLINE.
        `expires`: seconds after it is due (or a time) by which it must have
        started; otherwise it ends with EXPIRED, never run. Both default to
        the definition's `deadline` and `expires`.

        `idempotency_key`: a second trigger of the same definition with the
        same key returns the first run instead of creating another.
        `simulate`: the run sees `runtime.simulate` true.
        `session`: a caller's SQLAlchemy/SQLModel session (async or sync) on
        the same database; the run is written in its transaction, so it
        exists only once the caller commits."""
        return await self.triggerer.trigger(
            definition,
            input,
            name=name,
            delay=delay,
            run_at=run_at,
            priority=priority,
            parent_id=parent_id,
            created_by=created_by,
            actor=self._who(actor),
            idempotency_key=idempotency_key,
            simulate=simulate,
            session=session,
            after=after,
            deadline=deadline,
            expires=expires,
        )

    async def trigger_many(
        self,
        definition: Any,
        inputs: Iterable[Any],
        *,
        delay: float | None = None,
        run_at: datetime | None = None,
        priority: int = 0,
        created_by: str | None = None,
        actor: Actor | None = None,
    ) -> list[RunView]:
        """Creates many runs in one transaction: all or none. A refusal
        (InvalidInput) lists every refused input, each error with the
        `index` of its input."""
        return await self.triggerer.trigger_many(
            definition,
            inputs,
            delay=delay,
            run_at=run_at,
            priority=priority,
            created_by=created_by,
            actor=self._who(actor),
        )

    # --- reading ------------------------------------------------------------------

    async def find(self, run_id: str, *, actor: Actor | None = None) -> RunView | None:
        """The run, or None when unknown or not visible to the actor."""
        return await self.reader.find(run_id, self._who(actor))

    async def get(self, run_id: str, *, actor: Actor | None = None) -> RunView:
        """The run; NotFound when unknown or not visible to the actor."""
        return await self.reader.get(run_id, self._who(actor))

    async def get_many(
        self, run_ids: Sequence[str], *, actor: Actor | None = None
    ) -> list[RunView | None]:
        return await self.reader.get_many(run_ids, self._who(actor))

    async def list_runs(
        self,
        where: RunFilter | None = None,
        *,
        first: int | None = None,
        after: str | None = None,
        order: str = "CREATED_AT_DESC",
        actor: Actor | None = None,
    ) -> Page[RunView]:
        return await self.reader.list_runs(where, first, after, order, self._who(actor))

    async def count_runs(
        self, where: RunFilter | None = None, *, actor: Actor | None = None
    ) -> int:
        return await self.reader.count_runs(where, self._who(actor))

    async def logs(
        self,
        run_id: str | None = None,
        *,
        where: LogFilter | None = None,
        first: int | None = None,
        after: str | None = None,
        actor: Actor | None = None,
    ) -> Page[LogView]:
        return await self.reader.logs(run_id, where, first, after, self._who(actor))

    async def count_logs(self, where: LogFilter, *, actor: Actor | None = None) -> int:
        return await self.reader.count_logs(where, self._who(actor))

    async def history(
        self, run_id: str, *, first: int = 10, skip: int = 0, actor: Actor | None = None
    ) -> list[ResultView]:
        return await self.reader.history(run_id, first, skip, self._who(actor))

    async def wait(
        self,
        run_id: str,
        statuses: Iterable[TaskStatus] = TERMINAL_STATUSES,
        timeout: float | None = None,
        *,
        actor: Actor | None = None,
    ) -> RunView:
        """The run once it reaches one of `statuses`. Wakes on engine events,
        and re-reads once a second for changes made by other processes."""
        return await self.reader.wait(run_id, statuses, timeout, self._who(actor))

    # --- what callers do to a run -----------------------------------------------

    async def abort(
        self,
        run_id: str,
        message: str | None = None,
        *,
        cascade: bool = True,
        actor: Actor | None = None,
    ) -> RunView:
        """A waiting run is ABORTED at once; a running one when its
        iteration ends. Aborting a finished run is a Conflict.

        `cascade` (default): its unfinished children and the runs triggered
        `after` it are aborted too, and theirs in turn. Each aborted run
        records who aborted it (`aborted_by`) and why (`abort_reason`)."""
        return await self.actions.abort(run_id, message, cascade, self._who(actor))

    async def pause(self, run_id: str, *, actor: Actor | None = None) -> RunView:
        """A pending run is PAUSED at once; a running one gets a PAUSE request
        and is PAUSED after its iteration, with its state saved. Refused
        (Conflict) for finished or paused runs, runs with a pending request,
        and definitions with `pausable = False`."""
        return await self.actions.pause(run_id, self._who(actor))

    async def resume(self, run_id: str, *, actor: Actor | None = None) -> RunView:
        """A PAUSED run is due again (PENDING, or RUNNING and waiting if it had
        started) and continues from its saved state."""
        return await self.actions.resume(run_id, self._who(actor))

    async def retry(self, run_id: str, *, actor: Actor | None = None) -> RunView:
        """Re-queues a FAILED or ABORTED run as its next attempt, keeping its
        state, logs and history. The definition's `on_retry(input, error)`
        may change the input first, as it does for automatic retries."""
        return await self.actions.retry(run_id, self._who(actor))

    async def abort_many(
        self,
        where: RunFilter | None = None,
        *,
        limit: int,
        message: str | None = None,
        cascade: bool = True,
        actor: Actor | None = None,
    ) -> BulkResult:
        """Aborts up to `limit` (1 to 10,000) of the runs matching `where`
        that can be aborted, oldest first, as `abort` would each (with its
        `cascade`); `has_more` tells whether more matched. Runs aborted by
        a cascade are not counted."""
        return await self.bulk.abort_many(where, limit, message, cascade, self._who(actor))

    async def retry_many(
        self, where: RunFilter | None = None, *, limit: int, actor: Actor | None = None
    ) -> BulkResult:
        """Retries up to `limit` (1 to 10,000) of the FAILED or ABORTED runs
        matching `where`, oldest first, as `retry` would each."""
        return await self.bulk.retry_many(where, limit, self._who(actor))

    async def set_priority(
        self, run_id: str, priority: int, *, actor: Actor | None = None
    ) -> RunView:
        """Changes the priority of a run that has not ended; claims take
        higher priorities first."""
        return await self.actions.set_priority(run_id, priority, self._who(actor))

    async def delete(self, run_id: str, *, actor: Actor | None = None) -> RunView:
        """Deletes a finished run with its logs and history and returns it as
        it was; a run that has not ended is a Conflict. Admins only when an
        actor is given."""
        return await self.actions.delete(run_id, self._who(actor))

    async def purge_finished(
        self, older_than_days: float, *, batch_size: int = PURGE_BATCH, actor: Actor | None = None
    ) -> int:
        """Deletes runs that finished more than `older_than_days` ago, with
        their logs and history, one short transaction per batch. Returns how
        many runs were deleted. Admins only when an actor is given."""
        return await self.actions.purge_finished(older_than_days, batch_size, self._who(actor))

    async def log(
        self,
        run_id: str,
        level: LogLevel | str,
        message: str,
        data: Any = None,
        *,
        actor: Actor | None = None,
    ) -> LogView:
        """Appends a log line to any run from backend code; an ERROR line
        sets the run's `has_errors`."""
        return await self.actions.log(run_id, level, message, data, self._who(actor))

    # --- schedules ----------------------------------------------------------------

    async def schedules(self) -> list[ScheduleView]:
        """The schedules: the definitions' own, then those made through the API."""
        return await self.schedule_switches.schedules()

    async def set_schedule_enabled(
        self, definition_id: str, enabled: bool, *, actor: Actor | None = None
    ) -> ScheduleView:
        """Turns a definition's schedule on or off (admins only when an actor
        is given). Turned on again, it starts from its next tick."""
        return await self.schedule_switches.set_enabled(definition_id, enabled, self._who(actor))

    async def create_schedule(
        self,
        definition_id: str,
        expression: str,
        timezone: str = "UTC",
        input: Any = None,
        *,
        actor: Actor | None = None,
    ) -> ScheduleView:
        """A schedule beside the class-level one (admins and developers when
        an actor is given): one run of the definition with `input` per tick
        of the cron `expression` in `timezone`, fired once across workers. A
        bad expression, time zone or input is InvalidInput naming its field."""
        return await self.schedule_switches.create(
            definition_id, expression, timezone, input, self._who(actor)
        )

    async def delete_schedule(
        self, schedule_id: str, *, actor: Actor | None = None
    ) -> ScheduleView:
        """Deletes a schedule made with `create_schedule`; returns it as it was."""
        return await self.schedule_switches.delete(schedule_id, self._who(actor))

    # --- whole definitions ----------------------------------------------------------

    async def pause_definition(self, definition_id: str, *, actor: Actor | None = None) -> bool:
        """Stops every worker from claiming runs of the definition (admins and
        developers when an actor is given); running runs finish their
        iteration, then wait. Lasts until resumed, across restarts. False
        when it was paused already."""
        return await self.definition_switches.pause(definition_id, self._who(actor))

    async def resume_definition(self, definition_id: str, *, actor: Actor | None = None) -> bool:
        """Lets workers claim the definition's runs again; False when it was
        not paused."""
        return await self.definition_switches.resume(definition_id, self._who(actor))

    async def paused_definitions(self) -> set[str]:
        """The ids of the paused definitions."""
        return await self.definition_switches.paused()

    async def waiting_reasons(self, run_ids: Sequence[str]) -> list[WaitReason | None]:
        """Why each run, due and PENDING, is not claimed: RATE_LIMIT,
        DEFINITION_PAUSED, or None (not held)."""
        return await self.definition_switches.waiting_reasons(run_ids)

    # --- webhooks (admins only when an actor is given) -------------------------------

    async def create_webhook(
        self,
        url: str,
        events: Iterable[WebhookEvent | str],
        definition_ids: Iterable[str] | None = None,
        secret: str | None = None,
        *,
        actor: Actor | None = None,
    ) -> CreatedWebhook:
        """Registers an endpoint for these run events, of these definitions
        (None: all). Each delivery is signed with `secret` (None: one is
        made); the secret is returned this once."""
        return await self.webhook_admin.create(
            url, events, definition_ids, secret, self._who(actor)
        )

    async def delete_webhook(self, webhook_id: str, *, actor: Actor | None = None) -> WebhookView:
        """Deletes the webhook and the record of its deliveries."""
        return await self.webhook_admin.delete(webhook_id, self._who(actor))

    async def list_webhooks(self, *, actor: Actor | None = None) -> list[WebhookView]:
        return await self.webhook_admin.all(self._who(actor))

    async def webhook_deliveries(
        self,
        webhook_id: str | None = None,
        *,
        run_id: str | None = None,
        first: int | None = None,
        actor: Actor | None = None,
    ) -> list[WebhookDeliveryView]:
        """Deliveries, newest first, with their state and attempts."""
        return await self.webhook_admin.deliveries(webhook_id, run_id, first, self._who(actor))

    # --- batches for DataLoaders, filters and live streams (GraphQL) ---------------

    @staticmethod
    def run_filter(**fields: Any) -> RunFilter:
        return RunFilter(**fields)

    @staticmethod
    def log_filter(**fields: Any) -> LogFilter:
        return LogFilter(**fields)

    async def children_pages(
        self, parent_ids: Sequence[str], first: int | None = None
    ) -> list[Page[RunView]]:
        """The first page of children of each parent (oldest first), in one
        query; later pages: `list_runs(parent_id=..., order="CREATED_AT_ASC")`."""
        return await self.batched.children_pages(parent_ids, first, self.actor)

    async def dependencies_of(self, run_ids: Sequence[str]) -> list[list[RunView]]:
        """The runs each run was triggered `after`, oldest first, in one
        query (those the caller may see)."""
        return await self.batched.dependencies_lists(run_ids, self.actor)

    async def dependents_pages(
        self, run_ids: Sequence[str], first: int | None = None
    ) -> list[Page[RunView]]:
        """The first page of the runs triggered `after` each run (oldest
        first), in one query; later pages: `list_runs(depends_on=...,
        order="CREATED_AT_ASC")`."""
        return await self.batched.dependents_pages(run_ids, first, self.actor)

    async def count_dependents(self, run_ids: Sequence[str]) -> list[int]:
        """How many runs triggered `after` each run the caller may see."""
        return await self.batched.count_dependents(run_ids, self.actor)

    async def dependencies(self, run_id: str, *, actor: Actor | None = None) -> list[RunView]:
        """The runs `run_id` was triggered `after`, oldest first, with their
        statuses; NotFound when the run is unknown or not visible to the
        actor (a user sees only its own runs among them)."""
        who = self._who(actor)
        await self.reader.get(run_id, who)
        (found,) = await self.batched.dependencies_lists([run_id], who)
        return found

    async def logs_pages(
        self, run_ids: Sequence[str], first: int | None = None, levels: Sequence[str] = ()
    ) -> list[Page[LogView]]:
        """The first page of logs of each run, in one query."""
        return await self.batched.logs_pages(run_ids, first, levels, self.actor)

    async def count_children(self, parent_ids: Sequence[str]) -> list[int]:
        """How many children of each parent the caller may see."""
        return await self.batched.count_children(parent_ids, self.actor)

    async def count_logs_of(self, run_ids: Sequence[str], levels: Sequence[str] = ()) -> list[int]:
        return await self.batched.count_logs_of(run_ids, levels)

    async def last_log_cursor(self, run_id: str) -> str | None:
        """The cursor after the run's newest log line (None: no logs yet)."""
        return await self.reader.last_log_cursor(run_id)

    def watch(self, run_id: str) -> AsyncGenerator[RunView, None]:
        """The run now and after each change, until it ends."""
        return watch_run(self.reader, run_id, self.actor)

    def follow_logs(self, run_id: str) -> AsyncGenerator[LogView, None]:
        """Each new log line of the run, until it ends."""
        return follow_logs(self.reader, run_id, self.actor)

    def run_events(
        self, where: RunFilter | None = None, *, actor: Actor | None = None
    ) -> AsyncGenerator[RunView, None]:
        """Every run the actor may see that meets `where`, after each status,
        progress or request change (and once more when it leaves `where`),
        from now on, without end."""
        return run_events(self.reader, where, self._who(actor))
