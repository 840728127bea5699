"""A stored time read back as a datetime is its floor to the microsecond:
never later than the stored value (so it works as an exclusive upper and an
inclusive lower filter bound) and never a whole microsecond early."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import example, given
from hypothesis import strategies as st

from taskloom.definitions.timestamps import to_datetime

# Epoch seconds from 2001 to 2100, as time.time() gives them.
EPOCH_SECONDS = st.floats(min_value=1e9, max_value=4.1e9, allow_nan=False)


def _read_back(value: float) -> tuple[float, float]:
    """The datetime shown for `value`, and the next microsecond, as epoch
    seconds (as a filter bound given that datetime gets them)."""
    shown = to_datetime(value)
    assert shown is not None
    return shown.timestamp(), (shown + timedelta(microseconds=1)).timestamp()


@given(EPOCH_SECONDS)
@example(2147483648.291526)  # just below a whole microsecond
def test_a_time_read_back_is_its_floor_to_the_microsecond(value: float) -> None:
    shown, next_micro = _read_back(value)
    # The next microsecond, as a float, may round to `value` itself (a value
    # just below a whole microsecond): hence <= on the right.
    assert shown <= value <= next_micro


def test_a_product_that_rounds_up_is_corrected() -> None:
    # value * 1e6 rounds up to a whole ...584252 in floating point, although
    # value is below ...584252 microseconds: a plain floor showed it later.
    value = 1763912345.5842519
    assert value * 1e6 == 1763912345584252.0
    shown, next_micro = _read_back(value)
    assert shown <= value <= next_micro
