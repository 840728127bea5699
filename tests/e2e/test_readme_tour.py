"""The README's five-minute tour, pasted as is, prints what the README says."""

from __future__ import annotations

import re
from pathlib import Path

from tests.support.readme import program_after, readme_text, run_program


def tour_code() -> str:
    text = readme_text()
    return program_after(text.index("A five-minute tour"), text)


def test_the_tour_prints_what_the_readme_promises(tmp_path: Path) -> None:
    lines = run_program(tour_code(), tmp_path, file_name="tour.py")
    assert lines[0] == "SUCCEEDED {'greeted': 3} 3 of 3 greetings"
    logs = [re.sub(r"^\d\d:\d\d:\d\d(\.\d+)? ", "", line) for line in lines[1:]]
    assert logs == [f"INFO hello Ada (#{n})" for n in (1, 2, 3)]
    assert (tmp_path / "tour.db").exists(), "the tour's database is relative to its folder"
