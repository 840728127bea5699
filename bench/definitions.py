"""The benchmark's definitions, registered for `taskloom serve`
(TASKLOOM_DEFINITIONS=bench.definitions)."""

from __future__ import annotations

from bench.taskloom_embedded import REGISTRY
from taskloom.definitions import register

for _definition in REGISTRY:
    register(_definition)
