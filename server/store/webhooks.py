"""The webhooks and their deliveries: the endpoints' rows, the outbox the
sender takes due deliveries from (with a lease, so several senders share
it and one that dies mid-send leaves them to another), and each attempt's
record. The outbox rows themselves are written by the transition's own
statement: a trigger on task_runs that exists while a webhook does
(store/webhook_outbox.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, delete, or_, select, update
from sqlalchemy.engine import RowMapping

from taskloom.definitions.errors import NotFound
from taskloom.definitions.webhooks import DeliveryState
from taskloom.server.store import webhook_outbox
from taskloom.server.store.models import deliveries, webhooks

QUEUED = DeliveryState.QUEUED.value


def insert_webhook(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(webhooks.insert(), [row])
    webhook_outbox.arm(conn)


def list_webhooks(conn: Connection) -> list[RowMapping]:
    """Oldest first."""
    query = select(webhooks).order_by(webhooks.c.created_at, webhooks.c.id)
    return list(conn.execute(query).mappings())


def delete_webhook(conn: Connection, webhook_id: str) -> RowMapping:
    """Deletes the webhook with its deliveries (sent or not) and returns it."""
    found = conn.execute(select(webhooks).where(webhooks.c.id == webhook_id)).mappings().first()
    if found is None:
        raise NotFound(f"no webhook with id {webhook_id!r}")
    conn.execute(delete(deliveries).where(deliveries.c.webhook_id == webhook_id))
    conn.execute(delete(webhooks).where(webhooks.c.id == webhook_id))
    return found


def list_deliveries(
    conn: Connection, webhook_id: str | None, run_id: str | None, first: int
) -> list[RowMapping]:
    """Newest first."""
    query = select(deliveries).order_by(deliveries.c.id.desc()).limit(first)
    if webhook_id is not None:
        query = query.where(deliveries.c.webhook_id == webhook_id)
    if run_id is not None:
        query = query.where(deliveries.c.run_id == run_id)
    return list(conn.execute(query).mappings())


def _free(now: float) -> ColumnElement[bool]:
    """Not leased, or its lease has run out."""
    return or_(deliveries.c.lease_until.is_(None), deliveries.c.lease_until < now)


def _due_and_free(now: float) -> ColumnElement[bool]:
    """Queued, due, and not leased by a sender (the partial index
    ix_webhook_deliveries_due answers it)."""
    return and_(deliveries.c.state == QUEUED, deliveries.c.next_attempt_at <= now, _free(now))


def any_due(conn: Connection, now: float) -> bool:
    """Whether `take_due` would take a delivery now: the sender's read
    before it writes, so an idle sender never takes the write lock."""
    return (
        conn.execute(select(deliveries.c.id).where(_due_and_free(now)).limit(1)).first() is not None
    )


def take_due(conn: Connection, now: float, lease_until: float, limit: int) -> list[RowMapping]:
    """Leases up to `limit` queued deliveries that are due and not leased by
    another sender, oldest due first; returns them with their webhook's
    `url` and `secret`. Concurrent senders: PostgreSQL re-checks the lease
    of a row another just updated, so each delivery goes to one."""
    due = (
        select(deliveries.c.id)
        .where(_due_and_free(now))
        .order_by(deliveries.c.next_attempt_at)
        .limit(limit)
    )
    taken = conn.execute(
        update(deliveries)
        .where(deliveries.c.id.in_(due.scalar_subquery()), deliveries.c.state == QUEUED, _free(now))
        .values(lease_until=lease_until)
        .returning(deliveries.c.id)
    ).scalars()
    ids = list(taken)
    if not ids:
        return []
    query = (
        select(deliveries, webhooks.c.url, webhooks.c.secret)
        .join(webhooks, webhooks.c.id == deliveries.c.webhook_id)
        .where(deliveries.c.id.in_(ids))
        .order_by(deliveries.c.next_attempt_at)
    )
    return list(conn.execute(query).mappings())


def record_attempt(
    conn: Connection,
    delivery_id: int,
    *,
    now: float,
    state: DeliveryState,
    response_status: int | None,
    error: str | None,
    next_attempt_at: float | None,
) -> None:
    """One attempt's result: delivered, queued again for `next_attempt_at`,
    or given up; the lease is released."""
    values: dict[str, Any] = {
        "state": state.value,
        "attempts": deliveries.c.attempts + 1,
        "last_attempt_at": now,
        "response_status": response_status,
        "last_error": error,
        "lease_until": None,
    }
    if state is DeliveryState.DELIVERED:
        values["delivered_at"] = now
    if next_attempt_at is not None:
        values["next_attempt_at"] = next_attempt_at
    conn.execute(update(deliveries).where(deliveries.c.id == delivery_id).values(**values))


def has_webhooks(conn: Connection) -> bool:
    return conn.execute(select(webhooks.c.id).limit(1)).first() is not None


def outbox_unsettled(conn: Connection) -> bool:
    """Whether the outbox trigger is missing while webhooks exist (a
    migration that rebuilt task_runs drops it), or left while none does."""
    return webhook_outbox.exists(conn) != has_webhooks(conn)


def settle_outbox(conn: Connection) -> None:
    """The outbox trigger created while webhooks exist, dropped once none
    is left. Called at start, before any worker, when `outbox_unsettled`:
    dropping it waits for running statements (SQLite) or transactions
    (PostgreSQL), so a delete never does."""
    if has_webhooks(conn):
        webhook_outbox.arm(conn)
    else:
        webhook_outbox.disarm(conn)
