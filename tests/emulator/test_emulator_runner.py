"""Starting and stopping the emulator: subprocess, coroutine and thread; auth; persistence; large data."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from mix_mcp.emulator import (
    DEMO_SESSION_ID,
    LARGE_SESSION_ID,
    SEED_SESSION_IDS,
    BackgroundEmulator,
    main,
    serve_emulator,
)
from mix_mcp.emulator.runner import API_KEY_ENV, READY_PREFIX
from tests.support import READY_LINE, run_cli, running_process

from ._support import assert_error, export_body, session_body

API_KEY = "test-key-5d1f0c"
UNAUTHORIZED = "Unauthorized - authentication required"


def _read_ready_line(process: subprocess.Popen[str], timeout: float = 15.0) -> str:
    """The stderr ready line, without hanging the suite if the emulator never prints it."""
    assert process.stderr is not None
    result: list[str] = []

    def read() -> None:
        assert process.stderr is not None
        result.append(process.stderr.readline())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout)
    assert result, "the emulator printed no ready line in time"
    line = result[0]
    assert line.startswith(READY_PREFIX), line
    return line.removeprefix(READY_PREFIX).strip()


def test_subprocess_on_port_zero_with_api_key_from_env() -> None:
    env = {**os.environ, API_KEY_ENV: API_KEY}
    process = subprocess.Popen(
        [sys.executable, "-m", "mix_mcp.emulator", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        url = _read_ready_line(process)
        assert url.startswith("http://127.0.0.1:")
        assert int(url.rsplit(":", 1)[1]) > 0
        with httpx2.Client(base_url=url, timeout=10.0) as http:
            assert_error(http.get("/api/sessions"), 401, "unauthorized", UNAUTHORIZED)
            authorized = http.get("/api/sessions", headers={"Authorization": f"Bearer {API_KEY}"})
            assert authorized.status_code == 200
            assert DEMO_SESSION_ID in [s["id"] for s in authorized.json()]
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
        stdout, stderr = process.communicate(timeout=5)
        assert stdout == ""  # stdout may be an MCP stdio channel: the emulator never writes to it
        assert "Traceback" not in stderr
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=5)


def test_serve_emulator_announces_once_and_stops_on_cancel(capsys: pytest.CaptureFixture[str]) -> None:
    urls: list[str] = []

    async def scenario() -> None:
        ready = asyncio.Event()

        def on_ready(url: str) -> None:
            urls.append(url)
            ready.set()

        task = asyncio.create_task(serve_emulator(port=0, seed=False, ready=on_ready))
        await asyncio.wait_for(ready.wait(), timeout=10)
        async with httpx2.AsyncClient(base_url=urls[0], timeout=10.0) as http:
            response = await http.get("/api/sessions")
            assert response.status_code == 200
            assert response.json() == []  # seed=False
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=10)

    asyncio.run(scenario())
    assert len(urls) == 1
    assert capsys.readouterr().err == f"{READY_PREFIX}{urls[0]}\n"
    port = int(urls[0].rsplit(":", 1)[1])
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass


@pytest.fixture(scope="module")
def secured() -> Iterator[BackgroundEmulator]:
    with BackgroundEmulator(api_key=API_KEY) as emulator:
        yield emulator


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-key", f"Basic {API_KEY}", f"Bearer {API_KEY}x", "Bearer", f"{API_KEY}"],
    ids=["missing", "wrong", "basic-scheme", "longer", "no-token", "no-scheme"],
)
def test_api_key_refusals(secured: BackgroundEmulator, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    with httpx2.Client(base_url=secured.url) as http:
        response = http.get(f"/api/sessions/{DEMO_SESSION_ID}", headers=headers)
        assert_error(response, 401, "unauthorized", UNAUTHORIZED)
        assert "wrong-key" not in response.text
        assert response.headers["www-authenticate"] == "Bearer"
        # Refused before routing: an unknown /api route or a bad body is still a 401.
        assert_error(http.post("/api/sessions", content=b"{", headers=headers), 401, "unauthorized")
        assert_error(http.get("/api/unknown", headers=headers), 401, "unauthorized")


@pytest.mark.parametrize("scheme", ["Bearer", "bearer"])
def test_api_key_accepted(secured: BackgroundEmulator, scheme: str) -> None:
    with httpx2.Client(base_url=secured.url, headers={"Authorization": f"{scheme} {API_KEY}"}) as http:
        assert session_body(http.get(f"/api/sessions/{DEMO_SESSION_ID}"))["id"] == DEMO_SESSION_ID
        assert session_body(http.post("/api/sessions", json={"title": "ok"}), 201)["title"] == "ok"


def test_non_api_paths_do_not_need_the_key(secured: BackgroundEmulator) -> None:
    with httpx2.Client(base_url=secured.url) as http:
        assert_error(http.get("/health-of-nothing"), 404, "not_found")
        health = http.get("/health")
    assert health.status_code == 200
    assert health.json()["status"] == "healthy" and health.json()["timestamp"].endswith("Z")


def test_db_file_persists_across_restarts(tmp_path: Path) -> None:
    db = str(tmp_path / "mix.db")
    with BackgroundEmulator(db=db) as first, httpx2.Client(base_url=first.url) as http:
        created = session_body(http.post("/api/sessions", json={"title": "Survives restarts"}), 201)
        fork = session_body(http.post(f"/api/sessions/{DEMO_SESSION_ID}/fork", json={"messageIndex": 4}), 201)
        http.delete(f"/api/sessions/{SEED_SESSION_IDS[-1]}").raise_for_status()
        before = sorted(s["id"] for s in http.get("/api/sessions", params={"includeSubagents": "true"}).json())
        fork_export = export_body(http.get(f"/api/sessions/{fork['id']}/export"))
    with BackgroundEmulator(db=db) as second, httpx2.Client(base_url=second.url) as http:
        after = sorted(s["id"] for s in http.get("/api/sessions", params={"includeSubagents": "true"}).json())
        # Same sessions: nothing lost, the deleted seed not re-seeded, no seed duplicated.
        assert after == before
        assert SEED_SESSION_IDS[-1] not in after
        assert session_body(http.get(f"/api/sessions/{created['id']}"))["title"] == "Survives restarts"
        assert export_body(http.get(f"/api/sessions/{fork['id']}/export")) == fork_export


def test_large_session() -> None:
    with (
        BackgroundEmulator(seed=False, large_session_messages=2_000) as emulator,
        httpx2.Client(base_url=emulator.url, timeout=30.0) as http,
    ):
        session = session_body(http.get(f"/api/sessions/{LARGE_SESSION_ID}"))
        assert session["userMessageCount"] == 1_000
        assert session["assistantMessageCount"] == 1_000
        assert session["toolCallCount"] == 1_000
        assert [s["id"] for s in http.get("/api/sessions").json()] == [LARGE_SESSION_ID]
        response = http.get(f"/api/sessions/{LARGE_SESSION_ID}/export")
        assert len(response.content) > 20_000_000
        export = export_body(response)
        assert len(export["messages"]) == 2_000
        assert export["messages"][1999]["content"].startswith("[1999] ")
        assert len(export["messages"][0]["content"]) == 10_000


def test_accepted_connections_have_tcp_nodelay(client: httpx2.Client, emulator: BackgroundEmulator) -> None:
    """Without TCP_NODELAY a keep-alive request can stall ~40 ms on Nagle + delayed ACK."""
    assert client.get(f"/api/sessions/{DEMO_SESSION_ID}").status_code == 200
    sockets = [c.transport.get_extra_info("socket") for c in list(emulator.server.server_state.connections)]
    open_sockets = [sock for sock in sockets if sock is not None]
    assert open_sockets, "the keep-alive connection should still be open"
    for sock in open_sockets:
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def test_background_emulator_url_needs_a_running_emulator() -> None:
    emulator = BackgroundEmulator(seed=False)
    with pytest.raises(RuntimeError, match="not running"):
        _ = emulator.url
    with emulator:
        assert emulator.url.startswith("http://127.0.0.1:")
    with pytest.raises(RuntimeError, match="not running"):
        _ = emulator.url


def test_main_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert "mix-mcp emulator" in out
    assert "--no-seed" in out
    assert "example" in out


def test_main_reports_a_busy_port(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["--port", str(port), "--no-seed"]) == 1
    assert f"127.0.0.1:{port}" in caplog.text


def test_main_reports_an_unusable_db(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    assert main(["--port", "0", "--db", str(tmp_path / "missing-dir" / "mix.db")]) == 1
    assert "cannot start the Mix emulator" in caplog.text


def test_mix_mcp_emulator_takes_the_mix_version() -> None:
    def ready(lines: list[str]) -> str | None:
        match = READY_LINE.search(lines[-1])
        return match.group(1) if match else None

    command = [sys.executable, "-m", "mix_mcp", "emulator", "--port", "0", "--mix-version", "2026-02"]
    with running_process(command, ready) as (_process, url, _lines):
        assert "plays Mix 2026-02" in httpx2.get(url + "/health").json()["version"]
        assert httpx2.post(url + "/api/sessions/x/fork", json={"messageIndex": 0}).text == "404 page not found\n"
    refused = run_cli("emulator", "--mix-version", "1999-01")
    assert refused.returncode == 2 and "2026-02" in refused.stderr
