"""Cursors: `encode_cursor` writes exactly the compact JSON that `json`
would, base64url without padding, and `decode_cursor` reads it back."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from taskloom.definitions.errors import InvalidInput
from taskloom.server.store.paging import decode_cursor, encode_cursor

VALUES = st.lists(
    st.one_of(
        st.text(),
        st.integers(),
        st.floats(allow_nan=False),
        st.booleans(),
        st.none(),
    ),
    max_size=3,
)


def _by_json(values: list[Any]) -> str:
    raw = json.dumps(values, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@given(VALUES)
def test_a_cursor_is_the_compact_json_of_its_values(values: list[Any]) -> None:
    cursor = encode_cursor(values)
    assert cursor == _by_json(values)
    assert decode_cursor(cursor, len(values)) == values


@pytest.mark.parametrize(
    "values",
    [["01a23ba0-ad24-776b-bac4-4db0ca7df46a"], [3, "id"], [-1.0, "id"], [1.7e9 + 0.123, 'q"\\é']],
)
def test_the_cursors_runs_are_paged_by(values: list[Any]) -> None:
    assert encode_cursor(values) == _by_json(values)


def test_a_cursor_of_another_size_is_refused() -> None:
    with pytest.raises(InvalidInput, match="malformed cursor"):
        decode_cursor(encode_cursor(["a", "b"]), 1)
