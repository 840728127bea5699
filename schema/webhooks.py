"""Webhooks over GraphQL (admins only): `webhooks`, `webhookDeliveries`,
`createWebhook`, `deleteWebhook`. The README's Webhooks section documents
what a delivery posts and how it is signed."""

from __future__ import annotations

from datetime import datetime

import strawberry

from taskloom.definitions.webhooks import (
    DeliveryState,
    WebhookDeliveryView,
    WebhookEvent,
    WebhookView,
)
from taskloom.schema.context import Info

strawberry.enum(WebhookEvent, name="WebhookEvent", description="What happened to a run.")
strawberry.enum(DeliveryState, name="WebhookDeliveryState", description="Where a delivery is.")


@strawberry.type(description="An endpoint told of run events; never its secret.")
class Webhook:
    id: strawberry.ID
    url: str
    events: list[WebhookEvent]
    definition_ids: list[strawberry.ID] | None = strawberry.field(
        description="Only runs of these definitions; null: every definition."
    )
    created_at: datetime
    created_by: str | None

    @classmethod
    def of(cls, view: WebhookView) -> Webhook:
        return cls(
            id=strawberry.ID(view.id),
            url=view.url,
            events=list(view.events),
            definition_ids=None
            if view.definition_ids is None
            else [strawberry.ID(d) for d in view.definition_ids],
            created_at=view.created_at,
            created_by=view.created_by,
        )


@strawberry.type(description="A new webhook. `secret` is shown this once.")
class CreatedWebhook:
    webhook: Webhook
    secret: str = strawberry.field(
        description="Signs each delivery: the Taskloom-Signature header (README, Webhooks)."
    )


@strawberry.type(description="One event sent (or to be sent) to one webhook.")
class WebhookDelivery:
    id: strawberry.ID
    webhook_id: strawberry.ID
    event: WebhookEvent
    run_id: strawberry.ID
    state: DeliveryState
    attempts: int
    occurred_at: datetime
    next_attempt_at: datetime | None = strawberry.field(
        description="When it is tried next; null once delivered or given up."
    )
    last_attempt_at: datetime | None
    response_status: int | None = strawberry.field(
        description="The HTTP status of the last attempt, when the endpoint answered."
    )
    last_error: str | None
    delivered_at: datetime | None

    @classmethod
    def of(cls, view: WebhookDeliveryView) -> WebhookDelivery:
        return cls(
            id=strawberry.ID(str(view.id)),
            webhook_id=strawberry.ID(view.webhook_id),
            event=view.event,
            run_id=strawberry.ID(view.run_id),
            state=view.state,
            attempts=view.attempts,
            occurred_at=view.occurred_at,
            next_attempt_at=view.next_attempt_at,
            last_attempt_at=view.last_attempt_at,
            response_status=view.response_status,
            last_error=view.last_error,
            delivered_at=view.delivered_at,
        )


@strawberry.type
class WebhookQueries:
    @strawberry.field(description="The registered webhooks, oldest first (admins only).")
    async def webhooks(self, info: Info) -> list[Webhook]:
        return [Webhook.of(v) for v in await info.context.service.list_webhooks()]

    @strawberry.field(
        description="Deliveries, newest first, of one webhook or run or of all (admins only)."
    )
    async def webhook_deliveries(
        self,
        info: Info,
        webhook_id: strawberry.ID | None = None,
        run_id: strawberry.ID | None = None,
        first: int | None = 50,
    ) -> list[WebhookDelivery]:
        views = await info.context.service.webhook_deliveries(
            webhook_id, run_id=run_id, first=first
        )
        return [WebhookDelivery.of(v) for v in views]


@strawberry.type
class WebhookMutations:
    @strawberry.mutation(
        description="Registers an endpoint for these run events (admins only); "
        "`definitionIds` omitted: every definition; `secret` omitted: one is made. "
        "The secret is returned this once."
    )
    async def create_webhook(
        self,
        info: Info,
        url: str,
        events: list[WebhookEvent],
        definition_ids: list[strawberry.ID] | None = None,
        secret: str | None = None,
    ) -> CreatedWebhook:
        created = await info.context.service.create_webhook(
            url,
            events,
            None if definition_ids is None else [str(d) for d in definition_ids],
            secret,
        )
        return CreatedWebhook(webhook=Webhook.of(created.webhook), secret=created.secret)

    @strawberry.mutation(
        description="Deletes a webhook and the record of its deliveries (admins only)."
    )
    async def delete_webhook(self, info: Info, id: strawberry.ID) -> Webhook:
        return Webhook.of(await info.context.service.delete_webhook(str(id)))
