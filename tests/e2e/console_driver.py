"""Talking to a session's agent through the session view in a real browser, as a person would.

Shared by the App test host tests (tests/e2e/test_app_browser.py) and the /console tests
(tests/e2e/test_console_browser.py): whatever hosts the view, the same conversation must work. Every
step waits on what the page shows (``body[data-run]``, the run card, the files list), never on time.
The emulator's scripted agent answers "You said: ...", asks permission for ``run:`` and a choice
question for ``ask:``; a long message makes a long run (one ``content`` event per word).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mix_mcp.emulator.files import SCREENSHOT_NAME

WAIT_MS = 60_000
#: Words of the message whose run Stop cancels: the agent writes one word per step, so it runs for a while.
LONG_WORDS = 240


def long_message() -> str:
    return "Please repeat after me: " + " ".join(f"word{i}" for i in range(LONG_WORDS))


async def say(frame: Any, text: str) -> None:
    """Type into the message box and press Enter (the keyboard way to send)."""
    box = frame.locator("#message")
    await box.wait_for(state="visible", timeout=WAIT_MS)
    await frame.locator("#send:not([disabled])").wait_for(timeout=WAIT_MS)
    await box.fill(text)
    await box.press("Enter")


async def run_ended(frame: Any, status: str = "completed") -> None:
    await frame.wait_for_selector(f"body[data-run={status}]", timeout=WAIT_MS)


async def last_message(frame: Any) -> str:
    text: str = await frame.locator("#transcript > li.msg").last.inner_text()
    return text


async def transcript_size(frame: Any) -> int:
    count: int = await frame.locator("#transcript > li.msg").count()
    return count


async def converse(frame: Any, page: Any, shots: Path | None = None) -> dict[str, Any]:
    """Hello, a granted permission, an answered question, a stopped run, the screenshot file: all from the page.

    Returns what the page showed along the way; screenshots of the page go to ``shots`` when given.
    """
    seen: dict[str, Any] = {}
    before = await transcript_size(frame)

    # A plain message: the answer appears, then the transcript holds both new messages.
    await say(frame, "hello console")
    await run_ended(frame)
    assert "You said: hello console" in await last_message(frame)
    assert await transcript_size(frame) == before + 2
    assert await frame.locator("#run").count() == 0

    # run: asks permission, in place; the tool call shows its input; Allow lets it run.
    await say(frame, "run: make test")
    grant = frame.locator("#run .permission button.grant")
    await grant.wait_for(timeout=WAIT_MS)
    seen["permission"] = await frame.locator("#run .permission").inner_text()
    assert "make test" in seen["permission"]
    assert '"command": "make test"' in await frame.locator("#run details.tool-call pre.input").inner_text()
    assert await frame.locator("#run").get_attribute("data-status") == "permission_pending"
    if shots is not None:
        await page.screenshot(path=str(shots / "console-run.png"))
    await grant.click()
    await run_ended(frame)
    answer = await last_message(frame)
    assert "I ran `make test`" in answer, answer
    # The stored tool call carries its output.
    last = frame.locator("#transcript > li.msg").last
    await last.locator("details.tool-call summary").click()
    assert "(pretend output of make test)" in await last.locator("details.tool-call").inner_text()

    # ask: a choice question, answered with one of its choices.
    await say(frame, "ask: which colour? red, blue")
    blue = frame.locator('#run .question button[data-choice="blue"]')
    await blue.wait_for(timeout=WAIT_MS)
    seen["question"] = await frame.locator("#run .question").inner_text()
    assert "which colour?" in seen["question"]
    await blue.click()
    await run_ended(frame)
    assert "You chose blue" in await last_message(frame)

    # Stop cancels a long run while its answer is still growing; what it wrote stays shown.
    await say(frame, long_message())
    await frame.locator("#run-text").wait_for(timeout=WAIT_MS)
    await frame.locator("#stop").click()
    await run_ended(frame, "cancelled")
    assert "stopped" in await frame.locator("#run-result").inner_text()
    partial = await frame.locator("#run-text").inner_text()
    assert partial.startswith("You said:") and f"word{LONG_WORDS - 1}" not in partial
    assert await frame.locator("#send:not([disabled])").count() == 1

    # The session's screenshot: a thumbnail in the list, the image itself once opened.
    item = frame.locator(f'#files li[data-file="{SCREENSHOT_NAME}"]')
    await item.locator("img.thumb[src^='data:image/png;base64,']").wait_for(timeout=WAIT_MS)
    await item.locator("button.file").click()
    image = frame.locator("#file-view img")
    await image.wait_for(timeout=WAIT_MS)
    seen["image_width"] = await image.evaluate("img => img.naturalWidth")
    assert seen["image_width"] > 0
    return seen
