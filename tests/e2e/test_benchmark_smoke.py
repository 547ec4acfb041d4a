"""The benchmark keeps working: one run with tiny counts (no timing is asserted here, only that every row is there)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import clean_env

ROOT = Path(__file__).resolve().parents[2]

STDIO_ROWS = (
    "| cold start (s, median) |",
    "| get_session p50 (ms) |",
    "| calls/s at concurrency 20 |",
    "| calls/s at concurrency 100 |",
    "| errors |",
    "| large export peak RSS (MiB) |",
    "| peak RSS / transcript size |",
)


@pytest.mark.slow
def test_benchmark_runs_with_tiny_counts(tmp_path: Path) -> None:
    report_path = tmp_path / "bench.json"
    completed = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--no-fastmcp", "--json", str(report_path)],
        capture_output=True,
        text=True,
        timeout=240,
        env=clean_env(),
        cwd=ROOT,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    out = completed.stdout
    for row in STDIO_ROWS:
        assert row in out, row
    assert "| Streamable HTTP | p50 (ms) |" in out
    report = json.loads(report_path.read_text(encoding="utf-8"))
    targets = report["targets"]
    ours = targets["mix-mcp stdio"]
    assert {"cold_start_s", "p50_ms", "calls_per_s_c20", "large_export_s", "large_export_peak_rss_mib"} <= ours.keys()
    assert targets["sdk-floor"]["p50_ms"] > 0
    # Every server over Streamable HTTP, stateful and stateless, in both protocol generations, with no errors.
    for server in ("sdk-floor", "mix-mcp"):
        for mode in ("stateful", "stateless"):
            for generation in ("legacy", "2026-07-28"):
                name = f"{server} {mode} {generation}"
                assert f"| {name} |" in out, name
                assert {"p50_ms", "calls_per_s_c20", "calls_per_s_c100"} <= targets[name].keys()
                assert targets[name]["errors"] == 0, name
    assert "load average before the run" in out
