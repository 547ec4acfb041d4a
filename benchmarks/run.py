"""One command, one run, side by side: mix-mcp against the SDK's and FastMCP's floors, over stdio and Streamable HTTP.

    python benchmarks/run.py            # full run (about ten minutes on 2 cores), prints the tables, writes JSON
    python benchmarks/run.py --quick    # tiny counts, to check that the benchmark still works

Everything talks over loopback to one emulator process that this script starts. Over Streamable HTTP
the floors (the bare SDK server and FastMCP, one tool doing one GET), FastMCP's OpenAPI bridge and
mix-mcp each run stateful and stateless, and each is called in both protocol generations. Targets
are measured in interleaved rounds (a fresh random order each round) and each figure is the median
of its rounds, so that drift in the machine's load hits every target alike; ratios are computed
within the run. ``--nginx`` adds Streamable HTTP through nginx (examples/deploy/nginx.conf, as the
tests run it) to one and to two ``--stateless`` replicas.
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import contextlib
import json
import os
import platform
import random
import shutil
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx2
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

ROOT = Path(__file__).resolve().parents[1]
# The nginx harness of the end-to-end tests, so that the benchmark measures the very configuration they check.
sys.path.insert(0, str(ROOT))
from tests.e2e.nginx import running_nginx  # noqa: E402

FLOORS = ROOT / "benchmarks" / "floors"
READY_PREFIX = "listening on "
HTTP_READY = "serving MCP over Streamable HTTP at "
DEMO_SESSION_ID = "3f1c9a52-7b2e-4d8a-9c61-0e5b7a2d4f10"
LARGE_SESSION_ID = "9e6c4a13-8f27-4d5b-a1c9-3b7e0d2f5a73"
_DEVNULL = open(os.devnull, "w")  # noqa: SIM115 (servers' stderr, for the life of the run)


@dataclass(frozen=True)
class Counts:
    cold_runs: int
    rounds: int
    latency_calls: int
    throughput_calls: int
    large_messages: int
    large_runs: int


FULL = Counts(cold_runs=7, rounds=5, latency_calls=100, throughput_calls=300, large_messages=2000, large_runs=3)
QUICK = Counts(cold_runs=1, rounds=1, latency_calls=5, throughput_calls=20, large_messages=20, large_runs=1)

#: The two protocol generations a client may speak: the initialize handshake, and 2026-07-28's self-contained requests.
GENERATIONS = ("legacy", "2026-07-28")


@dataclass
class Target:
    """A server under test: how to reach it, and whether it is one of ours."""

    name: str
    connect: Callable[[], Any]
    ours: bool
    stdio: bool
    results: dict[str, float] = field(default_factory=dict)
    #: "main": the stdio table; "http": the Streamable HTTP table; "scale": nginx in front of replicas.
    table: str = "main"
    #: The name the target's get_session takes its session id under.
    id_argument: str = "session_id"
    #: Each metric's value in every round; ``results`` holds their medians.
    samples: dict[str, list[float]] = field(default_factory=dict)


def _env(base_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIX_")}
    env["MIX_BASE_URL"] = base_url
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
    return env


def _stdio(args: list[str], base_url: str) -> Callable[[], Any]:
    params = StdioServerParameters(command=sys.executable, args=args, env=_env(base_url), cwd=str(ROOT))
    return lambda: Client(stdio_client(params, errlog=_DEVNULL), read_timeout_seconds=120)


def _http(url: str, mode: str = "auto") -> Callable[[], Any]:
    return lambda: Client(url, read_timeout_seconds=120, mode=mode)


def _fastmcp_available() -> bool:
    try:
        import fastmcp  # type: ignore[import-not-found,unused-ignore]  # noqa: F401
    except ImportError:
        return False
    return True


def _nginx() -> Path | None:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    return Path(found) if found else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@asynccontextmanager
async def _process(args: list[str], ready: str, base_url: str = "http://127.0.0.1:1") -> AsyncIterator[str]:
    """Start a helper process and yield the URL from its ready line on stderr; always stop it."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        env=_env(base_url),
        cwd=str(ROOT),
    )
    assert process.stderr is not None
    stderr = process.stderr
    try:
        url = None
        async with asyncio.timeout(60):
            while line := (await stderr.readline()).decode(errors="replace"):
                if ready in line:
                    url = line.split(ready, 1)[1].split()[0].rstrip(";,")
                    break
        if url is None:
            raise RuntimeError(f"{args} did not start")
        # Keep draining stderr so that a chatty process never blocks on a full pipe.
        drain = asyncio.create_task(stderr.read())
        yield url
        drain.cancel()
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def cold_start(targets: list[Target], runs: int) -> None:
    """spawn -> initialize -> tools/list, interleaved across servers so drift hits all alike."""
    samples: dict[str, list[float]] = {t.name: [] for t in targets if t.stdio}
    for _ in range(runs):
        order = [t for t in targets if t.stdio]
        random.shuffle(order)
        for target in order:
            started = time.perf_counter()
            async with target.connect() as client:
                await client.list_tools()
                samples[target.name].append(time.perf_counter() - started)
    for target in targets:
        if target.stdio:
            target.results["cold_start_s"] = statistics.median(samples[target.name])


async def one_round(target: Target, counts: Counts) -> dict[str, float]:
    """One round on one connection: warm up, sequential calls for latency, then 20 and 100 at a time.

    A call that raises or answers ``isError`` counts as an error; the round goes on.
    """
    errors = 0
    arguments = {target.id_argument: DEMO_SESSION_ID}
    found: dict[str, float] = {}
    async with target.connect() as client:

        async def call() -> bool:
            nonlocal errors
            try:
                result = await client.call_tool("get_session", arguments)
            except Exception:
                errors += 1
                return False
            if result.is_error:
                errors += 1
                return False
            return True

        for _ in range(min(10, counts.latency_calls)):
            await call()
        timings = []
        for _ in range(counts.latency_calls):
            started = time.perf_counter()
            await call()
            timings.append(time.perf_counter() - started)
        found["p50_ms"] = _percentile(timings, 0.5) * 1000
        found["p95_ms"] = _percentile(timings, 0.95) * 1000
        for concurrency in (20, 100):
            gate = asyncio.Semaphore(concurrency)

            async def one(gate: asyncio.Semaphore = gate) -> None:
                async with gate:
                    await call()

            started = time.perf_counter()
            await asyncio.gather(*(one() for _ in range(counts.throughput_calls)))
            found[f"calls_per_s_c{concurrency}"] = counts.throughput_calls / (time.perf_counter() - started)
    found["errors"] = errors
    return found


async def interleaved_rounds(targets: list[Target], counts: Counts) -> None:
    """Every target once per round, in a fresh random order each round; each metric is the median of its rounds.

    On a shared machine the load drifts over a run: interleaving spreads that drift over every target
    alike, so the ratios between targets hold even when the absolute numbers move. Errors are summed.
    """
    for _ in range(counts.rounds):
        order = list(targets)
        random.shuffle(order)
        for target in order:
            for key, value in (await one_round(target, counts)).items():
                target.samples.setdefault(key, []).append(value)
    for target in targets:
        for key, values in target.samples.items():
            target.results[key] = sum(values) if key == "errors" else statistics.median(values)


def _rss_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


async def large_export(base_url: str, counts: Counts) -> dict[str, float]:
    """A raw JSON-RPC client over the server's stdio, so the time is the server's, not a client's validation.

    (The mcp Client checks every result against the tool's outputSchema with jsonschema, which for a
    20 MB transcript costs seconds of client CPU and would hide what the server does.)
    """
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "mix_mcp",
        "serve",
        "--base-url",
        base_url,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env=_env(base_url),
        cwd=str(ROOT),
        limit=2**30,
    )
    assert process.stdin is not None and process.stdout is not None
    stdin, stdout = process.stdin, process.stdout

    async def request(ident: int, method: str, params: dict[str, Any]) -> dict[str, Any]:
        stdin.write(json.dumps({"jsonrpc": "2.0", "id": ident, "method": method, "params": params}).encode() + b"\n")
        await stdin.drain()
        while True:
            message: dict[str, Any] = json.loads(await stdout.readline())
            if message.get("id") == ident:
                return message

    try:
        init = {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}
        await request(1, "initialize", init)
        stdin.write(b'{"jsonrpc": "2.0", "method": "notifications/initialized"}\n')
        idle_kib = _rss_kib(process.pid, "VmRSS")
        timings = []
        size = 0
        for attempt in range(counts.large_runs):
            call = {"name": "export_session", "arguments": {"session_id": LARGE_SESSION_ID, "unbounded": True}}
            started = time.perf_counter()
            reply = await request(10 + attempt, "tools/call", call)
            timings.append(time.perf_counter() - started)
            result = reply["result"]
            assert not result.get("isError"), result
            assert len(result["structuredContent"]["messages"]) == counts.large_messages
            size = len(json.dumps(reply))
        peak_kib = _rss_kib(process.pid, "VmHWM")
    finally:
        stdin.close()
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            process.kill()
            await process.wait()
    return {
        "large_export_s": statistics.median(timings),
        "large_export_peak_rss_mib": peak_kib / 1024,
        "idle_rss_mib": idle_kib / 1024,
        "large_export_rss_growth_mib": (peak_kib - idle_kib) / 1024,
        "response_mib": size / 2**20,
    }


async def _measure(targets: list[Target], counts: Counts) -> None:
    await cold_start(targets, counts.cold_runs)
    await interleaved_rounds(targets, counts)


async def direct_get(base_url: str, counts: Counts) -> dict[str, float]:
    async with httpx2.AsyncClient(base_url=base_url) as http:
        for _ in range(min(20, counts.latency_calls)):
            await http.get(f"/api/sessions/{DEMO_SESSION_ID}")
        timings = []
        for _ in range(counts.latency_calls):
            started = time.perf_counter()
            (await http.get(f"/api/sessions/{DEMO_SESSION_ID}")).raise_for_status()
            timings.append(time.perf_counter() - started)
        export = await http.get(f"/api/sessions/{LARGE_SESSION_ID}/export", timeout=120)
    return {
        "p50_ms": _percentile(timings, 0.5) * 1000,
        "p95_ms": _percentile(timings, 0.95) * 1000,
        "transcript_mib": len(export.content) / 2**20,
    }


SHAPES: list[dict[str, Any]] = [
    {"unbounded": True},
    {"format": "markdown", "unbounded": True},
    {"max_chars": 200_000},
    {"roles": ["user"], "include_tool_results": False, "include_reasoning": False, "unbounded": True},
    {"offset": 100, "limit": 50},
]


def shaping_scaling(small: int) -> list[tuple[str, float, float]]:
    """Time of each shaping option at ``small`` and at 4x as many messages: linear work gives about 4x."""
    from mix_mcp.emulator import SessionStore, seed_large_session
    from mix_mcp.tools.arguments import ExportSessionArguments
    from mix_mcp.tools.transcripts import shape_transcript

    rows = []
    timings: dict[int, list[float]] = {}
    for size in (small, small * 4):
        store = SessionStore()
        session_id = seed_large_session(store, messages=size, content_bytes=300)
        data = json.loads(store.export_session(session_id))
        store.close()
        timings[size] = []
        for shape in SHAPES:
            args = ExportSessionArguments.model_validate({"session_id": session_id, **shape})
            runs = []
            for _ in range(3):
                started = time.perf_counter()
                shape_transcript(data, args)
                runs.append(time.perf_counter() - started)
            timings[size].append(min(runs))
    for index, shape in enumerate(SHAPES):
        label = json.dumps(shape) if shape else "(default)"
        rows.append((label, timings[small][index] * 1000, timings[small * 4][index] * 1000))
    return rows


def render_scaling(rows: list[tuple[str, float, float]], small: int) -> str:
    lines = [
        f"| export_session shaping | ms at {small:,} messages | ms at {small * 4:,} | ratio (linear: about 4) |",
        "| --- | --- | --- | --- |",
    ]
    lines += [f"| `{label}` | {a:.1f} | {b:.1f} | {b / a:.1f} |" for label, a, b in rows]
    return "\n".join(lines)


def _ratio(ours: float | None, floor: float | None) -> str:
    if ours is None or floor is None or floor == 0:
        return "-"
    return f"{ours / floor:.2f}x"


METRICS = [
    ("cold_start_s", "cold start (s, median)", "{:.3f}"),
    ("p50_ms", "get_session p50 (ms)", "{:.2f}"),
    ("p95_ms", "get_session p95 (ms)", "{:.2f}"),
    ("calls_per_s_c20", "calls/s at concurrency 20", "{:.0f}"),
    ("calls_per_s_c100", "calls/s at concurrency 100", "{:.0f}"),
    ("errors", "errors", "{:.0f}"),
    ("large_export_s", "large export (s)", "{:.2f}"),
    ("large_export_peak_rss_mib", "large export peak RSS (MiB)", "{:.0f}"),
    ("idle_rss_mib", "idle RSS before the export (MiB)", "{:.0f}"),
    ("transcript_mib", "transcript size (MiB)", "{:.1f}"),
    ("peak_rss_per_transcript", "peak RSS / transcript size", "{:.1f}x"),
]


SCALE_METRICS = [
    ("calls_per_s_c20", "calls/s at concurrency 20", "{:.0f}"),
    ("calls_per_s_c100", "calls/s at concurrency 100", "{:.0f}"),
    ("p50_ms", "get_session p50 (ms)", "{:.2f}"),
]

HTTP_METRICS = [
    ("p50_ms", "p50 (ms)", "{:.2f}"),
    ("p95_ms", "p95 (ms)", "{:.2f}"),
    ("calls_per_s_c20", "calls/s c20", "{:.0f}"),
    ("calls_per_s_c100", "calls/s c100", "{:.0f}"),
    ("errors", "errors", "{:.0f}"),
]


def render_scale(targets: list[Target]) -> str:
    """Streamable HTTP through nginx to one and two stateless replicas."""
    shown = [t for t in targets if t.table == "scale"]
    one = next((t for t in shown if t.name.startswith("nginx + 1")), None)
    headers = ["Streamable HTTP through nginx", *(label for _, label, _ in SCALE_METRICS), "c100 vs nginx + 1 replica"]
    rows = ["| " + " | ".join(headers) + " |", "|" + " --- |" * len(headers)]
    for target in shown:
        cells = [target.name]
        cells += [fmt.format(target.results[key]) if key in target.results else "-" for key, _, fmt in SCALE_METRICS]
        base = one.results.get("calls_per_s_c100") if one is not None else None
        cells.append(_ratio(target.results.get("calls_per_s_c100"), base))
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def best_floors(targets: list[Target], generation: str) -> dict[str, float]:
    """Among the floors served over HTTP in one protocol generation: the lowest p50 and the highest calls/s."""
    floors = [t for t in targets if t.table == "http" and not t.ours and t.name.endswith(generation)]
    floors = [t for t in floors if not t.name.startswith("openapi-bridge")]
    best: dict[str, float] = {}
    if floors:
        best["p50_ms"] = min(t.results["p50_ms"] for t in floors)
        for key in ("calls_per_s_c20", "calls_per_s_c100"):
            best[key] = max(t.results[key] for t in floors)
    return best


def render_http(targets: list[Target]) -> str:
    """Streamable HTTP, like for like: floors, the OpenAPI bridge and mix-mcp, each mode in each generation."""
    shown = [t for t in targets if t.table == "http"]
    headers = ["Streamable HTTP", *(label for _, label, _ in HTTP_METRICS)]
    headers += ["p50 / best floor", "c20 / best floor", "c100 / best floor"]
    rows = ["| " + " | ".join(headers) + " |", "|" + " --- |" * len(headers)]
    for generation in GENERATIONS:
        best = best_floors(targets, generation)
        for target in (t for t in shown if t.name.endswith(generation)):
            cells = [target.name]
            cells += [fmt.format(target.results[k]) if k in target.results else "-" for k, _, fmt in HTTP_METRICS]
            cells += [
                _ratio(target.results.get(k), best.get(k)) for k in ("p50_ms", "calls_per_s_c20", "calls_per_s_c100")
            ]
            rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def render(targets: list[Target], direct: dict[str, float]) -> str:
    """stdio: the floors and mix-mcp side by side, with mix-mcp's ratios to each floor."""
    targets = [t for t in targets if t.table == "main"]
    floors = [t for t in targets if not t.ours]
    headers = ["metric", *(t.name for t in targets), "direct GET"]
    ours = [t for t in targets if t.ours]
    headers += [f"{o.name} / {f.name}" for o in ours for f in floors]
    rows = ["| " + " | ".join(headers) + " |", "|" + " --- |" * len(headers)]
    for key, label, fmt in METRICS:
        cells = [label]
        cells += [fmt.format(t.results[key]) if key in t.results else "-" for t in targets]
        cells.append(fmt.format(direct[key]) if key in direct else "-")
        if key in ("errors", "peak_rss_per_transcript"):
            cells += ["-" for o in ours for f in floors]
        else:
            cells += [_ratio(o.results.get(key), f.results.get(key)) for o in ours for f in floors]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


async def _add_http_targets(
    stack: contextlib.AsyncExitStack, targets: list[Target], serve: list[str], base_url: str, ns: argparse.Namespace
) -> None:
    """Every server over Streamable HTTP on loopback, stateful and stateless, each reached in both generations."""
    servers: list[tuple[str, list[str], str, bool, str]] = []
    for stateless in (False, True):
        mode = "stateless" if stateless else "stateful"
        flag = ["--stateless"] if stateless else []
        servers.append((f"sdk-floor {mode}", [str(FLOORS / "sdk_floor.py"), "--http", "PORT", *flag], "", False, ""))
        if not ns.no_fastmcp and _fastmcp_available():
            fastmcp = [str(FLOORS / "fastmcp_floor.py"), "--http", "PORT", *flag]
            servers.append((f"fastmcp-floor {mode}", fastmcp, "/mcp", False, ""))
            bridge = [str(FLOORS / "openapi_bridge.py"), "--http", "PORT", *flag]
            servers.append((f"openapi-bridge {mode}", bridge, "/mcp", False, "id"))
        ours = [*serve, "--transport", "http", "--port", "0", *flag, *ns.http_flags]
        servers.append((f"mix-mcp {mode}", ours, "", True, ""))
    for name, args, suffix, is_ours, id_argument in servers:
        if is_ours:
            url = await stack.enter_async_context(_process(args, HTTP_READY, base_url))
        else:
            port = str(_free_port())
            args = [port if a == "PORT" else a for a in args]
            url = await stack.enter_async_context(_process(args, "Uvicorn running on ", base_url))
            url = f"{url}{suffix or '/mcp'}"
        for generation in GENERATIONS:
            targets.append(
                Target(
                    f"{name} {generation}",
                    _http(url, generation),
                    ours=is_ours,
                    stdio=False,
                    table="http",
                    id_argument=id_argument or "session_id",
                )
            )


async def _add_scale_targets(
    stack: contextlib.AsyncExitStack, targets: list[Target], serve: list[str], ns: argparse.Namespace
) -> None:
    """nginx in front of one and of two ``--stateless`` mix-mcp replicas."""
    nginx = _nginx()
    if nginx is None or not ns.nginx:
        return
    stateless = [*serve, "--transport", "http", "--port", "0", "--stateless"]
    replicas = [await stack.enter_async_context(_process(stateless, HTTP_READY)) for _ in range(2)]
    addresses = [urlsplit(url).netloc for url in replicas]
    for count in (1, 2):
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="mix-mcp-nginx-")))
        front = stack.enter_context(running_nginx(nginx, folder, addresses[:count]))
        name = f"nginx + {count} stateless replica{'s' if count > 1 else ''}"
        targets.append(Target(name, _http(f"{front.url}/mcp"), ours=True, stdio=False, table="scale"))


def _load() -> str:
    """The machine's load while the run ran (1, 5 and 15 minute averages), to read the numbers by."""
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "unknown"
    return f"{one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny counts: check that the benchmark works")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "latest.json")
    parser.add_argument("--no-fastmcp", action="store_true", help="leave out FastMCP's floor and OpenAPI bridge")
    parser.add_argument("--no-http", action="store_true", help="leave out the Streamable HTTP table")
    parser.add_argument("--nginx", action="store_true", help="add nginx in front of one and two stateless replicas")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default: 5, 1 with --quick)")
    parser.add_argument(
        "--http-flag",
        dest="http_flags",
        action="append",
        default=[],
        help="extra flag for mix-mcp's Streamable HTTP servers",
    )
    ns = parser.parse_args(argv)
    counts = QUICK if ns.quick else FULL
    if ns.rounds:
        counts = replace(counts, rounds=ns.rounds)
    started = time.perf_counter()
    load_before = _load()
    # A pip install byte-compiles the package; an editable checkout (with PYTHONDONTWRITEBYTECODE set, as on
    # some machines) would otherwise recompile mix-mcp's modules at every start and skew the cold start.
    compileall.compile_dir(ROOT / "mix_mcp", quiet=1)

    emulator_args = ["-m", "mix_mcp.emulator", "--port", "0", "--large-session", str(counts.large_messages)]
    async with _process(emulator_args, READY_PREFIX) as base_url:
        targets = [Target("sdk-floor", _stdio([str(FLOORS / "sdk_floor.py")], base_url), ours=False, stdio=True)]
        if not ns.no_fastmcp and _fastmcp_available():
            fastmcp = _stdio([str(FLOORS / "fastmcp_floor.py")], base_url)
            targets.append(Target("fastmcp-floor", fastmcp, ours=False, stdio=True))
        serve = ["-m", "mix_mcp", "serve", "--base-url", base_url]
        targets.append(Target("mix-mcp stdio", _stdio(serve, base_url), ours=True, stdio=True))
        async with contextlib.AsyncExitStack() as stack:
            if not ns.no_http:
                await _add_http_targets(stack, targets, serve, base_url, ns)
            await _add_scale_targets(stack, targets, serve, ns)
            await _measure(targets, counts)
        direct = await direct_get(base_url, counts)
        ours = next(t for t in targets if t.ours and t.stdio)
        ours.results.update(await large_export(base_url, counts))
        ours.results["peak_rss_per_transcript"] = ours.results["large_export_peak_rss_mib"] / direct["transcript_mib"]

    print(render(targets, direct))
    if any(t.table == "http" for t in targets):
        print()
        print(render_http(targets))
    if any(t.table == "scale" for t in targets):
        print()
        print(render_scale(targets))
    scaling_size = 200 if ns.quick else 2_000
    scaling = shaping_scaling(scaling_size)
    print()
    print(render_scaling(scaling, scaling_size))
    load_after = _load()
    print(f"\nload average before the run: {load_before}; after: {load_after}")
    report = {
        "quick": ns.quick,
        "counts": asdict(counts),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "load_before": load_before,
            "load_after": load_after,
        },
        "direct_get": direct,
        "targets": {t.name: t.results for t in targets},
        "shaping_ms": {label: {"small": a, "large": b} for label, a, b in scaling},
        "seconds": time.perf_counter() - started,
    }
    ns.json.parent.mkdir(parents=True, exist_ok=True)
    ns.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {ns.json} ({report['seconds']:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
