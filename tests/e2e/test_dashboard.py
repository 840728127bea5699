"""The dashboard in a real browser (Debian's Chromium driven by Playwright)
against a real `taskloom serve` with authentication on: token entry,
triggering through the form generated from the inputSchema, live status
without reloading, abort, field errors, filters, and a screenshot."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

from tests.e2e.conftest import ServerProcess

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("TASKLOOM_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LIVE_TIMEOUT_MS = 20_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), (
        f"{CHROMIUM} is missing: run ./.ci/system-deps (make test does) to apt-get chromium"
    )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, taskloom_server: ServerProcess) -> Iterator[Page]:
    context = browser.new_context(
        base_url=taskloom_server.base_url, viewport={"width": 1400, "height": 900}
    )
    context.set_default_timeout(10_000)
    opened = context.new_page()
    yield opened
    context.close()


def sign_in(page: Page, server: ServerProcess) -> None:
    """Opens the dashboard, which asks for a token, and enters it once."""
    page.goto("/")
    expect(page.get_by_test_id("banner")).to_contain_text("token")
    assert server.token is not None
    page.get_by_test_id("token").fill(server.token)
    page.get_by_test_id("save-token").click()
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    expect(page.get_by_test_id("banner")).to_be_hidden()


def fill_countdown(page: Page, start: int, delay: float) -> None:
    page.get_by_test_id("trigger-definition").select_option("countdown")
    page.get_by_test_id("input-start").fill(str(start))
    page.get_by_test_id("input-delay_seconds").fill(str(delay))


def selected_run_id(page: Page) -> str:
    row = page.locator("#runs-body tr.selected")
    expect(row).to_have_count(1)
    run_id = row.get_attribute("data-run-id")
    assert run_id is not None
    return run_id


def row_status(page: Page, run_id: str) -> Locator:
    return page.locator(f'tr[data-run-id="{run_id}"]').get_by_test_id("run-status")


def test_trigger_through_the_form_and_watch_it_succeed_live(
    page: Page, taskloom_server: ServerProcess, tmp_path: Path
) -> None:
    loads: list[str] = []
    page.on("load", lambda p: loads.append(p.url))
    sign_in(page, taskloom_server)
    token = page.evaluate("localStorage.getItem('taskloom.token')")
    assert token == taskloom_server.token, "the token is kept in the browser's storage"

    fill_countdown(page, 4, 0.3)
    page.locator("details.more summary").click()
    page.get_by_test_id("trigger-name").fill("from the browser")
    page.get_by_test_id("trigger-submit").click()

    run_id = selected_run_id(page)
    detail = page.get_by_test_id("run-detail")
    expect(detail).to_be_visible()
    expect(detail.get_by_test_id("run-input")).to_contain_text('"start": 4')
    status = page.locator(f'tr[data-run-id="{run_id}"]').get_by_test_id("run-status")
    expect(status).to_have_text("SUCCEEDED", timeout=LIVE_TIMEOUT_MS)
    row = page.locator(f'tr[data-run-id="{run_id}"]')
    expect(row.get_by_test_id("run-progress")).to_have_attribute("aria-valuenow", "100")
    expect(detail.get_by_test_id("run-output")).to_contain_text('"counted": 4')
    logs = detail.get_by_test_id("run-logs")
    for step in ("4...", "3...", "2...", "1..."):
        expect(logs).to_contain_text(step)
    assert len(loads) == 1, f"the page was reloaded: {loads}"

    # filters: text, status, definition
    page.get_by_test_id("filter-text").fill("browser")
    expect(page.get_by_test_id("run-row")).to_have_count(1)
    page.get_by_test_id("filter-status").select_option("FAILED")
    expect(page.get_by_test_id("run-row")).to_have_count(0)
    page.get_by_test_id("filter-status").select_option("SUCCEEDED")
    page.get_by_test_id("filter-definition").select_option("countdown")
    expect(page.get_by_test_id("run-row")).to_have_count(1)
    page.get_by_test_id("filter-definition").select_option("flaky")
    expect(page.get_by_test_id("run-row")).to_have_count(0)
    page.get_by_test_id("filter-definition").select_option("")
    page.get_by_test_id("filter-status").select_option("")
    unfiltered = '"variables":{"where":{}}'
    with page.expect_response(lambda r: unfiltered in (r.request.post_data or "")):
        page.get_by_test_id("filter-text").fill("")  # the list's last read, debounced

    # a run triggered elsewhere (over HTTP) appears and goes live on its own,
    # streamed by taskRunEvents: the list is not fetched again
    list_reads: list[str] = []
    page.on(
        "request",
        lambda r: list_reads.append(r.url) if "taskRuns(" in (r.post_data or "") else None,
    )
    response = httpx.post(
        taskloom_server.graphql_url,
        json={
            "query": 'mutation { triggerTask(definitionId: "countdown", '
            'input: {start: 3, delay_seconds: 0.3}, name: "from elsewhere") { id } }'
        },
        headers=taskloom_server.headers,
    )
    other = response.json()["data"]["triggerTask"]["id"]
    expect(row_status(page, other)).to_have_text("SUCCEEDED", timeout=LIVE_TIMEOUT_MS)
    assert len(loads) == 1
    assert list_reads == []

    page.get_by_test_id("runs-table").scroll_into_view_if_needed()
    shot = tmp_path / "dashboard-runs.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    results = ROOT / "test-results"
    results.mkdir(exist_ok=True)
    shutil.copy(shot, results / "dashboard-runs.png")


def test_abort_a_long_run_from_its_detail(page: Page, taskloom_server: ServerProcess) -> None:
    sign_in(page, taskloom_server)
    fill_countdown(page, 1000, 1)
    page.get_by_test_id("trigger-submit").click()
    run_id = selected_run_id(page)
    detail = page.get_by_test_id("run-detail")
    expect(detail.get_by_test_id("run-logs")).to_contain_text("1000...", timeout=LIVE_TIMEOUT_MS)
    abort = detail.get_by_test_id("action-abort")
    expect(abort).to_be_visible()
    expect(detail.get_by_test_id("action-resume")).to_have_count(0)
    expect(detail.get_by_test_id("action-retry")).to_have_count(0)
    abort.click()
    expect(row_status(page, run_id)).to_have_text("ABORTED", timeout=LIVE_TIMEOUT_MS)
    expect(detail.get_by_test_id("run-status")).to_have_text("ABORTED")
    expect(detail.get_by_test_id("run-error")).to_contain_text("ABORTED")
    expect(detail.get_by_test_id("action-abort")).to_have_count(0)

    # an aborted run can be retried, then paused, resumed and aborted again
    detail.get_by_test_id("action-retry").click()
    expect(row_status(page, run_id)).not_to_have_text("ABORTED")
    expect(detail.get_by_test_id("action-retry")).to_have_count(0)
    detail.get_by_test_id("action-pause").click()
    expect(row_status(page, run_id)).to_have_text("PAUSED", timeout=LIVE_TIMEOUT_MS)
    expect(detail.get_by_test_id("action-pause")).to_have_count(0)
    detail.get_by_test_id("action-resume").click()
    expect(row_status(page, run_id)).not_to_have_text("PAUSED")
    detail.get_by_test_id("action-abort").click()
    expect(row_status(page, run_id)).to_have_text("ABORTED", timeout=LIVE_TIMEOUT_MS)


def test_invalid_input_shows_the_error_next_to_its_field(
    page: Page, taskloom_server: ServerProcess
) -> None:
    sign_in(page, taskloom_server)
    fill_countdown(page, 0, 0.5)
    page.get_by_test_id("trigger-submit").click()
    error = page.get_by_test_id("field-error-start")
    expect(error).to_be_visible()
    expect(error).to_contain_text("greater than or equal to 1")
    expect(page.locator('[data-field="start"]')).to_have_class("field invalid")
    expect(page.get_by_test_id("field-error-delay_seconds")).to_be_hidden()
    expect(page.get_by_test_id("run-row")).to_have_count(0)
    expect(page.get_by_test_id("run-detail")).to_be_hidden()

    # corrected, the same form triggers and the error goes away
    page.get_by_test_id("input-start").fill("1")
    page.get_by_test_id("trigger-submit").click()
    expect(error).to_be_hidden()
    expect(page.get_by_test_id("run-row")).to_have_count(1)


def test_a_run_between_iterations_reads_running_and_waiting(
    page: Page, taskloom_server: ServerProcess
) -> None:
    """The countdown waits 30 s between steps: from its first step on the
    badge says RUNNING with the time it is due again, and the status filter
    finds it under RUNNING, not PENDING."""
    sign_in(page, taskloom_server)
    fill_countdown(page, 3, 30)
    page.get_by_test_id("trigger-submit").click()
    run_id = selected_run_id(page)
    row = page.locator(f'tr[data-run-id="{run_id}"]')
    expect(row_status(page, run_id)).to_have_text("RUNNING", timeout=LIVE_TIMEOUT_MS)
    expect(row.get_by_test_id("run-waiting")).to_contain_text("waiting until")
    detail = page.get_by_test_id("run-detail")
    expect(detail.get_by_test_id("run-waiting")).to_contain_text("waiting until")
    page.get_by_test_id("filter-status").select_option("PENDING")
    expect(page.get_by_test_id("run-row")).to_have_count(0)
    page.get_by_test_id("filter-status").select_option("RUNNING")
    expect(page.get_by_test_id("run-row")).to_have_count(1)
    expect(row_status(page, run_id)).to_have_text("RUNNING")
    page.get_by_test_id("filter-status").select_option("")
    row.get_by_test_id("run-status").click()
    detail.get_by_test_id("action-abort").click()
    expect(row_status(page, run_id)).to_have_text("ABORTED", timeout=LIVE_TIMEOUT_MS)


def test_pause_and_resume_a_definition_from_the_dashboard(
    page: Page, taskloom_server: ServerProcess
) -> None:
    sign_in(page, taskloom_server)
    page.get_by_test_id("trigger-definition").select_option("flaky")
    state = page.get_by_test_id("definition-state")
    expect(state.get_by_test_id("definition-paused")).to_have_count(0)
    state.get_by_test_id("definition-toggle").click()
    expect(state.get_by_test_id("definition-paused")).to_have_text("Definition paused")
    expect(state.get_by_test_id("definition-toggle")).to_have_text("Resume definition")
    # a paused definition's run waits PENDING until it is resumed
    page.get_by_test_id("input-failure_rate").fill("0")
    page.get_by_test_id("trigger-submit").click()
    run_id = selected_run_id(page)
    expect(row_status(page, run_id)).to_have_text("PENDING")
    page.reload()
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    page.get_by_test_id("trigger-definition").select_option("flaky")
    expect(state.get_by_test_id("definition-paused")).to_be_visible()  # it is stored
    state.get_by_test_id("definition-toggle").click()
    expect(state.get_by_test_id("definition-paused")).to_have_count(0)
    expect(row_status(page, run_id)).to_have_text("SUCCEEDED", timeout=LIVE_TIMEOUT_MS)


def test_the_connection_badge_says_live_with_no_run_shown(
    page: Page, taskloom_server: ServerProcess
) -> None:
    """The badge reflects the WebSocket, not whether a run is being watched."""
    sign_in(page, taskloom_server)
    expect(page.get_by_test_id("run-row")).to_have_count(0)
    expect(page.get_by_test_id("connection")).to_have_text("live", timeout=LIVE_TIMEOUT_MS)


def test_a_definitions_description_shows_inline_code(
    page: Page, taskloom_server: ServerProcess
) -> None:
    """The countdown's "Counts down from `start`, ..." shows `start` as code,
    with no backticks."""
    sign_in(page, taskloom_server)
    page.get_by_test_id("trigger-definition").select_option("countdown")
    description = page.locator("#trigger-description")
    expect(description.locator("code")).to_have_text("start")
    expect(description).not_to_contain_text("`")
