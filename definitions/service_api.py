"""What backend code does with runs wherever Taskloom runs, `RunsAPI`: in
process (`TaskService`) or over the network (`taskloom.Client`); and what
the GraphQL schema may ask of the running system: `TaskServiceAPI`, which
extends `RunsAPI` (each signature is written once), and the caller and API
tokens as `Caller` and `ApiTokenStore`.

The schema is handed these in its context and knows them only by these
protocols, so `taskloom.schema` imports nothing of `taskloom.server`. The
server's `TaskService`, `Actor` and `ApiTokens` satisfy them (mypy checks
that where the GraphQL context is built, `server/graphql_app.py`). The
service's methods also take an `actor`, which the schema never passes: the
service it is handed is bound to the caller."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterable, Sequence
from datetime import datetime
from typing import Any, Protocol

from taskloom.definitions.definition import TaskDefinition
from taskloom.definitions.filters import LogFilter, RunFilter
from taskloom.definitions.records import TaskStatus, WaitReason
from taskloom.definitions.run_view import RunView
from taskloom.definitions.views import BulkResult, LogView, Page, ResultView, ScheduleView
from taskloom.definitions.webhooks import (
    CreatedWebhook,
    WebhookDeliveryView,
    WebhookEvent,
    WebhookView,
)


class RunsAPI(Protocol):
    """The methods `TaskService` and `taskloom.Client` share, with the same
    arguments, results and exceptions: code written against it runs
    embedded or remote (mypy checks both classes against it where their
    synchronous twins wrap them, `server/sync_twin.py`)."""

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
        idempotency_key: str | None = None,
        simulate: bool = False,
        after: Sequence[str] | None = None,
        deadline: float | None = None,
        expires: float | datetime | None = None,
    ) -> RunView: ...

    async def trigger_many(
        self,
        definition: Any,
        inputs: Iterable[Any],
        *,
        delay: float | None = None,
        run_at: datetime | None = None,
        priority: int = 0,
    ) -> list[RunView]: ...

    async def find(self, run_id: str) -> RunView | None: ...

    async def get(self, run_id: str) -> RunView: ...

    async def list_runs(
        self,
        where: RunFilter | None = None,
        *,
        first: int | None = None,
        after: str | None = None,
        order: str = ...,
    ) -> Page[RunView]: ...

    async def count_runs(self, where: RunFilter | None = None) -> int: ...

    async def logs(
        self,
        run_id: str | None = None,
        *,
        where: LogFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Page[LogView]: ...

    async def dependencies(self, run_id: str) -> list[RunView]: ...

    async def history(
        self, run_id: str, *, first: int = ..., skip: int = ...
    ) -> list[ResultView]: ...

    async def wait(
        self, run_id: str, statuses: Iterable[TaskStatus] = ..., timeout: float | None = None
    ) -> RunView: ...

    async def abort(
        self, run_id: str, message: str | None = None, *, cascade: bool = True
    ) -> RunView: ...

    async def abort_many(
        self,
        where: RunFilter | None = None,
        *,
        limit: int,
        message: str | None = None,
        cascade: bool = True,
    ) -> BulkResult: ...

    async def retry_many(self, where: RunFilter | None = None, *, limit: int) -> BulkResult: ...

    async def pause(self, run_id: str) -> RunView: ...

    async def resume(self, run_id: str) -> RunView: ...

    async def retry(self, run_id: str) -> RunView: ...

    async def set_priority(self, run_id: str, priority: int) -> RunView: ...

    def watch(self, run_id: str) -> AsyncGenerator[RunView, None]: ...

    def follow_logs(self, run_id: str) -> AsyncGenerator[LogView, None]: ...


class TaskServiceAPI(RunsAPI, Protocol):
    """`RunsAPI` and what the GraphQL schema asks besides: definitions,
    batches for its DataLoaders, the stream of every run, webhooks,
    schedules and paused definitions."""

    # --- definitions
    def definitions(self) -> list[type[TaskDefinition[Any]]]: ...

    def definition(self, ref: Any) -> type[TaskDefinition[Any]]: ...

    # --- reading, beyond RunsAPI
    async def get_many(self, run_ids: Sequence[str]) -> list[RunView | None]: ...

    async def count_logs(self, where: LogFilter) -> int: ...

    # --- batches for DataLoaders: one answer per id, in order
    async def children_pages(
        self, parent_ids: Sequence[str], first: int | None = None
    ) -> list[Page[RunView]]: ...

    async def count_children(self, parent_ids: Sequence[str]) -> list[int]: ...

    async def dependencies_of(self, run_ids: Sequence[str]) -> list[list[RunView]]: ...

    async def dependents_pages(
        self, run_ids: Sequence[str], first: int | None = None
    ) -> list[Page[RunView]]: ...

    async def count_dependents(self, run_ids: Sequence[str]) -> list[int]: ...

    async def logs_pages(
        self, run_ids: Sequence[str], first: int | None = None, levels: Sequence[str] = ()
    ) -> list[Page[LogView]]: ...

    async def count_logs_of(
        self, run_ids: Sequence[str], levels: Sequence[str] = ()
    ) -> list[int]: ...

    # --- live streams
    def run_events(self, where: RunFilter | None = None) -> AsyncGenerator[RunView, None]: ...

    # --- webhooks (admins only)
    async def create_webhook(
        self,
        url: str,
        events: Iterable[WebhookEvent | str],
        definition_ids: Iterable[str] | None = None,
        secret: str | None = None,
    ) -> CreatedWebhook: ...

    async def delete_webhook(self, webhook_id: str) -> WebhookView: ...

    async def list_webhooks(self) -> list[WebhookView]: ...

    async def webhook_deliveries(
        self,
        webhook_id: str | None = None,
        *,
        run_id: str | None = None,
        first: int | None = None,
    ) -> list[WebhookDeliveryView]: ...

    # --- steering, beyond RunsAPI
    async def delete(self, run_id: str) -> RunView: ...

    # --- schedules
    async def schedules(self) -> list[ScheduleView]: ...

    async def set_schedule_enabled(self, definition_id: str, enabled: bool) -> ScheduleView: ...

    async def create_schedule(
        self, definition_id: str, expression: str, timezone: str = "UTC", input: Any = None
    ) -> ScheduleView: ...

    async def delete_schedule(self, schedule_id: str) -> ScheduleView: ...

    # --- definitions
    async def pause_definition(self, definition_id: str) -> bool: ...

    async def resume_definition(self, definition_id: str) -> bool: ...

    async def paused_definitions(self) -> set[str]: ...

    async def waiting_reasons(self, run_ids: Sequence[str]) -> list[WaitReason | None]: ...


class Caller(Protocol):
    """Who is calling: a token's owner name and role."""

    @property
    def owner(self) -> str: ...
    @property
    def role(self) -> str: ...  # "admin", "developer" or "user"
    @property
    def token_name(self) -> str | None: ...
    @property
    def is_admin(self) -> bool: ...


class ApiTokenInfo(Protocol):
    """A token as listed: never its secret."""

    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def owner(self) -> str: ...
    @property
    def prefix(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def revoked_at(self) -> datetime | None: ...
    @property
    def expires_at(self) -> datetime | None: ...


class NewApiToken(Protocol):
    @property
    def info(self) -> ApiTokenInfo: ...
    @property
    def secret(self) -> str: ...


class ApiTokenStore(Protocol):
    async def create(
        self, name: str, role: str, owner: str | None = None, expires_at: datetime | None = None
    ) -> NewApiToken: ...

    async def list(self, *, include_revoked: bool = False) -> Sequence[ApiTokenInfo]: ...

    async def revoke(self, ref: str) -> ApiTokenInfo: ...
