"""The channel contract: what a messenger must provide to serve the conversations.

A channel lives in a package ``bot/channels/<name>/`` whose ``plugin`` module defines ``PLUGIN``, an
instance of a ``ChannelPlugin`` subclass. The plugin describes the channel without importing its
client library (name, settings section, secret environment variables, limits, group chats, how it
runs) and builds the running ``Channel`` on demand. The registry (``bot.channels.registry``) finds
the plugins; the config loader, the runner, the outbox and the CLI ask it, never a platform by name.
So a new messenger needs its package and its section in config.toml, nothing else.

A running channel turns platform updates into ``Incoming`` events for the ``ConversationHandler``
and each ``Reply`` into platform calls; platform errors become ``RetryLater`` / ``Unreachable``.
Before the conversations see a user's documents, the channel reads their first bytes from the platform's
file server (``kit.read_heads`` with its own way of fetching them) and hands them in ``Incoming.file_heads``:
the documents are judged by their content while the handlers stay messenger-neutral.
When the handler says ``HandlingDeferred`` (the database is away for a moment), the update is not
acknowledged: the platform or the channel's own loop gives it again later (``bot.channels.kit``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from bot.events import ConversationHandler, Reply

if TYPE_CHECKING:
    from pydantic import BaseModel

    from bot.observability import Metrics


@dataclass(frozen=True)
class Limits:
    """How fast the outbox may send: overall, per chat, and per group chat per minute."""

    per_second: float
    per_chat_interval_s: float
    group_per_minute: int | None = None


class Cursors(Protocol):
    """Where a channel keeps its position in the platform's stream (VK's ts, MAX's marker) across restarts."""

    async def load(self, channel: str, name: str) -> str | None: ...

    async def save(self, channel: str, name: str, value: str) -> None: ...


@dataclass
class Runtime:
    """What the composition root hands every channel besides the conversations."""

    cursors: Cursors | None = None
    metrics: Metrics | None = None
    default_language: str = "ru"
    # Seconds a stopping channel gives the updates in flight before it gives up on them (unconfirmed,
    # so the platform sends them again after the restart); docs/deploy.md promises exit within 10 s.
    shutdown_grace: float = 5.0


class Channel(Protocol):
    """A running messenger channel. The outbox sees only ``send`` and ``edit`` (``bot.events.Sender``)."""

    channel: str

    async def run(self) -> None:
        """Take updates (polling or webhook) until ``stop()``; return once those in flight are finished."""
        ...

    async def stop(self) -> None:
        """Take no new updates, finish those in flight within the grace, release the connections."""
        ...

    async def send(self, chat_id: str, reply: Reply, *, dedup_key: str) -> str | None: ...

    async def edit(self, chat_id: str, message_ref: str, reply: Reply) -> bool: ...

    async def answer_press(self, press_ref: str, toast: str | None) -> None:
        """Stop a pressed button's spinner, with a short notice if given (``press_ref`` is the channel's own)."""
        ...


class ChannelPlugin(ABC):
    """A messenger as the rest of the bot knows it. Importing a plugin must stay cheap (no client library)."""

    name: ClassVar[str]
    # The config.toml table of this channel (its name), validated by ``settings_model``; None: no settings.
    settings_model: ClassVar[type[BaseModel] | None] = None
    # settings field -> environment variable. A secret written in config.toml is a configuration error.
    secrets: ClassVar[Mapping[str, str]] = {}
    limits: ClassVar[Limits]
    # Whether ``appeals-bot run`` starts it (the console runs only as ``appeals-bot console``).
    served: ClassVar[bool] = True

    def is_group_chat(self, chat_id: str) -> bool:
        """A chat of several people (a ministry's staff chat): the outbox paces it by ``group_per_minute``."""
        return False

    def enabled(self, section: Any) -> bool:
        return bool(getattr(section, "enabled", False))

    def missing(self, section: Any) -> str | None:
        """What stops an enabled channel from running (a token not set), or None when it can run."""
        return None

    def mode(self, section: Any) -> str:
        return str(getattr(section, "mode", "default"))

    def setup_hint(self) -> str:
        """One line for `appeals-bot run` when no channel is configured: how to switch this one on."""
        return f"set [{self.name}] enabled = true"

    def invite_hint(self, section: Any, code: str) -> str | None:
        """How a staff member redeems an invite code in this messenger (a deep link, or 'send the code')."""
        return None

    @abstractmethod
    def build(self, section: Any, handler: ConversationHandler, runtime: Runtime) -> Channel:
        """The running channel (imports the client library here, not at module import)."""
