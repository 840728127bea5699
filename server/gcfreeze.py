"""Startup objects out of the cyclic garbage collector's way.

A Taskloom process holds about 90,000 objects from its imports and set-up
(SQLAlchemy, strawberry, pydantic, the definitions). Every full collection
walks all of them again, and a busy worker triggers several a second: in
a drain of 20,000 no-op runs, four full collections took 175-250 ms, with
pauses of 50-60 ms. `gc.freeze()` moves what is alive when Taskloom has
started into a permanent generation that collections skip. Those objects
are still freed by reference counting; a reference cycle among them that
later becomes garbage is no longer collected. That is the usual trade for
long-lived servers, and the reason it can be switched off
(`TASKLOOM_FREEZE_GC=false`).
"""

from __future__ import annotations

import gc

_frozen = False


def freeze_startup_objects() -> bool:
    """Collects, then freezes what is left; once per process. True if this
    call froze."""
    global _frozen
    if _frozen:
        return False
    _frozen = True
    gc.collect()
    gc.freeze()
    return True
