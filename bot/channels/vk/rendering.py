"""A neutral ``Reply`` -> messages.send calls (text parts, keyboards, attachments, uploads)."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from vk_api.keyboard import MAX_BUTTONS_ON_LINE, MAX_DEFAULT_LINES, MAX_INLINE_LINES, VkKeyboard

from bot.channels import kit
from bot.channels.vk.common import (
    ATTACHMENTS_PER_MESSAGE,
    CHANNEL,
    CONTINUATION,
    DOCUMENT_UPLOAD_LIMIT,
    INLINE_MAX_BUTTONS,
    LABEL_LIMIT,
    PHOTO_FORMATS,
    PHOTO_UPLOAD_LIMIT,
    SNACKBAR_LIMIT,
    STANDARD_MAX_BUTTONS,
    TEXT_LIMIT,
)
from bot.events import (
    Attachment,
    Button,
    Reply,
)

log = logging.getLogger(__name__)

# --- Reply -> VK ------------------------------------------------------------------------------

# How messages.edit names the message: the id messages.send returned (the outbox keeps it), or the
# id within the conversation (what a button press carries).
EditedBy = Literal["message_id", "conversation_message_id"]


@dataclass(frozen=True)
class OutgoingMessage:
    """One messages.send: VK allows one keyboard and ten attachments per message."""

    text: str
    keyboard: str | None = None
    attachment: str = ""
    standard_keyboard: bool = False

    def send_params(self, peer_id: int, random_id: int) -> dict[str, Any]:
        # disable_mentions: a citizen's text quoted in a staff chat must not ping "@all".
        params: dict[str, Any] = {"peer_id": peer_id, "random_id": random_id, "message": self.text,
                                  "disable_mentions": 1}
        return self._with_extras(params)

    def edit_params(self, peer_id: int, id_kind: EditedBy, message_id: int) -> dict[str, Any]:
        return self._with_extras({"peer_id": peer_id, id_kind: message_id, "message": self.text})

    def _with_extras(self, params: dict[str, Any]) -> dict[str, Any]:
        if self.keyboard is not None:
            params["keyboard"] = self.keyboard
        if self.attachment:
            params["attachment"] = self.attachment
        return params


def random_id_for(dedup_key: str) -> int:
    """A positive 31-bit id from the dedup key: VK drops a second send with the same random_id."""
    value = int.from_bytes(hashlib.sha256(dedup_key.encode()).digest()[:4], "big") & 0x7FFFFFFF
    return value or 1  # 0 would switch VK's de-duplication off


def render_reply(reply: Reply) -> list[OutgoingMessage]:
    """Text parts, then extra attachment parts, then extra keyboard pages; empty for a toast-only reply."""
    if reply.is_toast_only:
        return []
    refs = [a.ref for a in reply.attachments if a.channel == CHANNEL]
    ref_chunks = [refs[i:i + ATTACHMENTS_PER_MESSAGE] for i in range(0, len(refs), ATTACHMENTS_PER_MESSAGE)]
    messages = [OutgoingMessage(text) for text in kit.reply_texts(reply, CHANNEL, TEXT_LIMIT)]
    if ref_chunks:
        messages[0] = replace(messages[0], attachment=",".join(ref_chunks[0]))
        messages += [OutgoingMessage("", attachment=",".join(chunk)) for chunk in ref_chunks[1:]]
    keyboards = reply_keyboards(reply)
    if keyboards:
        standard = _is_standard(keyboards[0])
        messages[-1] = replace(messages[-1], keyboard=keyboards[0], standard_keyboard=standard)
        messages += [OutgoingMessage(CONTINUATION, keyboard=page) for page in keyboards[1:]]
    return [m if m.text or m.attachment else replace(m, text=CONTINUATION) for m in messages]


def label(text: str) -> str:
    return text if len(text) <= LABEL_LIMIT else text[:LABEL_LIMIT - 1] + "…"


def reply_keyboards(reply: Reply) -> list[str]:
    """The keyboards a reply needs, as JSON: the first goes with the text, each further one is a page.

    A location request becomes a standard one-time keyboard (VK's location button); VK has no
    phone-sharing button, so a phone request is left out and the user types the number.
    """
    rows = _fit_rows(reply.inline_buttons)
    if any(b.request == "location" for row in reply.request_buttons for b in row):
        # One message carries one keyboard: the reply's other buttons become text buttons of the
        # same one-time keyboard (any press hides it); what does not fit goes to inline pages.
        kept, rest = _take_rows(rows, MAX_DEFAULT_LINES - 1, STANDARD_MAX_BUTTONS - 1)
        return [location_keyboard(kept), *inline_keyboards(rest)]
    return inline_keyboards(rows)


def _fit_rows(rows: list[list[Button]]) -> list[list[Button]]:
    return [row[i:i + MAX_BUTTONS_ON_LINE] for row in rows for i in range(0, len(row), MAX_BUTTONS_ON_LINE)]


def _take_rows(rows: list[list[Button]], max_rows: int, max_buttons: int) -> tuple[list[list[Button]],
                                                                                   list[list[Button]]]:
    taken: list[list[Button]] = []
    count = 0
    for index, row in enumerate(rows):
        if len(taken) == max_rows or count + len(row) > max_buttons:
            return taken, rows[index:]
        taken.append(row)
        count += len(row)
    return taken, []


def inline_keyboards(rows: list[list[Button]]) -> list[str]:
    """Callback buttons in pages of at most 6 rows and 10 buttons (VK's inline limits)."""
    pages: list[str] = []
    rest = _fit_rows(rows)
    while rest:
        page, rest = _take_rows(rest, MAX_INLINE_LINES, INLINE_MAX_BUTTONS)
        keyboard = VkKeyboard(inline=True)
        _add_rows(keyboard, page, keyboard.add_callback_button)
        pages.append(keyboard.get_keyboard())
    return pages


def location_keyboard(rows: list[list[Button]]) -> str:
    keyboard = VkKeyboard(one_time=True)
    keyboard.add_location_button()
    if rows:
        keyboard.add_line()
        _add_rows(keyboard, rows, keyboard.add_button)
    return keyboard.get_keyboard()


def _add_rows(keyboard: VkKeyboard, rows: list[list[Button]], add: Callable[..., None]) -> None:
    for index, row in enumerate(rows):
        if index:
            keyboard.add_line()
        for button in row:
            add(label(button.label), payload={"p": button.payload})


def _is_standard(keyboard: str) -> bool:
    return not json.loads(keyboard).get("inline", False)


def snackbar(toast: str | None) -> dict[str, Any]:
    if not toast:
        return {}
    text = toast if len(toast) <= SNACKBAR_LIMIT else toast[:SNACKBAR_LIMIT - 1] + "…"
    return {"event_data": json.dumps({"type": "show_snackbar", "text": text}, ensure_ascii=False)}


# --- files the bot made -> VK uploads ----------------------------------------------------------


UploadKind = Literal["photo", "document"]


def upload_name(file: Attachment) -> str:
    """The document title VK shows: the display name, ending in the file's own extension."""
    name, extension = file.name or Path(file.ref).name, Path(file.ref).suffix
    return name if name.lower().endswith(extension.lower()) else name + extension


def upload_kind(file: Attachment) -> UploadKind | None:
    """How a local file goes to VK, or None when it cannot (gone, empty, too big): it is named instead."""
    try:
        size = os.path.getsize(file.ref)
    except OSError:
        log.warning("local file %s is not there: named instead of sent", file.ref)
        return None
    # The file goes up under its own path, so its own extension says what it is.
    if file.kind == "photo" and 0 < size <= PHOTO_UPLOAD_LIMIT and Path(file.ref).suffix.lower() in PHOTO_FORMATS:
        return "photo"
    if 0 < size <= DOCUMENT_UPLOAD_LIMIT:
        return "document"
    log.warning("local file %s has %d bytes, VK takes 1 B to 200 MB: named instead", file.ref, size)
    return None
