"""`Taskloom`: the whole system in one object, for embedding and serving."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import cached_property
from types import TracebackType
from typing import TYPE_CHECKING, Any

from taskloom.definitions.definition import TaskDefinition
from taskloom.definitions.errors import ConfigurationError, TaskloomError, Unavailable
from taskloom.definitions.filters import RunFilter
from taskloom.definitions.registry import Registry, load_entry_points, load_modules, registry
from taskloom.definitions.run_view import RunView
from taskloom.server import tracing
from taskloom.server.engine.iteration import IterationRunner
from taskloom.server.engine.scheduler import Scheduler
from taskloom.server.engine.threads import TaskThreads
from taskloom.server.engine.worker import Worker, WorkerOptions
from taskloom.server.events.announce import announcer
from taskloom.server.events.bridges import Bridge, bridge
from taskloom.server.events.hub import EventHub
from taskloom.server.gctuning import tune_collector
from taskloom.server.maintenance import retention_definition
from taskloom.server.service import TaskService
from taskloom.server.settings import Settings, load_settings
from taskloom.server.shutdown import Shutdown
from taskloom.server.store import queries
from taskloom.server.store.connect import open_database
from taskloom.server.store.database import Database
from taskloom.server.store.migrate import migrate
from taskloom.server.store.webhooks import outbox_unsettled, settle_outbox
from taskloom.server.webhooks.sender import SenderOptions, WebhookSender

if TYPE_CHECKING:
    from taskloom.server.auth.http import Authenticator
    from taskloom.server.auth.tokens import ApiTokens


log = logging.getLogger("taskloom")


class Taskloom:
    """`async with Taskloom(database_url=..., definitions=["myapp.tasks"]) as app:`
    gives a migrated database, `app.service`, and (unless `worker=False`) a
    worker running in this process."""

    def __init__(
        self,
        database_url: str | None = None,
        definitions: Iterable[str | type[TaskDefinition[Any]]] = (),
        *,
        worker: bool = True,
        settings: Settings | None = None,
        registry: Registry | None = None,
        **overrides: Any,
    ) -> None:
        base = settings or load_settings()
        if database_url is not None:
            overrides["database_url"] = database_url
        self.settings = base.model_copy(update=overrides) if overrides else base
        self._definitions = list(definitions)
        self._registry = registry
        self._with_worker = worker
        self.worker: Worker | None = None
        self._runner: IterationRunner | None = None
        self.scheduler: Scheduler | None = None
        self._bridge: Bridge | None = None
        self.webhook_sender: WebhookSender | None = None
        # The phases the last stop() abandoned (server/shutdown.py).
        self.abandoned_at_stop: list[str] = []

    def _load_registry(self) -> Registry:
        modules = self.settings.definition_modules + [
            d for d in self._definitions if isinstance(d, str)
        ]
        load_modules(modules)
        if self.settings.load_entry_points:
            load_entry_points()
        chosen = self._registry if self._registry is not None else registry
        for definition in self._definitions:
            if not isinstance(definition, str):
                chosen.add(definition)
        return chosen

    async def start(self) -> Taskloom:
        s = self.settings
        self.registry = self._load_registry()
        self.database = open_database(
            s.database_url, sqlite_synchronous=s.sqlite_synchronous, pool_size=s.pool_size
        )
        self.database.write_timeout = s.write_timeout
        await open_and_migrate(self.database)
        tracing.setup(s.otel)
        self.hub = EventHub()
        self.database.on_commit = announcer(self.hub)
        self._bridge = await bridge(self.database, self.hub)
        self.service = TaskService(self.database, self.registry, self.hub)
        self._add_maintenance()
        self.service.max_input_bytes = s.max_input_bytes
        self.service.checks.max_input_depth = s.max_input_depth
        self.executor = TaskThreads(max_workers=min(s.concurrency, 64))
        if self._with_worker:
            if s.sqlite_writer_process:
                await self.database.start_worker_writes()
            runner = IterationRunner(
                self.registry,
                self.executor,
                wall_clock=self.database.clock,
                validate_child=self._validate_child,
                finish_child=self.service.prepare_input,
                list_children=self._list_children,
            )
            options = WorkerOptions(
                concurrency=s.concurrency,
                lease_seconds=s.lease_seconds,
                poll_interval=s.poll_interval,
                max_lease_losses=s.max_lease_losses,
                shutdown_grace=s.shutdown_grace,
            )
            self.worker = Worker(self.database, runner, self.hub, options, self.executor)
            self._runner = runner
            await self.worker.start()
            self.scheduler = Scheduler(
                self.database,
                self.registry,
                self.service.prepare_input,
                self.database.clock,
            )
            await self.scheduler.start()
            if s.webhook_sender:
                self.webhook_sender = WebhookSender(
                    self.database, self._sender_options(), self.database.clock
                )
                await self.webhook_sender.start()
        if s.tune_gc:
            tune_collector()
        return self

    # Built on first use (serving, `taskloom token`): a worker alone never
    # imports them.
    @cached_property
    def tokens(self) -> ApiTokens:
        from taskloom.server.auth.tokens import ApiTokens

        return ApiTokens(self.database)

    @cached_property
    def authenticator(self) -> Authenticator:
        from taskloom.server.auth.http import Authenticator

        return Authenticator(self.tokens, enabled=self.settings.auth != "disabled")

    def _sender_options(self) -> SenderOptions:
        s = self.settings
        return SenderOptions(
            poll=s.webhook_poll_interval,
            timeout=s.webhook_timeout,
            concurrency=s.webhook_concurrency,
            backoff=s.webhook_backoff,
            max_backoff=s.webhook_max_backoff,
            retry_seconds=s.webhook_retry_seconds,
        )

    def _add_maintenance(self) -> None:
        s = self.settings
        wanted = s.maintenance if s.maintenance is not None else self._registry is None
        if wanted and s.retention_days > 0:
            service = self.service
            self.registry.add(retention_definition(service.purge_finished, s.retention_days))

    def _validate_child(self, ref: Any, raw: Any) -> tuple[str, dict[str, Any]]:
        definition = self.registry.resolve(ref)
        return definition.id, definition.parse_input(raw).model_dump(mode="json")

    async def _list_children(self, run_id: str) -> list[RunView]:
        rows = await self.database.read(
            lambda c: queries.list_runs(c, RunFilter(parent_id=run_id), 500, None, "CREATED_AT_ASC")
        )
        return [RunView.from_row(r) for r in rows.rows]

    async def stop(self, grace: float | None = None) -> None:
        """Stops the webhook sender, the scheduler, the worker (its running
        iterations get `grace` seconds, TASKLOOM_SHUTDOWN_GRACE by default),
        the event bridge and the database, in this order. Each phase gets a
        bound (the worker: grace + TASKLOOM_SHUTDOWN_MARGIN, the others: the
        margin); one past it is abandoned with an error line naming it, and
        the rest still runs (server/shutdown.py), so stop() always ends. A
        database that did not close in time has its helper process killed."""
        margin = self.settings.shutdown_margin
        shutdown = Shutdown()
        if self.webhook_sender is not None:
            await shutdown.phase("webhook sender", self.webhook_sender.stop, margin)
            self.webhook_sender = None
        if self.scheduler is not None:
            await shutdown.phase("scheduler", self.scheduler.stop, margin)
            self.scheduler = None
        if self.worker is not None:
            worker = self.worker
            bound = (worker.options.shutdown_grace if grace is None else grace) + margin
            await shutdown.phase("worker", lambda: worker.stop(grace), bound)
            self.worker = None
        if self._bridge is not None:
            await shutdown.phase("event bridge", self._bridge.close, margin)
            self._bridge = None
        if not await shutdown.phase("database", self.database.close, margin):
            self.database.abandon()
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.abandoned_at_stop = shutdown.abandoned

    @property
    def lingering_threads(self) -> int:
        """Synchronous run() calls still running past their iteration (a
        timeout, or the shutdown grace): Python cannot stop their threads;
        and iterations that went on after stop() cancelled them."""
        return len(self._runner.lingering) if self._runner is not None else 0

    async def __aenter__(self) -> Taskloom:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


CHECK_DATABASE_URL = (
    "check TASKLOOM_DATABASE_URL (host, port, user, password, database name or file path) "
    "and that the database is running"
)


async def settle_webhook_outbox(database: Database) -> None:
    """The outbox trigger brought in line with the webhooks; a failure (the
    trigger's table locked by another process's long transaction) leaves it
    as it was, to be settled at a later start."""
    try:
        await database.write_fn(settle_outbox)
    except TaskloomError as exc:
        log.warning("the webhook outbox trigger was left as it was: %s", exc)


async def open_and_migrate(database: Database) -> None:
    """Starts `database` and brings it to the latest schema; closed again
    (its threads and processes ended) if either fails. One that cannot be
    opened or reached (the adapter's `fault`) is a ConfigurationError: what
    is wrong, and what to set."""
    try:
        await database.start()
        await migrate(database)
        if await database.read(outbox_unsettled):
            await settle_webhook_outbox(database)
    except BaseException as exc:
        await database.close()
        reason = None
        if isinstance(exc, Unavailable):
            reason = exc.message
        elif isinstance(exc, Exception):
            reason = database.fault(exc, "open")
        if reason is None:
            raise
        raise ConfigurationError(reason, CHECK_DATABASE_URL) from exc


async def migrate_database(settings: Settings | None = None) -> str:
    """The `migrate` command's work: the database brought to the latest
    schema, importing no task definitions (it needs none); returns its URL."""
    s = settings or load_settings()
    database = open_database(
        s.database_url, sqlite_synchronous=s.sqlite_synchronous, pool_size=s.pool_size
    )
    database.write_timeout = s.write_timeout
    await open_and_migrate(database)
    await database.close()
    return s.database_url
