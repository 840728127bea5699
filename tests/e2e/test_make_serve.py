"""What `make serve` and `make test` run on a fresh clone (`make -n -B`:
every step, nothing executed): `make serve` installs the runtime
dependencies only, passes HOST and PORT on, and asks for the examples;
`make test` installs the dev extras and loads no examples."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def planned(*argv: str) -> list[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKLOOM_")}
    done = subprocess.run(
        ["make", "-n", "-B", "--no-print-directory", *argv],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.splitlines()


def test_make_serve_installs_the_runtime_only_and_passes_host_and_port() -> None:
    steps = planned("serve", "PORT=8010", "HOST=0.0.0.0")
    installs = [s for s in steps if " install " in s and "--upgrade pip" not in s]
    assert installs == [".venv/bin/python -m pip --disable-pip-version-check install -e ."]
    assert not any(" -q" in s for s in steps), "pip shows what it installs"
    assert any(s.startswith("echo ") and "installing" in s for s in steps)
    assert steps[-1] == ".venv/bin/taskloom serve --host 0.0.0.0 --port 8010"


def test_make_serve_without_host_and_port_leaves_them_to_the_settings() -> None:
    assert planned("serve")[-1].rstrip() == ".venv/bin/taskloom serve"


def test_only_make_serve_asks_for_the_examples() -> None:
    text = (ROOT / "Makefile").read_text()
    assert "serve: export TASKLOOM_DEFINITIONS ?= taskloom.definitions.examples" in text
    assert "\nexport TASKLOOM_DEFINITIONS" not in text, "a global export would reach make test"


def test_make_test_installs_the_dev_extras() -> None:
    steps = planned("test")
    assert ".venv/bin/python -m pip --disable-pip-version-check install -e '.[dev,otel]'" in steps
    assert steps[-1] == ".venv/bin/pytest -n 2 --dist loadfile"
