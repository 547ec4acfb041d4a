"""Packaging as users meet it: the wheel and sdist from `python -m build`, installed in a fresh venv; the MCP Bundle.

The fresh venv borrows the test environment's dependencies through a ``.pth`` line (installing
them from PyPI again would only test PyPI) and gets mix-mcp itself from the wheel alone, with
``PYTHONPATH`` cleared so that nothing of the source tree can stand in for it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from mix_mcp._version import __version__
from mix_mcp.tools.app import APP_URI
from mix_mcp.tools.operations import OPERATIONS
from tests.support import ROOT, clean_env

MCPB = "@anthropic-ai/mcpb@2"
NPX = shutil.which("npx")
needs_npx = pytest.mark.skipif(NPX is None, reason="npx (Node.js) is not installed; CI has it and runs these")


def run(
    *command: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run ``command`` to completion (bounded), and fail the test with its output if it fails."""
    done = subprocess.run(
        [str(c) for c in command],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        cwd=cwd,
        env=env,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, f"{command}: {done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    return done


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sdist and the wheel built from it, exactly as `python -m build` makes them."""
    out = tmp_path_factory.mktemp("dist")
    run(sys.executable, "-m", "build", "--outdir", out, ROOT, cwd=out)
    return out


@pytest.fixture(scope="module")
def venv(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("venv")
    run(sys.executable, "-m", "venv", root, env=clean_env())
    python = root / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    purelib = run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip()
    (Path(purelib) / "borrowed-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    [wheel] = dist.glob("*.whl")
    run(python, "-m", "pip", "install", "--no-deps", "--no-index", wheel, env=_without_source())
    return root


def _without_source() -> dict[str, str]:
    env = clean_env()
    env.pop("PYTHONPATH", None)
    return env


def _script(venv: Path) -> Path:
    return venv / ("Scripts/mix-mcp.exe" if sys.platform == "win32" else "bin/mix-mcp")


def test_build_makes_a_clean_sdist_and_a_complete_wheel(dist: Path) -> None:
    [sdist] = dist.glob("*.tar.gz")
    [wheel] = dist.glob("*.whl")
    assert sdist.name == f"mix_mcp-{__version__}.tar.gz"
    assert wheel.name == f"mix_mcp-{__version__}-py3-none-any.whl"

    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert {"LICENSE", "README.md", "pyproject.toml", "PKG-INFO", "mix_mcp/py.typed", "mix_mcp/cli/command.py"} <= names
    unwanted = ("__pycache__", ".pyc", ".db", ".venv", "tests/", ".git")
    assert not [n for n in names if any(part in n for part in unwanted)]

    with zipfile.ZipFile(wheel) as archive:
        members = set(archive.namelist())
        metadata = Parser().parsestr(archive.read(f"mix_mcp-{__version__}.dist-info/METADATA").decode())
        entry_points = archive.read(f"mix_mcp-{__version__}.dist-info/entry_points.txt").decode()
    licence = f"mix_mcp-{__version__}.dist-info/licenses/LICENSE"
    assert {"mix_mcp/py.typed", "mix_mcp/emulator/app.py", "mix_mcp/tools/schema_catalog.json", licence} <= members
    assert {"mix_mcp/tools/app/__init__.py", "mix_mcp/tools/app/sessions.html"} <= members  # the session view
    assert not [m for m in members if m.startswith("tests/")]
    assert "mix-mcp = mix_mcp.cli:main" in entry_points
    assert (metadata["Name"], metadata["Version"], metadata["License-Expression"]) == ("mix-mcp", __version__, "MIT")
    assert metadata["Description-Content-Type"] == "text/markdown"
    assert "## Install" in (metadata.get_payload() or "")
    urls = dict(value.split(", ", 1) for value in metadata.get_all("Project-URL") or [])
    assert {"Homepage", "Repository", "Issues", "Documentation"} <= urls.keys()
    assert "Typing :: Typed" in (metadata.get_all("Classifier") or [])
    assert "otel" in (metadata.get_all("Provides-Extra") or [])


def test_installed_wheel_reports_its_version(venv: Path) -> None:
    done = run(_script(venv), "--version", env=_without_source())
    assert done.stdout.strip() == f"mix-mcp {__version__}"
    python = _script(venv).with_name("python.exe" if sys.platform == "win32" else "python")
    where = run(python, "-c", "import mix_mcp; print(mix_mcp.__file__)", cwd=venv, env=_without_source()).stdout.strip()
    assert Path(where).is_relative_to(venv)  # the wheel's copy, not the source tree


@pytest.mark.anyio
async def test_installed_script_registers_itself_and_serves(venv: Path, emulator_url: str) -> None:
    done = run(_script(venv), "config", "claude-desktop", "--base-url", emulator_url, env=_without_source())
    entry = json.loads(done.stdout)["mcpServers"]["mix"]
    assert entry["command"] == str(_script(venv).resolve())  # the console script, not `python -m`
    assert entry["args"] == ["serve"]

    env = {**_without_source(), **entry["env"]}
    params = StdioServerParameters(command=entry["command"], args=entry["args"], env=env)
    async with Client(stdio_client(params), mode="legacy", read_timeout_seconds=60) as client:
        assert client.server_info is not None and client.server_info.version == __version__
        tools = await client.list_tools()
        view = await client.read_resource(APP_URI)  # the session view's page, read from the installed package
    assert [t.name for t in tools.tools] == [op.name for op in OPERATIONS]
    assert "mix-mcp-session-view" in getattr(view.contents[0], "text", "")


@needs_npx
def test_mcpb_validate_accepts_the_manifest() -> None:
    assert NPX is not None
    done = run(NPX, "-y", MCPB, "validate", "manifest.json", cwd=ROOT, timeout=180)
    assert "validation passes" in done.stdout


@needs_npx
def test_mcpb_pack_bundles_the_package_and_nothing_else(tmp_path: Path) -> None:
    assert NPX is not None
    bundle = tmp_path / "mix-mcp.mcpb"
    run(NPX, "-y", MCPB, "pack", ".", bundle, cwd=ROOT, timeout=180)
    with zipfile.ZipFile(bundle) as archive:
        names = set(archive.namelist())
        packed_manifest = json.loads(archive.read("manifest.json"))
    packed = {
        "manifest.json",
        "pyproject.toml",
        "README.md",
        "LICENSE",
        "mix_mcp/__main__.py",
        "mix_mcp/cli/command.py",
        "mix_mcp/tools/schema_catalog.json",
        "mix_mcp/tools/app/sessions.html",
    }
    assert packed <= names
    assert packed_manifest["version"] == __version__
    stray = [n for n in names if n.split("/")[0] in {"tests", ".venv", ".git", "examples", "dist", "build", "docs"}]
    assert stray == []
    assert not [n for n in names if ".egg-info/" in n or n == "server.json"]
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
