"""Every Python block of the README is run by a test or plainly marked a
fragment: the tour (tests/e2e/test_readme_tour.py), a block after an
`<!-- name-example -->` marker that a test reads, or an `<!-- fragment -->`
whose first line says `# fragment: ...`. The synchronous example runs here."""

from __future__ import annotations

import re
from pathlib import Path

from tests.support.readme import ROOT, program, readme_text, run_program

README = readme_text()
BLOCK = re.compile(r"(?:<!-- ([\w-]+) -->\n)?```python\n(.*?)```", re.DOTALL)
TESTS = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "tests").rglob("test_*.py"))


def test_every_python_block_is_run_or_marked_a_fragment() -> None:
    tour = README.index("```python", README.index("A five-minute tour"))
    unmarked = []
    for match in BLOCK.finditer(README):
        marker, code = match.group(1), match.group(2)
        if marker == "fragment":
            assert code.startswith("# fragment: "), code[:80]
        elif marker is not None:
            assert marker in TESTS, f"no test reads the {marker} blocks"
        elif match.start() != tour:
            unmarked.append(code.splitlines()[0])
    assert unmarked == [], f"README Python blocks neither run nor marked a fragment: {unmarked}"


def test_the_sync_example_finishes_with_worker_true(tmp_path: Path) -> None:
    assert run_program(program("sync-example"), tmp_path) == ["SUCCEEDED"]
