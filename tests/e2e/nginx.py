"""nginx in front of mix-mcp replicas, from the example configuration the project ships.

``examples/deploy/nginx.conf`` is rendered with the replicas' loopback addresses and a free port, and
included in a small main configuration that keeps everything nginx writes (pid, logs, temporary files)
in a temporary folder; nginx runs in the foreground, as a child of the test, and is always stopped.
"""

from __future__ import annotations

import re
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support import ROOT, free_port, stop

EXAMPLE = ROOT / "examples" / "deploy" / "nginx.conf"
_UPSTREAM_SERVER = re.compile(r"^(\s*)server 10\.0\.0\.\d+:8000( [^;]*)?;\n", re.MULTILINE)
_LISTEN = re.compile(r"^(\s*)listen 8080;$", re.MULTILINE)
#: The access log line the tests read: which replica answered which request.
LOG_FORMAT = "$request_method $uri $status $upstream_addr"
_MAIN = """daemon off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log info;
events {{ worker_connections 1024; }}
http {{
    log_format upstreams '{log_format}';
    access_log {tmp}/access.log upstreams;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    include {tmp}/mix-mcp.conf;
}}
"""


def render(example: str, replicas: Sequence[str], port: int) -> str:
    """The example with its replica lines replaced by ``replicas`` (host:port) and nginx on ``port``."""
    servers = list(_UPSTREAM_SERVER.finditer(example))
    assert servers, "the example lists its replicas as 'server 10.0.0.N:8000 ...;'"
    indent, options = servers[0].group(1), servers[0].group(2) or ""
    lines = "".join(f"{indent}server {address}{options};\n" for address in replicas)
    text = example[: servers[0].start()] + lines + example[servers[-1].end() :]
    text, listens = _LISTEN.subn(rf"\g<1>listen 127.0.0.1:{port};", text)
    assert listens == 1, "the example listens with 'listen 8080;'"
    return text


@dataclass
class Nginx:
    url: str
    folder: Path

    def upstreams(self) -> list[str]:
        """The replica (host:port) that answered each request, in order."""
        log = self.folder / "access.log"
        return [line.split()[-1] for line in log.read_text(encoding="utf-8").splitlines()] if log.exists() else []

    def upstreams_since(self, before: int, *, at_least: int = 0, within: float = 10.0) -> list[str]:
        """``upstreams()[before:]`` once nginx has logged every request made so far.

        nginx writes a request's access line after the answer has left, so a client can hold its
        answer before the line exists: wait (bounded) for ``at_least`` new lines, then until no more
        arrive for a moment.
        """
        deadline = time.monotonic() + within
        seen = self.upstreams()[before:]
        while time.monotonic() < deadline:
            time.sleep(0.2)
            now = self.upstreams()[before:]
            if len(now) >= at_least and now == seen:
                return now
            seen = now
        return seen


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@contextmanager
def running_nginx(binary: Path, folder: Path, replicas: Sequence[str], *, attempts: int = 5) -> Iterator[Nginx]:
    """nginx on a free loopback port in front of ``replicas``; a port taken meanwhile is retried with another."""
    folder.mkdir(parents=True, exist_ok=True)
    example = EXAMPLE.read_text(encoding="utf-8")
    (folder / "nginx.conf").write_text(_MAIN.format(tmp=folder, log_format=LOG_FORMAT), encoding="utf-8")
    for _attempt in range(attempts):
        port = free_port()
        (folder / "mix-mcp.conf").write_text(render(example, replicas, port), encoding="utf-8")
        command = [str(binary), "-p", str(folder), "-c", str(folder / "nginx.conf"), "-e", str(folder / "error.log")]
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 20
        while process.poll() is None and not _answers(port) and time.monotonic() < deadline:
            time.sleep(0.05)
        if process.poll() is None and _answers(port):
            try:
                yield Nginx(f"http://127.0.0.1:{port}", folder)
            finally:
                stop(process)
                assert process.stderr is not None
                process.stderr.close()
            return
        stop(process)
        errors = (folder / "error.log").read_text(encoding="utf-8", errors="replace")
        if "Address already in use" not in errors:
            raise RuntimeError(f"nginx did not start: {errors[-2000:]}")
    raise RuntimeError(f"nginx found no free port in {attempts} attempts")
