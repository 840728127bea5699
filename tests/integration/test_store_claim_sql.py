"""On SQLite a claim is the adapter's hand-shaped UPDATE (server/store/
sqlite/claim_sql.py); the portable one is `transitions.claim` over the due
runs in the claim's order. Both must claim the same runs and leave the
same rows: checked side by side on two SQLite databases."""

from __future__ import annotations

import operator
import random
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Connection, insert, select

from taskloom.server.store.models import runs
from taskloom.server.store.new_runs import new_run_row
from taskloom.server.store.sqlite.claim_sql import claim_script, claimed_rows
from taskloom.server.store.sqlite.scripts import run_steps
from taskloom.server.store.transitions import CLAIMED, PENDING, claim
from tests.support.sqlite_pair import sqlite_pair

NOW = 1.8e9
STATUSES = ["PENDING", "PENDING", "PENDING", "RUNNING", "PAUSED", "SUCCEEDED"]


def _rows(seed: int) -> list[dict[str, Any]]:
    pick = random.Random(seed)
    made = []
    for n in range(60):
        row = new_run_row(
            definition_id=pick.choice(["a", "b", "c"]),
            input={"n": n},
            now=NOW - 100,
            run_at=NOW + pick.choice([-50, -10, -10, 0, 5]),
            run_id=f"0190a000-0000-7000-8000-{n:012d}",
            priority=pick.choice([0, 0, 1, 5]),
        )
        row["status"] = pick.choice(STATUSES)
        made.append(row)
    return made


@pytest.fixture
def connections() -> Iterator[tuple[Connection, Connection]]:
    with sqlite_pair() as pair:
        yield pair


def _portable_claim(conn: Connection, limit: int, definitions: list[str]) -> list[Any]:
    due = (
        select(runs.c.id)
        .where(runs.c.status == PENDING, runs.c.run_at <= NOW)
        .where(runs.c.definition_id.in_(definitions))
        .order_by(runs.c.priority.desc(), runs.c.run_at, runs.c.id)
        .limit(limit)
    )
    statement = claim(
        runs.c.id.in_(due.scalar_subquery()), worker_id="w", now=NOW, lease_until=NOW + 30
    )
    return [dict(row) for row in conn.execute(statement).mappings()]


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize(("limit", "definitions"), [(7, ["a", "b"]), (100, ["a", "b", "c"])])
def test_the_shaped_claim_claims_what_the_portable_one_claims(
    connections: tuple[Connection, Connection], seed: int, limit: int, definitions: list[str]
) -> None:
    shaped, portable = connections
    rows = _rows(seed)
    for conn in (shaped, portable):
        conn.execute(insert(runs), rows)
    script, reader = claim_script(
        shaped.dialect,
        CLAIMED,
        worker_id="w",
        limit=limit,
        now=NOW,
        lease_until=NOW + 30,
        definitions=definitions,
    )
    by_shape = claimed_rows(reader, run_steps(shaped, script.steps))
    by_portable = _portable_claim(portable, limit, definitions)
    key = operator.itemgetter("id")
    assert sorted(by_shape, key=key) == sorted(by_portable, key=key)
    assert by_shape  # each seed has due runs
    stored = [conn.execute(select(runs).order_by(runs.c.id)).all() for conn in connections]
    assert stored[0] == stored[1]
