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
import logging
import os
import socket
import sqlite3
import sys
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Final

import uvicorn
from starlette.applications import Starlette

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
) -> None:
    """Run the emulator until cancelled or interrupted.

    Once it accepts connections, one line goes to stderr, ``Mix emulator listening on <url>``, which is
    what a parent process waits for when it started the emulator on port 0; ``ready(url)`` is then called.
    """
    profile = profile_for(mix_version)
    store = open_store(db, seed=seed, large_session_messages=large_session_messages, profile=profile)
    try:
        sock = bind_socket(host, port)
        url = socket_url(sock)
        app = create_app(store, api_key=api_key, max_body_bytes=max_body_bytes, profile=profile, agent=agent)
        server = make_server(app)

        def announce() -> None:
            sys.stderr.write(f"{READY_PREFIX}{url}\n")
            sys.stderr.flush()
            if ready is not None:
                ready(url)

        await run_server(server, sock, announce)
    finally:
        store.close()


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mix-mcp emulator",
        description="Run a local emulator of the Mix sessions REST API, to try mix-mcp without Mix and to test it.",
        epilog=(
            "example:\n"
            "  mix-mcp emulator --port 0 --db /tmp/mix.db --large-session 2000\n"
            "  (prints 'Mix emulator listening on http://127.0.0.1:<port>' on stderr when ready)"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
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
        default=DEFAULT_VERSION,
        help="the Mix version to play: its routes, fields and quirks (default: %(default)s; "
        "docs/compatibility.md lists what each one does)",
    )
    parser.add_argument(
        "--agent-step-delay",
        type=float,
        default=AgentSettings.step_delay,
        metavar="SECONDS",
        help="pause between two events of the scripted agent's runs (default: %(default)s)",
    )
    return parser


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be >= 1")
    return value


def main(argv: list[str] | None = None) -> int:
    """``mix-mcp emulator``: serve in the foreground until Ctrl-C."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
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
                mix_version=args.mix_version,
                agent=AgentSettings(step_delay=max(0.0, args.agent_step_delay)),
            )
        )
    except KeyboardInterrupt:
        return 0
    except (OSError, sqlite3.Error) as exc:
        logger.error("cannot start the Mix emulator: %s", exc)
        return 1
    return 0
