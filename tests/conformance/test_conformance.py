"""The official MCP conformance suite (npm ``@modelcontextprotocol/conformance``) against Streamable HTTP.

The suite connects to a running server as an MCP client and checks its answers, scenario by scenario.
Every scenario runs (``--suite all``, pending ones included); those that need the suite's own test server
or a capability mix-mcp does not declare are listed, each with its reason, in expected-failures.txt beside
this file. A failure of any other scenario fails the test, and so does an entry that no longer fails.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support import clean_env, running_server, stop_per_user_emulators
from tests.system_parts import NODE_TOOLS, require_node22, require_node_package

HERE = Path(__file__).resolve().parent
EXPECTED_FAILURES = HERE / "expected-failures.txt"
#: Scenarios that must pass with real checks in every mode: the core of the protocol.
CORE = ("server-initialize", "ping", "tools-list", "resources-list", "completion-complete", "dns-rebinding-protection")
#: The suite names each scenario's folder server-<scenario>-<timestamp>, e.g. server-ping-2026-12-01T10-25-34-016Z.
_RESULT_FOLDER = re.compile(r"^server-(.+)-\d{4}-\d{2}-\d{2}T[\d-]+Z$")
MODES = {"stateful": (), "stateless": ("--stateless",)}


def expected_failures(path: Path = EXPECTED_FAILURES) -> dict[str, str]:
    """Scenario name -> reason, from ``path`` (``name reason...`` lines; ``#`` starts a comment)."""
    entries: dict[str, str] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, _, reason = line.partition(" ")
        if not reason.strip():
            raise AssertionError(f"{path.name}:{number}: {name!r} needs a reason after its name")
        if name in entries:
            raise AssertionError(f"{path.name}:{number}: {name!r} is listed twice")
        entries[name] = reason.strip()
    return entries


@dataclass
class Scenario:
    """One scenario's checks: how many per status (SUCCESS, FAILURE, WARNING, INFO), and what failed."""

    counts: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def get(self, status: str, default: int = 0) -> int:
        return self.counts.get(status, default)


def scenario_results(output_dir: Path) -> dict[str, Scenario]:
    """The suite's results, read from the checks.json it writes per scenario."""
    results: dict[str, Scenario] = {}
    for checks_file in sorted(output_dir.glob("server-*/checks.json")):
        match = _RESULT_FOLDER.match(checks_file.parent.name)
        scenario = results.setdefault(match.group(1) if match else checks_file.parent.name, Scenario())
        for check in json.loads(checks_file.read_text(encoding="utf-8")):
            status = str(check.get("status"))
            scenario.counts[status] = scenario.get(status) + 1
            if status == "FAILURE":
                scenario.failures.append(f"{check.get('id')}: {check.get('errorMessage') or check.get('description')}")
    return results


def run_suite(url: str, output_dir: Path) -> subprocess.CompletedProcess[str]:
    """``conformance server --suite all`` against ``url``, with Node 22 first on PATH."""
    node = require_node22()
    conformance = NODE_TOOLS / "node_modules" / ".bin" / "conformance"
    env = clean_env(PATH=f"{node.parent}{os.pathsep}{os.environ.get('PATH', '')}")
    return subprocess.run(
        [str(conformance), "server", "--suite", "all", "--url", url, "--output-dir", str(output_dir)],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env=env,
        timeout=240,
        check=False,
    )


def test_expected_failures_file_gives_a_reason_for_each_entry() -> None:
    entries = expected_failures()
    assert "logging-set-level" in entries
    assert all(len(reason) > 20 for reason in entries.values())


def test_expected_failures_rejects_an_entry_without_reason(tmp_path: Path) -> None:
    bad = tmp_path / "expected.txt"
    bad.write_text("# comment\nprompts-list\n", encoding="utf-8")
    with pytest.raises(AssertionError, match="needs a reason"):
        expected_failures(bad)


@pytest.fixture(scope="module")
def suite_outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Scenario]]:
    """The suite's per-scenario counts, once per mode, each against its own server and emulator."""
    require_node_package("@modelcontextprotocol/conformance")
    outcomes: dict[str, dict[str, Scenario]] = {}
    # A module fixture runs before the per-test home (conftest.mix_mcp_home): give --emulator its own, then stop it.
    home = tmp_path_factory.mktemp("conformance-home")
    for mode, flags in MODES.items():
        output_dir = tmp_path_factory.mktemp(f"conformance-{mode}")
        try:
            with running_server("--transport", "http", "--emulator", *flags, XDG_DATA_HOME=str(home)) as server:
                completed = run_suite(server.url, output_dir)
        finally:
            stop_per_user_emulators(home)
        results = scenario_results(output_dir)
        assert results, f"the suite wrote no results ({mode}):\n{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}"
        outcomes[mode] = results
    return outcomes


@pytest.mark.parametrize("mode", list(MODES))
def test_every_applicable_scenario_passes(mode: str, suite_outcomes: dict[str, dict[str, Scenario]]) -> None:
    results = suite_outcomes[mode]
    expected = expected_failures()
    unexpected = {name: r.failures for name, r in results.items() if r.get("FAILURE") and name not in expected}
    assert not unexpected, f"conformance scenarios failed ({mode}): {json.dumps(unexpected, indent=1)}"
    for name in CORE:
        assert results.get(name, Scenario()).get("SUCCESS") >= 1, f"{name} made no passing check ({mode}): {results}"


def test_every_expected_failure_still_fails_somewhere(suite_outcomes: dict[str, dict[str, Scenario]]) -> None:
    expected = expected_failures()
    ran = set().union(*(results.keys() for results in suite_outcomes.values()))
    unknown = sorted(set(expected) - ran)
    assert not unknown, f"expected-failures.txt names scenarios the suite does not have: {unknown}"
    stale = sorted(
        name
        for name in expected
        if not any(results.get(name, Scenario()).get("FAILURE") for results in suite_outcomes.values())
    )
    assert not stale, f"these scenarios pass now: remove them from expected-failures.txt: {stale}"
