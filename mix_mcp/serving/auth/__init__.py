"""mix-mcp as an OAuth 2.1 resource server: token checks (``tokens``), the gate and metadata (``resource_server``)."""
