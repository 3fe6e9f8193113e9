"""This process on this host: how other processes recognise it, and whether a process seen
earlier on this host is still alive (a crashed holder of a lease is replaced at once)."""

from __future__ import annotations

import functools
import hashlib
import os
import socket


@functools.cache
def host_id() -> str:
    """A short, stable name for this host (its hostname, hashed)."""
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
