"""What a hostile Mix event stream costs mix-mcp now (issue 20's figures), printed as a table.

Three measurements against the test suite's hostile fake Mix on loopback:

1. the CPU time the event-stream decoder spends on 1 MiB (and 8 MiB, to show it stays linear) of
   LF-only short lines;
2. the wall time of ``send_message`` over stdio, ``--timeout 20``, when ``/stream`` answers 200 and then
   floods content events without ever sending ``connected``;
3. the resident memory of a ``serve --transport http`` process while 20 such calls run at once,
   before and at its peak.

Run: ``.venv/bin/python benchmarks/hostile_stream.py``. Nothing here is asserted; the regression tests
live in tests/faults/test_hostile_stream.py and test_hostile_runs.py.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

import anyio
import httpx2
from mcp import Client

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mix_mcp.mix.events import SSEDecoder
from tests.faults.hostile_mix import SID, Flood, connected, hostile_mix, sse
from tests.support import running_server, stdio_client_for, text_of

CONTENT = b'event: content\ndata: {"type":"content","content":"flood"}\n\n'
CHUNK = 65_536


MIXED = b": c\ndata: x\n\n"
COMMENTS = b": c\n"


def decoder_cpu(mebibytes: int, unit: bytes = MIXED) -> float:
    """CPU seconds to decode ``mebibytes`` MiB of short LF-only lines, in 64 KiB chunks."""
    data = unit * (mebibytes * 1024 * 1024 // len(unit))
    decoder = SSEDecoder()
    started = time.process_time()
    for start in range(0, len(data), CHUNK):
        decoder.feed(data[start : start + CHUNK])
    return time.process_time() - started


async def stdio_wall_time() -> tuple[float, str]:
    with hostile_mix(Flood(CONTENT)) as (upstream, _mix):
        async with stdio_client_for("--base-url", upstream.url, "--timeout", "20", mode="auto") as client:
            started = time.monotonic()
            result = await client.call_tool("send_message", {"session_id": SID, "text": "go"})
            return time.monotonic() - started, text_of(result)[:160]


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def http_rss(calls: int) -> tuple[float, float, float]:
    """(RSS before, peak RSS during, wall time) of ``calls`` concurrent send_message calls over Streamable HTTP."""
    with (
        hostile_mix(Flood(CONTENT)) as (upstream, _mix),
        running_server("--transport", "http", "--base-url", upstream.url, "--timeout", "20") as server,
    ):
        pid = server.process.pid
        samples: list[float] = []
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                samples.append(_rss_mib(pid))
                time.sleep(0.05)

        async with Client(server.url, mode="auto", read_timeout_seconds=60) as client:
            await client.list_tools()
            before = _rss_mib(pid)
            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            started = time.monotonic()
            async with anyio.create_task_group() as group:
                for _ in range(calls):
                    group.start_soon(client.call_tool, "send_message", {"session_id": SID, "text": "go"})
            elapsed = time.monotonic() - started
            stop.set()
            sampler.join()
        return before, max(samples, default=before), elapsed


async def healthz_under_comment_flood() -> tuple[float, float, str]:
    """(median, worst) ``/healthz`` latency in ms while one send_message reads a flood of comment lines after
    ``connected`` for the whole run wait; and the status that call came back with."""
    with (
        hostile_mix(Flood(b": c\n", prefix=sse(connected("1")))) as (upstream, _mix),
        running_server("--transport", "http", "--base-url", upstream.url, "--timeout", "20") as server,
    ):
        latencies: list[float] = []
        status = ""
        async with Client(server.url, mode="auto", read_timeout_seconds=60) as client, httpx2.AsyncClient() as http:
            await client.list_tools()

            async def call() -> None:
                nonlocal status
                result = await client.call_tool("send_message", {"session_id": SID, "text": "go"})
                status = str((result.structured_content or {}).get("status", text_of(result)[:80]))

            async with anyio.create_task_group() as group:
                group.start_soon(call)
                await anyio.sleep(0.5)
                for _ in range(60):
                    started = time.perf_counter()
                    await http.get(server.base + "/healthz")
                    latencies.append((time.perf_counter() - started) * 1000)
                    await anyio.sleep(0.05)
        return statistics.median(latencies), max(latencies), status


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20, help="concurrent calls for the RSS measurement")
    args = parser.parse_args()
    one, eight, comments = decoder_cpu(1), decoder_cpu(8), decoder_cpu(1, COMMENTS)
    wall, answer = await stdio_wall_time()
    before, peak, elapsed = await http_rss(args.calls)
    median, worst, status = await healthz_under_comment_flood()
    print("| Measurement | Figure |")
    print("| --- | --- |")
    print(f"| decoder CPU, 1 MiB of comment lines (': c') | {comments * 1000:.1f} ms |")
    print(f"| decoder CPU, 1 MiB of comment, data and blank lines (an event per 13 bytes) | {one * 1000:.1f} ms |")
    print(f"| decoder CPU, 8 MiB of the same | {eight * 1000:.1f} ms ({eight / one:.1f}x the 1 MiB) |")
    print(f"| send_message wall time, --timeout 20, flood without 'connected' (stdio) | {wall:.2f} s |")
    print(
        f"| serve --transport http RSS, {args.calls} concurrent floods | {before:.0f} MiB before, "
        f"{peak:.0f} MiB peak (+{peak - before:.0f} MiB); all answered in {elapsed:.2f} s |"
    )
    print(
        f"| /healthz latency while a run reads a comment flood (HTTP) | median {median:.1f} ms, worst "
        f"{worst:.1f} ms; the run came back '{status}' |"
    )
    print(f"\nsend_message answered: {answer} ...")


if __name__ == "__main__":
    anyio.run(main)
