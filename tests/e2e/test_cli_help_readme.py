"""The help the README quotes (a ```text block after `<!-- cli-help: ARGS
-->`) is what `taskloom ARGS --help` prints, at 80 columns, piped."""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from tests.e2e.conftest import taskloom_command
from tests.support.readme import readme_text

QUOTED = re.compile(r"<!-- cli-help: ([\w -]+) -->\n```text\n(.*?)\n```", re.DOTALL)
QUOTES = {args: block for args, block in QUOTED.findall(readme_text())}


def test_the_readme_quotes_some_help() -> None:
    assert "wait" in QUOTES


@pytest.mark.parametrize("args", sorted(QUOTES))
def test_the_quoted_help_is_what_the_command_prints(args: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKLOOM_")}
    env["COLUMNS"] = "80"
    done = subprocess.run(
        [*taskloom_command(), *args.split(), "--help"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    printed = [line.rstrip() for line in done.stdout.strip("\n").splitlines()]
    assert printed == QUOTES[args].splitlines()
