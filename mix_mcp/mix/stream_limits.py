"""Every bound on what a Mix event stream may cost mix-mcp, in one place.

A stream is an open-ended body from a server mix-mcp does not control. Each number below caps one
way it could hurt the server (memory, CPU, time, connections); ``events`` enforces them and
docs/guarantees.md lists them. Change one here and nowhere else.
"""

from __future__ import annotations

from typing import Final

#: Longest line, and largest event (its data lines together), accepted from Mix, in bytes.
MAX_LINE_BYTES: Final = 1024 * 1024
MAX_EVENT_BYTES: Final = 4 * 1024 * 1024
#: Bytes Mix may send on a connection before its ``connected`` event. Mix sends ``connected`` first;
#: what may come before it is a replay after ``Last-Event-ID``, which this bounds.
MAX_BYTES_BEFORE_CONNECTED: Final = 1024 * 1024
#: Longest wait, from opening the stream to Mix's ``connected`` event, whatever arrives meanwhile.
#: A call's own deadline shortens it further.
CONFIRM_TIMEOUT: Final = 10.0
#: Longest event id kept as the resume point (``Last-Event-ID``); the run tools accept ids this long.
#: A longer id is treated as no id (the previous resume point stands).
MAX_EVENT_ID_CHARS: Final = 256
#: Event ids remembered to drop replays (the replay after a reconnect overlaps what was read).
SEEN_IDS: Final = 4096
#: Reopenings in a row that bring no new event before the stream counts as lost. ``connected``,
#: heartbeats, comments and replayed events are not new: they do not reset the count.
MAX_BARREN_REOPENINGS: Final = 5
#: Reopenings in one follow, whatever they bring.
MAX_REOPENINGS: Final = 30
#: First and longest pause before a reopening, whatever ``retry:`` Mix asks for (doubling in between).
FIRST_RECONNECT_DELAY: Final = 0.1
MAX_RECONNECT_DELAY: Final = 5.0
#: Parser cost: each byte received is examined a bounded number of times (no rescan of the buffer per
#: line), so CPU grows linearly with what Mix sends. Stated here for docs/guarantees.md; the decoder's
#: design is what enforces it, and tests/faults measure it.
PARSER_COST: Final = "linear in the bytes received"
