"""`taskloom webhook …` as a user runs it, on a SQLite file: register,
list, see a delivery queued by an abort made from the shell, delete; bad
input exits 1 with the field and no traceback."""

from __future__ import annotations

import json
from typing import Any

from tests.e2e.test_cli_foundation import cli  # noqa: F401  (the fixture)


def test_register_list_see_deliveries_and_delete(cli: Any) -> None:  # noqa: F811
    created = cli(
        "webhook",
        "create",
        "https://hooks.example.com/taskloom",
        "--event",
        "aborted",
        "--event",
        "failed",
        "--definition",
        "countdown",
    )
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip().splitlines()[-1]
    assert secret.startswith("whsec_")
    listed = json.loads(cli("webhook", "list", "--json").stdout)
    assert [(w["url"], w["events"], w["definition_ids"]) for w in listed] == [
        ("https://hooks.example.com/taskloom", ["aborted", "failed"], ["countdown"])
    ]
    assert secret not in cli("webhook", "list").stdout

    triggered = cli("trigger", "countdown", "--input", '{"start": 3}', "--delay", "3600")
    assert triggered.returncode == 0, triggered.stderr
    run_id = json.loads(triggered.stdout)["id"]
    assert cli("abort", run_id).returncode == 0
    found = json.loads(cli("webhook", "deliveries", "--run", run_id, "--json").stdout)
    assert [(d["event"], d["state"], d["attempts"]) for d in found] == [("aborted", "queued", 0)]

    deleted = cli("webhook", "delete", listed[0]["id"])
    assert deleted.returncode == 0 and "deleted" in deleted.stdout
    assert cli("webhook", "list").stdout.strip() == "no webhooks"


def test_bad_input_exits_1_naming_the_field(cli: Any) -> None:  # noqa: F811
    refused = cli("webhook", "create", "ftp://example.com", "--event", "failed")
    assert refused.returncode == 1
    assert "url: must be an http:// or https:// URL" in refused.stderr
    assert "Traceback" not in refused.stderr
    unknown = cli("webhook", "create", "https://example.com", "--event", "exploded")
    assert unknown.returncode == 1 and "events:" in unknown.stderr
    missing = cli("webhook", "delete", "no-such-id")
    assert missing.returncode == 1 and "no webhook" in missing.stderr
