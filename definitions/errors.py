"""Taskloom's own exceptions, shared by the SDK, the service and the API.

They live in the SDK so that task code, backend code and the GraphQL layer
all raise and catch the same types without importing the server.
"""

from __future__ import annotations

from typing import Any


class TaskloomError(Exception):
    """Base class of every error Taskloom raises on purpose."""

    code = "INTERNAL_SERVER_ERROR"
    # Whether the same request may succeed if tried again later.
    retryable = False

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class InvalidInput(TaskloomError):
    """Input (or an argument) that cannot be accepted; nothing was written."""

    code = "BAD_USER_INPUT"

    def __init__(self, message: str, *, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message, details={"errors": errors or []})
        self.errors = errors or []

    def __str__(self) -> str:
        """The message, then each field and its error: "invalid input for
        'countdown': start: Input should be greater than or equal to 1"."""
        fields = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', [])) or 'input'}: {e.get('message')}"
            for e in self.errors
        )
        return f"{self.message}: {fields}" if fields else self.message


class NotFound(TaskloomError):
    code = "NOT_FOUND"


class Conflict(TaskloomError):
    """The action is impossible in the run's current state."""

    code = "CONFLICT"


class Forbidden(TaskloomError):
    code = "FORBIDDEN"


class Unauthenticated(TaskloomError):
    code = "UNAUTHENTICATED"


class WaitTimeout(TaskloomError):
    code = "TIMEOUT"


class StoreError(TaskloomError):
    """A database failure, wrapped so no driver error leaks to callers."""

    code = "INTERNAL_SERVER_ERROR"


class Unavailable(StoreError):
    """The database could not do it now, and nothing was written: it is
    unreachable, locked longer than the write timeout, read-only or full.
    The message names the database and the cause; trying again later may
    succeed (GraphQL: `UNAVAILABLE` with `retryable: true`)."""

    code = "UNAVAILABLE"
    retryable = True


class ConfigurationError(TaskloomError):
    """Taskloom cannot start as configured: `message` says what is wrong,
    `fix` what to set. The command line prints `str()` as one line on stderr
    and exits 2 (`--debug` or TASKLOOM_DEBUG=1 for the traceback)."""

    code = "CONFIGURATION"

    def __init__(self, message: str, fix: str) -> None:
        super().__init__(message, details={"fix": fix})
        self.fix = fix

    def __str__(self) -> str:
        return f"{self.message}; {self.fix}"
