"""`taskloom logs` shows a traceback with real line breaks and long JSON
indented, not as one escaped string (`\\n`, `\\"`); short data stays on the line."""

from __future__ import annotations

from rich.console import Console

from taskloom.server.client.render import log_data_parts, log_line

TRACEBACK = 'Traceback (most recent call last):\n  File "t.py", line 1\nValueError: "x"\n'


def rendered(data: object) -> str:
    console = Console(width=100, record=True, color_system=None)
    line = {
        "level": "ERROR",
        "message": "boom",
        "iteration": 1,
        "created_at": "2026-01-01T10:00:00",
    }
    console.print(log_line(line | {"data": data}))
    return console.export_text()


def test_a_traceback_prints_as_lines() -> None:
    text = rendered({"exception": "ValueError", "traceback": TRACEBACK})
    assert "\\n" not in text and '\\"' not in text
    assert text.splitlines() == [
        '10:00:00 ERROR   #1 boom {"exception": "ValueError"}',
        "  traceback:",
        "    Traceback (most recent call last):",
        '      File "t.py", line 1',
        '    ValueError: "x"',
    ]


def test_short_data_stays_inline_and_long_data_is_indented() -> None:
    assert log_data_parts({"n": 1}) == ('{"n": 1}', [])
    assert log_data_parts(None) == (None, [])
    inline, blocks = log_data_parts({"rows": list(range(40))})
    assert inline is None and blocks[0][0] == "data"
    assert blocks[0][1].startswith('{\n  "rows": [\n    0,')
    assert log_data_parts("one\ntwo") == (None, [("", "one\ntwo")])
