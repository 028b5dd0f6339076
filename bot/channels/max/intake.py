"""MAX updates -> neutral ``Incoming`` events (https://dev.max.ru/docs-api, "Update").

``message_created`` carries text and attachments (image, file, contact, location, ...);
``message_callback`` a button press (payload + callback_id, answered through /answers);
``bot_started`` the deep link https://max.ru/<bot>?start=<payload>, which becomes ``/start <payload>``.
"""

from __future__ import annotations

import hashlib
import hmac
import mimetypes
import re
from collections.abc import Mapping, Sequence
from typing import Any

from bot.events import Attachment, Incoming, Location

CHANNEL = "max"
LANGUAGES = ("ru", "en")
TEL = re.compile(r"^TEL[^:]*:(.+)$", re.MULTILINE | re.IGNORECASE)


def incoming_from_update(update: Mapping[str, Any], token: str) -> Incoming | None:
    """One update in; None for what is not for the conversations (bot_stopped, edits, our own messages)."""
    kind = update.get("update_type")
    if kind == "message_created":
        return _from_message(update, token)
    if kind == "message_callback":
        return _from_press(update)
    if kind == "bot_started":
        return _from_start(update)
    return None


def callback_id(update: Mapping[str, Any]) -> str | None:
    if update.get("update_type") != "message_callback":
        return None
    found = (update.get("callback") or {}).get("callback_id")
    return str(found) if found else None


def stopped_chat(update: Mapping[str, Any]) -> str | None:
    """The chat of a user who stopped (and so blocked) the bot."""
    if update.get("update_type") == "bot_stopped" and update.get("chat_id") is not None:
        return str(update["chat_id"])
    return None


def language(update: Mapping[str, Any]) -> str | None:
    locale = str(update.get("user_locale") or "")[:2].lower()
    return locale if locale in LANGUAGES else None


def _name(user: Mapping[str, Any]) -> str:
    parts = [user.get("first_name"), user.get("last_name")]
    return " ".join(str(part) for part in parts if part) or str(user.get("name") or "")


def document_urls(update: Mapping[str, Any]) -> dict[str, str]:
    """Where each file of a new message can be downloaded, by its ref (the attachment's token): its "url"."""
    message = update.get("message") if update.get("update_type") == "message_created" else None
    body = message.get("body") if isinstance(message, Mapping) else None
    urls: dict[str, str] = {}
    for item in (body.get("attachments") or []) if isinstance(body, Mapping) else []:
        payload = item.get("payload") if isinstance(item, Mapping) and item.get("type") == "file" else None
        if isinstance(payload, Mapping) and payload.get("token") and isinstance(payload.get("url"), str):
            urls[str(payload["token"])] = payload["url"]
    return urls


def _from_message(update: Mapping[str, Any], token: str) -> Incoming | None:
    message = update.get("message") or {}
    sender, recipient, body = message.get("sender") or {}, message.get("recipient") or {}, message.get("body") or {}
    if sender.get("is_bot") or sender.get("user_id") is None or recipient.get("chat_id") is None:
        return None  # our own messages and other bots
    user_id = str(sender["user_id"])
    text = str(body.get("text") or "")
    files, phone, location, refused = _attachments(body.get("attachments") or [], user_id, token)
    unsupported = None
    if not (text.strip() or files or phone or location):
        unsupported = refused[0] if refused else "empty"
    return Incoming(
        channel=CHANNEL, chat_id=str(recipient["chat_id"]), user_id=user_id,
        update_key=f"max:m:{body.get('mid')}", text=text, attachments=tuple(files), location=location,
        phone=phone, unsupported=unsupported, is_group=recipient.get("chat_type") not in (None, "dialog"),
        user_name=_name(sender), language=language(update),
    )


def _from_press(update: Mapping[str, Any]) -> Incoming | None:
    callback, message = update.get("callback") or {}, update.get("message") or {}
    user, recipient = callback.get("user") or {}, message.get("recipient") or {}
    if user.get("user_id") is None or recipient.get("chat_id") is None or not callback.get("callback_id"):
        return None  # the message with the button is gone: only the press is answered
    mid = (message.get("body") or {}).get("mid")
    return Incoming(
        channel=CHANNEL, chat_id=str(recipient["chat_id"]), user_id=str(user["user_id"]),
        update_key=f"max:c:{callback['callback_id']}", payload=str(callback.get("payload") or ""),
        is_group=recipient.get("chat_type") not in (None, "dialog"), user_name=_name(user),
        language=language(update), message_ref=str(mid) if mid else None,
    )


def _from_start(update: Mapping[str, Any]) -> Incoming | None:
    user = update.get("user") or {}
    if update.get("chat_id") is None or user.get("user_id") is None:
        return None
    payload = str(update.get("payload") or "").strip()
    return Incoming(
        channel=CHANNEL, chat_id=str(update["chat_id"]), user_id=str(user["user_id"]),
        update_key=f"max:s:{update['chat_id']}:{update.get('timestamp')}",
        text=f"/start {payload}" if payload else "/start", user_name=_name(user), language=language(update),
    )


def _attachments(items: Sequence[Mapping[str, Any]], user_id: str, token: str
                 ) -> tuple[list[Attachment], str | None, Location | None, list[str]]:
    files: list[Attachment] = []
    phone: str | None = None
    location: Location | None = None
    refused: list[str] = []
    for item in items:
        kind, payload = str(item.get("type") or "unknown"), item.get("payload") or {}
        if kind == "image" and payload.get("token"):
            name = f"photo_{payload.get('photo_id')}.jpg" if payload.get("photo_id") else "photo.jpg"
            files.append(Attachment(kind="photo", ref=str(payload["token"]), channel=CHANNEL, name=name,
                                    mime="image/jpeg"))
        elif kind == "file" and payload.get("token"):
            name = str(item.get("filename") or "document")
            size = item.get("size")
            files.append(Attachment(kind="document", ref=str(payload["token"]), channel=CHANNEL, name=name,
                                    size=int(size) if size is not None else None,
                                    mime=mimetypes.guess_type(name)[0] or ""))
        elif kind == "location" and item.get("latitude") is not None and item.get("longitude") is not None:
            location = Location(float(item["latitude"]), float(item["longitude"]))
        elif kind == "contact" and (own := own_phone(payload, user_id, token)) is not None:
            phone = own
        else:
            refused.append(kind)  # sticker, video, audio, share, someone else's or a forged contact
    return files, phone, location, refused


def own_phone(payload: Mapping[str, Any], user_id: str, token: str) -> str | None:
    """The phone of a contact the user shared with request_contact: its vCard signed by MAX, and their own.

    MAX signs the vCard with HMAC-SHA256 keyed by the bot token, so a typed or forwarded card is not
    taken for a verified phone (dev.max.ru, "ContactAttachment").
    """
    vcf, signature = str(payload.get("vcf_info") or ""), str(payload.get("hash") or "")
    expected = hmac.new(token.encode(), vcf.encode(), hashlib.sha256).hexdigest()
    if not vcf or not hmac.compare_digest(signature.lower().encode(), expected.encode()):
        return None
    owner = payload.get("max_info") or {}
    if owner.get("user_id") is not None and str(owner["user_id"]) != user_id:
        return None
    found = TEL.search(vcf)
    return found.group(1).strip() if found else None
