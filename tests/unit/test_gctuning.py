"""The collector's tuning: what is alive goes to the permanent generation and
the youngest generation's threshold rises, once per process (later starts
in the same process change nothing)."""

from __future__ import annotations

import gc

from taskloom.server.gctuning import YOUNG_THRESHOLD, tune_collector
from taskloom.server.settings import Settings


def test_the_collector_is_tuned_once_per_process() -> None:
    tune_collector()  # this test process may have been tuned already
    frozen, threshold = gc.get_freeze_count(), gc.get_threshold()
    assert frozen > 0
    assert threshold[0] == YOUNG_THRESHOLD
    assert tune_collector() is False
    # Frozen objects may still be freed meanwhile (the count then falls by a
    # few); a second freeze would add every object alive now.
    assert gc.get_freeze_count() <= frozen
    assert gc.get_threshold() == threshold


def test_the_tuning_is_on_unless_switched_off() -> None:
    assert Settings().tune_gc is True
    assert Settings(tune_gc=False).tune_gc is False
