"""The console channel: the same conversations in a terminal, like `rasa shell`.

Buttons are listed numbered and pressed by typing the number or the label. When standard
input is not a terminal, lines are read as messages one by one, so a conversation can be
piped in. Each ``--user NAME`` is a separate person in the database; messages the bot owed
that person while they were away (the outbox) are shown when they come back.

Beyond plain text:  /attach PATH  sends a file,  /geo LAT LON  sends a location,
a "share phone" button asks for the number on the next line.
"""

from __future__ import annotations

import asyncio
import mimetypes
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TextIO

from bot.channels.kit import handle_patiently
from bot.events import Attachment, Button, ConversationHandler, Incoming, Location, Reply

CHANNEL = "console"
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".gif", ".webp", ".heic"}
# Attachments whose ref is a path on this machine: files the bot generated, and files sent in the console.
LOCAL_FILES = frozenset({"local", CHANNEL})
MEMORY = 300  # older buttons kept pressable by label

PendingDrain = Callable[[str], Awaitable[int]]
# What others typed reaches this terminal (a citizen's text on an operator's card): control characters
# (ANSI escapes, carriage returns, bidi overrides) are shown escaped, so they cannot redraw the screen.
_CONTROLS = {code: f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
             for code in (*range(0x00, 0x0a), *range(0x0b, 0x20), *range(0x7f, 0xa0), *range(0x202a, 0x202f),
                          *range(0x2066, 0x206a))}


def _plain(label: str) -> str:
    """A label as one would type it: no emoji or arrows, any case ("✅ Готово" == "готово")."""
    return " ".join("".join(ch if ch.isalnum() else " " for ch in label).split()).casefold()


def _file_line(attachment: Attachment) -> str:
    """A file made or sent on this machine shows where to open it; a messenger's file only its name."""
    if attachment.channel in LOCAL_FILES:
        return f"📎 {attachment.name or Path(attachment.ref).name} — {attachment.ref}"
    return f"📎 {attachment.name or attachment.ref}"


class ConsoleChannel:
    channel = CHANNEL

    def __init__(self, handler: ConversationHandler, user: str, stdin: TextIO, stdout: TextIO,
                 drain_pending: PendingDrain | None = None) -> None:
        self.handler = handler
        self.user = user
        self.stdin = stdin
        self.stdout = stdout
        self.drain_pending = drain_pending
        self.buttons: list[Button] = []
        # Every button shown so far, newest last: as in a messenger, a button on an older message still
        # works (typed by its label); the payload decides what happens, not the message's age.
        self.earlier: list[Button] = []
        self.interactive = stdin.isatty()

    # --- Sender: what the outbox delivers to this console user ---
    async def send(self, chat_id: str, reply: Reply, *, dedup_key: str) -> str | None:
        """A message that came while away (or for someone else's console): its buttons become pressable."""
        text = reply.text if reply.text.startswith("📨") else "📨 " + reply.text
        self.render([Reply(text=text, buttons=reply.buttons, attachments=reply.attachments)],
                    keep_previous=True)
        if self.interactive:
            self.stdout.write("> ")  # it may have come while the person was typing: the prompt again
            self.stdout.flush()
        return None

    async def edit(self, chat_id: str, message_ref: str, reply: Reply) -> bool:
        return False

    async def run(self) -> None:
        self._print(f"— appeals-bot console · you are “{self.user}” · /help, Ctrl+D to leave —")
        await self._pending()
        while True:
            line = await self._read("> ")
            if line is None:
                break
            line = line.rstrip("\n")
            if not line.strip():
                continue
            if not self.interactive:
                self._print(f"> {line}")
            event = await self._to_incoming(line)
            if event is None:
                continue
            self.render(await handle_patiently(self.handler, event, budget=None))  # waits out a locked database
            await self._pending()
        self._print("— bye —")

    async def _pending(self) -> None:
        if self.drain_pending is not None:
            await self.drain_pending(self.user)

    async def _read(self, prompt: str) -> str | None:
        if self.interactive:
            self.stdout.write(prompt)
            self.stdout.flush()
        line = await asyncio.to_thread(self.stdin.readline)
        return line or None

    def _incoming(self, **fields: object) -> Incoming:
        return Incoming(channel=CHANNEL, chat_id=self.user, user_id=self.user,
                        update_key=f"console:{uuid.uuid4().hex}", user_name=self.user, **fields)  # type: ignore[arg-type]

    async def _to_incoming(self, line: str) -> Incoming | None:
        button = self._match_button(line.strip())
        if button is not None:
            if button.request == "phone":
                phone = await self._read("phone> ")
                return self._incoming(phone=(phone or "").strip()) if phone else None
            if button.request == "location":
                coordinates = await self._read("lat lon> ")
                return self._location(coordinates or "")
            return self._incoming(payload=button.payload)
        if line.startswith("/attach "):
            return self._attachment(line.removeprefix("/attach ").strip())
        if line.startswith("/geo "):
            return self._location(line.removeprefix("/geo "))
        return self._incoming(text=line)

    def _match_button(self, text: str) -> Button | None:
        if text.isascii() and text.isdigit() and 1 <= int(text) <= len(self.buttons):
            return self.buttons[int(text) - 1]
        wanted = _plain(text)
        if not wanted:
            return None
        latest = next((b for b in self.buttons if _plain(b.label) == wanted), None)
        if latest is None:  # "отправить" for "✅ Отправить обращение": the beginning, when only one fits
            fitting = [b for b in self.buttons if _plain(b.label).startswith(wanted + " ")]
            latest = fitting[0] if len(fitting) == 1 else None
        return latest or next((b for b in reversed(self.earlier) if _plain(b.label) == wanted), None)

    def _attachment(self, raw_path: str) -> Incoming | None:
        path = Path(raw_path).expanduser()
        if not path.is_file():
            self._print(f"(no such file: {path})")
            return None
        kind = "photo" if path.suffix.lower() in IMAGE_SUFFIXES else "document"
        attachment = Attachment(kind=kind, ref=str(path.resolve()), channel=CHANNEL, name=path.name,
                                size=path.stat().st_size, mime=mimetypes.guess_type(path.name)[0] or "")
        return self._incoming(attachments=(attachment,))

    def _location(self, raw: str) -> Incoming | None:
        try:
            latitude, longitude = (float(part) for part in raw.replace(",", " ").split())
        except ValueError:
            self._print("(write the location as two numbers: latitude longitude)")
            return None
        return self._incoming(location=Location(latitude, longitude))

    def render(self, replies: list[Reply], keep_previous: bool = False) -> None:
        numbered: list[Button] = list(self.buttons) if keep_previous else []
        for reply in replies:
            if reply.toast:
                self._print(f"  ({reply.toast})")
            if reply.is_toast_only:
                continue
            self._print(reply.text)
            for attachment in reply.attachments:
                self._print(f"  {_file_line(attachment)}")
            numbered.extend(self._show_buttons(reply, numbered_from=len(numbered)))
        if any(not reply.is_toast_only for reply in replies):
            # The numbers are those of the latest answer; older buttons are pressed by their label.
            self.earlier = [*self.earlier, *self.buttons][-MEMORY:]
            self.buttons = numbered

    def _show_buttons(self, reply: Reply, numbered_from: int | None) -> list[Button]:
        shown: list[Button] = []
        for row in reply.buttons:
            cells = []
            for button in row:
                if numbered_from is None:
                    cells.append(f"[{button.label}]")
                    continue
                shown.append(button)
                cells.append(f"[{numbered_from + len(shown)}] {button.label}")
            self._print("  " + "   ".join(cells))
        return shown

    def _print(self, text: str) -> None:
        self.stdout.write(text.translate(_CONTROLS) + "\n")
        self.stdout.flush()
