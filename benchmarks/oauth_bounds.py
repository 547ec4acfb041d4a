"""What a hostile authorization server or token costs a running ``mix-mcp serve --oauth-issuer``.

Starts the test suite's hostile issuer (tests/faults/hostile_issuer.py) and the server on loopback,
then prints three Markdown tables:

1. a token whose key is held, checked while a token with an unknown ``kid`` waits on a JWKS that
   answers after 30 s: its latency, and when the unknown-kid token gets its answer;
2. the server's RSS growth when the JWKS is 100 MB (streamed, and with a declared length);
3. the status each malformed JOSE header gets, and whether the next request on the same
   keep-alive connection is served.

    .venv/bin/python benchmarks/oauth_bounds.py          # about 15 s (40 s against a server without bounds)
"""

from __future__ import annotations

import json
import statistics
import sys
import threading
import time
from pathlib import Path

import httpx2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.faults.hostile_issuer import Behaviour, HostileIssuer  # noqa: E402
from tests.faults.test_hostile_issuer_http import (  # noqa: E402
    INITIALIZE,
    MALFORMED_HEADERS,
    KeepAlive,
    _rss_kib,
    oauth_server,
)

STALL_SECONDS = 30


def stalled_fetch() -> None:
    with HostileIssuer() as issuer, oauth_server(issuer) as server, httpx2.Client(timeout=STALL_SECONDS + 20) as http:

        def post(token: str) -> int:
            headers = {"Authorization": f"Bearer {token}", "Accept": "application/json, text/event-stream"}
            return http.post(server.url, json=INITIALIZE, headers=headers).status_code

        valid = issuer.token(server.url)
        assert post(valid) == 200
        issuer.jwks = Behaviour(delay=STALL_SECONDS)
        unknown: list[tuple[int, float]] = []

        def ask_unknown() -> None:
            started = time.monotonic()
            unknown.append((post(issuer.token(server.url, kid="made-up")), time.monotonic() - started))

        thread = threading.Thread(target=ask_unknown)
        thread.start()
        while issuer.count("/jwks") < 2:
            time.sleep(0.01)
        latencies = []
        for _ in range(5):
            started = time.monotonic()
            status = post(valid)
            latencies.append(time.monotonic() - started)
        thread.join()
    print(f"\n### A held key while an unknown kid's JWKS fetch stalls ({STALL_SECONDS} s)\n")
    print("| what | status | seconds |\n|---|---|---|")
    print(f"| held-key token, median of 5 | {status} | {statistics.median(latencies):.3f} |")
    print(f"| held-key token, slowest of 5 | {status} | {max(latencies):.3f} |")
    print(f"| the unknown-kid token | {unknown[0][0]} | {unknown[0][1]:.2f} |")


def huge_jwks() -> None:
    print("\n### A 100 MB JWKS\n")
    print("| JWKS | status | seconds | server RSS growth (MiB) | bytes the issuer got out |\n|---|---|---|---|---|")
    for declare in (False, True):
        with HostileIssuer() as issuer, oauth_server(issuer) as server, httpx2.Client(timeout=120) as http:
            issuer.jwks = Behaviour(huge=100 * 1024 * 1024, declare=declare)
            http.post(server.url, json=INITIALIZE)
            before = _rss_kib(server.process.pid)
            started = time.monotonic()
            headers = {"Authorization": f"Bearer {issuer.token(server.url)}", "Accept": "application/json"}
            status = http.post(server.url, json=INITIALIZE, headers=headers).status_code
            seconds = time.monotonic() - started
            growth = (_rss_kib(server.process.pid) - before) / 1024
            kind = "Content-Length: 100 MB" if declare else "chunked, no length"
            print(f"| {kind} | {status} | {seconds:.2f} | {growth:+.1f} | {issuer.bytes_sent.get('/jwks', 0):,} |")


def malformed_headers() -> None:
    print("\n### Malformed JOSE headers\n")
    print("| header | status | next request on the connection |\n|---|---|---|")
    with HostileIssuer() as issuer, oauth_server(issuer) as server:
        for case, header in MALFORMED_HEADERS.items():
            connection = KeepAlive(server)
            try:
                status = connection.post(json.dumps(INITIALIZE).encode(), issuer.forged(server.url, header)).status
                try:
                    following = connection.post(json.dumps(INITIALIZE).encode(), issuer.token(server.url)).status
                    after = str(following)
                except Exception as exc:
                    after = f"connection lost ({type(exc).__name__})"
            finally:
                connection.close()
            print(f"| {case} | {status} | {after} |")
        tracebacks = server.stderr.count("Traceback")
    print(f"\nTracebacks in the server's log: {tracebacks}")


if __name__ == "__main__":
    stalled_fetch()
    huge_jwks()
    malformed_headers()
