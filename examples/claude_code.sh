#!/usr/bin/env sh
# Register mix-mcp with Claude Code (user scope). Drop --emulator to use the Mix at MIX_BASE_URL.
claude mcp add mix --scope user \
  -e MIX_BASE_URL=http://localhost:8088 \
  -- "$(command -v mix-mcp)" serve --emulator
