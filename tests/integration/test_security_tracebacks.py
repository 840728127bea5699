"""Issue 21, item 8, over HTTP on SQLite and PostgreSQL: the traceback in
an ERROR line's data (`traceback`, and `exception` of a captured `logging`
record) holds, for anyone but an admin, only the frames of the task's own
module, named relative to it; admins read it whole. Before, a `user` read
`/…/server/engine/iteration.py` and the interpreter's paths."""

from __future__ import annotations

import json
import logging
import os
from typing import Any

from taskloom.definitions import TaskController, TaskDefinition
from tests.integration.graphql_support import served
from tests.integration.security_support import post

HERE = os.path.basename(__file__)
WHOLE_PATH = os.path.abspath(__file__)
LOGS = """query($id: ID!) {
  taskRun(id: $id) { status logs(level: ERROR) { edges { node { message data } } } }
}"""
log = logging.getLogger("tests.tracebacks")


def parse_settings(text: str) -> Any:
    return json.loads(text)  # raises in the standard library's own frames


class Faulty(TaskDefinition[Any]):
    id = "sec-faulty"

    async def run(self, controller: TaskController[Any]) -> Any:
        try:
            parse_settings("{")
        except ValueError:
            log.exception("could not read the settings")
        return parse_settings("[")


async def test_non_admins_read_only_the_tasks_own_frames(database_url: str) -> None:
    async with served(database_url, definitions=(Faulty,), auth="enabled") as (taskloom, client):
        tokens = {
            role: (await taskloom.tokens.create(role, role, owner="alice")).secret
            for role in ("admin", "developer", "user")
        }
        run = await taskloom.service.trigger(Faulty, created_by="alice")
        await taskloom.service.wait(run.id, timeout=30)
        seen: dict[str, list[dict[str, Any]]] = {}
        for role, token in tokens.items():
            body = (await post(client, LOGS, {"id": run.id}, token)).json()
            seen[role] = [e["node"]["data"] for e in body["data"]["taskRun"]["logs"]["edges"]]
    for role in ("user", "developer"):
        captured, raised = seen[role]
        for trace in (captured["exception"], raised["traceback"]):
            assert f'File "{HERE}"' in trace and "in parse_settings" in trace and "in run" in trace
            assert "/" not in trace and "\\" not in trace
            assert "iteration.py" not in trace and "decoder.py" not in trace
            assert "json.decoder.JSONDecodeError: Expecting" in trace
        assert set(captured) == {"logger", "exception"}
        assert set(raised) == {"type", "traceback"}
    captured, raised = seen["admin"]
    assert "server/engine/iteration.py" in raised["traceback"]
    assert "json/decoder.py" in captured["exception"]
    assert WHOLE_PATH in raised["traceback"]
    assert set(raised) == {"type", "traceback"}
