"""No trace of a secret anywhere: the server at DEBUG, an upstream that echoes every header back.

The secrets are distinctive strings configured the three ways mix-mcp takes credentials (API key,
a credential-like extra header, a password in the base URL). The upstream echoes request headers
into error envelopes, HTML pages, base64 blobs, response headers, cookies and the content type.
Everything the agent could see (texts and structured results) and everything on stderr must hold
neither a secret, nor its base64 or percent-encoded forms, nor any 8-character piece of it.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.faults.upstream import Action, Echo, FaultUpstream, Truncate
from tests.support import stdio_client_for
from tests.unit.fakes import SESSION

API_KEY = "mixkey-7Hq2ZpR4vW9xLm3Nc8Tb5Yd"
HEADER_TOKEN = "tok-Ux81Kd0PzQe5Wn2Rj7LsA"
URL_PASSWORD = "pw-Zr4Lq9Xk2Vm7HtB6"
PIECE = 8


def _traces(secret: str, *contexts: str) -> set[str]:
    """The secret, any 8-character piece of it, and its encodings alone and in the contexts it travels in."""
    found = {secret[i : i + PIECE] for i in range(len(secret) - PIECE + 1)}
    for text in (secret, *(c + secret for c in contexts)):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            found.add(encode(text.encode()).decode().rstrip("="))
    found.add(quote(secret, safe=""))
    return found


def _calls(upstream: FaultUpstream) -> list[tuple[str, dict[str, Any], list[Action]]]:
    attempts = 3  # max_retries 2: a retried fault is met three times
    return [
        ("list_sessions", {}, [Echo(500)] * attempts),
        ("get_session", {"session_id": "s-1"}, [Echo(502, "html")] * attempts),
        ("export_session", {"session_id": "s-1"}, [Echo(500, "base64")] * attempts),
        ("create_session", {"title": "echo"}, [Echo(401)]),
        ("fork_session", {"session_id": "s-1", "message_index": 0}, [Echo(400, "html")]),
        ("delete_session", {"session_id": "s-1"}, [Echo(204, "headers")]),
        ("list_sessions", {}, [Echo(200, "headers", [SESSION])]),
        ("get_session", {"session_id": "s-1"}, [Truncate(200, b'{"id": "Bearer ' + API_KEY.encode(), 900)] * attempts),
    ]


KEY_AND_HEADER = {"MIX_API_KEY": API_KEY, "MIX_EXTRA_HEADERS": json.dumps({"X-Auth-Token": HEADER_TOKEN})}
#: Environment, and whether the base URL carries ``alice:<password>@``.
CONFIGS: dict[str, tuple[dict[str, str], bool]] = {
    "api-key-and-header": (KEY_AND_HEADER, False),
    "password-in-url": ({}, True),
}


@pytest.mark.anyio
@pytest.mark.parametrize("config", list(CONFIGS))
async def test_no_trace_of_a_secret_in_results_errors_or_debug_logs(
    upstream: FaultUpstream, config: str, tmp_path: Path
) -> None:
    env, password_in_url = CONFIGS[config]
    base_url = upstream.url.replace("http://", f"http://alice:{URL_PASSWORD}@") if password_in_url else upstream.url
    log = tmp_path / "stderr.log"
    seen: list[str] = []
    with log.open("w", encoding="utf-8") as errlog:
        async with stdio_client_for(
            "--base-url", base_url, "--read-timeout", "2", mode="auto", errlog=errlog,
            MIX_MCP_LOG_LEVEL="DEBUG", **env,
        ) as client:  # fmt: skip
            for tool, arguments, script in _calls(upstream):
                upstream.push(*script)
                result = await client.call_tool(tool, arguments)
                seen.extend(getattr(block, "text", "") for block in result.content)
                seen.append(json.dumps(result.structured_content))
    output = "\n".join(seen)
    logs = log.read_text(encoding="utf-8")

    # The test means something only if the secrets really went out, and the echoes really came back.
    authorization = upstream.requests[0].header("authorization") or ""
    if password_in_url:
        secrets = [URL_PASSWORD]
        assert base64.b64decode(authorization.removeprefix("Basic ")).decode() == f"alice:{URL_PASSWORD}"
    else:
        secrets = [API_KEY, HEADER_TOKEN]
        assert authorization == f"Bearer {API_KEY}"
        assert upstream.requests[0].header("x-auth-token") == HEADER_TOKEN
    assert "[redacted]" in output
    assert "level=DEBUG" in logs and "event=tool_call" in logs
    assert upstream.pending() == 0, "every scripted answer was used"

    for secret in secrets:
        for trace in _traces(secret, "Bearer ", "alice:", "X-Auth-Token: "):
            assert trace not in output, f"{trace!r} (from a secret) in a tool result"
            assert trace not in logs, f"{trace!r} (from a secret) in the log"
