"""What a delivery posts: JSON made from the outbox row, which holds the run
as it was at the event."""

from __future__ import annotations

import json
from typing import Any

from taskloom.definitions.timestamps import exact_datetime


def body(row: Any) -> bytes:
    """The delivery's JSON body, compact:

    {"id": "42", "event": "run.succeeded", "occurred_at": "2026-...+00:00",
     "run": {"id", "definition_id", "name", "status", "attempt", "output",
             "error": {"code", "message"} or null, "created_by"}}"""
    error = None
    if row["error_code"] is not None or row["error_message"] is not None:
        error = {"code": row["error_code"], "message": row["error_message"]}
    document = {
        "id": str(row["id"]),
        "event": f"run.{row['event']}",
        "occurred_at": exact_datetime(row["occurred_at"]).isoformat(),
        "run": {
            "id": row["run_id"],
            "definition_id": row["definition_id"],
            "name": row["run_name"],
            "status": row["run_status"],
            "attempt": row["attempt"],
            "output": row["output"],
            "error": error,
            "created_by": row["created_by"],
        },
    }
    return json.dumps(document, separators=(",", ":"), default=str).encode()
