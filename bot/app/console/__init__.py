"""`greenhood console`: chat with the real bot in a terminal, without Telegram or a token.

The bot runs whole in this process (bot.app.process.open_process) against the Bot API
stand-in (bot.standin); the person's lines become updates, the stand-in's record becomes
what is drawn. Modules: session (the running console and its loop), lines (what a typed
line means), people (persons and group chats by name), view (drawing and button numbers),
text (Telegram formatting drawn with rich), terminal (reading stdin, quiet logs).

What the person types:

- a number presses the button shown with that number;
- `/command args` is a command, anything else a text message;
- `@lat,lon` sends a location, `@town` looks the town up offline and sends its location;
- `:help`, `:buttons`, `:as NAME`, `:group NAME`, `:private`, `:photo PATH [caption]`,
  `:time +1d` and `:quit` talk to the console itself; a leading backslash sends the rest
  as plain text.
"""

from bot.app.console.feed import Feed
from bot.app.console.session import TerminalChat, run_console
from bot.app.console.text import html_text, to_rich_text
from bot.app.console.view import FILES_DIR, ConsoleView, PressableButton

__all__ = [
    "FILES_DIR",
    "ConsoleView",
    "Feed",
    "PressableButton",
    "TerminalChat",
    "html_text",
    "run_console",
    "to_rich_text",
]
