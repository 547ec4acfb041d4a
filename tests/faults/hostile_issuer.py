"""A misbehaving OAuth authorization server on loopback: metadata and a JWKS whose behaviour each test picks.

It serves RFC 8414 metadata at ``/.well-known/oauth-authorization-server`` naming ``/jwks``, and
signs real tokens with PyJWT using an RSA key it publishes there. Each of the two documents answers
as its ``Behaviour`` says: the real document, after a delay, an arbitrary JSON value (wrong types),
a huge body (declared or streamed), or an endless trickle. It runs in threads, so a ``mix-mcp
serve`` subprocess and in-process checks can both use it; every stall ends when the issuer closes.
"""

from __future__ import annotations

import base64
import functools
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

#: The kid of the key the issuer publishes and signs with.
KID = "good-key"
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Behaviour:
    """How one document is answered.

    ``delay``: seconds before the answer starts. ``document``: a JSON value served instead of the
    real one. ``huge``: serve this many bytes (a JSON string of padding), streamed in chunks, with a
    Content-Length when ``declare`` says so. ``endless``: a trickle of spaces that never ends.
    ``raw``: these bytes as the body. ``status``: the HTTP status.
    """

    delay: float = 0.0
    document: Any = None
    raw: bytes | None = None
    huge: int = 0
    declare: bool = False
    endless: bool = False
    status: int = 200


@functools.cache
def signing_key() -> rsa.RSAPrivateKey:
    """One RSA key for every issuer of a test run (making one costs a noticeable fraction of a second)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class HostileIssuer:
    """The issuer: its URL, its behaviours (``metadata``, ``jwks``), what it was asked, and its tokens."""

    def __init__(self) -> None:
        self.key = signing_key()
        self.metadata = Behaviour()
        self.jwks = Behaviour()
        self.requests: list[str] = []
        self.bytes_sent: dict[str, int] = {}
        self.closing = threading.Event()
        self._lock = threading.Lock()
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                with issuer._lock:
                    issuer.requests.append(self.path)
                if self.path == "/.well-known/oauth-authorization-server":
                    issuer._answer(self, issuer.metadata, issuer.metadata_document())
                elif self.path == "/jwks":
                    issuer._answer(self, issuer.jwks, issuer.jwks_document())
                else:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def count(self, path: str) -> int:
        with self._lock:
            return self.requests.count(path)

    def metadata_document(self) -> dict[str, Any]:
        return {"issuer": self.url, "jwks_uri": f"{self.url}/jwks", "response_types_supported": ["code"]}

    def jwks_document(self) -> dict[str, Any]:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**public, "kid": KID, "use": "sig", "alg": "RS256"}]}

    def claims(self, audience: str, **extra: Any) -> dict[str, Any]:
        now = int(time.time())
        base = {"iss": self.url, "aud": audience, "sub": "alice", "exp": now + 300, "iat": now}
        return {**base, "scope": "mix:read mix:write", **extra}

    def token(self, audience: str, kid: str = KID, **claims: Any) -> str:
        """A real token, signed by PyJWT with the published key (whatever ``kid`` it names)."""
        return jwt.encode(self.claims(audience, **claims), self.key, algorithm="RS256", headers={"kid": kid})

    def forged(self, audience: str, header: bytes, payload: bytes | None = None) -> str:
        """A token with ``header`` (and ``payload``) as raw bytes, signed over exactly those with the real key.

        PyJWT refuses to write a malformed header, so the parts are put together here; the claims
        (unless given) and the RS256 signature are PyJWT's own.
        """
        real = self.token(audience)
        claims = b64(payload) if payload is not None else real.split(".")[1]
        signing_input = f"{b64(header)}.{claims}".encode()
        signature = jwt.algorithms.RSAAlgorithm(jwt.algorithms.RSAAlgorithm.SHA256).sign(signing_input, self.key)
        return f"{signing_input.decode()}.{b64(signature)}"

    def _answer(self, handler: BaseHTTPRequestHandler, how: Behaviour, real: dict[str, Any]) -> None:
        path = handler.path
        if how.delay and self.closing.wait(how.delay):
            return
        try:
            if how.endless:
                self._trickle(handler, path)
            elif how.huge:
                self._huge(handler, how, path)
            else:
                body = (
                    how.raw
                    if how.raw is not None
                    else json.dumps(real if how.document is None else how.document).encode()
                )
                handler.send_response(how.status)
                handler.send_header("Content-Type", "application/json")
                handler.send_header("Content-Length", str(len(body)))
                handler.end_headers()
                handler.wfile.write(body)
                self._sent(path, len(body))
        except OSError:
            return  # the client went away: what a bounded reader does

    def _start_chunked(self, handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()

    def _chunk(self, handler: BaseHTTPRequestHandler, data: bytes, path: str) -> None:
        handler.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        handler.wfile.flush()
        self._sent(path, len(data))

    def _trickle(self, handler: BaseHTTPRequestHandler, path: str) -> None:
        self._start_chunked(handler)
        self._chunk(handler, b'{"keys": [', path)
        while not self.closing.wait(0.05):
            self._chunk(handler, b" ", path)

    def _huge(self, handler: BaseHTTPRequestHandler, how: Behaviour, path: str) -> None:
        head, tail = b'{"keys": [], "padding": "', b'"}'
        padding = how.huge - len(head) - len(tail)
        if how.declare:
            handler.send_response(200)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(how.huge))
            handler.end_headers()
        else:
            self._start_chunked(handler)

        def write(data: bytes) -> None:
            if how.declare:
                handler.wfile.write(data)
                self._sent(path, len(data))
            else:
                self._chunk(handler, data, path)

        write(head)
        block = b"x" * _CHUNK
        while padding > 0 and not self.closing.is_set():
            piece = block[: min(padding, _CHUNK)]
            write(piece)
            padding -= len(piece)
        write(tail)
        if not how.declare:
            handler.wfile.write(b"0\r\n\r\n")

    def _sent(self, path: str, count: int) -> None:
        with self._lock:
            self.bytes_sent[path] = self.bytes_sent.get(path, 0) + count

    def __enter__(self) -> HostileIssuer:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.closing.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)
