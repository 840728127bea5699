"""A database outage logged once, not once per poll.

The worker's loops (claim, lease upkeep) and the scheduler retry every
fraction of a second while the database is unreachable or locked; each
failure logged with its traceback buried the log (and the one message that
mattered) under hundreds of lines. Here the first failure of an outage is
logged at ERROR, in one line with its cause, later ones at DEBUG, and the
recovery at WARNING with the outage's length.
"""

from __future__ import annotations

import logging
import time

from taskloom.definitions.errors import TaskloomError


class OutageLog:
    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger
        self.since: float | None = None
        self.failures = 0

    def failed(self, what: str, exc: BaseException) -> None:
        """`what` failed with `exc`; the loop retries."""
        self.failures += 1
        if self.since is not None:
            self.logger.debug("%s failed again: %s", what, describe(exc))
            return
        self.since = time.monotonic()
        if isinstance(exc, TaskloomError):
            self.logger.error(
                "%s failed: %s; retrying (logged once until it works again)", what, describe(exc)
            )
        else:  # not the database: a bug, with its traceback
            self.logger.exception("%s failed; retrying (logged once until it works again)", what)

    def worked(self) -> None:
        """A round succeeded: the end of an outage, if there was one."""
        if self.since is None:
            return
        seconds = time.monotonic() - self.since
        self.logger.warning(
            "the database works again after %.1f s (%d failed attempts)", seconds, self.failures
        )
        self.since = None
        self.failures = 0


def describe(exc: BaseException) -> str:
    return exc.message if isinstance(exc, TaskloomError) else f"{type(exc).__name__}: {exc}"
