"""Parameters bound for PostgreSQL: NUL characters in strings are replaced,
whatever the shape (one row, many rows, named), and nothing else changes."""

from __future__ import annotations

from taskloom.server.store.postgres.nul_text import REPLACEMENT, replace_nul


def test_nul_is_replaced_in_every_shape_of_parameters() -> None:
    many = [("a\x00", 1, None), ("b", 2.5, "c\x00\x00")]
    _sql, sent = replace_nul(None, None, "SQL", many, None, True)
    assert sent == [("a" + REPLACEMENT, 1, None), ("b", 2.5, "c" + REPLACEMENT * 2)]
    _sql, sent = replace_nul(None, None, "SQL", {"x": "\x00", "y": [1, "z\x00"]}, None, False)
    assert sent == {"x": REPLACEMENT, "y": [1, "z" + REPLACEMENT]}


def test_parameters_without_nul_are_passed_on_as_they_are() -> None:
    params = ("plain", 3, None, '{"json": "\\\\u0000"}')
    sql, sent = replace_nul(None, None, "SELECT $1", params, None, False)
    assert (sql, sent) == ("SELECT $1", params) and sent is params
