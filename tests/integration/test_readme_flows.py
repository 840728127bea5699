"""The README's "Flows" programs run as written and print what their
comments say."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MARKER = "<!-- flows-example -->"


def flow_examples() -> list[str]:
    text = (ROOT / "README.md").read_text()
    found = []
    at = text.find(MARKER)
    while at != -1:
        start = text.index("```python\n", at) + len("```python\n")
        found.append(text[start : text.index("\n```", start)] + "\n")
        at = text.find(MARKER, start)
    return found


EXPECTED = {
    0: ["SUCCEEDED 14 2"],
    1: [
        "PENDING DEPENDENCIES",
        "SUCCEEDED extract ['clean', 'enrich'] load",
        "FAILED DEPENDENCY_FAILED True",
    ],
    2: ["ABORTED True", "ABORTED True", "ABORTED True"],
    3: [
        "FAILED DEADLINE the run passed its deadline of 0.5 s",
        "FAILED EXPIRED 0",
    ],
}


def test_every_flow_example_is_checked() -> None:
    assert len(flow_examples()) == len(EXPECTED)


@pytest.mark.parametrize("index", sorted(EXPECTED))
def test_the_readme_flow_program_runs(tmp_path: Path, index: int) -> None:
    (tmp_path / "example.py").write_text(flow_examples()[index])
    env = dict(os.environ, PYTHONPATH=str(ROOT), TASKLOOM_LOAD_ENTRY_POINTS="false")
    done = subprocess.run(
        [sys.executable, "example.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == EXPECTED[index]
