"""`taskloom token create | list | revoke`, and what `taskloom serve` checks
and prints before it starts (the loopback rule, the first admin token)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import typer

from taskloom.server.cli_help import CommandApp
from taskloom.server.command_runner import new_taskloom, run_command
from taskloom.server.period import parse_duration
from taskloom.server.settings import Settings

if TYPE_CHECKING:
    from taskloom.server.auth.tokens import CreatedToken, TokenInfo

token_app = CommandApp(help="Manage API tokens (admin).", no_args_is_help=True)


def _state(info: TokenInfo) -> str:
    if info.revoked_at is not None:
        return f"revoked {info.revoked_at:%Y-%m-%d %H:%M}"
    if info.expires_at is None:
        return "active"
    return f"{'expired' if info.expired else 'active, expires'} {info.expires_at:%Y-%m-%d %H:%M}"


def _describe(info: TokenInfo) -> str:
    state = _state(info)
    return (
        f"{info.id}  {info.name:<20} {info.role.value:<9} owner={info.owner:<16} "
        f"{info.prefix}…  created {info.created_at:%Y-%m-%d %H:%M}  {state}"
    )


@token_app.command("create")
def create(
    name: Annotated[str, typer.Option(help="A name to tell the token apart.")],
    role: Annotated[str, typer.Option(help="Its role: admin, developer or user.")] = "user",
    owner: Annotated[
        str | None, typer.Option(help="Who its runs belong to; without it, the name.")
    ] = None,
    expires_in: Annotated[
        str | None,
        typer.Option(
            metavar="DURATION",
            help="Refused from this long after now, in seconds (s), minutes (m), hours "
            "(h), days (d) or weeks (w), e.g. 12h or 30d; without it, never.",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the token and its details as JSON.")
    ] = False,
) -> None:
    """Create a token and print it (the only time it is shown).

    The token alone goes to stdout, so TOKEN=$(taskloom token create ...)
    captures it; what it is goes to stderr."""

    async def work() -> CreatedToken:
        expires_at = None
        if expires_in is not None:
            seconds = parse_duration(expires_in, "expires-in")
            expires_at = datetime.now(UTC) + timedelta(seconds=seconds)
        async with new_taskloom(worker=False) as taskloom:
            return await taskloom.tokens.create(name, role, owner, expires_at)

    created = run_command(work)
    if as_json:
        typer.echo(json.dumps({**_token_record(created.info), "token": created.secret}))
        return
    typer.echo(_describe(created.info), err=True)
    typer.echo("Token (shown only this once; store it now):", err=True)
    typer.echo(created.secret)


def _token_record(t: TokenInfo) -> dict[str, object]:
    """A token as --json prints it (never its secret)."""
    return {
        "id": t.id,
        "name": t.name,
        "role": t.role.value,
        "owner": t.owner,
        "prefix": t.prefix,
        "createdAt": t.created_at.isoformat(),
        "revokedAt": None if t.revoked_at is None else t.revoked_at.isoformat(),
        "expiresAt": None if t.expires_at is None else t.expires_at.isoformat(),
    }


@token_app.command("list")
def list_tokens(
    all: Annotated[bool, typer.Option("--all", help="Include revoked tokens.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON, for scripts.")] = False,
) -> None:
    """List tokens (never their secrets)."""

    async def work() -> list[TokenInfo]:
        async with new_taskloom(worker=False) as taskloom:
            return await taskloom.tokens.list(include_revoked=all)

    tokens = run_command(work)
    if as_json:
        typer.echo(json.dumps([_token_record(t) for t in tokens], indent=2))
        return
    for info in tokens:
        typer.echo(_describe(info))
    if not tokens:
        typer.echo("no tokens")


@token_app.command("revoke")
def revoke(
    ref: Annotated[
        str, typer.Argument(metavar="TOKEN", help="A token's id, or the name of one token.")
    ],
) -> None:
    """Revoke a token: requests carrying it are refused from now on."""

    async def work() -> TokenInfo:
        async with new_taskloom(worker=False) as taskloom:
            return await taskloom.tokens.revoke(ref)

    typer.echo(_describe(run_command(work)))


def first_start_message(secret: str, host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    header = json.dumps({"Authorization": f"Bearer {secret}"})
    return "\n".join(
        [
            "",
            "No API token yet: created an admin token (shown only this once, store it now):",
            "",
            f"    {secret}",
            "",
            f"Open http://{shown}:{port}/graphql and paste this into GraphiQL's Headers tab:",
            "",
            f"    {header}",
            "",
            "More tokens: taskloom token create --name NAME --role admin|developer|user",
            "",
        ]
    )


def prepare_serve(host: str, port: int) -> None:
    """Before `taskloom serve`: refuses TASKLOOM_AUTH=disabled off loopback;
    with authentication on and no active token, creates one admin token and
    prints it once (to the terminal, never to the log)."""
    from taskloom.server.auth.http import AuthDisabledOffLoopback, check_bind

    settings = Settings()
    try:
        check_bind(settings.auth, host)
    except AuthDisabledOffLoopback as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if settings.auth == "disabled":
        typer.echo("warning: authentication is disabled (TASKLOOM_AUTH=disabled); loopback only")
        return

    async def work() -> CreatedToken | None:
        async with new_taskloom(worker=False) as taskloom:
            if await taskloom.tokens.count_active() > 0:
                return None
            return await taskloom.tokens.create("admin", "admin", "admin")

    created = run_command(work)
    if created is not None:
        typer.echo(first_start_message(created.secret, host, port))
