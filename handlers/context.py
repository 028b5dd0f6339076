"""What a conversation step sees: the event, the user, the dialog state and a way to answer."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm.attributes import flag_modified

from bot.config import Settings
from bot.deps import Deps
from bot.domain.errors import Refusal
from bot.events import Button, Incoming, Reply
from bot.i18n import Translator, translator
from bot.payloads import Payload
from bot.services.appeals import Draft
from bot.services.calendar import ProductionCalendar
from storage.models import Conversation, User
from storage.repositories import Repositories

if TYPE_CHECKING:
    from handlers.router import Router

# How a service says a polite no: a step lets it pass and the router shows it (handlers.router.Router.dispatch).
REFUSALS = Refusal


@dataclass
class Context:
    event: Incoming
    settings: Settings
    repo: Repositories
    user: User
    conversation: Conversation
    now: datetime
    calendar: ProductionCalendar
    deps: Deps
    router: Router
    payload: Payload | None = None
    argument: str = ""  # what followed the command ("/start CODE"); empty for anything else
    replies: list[Reply] = field(default_factory=list)

    @property
    def t(self) -> Translator:
        return translator(self.user.language)

    @property
    def state(self) -> str:
        return self.conversation.state

    @property
    def data(self) -> dict[str, Any]:
        return dict(self.conversation.data or {})

    def set_state(self, state: str, **updates: Any) -> None:
        self.conversation.state = state
        self._touch()
        if updates:
            data = self.data
            data.update(updates)
            self.conversation.data = data
            flag_modified(self.conversation, "data")

    def _touch(self) -> None:
        # The conversation's own clock (retention drops drafts abandoned for its period), written even when
        # unchanged, so the column's wall-clock onupdate does not replace it.
        self.conversation.updated_at = self.now
        flag_modified(self.conversation, "updated_at")

    def reset(self) -> None:
        """Leave the dialog; bookkeeping keys (leading underscore, e.g. the rate window) survive."""
        self.conversation.state = ""
        self._touch()
        self.conversation.data = {k: v for k, v in (self.conversation.data or {}).items() if k.startswith("_")}
        flag_modified(self.conversation, "data")

    def come_back(self, state: str, *, drop: str) -> None:
        """Back to ``state`` from a step taken on the side (a rating's comment), its own data key ``drop``
        forgotten and everything else in the dialog untouched."""
        self.conversation.state = state
        self._touch()
        self.conversation.data = {k: v for k, v in (self.conversation.data or {}).items() if k != drop}
        flag_modified(self.conversation, "data")

    async def reprompt(self) -> None:
        """Ask again what the current step needs (the idle answer outside a dialog): after a restart, a stale
        button, a hint, or on coming back to a dialog."""
        await self.router.prompt(self)

    async def go(self, state: str, **updates: Any) -> None:
        """On to a step of a dialog, and ask for it."""
        self.set_state(state, **updates)
        await self.reprompt()
    @contextmanager
    def ending_dialog(self) -> Iterator[None]:
        """Within: a refusal also ends the dialog (the appeal or meeting it was about has changed meanwhile)."""
        try:
            yield
        except REFUSALS:
            self.reset()
            raise

    @property
    def draft(self) -> Draft:
        return Draft.from_dict(self.data.get("draft"))

    def save_draft(self, draft: Draft) -> None:
        self.set_state(self.state, draft=draft.to_dict())

    def say(self, key: str, *, buttons: list[list[Button]] | None = None, replace: bool = False,
            toast: str | None = None, **params: Any) -> None:
        self.replies.append(Reply(text=self.t(key, **params), buttons=buttons or [], replace=replace,
                                  toast=toast))

    def say_text(self, text: str, *, buttons: list[list[Button]] | None = None, replace: bool = False) -> None:
        self.replies.append(Reply(text=text, buttons=buttons or [], replace=replace))

    def toast(self, key: str, **params: Any) -> None:
        """A short notice for the button press; attached to the first reply (or a reply of its own)."""
        text = self.t(key, **params)
        if self.replies:
            self.replies[0].toast = text
        else:
            self.replies.append(Reply(text="", toast=text))

    def button(self, key: str, payload: str, **params: Any) -> Button:
        return Button(self.t(key, **params), payload)
