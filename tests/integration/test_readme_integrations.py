"""The README's "Webhooks, a live stream of every run, tracing" programs run
as written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


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
