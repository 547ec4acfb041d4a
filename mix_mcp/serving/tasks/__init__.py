"""Agent runs as MCP tasks (the ``io.modelcontextprotocol/tasks`` extension, 2026-07-28).

A client that opts in on a ``tools/call`` of ``send_message`` gets a task handle at once and polls it
with ``tasks/get``; ``tasks/update`` answers the questions the run asks, ``tasks/cancel`` stops it.
The modules, in the order a task lives through them:

* ``protocol``: the extension's names, wire shapes and errors;
* ``record``: what is kept of a task (and nothing Mix keeps itself);
* ``store``: where it is kept: this process's memory, or Redis that replicas share, with a lease
  that names the one process following the run;
* ``run_steps``: the one place that talks to the run tools (send once, follow a slice, answer);
* ``worker``: drives a task from the message sent to its result, and resumes one left behind;
* ``service``: the request handlers and the hook into ``tools/call``.
"""
