"""VK events (Bots Long Poll, Callback API) -> the neutral ``Incoming`` events."""

from __future__ import annotations

import json
import logging
import mimetypes
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.channels.vk.common import CHANNEL, CHAT_PEER_START, LANGUAGE_BY_LANG_ID, PHOTO_SIZE_RANK, START_COMMAND
from bot.events import (
    Attachment,
    Incoming,
    Location,
)

log = logging.getLogger(__name__)

# --- VK -> Incoming ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ButtonPress:
    """What ``messages.sendMessageEventAnswer`` needs to answer a callback button press."""

    event_id: str
    user_id: int
    peer_id: int


def incoming_from_event(event: Mapping[str, Any], group_id: int = 0) -> Incoming | None:
    """One Bots Long Poll / Callback API event in; None for what is not for the conversations."""
    kind = event.get("type")
    obj = event.get("object") or {}
    if kind == "message_new":
        return _from_message(event, obj.get("message") or {}, obj.get("client_info") or {}, group_id)
    if kind == "message_event":
        return _from_press(event, obj)
    return None


def button_press(event: Mapping[str, Any]) -> ButtonPress | None:
    obj = event.get("object") or {}
    if event.get("type") != "message_event" or not obj.get("event_id"):
        return None
    return ButtonPress(str(obj["event_id"]), int(obj.get("user_id", 0)), int(obj.get("peer_id", 0)))


def peer_of(event: Mapping[str, Any]) -> str:
    """The conversation an event belongs to, for handling one peer's events in order."""
    obj = event.get("object")
    if not isinstance(obj, Mapping):
        return "other"
    message = obj.get("message")
    peer = message.get("peer_id") if isinstance(message, Mapping) else obj.get("peer_id")
    return str(peer) if isinstance(peer, int | str) else "other"


def update_key(event: Mapping[str, Any], fallback: str) -> str:
    # Since API 5.103 every event carries event_id, the same on each redelivery (Callback API
    # retries, a long-poll replay); older shapes fall back to the message's own identity.
    event_id = event.get("event_id")
    return f"vk:{event_id}" if event_id else f"vk:{fallback}"


def _from_message(event: Mapping[str, Any], message: Mapping[str, Any], client_info: Mapping[str, Any],
                  group_id: int) -> Incoming | None:
    from_id, peer_id = int(message.get("from_id") or 0), int(message.get("peer_id") or 0)
    if from_id <= 0 or not peer_id or message.get("out") or message.get("action"):
        return None  # other communities, our own messages, chat service messages (joins, pins)
    text = _strip_mention(str(message.get("text") or ""), group_id)
    attachments, unsupported = _attachments(message.get("attachments") or [])
    location = _location(message.get("geo"))
    payload = _decode_payload(message.get("payload"))
    neutral = _neutral_payload(payload)
    if payload == START_COMMAND:
        text, neutral = "/start", None
    forwarded = bool(message.get("fwd_messages")) or bool(message.get("reply_message"))
    has_content = bool(text.strip() or attachments or location or neutral is not None)
    # Forwards are ignored politely: the own text counts, the forwarded content does not. The
    # handlers refuse a whole event marked unsupported, so mark it only when nothing usable is left.
    refused = None
    if not has_content:
        refused = unsupported[0] if unsupported else "forward" if forwarded else "empty"
    cmid = message.get("conversation_message_id")
    return Incoming(
        channel=CHANNEL, chat_id=str(peer_id), user_id=str(from_id),
        update_key=update_key(event, f"m:{peer_id}:{cmid or message.get('id')}"),
        text=text, payload=neutral, attachments=tuple(attachments), location=location, unsupported=refused,
        is_group=peer_id >= CHAT_PEER_START, language=LANGUAGE_BY_LANG_ID.get(client_info.get("lang_id", -1)),
    )


def _from_press(event: Mapping[str, Any], obj: Mapping[str, Any]) -> Incoming | None:
    peer_id, user_id = int(obj.get("peer_id") or 0), int(obj.get("user_id") or 0)
    if not peer_id or user_id <= 0:
        return None
    cmid = obj.get("conversation_message_id")
    # A press is always a button: a payload we cannot read becomes "" so the handlers treat it as stale.
    neutral = _neutral_payload(_decode_payload(obj.get("payload")))
    return Incoming(
        channel=CHANNEL, chat_id=str(peer_id), user_id=str(user_id),
        update_key=update_key(event, f"e:{obj.get('event_id')}"), payload=neutral or "",
        is_group=peer_id >= CHAT_PEER_START, message_ref=str(cmid) if cmid else None,
    )


def _strip_mention(text: str, group_id: int) -> str:
    # In a group chat a message addressed to the bot starts with "[club123|@name]".
    if not group_id:
        return text
    return re.sub(rf"^\[(?:club|public){group_id}\|[^\]]*\][\s,:]*", "", text)


def _decode_payload(raw: Any) -> Any:
    # message_new carries the button payload as a JSON string, message_event as an object.
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            return None
    return raw


def _neutral_payload(payload: Any) -> str | None:
    if isinstance(payload, dict) and isinstance(payload.get("p"), str):
        return str(payload["p"])
    return None


def _attachments(items: Sequence[Mapping[str, Any]]) -> tuple[list[Attachment], list[str]]:
    taken: list[Attachment] = []
    refused: list[str] = []
    for item in items:
        kind = str(item.get("type", ""))
        body = item.get(kind) or {}
        if kind == "photo":
            taken.append(_photo(body))
        elif kind == "doc":
            taken.append(_document(body))
        else:
            refused.append(kind or "unknown")  # sticker, audio_message, video, wall, link, poll...
    return taken, refused


def document_urls(event: Mapping[str, Any]) -> dict[str, str]:
    """Where each document of a new message can be downloaded, by its ref: the doc's own "url" (VK offers
    no way to look it up later with a community token: docs.getById is for user tokens)."""
    obj = event.get("object")
    message = obj.get("message") if isinstance(obj, Mapping) else None
    urls: dict[str, str] = {}
    for item in (message.get("attachments") or []) if isinstance(message, Mapping) else []:
        doc = item.get("doc") if isinstance(item, Mapping) and item.get("type") == "doc" else None
        if isinstance(doc, Mapping) and isinstance(doc.get("url"), str):
            urls[_media_ref("doc", doc)] = doc["url"]
    return urls


def _media_ref(prefix: str, body: Mapping[str, Any]) -> str:
    # The form messages.send accepts in "attachment": {type}{owner_id}_{id}[_{access_key}];
    # the access key is what lets the community resend a user's private file.
    ref = f"{prefix}{body.get('owner_id')}_{body.get('id')}"
    return f"{ref}_{body['access_key']}" if body.get("access_key") else ref


def largest_photo_size(photo: Mapping[str, Any]) -> Mapping[str, Any]:
    sizes = [*photo.get("sizes", []), *([photo["orig_photo"]] if photo.get("orig_photo") else [])]

    def area(size: Mapping[str, Any]) -> tuple[int, int]:
        # Photos uploaded before 2012 report width = height = 0: the size letter orders them then.
        pixels = int(size.get("width") or 0) * int(size.get("height") or 0)
        return pixels, PHOTO_SIZE_RANK.get(size.get("type", ""), 0)

    return max(sizes, key=area, default={})


def _photo(photo: Mapping[str, Any]) -> Attachment:
    # The ref names the photo with all its sizes; VK gives no byte size for photos.
    largest = largest_photo_size(photo)
    width, height = largest.get("width"), largest.get("height")
    name = f"photo_{width}x{height}.jpg" if width and height else ""
    return Attachment(kind="photo", ref=_media_ref("photo", photo), channel=CHANNEL, name=name,
                      mime="image/jpeg")


def _document(doc: Mapping[str, Any]) -> Attachment:
    title, ext = str(doc.get("title") or "document"), str(doc.get("ext") or "")
    # VK keeps the extension apart from the title; the name must carry it (type checks look at it).
    name = title if not ext or title.lower().endswith(f".{ext.lower()}") else f"{title}.{ext}"
    size = doc.get("size")
    return Attachment(kind="document", ref=_media_ref("doc", doc), channel=CHANNEL, name=name,
                      size=int(size) if size is not None else None, mime=mimetypes.guess_type(name)[0] or "")


def _location(geo: Any) -> Location | None:
    if not isinstance(geo, Mapping):
        return None
    coordinates = geo.get("coordinates")
    try:
        if isinstance(coordinates, Mapping):
            return Location(float(coordinates["latitude"]), float(coordinates["longitude"]))
        if isinstance(coordinates, str):  # API versions before 5.x: "lat lon"
            latitude, longitude = coordinates.split()
            return Location(float(latitude), float(longitude))
    except (KeyError, TypeError, ValueError):
        return None
    return None
