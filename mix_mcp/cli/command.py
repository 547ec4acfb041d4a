"""The ``mix-mcp`` command: flags and subcommands -> Settings -> the chosen action.

Each subcommand imports what it needs when it runs, so that ``mix-mcp serve`` over stdio (what
an assistant spawns on every start) pays for neither the emulator nor the HTTP server stack.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from contextlib import nullcontext, suppress
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mix_mcp._version import __version__
from mix_mcp.cli.help_sections import grouped_for_help
from mix_mcp.cli.mix_target import EmulatorUnavailable, mix_target
from mix_mcp.cli.registration import CLIENTS, DEFAULT_NAME
from mix_mcp.config import (
    DEFAULT_BASE_URL,
    LIST_SETTINGS,
    SETTINGS,
    TRANSPORTS,
    ConfigError,
    Settings,
    load_settings,
    parse_header_flag,
    split_list,
)

if TYPE_CHECKING:
    from mcp.server import Server

    from mix_mcp.serving.server import ServerState

_TYPES: dict[str, Any] = {
    "connect_timeout": float,
    "read_timeout": float,
    "call_timeout": float,
    "run_wait": float,
    "retry_deadline": float,
    "max_retries": int,
    "max_response_bytes": int,
    "port": int,
    "max_request_bytes": int,
    "shutdown_grace": float,
    "keepalive_expiry": float,
    "session_idle_expiry": float,
    "max_sessions": int,
    "body_timeout": float,
}
_CHOICES: dict[str, tuple[str, ...]] = {"transport": TRANSPORTS}

TOP_EXAMPLES = """try it (no Mix needed: the built-in emulator stands in for it):
  mix-mcp call list_sessions --emulator          # one tool, from the shell
  mix-mcp config claude-desktop --emulator       # the block that registers mix-mcp with your assistant
"""
SERVE_EXAMPLES = """examples:
  mix-mcp serve --emulator                       # try it: stdio server on the built-in Mix emulator
  mix-mcp serve                                  # stdio server for Mix at http://localhost:8088
  MIX_BASE_URL=https://mix.example.com MIX_API_KEY=... mix-mcp serve
  mix-mcp serve --read-only                      # only list_sessions, get_session, export_session
  mix-mcp serve --exclude-tools delete_session --confirm-destructive
  mix-mcp serve --transport http --emulator      # Streamable HTTP at http://127.0.0.1:8000/mcp
  mix-mcp serve --transport sse --port 9000      # SSE at http://127.0.0.1:9000/sse
  MIX_MCP_AUTH_TOKEN=... mix-mcp serve --transport http --stateless --host 0.0.0.0
"""
CALL_EXAMPLES = """examples:
  mix-mcp call list_sessions --emulator
  mix-mcp call get_session session_id=3f1c9a52-7b2e-4d8a-9c61-0e5b7a2d4f10 --emulator
  mix-mcp call export_session session_id=... format=markdown limit=5
  mix-mcp call fork_session '{"session_id": "...", "message_index": 3}' --base-url http://localhost:8088
  mix-mcp call send_message session_id=... text='run: ls' --emulator   # phases on stderr, result on stdout

--emulator uses your per-user built-in Mix: started on first use, kept running, its sessions kept in
your data location (MIX_MCP_HOME, else ~/.local/share/mix-mcp), so one call sees what another created and
a run started by one call can be answered and followed by the next. `mix-mcp emulator reset` starts
afresh; `--emulator-mode private` uses a throwaway emulator inside this one call instead.
`mix-mcp tools TOOL` lists a tool's arguments and their types. Ctrl-C stops a call (exit status 130) and
cancels the agent run it was following.
"""
TOOLS_EXAMPLES = """examples:
  mix-mcp tools                        # a table of the tools
  mix-mcp tools export_session         # one tool: its description and arguments
  mix-mcp tools --json                 # the full tools/list definitions
  mix-mcp tools --write tool_schemas/  # regenerate the schema snapshots
  mix-mcp tools --check tool_schemas/  # fail when the snapshots drift from the code
"""
DOCTOR_EXAMPLES = """examples:
  mix-mcp doctor                                   # Mix at MIX_BASE_URL (default http://localhost:8088)
  mix-mcp doctor --base-url https://mix.example.com --json
  mix-mcp doctor --emulator                        # mix-mcp itself, against the built-in emulator
"""
CONFIG_EXAMPLES = """examples:
  mix-mcp config claude-desktop                    # print the JSON to merge into claude_desktop_config.json
  mix-mcp config cursor --write                    # merge into ~/.cursor/mcp.json (backup first)
  mix-mcp config vscode --base-url http://mix:8088 --write   # .vscode/mcp.json in this folder
  mix-mcp config claude-code                       # print the `claude mcp add` line
"""


def _add_settings_flags(parser: argparse.ArgumentParser, groups: Sequence[str] = ("mix",)) -> None:
    defaults = Settings()
    for section, members in grouped_for_help(s for s in SETTINGS if s.group in groups):
        group = parser.add_argument_group(section.title, section.description)
        for setting in members:
            default = getattr(defaults, setting.name)
            shown = "unset" if default in (None, {}, ()) else default
            help_text = f"{setting.help} [env {setting.env}; default {shown}]"
            if isinstance(default, bool):
                group.add_argument(setting.flag, dest=setting.name, action="store_true", default=None, help=help_text)
            elif setting.name == "extra_headers":
                group.add_argument(
                    setting.flag, dest=setting.name, action="append", metavar="'NAME: VALUE'", help=help_text
                )
            elif setting.name in LIST_SETTINGS:
                group.add_argument(setting.flag, dest=setting.name, action="append", metavar="A,B", help=help_text)
            else:
                group.add_argument(
                    setting.flag,
                    dest=setting.name,
                    type=_TYPES.get(setting.name, str),
                    choices=_CHOICES.get(setting.name),
                    help=help_text,
                )


def _settings_from(ns: argparse.Namespace) -> Settings:
    overrides = {setting.name: getattr(ns, setting.name, None) for setting in SETTINGS}
    headers = overrides.get("extra_headers")
    if headers:
        overrides["extra_headers"] = dict(parse_header_flag(h) for h in headers)
    for name in LIST_SETTINGS:
        given = overrides.get(name)
        if given is not None:
            overrides[name] = tuple(item for text in given for item in split_list(text))
    return load_settings(overrides)


def _configure_logging(settings: Settings) -> None:
    from mix_mcp.observe.logs import configure_logging
    from mix_mcp.observe.redaction import Redactor

    configure_logging(settings.log_level, settings.log_format, Redactor.from_settings(settings))


def _build(settings: Settings) -> Server[ServerState]:
    from mix_mcp.serving.server import build_server

    return build_server(settings)


#: What the stdio start line adds when a person, not an MCP client, is at the other end of stdin.
_TERMINAL_HINT = (
    "\nwaiting for an MCP client on stdin (MCP assistants start this command themselves); "
    "to try a tool by hand, run `mix-mcp call list_sessions --emulator`; stop with Ctrl-C"
)
#: How much longer than one call's deadline a stopping stdio server waits for answers still owed.
_DRAIN_MARGIN_SECONDS = 5.0


def cmd_serve(ns: argparse.Namespace) -> int:
    from mix_mcp.observe.telemetry import tracing_from_env
    from mix_mcp.serving.memory import keep_large_blocks_mapped

    settings = _settings_from(ns)
    _configure_logging(settings)
    keep_large_blocks_mapped()  # a large answer's buffers go back to the system when freed
    if settings.transport != "stdio":
        from mix_mcp.serving.transports import serve_network

        with tracing_from_env():
            return serve_network(settings, mix_target=mix_target)

    import anyio

    with mix_target(settings) as effective, tracing_from_env():
        server = _build(effective)
        where = "the built-in Mix emulator at " if settings.use_emulator else "Mix at "
        print(
            f"mix-mcp {__version__} serving MCP over stdio; {where}{effective.display_base_url}"
            + (_TERMINAL_HINT if sys.stdin.isatty() else ""),
            file=sys.stderr,
            flush=True,
        )

        async def run() -> None:
            from mix_mcp.serving.stdio import serve_stdio
            from mix_mcp.serving.streamed_results import deferring

            # At the end of input, calls in flight finish within their deadline and are answered.
            async with serve_stdio(effective.call_timeout + _DRAIN_MARGIN_SECONDS) as (read_stream, write_stream):
                # The stdio writer makes a large result's JSON text block as it writes it.
                with deferring() if sys.platform != "win32" else nullcontext():
                    await server.run(read_stream, write_stream, server.create_initialization_options())

        with suppress(KeyboardInterrupt):
            anyio.run(run)
    return 0


#: The Mix the console plays by default: the newest emulator profile, with agent questions and session files.
CONSOLE_MIX_VERSION = "2026-02"


def cmd_console(ns: argparse.Namespace) -> int:
    """``mix-mcp console``: Streamable HTTP with the browser console, on the built-in emulator unless --base-url."""
    from dataclasses import replace

    from mix_mcp.observe.telemetry import tracing_from_env
    from mix_mcp.serving.transports import serve_network

    settings = _settings_from(ns)
    emulate = getattr(ns, "base_url", None) is None or bool(settings.use_emulator)
    settings = replace(
        settings,
        transport="http",
        use_emulator=emulate,
        mix_version=getattr(ns, "mix_version", None) or (CONSOLE_MIX_VERSION if emulate else settings.mix_version),
        no_ui=False,
    )
    _configure_logging(settings)
    with tracing_from_env():
        return serve_network(settings, mix_target=mix_target)


#: Tools that follow an agent run, whose run is cancelled in Mix when the call is interrupted.
_RUN_TOOLS = ("send_message", "follow_run")
#: The progress token of the one call ``mix-mcp call`` makes (any value does: it names no secret).
_PROGRESS_ID = "mix-mcp-call"
#: Exit status of a command stopped by Ctrl-C (128 + SIGINT), as shells report it.
EXIT_INTERRUPTED = 130


def cmd_call(ns: argparse.Namespace) -> int:
    from mix_mcp.cli import call_input

    try:
        operation = call_input.find_operation(ns.tool)
        arguments = call_input.parse_call_arguments(operation, ns.arguments)
    except call_input.CallInputError as exc:
        print(f"mix-mcp call: {exc}", file=sys.stderr)
        return 2
    settings = _settings_from(ns)
    _configure_logging(settings)
    from mix_mcp.cli.progress import ProgressLine

    progress = ProgressLine(operation.name, plain=operation.name in _RUN_TOOLS)
    try:
        is_error, structured, text = _call_tool(settings, ns, operation.name, arguments, progress)
    except KeyboardInterrupt:
        progress.clear()
        print(_interrupted(operation.name, arguments), file=sys.stderr)
        return EXIT_INTERRUPTED
    progress.clear()
    if is_error:
        print(text, file=sys.stderr)
        if text.startswith(f"Invalid arguments for {operation.name}"):
            print(
                f"{call_input.arguments_help(operation)}\n(`mix-mcp tools {operation.name}` shows them)",
                file=sys.stderr,
            )
        return 1
    print(call_input.printable_result(structured, text))
    return 0


def _call_tool(
    settings: Settings, ns: argparse.Namespace, tool: str, arguments: dict[str, Any], progress: Any
) -> tuple[bool, Any, str]:
    """One tool call through a real MCP client, its progress notifications going to ``progress``."""
    import anyio
    from mcp import Client
    from mcp_types import RequestParamsMeta

    from mix_mcp.observe.telemetry import tracing_from_env

    async def call(server: Server[ServerState]) -> tuple[bool, Any, str]:
        async with Client(server) as client, anyio.create_task_group() as ticking:
            ticking.start_soon(progress.tick)
            try:
                # In process, the progress token in _meta is what makes the run tools report progress; the
                # client's callback then receives each report directly.
                result = await client.call_tool(
                    tool, arguments, progress_callback=progress, meta=RequestParamsMeta(progress_token=_PROGRESS_ID)
                )
            finally:
                ticking.cancel_scope.cancel()
        text = "\n".join(getattr(block, "text", "") for block in result.content)
        return result.is_error, result.structured_content, text

    with mix_target(settings, ns.db) as effective, tracing_from_env():
        return anyio.run(call, _build(effective))


def _interrupted(tool: str, arguments: dict[str, Any]) -> str:
    """The one line a Ctrl-C leaves: what stopped, and what became of the run it followed."""
    if tool in _RUN_TOOLS:
        session = arguments.get("session_id", "?")
        return (
            f"mix-mcp call: interrupted; {tool} stopped and asked Mix to cancel the agent run it was following in "
            f"session {session} (list_messages shows what the run wrote)"
        )
    return f"mix-mcp call: interrupted; {tool} stopped"


def cmd_tools(ns: argparse.Namespace) -> int:
    from mix_mcp.tools.snapshots import check_snapshots, render_table, tool_documents, write_snapshots

    if ns.write:
        written = write_snapshots(Path(ns.write))
        print(f"wrote {len(written) - 1} tool schemas to {ns.write} and the schema catalog", file=sys.stderr)
        return 0
    if ns.check:
        drift = check_snapshots(Path(ns.check))
        for line in drift:
            print(line, file=sys.stderr)
        if drift:
            print(f"run `mix-mcp tools --write {ns.check}` and review the diff", file=sys.stderr)
            return 1
        print(f"{ns.check} matches the code", file=sys.stderr)
        return 0
    if ns.tool is not None:
        from mix_mcp.cli import call_input

        try:
            operation = call_input.find_operation(ns.tool)
        except call_input.CallInputError as exc:
            print(f"mix-mcp tools: {exc}", file=sys.stderr)
            return 2
        if ns.json:
            print(json.dumps(next(d for d in tool_documents() if d["name"] == operation.name), indent=2))
            return 0
        print(
            f"{operation.name}: {operation.title}\n\n{operation.description}\n\n{call_input.arguments_help(operation)}"
        )
        return 0
    if ns.json:
        print(json.dumps(tool_documents(), indent=2, ensure_ascii=False))
        return 0
    print(render_table())
    return 0


def cmd_doctor(ns: argparse.Namespace) -> int:
    import anyio

    from mix_mcp.cli.doctor import Check, Report, diagnose, render_text

    try:
        settings = _settings_from(ns)
    except ConfigError as exc:
        failed = Check("configuration", "fail", str(exc), "Fix the flag or environment variable named.")
        report = Report(base_url="(not set)", checks=[failed])
    else:
        _configure_logging(settings)
        with mix_target(settings) as effective:
            report = anyio.run(partial(diagnose, effective, try_tools=settings.use_emulator))
        if settings.use_emulator:
            report.checks.insert(1, _emulator_check(settings, effective))
    print(json.dumps(report.as_json(), indent=2) if ns.json else render_text(report))
    return 0 if report.ok else 1


def _emulator_check(settings: Settings, effective: Settings) -> Any:
    """doctor's line on which built-in emulator it checked: the per-user one (where, which pid) or a private one."""
    from mix_mcp.cli.doctor import Check
    from mix_mcp.emulator import daemon

    place = daemon.place_for(settings.home, settings.mix_version)
    instance = daemon.read_record(place)
    if settings.emulator_mode == "private" or instance is None or instance.url != effective.base_url:
        return Check("built-in emulator", "info", f"a private one inside this process at {effective.base_url}")
    return Check(
        "built-in emulator",
        "info",
        f"the per-user one at {instance.url} (pid {instance.pid}), sessions kept in {place.folder}",
        "`mix-mcp emulator status` shows it, `mix-mcp emulator reset` starts it afresh.",
    )


def cmd_config(ns: argparse.Namespace) -> int:
    from mix_mcp.cli import registration

    settings = _settings_from(ns)
    client: registration.Client = ns.client
    if not ns.write:
        print(registration.snippet(client, settings, ns.name))
        for note in registration.secret_notes(client, settings, written=False):
            print(f"note: {note}", file=sys.stderr)
        return 0
    path = Path(ns.config_path) if ns.config_path else registration.default_config_path(client)
    if ns.config_path and not path.parent.is_dir() and not ns.create_dirs:
        print(
            f"mix-mcp: nothing written: the folder {path.parent} does not exist (a typo in --config-path?); "
            "correct the path, or add --create-dirs to create the folder",
            file=sys.stderr,
        )
        return 1
    try:
        result = registration.write_registration(client, settings, path, ns.name)
    except (registration.RegistrationError, OSError) as exc:
        print(f"mix-mcp: nothing written: {exc}", file=sys.stderr)
        return 1
    if not result.changed:
        print(f"server {ns.name!r} in {result.path} is already registered exactly so: nothing changed, no backup")
    else:
        action = "replaced" if result.replaced else "added"
        print(f"{action} server {ns.name!r} in {result.path}")
    if result.backup is not None:
        print(f"backup of the previous file: {result.backup}")
    if client == "claude-code":
        line = registration.claude_code_command(settings, ns.name)
        print(f"(this is the project scope; to register it for every project instead, run: {line})")
    for note in registration.secret_notes(client, settings, written=True):
        print(f"note: {note}")
    return 0


def cmd_emulator(ns: argparse.Namespace) -> int:
    from mix_mcp.emulator import main as emulator_main

    return emulator_main(list(ns.emulator_args))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mix-mcp",
        description=(
            "MCP server for the sessions of a Mix agent platform. It publishes list, create, get, delete, "
            "update callbacks, export, fork and rewind as typed MCP tools."
        ),
        epilog=(
            f"Mix's default base URL is {DEFAULT_BASE_URL}. Run `mix-mcp COMMAND --help` for each command.\n\n"
            f"{TOP_EXAMPLES}"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"mix-mcp {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = commands.add_parser(
        "serve",
        help="run the MCP server (stdio, Streamable HTTP or SSE)",
        description=(
            "Run the MCP server: over stdio, the way MCP assistants launch it, or as a network endpoint "
            "(--transport http for Streamable HTTP, --transport sse for the older HTTP+SSE transport)."
        ),
        epilog=SERVE_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_settings_flags(serve, ("serve", "mix"))
    serve.set_defaults(handler=cmd_serve)

    console = commands.add_parser(
        "console",
        help="the session view in a browser: the emulator and the /console page in one command",
        description=(
            "Serve Streamable HTTP with the browser console at /console and print the address to open. Without "
            f"--base-url it runs on the built-in Mix emulator (Mix {CONSOLE_MIX_VERSION}, with agent questions and "
            "session files); with --base-url, on that Mix."
        ),
    )
    _add_settings_flags(console, ("serve", "mix"))
    console.set_defaults(handler=cmd_console)

    call = commands.add_parser(
        "call",
        help="call one tool and print its structured result",
        description=(
            "Call one tool through an in-process MCP server and print its structured result as JSON on stdout; "
            "progress of agent runs goes to stderr. Exit 1 on a tool error, 130 on Ctrl-C."
        ),
        epilog=CALL_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    call.add_argument("tool", help="tool name, e.g. list_sessions")
    call.add_argument(
        "arguments",
        nargs="*",
        metavar="ARGS",
        help="tool arguments: key=value pairs, typed from the tool's schema, or one JSON object",
    )
    call.add_argument(
        "--db",
        metavar="PATH",
        help="with --emulator: use an emulator inside this call with its sessions in this SQLite file instead of "
        "the per-user one (runs and permissions end with the call)",
    )
    _add_settings_flags(call)
    call.set_defaults(handler=cmd_call)

    tools = commands.add_parser(
        "tools",
        help="print the tool list, or write/check tool_schemas/",
        description="Print the tools this server publishes, or write/check their schema snapshots.",
        epilog=TOOLS_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    tools.add_argument("tool", nargs="?", help="one tool: print its description and arguments")
    mode = tools.add_mutually_exclusive_group()
    mode.add_argument("--json", action="store_true", help="print the full definitions as JSON")
    mode.add_argument("--write", metavar="DIR", help="write one JSON file per tool into DIR")
    mode.add_argument("--check", metavar="DIR", help="exit 1 when DIR differs from the code")
    tools.set_defaults(handler=cmd_tools)

    doctor = commands.add_parser(
        "doctor",
        help="check the configuration and the Mix it points at",
        description=(
            "Check the configuration, reach Mix, confirm GET /api/sessions answers in the contract's shape, report "
            "latency and fields of a newer Mix revision. Exit 0 when all is well, 1 with advice otherwise."
        ),
        epilog=DOCTOR_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    doctor.add_argument("--json", action="store_true", help="print the report as JSON")
    _add_settings_flags(doctor)
    doctor.set_defaults(handler=cmd_doctor)

    config = commands.add_parser(
        "config",
        help="print (or --write) the registration for an MCP client",
        description=(
            "Print the snippet that registers this mix-mcp with an MCP client, using this executable and the "
            "settings in effect (secrets as placeholders); --write merges it into the client's config file "
            "after a backup."
        ),
        epilog=CONFIG_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    config.add_argument("client", choices=CLIENTS, help="the MCP client")
    config.add_argument("--write", action="store_true", help="merge into the client's config file (backup first)")
    config.add_argument("--config-path", metavar="PATH", help="the config file to write instead of the default")
    config.add_argument(
        "--create-dirs", action="store_true", help="with --config-path: create its folder when it does not exist"
    )
    config.add_argument("--name", default=DEFAULT_NAME, help="server name in the client (default: %(default)s)")
    _add_settings_flags(config)
    config.set_defaults(handler=cmd_config)

    emulator = commands.add_parser(
        "emulator",
        help="run the built-in Mix emulator (a local Mix sessions API)",
        description="Run the built-in Mix emulator; `mix-mcp emulator --help` lists its options.",
        add_help=False,
    )
    emulator.add_argument("emulator_args", nargs=argparse.REMAINDER)
    emulator.set_defaults(handler=cmd_emulator)
    return parser


def _subparser(parser: argparse.ArgumentParser, command: str | None) -> argparse.ArgumentParser:
    """The parser of ``command`` (for its usage line in errors), or the top-level one."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and command in action.choices:
            chosen: argparse.ArgumentParser = action.choices[command]
            return chosen
    return parser


def _warn_ineffective(ns: argparse.Namespace) -> None:
    """One stderr line for each typed flag the chosen mode ignores; a bad setting is left to the command."""
    from mix_mcp.cli.ineffective import ineffective_flags

    command = getattr(ns, "command", None)
    if command not in ("serve", "call", "doctor"):
        return
    try:
        settings = _settings_from(ns)
    except ConfigError:
        return
    for line in ineffective_flags(command, ns, settings):
        print(line, file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    # argparse's REMAINDER drops leading options in a subcommand (`emulator --port 8088`), so the
    # emulator's own options are collected as unknown arguments and handed over in order.
    ns, unknown = parser.parse_known_args(argv)
    if getattr(ns, "command", None) == "emulator":
        ns.emulator_args = [*unknown, *ns.emulator_args]
    elif unknown:
        from mix_mcp.cli.suggestions import unrecognized

        command_parser = _subparser(parser, getattr(ns, "command", None))
        command_parser.error(unrecognized(unknown, command_parser))
    _warn_ineffective(ns)
    handler = getattr(ns, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        result: int = handler(ns)
        sys.stdout.flush()
    except ConfigError as exc:
        print(f"mix-mcp: configuration error: {exc}", file=sys.stderr)
        return 2
    except EmulatorUnavailable as exc:
        print(f"mix-mcp: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # Whoever read stdout (`| head`) has stopped reading: that is their choice, not a failure.
        _silence_stdout()
        return 0
    return result


def _silence_stdout() -> None:
    """Point stdout at the null device, so the interpreter's last flush at exit cannot fail again."""
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
