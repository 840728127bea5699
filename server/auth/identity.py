"""Who is calling, and what each role may do.

`Actor` is the caller as the service sees it: the owner name of a token and
its role. `None` in place of an actor means the system itself (backend code
calling `TaskService` directly), which may do everything.

Roles, from least to most:

* `user`: triggers (what a definition allows) and reads and controls only the
  runs it triggered itself; other runs do not exist for it (`NOT_FOUND`).
* `developer`: reads every run, triggers and controls any run.
* `admin`: all of that, and manages tokens, schedules and deletes runs.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum

from taskloom.definitions.errors import Forbidden, Unauthenticated


class Role(StrEnum):
    ADMIN = "admin"
    DEVELOPER = "developer"
    USER = "user"


@dataclass(frozen=True)
class Actor:
    """An authenticated caller: `owner` is recorded as `created_by` of the
    runs it triggers."""

    owner: str
    role: Role
    token_id: str | None = None
    token_name: str | None = None

    @property
    def reads_all(self) -> bool:
        """Sees and controls every run, not only its own."""
        return self.role in (Role.ADMIN, Role.DEVELOPER)

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


def parse_role(value: str) -> Role:
    try:
        return Role(value.strip().lower())
    except ValueError:
        choices = ", ".join(r.value for r in Role)
        raise ValueError(f"unknown role {value!r}; choose one of {choices}") from None


def require_authenticated(actor: Actor | None, *, auth_enabled: bool) -> None:
    if auth_enabled and actor is None:
        raise Unauthenticated("missing or invalid API token")


def require_admin(actor: Actor | None, action: str) -> None:
    """Only the system and admins may `action` (tokens, schedules, deletion)."""
    if actor is not None and not actor.is_admin:
        raise Forbidden(f"only an admin may {action}")


def require_operator(actor: Actor | None, action: str) -> None:
    """Only the system, admins and developers may `action` (pausing a
    definition, schedules made through the API)."""
    if actor is not None and not actor.reads_all:
        raise Forbidden(f"only an admin or a developer may {action}")


def may_see(actor: Actor | None, created_by: str | None) -> bool:
    """Whether `actor` may read (and act on) a run triggered by `created_by`."""
    return actor is None or actor.reads_all or created_by == actor.owner


def owner_scope(actor: Actor | None) -> str | None:
    """The `created_by` every list must be narrowed to, or None for all runs."""
    return None if actor is None or actor.reads_all else actor.owner


def require_trigger(actor: Actor | None, definition_id: str, roles: Collection[str] | None) -> None:
    """A definition with `roles = {...}` may be triggered only by those roles
    (and always by admins and the system)."""
    if actor is None or actor.is_admin or roles is None:
        return
    if actor.role.value not in {str(r).lower() for r in roles}:
        raise Forbidden(f"role {actor.role.value!r} may not trigger {definition_id!r}")
