"""Property-based fuzzing of the GraphQL endpoint over real HTTP.

hypothesis-graphql builds queries and mutations from the served schema:
valid ones (`Mode.POSITIVE`) and ones with exactly one schema violation
(`Mode.NEGATIVE`); a third strategy sends arbitrary text as the document.
Each is sent as admin, as a `user` and without a token. Whatever comes in,
the server answers below 500, with JSON, never `INTERNAL_SERVER_ERROR`, and
never a traceback, SQL or a file path.

Each of the four tests sends `TASKLOOM_FUZZ_EXAMPLES` documents (default 60,
so 240 in all), each as one of the three callers; `TASKLOOM_FUZZ_REPORT=path`
writes how many were sent and which error codes they got.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import Any

import graphql
import httpx
import pytest
import uvicorn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, mutations, nodes, queries

from taskloom.definitions.registry import Registry
from taskloom.schema import sdl
from taskloom.server.app import create_app
from taskloom.server.taskloom import Taskloom
from tests.integration.security_support import DEFINITIONS

EXAMPLES = int(os.environ.get("TASKLOOM_FUZZ_EXAMPLES", "60"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
LEAKS = re.compile(
    r"Traceback|File \"|/work/|site-packages|\.py\b|SELECT |INSERT |UPDATE task_|sqlalchemy|"
    r"sqlite3|asyncpg|tlk_",
    re.IGNORECASE,
)
SCALARS: dict[str, st.SearchStrategy[graphql.ValueNode]] = {
    "JSON": st.one_of(
        st.integers().map(nodes.Int),
        st.text(max_size=20).map(nodes.String),
        st.just(nodes.Object([])),
        st.lists(st.integers(), max_size=3).map(lambda xs: nodes.List([nodes.Int(x) for x in xs])),
    ),
    "DateTime": st.one_of(
        st.datetimes(timezones=st.just(UTC)).map(lambda d: nodes.String(d.isoformat())),
        st.text(max_size=10).map(nodes.String),
    ),
}


@dataclass
class Running:
    url: str
    tokens: dict[str, str | None]
    sent: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """A real server in a thread of its own (the fuzz test itself is sync)."""
    path: Path = tmp_path_factory.mktemp("fuzz") / "taskloom.db"
    taskloom = Taskloom(
        f"sqlite+aiosqlite:///{path}",
        registry=Registry(DEFINITIONS),
        load_entry_points=False,
        poll_interval=0.2,
        shutdown_grace=1.0,
    )
    config = uvicorn.Config(
        create_app(taskloom),
        host="127.0.0.1",
        port=0,
        log_level="warning",
        lifespan="on",
        ws="websockets-sansio",
        log_config=None,
    )
    server = uvicorn.Server(config)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(server.serve(),), daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]

    def token(name: str, role: str) -> str:
        made = asyncio.run_coroutine_threadsafe(taskloom.tokens.create(name, role), loop)
        return made.result(10).secret

    tokens: dict[str, str | None] = {
        "admin": token("fuzz-admin", "admin"),
        "user": token("fuzz-user", "user"),
        "anonymous": None,
    }
    run = asyncio.run_coroutine_threadsafe(
        taskloom.service.trigger("sec-hold", delay=3600, created_by="fuzz-user"), loop
    ).result(10)
    assert run.id
    fuzzed = Running(f"http://127.0.0.1:{port}", tokens)
    yield fuzzed
    report = os.environ.get("TASKLOOM_FUZZ_REPORT")
    if report:  # e.g. for the CI note: how many documents, and what they got
        summary = {"sent": fuzzed.sent, "outcomes": dict(fuzzed.outcomes.most_common())}
        Path(report).write_text(json.dumps(summary, indent=2) + "\n")
    server.should_exit = True
    thread.join(30)
    loop.close()


def check(running: Running, document: str, caller: str) -> None:
    token = running.tokens[caller]
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=running.url, timeout=30) as client:
        response = client.post("/graphql", json={"query": document}, headers=headers)
    running.sent += 1
    assert response.status_code < 500, (document, response.text)
    body: dict[str, Any] = response.json()
    codes = [e.get("extensions", {}).get("code") for e in body.get("errors") or []]
    assert "INTERNAL_SERVER_ERROR" not in codes, (document, body)
    for error in body.get("errors") or []:
        for leak in LEAKS.finditer(error["message"]):  # what the client sent may echo back
            assert leak.group(0).lower() in document.lower(), (document, error)
    running.outcomes[",".join(sorted({str(c) for c in codes})) or "ok"] += 1


SCHEMA = sdl()
CALLERS = st.sampled_from(["admin", "user", "anonymous"])


@FUZZ
@given(document=queries(SCHEMA, custom_scalars=SCALARS), caller=CALLERS)
def test_valid_queries(running: Running, document: str, caller: str) -> None:
    check(running, document, caller)


@FUZZ
@given(document=mutations(SCHEMA, custom_scalars=SCALARS), caller=CALLERS)
def test_valid_mutations(running: Running, document: str, caller: str) -> None:
    check(running, document, caller)


@FUZZ
@given(
    document=st.one_of(
        queries(SCHEMA, custom_scalars=SCALARS, mode=Mode.NEGATIVE),
        mutations(SCHEMA, custom_scalars=SCALARS, mode=Mode.NEGATIVE),
    ),
    caller=CALLERS,
)
def test_invalid_operations(running: Running, document: str, caller: str) -> None:
    check(running, document, caller)


@FUZZ
@given(
    document=st.one_of(
        st.text(max_size=300),
        st.lists(
            st.sampled_from(
                [
                    "{",
                    "}",
                    "(",
                    ")",
                    "...",
                    "on",
                    "query",
                    "mutation",
                    "fragment",
                    "taskRuns",
                    "taskRun",
                    "edges",
                    "node",
                    "id",
                    "a:",
                    "$x",
                    "@skip",
                    "first:",
                    "1",
                    '"s"',
                    "[",
                    "]",
                    "!",
                    "=",
                    "#",
                    "\n",
                    "__schema",
                ]
            ),
            max_size=60,
        ).map(" ".join),
    ),
    caller=CALLERS,
)
def test_arbitrary_text(running: Running, document: str, caller: str) -> None:
    check(running, document, caller)
