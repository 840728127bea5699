"""The README's five-minute tour, pasted as is, prints what the README says."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def tour_code() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    _, after = readme.split("A five-minute tour", 1)
    match = re.search(r"```python\n(.*?)```", after, re.DOTALL)
    assert match is not None, "no ```python block after 'A five-minute tour'"
    return match.group(1)


def test_the_tour_prints_what_the_readme_promises(tmp_path: Path) -> None:
    (tmp_path / "tour.py").write_text(tour_code(), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKLOOM_")}
    env["PYTHONPATH"] = str(ROOT)
    python = ROOT / ".venv" / "bin" / "python"
    done = subprocess.run(
        [str(python if python.exists() else sys.executable), "tour.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "SUCCEEDED {'greeted': 3} 3 of 3 greetings"
    logs = [re.sub(r"^\d\d:\d\d:\d\d(\.\d+)? ", "", line) for line in lines[1:]]
    assert logs == [f"INFO hello Ada (#{n})" for n in (1, 2, 3)]
    assert (tmp_path / "tour.db").exists(), "the tour's database is relative to its folder"
