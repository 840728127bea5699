"""Rate limits: at most N run starts per period, written "100/m"."""

from __future__ import annotations

import re
from dataclasses import dataclass

_UNITS = {"s": 1.0, "m": 60.0, "h": 3_600.0, "d": 86_400.0}
_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d*(?:\.\d+)?)\s*([smhd])\s*$")


@dataclass(frozen=True)
class RateLimit:
    """At most `count` starts in any `period` seconds (a sliding window)."""

    count: int
    period: float

    @classmethod
    def parse(cls, spec: str) -> RateLimit:
        """ "100/m", "10/s", "5000/h", "20/d", or with a length: "30/10s",
        "100/1.5m"; raises ValueError on anything else."""
        found = _SPEC.match(spec) if isinstance(spec, str) else None
        if found is None:
            raise ValueError(
                f"invalid rate limit {spec!r}: expected N/unit (unit s, m, h or d, "
                'optionally with a length, e.g. "100/m" or "30/10s")'
            )
        count, length, unit = found.groups()
        period = (float(length) if length else 1.0) * _UNITS[unit]
        if int(count) < 1 or period <= 0:
            raise ValueError(f"invalid rate limit {spec!r}: count and period must be positive")
        return cls(int(count), period)

    def __str__(self) -> str:
        return f"{self.count} per {self.period:g} s"
