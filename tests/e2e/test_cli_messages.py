"""An error printed where stderr is not a terminal stays one line, however
long (it used to wrap at 80 columns, mid-sentence)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.e2e.conftest import taskloom_command


def test_a_long_error_is_one_line_when_piped(tmp_path: Path) -> None:
    run_id = "a-run-id-long-enough-that-the-message-passes-eighty-columns-by-far-" * 2
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKLOOM_")}
    env["TASKLOOM_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 't.db'}"
    done = subprocess.run(
        [*taskloom_command(), "show", run_id],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.splitlines() == [f"error: no task run with id {run_id!r}"]
