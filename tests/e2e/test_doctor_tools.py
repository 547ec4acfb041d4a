"""doctor's deeper checks, in process and fast: every published tool tried, and https:// to a plain-HTTP Mix.

The same checks through the `mix-mcp doctor` command (separate processes) are in test_doctor.py.
"""

from __future__ import annotations

import pytest

from mix_mcp.cli.doctor import diagnose
from mix_mcp.cli.tool_tryout import SCRATCH_TITLE, try_published_tools
from mix_mcp.config import Settings
from mix_mcp.emulator import BackgroundEmulator
from mix_mcp.mix.client import MixClient
from mix_mcp.mix.endpoints import LIST_SESSIONS
from mix_mcp.mix.errors import PLAIN_HTTP_REASON, ErrorHints, MixUnreachableError
from mix_mcp.tools.operations import OPERATIONS

pytestmark = pytest.mark.anyio


async def test_every_published_tool_is_tried_and_the_scratch_session_deleted() -> None:
    with BackgroundEmulator() as emulator:
        before = {s["id"] for s in emulator.store.list_sessions(include_subagents=True)}
        tryout = await try_published_tools(Settings(base_url=emulator.url, read_only=True))
        after = emulator.store.list_sessions(include_subagents=True)
    published = [op.name for op in OPERATIONS]
    assert tryout.published == published  # selection flags set aside: doctor tries the whole catalogue
    # The seed contract's Mix has no questions and no session files: those tools meet its router's 404.
    newer = {"answer_notification", *(op.name for op in OPERATIONS if op.family == "files")}
    expected = {name: "not offered" if name in newer else "ok" for name in published}
    assert {name: trial.outcome for name, trial in tryout.trials.items()} == expected
    assert tryout.untried == [] and tryout.leftovers == []
    assert {s["id"] for s in after} == before and not any(s["title"] == SCRATCH_TITLE for s in after)


async def test_a_mix_version_without_a_route_gets_not_offered_rather_than_failed() -> None:
    with BackgroundEmulator(mix_version="2026-02") as emulator:  # no fork route; create needs a browser mode
        tryout = await try_published_tools(Settings(base_url=emulator.url, mix_version="2026-02"))
    assert tryout.failed == []
    assert tryout.not_offered == ["fork_session"]
    assert "does not offer fork_session" in tryout.trials["fork_session"].detail
    assert tryout.trials["create_session"].outcome == "ok" and tryout.trials["send_message"].outcome == "ok"
    # Feb 2026 has questions and files: an ask: run answered with answer_notification, a file written,
    # listed, read and deleted; rewind is tried although fork is not offered.
    assert tryout.untried == []
    for name in ("answer_notification", "follow_run", "rewind_session", "upload_session_file", "read_session_file"):
        assert tryout.trials[name].outcome == "ok", tryout.trials[name]
    assert tryout.leftovers == []


async def test_https_to_a_plain_http_mix_is_named_in_the_client_error_and_in_doctor() -> None:
    with BackgroundEmulator() as emulator:
        address = emulator.url.removeprefix("http://")
        settings = Settings(base_url=f"https://{address}", max_retries=0)
        async with MixClient(settings) as client:
            with pytest.raises(MixUnreachableError) as caught:
                await client.send(LIST_SESSIONS, idempotent=True)
        report = await diagnose(settings)
    assert caught.value.reason == PLAIN_HTTP_REASON
    advice = f"Mix at https://{address} answers plain HTTP, not HTTPS: use http://{address}"
    assert advice in caught.value.explain(ErrorHints())
    reach, probe = report.checks[1], report.checks[2]
    assert reach.status == "fail" and reach.advice is not None and advice in reach.advice
    assert probe.name == "plain HTTP" and f"GET http://{address}/health answered HTTP 200" in probe.detail
