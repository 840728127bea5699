"""The startup freeze: what is alive goes to the permanent generation, once
per process (later starts in the same process change nothing)."""

from __future__ import annotations

import gc

from server.gcfreeze import freeze_startup_objects
from server.settings import Settings


def test_startup_objects_are_frozen_once_per_process() -> None:
    freeze_startup_objects()  # this test process may have frozen already
    frozen = gc.get_freeze_count()
    assert frozen > 0
    assert freeze_startup_objects() is False
    assert gc.get_freeze_count() == frozen


def test_the_freeze_is_on_unless_switched_off() -> None:
    assert Settings().freeze_gc is True
    assert Settings(freeze_gc=False).freeze_gc is False
