"""The distribution files agree with the package: server.json (MCP Registry), manifest.json (MCP Bundle), pyproject.

The version lives in ``mix_mcp/_version.py`` alone; everything that must repeat it (the two JSON
files, which registries read as they are) is held equal to it here.
"""

from __future__ import annotations

import json
import re
import tomllib
from typing import Any

from mix_mcp._version import __version__
from mix_mcp.cli.command import build_parser
from mix_mcp.config import DEFAULT_BASE_URL, SETTINGS, settings_from_env
from mix_mcp.tools.operations import OPERATIONS
from tests.support import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PROJECT = PYPROJECT["project"]
SERVER = json.loads((ROOT / "server.json").read_text(encoding="utf-8"))
MANIFEST = json.loads((ROOT / "manifest.json").read_text(encoding="utf-8"))
SETTINGS_BY_ENV = {s.env: s for s in SETTINGS}


def _package() -> dict[str, Any]:
    [package] = SERVER["packages"]
    assert isinstance(package, dict)
    return package


def test_version_is_defined_once_and_read_by_the_build() -> None:
    assert "version" not in PROJECT and "version" in PROJECT["dynamic"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "mix_mcp._version.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+([ab]|rc)?\d*", __version__)


def test_pyproject_metadata_is_complete() -> None:
    assert PROJECT["license"] == "MIT" and PROJECT["license-files"] == ["LICENSE"]
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")
    assert PROJECT["readme"] == "README.md"
    assert {"Homepage", "Repository", "Issues", "Documentation"} <= PROJECT["urls"].keys()
    assert any(c.startswith("Programming Language :: Python :: 3.11") for c in PROJECT["classifiers"])
    assert PROJECT["scripts"] == {"mix-mcp": "mix_mcp.cli:main"}
    assert any(d.startswith("opentelemetry-api") for d in PROJECT["dependencies"])
    assert {d.split(">=")[0] for d in PROJECT["optional-dependencies"]["otel"]} == {
        "opentelemetry-sdk",
        "opentelemetry-exporter-otlp-proto-http",
    }


def test_server_json_matches_the_package() -> None:
    assert SERVER["$schema"].startswith("https://static.modelcontextprotocol.io/schemas/")
    assert re.fullmatch(r"io\.github\.[A-Za-z0-9-]+/mix-mcp", SERVER["name"])
    assert 0 < len(SERVER["description"]) <= 100  # the registry's limit
    assert SERVER["version"] == __version__
    assert SERVER["repository"] == {"url": PROJECT["urls"]["Repository"], "source": "github"}
    package = _package()
    assert (package["registryType"], package["identifier"]) == ("pypi", PROJECT["name"])
    assert package["version"] == __version__
    assert package["runtimeHint"] == "uvx"
    assert package["transport"] == {"type": "stdio"}


def test_server_json_launches_serve_with_the_documented_environment() -> None:
    package = _package()
    [argument] = package["packageArguments"]
    assert (argument["type"], argument["value"]) == ("positional", "serve")
    assert build_parser().parse_args(["serve"]).command == "serve"
    variables = {v["name"]: v for v in package["environmentVariables"]}
    assert set(variables) <= SETTINGS_BY_ENV.keys()
    assert {"MIX_BASE_URL", "MIX_API_KEY"} <= variables.keys()
    for name, variable in variables.items():
        assert variable["description"]
        assert variable.get("isSecret", False) is SETTINGS_BY_ENV[name].secret, name
    assert variables["MIX_BASE_URL"]["default"] == DEFAULT_BASE_URL


def test_readme_carries_the_registry_ownership_marker() -> None:
    # The registry proves a PyPI package is ours by finding this line in its description (the README).
    assert f"mcp-name: {SERVER['name']}" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_manifest_matches_the_package() -> None:
    assert MANIFEST["manifest_version"] == "0.4"
    assert (MANIFEST["name"], MANIFEST["version"], MANIFEST["license"]) == (PROJECT["name"], __version__, "MIT")
    assert MANIFEST["description"] == SERVER["description"]
    assert MANIFEST["repository"]["url"] == PROJECT["urls"]["Repository"]
    assert MANIFEST["compatibility"]["runtimes"]["python"] == PROJECT["requires-python"]
    assert MANIFEST["display_name"] == SERVER["title"]
    # The manifest lists the tools for marketplaces; it must follow the operation table.
    assert MANIFEST["tools"] == [
        {"name": op.name, "description": op.description.split(". ")[0].rstrip(".") + "."} for op in OPERATIONS
    ]


def test_manifest_runs_the_bundle_with_uv_and_passes_user_config_as_environment() -> None:
    server = MANIFEST["server"]
    assert server["type"] == "uv"
    assert (ROOT / server["entry_point"]).is_file()
    config = server["mcp_config"]
    assert config["command"] == "uv"
    assert config["args"] == ["run", "--directory", "${__dirname}", "mix-mcp", "serve"]
    user_config = MANIFEST["user_config"]
    assert config["env"] == {"MIX_BASE_URL": "${user_config.base_url}", "MIX_API_KEY": "${user_config.api_key}"}
    assert user_config["base_url"]["default"] == DEFAULT_BASE_URL
    assert user_config["base_url"].get("sensitive", False) is False
    assert user_config["api_key"]["sensitive"] is True
    assert user_config["api_key"]["required"] is False
    assert settings_from_env({"MIX_API_KEY": "", "MIX_BASE_URL": DEFAULT_BASE_URL}) == {"base_url": DEFAULT_BASE_URL}


def test_install_commands_name_the_current_wheel() -> None:
    docs = "".join((ROOT / name).read_text(encoding="utf-8") for name in ("README.md", "docs/deployment.md"))
    wheels = set(re.findall(r"mix_mcp-[^\s/]+-py3-none-any\.whl", docs))
    assert wheels == {f"mix_mcp-{__version__}-py3-none-any.whl"}
