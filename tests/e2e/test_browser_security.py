"""Browser-side attacks on a real `taskloom serve`, in the Chromium the
dashboard tests use.

Browser hardening: the dashboard and GraphiQL work under the
Content-Security-Policy (no violation reported), with framing refused.

DNS rebinding (`TASKLOOM_AUTH=disabled`): Chromium's `--host-resolver-rules`
maps `rebind.example` to 127.0.0.1, as a rebinding DNS server would after
the victim opened the attacker's page. The page then shares the server's
address but not its Host header, and the server refuses it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, expect, sync_playwright

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


def test_dashboard_and_graphiql_run_under_the_headers_with_no_csp_violation(
    start_server: ServerFactory, browser: Browser
) -> None:
    server = start_server()
    assert server.token is not None
    context = browser.new_context(base_url=server.base_url)
    context.set_default_timeout(15_000)
    violations: list[str] = []
    try:
        page = context.new_page()
        page.on(
            "console",
            lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
        )
        page.on("pageerror", lambda e: violations.append(str(e)))
        for path in ("/", "/graphql"):
            response = page.goto(path)
            assert response is not None and response.status == 200
            headers = response.headers
            assert "frame-ancestors 'none'" in headers["content-security-policy"]
            assert "'unsafe-inline'" not in headers["content-security-policy"]
            assert headers["x-frame-options"] == "DENY"
            assert headers["referrer-policy"] == "no-referrer"
            if path == "/":
                # the dashboard signs in and reads over HTTP and WebSocket
                page.get_by_test_id("token").fill(server.token)
                page.get_by_test_id("save-token").click()
                expect(page.locator("body")).to_have_attribute("data-ready", "true")
                expect(page.get_by_test_id("trigger-definition")).to_contain_text("Countdown")
            else:
                expect(page.locator(".graphiql-execute-button")).to_be_visible()
                expect(page.locator(".graphiql-query-editor")).to_contain_text("TriggerCountdown")
    finally:
        context.close()
    assert violations == []
    answer = httpx.post(
        server.base_url + "/graphql", json={"query": "{ __typename }"}, headers=server.headers
    )
    assert answer.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
