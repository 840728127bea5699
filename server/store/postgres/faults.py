"""Why PostgreSQL could not do a read or write, in one line naming the
server and the cause, when the cause is the server's state (unreachable,
shutting down, out of connections or disk), not the statement."""

from __future__ import annotations

from sqlalchemy.engine import URL

# SQLSTATE classes and codes that say the server, not the statement, failed:
# connection exceptions, shutdown, too many connections, disk full, out of
# memory; and, met when connecting, a refused login or no such database.
UNAVAILABLE_STATES = ("08", "57P", "53", "28", "3D000")
CONNECTION_ERRORS = frozenset(
    {
        "ConnectionDoesNotExistError",
        "ConnectionFailureError",
        "CannotConnectNowError",
        "InterfaceError",
        "InternalClientError",
        "TooManyConnectionsError",
        # SQLAlchemy's: the connection was lost inside this transaction.
        "PendingRollbackError",
    }
)


def where(url: URL) -> str:
    return f"PostgreSQL at {url.host or 'localhost'}:{url.port or 5432}/{url.database or ''}"


def explain(url: URL, exc: BaseException, action: str) -> str | None:
    cause: BaseException | None = exc
    for _depth in range(6):
        if cause is None:
            return None
        state = str(getattr(cause, "sqlstate", "") or "")
        name = type(cause).__name__
        if state.startswith(UNAVAILABLE_STATES) or name in CONNECTION_ERRORS:
            return f"cannot {action} {where(url)}: {_message(cause)}"
        if isinstance(cause, OSError | TimeoutError):
            return f"cannot {action} {where(url)}: {_message(cause)}"
        cause = getattr(cause, "orig", None) or cause.__cause__ or cause.__context__
    return None


def _message(cause: BaseException) -> str:
    text = str(cause).strip().splitlines()
    return text[0] if text else type(cause).__name__
