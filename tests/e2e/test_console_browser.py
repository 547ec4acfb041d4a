"""The console at /console: the session view in a browser, bridged to the server's own MCP endpoint.

A real ``mix-mcp serve --transport http`` (with a bearer token) on the 2026-02 emulator, whose agent asks
permissions and questions and whose demo session has a screenshot; headless system Chromium driven by
Playwright. The page's protection is checked over plain HTTP: its CSP, the exact Host/Origin checks,
``--no-ui``. ``mix-mcp console`` is checked to start the emulator and the page in one command.
Screenshots (light, dark, narrow, a run in progress) go to build/console-screenshots/ (docs/app.md shows
copies).
"""

from __future__ import annotations

import re
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client

from mix_mcp.emulator.seed import DEMO_SESSION_ID, MIGRATION_SESSION_ID
from mix_mcp.serving.console import VIEW_CSP
from tests.e2e.console_driver import WAIT_MS, converse, say
from tests.support import ROOT, ServerProcess, running_emulator, running_process, running_server
from tests.system_parts import require_chromium

pytestmark = pytest.mark.anyio

TOKEN = "console-test-token-9f8e7d6c5b4a"
SHOTS = ROOT / "build" / "console-screenshots"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def console_emulator() -> Iterator[str]:
    """The Feb 2026 Mix (questions, files); a step delay that makes a long message a long run."""
    with running_emulator("--mix-version", "2026-02", "--agent-step-delay", "0.03") as url:
        yield url


@pytest.fixture(scope="module")
def console_server(console_emulator: str) -> Iterator[ServerProcess]:
    with running_server("--transport", "http", "--base-url", console_emulator, "--auth-token", TOKEN) as server:
        yield server


@asynccontextmanager
async def browser(profile: Path, *, width: int = 1100, dark: bool = False) -> AsyncIterator[Any]:
    chromium = require_chromium()
    playwright_api = pytest.importorskip("playwright.async_api")
    async with playwright_api.async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(chromium),
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": width, "height": 900},
            color_scheme="dark" if dark else "light",
        )
        try:
            yield context
        finally:
            await context.close()


class Console:
    """The /console page in one tab, its view's frame, and every request the tab made."""

    def __init__(self, context: Any, base: str) -> None:
        self.context = context
        self.base = base
        self.requests: list[tuple[str, str, bool]] = []
        self.page: Any = None
        self.frame: Any = None

    async def open(self, fragment: str = "", *, ready: bool = True) -> None:
        self.page = await self.context.new_page()
        self.page.on("request", self._seen)
        await self.context.route("**/*", self._loopback_only)
        await self.page.goto(f"{self.base}/console" + (f"#{fragment}" if fragment else ""))
        if ready:
            await self.ready()

    async def ready(self) -> None:
        element = await self.page.wait_for_selector("iframe#view", state="visible", timeout=WAIT_MS)
        self.frame = await element.content_frame()
        await self.frame.wait_for_selector("body[data-state=ready]", timeout=WAIT_MS)

    def _seen(self, request: Any) -> None:
        self.requests.append((request.method, request.url, request.frame != self.page.main_frame))

    async def _loopback_only(self, route: Any) -> None:
        if route.request.url.startswith(self.base + "/"):
            await route.continue_()
        else:
            await route.abort()

    def only_its_server(self) -> None:
        """The tab spoke to its own server only: the page, the view (its only request), and /mcp."""
        assert self.requests
        for method, url, from_view in self.requests:
            path = url[len(self.base) :] if url.startswith(self.base + "/") else url
            if from_view:
                assert (method, path) == ("GET", "/console/view"), url
            else:
                assert (method, path.split("#")[0]) in {("GET", "/console"), ("POST", "/mcp")}, url


def _shots() -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS


@pytest.mark.slow
async def test_the_console_talks_to_the_agent(console_server: ServerProcess, tmp_path: Path) -> None:
    """Token from the fragment; hello, a permission, a question, Stop and an image, all from the page."""
    async with browser(tmp_path / "profile") as context:
        console = Console(context, console_server.base)
        await console.open(f"token={TOKEN}&session={DEMO_SESSION_ID}")
        # The token left the address as soon as the page read it.
        assert TOKEN not in console.page.url
        assert "Fix flaky pagination test" in await console.frame.locator("#title").inner_text()
        seen = await converse(console.frame, console.page, _shots())
        assert seen["image_width"] > 0
        # The picture of the page: the session's screenshot opened above its transcript.
        await console.frame.evaluate("window.scrollTo(0, 0)")
        await console.page.screenshot(path=str(_shots() / "console-light.png"))
        console.only_its_server()
        assert await console.page.evaluate("window.consoleLog.errors") == []
        # The server's progress for the run calls reached the view through the console.
        assert await console.page.evaluate("window.consoleLog.progress") > 0
    assert TOKEN not in console_server.stderr


@pytest.mark.slow
async def test_the_console_in_dark_and_narrow(console_server: ServerProcess, tmp_path: Path) -> None:
    async with browser(tmp_path / "dark", dark=True) as context:
        console = Console(context, console_server.base)
        await console.open(f"token={TOKEN}&session={DEMO_SESSION_ID}")
        assert await console.frame.evaluate("document.documentElement.getAttribute('data-theme')") == "dark"
        await console.frame.locator("#files img.thumb[src^='data:image/png']").wait_for(timeout=WAIT_MS)
        await console.page.screenshot(path=str(_shots() / "console-dark.png"))
    async with browser(tmp_path / "narrow", width=400) as context:
        console = Console(context, console_server.base)
        await console.open(f"token={TOKEN}&session={MIGRATION_SESSION_ID}")
        frame = console.frame
        # Nothing wider than the phone: the tree folds away, the message box stays usable.
        assert await frame.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        assert await frame.locator("#tree-box").get_attribute("open") is None
        await say(frame, "hello from a phone")
        await frame.wait_for_selector("body[data-run=completed]", timeout=WAIT_MS)
        assert "You said: hello from a phone" in await frame.locator("#transcript > li.msg").last.inner_text()
        await frame.locator("#message").focus()
        await console.page.screenshot(path=str(_shots() / "console-narrow.png"))


@pytest.mark.slow
async def test_the_console_asks_for_the_token(console_server: ServerProcess, tmp_path: Path) -> None:
    async with browser(tmp_path / "profile") as context:
        console = Console(context, console_server.base)
        await console.open(ready=False)
        form = console.page.locator("#auth")
        await form.wait_for(state="visible", timeout=WAIT_MS)
        assert "needs a token" in await console.page.locator("#state").inner_text()
        await console.page.locator("#token").fill("not-the-token")
        await console.page.locator("#token").press("Enter")
        await console.page.locator("#state", has_text="refused").wait_for(timeout=WAIT_MS)
        assert await console.page.locator("iframe#view").is_hidden()
        await console.page.locator("#token").fill(TOKEN)
        await console.page.locator("#auth button").click()
        await console.ready()
        assert await form.is_hidden()
        # The token is in no address and no storage of the page.
        assert TOKEN not in console.page.url
        assert await console.page.evaluate("JSON.stringify(localStorage) + JSON.stringify(sessionStorage)") == "{}{}"


@pytest.mark.slow
async def test_the_console_on_a_stateless_server(console_emulator: str, tmp_path: Path) -> None:
    """Stateless: no Mcp-Session-Id, plain JSON answers (an event stream when the call asks for progress)."""
    with running_server("--transport", "http", "--base-url", console_emulator, "--stateless") as server:
        async with browser(tmp_path / "profile") as context:
            console = Console(context, server.base)
            await console.open(f"session={MIGRATION_SESSION_ID}")
            await say(console.frame, "hello stateless")
            await console.frame.wait_for_selector("body[data-run=completed]", timeout=WAIT_MS)
            last = await console.frame.locator("#transcript > li.msg").last.inner_text()
            assert "You said: hello stateless" in last
            console.only_its_server()


def test_the_console_pages_are_protected(console_server: ServerProcess) -> None:
    base = console_server.base
    with httpx2.Client(timeout=10) as http:
        page = http.get(f"{base}/console")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        csp = page.headers["content-security-policy"]
        script_src = re.search(r"script-src ([^;]+)", csp)
        assert script_src is not None and re.fullmatch(r"'sha256-[A-Za-z0-9+/=]+'", script_src.group(1))
        for directive in ("default-src 'none'", "connect-src 'self'", "frame-src 'self'", "frame-ancestors 'none'"):
            assert directive in csp
        assert "unsafe" not in csp
        assert page.headers["cache-control"] == "no-store"
        assert TOKEN not in page.text
        view = http.get(f"{base}/console/view")
        assert view.status_code == 200 and view.headers["content-security-policy"] == VIEW_CSP
        assert "send_message" in view.text  # the view is told which tools it may call
        # The same exact Host and Origin checks as /mcp; the pages themselves need no token.
        assert http.get(f"{base}/console", headers={"Host": "evil.example"}).status_code == 421
        assert http.get(f"{base}/console", headers={"Host": "127.0.0.1.evil.example"}).status_code == 421
        assert http.get(f"{base}/console", headers={"Origin": "http://evil.example"}).status_code == 403
        assert http.post(f"{base}/console").status_code == 405
        # What the page's requests meet: /mcp wants the token.
        assert http.post(f"{base}/mcp", json={}).status_code == 401


def test_no_ui_turns_the_console_off(console_emulator: str) -> None:
    with running_server("--transport", "http", "--base-url", console_emulator, "--no-ui") as server:
        assert "console" not in server.stderr
        assert httpx2.get(f"{server.base}/console", timeout=10).status_code == 404
        assert httpx2.get(f"{server.base}/console/view", timeout=10).status_code == 404


_CONSOLE_LINE = re.compile(r"open the console at (http://\S+/console) in a browser")


def _console_url(lines: list[str]) -> str | None:
    match = _CONSOLE_LINE.search("".join(lines))
    return match.group(1) if match else None


async def test_mix_mcp_console_starts_the_emulator_and_the_page() -> None:
    command = [sys.executable, "-m", "mix_mcp", "console", "--port", "0"]
    with running_process(command, _console_url, timeout=60) as (_process, url, lines):
        assert "the built-in emulator" in "".join(lines)
        base = url.removesuffix("/console")
        async with httpx2.AsyncClient(timeout=10) as http:
            assert (await http.get(url)).status_code == 200
        async with Client(f"{base}/mcp", cache=None) as client:
            tools = {tool.name for tool in (await client.list_tools()).tools}
            # The newest Mix the emulator plays: questions and files are there to try.
            assert {"send_message", "follow_run", "answer_notification", "list_session_files"} <= tools
            files = await client.call_tool("list_session_files", {"session_id": DEMO_SESSION_ID})
            assert not files.is_error
