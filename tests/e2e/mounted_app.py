"""A user's own Starlette app with mix-mcp mounted at ``/mix``, as the README shows; run by uvicorn in a test."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route

from mix_mcp.config import load_settings
from mix_mcp.serving.transports import create_app


async def home(_request: Request) -> Response:
    return PlainTextResponse("the parent app")


def parent_app() -> Starlette:
    mix = create_app(load_settings())
    # A mounted app's lifespan is not run by its parent: enter it from the parent's.
    return Starlette(
        routes=[Route("/", home), Mount("/mix", app=mix)],
        lifespan=mix.router.lifespan_context,
    )
