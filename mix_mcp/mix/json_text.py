"""Mix's JSON, read into Python values that can always be written out again.

Two things matter when a tool's result is built from what Mix sent:

* speed and memory: pydantic-core's parser reads ``bytes`` in place, without first decoding them
  into a string as ``json.loads`` does (a 20 MB transcript would be held a second time), and is
  about three times faster;
* every string must be valid Unicode. JSON may escape a lone surrogate (``"\\ud800"``, half of an
  emoji cut by a buggy or hostile producer); ``json.loads`` reads it into a string that no UTF-8
  encoder accepts, so the result holding it could not be serialised for the client, and the call
  failed as an internal error. Such a character becomes U+FFFD, the replacement character, as
  invalid UTF-8 becomes in the event stream.

Whatever pydantic-core refuses, ``json.loads`` decides, so what is accepted (a byte-order mark,
UTF-16 and UTF-32, lone surrogates) and how a refusal is described are the standard library's.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

import pydantic_core

_SURROGATE: Final = re.compile("[\ud800-\udfff]")
_REPLACEMENT: Final = "\ufffd"


def parse_json(body: bytes | bytearray | str) -> Any:
    """The JSON value of ``body``; raises ``json.JSONDecodeError`` or ``UnicodeDecodeError`` as ``json.loads`` does."""
    try:
        return pydantic_core.from_json(body)
    except ValueError:
        return valid_unicode(json.loads(body))


def _text(value: str) -> str:
    # An ASCII string holds no surrogate; ``sub`` gives back the string itself when nothing matches.
    return value if value.isascii() else _SURROGATE.sub(_REPLACEMENT, value)


def valid_unicode(value: Any) -> Any:
    """``value`` with every lone surrogate, in keys and strings, replaced by U+FFFD.

    Containers are rebuilt; a string without a surrogate is returned as it is. Only JSON that
    pydantic-core refused comes here, so the copy is off the common path.
    """
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, dict):
        return {_text(key) if isinstance(key, str) else key: valid_unicode(item) for key, item in value.items()}
    if isinstance(value, list):
        return [valid_unicode(item) for item in value]
    return value
