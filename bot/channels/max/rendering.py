"""Neutral replies -> MAX message bodies (https://dev.max.ru/docs-api, "NewMessageBody", "InlineKeyboard").

A message holds at most 4,000 characters; an inline keyboard at most 30 rows of at most 7 buttons
(3 when a row has a link / request_contact / request_geo_location button), a button text at most 128
characters and a callback payload at most 1,024. Longer texts are cut into several messages; more rows
go to further messages of their own.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from bot.channels.kit import reply_texts
from bot.channels.max.intake import CHANNEL
from bot.events import Attachment, Button, Reply

TEXT_LIMIT = 4000
ROWS_LIMIT = 30
ROW_LIMIT = 7
WIDE_ROW_LIMIT = 3
BUTTON_TEXT_LIMIT = 128
PAYLOAD_LIMIT = 1024
CONTINUATION = "…"  # a keyboard page of its own needs a word to hang on
REQUESTS = {"phone": "request_contact", "location": "request_geo_location"}
FILE_TYPES = {"photo": "image", "document": "file"}


@dataclass(frozen=True)
class OutgoingMessage:
    text: str
    files: tuple[dict[str, Any], ...] = ()
    keyboard: tuple[tuple[dict[str, Any], ...], ...] = ()

    def body(self) -> dict[str, Any]:
        attachments = list(self.files)
        if self.keyboard:
            attachments.append({"type": "inline_keyboard",
                                "payload": {"buttons": [list(row) for row in self.keyboard]}})
        # notify: the person hears it; format none: a citizen's text is shown as typed, never as markup.
        return {"text": self.text or None, "attachments": attachments, "notify": True}


def render_reply(reply: Reply) -> list[OutgoingMessage]:
    """Text parts (the files on the first), the keyboard on the last; empty for a toast-only reply."""
    if reply.is_toast_only:
        return []
    own = [file for file in reply.attachments if file.channel == CHANNEL]
    messages = [OutgoingMessage(text) for text in reply_texts(reply, CHANNEL, TEXT_LIMIT)]
    if own:
        messages[0] = replace(messages[0], files=tuple(file_attachment(file) for file in own))
    pages = keyboard_pages(reply.buttons)
    if pages:
        messages[-1] = replace(messages[-1], keyboard=pages[0])
        messages += [OutgoingMessage(CONTINUATION, keyboard=page) for page in pages[1:]]
    return [m if m.text or m.files else replace(m, text=CONTINUATION) for m in messages]


def file_attachment(file: Attachment) -> dict[str, Any]:
    """A file MAX already has (a user's, or one the channel uploaded): its token is enough."""
    return {"type": FILE_TYPES[file.kind], "payload": {"token": file.ref}}


def keyboard_pages(rows: list[list[Button]]) -> list[tuple[tuple[dict[str, Any], ...], ...]]:
    fitted = [chunk for row in rows for chunk in _fit(row)]
    return [tuple(fitted[i:i + ROWS_LIMIT]) for i in range(0, len(fitted), ROWS_LIMIT)]


def _fit(row: list[Button]) -> list[tuple[dict[str, Any], ...]]:
    width = WIDE_ROW_LIMIT if any(button.request for button in row) else ROW_LIMIT
    buttons = [button_of(button) for button in row]
    return [tuple(buttons[i:i + width]) for i in range(0, len(buttons), width)]


def button_of(button: Button) -> dict[str, Any]:
    text = label(button.label)
    if button.request is not None:
        return {"type": REQUESTS[button.request], "text": text}
    if len(button.payload) > PAYLOAD_LIMIT:
        # Payloads are short by design (bot/payloads.py); a longer one is a bug to see at once.
        raise ValueError(f"a button payload of {len(button.payload)} characters; MAX takes {PAYLOAD_LIMIT}")
    return {"type": "callback", "text": text, "payload": button.payload}


def label(text: str) -> str:
    return text if len(text) <= BUTTON_TEXT_LIMIT else text[:BUTTON_TEXT_LIMIT - 1] + "…"
