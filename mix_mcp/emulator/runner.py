"""Running the emulator: in the foreground (CLI), as a coroutine, or in a background thread (tests).

The socket is bound here rather than by uvicorn, so that port 0 works and the real URL is known
before anyone is told the server is ready. uvicorn is driven with the asyncio event loop, whose
transports set ``TCP_NODELAY`` on every accepted connection (``asyncio.selector_events``), which keeps
small keep-alive responses from waiting on Nagle's algorithm. Logging goes to stderr only; stdout may
be an MCP stdio channel.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hmac
import logging
import os
import secrets
import socket
import sqlite3
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Final

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mix_mcp._version import __version__
from mix_mcp.emulator import daemon
from mix_mcp.emulator.agent import AgentSettings, ScriptedAgent
from mix_mcp.emulator.app import create_app
from mix_mcp.emulator.body_limit import DEFAULT_MAX_BODY_BYTES
from mix_mcp.emulator.profiles import DEFAULT_VERSION, PROFILES, SEED, MixProfile, profile_for
from mix_mcp.emulator.seed import LARGE_SESSION_ID, seed_demo_data, seed_large_session
from mix_mcp.emulator.store import SessionStore
from mix_mcp.listening import bind_socket, socket_url

logger = logging.getLogger(__name__)

DEFAULT_HOST: Final = "127.0.0.1"
DEFAULT_PORT: Final = 8088
API_KEY_ENV: Final = "MIX_EMULATOR_API_KEY"
READY_PREFIX: Final = "Mix emulator listening on "

#: uvicorn checks ``should_exit`` every 0.1 s; shutdown should take well under this.
_STOP_TIMEOUT_SECONDS: Final = 5.0


def open_store(
    db: str, *, seed: bool = True, large_session_messages: int = 0, profile: MixProfile = SEED
) -> SessionStore:
    """A store at ``db`` with the demo data (into an empty store only, as ``profile``'s Mix would hold
    it) and the optional large session."""
    store = SessionStore(db)
    try:
        if seed:
            seed_demo_data(store, forked=profile.forked_sessions)
        if large_session_messages > 0 and not store.has_session(LARGE_SESSION_ID):
            seed_large_session(store, messages=large_session_messages, session_id=LARGE_SESSION_ID)
    except BaseException:
        store.close()
        raise
    return store


def make_server(app: Starlette) -> uvicorn.Server:
    config = uvicorn.Config(
        app,
        log_config=None,  # leave the host process's logging alone; uvicorn's loggers propagate to it
        log_level="warning",
        access_log=False,
        lifespan="off",
        server_header=False,
        timeout_graceful_shutdown=int(_STOP_TIMEOUT_SECONDS),
    )
    return uvicorn.Server(config)


async def run_server(server: uvicorn.Server, sock: socket.socket, on_ready: Callable[[], None]) -> None:
    """Serve until uvicorn stops (signal or ``should_exit``); cancellation also stops it gracefully."""
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                await task
                raise RuntimeError("the Mix emulator stopped before it was ready")
            await asyncio.sleep(0.005)
        on_ready()
        # shield: cancelling us must not cancel uvicorn mid-request; we ask it to stop instead.
        await asyncio.shield(task)
    except asyncio.CancelledError:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, timeout=_STOP_TIMEOUT_SECONDS)
        raise
    finally:
        sock.close()


async def serve_emulator(
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    db: str = ":memory:",
    seed: bool = True,
    api_key: str | None = None,
    large_session_messages: int = 0,
    ready: Callable[[str], None] | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    mix_version: str = DEFAULT_VERSION,
    agent: AgentSettings | None = None,
    instance_token: str | None = None,
) -> None:
    """Run the emulator until cancelled or interrupted.

    Once it accepts connections, one line goes to stderr, ``Mix emulator listening on <url>``, which is
    what a parent process waits for when it started the emulator on port 0; ``ready(url)`` is then called.
    With ``instance_token`` it also answers ``daemon.INSTANCE_PATH`` to whoever presents that token, which
    is how the per-user emulator proves it is the one its record names.
    """
    profile = profile_for(mix_version)
    store = open_store(db, seed=seed, large_session_messages=large_session_messages, profile=profile)
    try:
        sock = bind_socket(host, port)
        url = socket_url(sock)
        app = create_app(store, api_key=api_key, max_body_bytes=max_body_bytes, profile=profile, agent=agent)
        if instance_token is not None:
            add_instance_route(app, instance_token, mix_version)
        server = make_server(app)

        def announce() -> None:
            sys.stderr.write(f"{READY_PREFIX}{url}\n")
            sys.stderr.flush()
            if ready is not None:
                ready(url)

        await run_server(server, sock, announce)
    finally:
        store.close()


def add_instance_route(app: Starlette, token: str, mix_version: str) -> None:
    """``GET daemon.INSTANCE_PATH``: this process's pid, for the one token its record holds (else 403)."""

    async def instance(request: Request) -> Response:
        given = request.headers.get(daemon.INSTANCE_HEADER, "")
        if not hmac.compare_digest(given.encode(), token.encode()):
            return JSONResponse({"error": "not the token of this emulator"}, status_code=403)
        return JSONResponse({"pid": os.getpid(), "version": __version__, "mixVersion": mix_version})

    app.router.routes.insert(0, Route(daemon.INSTANCE_PATH, instance, methods=["GET"]))


class BackgroundEmulator:
    """The emulator on a free loopback port in a daemon thread, for tests and examples.

    ``with BackgroundEmulator() as emulator: httpx2.get(emulator.url + "/api/sessions")``. ``store`` may
    be given to serve a prepared (or deliberately broken) store; it is then not closed on exit.
    """

    def __init__(
        self,
        *,
        db: str = ":memory:",
        seed: bool = True,
        api_key: str | None = None,
        large_session_messages: int = 0,
        store: SessionStore | None = None,
        startup_timeout: float = 10.0,
        mix_version: str = DEFAULT_VERSION,
        agent: AgentSettings | None = None,
    ) -> None:
        self._profile = profile_for(mix_version)
        self._db = db
        self._seed = seed
        self._api_key = api_key
        self._large_session_messages = large_session_messages
        self._given_store = store
        self._agent_settings = agent
        self._agent: ScriptedAgent | None = None
        self._startup_timeout = startup_timeout
        self._store: SessionStore | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._url: str | None = None

    @property
    def url(self) -> str:
        if self._url is None:
            raise RuntimeError("the background emulator is not running (use it as a context manager)")
        return self._url

    @property
    def store(self) -> SessionStore:
        if self._store is None:
            raise RuntimeError("the background emulator is not running (use it as a context manager)")
        return self._store

    @property
    def server(self) -> uvicorn.Server:
        """The uvicorn server, for tests that inspect its live connections."""
        if self._server is None:
            raise RuntimeError("the background emulator is not running (use it as a context manager)")
        return self._server

    @property
    def agent(self) -> ScriptedAgent:
        """The scripted agent, for tests that count its cancels or change its pace."""
        if self._agent is None:
            raise RuntimeError("the background emulator is not running (use it as a context manager)")
        return self._agent

    def __enter__(self) -> BackgroundEmulator:
        self._store = self._given_store or open_store(
            self._db, seed=self._seed, large_session_messages=self._large_session_messages, profile=self._profile
        )
        try:
            sock = bind_socket(DEFAULT_HOST, 0)
        except BaseException:
            self._stop()
            raise
        url = socket_url(sock)
        app = create_app(self._store, api_key=self._api_key, profile=self._profile, agent=self._agent_settings)
        self._agent = app.state.agent
        self._server = make_server(app)
        self._thread = threading.Thread(target=self._run, args=(self._server, sock), name="mix-emulator", daemon=True)
        self._thread.start()
        if not self._ready.wait(self._startup_timeout):
            self._stop()
            raise TimeoutError(f"the Mix emulator did not start within {self._startup_timeout} s")
        if self._error is not None:
            self._stop()
            raise RuntimeError("the Mix emulator failed to start") from self._error
        self._url = url
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._stop()

    def _run(self, server: uvicorn.Server, sock: socket.socket) -> None:
        try:
            asyncio.run(run_server(server, sock, self._ready.set))
        except BaseException as exc:
            self._error = exc
        finally:
            self._ready.set()

    def _stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(_STOP_TIMEOUT_SECONDS)
            if self._thread.is_alive() and self._server is not None:
                self._server.force_exit = True
                self._thread.join(_STOP_TIMEOUT_SECONDS)
            if self._thread.is_alive():
                logger.warning("the Mix emulator thread did not stop within %s s", 2 * _STOP_TIMEOUT_SECONDS)
        if self._store is not None and self._given_store is None:
            self._store.close()
        self._url = None
        self._thread = None
        self._server = None
        self._store = None


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return value


ACTIONS: Final = ("start", "status", "stop", "reset")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mix-mcp emulator",
        description=(
            "Run a local emulator of the Mix sessions REST API, to try mix-mcp without Mix and to test it.\n"
            "Without ACTION it serves in the foreground until Ctrl-C. The ACTIONs manage the per-user\n"
            "emulator that `--emulator` (serve, call, doctor) starts on first use and shares between\n"
            "processes; its sessions are kept in the data location (--home)."
        ),
        epilog=(
            "examples:\n"
            "  mix-mcp emulator --port 0 --db /tmp/mix.db --large-session 2000\n"
            "  (prints 'Mix emulator listening on http://127.0.0.1:<port>' on stderr when ready)\n"
            "  mix-mcp emulator status      # is the per-user emulator running, where, with what data\n"
            "  mix-mcp emulator reset       # stop it and delete its sessions: the next --emulator starts afresh\n"
            "  mix-mcp emulator stop        # stop it, keeping its sessions\n"
            "  mix-mcp emulator start --agent-step-delay 0.5   # start it now, with slower agent runs"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "action",
        nargs="?",
        choices=ACTIONS,
        metavar="ACTION",
        help="start, status, stop or reset the per-user emulator (default: serve in the foreground)",
    )
    parser.add_argument(
        "--home",
        default=None,
        help=f"with an ACTION: the per-user data location (default ${daemon.HOME_ENV}, else "
        "$XDG_DATA_HOME/mix-mcp, else ~/.local/share/mix-mcp)",
    )
    parser.add_argument("--host", default=DEFAULT_HOST, help="interface to bind (default: %(default)s)")
    parser.add_argument(
        "--port", type=_non_negative, default=DEFAULT_PORT, help="TCP port, 0 for any free port (default: %(default)s)"
    )
    parser.add_argument(
        "--db", default=":memory:", help="SQLite file that keeps sessions across restarts (default: in memory)"
    )
    parser.add_argument(
        "--seed",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="insert the demo sessions into an empty store (default: on)",
    )
    parser.add_argument(
        "--api-key",
        default=os.environ.get(API_KEY_ENV) or None,
        help=f"require 'Authorization: Bearer <key>' on /api requests (default: ${API_KEY_ENV}, else no auth)",
    )
    parser.add_argument(
        "--large-session",
        type=_non_negative,
        default=0,
        metavar="N",
        help="also insert one session with N messages of ~10 KB each (default: none)",
    )
    parser.add_argument(
        "--max-body-bytes",
        type=_positive,
        default=DEFAULT_MAX_BODY_BYTES,
        metavar="BYTES",
        help="largest request body accepted; larger ones get 413 (default: %(default)s, 10 MiB)",
    )
    parser.add_argument(
        "--mix-version",
        choices=list(PROFILES),
        default=None,
        help=f"the Mix version to play: its routes, fields and quirks (default: {DEFAULT_VERSION}; with stop, "
        "status or reset: every version; docs/compatibility.md lists what each one does)",
    )
    parser.add_argument(
        "--agent-step-delay",
        type=float,
        default=AgentSettings.step_delay,
        metavar="SECONDS",
        help="pause between two events of the scripted agent's runs (default: %(default)s)",
    )
    parser.add_argument(
        "--agent-question-timeout",
        type=_positive,
        default=AgentSettings.question_timeout,
        metavar="SECONDS",
        help="how long the scripted agent's questions (messages starting 'ask:', on a Mix version that has "
        "questions) wait for an answer (default: %(default)s)",
    )
    # The per-user emulator's own launch (daemon.launch_args); not for people.
    parser.add_argument("--detach", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--instance-file", default=None, help=argparse.SUPPRESS)
    return parser


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be >= 1")
    return value


def main(argv: list[str] | None = None) -> int:
    """``mix-mcp emulator``: serve in the foreground until Ctrl-C, or manage the per-user emulator."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.action is not None:
        return _manage(args)
    announce: Callable[[str], None] | None = None
    token: str | None = None
    if args.instance_file is not None:
        token = secrets.token_urlsafe(24)
        record = Path(args.instance_file)
        signal_ready = _detach() if args.detach else None

        def announce(url: str) -> None:
            daemon.write_record(
                record,
                daemon.Instance(os.getpid(), url, token or "", __version__, args.mix_version or DEFAULT_VERSION,
                                time.time()),
            )  # fmt: skip
            if signal_ready is not None:
                signal_ready()

    try:
        asyncio.run(
            serve_emulator(
                host=args.host,
                port=args.port,
                db=args.db,
                seed=args.seed,
                api_key=args.api_key,
                large_session_messages=args.large_session,
                max_body_bytes=args.max_body_bytes,
                mix_version=args.mix_version or DEFAULT_VERSION,
                agent=AgentSettings(
                    step_delay=max(0.0, args.agent_step_delay), question_timeout=args.agent_question_timeout
                ),
                ready=announce,
                instance_token=token,
            )
        )
    except KeyboardInterrupt:
        return 0
    except (OSError, sqlite3.Error) as exc:
        logger.error("cannot start the Mix emulator: %s", exc)
        return 1
    return 0


def _detach() -> Callable[[], None]:
    """Fork: this process waits for the child's word and exits 0 (ready) or 1; the child serves on.

    Whoever launched this process can so wait for it to end, knowing the emulator is up, and leaves no
    child process behind. The child gets a function to call once it listens.
    """
    read_end, write_end = os.pipe()
    if os.fork() > 0:
        os.close(write_end)
        with os.fdopen(read_end, "rb") as pipe:
            word = pipe.read()
        os._exit(0 if word == b"ready" else 1)
    os.close(read_end)
    with contextlib.suppress(OSError):
        os.setsid()

    def signal_ready() -> None:
        os.write(write_end, b"ready")
        os.close(write_end)

    return signal_ready


def _start_args(args: argparse.Namespace) -> list[str]:
    """The foreground options given to ``start`` that the per-user emulator takes on."""
    extra = []
    if args.agent_step_delay != AgentSettings.step_delay:
        extra += ["--agent-step-delay", str(args.agent_step_delay)]
    if args.large_session:
        extra += ["--large-session", str(args.large_session)]
    if not args.seed:
        extra.append("--no-seed")
    if args.max_body_bytes != DEFAULT_MAX_BODY_BYTES:
        extra += ["--max-body-bytes", str(args.max_body_bytes)]
    return extra


def _manage(args: argparse.Namespace) -> int:
    """``mix-mcp emulator start|status|stop|reset``: one line per emulator concerned, on stdout."""
    try:
        if args.action == "start":
            place = daemon.place_for(args.home, args.mix_version or DEFAULT_VERSION)
            before = daemon.running(place)
            instance = daemon.ensure_running(place, _start_args(args))
            verb = "already running" if before is not None and before.pid == instance.pid else "started"
            print(
                f"{verb}: Mix {place.mix_version} emulator at {instance.url} (pid {instance.pid}); "
                f"data in {place.folder}"
            )
            if before is not None and _start_args(args):
                print(
                    "note: it was already running, so the options given did not apply; `stop` it first", file=sys.stderr
                )
            return 0
        chosen = [daemon.place_for(args.home, args.mix_version)] if args.mix_version else daemon.places(args.home)
        if not chosen:
            print(f"no per-user emulator in {daemon.data_home(args.home)}")
            return 0
        for place in chosen:
            _manage_one(args.action, place)
    except daemon.EmulatorProcessError as exc:
        print(f"mix-mcp emulator: {exc}", file=sys.stderr)
        return 1
    return 0


def _manage_one(action: str, place: daemon.Place) -> None:
    name = f"Mix {place.mix_version} emulator"
    if action == "status":
        instance = daemon.running(place)
        if instance is None:
            print(f"{name}: not running; data in {place.folder}")
        else:
            print(
                f"{name}: running at {instance.url} (pid {instance.pid}, mix-mcp {instance.version}); "
                f"data in {place.folder}"
            )
    elif action == "stop":
        stopped = daemon.stop(place)
        print(f"{name}: stopped (pid {stopped.pid})" if stopped else f"{name}: was not running")
    else:
        stopped = daemon.reset(place)
        if stopped is None:
            print(f"{name}: its sessions deleted; the next --emulator starts afresh")
            return
        # It was running: start it afresh at once, on the same port when free, so that servers still
        # holding its address (a long-running `serve --emulator`) go on with the fresh one.
        fresh = daemon.ensure_running(place)
        print(
            f"{name}: stopped (pid {stopped.pid}), its sessions deleted, "
            f"started afresh at {fresh.url} (pid {fresh.pid})"
        )
