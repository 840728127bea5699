"""The README's "Policies" programs run as written and print what their
comments say."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.readme import programs, run_program

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
    assert len(programs("policies-example")) == len(EXPECTED)


@pytest.mark.parametrize("index", sorted(EXPECTED))
def test_the_readme_policy_program_runs(tmp_path: Path, index: int) -> None:
    assert run_program(programs("policies-example")[index], tmp_path) == EXPECTED[index]
