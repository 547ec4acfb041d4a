"""What an error answer means beyond its status: the facts real Mix versions encode in their bodies.

* Go's router answers a route the running Mix lacks with ``404 page not found`` and a known path with
  the wrong method with ``Method Not Allowed``, both ``text/plain``: the operation does not exist on
  that Mix, which is not the same as a missing session (a 404 in Mix's JSON envelope).
* Older Mix versions answer the ``DELETE`` of an unknown id with a 500 whose message ends in
  ``sql: no rows in result set``: the session does not exist, and repeating cannot change that.
* Validation messages start ``Validation error for field 'x': ``; the field is named in Mix's
  camelCase, while the agent passes snake_case arguments.
"""

from __future__ import annotations

import re
from typing import Final, Literal

from pydantic.alias_generators import to_snake

#: Bodies Go's ``net/http`` router writes, lower-cased and stripped.
_ROUTER_BODIES: Final[dict[str, Literal["route", "method"]]] = {
    "404 page not found": "route",
    "method not allowed": "method",
    "405 method not allowed": "method",
}
_NO_ROWS: Final = "sql: no rows in result set"
_VALIDATION_PREFIX: Final = re.compile(r"^Validation error for field '([^']{1,200})': ")
#: The emulator's seed profile words a missing route in its envelope: "Route not found: GET /x".
_ENVELOPE_ROUTE: Final = re.compile(r"^(Route not found|Method not allowed): ")


def router_refusal(status: int, content_type: str, body: bytes | bytearray) -> Literal["route", "method"] | None:
    """``"route"``/``"method"`` when the answer is Go's router refusing the path or method, else ``None``."""
    if status not in (404, 405) or not content_type.lower().startswith("text/plain") or len(body) > 64:
        return None
    return _ROUTER_BODIES.get(bytes(body).decode("utf-8", "replace").strip().lower())


def envelope_route_refusal(status: int, message: str) -> bool:
    """Whether an enveloped 404/405 says the route, not a session, is missing."""
    return status in (404, 405) and _ENVELOPE_ROUTE.match(message) is not None


def no_rows(status: int, body: bytes | bytearray) -> bool:
    """A 500 that only says the row was not there (older Mix's answer to deleting an unknown id)."""
    return status == 500 and _NO_ROWS.encode() in body


def reworded_validation(message: str) -> tuple[str, str | None]:
    """The message without Mix's validation prefix, and the argument it names (snake_case), if any."""
    match = _VALIDATION_PREFIX.match(message)
    if match is None:
        return message, None
    field = match.group(1)
    rest = message[match.end() :]
    return rest, to_snake(field)
