"""The session view in a real browser: headless Chromium (the system's), a test host page, a real mix-mcp.

Chromium loads the test host page from a loopback server; the page embeds the App in a sandboxed iframe
and forwards its tool calls to mix-mcp over Streamable HTTP, which talks to an emulator seeded for these
tests. Screenshots (light, dark, narrow) are written under build/app-screenshots/.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from jsonschema import Draft202012Validator
from mcp import Client

from mix_mcp.emulator import SessionStore, seed_demo_data, seed_large_session
from mix_mcp.emulator.seed import DEMO_SESSION_ID
from mix_mcp.emulator.store import NewMessage
from tests.e2e.app_host import BRIDGE_SCHEMAS, ext_apps_schema, running_host
from tests.support import PROTOCOL_MODES, ROOT, ServerProcess, running_emulator, running_server
from tests.system_parts import require_chromium

#: Chromium: a system part, and each test starts a browser.
pytestmark = [pytest.mark.anyio, pytest.mark.slow]

HOSTILE_SESSION_ID = "6f0e1d2c-3b4a-4958-8776-a5b4c3d2e1f0"
LONG_SESSION_ID = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
LONG_MESSAGES = 120
ATTACK = "<img src=x onerror=\"window.__pwned = 1; parent.postMessage({pwned: 1}, '*')\">"
SCREENSHOTS = ROOT / "build" / "app-screenshots"
#: The flags the brief of these tests fixes: no GPU, no QUIC, nothing the browser fetches on its own.
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


def _seed(db: Path) -> None:
    store = SessionStore(db)
    try:
        seed_demo_data(store)
        seed_large_session(store, messages=LONG_MESSAGES, content_bytes=120, session_id=LONG_SESSION_ID)
        store.create_session(session_id=HOSTILE_SESSION_ID, title=f"Title {ATTACK}", created_at="2025-03-20T10:00:00Z")
        call = {
            "id": "toolu_hostile",
            "name": "Bash",
            "input": json.dumps({"command": ATTACK}),
            "inputJson": {"command": ATTACK},
            "type": "function",
            "finished": True,
            "isError": False,
            "result": ATTACK,
        }
        store.add_messages(
            HOSTILE_SESSION_ID,
            [
                NewMessage(role="user", content=f"Please look at {ATTACK}", created_at="2025-03-20T10:00:01Z"),
                NewMessage(
                    role="assistant",
                    content=ATTACK,
                    reasoning=ATTACK,
                    tool_calls=[call],
                    created_at="2025-03-20T10:00:02Z",
                ),
                NewMessage(role="tool", content=ATTACK, created_at="2025-03-20T10:00:03Z"),
            ],
        )
    finally:
        store.close()


@pytest.fixture(scope="module")
def app_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An emulator of these tests' own: the demo sessions, a long one, and one full of markup."""
    db = tmp_path_factory.mktemp("mix-app") / "app.db"
    _seed(db)
    with running_emulator("--db", str(db), "--no-seed") as url:
        yield url


@pytest.fixture(scope="module")
def app_server(app_emulator: str) -> Iterator[ServerProcess]:
    """mix-mcp over Streamable HTTP, asking before destructive tools (--confirm-destructive)."""
    with running_server("--transport", "http", "--base-url", app_emulator, "--confirm-destructive") as server:
        yield server


@pytest.fixture
def chromium() -> Path:
    return require_chromium()


@asynccontextmanager
async def browser(chromium: Path, profile: Path) -> AsyncIterator[Any]:
    """A fresh Chromium profile driven by Playwright; never a downloaded browser."""
    playwright_api = pytest.importorskip("playwright.async_api")
    async with playwright_api.async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(chromium),
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1100, "height": 900},
        )
        try:
            yield context
        finally:
            await context.close()


class View:
    """One host page showing the App, and every request the browser made while showing it."""

    def __init__(self, context: Any, host: str) -> None:
        self.context = context
        self.host = host
        self.requests: list[tuple[str, str, bool]] = []
        self.page: Any = None
        self.frame: Any = None

    async def open(
        self, tool: str, args: dict[str, Any], *, theme: str = "light", width: int = 1100, **host: str
    ) -> None:
        self.page = await self.context.new_page()
        await self.page.set_viewport_size({"width": width, "height": 900})
        self.page.on("request", self._seen)
        query = urlencode({"tool": tool, "args": json.dumps(args), "theme": theme, **host})
        await self.page.goto(f"{self.host}/?{query}")
        element = await self.page.wait_for_selector("iframe", timeout=60_000)
        self.frame = await element.content_frame()
        await self.ready()

    def _seen(self, request: Any) -> None:
        from_app = request.frame != self.page.main_frame
        self.requests.append((request.method, request.url, from_app))

    async def ready(self) -> None:
        await self.frame.wait_for_selector("body[data-state=ready]", timeout=60_000)

    async def messages(self) -> int:
        count: int = await self.frame.locator("#transcript > li.msg").count()
        return count

    async def host_log(self) -> dict[str, Any]:
        log: dict[str, Any] = await self.page.evaluate("window.hostLog")
        return log


async def _session(url: str, tool: str, args: dict[str, Any]) -> dict[str, Any]:
    async with Client(url, cache=None, read_timeout_seconds=60) as client:
        result = await client.call_tool(tool, args)
    assert not result.is_error, result
    assert isinstance(result.structured_content, dict)
    return result.structured_content


def _only_bridge(view: View) -> None:
    """Every request came from the host page itself, to the host, and the App made none at all."""
    assert view.requests, "the request log is empty"
    for method, url, from_app in view.requests:
        assert not from_app, f"the App itself requested {url}"
        assert url.startswith(view.host + "/"), url
        assert (method, url.split("?")[0]) in {("GET", view.host + "/"), ("POST", view.host + "/bridge")}, url


async def test_the_view_renders_a_session_its_tree_and_untrusted_text_as_text(
    app_server: ServerProcess, chromium: Path, tmp_path: Path
) -> None:
    with running_host(app_server.url) as (host, record):
        async with browser(chromium, tmp_path / "profile") as context:
            await context.route("**/*", lambda route: _loopback_only(route, host))
            view = View(context, host)
            await view.open("get_session", {"session_id": DEMO_SESSION_ID})
            exported = await _session(app_server.url, "export_session", {"session_id": DEMO_SESSION_ID})
            assert await view.messages() == exported["total_messages"] == 12
            header = await view.frame.locator("header").inner_text()
            assert "Fix flaky pagination test" in header
            assert "main" in header
            tree = view.frame.locator("#tree button.node")
            assert await tree.count() >= 6
            current = view.frame.locator('#tree button[aria-current="true"]')
            assert "Fix flaky pagination test" in await current.inner_text()
            # Tool calls and reasoning start collapsed.
            assert await view.frame.locator("main details[open]").count() == 0
            assert await view.frame.locator("details.tool-call").count() == 5

            # Keyboard: j/ArrowDown move between messages.
            await view.frame.locator("#transcript > li.msg").first.focus()
            await view.frame.page.keyboard.press("j")
            await view.frame.page.keyboard.press("ArrowDown")
            focused = await view.frame.evaluate("document.activeElement.getAttribute('data-index')")
            assert focused == "2"

            # The session tree navigates: the hostile session's text is shown as text, never as HTML.
            await view.frame.locator(f'#tree button[data-session="{HOSTILE_SESSION_ID}"]').click()
            await view.ready()
            assert await view.messages() == 3
            for details in await view.frame.locator("details").all():
                await details.locator("summary").click()
            shown = await view.frame.locator("body").inner_text()
            assert shown.count(ATTACK) >= 6  # title, user text, assistant text, reasoning, tool result, tool output
            assert await view.frame.locator("img").count() == 0
            assert await view.frame.evaluate("window.__pwned") is None
            log = await view.host_log()
            assert not [m for m in log["fromApp"] if isinstance(m, dict) and "pwned" in m]
            assert log["errors"] == []
            _only_bridge(view)
            assert {method for method, _ in record.calls} == {"tools/list", "tools/call", "resources/read"}


async def _loopback_only(route: Any, host: str) -> None:
    if route.request.url.startswith(host + "/"):
        await route.continue_()
    else:
        await route.abort()


@pytest.mark.parametrize("mode", PROTOCOL_MODES)
async def test_fork_rewind_and_delete_from_the_page(
    app_server: ServerProcess, chromium: Path, tmp_path: Path, mode: str
) -> None:
    """The host's MCP client speaks ``mode``: the server's question arrives as elicitation/create (legacy) or as
    an InputRequiredResult answered on a second call (2026-07-28); the page works the same either way."""
    with running_host(app_server.url, mode=mode) as (host, record):
        async with browser(chromium, tmp_path / "profile") as context:
            await context.route("**/*", lambda route: _loopback_only(route, host))
            view = View(context, host)
            await view.open("export_session", {"session_id": DEMO_SESSION_ID, "limit": 50})
            before = await _session(app_server.url, "list_sessions", {"include_subagents": True})

            # Fork here, on message 3: a new session holding messages 0..3.
            message = view.frame.locator('#transcript > li.msg[data-index="3"]')
            await message.locator("button.fork").click()
            outcome = message.locator(".result.ok")
            await outcome.locator("button.open-fork").wait_for(timeout=60_000)
            after = await _session(app_server.url, "list_sessions", {"include_subagents": True})
            known = {s["id"] for s in before["sessions"]}
            (fork,) = [s for s in after["sessions"] if s["id"] not in known]
            assert fork["parentSessionId"] == DEMO_SESSION_ID
            assert fork["sessionType"] == "forked"
            assert fork["id"] in await outcome.inner_text()
            exported = await _session(app_server.url, "export_session", {"session_id": fork["id"]})
            assert exported["total_messages"] == 4
            await view.frame.locator(f'#tree button[data-session="{fork["id"]}"]').wait_for(timeout=60_000)

            # Open the fork from the result, then rewind it to message 1 after the server's question.
            await outcome.locator("button.open-fork").click()
            await view.ready()
            assert await view.messages() == 4
            facts = await view.frame.locator("#facts").inner_text()
            assert "parent Fix flaky pagination test" in facts  # the header names the parent (a button to it)
            kept = view.frame.locator('#transcript > li.msg[data-index="1"]')
            kept_id = await kept.get_attribute("data-id")
            await kept.locator("button.rewind").click()
            question = await kept.locator(".confirm p").inner_text()
            assert question.startswith(f"Rewind the Mix session '{fork['title']}' ({fork['id']}) to message ")
            assert kept_id is not None and kept_id in question
            await kept.locator(".confirm button.yes").click()
            await view.frame.locator('#transcript > li.msg[data-index="1"] .result.ok').wait_for(timeout=60_000)
            assert await view.messages() == 2
            exported = await _session(app_server.url, "export_session", {"session_id": fork["id"]})
            assert exported["total_messages"] == 2
            assert len(record.questions) == 1  # the server asked (--confirm-destructive); the host said yes
            assert kept_id in record.questions[0]

            # Delete the fork: asked in place, then gone from Mix and from the tree.
            await view.frame.locator("#delete").click()
            await view.frame.locator("#header .confirm button.yes").click()
            await view.frame.locator("#session-result.ok").wait_for(timeout=60_000)
            assert "Deleted" in await view.frame.locator("#session-result").inner_text()
            await view.frame.locator(f'#tree button[data-session="{fork["id"]}"]').wait_for(
                state="detached", timeout=60_000
            )
            after_delete = await _session(app_server.url, "list_sessions", {"include_subagents": True})
            assert fork["id"] not in {s["id"] for s in after_delete["sessions"]}
            assert len(record.questions) == 2
            _only_bridge(view)


async def test_long_transcripts_load_window_by_window(
    app_server: ServerProcess, chromium: Path, tmp_path: Path
) -> None:
    with running_host(app_server.url) as (host, record):
        async with browser(chromium, tmp_path / "profile") as context:
            view = View(context, host)
            await view.open("get_session", {"session_id": LONG_SESSION_ID})
            assert await view.messages() == 50
            more = view.frame.locator("#more")
            await more.click()
            await view.frame.locator('#transcript > li.msg[data-index="99"]').wait_for(timeout=60_000)
            await more.click()
            await view.frame.locator(f'#transcript > li.msg[data-index="{LONG_MESSAGES - 1}"]').wait_for(timeout=60_000)
            assert await view.messages() == LONG_MESSAGES
            assert await more.is_hidden()
            exports = [p["arguments"] for m, p in record.calls if m == "tools/call" and p["name"] == "export_session"]
            assert [e.get("offset") for e in exports if e["session_id"] == LONG_SESSION_ID][-2:] == [50, 100]
            _only_bridge(view)


async def test_screenshots_light_dark_and_narrow(app_server: ServerProcess, chromium: Path, tmp_path: Path) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with running_host(app_server.url) as (host, _record):
        async with browser(chromium, tmp_path / "profile") as context:
            view = View(context, host)
            await view.open("get_session", {"session_id": DEMO_SESSION_ID}, theme="light")
            await view.frame.locator("details.tool-call").first.locator("summary").click()
            assert await view.frame.evaluate("document.documentElement.dataset.theme") == "light"
            light = await view.frame.evaluate("getComputedStyle(document.body).backgroundColor")
            await view.page.locator("iframe").screenshot(path=str(SCREENSHOTS / "app-light.png"))

            await view.page.evaluate("window.setHostTheme('dark')")
            await view.frame.wait_for_function("document.documentElement.dataset.theme === 'dark'")
            dark = await view.frame.evaluate("getComputedStyle(document.body).backgroundColor")
            assert dark != light
            await view.page.locator("iframe").screenshot(path=str(SCREENSHOTS / "app-dark.png"))

            _only_bridge(view)

            narrow = View(context, host)
            await narrow.open("get_session", {"session_id": DEMO_SESSION_ID}, theme="light", width=380)
            assert await narrow.frame.evaluate("document.documentElement.scrollWidth") <= 380  # no sideways scroll
            assert not await narrow.frame.locator("#tree").is_visible()  # the tree starts folded, transcript first
            await narrow.page.locator("iframe").screenshot(path=str(SCREENSHOTS / "app-narrow.png"))
            await narrow.frame.locator("#tree-box summary").click()
            assert await narrow.frame.locator("#tree").is_visible()
            _only_bridge(narrow)
    for name in ("app-light.png", "app-dark.png", "app-narrow.png"):
        assert (SCREENSHOTS / name).stat().st_size > 10_000


async def test_actions_of_tools_the_server_does_not_publish_are_hidden(
    app_emulator: str, chromium: Path, tmp_path: Path
) -> None:
    """With --read-only there is no fork, rewind or delete to call: the page offers none, and still reads."""
    with (
        running_server("--transport", "http", "--base-url", app_emulator, "--read-only") as read_only,
        running_host(read_only.url) as (host, _record),
    ):
        async with browser(chromium, tmp_path / "profile") as context:
            view = View(context, host)
            await view.open("export_session", {"session_id": DEMO_SESSION_ID})
            assert await view.messages() == 12
            for action in ("button.fork", "button.rewind", "#delete"):
                assert await view.frame.locator(action).count() == 0, action
            assert await view.frame.locator("#tree button.node").count() >= 6
            _only_bridge(view)


async def test_bridge_messages_follow_the_apps_schema(
    app_server: ServerProcess, chromium: Path, tmp_path: Path
) -> None:
    """Every message between the App and the host matches the schema ``@modelcontextprotocol/ext-apps`` publishes."""
    validators = {method: Draft202012Validator(ext_apps_schema(name)) for method, name in BRIDGE_SCHEMAS.items()}
    initialize_result = Draft202012Validator(ext_apps_schema("McpUiInitializeResult"))
    with running_host(app_server.url) as (host, _record):
        async with browser(chromium, tmp_path / "profile") as context:
            view = View(context, host)
            await view.open("export_session", {"session_id": DEMO_SESSION_ID, "limit": 5})
            await view.page.evaluate("window.setHostTheme('dark')")
            await view.frame.wait_for_function("document.documentElement.dataset.theme === 'dark'")
            log = await view.host_log()
    checked: set[str] = set()
    for message in [*log["fromApp"], *log["toApp"]]:
        assert message["jsonrpc"] == "2.0"
        method = message.get("method")
        if method in validators:
            validators[method].validate({k: v for k, v in message.items() if k in ("method", "params")})
            checked.add(method)
        elif method is None and message.get("id") == 1:  # the host's answer to ui/initialize
            initialize_result.validate(message["result"])
            checked.add("initialize result")
        else:
            assert method == "tools/call" or "result" in message, message  # MCP's own tools/call and its answers
    assert checked == {*BRIDGE_SCHEMAS, "initialize result"}


async def test_a_host_that_lets_apps_call_no_tool_still_shows_the_result(
    app_server: ServerProcess, chromium: Path, tmp_path: Path
) -> None:
    with running_host(app_server.url) as (host, record):
        async with browser(chromium, tmp_path / "profile") as context:
            view = View(context, host)
            await view.open("export_session", {"session_id": DEMO_SESSION_ID, "limit": 5}, serverTools="no")
            assert await view.messages() == 5  # the window the host's own call returned
            assert "Fix flaky pagination test" in await view.frame.locator("header").inner_text()
            for action in ("button.fork", "button.rewind", "#delete", "#more"):
                assert not await view.frame.locator(action).is_visible(), action
            # Only the host's own calls: the App asked for nothing.
            assert sorted(method for method, _ in record.calls) == ["resources/read", "tools/call", "tools/list"]


async def test_the_view_opened_outside_a_host_says_what_it_is(
    app_server: ServerProcess, chromium: Path, tmp_path: Path
) -> None:
    """Opened on its own (no host to answer ui/initialize), the page explains itself instead of failing."""
    async with Client(app_server.url, cache=None, read_timeout_seconds=60) as client:
        read = await client.read_resource("ui://mix-mcp/sessions.html")
    html = read.contents[0].text  # type: ignore[union-attr]
    async with browser(chromium, tmp_path / "profile") as context:
        page = await context.new_page()
        posted: list[str] = []

        def record(message: str) -> None:
            posted.append(message)

        await page.expose_function("recordPost", record)
        await page.add_init_script(
            "window.addEventListener('message', function (e) { window.recordPost(JSON.stringify(e.data)); });"
        )
        await page.set_content(html)
        await page.wait_for_selector("body[data-state=standalone]", timeout=30_000)
        status = await page.locator("#status").inner_text()
        assert "session view, an MCP App" in status and "Claude" in status and "get_session" in status, status
        assert "error" not in (await page.locator("#status").get_attribute("class") or "")
        assert await page.locator("#title").inner_text() == "Mix session view (mix-mcp)"
        await page.wait_for_timeout(500)
        # Still the explanation: the page never answered itself "Method not found" nor asked itself to initialize.
        assert await page.locator("body").get_attribute("data-state") == "standalone"
        assert "Method not found" not in await page.locator("body").inner_text()
        assert not any("ui/initialize" in message or "Method not found" in message for message in posted), posted
