"""The `taskloom` command line as a user runs it: migrate, trigger (good
and bad input), show."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from taskloom.definitions import Registry, TaskController, TaskDefinition, TaskStatus
from taskloom.server.taskloom import Taskloom

ROOT = Path(__file__).resolve().parents[2]


def taskloom_command() -> list[str]:
    script = ROOT / ".venv" / "bin" / "taskloom"
    if script.exists():
        return [str(script)]
    found = shutil.which("taskloom")
    assert found is not None, "the taskloom console script is not installed"
    return [found]


@pytest.fixture
def cli(tmp_path: Path) -> Any:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKLOOM_")}
    env["TASKLOOM_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    env["TASKLOOM_DEFINITIONS"] = "taskloom.definitions.examples"
    env["PYTHONPATH"] = str(ROOT)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*taskloom_command(), *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    return run


def test_migrate_trigger_and_show(cli: Any, tmp_path: Path) -> None:
    migrated = cli("migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert "migrated" in migrated.stdout
    assert (tmp_path / "cli.db").exists()

    triggered = cli("trigger", "countdown", "--input", '{"start": 3}', "--name", "from the shell")
    assert triggered.returncode == 0, triggered.stderr
    run = json.loads(triggered.stdout)
    assert run["definition_id"] == "countdown"
    assert run["status"] == "PENDING"
    assert run["input"] == {"start": 3, "delay_seconds": 0.5}
    assert run["name"] == "from the shell"

    shown = cli("show", run["id"])
    assert shown.returncode == 0, shown.stderr
    again = json.loads(shown.stdout)
    assert again["id"] == run["id"]
    assert again["status"] == "PENDING", "no worker ran: trigger and show only"
    assert again["input"] == run["input"]


def test_bad_input_exits_1_with_a_message_and_creates_no_run(cli: Any) -> None:
    bad = cli("trigger", "countdown", "--input", '{"start": 0}')
    assert bad.returncode == 1
    assert bad.stdout == ""
    assert "error: invalid input for 'countdown'" in bad.stderr
    assert "start:" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_showing_an_unknown_run_exits_1_without_a_traceback(cli: Any) -> None:
    missing = cli("show", "00000000-0000-7000-8000-000000000000")
    assert missing.returncode == 1
    assert "error: no task run" in missing.stderr
    assert "Traceback" not in missing.stderr


SLEEPY_MODULE = """
import asyncio
from pydantic import BaseModel
from taskloom.definitions import TaskDefinition, register


class SleepInput(BaseModel):
    seconds: float


@register
class Sleepy(TaskDefinition[SleepInput]):
    id = "e2e-sleepy"

    async def run(self, controller):
        await asyncio.sleep(controller.input.seconds)
        return {"slept": controller.input.seconds}
"""


class SleepInput(BaseModel):
    seconds: float


class Sleepy(TaskDefinition[SleepInput]):
    """The same definition, for triggering and reading from this process."""

    id = "e2e-sleepy"

    async def run(self, controller: TaskController[SleepInput]) -> Any:
        return None


async def test_sigterm_stops_a_worker_gracefully(tmp_path: Path) -> None:
    (tmp_path / "sleepy_defs.py").write_text(SLEEPY_MODULE, encoding="utf-8")
    url = f"sqlite+aiosqlite:///{tmp_path / 'worker.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKLOOM_")}
    env |= {
        "TASKLOOM_DATABASE_URL": url,
        "TASKLOOM_DEFINITIONS": "sleepy_defs",
        "TASKLOOM_LOAD_ENTRY_POINTS": "false",
        "TASKLOOM_SHUTDOWN_GRACE": "3",
        "TASKLOOM_POLL_INTERVAL": "0.1",
        "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)]),
    }
    app = Taskloom(url, registry=Registry([Sleepy]), worker=False, load_entry_points=False)
    await app.start()
    process = await asyncio.create_subprocess_exec(
        *taskloom_command(),
        "worker",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        short = await app.service.trigger(Sleepy.id, {"seconds": 1.0})
        long = await app.service.trigger(Sleepy.id, {"seconds": 60})
        deadline = time.monotonic() + 60
        while True:
            statuses = [(await app.service.get(r.id)).status for r in (short, long)]
            if statuses == [TaskStatus.RUNNING, TaskStatus.RUNNING]:
                break
            assert process.returncode is None, "the worker exited early"
            assert time.monotonic() < deadline, "the worker never started the runs"
            await asyncio.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(process.communicate(), 30)
        assert process.returncode == 0, err.decode()
        assert "stopping: finishing in-flight iterations" in out.decode()
        # In flight and done within the grace period: finished.
        finished = await app.service.get(short.id)
        assert finished.status is TaskStatus.SUCCEEDED
        assert finished.output == {"slept": 1.0}
        # Still running when the grace period ended: released, logged; it
        # had started, so it reads RUNNING, waiting for a worker.
        released = await app.service.get(long.id)
        assert released.status is TaskStatus.RUNNING and released.waiting is not None
        assert released.worker_id is None
        messages = [e.message for e in (await app.service.logs(long.id)).items]
        assert messages == ["worker stopped: iteration interrupted, run waits for a worker again"]
    finally:
        if process.returncode is None:
            process.kill()
            await process.communicate()
        await app.stop()
