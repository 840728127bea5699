"""The README's "Run control and features" program runs as written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def features_example() -> str:
    text = (ROOT / "README.md").read_text()
    marker = text.index("<!-- features-example -->")
    start = text.index("```python\n", marker) + len("```python\n")
    return text[start : text.index("\n```", start)] + "\n"


def test_the_readme_features_program_runs(tmp_path: Path) -> None:
    (tmp_path / "features.py").write_text(features_example())
    env = dict(os.environ, PYTHONPATH=str(ROOT), TASKLOOM_LOAD_ENTRY_POINTS="false")
    done = subprocess.run(
        [sys.executable, "features.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "SUCCEEDED {'imported': 150} 2"
    assert lines[1] == "3 of 3 batches | Importing batch 3 of 3"
    assert lines[-1] == "PAUSED True"
