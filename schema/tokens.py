"""API tokens and the caller, over GraphQL: `viewer`, and for admins
`apiTokens`, `createApiToken` and `revokeApiToken`.

The resolvers reach the token store through `info.context.tokens` (set by
`server/graphql_app.py`); this module imports nothing from `server`."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry

from taskloom.definitions.errors import Forbidden, Unauthenticated
from taskloom.definitions.service_api import ApiTokenInfo, ApiTokenStore
from taskloom.schema.context import Info
from taskloom.schema.operation_guard import AUTHENTICATION_REQUIRED, TOKEN_REJECTED


@strawberry.enum(description="What a token may do: see the README's Security section.")
class ApiTokenRole(Enum):
    ADMIN = "admin"
    DEVELOPER = "developer"
    USER = "user"


@strawberry.type(description="An API token as listed: never its secret.")
class ApiToken:
    id: strawberry.ID
    name: str
    role: ApiTokenRole
    owner: str = strawberry.field(description="Recorded as `createdBy` of the runs it triggers.")
    prefix: str = strawberry.field(description="The token's first characters, to tell it apart.")
    created_at: datetime
    revoked_at: datetime | None
    expires_at: datetime | None = strawberry.field(
        description="From then on the token is refused like a revoked one; null: never."
    )

    @classmethod
    def of(cls, info: ApiTokenInfo) -> ApiToken:
        return cls(
            id=strawberry.ID(info.id),
            name=info.name,
            role=ApiTokenRole(info.role),
            owner=info.owner,
            prefix=info.prefix,
            created_at=info.created_at,
            revoked_at=info.revoked_at,
            expires_at=info.expires_at,
        )


@strawberry.type(description="A new token. `secret` is shown this once and stored nowhere.")
class CreatedApiToken:
    token: ApiToken
    secret: str = strawberry.field(description='Send it as "Authorization: Bearer <secret>".')


@strawberry.type(description="Who is calling.")
class Viewer:
    owner: str
    role: ApiTokenRole
    token_name: str | None


def _admin(info: Info) -> ApiTokenStore:
    """The token store, for an admin caller (FORBIDDEN for anyone else)."""
    actor = info.context.actor
    if actor is None:
        raise Unauthenticated(
            TOKEN_REJECTED if info.context.token_rejected else AUTHENTICATION_REQUIRED
        )
    if not actor.is_admin:
        raise Forbidden("only an admin may manage API tokens")
    tokens = info.context.tokens
    assert tokens is not None, "server/graphql_app.py builds every context with the token store"
    return tokens


@strawberry.type
class TokenQueries:
    @strawberry.field(description="The caller: its owner name and role.")
    def viewer(self, info: Info) -> Viewer:
        actor = info.context.actor
        if actor is None:
            raise Unauthenticated(
                TOKEN_REJECTED if info.context.token_rejected else AUTHENTICATION_REQUIRED
            )
        return Viewer(owner=actor.owner, role=ApiTokenRole(actor.role), token_name=actor.token_name)

    @strawberry.field(description="API tokens, oldest first (admins only).")
    async def api_tokens(self, info: Info, include_revoked: bool = False) -> list[ApiToken]:
        tokens = await _admin(info).list(include_revoked=include_revoked)
        return [ApiToken.of(t) for t in tokens]


@strawberry.type
class TokenMutations:
    @strawberry.mutation(description="Creates a token (admins only); its secret is shown once.")
    async def create_api_token(
        self,
        info: Info,
        name: str,
        role: ApiTokenRole,
        owner: str | None = None,
        expires_at: Annotated[
            datetime | None,
            strawberry.argument(description="When it stops working (in the future); null: never."),
        ] = None,
    ) -> CreatedApiToken:
        created = await _admin(info).create(name, role.value, owner, expires_at)
        return CreatedApiToken(token=ApiToken.of(created.info), secret=created.secret)

    @strawberry.mutation(description="Revokes a token by id (admins only), at once.")
    async def revoke_api_token(self, info: Info, id: strawberry.ID) -> ApiToken:
        return ApiToken.of(await _admin(info).revoke(str(id)))


def _unauthenticated(info: Info) -> Unauthenticated:
    rejected = info.context.token_rejected
    return Unauthenticated(TOKEN_REJECTED if rejected else AUTHENTICATION_REQUIRED)
