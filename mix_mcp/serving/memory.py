"""Memory a large answer used, given back to the system once the answer is gone.

glibc keeps freed memory in its heap for reuse and returns only what is free at the heap's top. A
20 MB transcript leaves tens of megabytes of free but resident pages in the middle of the heap, so a
long-running server would look as large as its largest answer ever was. Two settings of the C
library keep it to the size of the answer in hand:

* ``malloc_trim(0)`` after a large answer is written hands those pages back (glibc 2.8 and later);
* a fixed mmap threshold: by default glibc raises the size from which it maps a block on its own
  to the largest block freed so far, so after the first 20 MB answer every buffer of the next one
  comes from the heap instead, where it is not returned when freed and the peak varies by 15 MiB
  from one export to the next. Fixing the threshold at glibc's initial 128 KiB keeps large buffers
  mapped and returned as soon as they are freed.

Elsewhere (musl, macOS, Windows) both do nothing.
"""

from __future__ import annotations

import asyncio
import ctypes
import functools
import logging
from collections.abc import Callable
from typing import Final

logger = logging.getLogger("mix_mcp.memory")

#: Long enough for the SDK to drop its references to the message just written.
_AFTER_SECONDS: Final = 0.05
#: glibc's mallopt parameter number for the mmap threshold, and the threshold kept (its initial value).
_M_MMAP_THRESHOLD: Final = -3
_MMAP_THRESHOLD_BYTES: Final = 128 * 1024


@functools.cache
def _libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(None)  # the symbols already loaded: the C library's among them, no search
    except OSError:
        return None
    return libc if hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt") else None  # glibc


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    libc = _libc()
    if libc is None:
        return None
    trim = libc.malloc_trim
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def keep_large_blocks_mapped() -> bool:
    """Fix glibc's mmap threshold (see the module's docstring); True when the C library took it."""
    libc = _libc()
    if libc is None:
        return False
    mallopt = libc.mallopt
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    taken = int(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_BYTES)) == 1
    if not taken:
        logger.debug("the C library kept its own mmap threshold")
    return taken


def release_free_memory() -> None:
    """Return the heap's free pages to the system, where the C library can (a few milliseconds)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def release_soon() -> None:
    """``release_free_memory`` a moment from now, once the large message just written is freed."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    loop.call_later(_AFTER_SECONDS, release_free_memory)
