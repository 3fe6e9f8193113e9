"""glibc's allocator, capped to a few arenas for the long-running processes.

glibc gives each thread that allocates under contention an arena of its own (up to 8 per
core), and memory freed in one arena is reused only by the threads of that arena. A
serving process has a thread per database connection (aiosqlite: up to 128 on SQLite),
and each one's SQLite page cache and statements end up in one of those arenas: the memory
benchmark measured 201.8 MiB resident after its updates as glibc does by default and
185.9 MiB with two arenas (benchmarks/memory.py), for no measurable change in throughput.
An operator's own MALLOC_ARENA_MAX wins; elsewhere than glibc nothing is done."""

from __future__ import annotations

import ctypes
import os
import sys

ARENAS = 2
# mallopt's parameter number for the arena limit (glibc's malloc.h).
_M_ARENA_MAX = -8


def cap_arenas(arenas: int = ARENAS) -> bool:
    """Cap glibc's malloc arenas for the threads this process starts from now on; returns
    whether it was done."""
    if not sys.platform.startswith("linux") or "MALLOC_ARENA_MAX" in os.environ:
        return False
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_ARENA_MAX, arenas))
