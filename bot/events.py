"""The neutral shapes every messenger is translated to and from.

A channel turns a platform update into an ``Incoming`` and renders each ``Reply``
in its own way (inline keyboard in Telegram, callback buttons in VK, numbered
lines in a terminal). Handlers and services see only these shapes. This module
imports nothing of the project, so every layer may use it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

AttachmentKind = Literal["photo", "document"]
# How many first bytes of a document tell what it is (bot.services.validation.document_content).
FILE_HEAD_BYTES = 64
RequestKind = Literal["phone", "location"]


@dataclass(frozen=True)
class Attachment:
    """A file a user sent or the bot sends: a platform reference, never the bytes."""

    kind: AttachmentKind
    ref: str
    channel: str
    name: str = ""
    size: int | None = None
    mime: str = ""


@dataclass(frozen=True)
class Location:
    latitude: float
    longitude: float


@dataclass(frozen=True)
class Incoming:
    """One thing a user did: a message, a button press, a shared contact or location."""

    channel: str
    chat_id: str
    user_id: str
    update_key: str
    text: str = ""
    payload: str | None = None
    attachments: tuple[Attachment, ...] = ()
    location: Location | None = None
    phone: str | None = None
    unsupported: str | None = None
    is_group: bool = False
    user_name: str = ""
    language: str | None = None
    message_ref: str | None = None
    # The messages merged into this event (a Telegram album), one key each, in the order of the
    # attachments: each is remembered, so an album delivered again in another grouping is taken once.
    part_keys: tuple[str, ...] = ()
    # The first bytes of documents the user sent, by attachment ref, as the channel read them before the
    # conversations (``bot.channels.kit.read_heads``): a document is judged by its content, not its name.
    # A document missing here could not be read; the guard then goes by its name (handlers/guards.py).
    file_heads: Mapping[str, bytes] = field(default_factory=dict, compare=False, repr=False)

    @property
    def is_button(self) -> bool:
        return self.payload is not None


@dataclass(frozen=True)
class Button:
    """A choice: ``payload`` comes back in ``Incoming.payload``; ``request`` asks for a phone/location."""

    label: str
    payload: str = ""
    request: RequestKind | None = None


@dataclass
class Reply:
    """What the bot says: text, rows of buttons, files.

    ``replace`` asks the channel to edit the message whose button was pressed instead
    of sending a new one, where the platform allows. ``toast`` is the short notice
    shown on a button press (Telegram's answerCallbackQuery text, VK's snackbar).
    A reply with an empty ``text`` and no buttons carries only its toast: the channel
    answers the button press with it and sends no message.
    """

    text: str
    buttons: list[list[Button]] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    replace: bool = False
    toast: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Reply:
        return cls(
            text=data["text"],
            buttons=[[Button(**button) for button in row] for row in data.get("buttons", [])],
            attachments=[Attachment(**item) for item in data.get("attachments", [])],
            replace=data.get("replace", False),
            toast=data.get("toast"),
        )

    @property
    def is_toast_only(self) -> bool:
        return not self.text and not self.buttons and not self.attachments

    @property
    def inline_buttons(self) -> list[list[Button]]:
        return [[b for b in row if b.request is None] for row in self.buttons if any(b.request is None for b in row)]

    @property
    def request_buttons(self) -> list[list[Button]]:
        return [[b for b in row if b.request is not None] for row in self.buttons
                if any(b.request is not None for b in row)]


class DeliveryError(Exception):
    """Sending failed; the delivery layer decides what to do from the subclass."""


class RetryLater(DeliveryError):
    """A transient failure: flood control, 5xx, a network error. ``retry_after`` in seconds if the platform said."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class Unreachable(DeliveryError):
    """A permanent failure for this chat: the bot is blocked, the chat is gone, messages not allowed."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class HandlingDeferred(Exception):
    """The update could not be handled for a passing reason (the database locked or restarting, a lost
    connection): nothing of it was saved and it must not be acknowledged, so it comes again and is
    handled once after recovery. A bug is not this: it gets the apology."""


class Sender(Protocol):
    """What a channel offers the delivery layer: send one reply to one chat.

    ``dedup_key`` identifies the outgoing message; a platform with de-duplication
    (VK ``random_id``) derives its id from it, so a retried send is delivered once.
    ``send`` returns the platform's id of the (last) message sent, so a later version of
    an appeal card can edit it; ``edit`` returns False when the platform refuses the edit
    (too old, deleted) and the caller sends a new message instead.
    Both raise ``RetryLater`` or ``Unreachable``.
    """

    channel: str

    async def send(self, chat_id: str, reply: Reply, *, dedup_key: str) -> str | None: ...

    async def edit(self, chat_id: str, message_ref: str, reply: Reply) -> bool: ...


class ConversationHandler(Protocol):
    """What a channel calls: one incoming event in, the immediate replies out (empty for a replay)."""

    async def handle(self, event: Incoming) -> list[Reply]: ...

    async def mark_unreachable(self, channel: str, chat_id: str, reason: str) -> None:
        """Record that a chat cannot be written to (bot blocked, messages not allowed)."""
        ...
