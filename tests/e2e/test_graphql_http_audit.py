"""The GraphQL-over-HTTP spec's own audit (the npm package graphql-http,
version pinned) against a real `taskloom serve`: every audit passes, with
no warnings. npm installs the package into a temporary folder (from the
registry, or npm's cache)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import ServerFactory

GRAPHQL_HTTP = "graphql-http@1.23.1"
AUDIT = Path(__file__).resolve().parents[1] / "support" / "graphql_http_audit.mjs"


@pytest.fixture(scope="module")
def audit_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("node") is None or shutil.which("npm") is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("node and npm are needed for the GraphQL-over-HTTP audit")
        pytest.skip("node and npm are not installed")
    folder = tmp_path_factory.mktemp("graphql-http")
    subprocess.run(
        ["npm", "install", "--silent", "--no-audit", "--no-fund", GRAPHQL_HTTP],
        cwd=folder,
        check=True,
        capture_output=True,
        timeout=300,
    )
    shutil.copy(AUDIT, folder / "audit.mjs")
    return folder


def test_the_graphql_over_http_audit_passes_without_warnings(
    audit_dir: Path, start_server: ServerFactory
) -> None:
    server = start_server(TASKLOOM_AUTH="disabled")
    done = subprocess.run(
        ["node", "audit.mjs", server.graphql_url],
        cwd=audit_dir,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    results = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(results) >= 50
    failing = [r for r in results if r["status"] != "ok"]
    assert failing == [], failing
