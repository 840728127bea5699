"""API tokens: random, shown once, stored only as a SHA-256 hash.

A token is 32 random bytes (URL-safe base64) behind the prefix `tlk_`. Its
entropy makes a plain SHA-256 as safe as a slow password hash, and lets a
request be authenticated with one indexed lookup. The first characters are
kept in clear (`prefix`) so `token list` can tell tokens apart. A token may
expire (`expires_at`): from then on it is refused like a revoked one.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import RowMapping

from taskloom.definitions.errors import InvalidInput
from taskloom.definitions.timestamps import to_datetime
from taskloom.server.auth.identity import Actor, Role, parse_role
from taskloom.server.store import tokens as stored
from taskloom.server.store.database import Database

TOKEN_PREFIX = "tlk_"
SHOWN_PREFIX = 12


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_secret() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class TokenInfo:
    """A token as listed: never the secret, only its first characters."""

    id: str
    name: str
    role: Role
    owner: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None
    expires_at: datetime | None = None

    @property
    def expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= datetime.now(UTC)

    @property
    def active(self) -> bool:
        return self.revoked_at is None and not self.expired

    @classmethod
    def from_row(cls, row: RowMapping) -> TokenInfo:
        created = to_datetime(row["created_at"])
        assert created is not None
        return cls(
            id=row["id"],
            name=row["name"],
            role=Role(row["role"]),
            owner=row["owner"],
            prefix=row["prefix"],
            created_at=created,
            revoked_at=to_datetime(row["revoked_at"]),
            expires_at=to_datetime(row["expires_at"]),
        )


@dataclass(frozen=True)
class CreatedToken:
    """A new token: `secret` is shown this once and stored nowhere."""

    info: TokenInfo
    secret: str


def _epoch(moment: datetime) -> float:
    """Epoch seconds of `moment`; a naive datetime is taken as UTC."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _check_text(field: str, value: str) -> str:
    value = value.strip()
    if not value:
        raise InvalidInput(
            f"{field}: must not be empty", errors=[{"loc": [field], "message": "must not be empty"}]
        )
    if len(value) > 200:
        message = "must be at most 200 characters"
        raise InvalidInput(f"{field}: {message}", errors=[{"loc": [field], "message": message}])
    return value


class ApiTokens:
    """Creates, lists, revokes and checks API tokens (stored by `server/store/tokens.py`)."""

    def __init__(self, database: Database) -> None:
        self.database = database

    async def create(
        self,
        name: str,
        role: str | Role,
        owner: str | None = None,
        expires_at: datetime | None = None,
    ) -> CreatedToken:
        """A new token of `owner` (default: its name); it never expires
        unless `expires_at` (in the future) is given."""
        name = _check_text("name", name)
        now = time.time()
        if expires_at is not None and _epoch(expires_at) <= now:
            message = "must be in the future"
            raise InvalidInput(
                f"expiresAt: {message}", errors=[{"loc": ["expiresAt"], "message": message}]
            )
        owner = _check_text("owner", owner if owner is not None else name)
        try:
            chosen = role if isinstance(role, Role) else parse_role(role)
        except ValueError as exc:
            raise InvalidInput(str(exc), errors=[{"loc": ["role"], "message": str(exc)}]) from None
        secret = new_secret()
        row: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "name": name,
            "role": chosen.value,
            "owner": owner,
            "token_hash": hash_token(secret),
            "prefix": secret[:SHOWN_PREFIX],
            "created_at": now,
            "revoked_at": None,
            "expires_at": None if expires_at is None else _epoch(expires_at),
        }
        await self.database.write_fn(lambda c: stored.insert_token(c, row))
        return CreatedToken(TokenInfo.from_row(row), secret)  # type: ignore[arg-type]

    async def list(self, *, include_revoked: bool = False) -> list[TokenInfo]:
        rows = await self.database.read(
            lambda c: stored.list_tokens(c, include_revoked=include_revoked, now=time.time())
        )
        return [TokenInfo.from_row(r) for r in rows]

    async def count_active(self) -> int:
        now = time.time()
        return await self.database.read(lambda c: stored.count_active_tokens(c, now))

    async def revoke(self, ref: str) -> TokenInfo:
        """Revokes the token with id `ref`, or the one active token named `ref`."""
        now = time.time()
        return TokenInfo.from_row(
            await self.database.write_fn(lambda c: stored.revoke_token(c, ref, now))
        )

    async def authenticate(self, secret: str | None) -> Actor | None:
        """The actor of an active token, or None for a missing, unknown,
        revoked or expired one."""
        if not secret or not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
            return None
        digest = hash_token(secret)
        now = time.time()
        row = await self.database.read(lambda c: stored.active_token_by_hash(c, digest, now))
        if row is None:
            return None
        return Actor(
            owner=row["owner"], role=Role(row["role"]), token_id=row["id"], token_name=row["name"]
        )
