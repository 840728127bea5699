"""`taskloom webhook create | list | delete | deliveries`: webhooks managed
straight on the database (TASKLOOM_DATABASE_URL), as `taskloom token` does;
over GraphQL an admin token uses createWebhook, webhooks, deleteWebhook and
webhookDeliveries."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from taskloom.server.cli_help import CommandApp
from taskloom.server.command_runner import new_taskloom, run_command

if TYPE_CHECKING:
    from taskloom.definitions.webhooks import CreatedWebhook, WebhookDeliveryView, WebhookView

webhook_app = CommandApp(help="Manage webhooks (admin).", no_args_is_help=True)


def _webhook(view: WebhookView) -> dict[str, Any]:
    return {
        "id": view.id,
        "url": view.url,
        "events": [e.value for e in view.events],
        "definition_ids": None if view.definition_ids is None else list(view.definition_ids),
        "created_at": view.created_at.isoformat(),
    }


def _describe(view: WebhookView) -> str:
    definitions = ",".join(view.definition_ids) if view.definition_ids else "all definitions"
    events = ",".join(e.value for e in view.events)
    return f"{view.id}  {view.url}  {events}  ({definitions})"


def _delivery(view: WebhookDeliveryView) -> dict[str, Any]:
    def at(value: Any) -> str | None:
        return None if value is None else value.isoformat()

    return {
        "id": view.id,
        "webhook_id": view.webhook_id,
        "event": view.event.value,
        "run_id": view.run_id,
        "state": view.state.value,
        "attempts": view.attempts,
        "response_status": view.response_status,
        "last_error": view.last_error,
        "occurred_at": at(view.occurred_at),
        "next_attempt_at": at(view.next_attempt_at),
        "delivered_at": at(view.delivered_at),
    }


@webhook_app.command("create")
def create(
    url: Annotated[str, typer.Argument(metavar="URL", help="Where deliveries are POSTed.")],
    event: Annotated[
        list[str],
        typer.Option(
            help="A run event: started, succeeded, failed, aborted, paused or retrying; "
            "repeat it for several."
        ),
    ],
    definition: Annotated[
        list[str] | None,
        typer.Option(
            help="Only runs of this definition; repeat it for several; without it, every run."
        ),
    ] = None,
    secret: Annotated[
        str | None,
        typer.Option(help="The signing secret, 16 to 200 characters; without it, one is made."),
    ] = None,
) -> None:
    """Register an endpoint and print its signing secret (shown only this once)."""

    async def work() -> CreatedWebhook:
        async with new_taskloom(worker=False) as taskloom:
            return await taskloom.service.create_webhook(url, event, definition or None, secret)

    created = run_command(work)
    typer.echo(_describe(created.webhook))
    typer.echo("Signing secret (shown only this once; store it now):")
    typer.echo(created.secret)


@webhook_app.command("list")
def list_webhooks(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON, for scripts.")] = False,
) -> None:
    """List webhooks (never their secrets)."""

    async def work() -> list[WebhookView]:
        async with new_taskloom(worker=False) as taskloom:
            return await taskloom.service.list_webhooks()

    found = run_command(work)
    if as_json:
        typer.echo(json.dumps([_webhook(w) for w in found], indent=2))
        return
    for view in found:
        typer.echo(_describe(view))
    if not found:
        typer.echo("no webhooks")


@webhook_app.command("delete")
def delete(webhook_id: Annotated[str, typer.Argument(help="The webhook's id.")]) -> None:
    """Delete a webhook and the record of its deliveries."""

    async def work() -> WebhookView:
        async with new_taskloom(worker=False) as taskloom:
            return await taskloom.service.delete_webhook(webhook_id)

    typer.echo(f"deleted {_describe(run_command(work))}")


@webhook_app.command("deliveries")
def deliveries(
    webhook: Annotated[
        str | None, typer.Option(metavar="WEBHOOK_ID", help="Only this webhook's.")
    ] = None,
    run: Annotated[str | None, typer.Option(metavar="RUN_ID", help="Only this run's.")] = None,
    limit: Annotated[int, typer.Option(metavar="N", help="At most this many.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON, for scripts.")] = False,
) -> None:
    """List the deliveries, newest first: state, attempts, last answer."""

    async def work() -> list[WebhookDeliveryView]:
        async with new_taskloom(worker=False) as taskloom:
            return await taskloom.service.webhook_deliveries(webhook, run_id=run, first=limit)

    found = run_command(work)
    if as_json:
        typer.echo(json.dumps([_delivery(d) for d in found], indent=2))
        return
    for view in found:
        answer = view.last_error or (f"HTTP {view.response_status}" if view.response_status else "")
        typer.echo(
            f"{view.id:>6}  {view.event.value:<9} run {view.run_id}  {view.state.value:<9} "
            f"attempts={view.attempts}  {answer}"
        )
    if not found:
        typer.echo("no deliveries")
