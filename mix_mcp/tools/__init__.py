"""The operation table and everything a tool call needs above HTTP.

Arguments, schemas and their generated catalog, transcript shaping and rendering, resources and completions,
confirmation of destructive calls, and the ``tool_schemas/`` snapshots. Uses mix/, observe/ and config only.
"""
