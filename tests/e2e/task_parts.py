"""What the task tests need besides mix-mcp: a Redis server, and fastmcp-tasks' client in a venv of its own.

Redis is Debian's ``redis-server`` on an ephemeral loopback port, with nothing written to disk.
fastmcp-tasks pins its own fastmcp and pulls a task queue the project does not need, so its client
lives in ``.venv-tasks`` beside the project's venv (made on first use with pip) and is driven as a
subprocess: ``fastmcp_tasks_driver.py`` prints one JSON line per thing it saw.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.support import ROOT, clean_env, free_port, stop
from tests.system_parts import FULL_TESTS, require_redis_server

FASTMCP_VENV = ROOT / ".venv-tasks"
FASTMCP_PINS = ("fastmcp==4.1.4", "fastmcp-tasks==4.1.4")
DRIVER = Path(__file__).with_name("fastmcp_tasks_driver.py")


@contextmanager
def running_redis() -> Iterator[str]:
    """A throwaway Redis on loopback; yields its redis:// URL, stops it after."""
    binary = require_redis_server()
    port = free_port()
    command = [str(binary), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        import redis  # the project's test extra

        client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1)
        for _ in range(100):
            try:
                if client.ping():
                    break
            except redis.exceptions.ConnectionError:
                time.sleep(0.05)
        else:
            raise RuntimeError("redis-server did not start")
        client.close()
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop(process)


def fastmcp_python() -> Path:
    """The interpreter of the venv that holds fastmcp-tasks' client; made with pip on first use."""
    python = FASTMCP_VENV / "bin" / "python"
    check = [str(python), "-c", "import fastmcp_tasks"]
    if python.exists() and subprocess.run(check, capture_output=True, check=False).returncode == 0:
        return python
    try:
        subprocess.run([sys.executable, "-m", "venv", str(FASTMCP_VENV)], check=True, capture_output=True)
        install = [str(python), "-m", "pip", "install", "-q", *FASTMCP_PINS]
        subprocess.run(install, check=True, capture_output=True, timeout=900)
    except (subprocess.SubprocessError, OSError) as exc:
        reason = f"fastmcp-tasks could not be installed into {FASTMCP_VENV} ({exc})"
        if FULL_TESTS:
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    return python


def drive_with_fastmcp(*args: str, timeout: float = 120) -> list[dict[str, Any]]:
    """Run the driver under fastmcp-tasks' venv; its JSON lines, or the failure with everything it wrote."""
    python = fastmcp_python()
    done = subprocess.run(
        [str(python), str(DRIVER), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=clean_env(),
        check=False,
    )
    assert done.returncode == 0, f"driver failed ({done.returncode}):\n{done.stdout}\n{done.stderr[-4000:]}"
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
