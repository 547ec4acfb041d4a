"""A stand-in Mix whose session list hangs until the test lets it answer: a call that is surely in flight."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

#: The longest a held request waits for the test, so that a failing test cannot hang on it.
HOLD_LIMIT = 20.0


@dataclass
class StallingMix:
    url: str
    arrived: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)


@contextmanager
def stalling_mix() -> Iterator[StallingMix]:
    """``GET /api/sessions`` answers ``[]`` once ``release`` is set; ``/health`` answers at once."""
    state = StallingMix(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.startswith("/api/sessions"):
                state.arrived.set()
                state.release.wait(HOLD_LIMIT)
                body = b"[]"
            else:
                body = b'{"status": "healthy"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the test's output is about mix-mcp."""

    class QuietServer(ThreadingHTTPServer):
        def handle_error(self, request: object, client_address: object) -> None:
            """A held request whose client gave up fails to write its answer; that is expected here."""

    server = QuietServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)
