"""Agent runs, in the order a run goes: the result models (``results``), the record the events fold into
(``record``), progress notifications (``progress``), the user's questions (``questions``; permissions
live in ``tools.permissions``), following one run for one call (``follow``) and the tools (``tools``).
"""
