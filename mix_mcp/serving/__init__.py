"""The MCP server over the operation table and the transports that carry it: stdio, SSE, Streamable HTTP.

Also HTTP security, health endpoints and the app factory's building blocks. Uses tools/, mix/, observe/ and config;
never the command line or the emulator.
"""
