"""Where the CPU of one ``get_session`` call over Streamable HTTP goes: server, Mix (the emulator) and client.

    python benchmarks/cpu_per_call.py              # mix-mcp and the SDK's floor, both modes and generations
    python benchmarks/cpu_per_call.py --calls 2000 --no-floors

On a small machine, calls per second are set by the CPU each call costs in all three processes, not
by wall time: this prints, per target, the CPU milliseconds per call of each process (from /proc for
the server and the emulator, ``getrusage`` for the in-process ``mcp`` client), measured over calls
made 20 at a time, the median of interleaved rounds. It explains the ratios ``run.py`` prints.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import resource
import statistics
import sys
from pathlib import Path

from mcp import Client

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run  # the benchmark's own process helpers: one way to start every server

_TICKS = os.sysconf("SC_CLK_TCK")


def _process_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def _own_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _round(url: str, generation: str, calls: int, pids: dict[str, int]) -> dict[str, float]:
    async with Client(url, read_timeout_seconds=60, mode=generation) as client:
        arguments = {"session_id": run.DEMO_SESSION_ID}
        for _ in range(20):
            await client.call_tool("get_session", arguments)
        gate = asyncio.Semaphore(20)

        async def one() -> None:
            async with gate:
                result = await client.call_tool("get_session", arguments)
                assert not result.is_error, result

        before = {name: _process_cpu_s(pid) for name, pid in pids.items()}
        own = _own_cpu_s()
        await asyncio.gather(*(one() for _ in range(calls)))
        spent = {name: _process_cpu_s(pid) - before[name] for name, pid in pids.items()}
        spent["client"] = _own_cpu_s() - own
    return {name: seconds * 1000 / calls for name, seconds in spent.items()}


def _pid_of(port_or_url: str) -> int:
    port = port_or_url.rsplit(":", 1)[1].split("/")[0]
    wanted = f"{int(port):04X}"
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                parts = line.split()
                if parts[1].endswith(":" + wanted) and parts[3] == "0A":
                    inodes.add(parts[9])
    for pid in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
                if link.startswith("socket:[") and link[8:-1] in inodes:
                    return int(pid)
    raise RuntimeError(f"no process listens on {port_or_url}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-floors", action="store_true")
    parser.add_argument("--http-flag", dest="http_flags", action="append", default=[])
    ns = parser.parse_args()
    emulator = ["-m", "mix_mcp.emulator", "--port", "0", "--large-session", "20"]
    async with run._process(emulator, run.READY_PREFIX) as base_url, contextlib.AsyncExitStack() as stack:
        servers: list[tuple[str, str]] = []
        for flag in ([], ["--stateless"]):
            mode = "stateless" if flag else "stateful"
            if not ns.no_floors:
                port = str(run._free_port())
                floor = [str(run.FLOORS / "sdk_floor.py"), "--http", port, *flag]
                url = await stack.enter_async_context(run._process(floor, "Uvicorn running on ", base_url))
                servers.append((f"sdk-floor {mode}", f"{url}/mcp"))
            ours = ["-m", "mix_mcp", "serve", "--base-url", base_url, "--transport", "http", "--port", "0", *flag]
            url = await stack.enter_async_context(run._process([*ours, *ns.http_flags], run.HTTP_READY, base_url))
            servers.append((f"mix-mcp {mode}", url))
        emulator_pid = _pid_of(base_url)
        targets = [(f"{name} {gen}", url, gen) for name, url in servers for gen in run.GENERATIONS]
        samples: dict[str, dict[str, list[float]]] = {name: {} for name, _, _ in targets}
        for _ in range(ns.rounds):
            random.shuffle(targets)
            for name, url, generation in targets:
                pids = {"server": _pid_of(url), "mix": emulator_pid}
                for key, value in (await _round(url, generation, ns.calls, pids)).items():
                    samples[name].setdefault(key, []).append(value)
    print("| target | server ms/call | client ms/call | Mix ms/call | total |")
    print("| --- | --- | --- | --- | --- |")
    for name in sorted(samples):
        values = {key: statistics.median(found) for key, found in samples[name].items()}
        total = sum(values.values())
        print(f"| {name} | {values['server']:.2f} | {values['client']:.2f} | {values['mix']:.2f} | {total:.2f} |")


if __name__ == "__main__":
    asyncio.run(main())
