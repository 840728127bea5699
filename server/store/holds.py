"""Why due PENDING runs are not claimed: their definition is paused, or
their start is held back by a rate limit (`waitingReason`). Read, never
stored: a hold ends without any write (a resume, a window moving on)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from sqlalchemy import Connection, select

from taskloom.definitions.rate_limit import RateLimit
from taskloom.definitions.records import WaitReason
from taskloom.server.store import rate_limits
from taskloom.server.store.definition_pauses import paused_ids
from taskloom.server.store.models import runs
from taskloom.server.store.transitions import PENDING


def hold_reasons(
    conn: Connection,
    run_ids: Sequence[str],
    rates: Mapping[str, tuple[RateLimit, bool]],
    now: float,
    known: Collection[str] | None = None,
) -> dict[str, WaitReason]:
    """The reason each held run of `run_ids` waits (runs not held are left
    out). `rates`: definition id -> (rate limit, per key); `known`: the
    definitions loaded here (a due run of another waits for code that can
    run it)."""
    paused = paused_ids(conn)
    if not paused and not rates and known is None:
        return {}
    c = runs.c
    due = conn.execute(
        select(c.id, c.definition_id, c.concurrency_key, c.attempt_started_at).where(
            c.id.in_(list(run_ids)), c.status == PENDING, c.run_at <= now
        )
    ).all()
    found: dict[str, WaitReason] = {}
    starts = [(d, key) for _, d, key, started in due if started is None and d in rates]
    exhausted = rate_limits.exhausted(conn, starts, rates, now)
    for run_id, definition_id, key, started in due:
        if known is not None and definition_id not in known:
            found[run_id] = WaitReason.DEFINITION_NOT_LOADED
        elif definition_id in paused:
            found[run_id] = WaitReason.DEFINITION_PAUSED
        elif started is None and (definition_id, key) in exhausted:
            found[run_id] = WaitReason.RATE_LIMIT
    return found
