"""``/docs`` of each service in a real browser with the network cut off: every operation renders
and one runs.

Headless Chromium (Debian's ``chromium`` package; ``make test`` installs it where it can) is
driven by Playwright against the running system's processes (``DOCS_ENABLED=true``). Every
request the page makes to a host other than the loopback is aborted and recorded: there must be
none. A screenshot per service is kept as the test's artifact (its path is printed).
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import Browser, Page, Route, async_playwright, expect

from devtools.system import ServiceProcess, System

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost"})
RENDER_TIMEOUT_MS = 30_000

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)"),
]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


def documented_operations(server: ServiceProcess) -> set[tuple[str, str]]:
    document = httpx.get(f"{server.base_url}/openapi.json", timeout=10.0).json()
    return {(method.upper(), path) for path, operations in document["paths"].items() for method in operations}


async def rendered_operations(page: Page) -> set[tuple[str, str]]:
    pairs = await page.eval_on_selector_all(
        ".opblock",
        """blocks => blocks.map(block => [
            block.querySelector('.opblock-summary-method').textContent.trim(),
            block.querySelector('.opblock-summary-path').getAttribute('data-path'),
        ])""",
    )
    return {(method, path) for method, path in pairs}


@pytest.mark.parametrize("service", ["users", "orders"])
async def test_docs_render_every_operation_offline_and_try_it_out_works(
    system: System, service: str, browser: Browser, tmp_path: Path
) -> None:
    docs_server = system.processes[service]
    outside_requests: list[str] = []

    async def only_loopback(route: Route) -> None:
        if urlsplit(route.request.url).hostname in LOOPBACK_HOSTS:
            await route.continue_()
        else:
            outside_requests.append(route.request.url)
            await route.abort()

    expected = documented_operations(docs_server)
    context = await browser.new_context(viewport={"width": 1280, "height": 2400})
    await context.route("**/*", only_loopback)
    page = await context.new_page()

    await page.goto(f"{docs_server.base_url}/docs", wait_until="networkidle")
    await expect(page.locator(".opblock")).to_have_count(len(expected), timeout=RENDER_TIMEOUT_MS)
    rendered = await rendered_operations(page)

    live = page.locator(".opblock-get").filter(has=page.locator('[data-path="/api/v1/health/live"]'))
    await live.locator(".opblock-summary").click()
    await live.get_by_role("button", name="Try it out").click()
    await live.get_by_role("button", name="Execute").click()
    result = live.locator(".live-responses-table .response")
    await expect(result.locator(".response-col_status")).to_have_text("200", timeout=RENDER_TIMEOUT_MS)
    await expect(result.locator(".response-col_description")).to_contain_text('"status": "ok"')

    screenshot = tmp_path / f"{service}-docs.png"
    await page.screenshot(path=str(screenshot), full_page=False)
    print(f"\nscreenshot of the {service} service's /docs: {screenshot}")  # noqa: T201 - the test's artifact, for a person to look at
    await context.close()

    assert outside_requests == []
    assert rendered == expected
