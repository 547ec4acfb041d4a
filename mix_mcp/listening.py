"""Listening sockets bound before uvicorn starts, shared by the MCP server and the emulator.

Binding here rather than in uvicorn means port 0 works and the real URL is known before anyone
is told the server is ready, and a bind failure is reported before any app starts.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket


def bind_socket(host: str, port: int) -> socket.socket:
    """A bound TCP socket (uvicorn listens on it); port 0 picks a free port."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise OSError(f"cannot resolve host {host!r}: {exc}") from exc
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        if os.name != "nt":
            # Lets a restarted server take its port back from connections still in TIME_WAIT.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise OSError(f"cannot listen on {host}:{port}: {exc.strerror or exc}{_bind_advice(exc)}") from exc
    return sock


def _bind_advice(exc: OSError) -> str:
    """What to do about a failed bind, in the words of the command line (both commands take --port)."""
    if exc.errno == errno.EADDRINUSE:
        return (
            ". Another program (perhaps another mix-mcp) listens there: stop it, or choose another port with "
            "--port (--port 0 picks a free one)"
        )
    if exc.errno == errno.EACCES:
        return ". Ports below 1024 need privileges: choose another port with --port (e.g. --port 8000)"
    if exc.errno == errno.EADDRNOTAVAIL:
        return ". This machine has no such address: check --host (127.0.0.1 or 0.0.0.0 listen locally or everywhere)"
    return ""


def socket_url(sock: socket.socket) -> str:
    """The URL a local client should use; a wildcard bind is reached through loopback."""
    host, port = sock.getsockname()[:2]
    if host == "0.0.0.0":
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or address) can only be reached from this machine."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
