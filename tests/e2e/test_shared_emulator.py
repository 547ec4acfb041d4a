"""`--emulator` is one Mix per user: state and runs outlive the process that made them.

Every test runs real `mix-mcp` processes one after the other (or at once) against the per-user emulator
the first one starts, in this test's own data location (the autouse ``mix_mcp_home`` fixture, which also
kills that emulator by its recorded pid afterwards).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import pytest

from mix_mcp.emulator import daemon
from tests.support import clean_env, run_cli, stdio_client_for, text_of

RUN_TEXT = "text=run: ls -la"


def record(home: Path, version: str = "2025-10") -> dict[str, Any]:
    data: dict[str, Any] = json.loads((home / "emulator" / version / "instance.json").read_text())
    return data


def call(*args: str, timeout: float = 60) -> dict[str, Any]:
    done = run_cli("call", *args, "--emulator", timeout=timeout)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_a_session_created_by_one_process_is_seen_by_the_next(mix_mcp_home: Path) -> None:
    created = call("create_session", "title=Kept between processes")
    first = record(mix_mcp_home)
    got = call("get_session", f"session_id={created['id']}")
    assert got["title"] == "Kept between processes"
    assert record(mix_mcp_home)["pid"] == first["pid"]  # the same emulator served both
    assert (mix_mcp_home / "emulator" / "2025-10" / "mix.db").is_file()
    assert oct((mix_mcp_home / "emulator" / "2025-10" / "instance.json").stat().st_mode & 0o777) == "0o600"


@pytest.mark.slow
def test_a_permission_asked_in_one_call_is_answered_in_another_and_the_run_followed(mix_mcp_home: Path) -> None:
    session = call("create_session", "title=Run across processes")["id"]
    sent = run_cli("call", "send_message", f"session_id={session}", RUN_TEXT, "max_wait_seconds=5", "--emulator")
    assert sent.returncode == 0, sent.stderr
    pending = json.loads(sent.stdout)  # stdout holds the result alone
    assert pending["status"] == "permission_pending"
    assert "mix-mcp: send_message: waiting for permission to use Bash" in sent.stderr.splitlines()
    permission = pending["permissions"][0]["id"]
    answered = call("answer_permission", f"permission_id={permission}", "grant=true")
    assert answered["granted"] is True
    follow = pending["next_arguments"]
    assert follow["tool"] == "follow_run"
    done = call("follow_run", *(f"{key}={value}" for key, value in follow["arguments"].items()))
    assert done["status"] == "completed"
    assert done["text"].strip() == "I ran `ls -la` and it printed (pretend output of ls -la)."


@pytest.mark.slow
def test_two_processes_starting_at_once_share_one_emulator(mix_mcp_home: Path) -> None:
    command = [sys.executable, "-m", "mix_mcp", "call", "list_sessions", "--emulator"]
    processes = [
        subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            env=clean_env(),
            text=True,
        )
        for _ in range(3)
    ]
    outputs = [process.communicate(timeout=90) for process in processes]
    assert [process.returncode for process in processes] == [0, 0, 0], outputs
    log = (mix_mcp_home / "emulator" / "2025-10" / "emulator.log").read_text()
    assert log.count("Mix emulator listening on ") == 1, log
    assert record(mix_mcp_home)["url"] in log


@pytest.mark.slow
def test_a_stale_record_is_replaced_by_a_fresh_emulator_on_the_same_data(mix_mcp_home: Path) -> None:
    created = call("create_session", "title=Survives a crash")
    crashed = record(mix_mcp_home)
    os.kill(crashed["pid"], 9)  # the emulator dies without a word; its record stays behind
    time.sleep(0.2)
    got = call("get_session", f"session_id={created['id']}")
    assert got["title"] == "Survives a crash"
    assert record(mix_mcp_home)["pid"] != crashed["pid"]


def test_a_record_naming_another_program_is_not_trusted(mix_mcp_home: Path) -> None:
    place = daemon.place_for(mix_mcp_home, "2025-10")
    impostor = daemon.Instance(os.getpid(), "http://127.0.0.1:9", "not-the-token", "0.0.0", "2025-10", 0.0)
    daemon.write_record(place.record, impostor)
    call("list_sessions")
    assert record(mix_mcp_home)["pid"] != os.getpid()  # and this test process was left alone


@pytest.mark.slow
def test_reset_starts_afresh_at_the_same_address_and_status_says_where_the_data_lives(mix_mcp_home: Path) -> None:
    created = call("create_session", "title=Gone after reset")
    before = record(mix_mcp_home)
    status = run_cli("emulator", "status")
    assert "Mix 2025-10 emulator: running at http://127.0.0.1:" in status.stdout
    assert str(mix_mcp_home / "emulator" / "2025-10") in status.stdout
    reset = run_cli("emulator", "reset")
    assert reset.returncode == 0, reset.stderr
    assert f"its sessions deleted, started afresh at {before['url']}" in reset.stdout
    after = record(mix_mcp_home)
    assert after["pid"] != before["pid"]
    assert after["url"] == before["url"]  # the same port: a long-running `serve --emulator` goes on with it
    missing = run_cli("call", "get_session", f"session_id={created['id']}", "--emulator")
    assert missing.returncode == 1 and "not found" in missing.stderr
    assert "Mix 2025-10 emulator: stopped" in run_cli("emulator", "stop").stdout
    assert "not running" in run_cli("emulator", "status").stdout


@pytest.mark.slow
def test_following_a_run_the_emulator_no_longer_has_says_so_at_once(mix_mcp_home: Path) -> None:
    session = call("create_session", "title=Run lost in a restart")["id"]
    pending = call("send_message", f"session_id={session}", RUN_TEXT, "max_wait_seconds=5")
    assert pending["status"] == "permission_pending"
    stopped = run_cli("emulator", "stop")
    assert "stopped (pid" in stopped.stdout
    started = time.monotonic()
    follow = pending["next_arguments"]
    lost = call("follow_run", f"session_id={session}", f"after_event_id={follow['arguments']['after_event_id']}")
    assert time.monotonic() - started < 30  # not the call's 60 s deadline of silence
    assert lost["status"] == "failed" and lost["finished"] is True
    assert lost["errors"][0]["type"] == "no_run"
    assert "Mix restarted since" in lost["errors"][0]["error"]


def test_private_mode_keeps_nothing_and_starts_no_process(mix_mcp_home: Path) -> None:
    created = run_cli("call", "create_session", "title=Private", "--emulator", "--emulator-mode", "private")
    assert created.returncode == 0, created.stderr
    assert not (mix_mcp_home / "emulator").exists()


def test_the_data_location_is_chosen_by_flag_then_variable_then_xdg() -> None:
    assert daemon.data_home("/a/b", {"MIX_MCP_HOME": "/c"}) == Path("/a/b")
    assert daemon.data_home(None, {"MIX_MCP_HOME": "/c", "XDG_DATA_HOME": "/x"}) == Path("/c")
    assert daemon.data_home(None, {"XDG_DATA_HOME": "/x"}) == Path("/x/mix-mcp")
    assert daemon.data_home(None, {"XDG_DATA_HOME": "relative"}) == Path.home() / ".local/share/mix-mcp"
    assert daemon.place_for("/h", "2026-02").db == Path("/h/emulator/2026-02/mix.db")


@pytest.mark.slow
@pytest.mark.anyio
async def test_a_stdio_server_per_tool_call_sees_one_mix_and_a_long_lived_one_survives_a_reset(
    mix_mcp_home: Path,
) -> None:
    """What LangChain's get_tools() and llama-index do: a fresh `serve --emulator` for each tool call."""
    async with stdio_client_for("--emulator", mode="auto") as long_lived:
        created = await long_lived.call_tool("create_session", {"title": "Seen by the next server"})
        assert not created.is_error, text_of(created)
        session_id = (created.structured_content or {})["id"]
        async with stdio_client_for("--emulator", mode="auto") as another:
            got = await another.call_tool("get_session", {"session_id": session_id})
        assert not got.is_error, text_of(got)
        assert (got.structured_content or {})["title"] == "Seen by the next server"
        reset = await anyio.to_thread.run_sync(lambda: run_cli("emulator", "reset"))
        assert "started afresh" in reset.stdout, reset.stderr
        listed = await long_lived.call_tool("list_sessions", {})  # the same server, the fresh emulator
        assert not listed.is_error, text_of(listed)
        assert session_id not in json.dumps(listed.structured_content)
        await anyio.to_thread.run_sync(lambda: run_cli("emulator", "stop"))
        gone = await long_lived.call_tool("list_sessions", {})
        assert gone.is_error and "`mix-mcp emulator start` starts it again at the same address" in text_of(gone)
        await anyio.to_thread.run_sync(lambda: run_cli("emulator", "start"))
        back = await long_lived.call_tool("list_sessions", {})
    assert not back.is_error, text_of(back)


def test_an_api_key_for_standalone_emulators_does_not_lock_out_the_shared_one(mix_mcp_home: Path) -> None:
    done = run_cli("call", "list_sessions", "--emulator", env=clean_env(MIX_EMULATOR_API_KEY="sk-standalone-only"))
    assert done.returncode == 0, done.stderr
