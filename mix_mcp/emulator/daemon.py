"""The per-user emulator: one background emulator process per user (and Mix version) that every
``--emulator`` process shares, so that sessions, agent runs, pending permissions and event streams
outlive the process that started them, as they would with a real Mix.

The first process that needs it starts it (detached, on a free loopback port); later ones find it
through a record in the data location and check that it is alive and theirs before using it. A lock
file serialises that check-and-start, so two processes starting at once end up sharing one emulator.

Layout of the data location (``MIX_MCP_HOME``, else ``$XDG_DATA_HOME/mix-mcp``, else
``~/.local/share/mix-mcp``), one folder per Mix version played::

    emulator/<mix version>/mix.db          the sessions (SQLite)
    emulator/<mix version>/instance.json   pid, URL, token and mix-mcp version of the running emulator (0600)
    emulator/<mix version>/lock            held while a process checks, starts or stops the emulator
    emulator/<mix version>/emulator.log    the emulator's stderr
    emulator/<mix version>/port            the port it last listened on, tried first by the next start

A restarted emulator (after ``stop``, ``reset`` or a crash) listens on the same port when it is still
free, so that a long-running ``mix-mcp serve --emulator`` reaches it again without a restart.

POSIX only (``fcntl`` locks, ``fork``); ``mix_target`` uses the in-process emulator elsewhere.

"Alive and ours" means: ``GET /_mix-mcp/instance`` at the recorded URL answers with the recorded pid
when given the recorded token, which only the emulator that wrote the record knows. Anything else
(no answer, another program on the port, a record from an older mix-mcp) is stale: the process is
stopped when it is provably ours, the record dropped, and a fresh emulator started on the same data.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

import httpx2

from mix_mcp._version import __version__

HOME_ENV: Final = "MIX_MCP_HOME"
#: Route on which a running per-user emulator proves it is the one its record names.
INSTANCE_PATH: Final = "/_mix-mcp/instance"
INSTANCE_HEADER: Final = "X-Mix-MCP-Instance-Token"
#: How long a start may take (a cold Python start on a busy machine included).
START_TIMEOUT: Final = 30.0
#: How long to wait for another process holding the lock (it may be starting the emulator).
LOCK_TIMEOUT: Final = START_TIMEOUT + 15.0
#: How long a stopping emulator gets before it is killed.
STOP_TIMEOUT: Final = 10.0
_PROBE_TIMEOUT: Final = 3.0
#: ``runner.API_KEY_ENV``, which the emulator reads as its default API key.
_EMULATOR_API_KEY_ENV: Final = "MIX_EMULATOR_API_KEY"


class EmulatorProcessError(RuntimeError):
    """The per-user emulator could not be started, reached or stopped; the message says what to do."""


def data_home(explicit: str | None = None, environ: Mapping[str, str] | None = None) -> Path:
    """mix-mcp's per-user data location: ``explicit``, $MIX_MCP_HOME, $XDG_DATA_HOME/mix-mcp, ~/.local/share/..."""
    env = os.environ if environ is None else environ
    if explicit:
        return Path(explicit).expanduser()
    if env.get(HOME_ENV):
        return Path(env[HOME_ENV]).expanduser()
    xdg = env.get("XDG_DATA_HOME")
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / "mix-mcp"
    return Path.home() / ".local" / "share" / "mix-mcp"


@dataclass(frozen=True, slots=True)
class Place:
    """The files of one per-user emulator (one Mix version) in the data location."""

    folder: Path
    mix_version: str

    @property
    def db(self) -> Path:
        return self.folder / "mix.db"

    @property
    def record(self) -> Path:
        return self.folder / "instance.json"

    @property
    def lock_file(self) -> Path:
        return self.folder / "lock"

    @property
    def log(self) -> Path:
        return self.folder / "emulator.log"

    @property
    def port_file(self) -> Path:
        return self.folder / "port"


def place_for(home: str | Path | None, mix_version: str) -> Place:
    root = data_home(str(home) if home is not None else None)
    return Place(root / "emulator" / mix_version, mix_version)


def places(home: str | Path | None) -> list[Place]:
    """Every per-user emulator folder that exists in the data location."""
    root = data_home(str(home) if home is not None else None) / "emulator"
    if not root.is_dir():
        return []
    return [Place(folder, folder.name) for folder in sorted(root.iterdir()) if folder.is_dir()]


@dataclass(frozen=True, slots=True)
class Instance:
    """What the record says of a running emulator."""

    pid: int
    url: str
    token: str
    version: str
    mix_version: str
    started_at: float

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def write_record(path: Path, instance: Instance) -> None:
    """Write the record atomically, readable by this user only (it holds the token)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(instance.as_json(), handle)
    os.replace(temporary, path)


def read_record(place: Place) -> Instance | None:
    try:
        data = json.loads(place.record.read_text(encoding="utf-8"))
        return Instance(
            pid=int(data["pid"]),
            url=str(data["url"]),
            token=str(data["token"]),
            version=str(data["version"]),
            mix_version=str(data["mix_version"]),
            started_at=float(data["started_at"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def answers(instance: Instance, timeout: float = _PROBE_TIMEOUT) -> bool:
    """Whether the recorded emulator is alive and is the one the record names (pid and token agree)."""
    try:
        response = httpx2.get(
            instance.url + INSTANCE_PATH,
            headers={INSTANCE_HEADER: instance.token},
            timeout=timeout,
            trust_env=False,  # a loopback address: never through an HTTP_PROXY
        )
        return response.status_code == 200 and response.json().get("pid") == instance.pid
    except (httpx2.HTTPError, ValueError, AttributeError):
        return False


def _answers_patiently(instance: Instance) -> bool:
    """``answers``, asked once more and longer when its process still runs: a busy machine is not a dead one."""
    if answers(instance):
        return True
    return _alive(instance.pid) and answers(instance, timeout=4 * _PROBE_TIMEOUT)


@contextlib.contextmanager
def locked(place: Place, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """Hold the place's lock (an ``flock``: released by the kernel if its holder dies)."""
    import fcntl  # POSIX only, like the rest of this module

    place.folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(place.lock_file, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() > deadline:
                    raise EmulatorProcessError(
                        f"another mix-mcp process has held {place.lock_file} for over {timeout:g} s; "
                        "if none is running, delete that file and try again"
                    ) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def ensure_running(place: Place, extra_args: Sequence[str] = (), timeout: float = START_TIMEOUT) -> Instance:
    """The running per-user emulator of ``place``, started (or restarted when stale) if need be."""
    with locked(place):
        current = read_record(place)
        if current is not None and current.version == __version__ and _answers_patiently(current):
            return current
        if current is not None:
            _retire(place, current)
        return _start(place, extra_args, timeout)


def running(place: Place) -> Instance | None:
    """The place's emulator when it is alive and ours, without starting one."""
    current = read_record(place)
    return current if current is not None and answers(current) else None


def stop(place: Place) -> Instance | None:
    """Stop the place's emulator; the stopped instance, or ``None`` when none was running."""
    with locked(place):
        current = read_record(place)
        if current is None:
            return None
        alive = answers(current) or _looks_like_ours(current.pid, place)
        _retire(place, current)
        return current if alive else None


def reset(place: Place) -> Instance | None:
    """Stop the place's emulator and delete its sessions, so that the next use starts afresh."""
    with locked(place):
        current = read_record(place)
        stopped = None
        if current is not None:
            if answers(current) or _looks_like_ours(current.pid, place):
                stopped = current
            _retire(place, current)
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                os.remove(f"{place.db}{suffix}")
        with contextlib.suppress(FileNotFoundError):
            place.log.unlink()
        return stopped


def _retire(place: Place, instance: Instance) -> None:
    """Stop a recorded emulator if it is provably ours, and drop its record."""
    if answers(instance) or _looks_like_ours(instance.pid, place):
        _terminate(instance.pid)
    with contextlib.suppress(FileNotFoundError):
        place.record.unlink()


def _looks_like_ours(pid: int, place: Place) -> bool:
    """A live process whose command line is an emulator on this place's database (Linux's /proc; else no)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"mix_mcp.emulator" in cmdline and str(place.db).encode() in cmdline


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not yet reaped by whoever adopted it, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


def _terminate(pid: int) -> None:
    """SIGTERM (uvicorn stops gracefully), then SIGKILL after ``STOP_TIMEOUT``."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def launch_args(place: Place, extra_args: Sequence[str] = (), port: int = 0) -> list[str]:
    """The command that starts the place's emulator in the background (``--detach``)."""
    return [
        sys.executable,
        "-m",
        "mix_mcp.emulator",
        "--detach",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--db",
        str(place.db),
        "--mix-version",
        place.mix_version,
        "--instance-file",
        str(place.record),
        *extra_args,
    ]


def _start(place: Place, extra_args: Sequence[str], timeout: float) -> Instance:
    place.folder.mkdir(parents=True, exist_ok=True)
    last_port = _last_port(place)
    code = _launch(place, extra_args, last_port, timeout) if last_port else 1
    if code != 0:  # the last port is taken now (or there was none): any free one
        code = _launch(place, extra_args, 0, timeout)
    instance = read_record(place)
    if code != 0 or instance is None:
        raise EmulatorProcessError(f"the built-in Mix emulator failed to start: {_log_tail(place)} (log: {place.log})")
    if not answers(instance):
        raise EmulatorProcessError(f"the built-in Mix emulator started but does not answer at {instance.url}")
    with contextlib.suppress(OSError, ValueError):
        place.port_file.write_text(str(urlsplit(instance.url).port))
    return instance


def _last_port(place: Place) -> int:
    try:
        port = int(place.port_file.read_text().strip())
    except (OSError, ValueError):
        return 0
    return port if 1024 <= port <= 65535 else 0


def _launch(place: Place, extra_args: Sequence[str], port: int, timeout: float) -> int:
    """Start the emulator in the background; the launcher's exit status (0 once it listens)."""
    with open(place.log, "ab") as log:
        # The launched process forks the emulator and exits once it listens (0) or failed (1), so it
        # can be waited for here and no child is left behind.
        launcher = subprocess.Popen(
            launch_args(place, extra_args, port),
            # The --emulator processes send no API key, so the shared emulator must not pick one up.
            env={k: v for k, v in os.environ.items() if k != _EMULATOR_API_KEY_ENV},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=log,
            start_new_session=True,
            close_fds=True,
        )
    try:
        return launcher.wait(timeout)
    except subprocess.TimeoutExpired:
        launcher.kill()
        launcher.wait()
        raise EmulatorProcessError(
            f"the built-in Mix emulator did not start within {timeout:g} s; its log is {place.log}"
        ) from None


def _log_tail(place: Place, lines: int = 3) -> str:
    try:
        text = place.log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return "no log"
    return " | ".join(text[-lines:]) or "no log"
