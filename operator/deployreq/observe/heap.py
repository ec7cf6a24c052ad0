"""Giving freed heap back to the operating system.

A start over many objects allocates for all of them at once (kopf processes the whole initial listing of
DeploymentRequests concurrently) and frees most of it seconds later. CPython hands small objects back in whole
arenas, but glibc keeps the freed space of larger blocks (dict and list tables, strings) in its heap, so the
process's RSS stays at the start's high-water mark for good. ``malloc_trim`` returns those free pages; the operator
calls it every ten seconds (a walk over the free lists: well under a millisecond). On a C library without it (musl) this does
nothing.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging
from collections.abc import Callable

log = logging.getLogger(__name__)

TRIM_INTERVAL_SECONDS = 10.0


def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        libc = ctypes.CDLL(name)
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


_TRIM = _malloc_trim()


def trim() -> bool:
    """Return free heap pages to the OS; True when the C library could."""
    return bool(_TRIM is not None and _TRIM(0))


async def keep_trimmed(interval: float = TRIM_INTERVAL_SECONDS) -> None:
    """Trim every ``interval`` seconds until cancelled."""
    if _TRIM is None:
        log.debug("malloc_trim is not available: freed heap stays with the process")
        return
    while True:
        await asyncio.sleep(interval)
        trim()
