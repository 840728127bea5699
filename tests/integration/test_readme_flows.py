"""The README's "Flows" programs run as written and print what their
comments say."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.readme import programs, run_program

EXPECTED = {
    0: ["SUCCEEDED 14 2"],
    1: [
        "PENDING DEPENDENCIES",
        "SUCCEEDED extract ['clean', 'enrich'] load",
        "[('clean', 'SUCCEEDED'), ('enrich', 'SUCCEEDED')]",
        "FAILED DEPENDENCY_FAILED True",
    ],
    2: ["ABORTED True", "ABORTED True", "ABORTED True"],
    3: [
        "FAILED DEADLINE the run passed its deadline of 0.5 s",
        "FAILED EXPIRED 0",
    ],
}


def test_every_flow_example_is_checked() -> None:
    assert len(programs("flows-example")) == len(EXPECTED)


@pytest.mark.parametrize("index", sorted(EXPECTED))
def test_the_readme_flow_program_runs(tmp_path: Path, index: int) -> None:
    assert run_program(programs("flows-example")[index], tmp_path) == EXPECTED[index]
