"""Where the memory of a large export goes: mix-mcp's own work, the SDK's result pipeline, and the stdio line.

    python benchmarks/profile_export.py [--messages 2000]

Runs each stage in process under tracemalloc, in the order a stdio server runs them, and prints the
memory each stage holds and its transient peak, in MiB. It explains the peak RSS in the benchmark table.
The emulator runs in the same process, so the first row also counts its copy of the answer it sends.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import mcp_types as types
from mcp_types import methods

from mix_mcp.config import Settings
from mix_mcp.emulator import BackgroundEmulator, seed_large_session
from mix_mcp.mix.client import CallStats, MixClient
from mix_mcp.serving.server import run_operation
from mix_mcp.serving.streamed_results import deferring, response_pieces, text_block
from mix_mcp.tools.operations import OPERATIONS_BY_NAME
from mix_mcp.tools.rendering import Shaped

MIB = 2**20


def _stage(name: str, work: Callable[[], Any], rows: list[tuple[str, float, float, float]]) -> Any:
    before, _ = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    started = time.perf_counter()
    value = work()
    elapsed = time.perf_counter() - started
    after, peak = tracemalloc.get_traced_memory()
    rows.append((name, (after - before) / MIB, (peak - before) / MIB, elapsed))
    return value


async def profile(messages: int) -> list[tuple[str, float, float, float]]:
    rows: list[tuple[str, float, float, float]] = []
    version = "2025-11-25"
    with BackgroundEmulator(seed=False) as emulator:
        session_id = seed_large_session(emulator.store, messages=messages)
        settings = Settings(base_url=emulator.url, max_response_bytes=2**31)
        async with MixClient(settings) as client:
            op = OPERATIONS_BY_NAME["export_session"]
            args = {"session_id": session_id, "unbounded": True}
            await run_operation(client, op, args)  # warm the connection
            tracemalloc.start()
            before, _ = tracemalloc.get_traced_memory()
            tracemalloc.reset_peak()
            started = time.perf_counter()
            stats = CallStats()
            shaped = await op.execute(client, op.parse(args), stats=stats, progress=None, call=None)
            after, peak = tracemalloc.get_traced_memory()
            rows.append(
                (
                    "mix-mcp: read, parse, check, shape",
                    (after - before) / MIB,
                    (peak - before) / MIB,
                    time.perf_counter() - started,
                )
            )
    assert isinstance(shaped, Shaped)
    with deferring():
        text = _stage("text block (deferred on stdio)", lambda: text_block(shaped, stats.received, version), rows)
    result = types.CallToolResult(content=[types.TextContent(text=text)], structured_content=shaped.structured)
    dumped = _stage(
        "SDK: result model_dump", lambda: result.model_dump(by_alias=True, mode="json", exclude_none=True), rows
    )
    sieved = _stage(
        "SDK: per-version result sieve", lambda: methods.serialize_server_result("tools/call", version, dumped), rows
    )
    message = _stage("SDK: JSON-RPC envelope", lambda: types.JSONRPCResponse(jsonrpc="2.0", id=1, result=sieved), rows)

    def write_in_pieces() -> int:
        pieces = response_pieces(message)
        assert pieces is not None
        return sum(len(piece) for piece in pieces)  # each piece dropped once written

    _stage("mix-mcp stdio: the line made and written in pieces", write_in_pieces, rows)
    tracemalloc.stop()
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=2000)
    ns = parser.parse_args()
    rows = asyncio.run(profile(ns.messages))
    print("| stage | retained MiB | transient peak MiB | seconds |")
    print("| --- | --- | --- | --- |")
    for name, retained, peak, seconds in rows:
        print(f"| {name} | {retained:.1f} | {peak:.1f} | {seconds:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
