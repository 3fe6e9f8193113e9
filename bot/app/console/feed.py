"""From the stand-in's record to the view: every call the bot made that puts something in
front of people (messages, edits, deletions, toasts, pins), in the order it was made, to
the chat it was for."""

from __future__ import annotations

from rich.text import Text

from bot.app.console.view import ConsoleView, Shown
from bot.standin import SEND_METHODS, BotApiStandIn, RecordedCall


class Feed:
    """Reads the calls recorded since last time (answered ones: a call still being
    answered holds back those after it)."""

    def __init__(self, server: BotApiStandIn, view: ConsoleView) -> None:
        self.server = server
        self.view = view
        self.cursor = len(server.calls)

    def skip(self) -> None:
        """Ignore what was recorded so far (start-up calls)."""
        self.cursor = len(self.server.calls)

    def pump(self) -> None:
        calls = self.server.calls
        while self.cursor < len(calls):
            call = calls[self.cursor]
            if call.method != "getUpdates":
                if not call.done:
                    return
                if call.ok:
                    self._record(call)
            self.cursor += 1

    def _record(self, call: RecordedCall) -> None:
        view = self.view
        if call.method in SEND_METHODS and isinstance(call.result, dict):
            edited = call.method.startswith("edit")
            markup = call.params.get("reply_markup")
            shown = Shown(
                "message",
                message=call.result,
                edited=edited,
                markup=markup if isinstance(markup, dict) and not edited else None,
            )
            view.show(int(call.result["chat"]["id"]), shown)
        elif call.method == "deleteMessage" and call.chat_id is not None:
            message_id = call.params.get("message_id")
            if isinstance(message_id, int):
                view.show(call.chat_id, Shown("deleted", message_id=message_id))
        elif call.method == "answerCallbackQuery":
            text, url = str(call.params.get("text") or ""), call.params.get("url")
            query = self.server.callback_query(str(call.params.get("callback_query_id")))
            if (text or url) and query is not None:
                body = Text(text)
                if url:
                    body.append(f" ({url})", style="dim")
                kind = "alert" if call.params.get("show_alert") else "toast"
                message = query.get("message") or {}
                chat_id = int((message.get("chat") or query["from"])["id"])
                # A toast shows to whoever pressed, where they pressed, or not at all.
                view.show(chat_id, Shown(kind, text=body), ephemeral=True)
        elif call.method == "pinChatMessage" and call.chat_id is not None:
            pinned = view.chrome("console.pinned", style="dim italic")
            view.show(call.chat_id, Shown("note", text=pinned))
