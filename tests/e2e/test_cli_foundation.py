"""The `taskloom` command line as a user runs it: migrate, trigger (good
and bad input), show."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

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
    env["TASKLOOM_DEFINITIONS"] = "definitions.examples"
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
