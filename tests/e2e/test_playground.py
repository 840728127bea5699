"""The GraphQL playground in Chromium with every other host blocked: it
renders from the server's own files, runs a query with the token typed into
its Headers tab and shows the answer, shows the server's refusal of a wrong
token, and streams a subscription with the same headers."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Page, Route, expect, sync_playwright

from tests.e2e.conftest import ServerProcess
from tests.e2e.test_dashboard import CHROMIUM, CHROMIUM_ARGS, LIVE_TIMEOUT_MS

# GraphiQL takes an edit into its state (which operation to run, which
# headers to send) after a debounce, and saves it then: act once saved.
SAVED_QUERY = """(query) => {
  const saved = JSON.parse(window.localStorage.getItem("graphiql:tabState") || "{}");
  const tab = (saved.tabs || [])[saved.activeTabIndex || 0];
  return Boolean(tab) && tab.query === query;
}"""
SAVED_HEADERS = """(headers) => window.localStorage.getItem("graphiql:headers") === headers"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def offline_page(
    browser: Browser, taskloom_server: ServerProcess
) -> Iterator[tuple[Page, list[str]]]:
    """A page that may reach the server and nothing else; what it tried
    elsewhere is listed."""
    context = browser.new_context(
        base_url=taskloom_server.base_url, viewport={"width": 1400, "height": 900}
    )
    context.set_default_timeout(20_000)
    own = urlsplit(taskloom_server.base_url).netloc
    blocked: list[str] = []

    def only_the_server(route: Route) -> None:
        url = route.request.url
        if urlsplit(url).netloc == own or url.startswith("data:"):
            route.continue_()
        else:
            blocked.append(url)
            route.abort("internetdisconnected")

    context.route("**/*", only_the_server)
    page = context.new_page()
    yield page, blocked
    context.close()


def replace_editor_text(page: Page, editor: str, text: str) -> str:
    """Types `text` into one of GraphiQL's CodeMirror editors, replacing
    what it held; returns the editor's text (brackets it closed included)."""
    code_mirror = page.locator(f"{editor} .CodeMirror >> visible=true").first
    code_mirror.click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.type(text)
    page.keyboard.press("Escape")  # closes an autocomplete hint, if one opened
    value: str = code_mirror.evaluate("(node) => node.CodeMirror.getValue()")
    return value


def set_headers(page: Page, headers: str) -> None:
    page.get_by_role("button", name="Headers").click()
    typed = replace_editor_text(page, ".graphiql-editor-tool", headers)
    page.wait_for_function(SAVED_HEADERS, arg=typed)


def run_operation(page: Page, operation: str) -> None:
    typed = replace_editor_text(page, ".graphiql-query-editor", operation)
    page.wait_for_function(SAVED_QUERY, arg=typed)
    page.locator(".graphiql-execute-button").click()


def test_graphiql_runs_operations_with_the_token_header_offline(
    offline_page: tuple[Page, list[str]], taskloom_server: ServerProcess
) -> None:
    page, blocked = offline_page
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto("/graphql")
    expect(page.locator(".graphiql-container")).to_be_visible()
    expect(page.locator(".graphiql-query-editor")).to_contain_text("query Overview")
    answer = page.locator(".result-window")

    set_headers(page, f'{{"Authorization": "Bearer {taskloom_server.token}"')
    run_operation(page, "{ taskDefinitions { id title")
    expect(answer).to_contain_text('"taskDefinitions"')
    expect(answer).to_contain_text('"id": "countdown"')
    expect(answer).not_to_contain_text("errors")

    # A subscription goes over the WebSocket with the same headers.
    trigger = httpx.post(
        taskloom_server.graphql_url,
        json={
            "query": 'mutation { triggerTask(definitionId: "countdown", '
            "input: {start: 2, delay_seconds: 0.5}) { id } }"
        },
        headers=taskloom_server.headers,
        timeout=10,
    )
    run_id = trigger.json()["data"]["triggerTask"]["id"]
    run_operation(page, f'subscription {{ taskRunUpdated(id: "{run_id}") {{ status output')
    expect(answer).to_contain_text('"SUCCEEDED"', timeout=LIVE_TIMEOUT_MS)
    expect(answer).to_contain_text('"counted": 2')

    # A wrong token: the server's refusal is shown.
    set_headers(page, '{"Authorization": "Bearer not-a-token"')
    run_operation(page, "{ taskDefinitions { id")
    expect(answer).to_contain_text("UNAUTHENTICATED")
    assert blocked == [], f"the playground tried other hosts: {blocked}"
    assert errors == []
