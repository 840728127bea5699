"""The README's "Webhooks, a live stream of every run, tracing" programs run
as written, and its webhook verifier accepts what the sender signs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from taskloom.definitions import TaskController, TaskDefinition
from taskloom.definitions.registry import Registry
from taskloom.server.taskloom import Taskloom
from tests.support.readme import program, run_program
from tests.support.receiver import receiving
from tests.support.waiting import eventually


class Noop(TaskDefinition[Any]):
    id = "readme-noop"

    async def run(self, controller: TaskController[Any]) -> Any:
        return None


def test_the_run_events_program_prints_the_run_as_it_changes(tmp_path: Path) -> None:
    lines = run_program(program("run-events-example"), tmp_path)
    assert lines[-1] == "SUCCEEDED 3 of 3 steps"
    assert all(line.split()[0] in ("PENDING", "RUNNING", "SUCCEEDED") for line in lines)


async def test_the_readme_verifier_accepts_a_real_delivery_and_refuses_a_forgery(
    tmp_path: Path,
) -> None:
    namespace: dict[str, Any] = {}
    exec(compile(program("webhook-verify-example"), "README.md", "exec"), namespace)
    verified = namespace["verified"]
    async with receiving() as receiver:
        url = f"sqlite+aiosqlite:///{tmp_path / 'hooks.db'}"
        async with Taskloom(
            url, registry=Registry([Noop]), load_entry_points=False, webhook_poll_interval=0.02
        ) as app:
            created = await app.service.create_webhook(receiver.url, ["succeeded"])
            run = await app.service.trigger("readme-noop")
            await eventually(lambda: len(receiver.requests) == 1)
    request = receiver.requests[0]
    header = request.headers["taskloom-signature"]
    document = verified(created.secret, request.body, header)
    assert (document["event"], document["run"]["id"]) == ("run.succeeded", run.id)
    with pytest.raises(ValueError, match="bad signature"):
        verified(created.secret, request.body.replace(b"succeeded", b"failed"), header)
    with pytest.raises(ValueError, match="bad signature"):
        verified("not the secret at all", request.body, header)


def test_the_otel_program_prints_one_trace(tmp_path: Path) -> None:
    lines = [line.rstrip() for line in run_program(program("otel-example"), tmp_path)]
    assert lines == [
        "nightly job",
        "trigger report",
        "iteration report 0 PENDING",
        "iteration report 1 SUCCEEDED",
        "1 trace",
    ]
