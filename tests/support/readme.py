"""The README's Python programs, read and run as a reader would paste them:
what every tests/**/test_readme_*.py shares.

A program is the ```python block after an `<!-- name-example -->` marker
(tests/integration/test_readme_snippets.py holds that every block is run or
marked a fragment). It runs as its own process, from a fresh folder, with
the checkout importable and no TASKLOOM_* setting of the test's own
environment, so it sees what a reader's shell would give it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
OPENING = "```python\n"


def readme_text() -> str:
    return README.read_text(encoding="utf-8")


def program_after(at: int, text: str) -> str:
    """The ```python block that starts after position `at` of `text`."""
    start = text.index(OPENING, at) + len(OPENING)
    return text[start : text.index("\n```", start)] + "\n"


def programs(marker: str) -> list[str]:
    """Every block after an `<!-- marker -->`, in README order."""
    text = readme_text()
    tag = f"<!-- {marker} -->"
    found = []
    at = text.find(tag)
    while at != -1:
        found.append(program_after(at, text))
        at = text.find(tag, at + len(tag))
    return found


def program(marker: str) -> str:
    """The block after the one `<!-- marker -->`."""
    found = programs(marker)
    assert len(found) == 1, f"{len(found)} blocks marked {marker!r}, expected one"
    return found[0]


def reader_environment(**settings: str) -> dict[str, str]:
    """This process's environment without its TASKLOOM_* settings, with the
    checkout importable, entry points of other installed packages left out,
    and then `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKLOOM_")}
    env["PYTHONPATH"] = str(ROOT)
    env["TASKLOOM_LOAD_ENTRY_POINTS"] = "false"
    env.update(settings)
    return env


def run_program(
    code: str, folder: Path, *, file_name: str = "example.py", timeout: float = 120
) -> list[str]:
    """Saves `code` as `folder/file_name`, runs it there and returns its
    stdout's lines; it must exit 0 (its stderr is the failure message)."""
    (folder / file_name).write_text(code, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, file_name],
        cwd=folder,
        env=reader_environment(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()
