"""Webhooks as backend code and the GraphQL schema see them: the run events
an endpoint may subscribe to, a delivery's state, and their read models.
(Sending them is the server's: server/webhooks/.)"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from taskloom.definitions.run_view import Row
from taskloom.definitions.timestamps import exact_datetime, to_datetime


class WebhookEvent(StrEnum):
    """What happened to a run. `started`: an attempt's first iteration was
    claimed; `retrying`: a failed attempt waits for the next (automatic, or
    a retry by request)."""

    STARTED = "started"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    ABORTED = "aborted"
    PAUSED = "paused"
    RETRYING = "retrying"


class DeliveryState(StrEnum):
    QUEUED = "queued"  # not sent yet, or waiting for its next attempt
    DELIVERED = "delivered"  # the endpoint answered 2xx
    GAVE_UP = "gave_up"  # no 2xx within the webhook's retry time


@dataclass(frozen=True)
class WebhookView:
    id: str
    url: str
    events: tuple[WebhookEvent, ...]
    definition_ids: tuple[str, ...] | None  # None: every definition
    created_at: datetime
    created_by: str | None

    @classmethod
    def from_row(cls, row: Row) -> WebhookView:
        return cls(
            id=row["id"],
            url=row["url"],
            events=tuple(WebhookEvent(e) for e in split_list(row["events"]) or ()),
            definition_ids=split_list(row["definition_ids"]),
            created_at=exact_datetime(row["created_at"]),
            created_by=row["created_by"],
        )


@dataclass(frozen=True)
class CreatedWebhook:
    """A new webhook and its signing secret, shown this once."""

    webhook: WebhookView
    secret: str


@dataclass(frozen=True)
class WebhookDeliveryView:
    id: int
    webhook_id: str
    event: WebhookEvent
    run_id: str
    state: DeliveryState
    attempts: int
    occurred_at: datetime
    next_attempt_at: datetime | None  # None once delivered or given up
    last_attempt_at: datetime | None
    response_status: int | None  # the last attempt's HTTP status
    last_error: str | None  # the last attempt's failure, when it failed
    delivered_at: datetime | None

    @classmethod
    def from_row(cls, row: Row) -> WebhookDeliveryView:
        state = DeliveryState(row["state"])
        last, delivered = row["last_attempt_at"], row["delivered_at"]
        return cls(
            id=row["id"],
            webhook_id=row["webhook_id"],
            event=WebhookEvent(row["event"]),
            run_id=row["run_id"],
            state=state,
            attempts=row["attempts"],
            occurred_at=exact_datetime(row["occurred_at"]),
            next_attempt_at=to_datetime(row["next_attempt_at"])
            if state is DeliveryState.QUEUED
            else None,
            last_attempt_at=None if last is None else exact_datetime(last),
            response_status=row["response_status"],
            last_error=row["last_error"],
            delivered_at=None if delivered is None else exact_datetime(delivered),
        )


def join_list(values: tuple[str, ...] | None) -> str | None:
    """How the store keeps a list the outbox trigger matches with one string
    search: ",a,b," (None stays None: every definition)."""
    return None if values is None else "," + ",".join(values) + ","


def split_list(stored: str | None) -> tuple[str, ...] | None:
    return None if stored is None else tuple(v for v in stored.split(",") if v)
