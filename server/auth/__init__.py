"""Identities, API tokens, roles, and the HTTP side of authentication."""

from __future__ import annotations

from server.auth.identity import Actor, Role, parse_role
from server.auth.tokens import CreatedToken, TokenInfo, TokenStore

__all__ = ["Actor", "CreatedToken", "Role", "TokenInfo", "TokenStore", "parse_role"]
