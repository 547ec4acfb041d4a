"""HostOriginPolicy remembers its verdicts per (Host, Origin): the same answers, and a bounded memory."""

from __future__ import annotations

from mcp.server.transport_security import TransportSecuritySettings

from mix_mcp.serving import host_check
from mix_mcp.serving.host_check import HostOriginPolicy

POLICY = TransportSecuritySettings(
    enable_dns_rebinding_protection=True,
    allowed_hosts=["127.0.0.1:*", "localhost:8000"],
    allowed_origins=["http://localhost:8000"],
)


def _status(policy: HostOriginPolicy, *headers: tuple[bytes, bytes]) -> int:
    refusal = policy.refusal({"type": "http", "headers": list(headers)})
    return 0 if refusal is None else refusal.status_code


def test_verdicts_are_the_same_the_second_time() -> None:
    policy = HostOriginPolicy(POLICY)
    cases = [
        (((b"host", b"127.0.0.1:9"),), 0),
        (((b"host", b"localhost:8000"), (b"origin", b"http://localhost:8000")), 0),
        (((b"host", b"localhost:8000.evil.com"),), 421),
        (((b"host", b"localhost:8000"), (b"origin", b"http://evil.com")), 403),
        (((b"host", b"evil.com"), (b"origin", b"http://a"), (b"origin", b"http://b")), 421),
        (((b"host", b"127.0.0.1:9"), (b"origin", b"http://localhost:8000"), (b"origin", b"http://b")), 403),
        (((b"host", b"127.0.0.1:9"), (b"host", b"127.0.0.1:9")), 421),
        ((), 421),
    ]
    for _ in range(2):
        for headers, expected in cases:
            assert _status(policy, *headers) == expected, headers


def test_a_flood_of_distinct_hosts_keeps_the_memory_bounded() -> None:
    policy = HostOriginPolicy(POLICY)
    for port in range(3 * host_check._REMEMBERED):
        assert _status(policy, (b"host", f"127.0.0.1:{port}".encode())) == 0
        assert _status(policy, (b"host", f"evil{port}.com".encode())) == 421
    assert len(policy._verdicts) <= host_check._REMEMBERED
