"""Why a SQLite file could not be opened, read or written, in one line
naming the file and the cause ("cannot write /x/taskloom.db: read-only file
system"), from the driver's error and a look at the file and its folder.

SQLite's own messages name neither ("unable to open database file",
"attempt to write a readonly database"), and the same message has several
causes: a missing folder, a read-only mount, a file or folder without write
permission (SQLite writes its `-wal` and `-shm` beside the file), an
immutable file.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

MEMORY = "the in-memory database"


def driver_error(exc: BaseException) -> sqlite3.Error | None:
    """The sqlite3 error behind `exc` (SQLAlchemy's wrapper, or a script
    step's), if any."""
    cause: BaseException | None = exc
    for _depth in range(6):
        if cause is None:
            return None
        if isinstance(cause, sqlite3.Error):
            return cause
        cause = getattr(cause, "orig", None) or cause.__cause__
    return None


def explain(path: str | None, exc: BaseException, action: str) -> str | None:
    """`cannot {action} {path}: {cause}` when `exc` comes from the state of
    the database (missing, read-only, full, locked, corrupt); None when it
    is about the statement."""
    error = driver_error(exc)
    if isinstance(exc, OSError) and error is None:
        return f"cannot {action} {path or MEMORY}: {exc.strerror or exc}"
    if not isinstance(error, sqlite3.OperationalError | sqlite3.DatabaseError) or isinstance(
        error, sqlite3.IntegrityError | sqlite3.DataError | sqlite3.ProgrammingError
    ):
        return None
    message = str(error)
    cause = _cause(path, message)
    if cause is None:
        return None
    if "unable to open" in message:
        action = "open"
    return f"cannot {action} {path or MEMORY}: {cause}"


def _cause(path: str | None, message: str) -> str | None:
    if "locked" in message or "busy" in message:
        return "the database is locked by another connection for too long; try again"
    if "malformed" in message or "not a database" in message:
        return f"the file is damaged ({message}); see the README, 'When the database file fails'"
    if "full" in message:
        return "no space left on device (database or disk is full)"
    if "disk I/O error" in message:
        return f"disk I/O error ({message})"
    if "readonly" in message or "read-only" in message or "unable to open" in message:
        return _why_not_writable(path, message)
    return None


def _why_not_writable(path: str | None, message: str) -> str:
    if path is None:
        return message
    try:
        return _look(Path(path).absolute(), message)
    except OSError as exc:  # a folder on the way that this process cannot enter
        return f"{exc.strerror or exc}: {exc.filename or path}"


def _look(file: Path, message: str) -> str:
    folder = file.parent
    if not os.access(folder.parent, os.X_OK):
        return f"permission denied on a directory above {folder}"
    if not folder.is_dir():
        return f"no such directory {folder}"
    if os.statvfs(folder).f_flag & os.ST_RDONLY:
        return "read-only file system"
    if file.exists() and not os.access(file, os.W_OK):
        return "the file is read-only (no write permission)"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"no write permission on the directory {folder} (SQLite writes its journal there)"
    if "unable to open" in message:
        return f"the file cannot be opened ({message})"
    return "the file cannot be written (immutable, or read-only to this process)"
