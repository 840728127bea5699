"""Tracebacks of task code as each reader sees them (issue 21, item 8):
engine/tracebacks.py keeps them whole and task-only, service/log_views.py
picks one per reader."""

from __future__ import annotations

import json
import os
import traceback
from datetime import UTC, datetime
from typing import Any

from taskloom.definitions.records import LogLevel
from taskloom.definitions.views import LogView
from taskloom.server.engine import tracebacks
from taskloom.server.service.log_views import shown

HERE = os.path.basename(__file__)


def read(text: str) -> Any:
    return json.loads(text)


def raised() -> BaseException:
    try:
        read("{")
    except ValueError as exc:
        return exc
    raise AssertionError("json.loads accepted '{'")


def test_task_only_keeps_the_modules_frames_by_their_base_name() -> None:
    exc = raised()
    short = tracebacks.task_only(exc, tracebacks.module_file(__name__))
    assert short.startswith("Traceback (most recent call last):\n")
    assert f'File "{HERE}"' in short and "in raised" in short and "in read" in short
    assert "/" not in short and "decoder.py" not in short
    assert short.endswith("".join(traceback.format_exception_only(type(exc), exc)))
    assert os.path.abspath(__file__) in tracebacks.whole(exc)


def test_without_the_modules_file_only_the_exception_is_left() -> None:
    exc = raised()
    alone = "".join(traceback.format_exception_only(type(exc), exc))
    assert tracebacks.task_only(exc, None) == alone
    assert tracebacks.task_only(exc, "/elsewhere/other.py") == alone


def line(data: Any) -> LogView:
    return LogView(1, "run", LogLevel.ERROR, "boom", data, 0, datetime.now(UTC))


def test_each_reader_gets_one_traceback() -> None:
    kept = {"type": "ValueError", "traceback": "whole", "task_traceback": "short"}
    captured = {"logger": "x", "exception": "whole", "task_exception": "short"}
    assert shown(line(kept), whole_tracebacks=True).data == {
        "type": "ValueError",
        "traceback": "whole",
    }
    assert shown(line(kept), whole_tracebacks=False).data == {
        "type": "ValueError",
        "traceback": "short",
    }
    assert shown(line(captured), whole_tracebacks=False).data == {
        "logger": "x",
        "exception": "short",
    }
    assert kept["traceback"] == "whole"  # the stored data is not changed


def test_a_line_from_before_shows_non_admins_no_traceback() -> None:
    old = {"type": "ValueError", "traceback": "whole"}
    assert shown(line(old), whole_tracebacks=False).data == {"type": "ValueError"}
    assert shown(line(old), whole_tracebacks=True).data == old
    plain = line({"remaining": 3})
    assert shown(plain, whole_tracebacks=False) is plain
    assert shown(line("text"), whole_tracebacks=False).data == "text"
