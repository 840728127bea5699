"""Browser-side attacks on a real `taskloom serve`, in the Chromium the
dashboard tests use.

DNS rebinding (`TASKLOOM_AUTH=disabled`): Chromium's `--host-resolver-rules`
maps `rebind.example` to 127.0.0.1, as a rebinding DNS server would after
the victim opened the attacker's page. The page then shares the server's
address but not its Host header, and the server refuses it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.e2e.conftest import ServerFactory
from tests.e2e.test_dashboard import CHROMIUM, CHROMIUM_ARGS

REBINDING_NAME = "rebind.example"
MINT = 'mutation { createApiToken(name: "stolen", role: ADMIN) { secret } }'
# What the attacker's page runs: a same-origin POST (no CORS preflight
# stands in its way) and the answer it got.
MINT_SCRIPT = """async (query) => {
  const answer = await fetch('/graphql', {
    method: 'POST',
    headers: {'content-type': 'application/json'},
    body: JSON.stringify({query}),
  });
  return {status: answer.status, body: await answer.text()};
}"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: run ./.ci/system-deps"
    rules = f"--host-resolver-rules=MAP {REBINDING_NAME} 127.0.0.1"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, rules]
        )
        yield launched
        launched.close()


def mint_from(browser: Browser, origin: str) -> tuple[int | None, dict[str, Any]]:
    """Opens `origin`'s dashboard and has the page ask for an admin token;
    returns the page's HTTP status and the mutation's answer."""
    context = browser.new_context()
    try:
        page = context.new_page()
        response = page.goto(origin + "/")
        answer: dict[str, Any] = page.evaluate(MINT_SCRIPT, MINT)
        return (None if response is None else response.status), answer
    finally:
        context.close()


def test_a_rebinding_page_cannot_mint_a_token_when_auth_is_disabled(
    start_server: ServerFactory, browser: Browser
) -> None:
    server = start_server(TASKLOOM_AUTH="disabled")

    status, answer = mint_from(browser, f"http://{REBINDING_NAME}:{server.port}")
    assert status == 403
    assert answer["status"] == 403, answer
    assert "secret" not in answer["body"] and "FORBIDDEN" in answer["body"]

    # The same page served from the loopback name still works (the local
    # experiments TASKLOOM_AUTH=disabled is for).
    status, answer = mint_from(browser, f"http://localhost:{server.port}")
    assert status == 200
    assert answer["status"] == 200 and '"secret"' in answer["body"], answer
    listed = server.run("token", "list", "--json")
    names = [token["name"] for token in json.loads(listed.stdout)]
    assert names.count("stolen") == 1, "only the loopback page made a token"
