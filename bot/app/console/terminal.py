"""The terminal itself: reading lines without blocking the event loop, and quiet logs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator

ReadLine = Callable[[str], Awaitable[str | None]]


class StdinReader:
    """input() in a daemon thread, so the event loop runs on and Ctrl-C can end a read
    (a thread stuck in input() must not keep the process alive at exit)."""

    def __init__(self, styled: bool) -> None:
        self.styled = styled
        self._pending: asyncio.Future[str | None] | None = None
        if styled:
            with contextlib.suppress(ImportError):
                import readline  # noqa: F401 - line editing and history for input()

    async def __call__(self, prompt: str) -> str | None:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[str | None] = loop.create_future()
        self._pending = future
        echo = not sys.stdin.isatty()
        if self.styled:
            # \001 and \002 tell readline the colour codes take no room on screen.
            prompt = f"\001\033[1;32m\002{prompt}\001\033[0m\002"

        def settle(line: str | None) -> None:
            if not future.done():
                future.set_result(line)

        def read() -> None:
            try:
                line: str | None = input(prompt)
            except (EOFError, OSError, ValueError):
                line = None
            if line is not None and echo:
                print(line)  # piped input: complete the prompt line, as a terminal would
            with contextlib.suppress(RuntimeError):  # the loop may be gone already
                loop.call_soon_threadsafe(settle, line)

        threading.Thread(target=read, name="console-stdin", daemon=True).start()
        try:
            return await future
        finally:
            self._pending = None

    def interrupt(self) -> bool:
        """End the read in progress as if the input had ended; False if none was running."""
        future = self._pending
        if future is None or future.done():
            return False
        future.set_result(None)
        return True


@contextlib.contextmanager
def quiet_logs() -> Iterator[None]:
    """Per-update INFO lines would drown the chat; warnings and errors still show."""
    root = logging.getLogger()
    previous = root.level
    if previous > logging.DEBUG:
        root.setLevel(max(previous, logging.WARNING))
    try:
        yield
    finally:
        root.setLevel(previous)
