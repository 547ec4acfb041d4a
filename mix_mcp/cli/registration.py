"""``mix-mcp config CLIENT``: the registration snippet each MCP client expects, and merging it in.

A snippet launches exactly this installation (the running ``mix-mcp`` script, or this Python with
``-m mix_mcp``) with the settings in effect as environment variables. Secrets never leave the
process that holds them: each client gets the placeholder it knows how to fill (VS Code prompts
for an input, Claude Code expands ``${VAR}``), or a marker for the user to replace.

Writing merges the one server entry into the client's file and keeps everything else; the file
as it was is copied next to it first.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final, Literal

from mix_mcp.config import Setting, Settings, changed_settings, env_value

Client = Literal["claude-desktop", "claude-code", "cursor", "vscode"]
CLIENTS: Final[tuple[Client, ...]] = ("claude-desktop", "claude-code", "cursor", "vscode")
DEFAULT_NAME: Final = "mix"


class RegistrationError(Exception):
    """The client's config file cannot be merged safely; nothing was written."""


@dataclass(frozen=True, slots=True)
class Launch:
    """How a client starts this server: executable, arguments, environment."""

    command: str
    args: list[str]
    env: dict[str, str]


def launch_command(argv0: str | None = None, executable: str | None = None) -> tuple[str, list[str]]:
    """The running ``mix-mcp`` console script when that is what runs, else ``python -m mix_mcp``.

    The script's absolute path as it was run, links kept: uv and pipx put a link in ``~/.local/bin`` to
    the script in the tool's own environment, and the link is the path that survives an upgrade.
    """
    script = Path(argv0 if argv0 is not None else sys.argv[0])
    if script.stem == "mix-mcp" and script.is_file():
        return os.path.abspath(script), []
    return executable or sys.executable, ["-m", "mix_mcp"]


def _secret_placeholder(client: Client, setting: Setting) -> str:
    if client == "vscode":
        return "${input:" + _input_id(setting) + "}"
    if client == "claude-code":
        return "${" + setting.env + "}"
    return f"<your {setting.env}>"


def _input_id(setting: Setting) -> str:
    return "mix-" + setting.name.replace("_", "-")


def launch_for(client: Client, settings: Settings, *, argv0: str | None = None) -> Launch:
    command, prefix = launch_command(argv0)
    env = {
        s.env: _secret_placeholder(client, s) if s.secret else env_value(settings, s.name)
        for s in changed_settings(settings)
    }
    return Launch(command, [*prefix, "serve"], env)


def _secret_settings(settings: Settings) -> list[Setting]:
    return [s for s in changed_settings(settings) if s.secret]


def server_entry(client: Client, launch: Launch) -> dict[str, Any]:
    """The value stored under the server's name in the client's file."""
    entry: dict[str, Any] = {"command": launch.command, "args": launch.args, "env": launch.env}
    if client in ("vscode", "claude-code"):
        entry = {"type": "stdio", **entry}
    return entry


def servers_key(client: Client) -> str:
    return "servers" if client == "vscode" else "mcpServers"


def document(
    client: Client, settings: Settings, name: str = DEFAULT_NAME, *, argv0: str | None = None
) -> dict[str, Any]:
    """The whole JSON document to merge into the client's file (VS Code: with its secret inputs)."""
    launch = launch_for(client, settings, argv0=argv0)
    doc: dict[str, Any] = {servers_key(client): {name: server_entry(client, launch)}}
    secrets = _secret_settings(settings)
    if client == "vscode" and secrets:
        doc = {
            "inputs": [
                {"type": "promptString", "id": _input_id(s), "description": s.help, "password": True} for s in secrets
            ],
            **doc,
        }
    return doc


def claude_code_command(settings: Settings, name: str = DEFAULT_NAME, *, argv0: str | None = None) -> str:
    """The ``claude mcp add`` line; secrets are taken from the user's shell environment when it runs."""
    launch = launch_for("claude-code", settings, argv0=argv0)
    parts = ["claude", "mcp", "add", shlex.quote(name), "--transport", "stdio", "--scope", "user"]
    secret_envs = {s.env for s in _secret_settings(settings)}
    for key, value in launch.env.items():
        # "$VAR" stays unexpanded until the user's shell runs the line: no secret is printed here.
        shown = f'{key}="${key}"' if key in secret_envs else shlex.quote(f"{key}={value}")
        parts += ["--env", shown]
    parts += ["--", *(shlex.quote(part) for part in [launch.command, *launch.args])]
    return " ".join(parts)


def snippet(client: Client, settings: Settings, name: str = DEFAULT_NAME, *, argv0: str | None = None) -> str:
    """What ``mix-mcp config CLIENT`` prints: JSON to merge, or the CLI line for Claude Code."""
    if client == "claude-code":
        return claude_code_command(settings, name, argv0=argv0)
    return json.dumps(document(client, settings, name, argv0=argv0), indent=2, ensure_ascii=False)


def default_config_path(
    client: Client,
    *,
    platform: str | None = None,
    environ: Mapping[str, str] | None = None,
    home: Path | None = None,
    cwd: Path | None = None,
) -> Path:
    """Where each client reads its MCP servers (user-wide for Claude Desktop and Cursor, per project otherwise)."""
    platform = platform or sys.platform
    env = os.environ if environ is None else environ
    home = home or Path.home()
    cwd = cwd or Path.cwd()
    if client == "claude-desktop":
        if platform == "darwin":
            folder = home / "Library" / "Application Support" / "Claude"
        elif platform.startswith("win"):
            folder = Path(env.get("APPDATA") or home / "AppData" / "Roaming") / "Claude"
        else:
            folder = Path(env.get("XDG_CONFIG_HOME") or home / ".config") / "Claude"
        return folder / "claude_desktop_config.json"
    if client == "cursor":
        return home / ".cursor" / "mcp.json"
    if client == "vscode":
        return cwd / ".vscode" / "mcp.json"
    return cwd / ".mcp.json"


@dataclass(frozen=True, slots=True)
class WriteResult:
    path: Path
    backup: Path | None
    replaced: bool
    #: False when the file already held exactly this entry: nothing was written, no backup made.
    changed: bool = True


def merge_into_file(path: Path, addition: Mapping[str, Any], servers: str, name: str) -> WriteResult:
    """Put ``addition``'s server entry (and inputs) into ``path``, keeping every other key and server.

    The existing file is copied to ``<name>.<timestamp>.bak`` first; the new content replaces it
    atomically, so a crash leaves either the old file or the new one. A file that already holds
    exactly this entry is not touched at all (no rewrite, no backup).
    """
    current: dict[str, Any] = {}
    if path.exists():
        text = path.read_text(encoding="utf-8")
        if text.strip():
            try:
                loaded = json.loads(text)
            except json.JSONDecodeError as exc:
                raise RegistrationError(
                    f"{path} is not plain JSON ({exc.msg}, line {exc.lineno}); it may hold comments. "
                    "Merge the snippet from `mix-mcp config` by hand."
                ) from None
            if not isinstance(loaded, dict):
                raise RegistrationError(f"{path} does not hold a JSON object; merge the snippet by hand.")
            current = loaded
    existing = current.get(servers)
    if existing is not None and not isinstance(existing, dict):
        raise RegistrationError(f'"{servers}" in {path} is not an object; merge the snippet by hand.')
    merged_servers = dict(existing or {})
    replaced = name in merged_servers
    merged_servers[name] = addition[servers][name]
    merged = {**current, servers: merged_servers}
    if "inputs" in addition:
        inputs = current.get("inputs") or []
        if not isinstance(inputs, list):
            raise RegistrationError(f'"inputs" in {path} is not a list; merge the snippet by hand.')
        known = {item.get("id") for item in inputs if isinstance(item, dict)}
        merged["inputs"] = [*inputs, *(item for item in addition["inputs"] if item["id"] not in known)]
    if path.exists() and merged == current:
        # Already registered exactly so: the file is left as it is, and no backup of it piles up.
        return WriteResult(path, None, replaced, changed=False)
    backup = _backup(path) if path.exists() else None
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.mix-mcp.tmp")
    temporary.write_text(json.dumps(merged, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if backup is not None:
        shutil.copymode(path, temporary)
    os.replace(temporary, path)
    return WriteResult(path, backup, replaced)


def _backup(path: Path) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    backup = path.with_name(f"{path.name}.{stamp}.bak")
    counter = 1
    while backup.exists():
        backup = path.with_name(f"{path.name}.{stamp}-{counter}.bak")
        counter += 1
    shutil.copy2(path, backup)
    return backup


def write_registration(
    client: Client, settings: Settings, path: Path, name: str = DEFAULT_NAME, *, argv0: str | None = None
) -> WriteResult:
    """Merge the registration into ``path`` (Claude Code: its project-scope ``.mcp.json`` format)."""
    return merge_into_file(path, document(client, settings, name, argv0=argv0), servers_key(client), name)


def secret_notes(client: Client, settings: Settings, *, written: bool) -> list[str]:
    """What the user still has to do for each secret, in the client's own terms."""
    notes = []
    for setting in _secret_settings(settings):
        if client == "vscode":
            notes.append(f"VS Code asks for {setting.env} (input '{_input_id(setting)}') when it starts the server.")
        elif client == "claude-code" and written:
            notes.append(f"Claude Code fills ${{{setting.env}}} from its environment: export {setting.env} first.")
        elif client == "claude-code":
            notes.append(f'"${setting.env}" is read from your shell when you run the line: export {setting.env} first.')
        else:
            notes.append(f"Replace <your {setting.env}> with the real value in the client's config file.")
    return notes
