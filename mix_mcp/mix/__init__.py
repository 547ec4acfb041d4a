"""The Mix side: endpoints, contract models, the one client that talks to Mix, and the error taxonomy.

Knows nothing of MCP: uses observe/ and config only, so the emulator and any other caller can share its models.
"""
