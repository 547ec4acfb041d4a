"""The benchmark keeps working: one run with tiny counts (no timing is asserted here)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support import clean_env

ROOT = Path(__file__).resolve().parents[2]


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
    assert "| get_session p50 (ms) |" in completed.stdout
    report = json.loads(report_path.read_text(encoding="utf-8"))
    ours = report["targets"]["mix-mcp stdio"]
    assert {"cold_start_s", "p50_ms", "calls_per_s_c20", "large_export_s", "large_export_peak_rss_mib"} <= ours.keys()
    assert report["targets"]["sdk-floor"]["p50_ms"] > 0
    if shutil.which("nginx") or Path("/usr/sbin/nginx").exists():
        assert "| Streamable HTTP | calls/s at concurrency 20 |" in completed.stdout
        for name in ("nginx + 1 stateless replica", "nginx + 2 stateless replicas"):
            assert {"calls_per_s_c20", "calls_per_s_c100"} <= report["targets"][name].keys()
