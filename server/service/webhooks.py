"""Webhooks as the service manages them (admins only when an actor is
given): register an endpoint for run events, list, delete, and read the
record of its deliveries."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from taskloom.definitions.filters import page_size
from taskloom.definitions.webhooks import (
    CreatedWebhook,
    WebhookDeliveryView,
    WebhookEvent,
    WebhookView,
    join_list,
)
from taskloom.server.auth.identity import Actor, require_admin
from taskloom.server.service.input_checks import invalid_field
from taskloom.server.store import webhooks as store

if TYPE_CHECKING:
    from taskloom.definitions.registry import Registry
    from taskloom.server.store.database import Database

MAX_URL = 2_000
MIN_SECRET, MAX_SECRET = 16, 200


class Webhooks:
    def __init__(self, database: Database, registry: Registry) -> None:
        self.database = database
        self.registry = registry

    async def create(
        self,
        url: str,
        events: Iterable[WebhookEvent | str],
        definition_ids: Iterable[str] | None,
        secret: str | None,
        actor: Actor | None,
    ) -> CreatedWebhook:
        """`secret` None: one is made. The secret is returned this once."""
        require_admin(actor, "manage webhooks")
        key = _checked_secret(secret)
        row = {
            "id": str(uuid.uuid4()),
            "url": _checked_url(url),
            "events": join_list(self._checked_events(events)),
            "definition_ids": join_list(self._checked_definitions(definition_ids)),
            "secret": key,
            "created_at": self.database.clock(),
            "created_by": None if actor is None else actor.owner,
        }
        await self.database.write_fn(lambda c: store.insert_webhook(c, row))
        return CreatedWebhook(WebhookView.from_row(row), key)

    async def delete(self, webhook_id: str, actor: Actor | None) -> WebhookView:
        """Deletes the webhook and its deliveries; NotFound if unknown."""
        require_admin(actor, "manage webhooks")
        row = await self.database.write_fn(lambda c: store.delete_webhook(c, webhook_id))
        return WebhookView.from_row(row)

    async def all(self, actor: Actor | None) -> list[WebhookView]:
        require_admin(actor, "manage webhooks")
        rows = await self.database.read(store.list_webhooks)
        return [WebhookView.from_row(r) for r in rows]

    async def deliveries(
        self, webhook_id: str | None, run_id: str | None, first: int | None, actor: Actor | None
    ) -> list[WebhookDeliveryView]:
        """Newest first."""
        require_admin(actor, "manage webhooks")
        size = page_size(first)
        rows = await self.database.read(
            lambda c: store.list_deliveries(c, webhook_id, run_id, size)
        )
        return [WebhookDeliveryView.from_row(r) for r in rows]

    @staticmethod
    def _checked_events(events: Iterable[WebhookEvent | str]) -> tuple[str, ...]:
        chosen: list[str] = []
        for event in events:
            try:
                value = WebhookEvent(str(event).lower()).value
            except ValueError:
                names = ", ".join(e.value for e in WebhookEvent)
                raise invalid_field("events", f"{event!r} is not one of {names}") from None
            if value not in chosen:
                chosen.append(value)
        if not chosen:
            raise invalid_field("events", "name at least one event")
        return tuple(chosen)

    def _checked_definitions(self, definition_ids: Iterable[str] | None) -> tuple[str, ...] | None:
        if definition_ids is None:
            return None
        chosen = tuple(dict.fromkeys(definition_ids))
        if not chosen:
            raise invalid_field("definitionIds", "omit it for every definition, or name some")
        unknown = [d for d in chosen if d not in self.registry or "," in d]
        if unknown:
            raise invalid_field("definitionIds", f"unknown definitions: {', '.join(unknown)}")
        return chosen


def _checked_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise invalid_field("url", "must be an http:// or https:// URL with a host")
    if len(url) > MAX_URL:
        raise invalid_field("url", f"must be at most {MAX_URL} characters")
    return url


def _checked_secret(secret: str | None) -> str:
    if secret is None:
        return "whsec_" + secrets.token_urlsafe(32)
    if not MIN_SECRET <= len(secret) <= MAX_SECRET:
        raise invalid_field("secret", f"must be {MIN_SECRET} to {MAX_SECRET} characters")
    return secret
