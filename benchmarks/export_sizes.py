"""How much an agent reads: export_session's text for a 2,000-message (~20 MB) session, whole and shaped.

Starts the emulator with ``--large-session 2000`` and ``mix-mcp serve`` over stdio, the way an assistant
does, calls export_session with each option set below, and prints a Markdown table of the characters
in the text content (what lands in a model's context), the messages returned and the wall time.

    python benchmarks/export_sizes.py            # 2,000 messages, the 2026-07-28 protocol
    python benchmarks/export_sizes.py --messages 500 --mode legacy
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import anyio
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from mix_mcp.emulator import LARGE_SESSION_ID

CASES: list[dict[str, Any]] = [
    {"unbounded": True},
    {},
    {"limit": 20},
    {"include_tool_results": False},
    {"include_tool_calls": False, "include_reasoning": False},
    {"roles": ["user"]},
    {"roles": ["user"], "limit": 20},
    {"format": "markdown"},
    {"format": "markdown", "limit": 20},
    {"max_chars": 20_000},
    {"format": "markdown", "max_chars": 20_000},
]


@contextmanager
def emulator(messages: int) -> Iterator[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "mix_mcp.emulator", "--port", "0", "--large-session", str(messages)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            line = process.stderr.readline()
            if match := re.search(r"listening on (http://\S+)", line):
                yield match.group(1)
                return
            if not line and process.poll() is not None:
                break
        raise RuntimeError("the emulator did not start")
    finally:
        process.terminate()
        process.wait(10)


async def measure(url: str, mode: str) -> list[tuple[str, int, int, float]]:
    params = StdioServerParameters(command=sys.executable, args=["-m", "mix_mcp", "serve", "--base-url", url])
    rows = []
    async with Client(stdio_client(params), mode=mode, read_timeout_seconds=300) as client:
        for options in CASES:
            started = time.perf_counter()
            result = await client.call_tool("export_session", {"session_id": LARGE_SESSION_ID, **options})
            elapsed = time.perf_counter() - started
            if result.is_error:
                raise RuntimeError(f"export_session {options} failed: {result.content}")
            text = "".join(getattr(block, "text", "") for block in result.content)
            returned = (result.structured_content or {})["window"]["returned"]
            label = json.dumps(options) if options else "(default: a 50,000-character window)"
            rows.append((label, len(text), returned, elapsed))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=2_000, help="messages in the large session")
    parser.add_argument("--mode", choices=["auto", "legacy"], default="auto", help="MCP protocol generation")
    args = parser.parse_args()
    with emulator(args.messages) as url:
        rows = anyio.run(measure, url, args.mode)
    print(f"export_session on a {args.messages:,}-message session ({args.mode} protocol)\n")
    print("| Arguments | Text characters | Messages | Seconds |")
    print("| --- | ---: | ---: | ---: |")
    for options, size, returned, elapsed in rows:
        print(f"| `{options}` | {size:,} | {returned:,} | {elapsed:.2f} |")


if __name__ == "__main__":
    main()
