"""`mix-mcp doctor` as a user runs it: a separate process, against real HTTP servers on loopback.

Healthy: the emulator, and a scripted newer Mix. Broken: a dead port, a Mix that wants a key, a
base URL with the wrong path, a web page, and a JSON service that is not Mix. Each broken case
must exit non-zero with the advice that fixes it.
"""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest

from mix_mcp.emulator import SEED_MAIN_SESSION_IDS
from mix_mcp.mix import endpoints
from tests.support import Answer, ScriptedUpstream, clean_env, free_port, run_cli, running_emulator
from tests.unit.fakes import NEWER_SESSION, SESSION

#: Operations Mix added in Feb 2026 (agent questions, session files): the seed contract's Mix lacks them.
NEWER_THAN_SEED = {endpoints.RESPOND_TO_NOTIFICATION.operation_id, *(e.operation_id for e in endpoints.FILE_ENDPOINTS)}

KEY = "sk-doctor-test-4711"


def doctor(*args: str, **env: str) -> tuple[int, str]:
    done = run_cli("doctor", *args, env=clean_env(**env))
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, done.stdout


def doctor_json(*args: str, **env: str) -> tuple[int, dict[str, Any]]:
    code, out = doctor(*args, "--json", **env)
    report: dict[str, Any] = json.loads(out)
    return code, report


def failed(report: dict[str, Any]) -> dict[str, Any]:
    failures: list[dict[str, Any]] = [c for c in report["checks"] if c["status"] == "fail"]
    assert len(failures) == 1, report
    return failures[0]


def test_emulator_passes_every_check(emulator_url: str) -> None:
    code, out = doctor("--base-url", emulator_url)
    assert code == 0, out
    assert "All checks passed." in out
    assert f"GET {emulator_url}/api/sessions answered HTTP 200 in" in out
    assert "[FAIL]" not in out

    code, report = doctor_json("--base-url", emulator_url)
    assert code == 0
    assert report["ok"] is True
    assert report["session_count"] >= len(SEED_MAIN_SESSION_IDS)
    assert isinstance(report["latency_ms"], float) and report["latency_ms"] > 0
    assert report["extra_fields"] == []
    assert [c["name"] for c in report["checks"]] == [
        "configuration",
        "reach Mix",
        "sessions API",
        "operations",
        "Mix revision",
    ]
    # The seed contract's Mix has neither agent questions nor session files (they came in Feb 2026).
    assert {op for op, offered in report["operations"].items() if not offered} == NEWER_THAN_SEED
    assert "plays Mix 2025-10" in report["mix_version"]


@pytest.mark.parametrize(
    ("version", "missing"),
    [
        ("2026-02", {"forkSession"}),
        ("2025-09", {"updateSessionCallbacks", "rewindSession", *NEWER_THAN_SEED}),
    ],
)
def test_doctor_lists_the_operations_this_mix_offers_without_changing_anything(version: str, missing: set[str]) -> None:
    with running_emulator("--mix-version", version) as url:
        before = httpx2.get(url + "/api/sessions", params={"includeSubagents": "true"}).json()
        code, report = doctor_json("--base-url", url)
        after = httpx2.get(url + "/api/sessions", params={"includeSubagents": "true"}).json()
    assert code == 0, report
    assert {op for op, offered in report["operations"].items() if not offered} == missing
    assert f"plays Mix {version}" in report["mix_version"]
    check = next(c for c in report["checks"] if c["name"] == "operations")
    assert "does not offer" in check["detail"] and "/health reports version" in check["detail"]
    assert before == after, "the probes must not create, change or delete anything"


def test_a_newer_mix_revision_is_reported_and_still_passes() -> None:
    with ScriptedUpstream(Answer.json(200, [SESSION, NEWER_SESSION])) as upstream:
        code, report = doctor_json("--base-url", upstream.url)
    assert code == 0
    assert report["extra_fields"] == ["browserMode", "cdpUrl", "modelId", "provider"]
    revision = report["checks"][-1]
    assert revision["name"] == "Mix revision" and "newer Mix revision" in revision["detail"]


def test_dead_port_fails_with_advice_to_start_mix_or_fix_the_url() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    code, out = doctor("--base-url", url)
    assert code == 1
    assert f"[FAIL] reach Mix: unreachable: {url}/api/sessions (connection refused)" in out
    assert "MIX_BASE_URL" in out and "mix-mcp doctor --emulator" in out


def test_unknown_host_fails_with_advice_to_check_the_name() -> None:
    code, report = doctor_json("--base-url", "http://mix.invalid:8088")
    assert code == 1
    check = failed(report)
    assert "host name could not be resolved" in check["detail"]
    assert "does not resolve" in check["advice"]
    assert report["checks"][0]["status"] == "ok"


def test_a_key_sent_over_plain_http_to_another_host_is_warned_about() -> None:
    _code, report = doctor_json("--base-url", "http://mix.invalid:8088", MIX_API_KEY=KEY)
    configuration = report["checks"][0]
    assert (configuration["name"], configuration["status"]) == ("configuration", "warn")
    assert "https://" in configuration["advice"]
    assert KEY not in json.dumps(report)


def test_mix_requiring_a_key_fails_until_the_right_key_is_set() -> None:
    with running_emulator("--api-key", KEY) as url:
        code, report = doctor_json("--base-url", url)
        assert code == 1
        check = failed(report)
        assert (check["name"], "HTTP 401" in check["detail"]) == ("authentication", True)
        assert "This Mix requires an API key: set --api-key / MIX_API_KEY" in check["advice"]

        code, out = doctor("--base-url", url, MIX_API_KEY="sk-wrong")
        assert code == 1
        assert "Mix rejected the API key" in out
        assert "sk-wrong" not in out

        code, out = doctor("--base-url", url, MIX_API_KEY=KEY)
        assert code == 0, out
        assert "API key set" in out
        assert KEY not in out


def test_base_url_with_the_api_path_fails_with_advice_to_drop_it(emulator_url: str) -> None:
    code, report = doctor_json("--base-url", emulator_url + "/api")
    assert code == 1
    check = failed(report)
    assert check["name"] == "URL path"
    assert f"HTTP 404 from GET {emulator_url}/api/api/sessions" in check["detail"]
    assert "Try it without the path '/api'" in check["advice"]


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            Answer(200, b"<!doctype html><html><body><h1>Welcome</h1></body></html>", {"Content-Type": "text/html"}),
            "answered an HTML page (HTTP 200), not Mix's JSON",
        ),
        (Answer.json(200, {"status": "ok", "service": "inventory"}), "does not fit the Mix sessions contract"),
        (Answer.json(200, [{"id": 7, "name": "widget"}]), "does not fit the Mix sessions contract"),
        (
            Answer(404, b"<html><body>Not Found</body></html>", {"Content-Type": "text/html"}),
            "HTTP 404 from GET",
        ),
    ],
    ids=["html-page", "json-object", "other-json-list", "plain-404"],
)
def test_a_server_that_is_not_mix_fails_with_advice(answer: Answer, expected: str) -> None:
    with ScriptedUpstream(answer) as upstream:
        code, report = doctor_json("--base-url", upstream.url)
        # A 404 not in Mix's format is checked once against the health check beside it.
        assert [s.path for s in upstream.seen] in (["/api/sessions"], ["/api/sessions", "/health"])
    assert code == 1
    check = failed(report)
    assert expected in check["detail"]
    assert "Mix" in check["advice"] and "MIX_BASE_URL" in check["advice"]


def test_bad_configuration_is_a_failed_check() -> None:
    code, out = doctor("--base-url", "ftp://mix")
    assert code == 1
    assert "[FAIL] configuration: --base-url / MIX_BASE_URL must be an http(s) URL" in out


@pytest.mark.slow
def test_doctor_on_the_emulator_tries_every_published_tool_on_a_scratch_session() -> None:
    from mix_mcp.cli.tool_tryout import SCRATCH_TITLE
    from mix_mcp.tools.operations import OPERATIONS

    code, report = doctor_json("--emulator")
    assert code == 0, report
    published = [op.name for op in OPERATIONS]
    # Counted from what is published, each one tried; the seed contract's Mix (the default emulator) has no
    # questions and no session files, which doctor reports as not offered rather than failed.
    newer = {"answer_notification", *(op.name for op in OPERATIONS if op.family == "files")}
    outcomes = {name: outcome.split(":")[0] for name, outcome in report["tools"].items()}
    assert outcomes == {name: "not offered" if name in newer else "ok" for name in published}
    check = next(c for c in report["checks"] if c["name"] == "tools")
    assert check["status"] == "ok"
    assert (
        f"{len(published)} tools published; {len(published)} tried on a scratch session, which was deleted"
        in (check["detail"])
    )
    assert "eight" not in json.dumps(report)
    listed = run_cli("call", "list_sessions", "--emulator")  # the same per-user emulator doctor used
    assert listed.returncode == 0 and SCRATCH_TITLE not in listed.stdout


@pytest.mark.slow
def test_https_to_a_plain_http_mix_says_so_and_names_the_http_url(emulator_url: str) -> None:
    address = emulator_url.removeprefix("http://")
    code, out = doctor("--base-url", f"https://{address}")
    assert code == 1
    assert f"Mix at https://{address} answers plain HTTP, not HTTPS: use http://{address}" in out
    assert f"GET http://{address}/health answered HTTP 200" in out
    assert "Start Mix at" not in out
    called = run_cli("call", "list_sessions", "--base-url", f"https://{address}", "--max-retries", "0")
    assert called.returncode == 1
    assert f"Mix at https://{address} answers plain HTTP, not HTTPS: use http://{address}" in called.stderr
