"""The `api_tokens` table's reads and writes, for `server/auth/tokens.py`
(which owns the secrets: generation, hashing, roles)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, func, or_, select, update
from sqlalchemy.engine import RowMapping

from taskloom.definitions.errors import Conflict, NotFound
from taskloom.server.store.models import api_tokens


def insert_token(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(api_tokens.insert(), [row])


def usable(now: float) -> ColumnElement[bool]:
    """Neither revoked nor expired at `now`."""
    expires = api_tokens.c.expires_at
    return and_(api_tokens.c.revoked_at.is_(None), or_(expires.is_(None), expires > now))


def list_tokens(conn: Connection, *, include_revoked: bool, now: float) -> list[RowMapping]:
    """Oldest first; the usable ones only unless `include_revoked` (then
    also the revoked and the expired)."""
    query = select(api_tokens).order_by(api_tokens.c.created_at, api_tokens.c.id)
    if not include_revoked:
        query = query.where(usable(now))
    return list(conn.execute(query).mappings())


def count_active_tokens(conn: Connection, now: float) -> int:
    query = select(func.count()).select_from(api_tokens).where(usable(now))
    return int(conn.execute(query).scalar_one())


def active_token_by_hash(conn: Connection, token_hash: str, now: float) -> RowMapping | None:
    query = select(api_tokens).where(api_tokens.c.token_hash == token_hash, usable(now))
    return conn.execute(query).mappings().first()


def revoke_token(conn: Connection, ref: str, now: float) -> RowMapping:
    """Revokes the token with id `ref`, or the one active token named `ref`,
    and returns it as it is now (a token revoked before stays as it was)."""
    by_id = conn.execute(select(api_tokens).where(api_tokens.c.id == ref)).mappings().first()
    if by_id is not None:
        found = [by_id]
    else:
        named = select(api_tokens).where(
            api_tokens.c.name == ref, api_tokens.c.revoked_at.is_(None)
        )
        found = list(conn.execute(named).mappings())
    if not found:
        raise NotFound(f"no API token with id or name {ref!r}")
    if len(found) > 1:
        raise Conflict(f"several active tokens are named {ref!r}; revoke one by its id")
    token_id = found[0]["id"]
    if found[0]["revoked_at"] is None:
        conn.execute(update(api_tokens).where(api_tokens.c.id == token_id).values(revoked_at=now))
    return conn.execute(select(api_tokens).where(api_tokens.c.id == token_id)).mappings().one()
