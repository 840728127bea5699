"""The README's "Webhooks, a live stream of every run, tracing" programs run
as written, and its webhook verifier accepts what the sender signs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from taskloom.definitions import TaskController, TaskDefinition
from taskloom.definitions.registry import Registry
from taskloom.server.taskloom import Taskloom
from tests.support.receiver import receiving
from tests.support.waiting import eventually

ROOT = Path(__file__).resolve().parents[2]


class Noop(TaskDefinition[Any]):
    id = "readme-noop"

    async def run(self, controller: TaskController[Any]) -> Any:
        return None


def example(marker: str) -> str:
    text = (ROOT / "README.md").read_text()
    at = text.index(f"<!-- {marker} -->")
    start = text.index("```python\n", at) + len("```python\n")
    return text[start : text.index("\n```", start)] + "\n"


def run_example(marker: str, tmp_path: Path) -> list[str]:
    (tmp_path / "example.py").write_text(example(marker))
    env = dict(os.environ, PYTHONPATH=str(ROOT), TASKLOOM_LOAD_ENTRY_POINTS="false")
    done = subprocess.run(
        [sys.executable, "example.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_the_run_events_program_prints_the_run_as_it_changes(tmp_path: Path) -> None:
    lines = run_example("run-events-example", tmp_path)
    assert lines[-1] == "SUCCEEDED 3 of 3 steps"
    assert all(line.split()[0] in ("PENDING", "RUNNING", "SUCCEEDED") for line in lines)


async def test_the_readme_verifier_accepts_a_real_delivery_and_refuses_a_forgery(
    tmp_path: Path,
) -> None:
    namespace: dict[str, Any] = {}
    exec(compile(example("webhook-verify-example"), "README.md", "exec"), namespace)
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
    lines = [line.rstrip() for line in run_example("otel-example", tmp_path)]
    assert lines == [
        "nightly job",
        "trigger report",
        "iteration report 0 PENDING",
        "iteration report 1 SUCCEEDED",
        "1 trace",
    ]
