"""The README's "Run control and features" program runs as written."""

from __future__ import annotations

from pathlib import Path

from tests.support.readme import program, run_program


def test_the_readme_features_program_runs(tmp_path: Path) -> None:
    lines = run_program(program("features-example"), tmp_path, file_name="features.py")
    assert lines[0] == "SUCCEEDED {'imported': 150} 2"
    assert lines[1] == "3 of 3 batches | Importing batch 3 of 3"
    assert lines[-1] == "PAUSED True"
