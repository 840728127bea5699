"""The README's "Policies" programs run as written and print what their
comments say."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MARKER = "<!-- policies-example -->"


def policy_examples() -> list[str]:
    text = (ROOT / "README.md").read_text()
    found = []
    at = text.find(MARKER)
    while at != -1:
        start = text.index("```python\n", at) + len("```python\n")
        found.append(text[start : text.index("\n```", start)] + "\n")
        at = text.find(MARKER, start)
    return found


EXPECTED = {
    0: [
        "SUCCEEDED 2",
        "retry 1 of 5",
        "retry 2 of 5",
        "FAILED 0 PermissionError",
        "FAILED 0 NOT_FOUND",
    ],
    1: ["SUCCEEDED", "SUCCEEDED", "PENDING RATE_LIMIT"],
    2: ["PENDING DEFINITION_PAUSED", "SUCCEEDED"],
    3: [
        "False",
        "refused: runs of 'transfer' cannot be aborted",
        "PAUSED {'frames': 10} True",
        "2",
    ],
    4: ["[('digest', {'team': 'ops'})]", "ops", "0"],
}


def test_every_policy_example_is_checked() -> None:
    assert len(policy_examples()) == len(EXPECTED)


@pytest.mark.parametrize("index", sorted(EXPECTED))
def test_the_readme_policy_program_runs(tmp_path: Path, index: int) -> None:
    (tmp_path / "example.py").write_text(policy_examples()[index])
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
