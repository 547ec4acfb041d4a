#!/usr/bin/env sh
# Register a running `mix-mcp serve --transport http` (or sse) with Claude Code (user scope).
# MIX_MCP_AUTH_TOKEN must hold the token the server was started with; leave the header out if it has none.
claude mcp add --scope user --transport http mix http://127.0.0.1:8000/mcp \
  --header "Authorization: Bearer ${MIX_MCP_AUTH_TOKEN}"

# The same server over the older HTTP+SSE transport (`mix-mcp serve --transport sse`):
# claude mcp add --scope user --transport sse mix http://127.0.0.1:8000/sse \
#   --header "Authorization: Bearer ${MIX_MCP_AUTH_TOKEN}"
