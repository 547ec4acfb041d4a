"""``uvicorn --factory mix_mcp.asgi:app_factory``: mix-mcp for an ASGI server you run yourself.

Settings come from the environment only (``MIX_BASE_URL``, ``MIX_MCP_AUTH_TOKEN``,
``MIX_MCP_STATELESS``, ...), since the ASGI server owns the command line; ``MIX_MCP_TRANSPORT=sse``
picks SSE, anything else Streamable HTTP. Each worker process calls the factory and gets its own
pooled Mix client. The ASGI server binds the socket, so the exposure rule is applied per request:
without a token, MCP requests that did not arrive on a loopback address are refused.
"""

from __future__ import annotations

from starlette.applications import Starlette

from mix_mcp._version import __version__
from mix_mcp.cli.mix_target import mix_target
from mix_mcp.config import ConfigError, load_settings
from mix_mcp.serving.http_security import resolve_auth_token
from mix_mcp.serving.transports import TRANSPORT_NAMES, build_app, describe_serving, say


def app_factory() -> Starlette:
    try:
        settings = load_settings()
        token = resolve_auth_token(settings)
        app, runtime = build_app(settings, token, mix_target=mix_target)
    except ConfigError as exc:
        say(f"mix-mcp: configuration error: {exc}")
        raise SystemExit(2) from None
    details = "; ".join(describe_serving(settings, runtime.transport, token is not None))
    mix = (
        "the built-in emulator (the per-user one, or one per process with MIX_MCP_EMULATOR_MODE=private)"
        if settings.use_emulator
        else settings.display_base_url
    )
    say(
        f"mix-mcp {__version__} ASGI app: MCP over {TRANSPORT_NAMES[runtime.transport]} at "
        f"{settings.endpoint_path} ({details}); Mix at {mix}"
    )
    return app
