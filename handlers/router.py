"""Dispatch of one event: a command, a button press, or input for the current dialog step."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import exc as sa_exc

from bot.payloads import describe, parse
from bot.presenters import dates
from bot.services.meetings import Key
from handlers.context import REFUSALS, Context

log = logging.getLogger(__name__)

# PostgreSQL errors that pass: connection exceptions (class 08), the server shutting down or starting
# (57P01-57P03), too many connections, serialization failures and deadlocks (retrying is the remedy).
TRANSIENT_SQLSTATES = ("08", "57P01", "57P02", "57P03", "53300", "40001", "40P01")
# An OperationalError that is a mistake of ours, not the database being away (SQLite words it so).
SCHEMA_MISTAKES = ("no such table", "no such column", "has no column", "syntax error")

Step = Callable[[Context], Awaitable[None]]
Guard = Callable[[Context], bool]
# How a dialog shows a refusal (the refusal: bot.domain.errors.Refusal or the meeting services' own).
Presenter = Callable[[Context, Any], Awaitable[None]]
S = TypeVar("S", bound=Callable[..., Awaitable[None]])


def refusals(present: Presenter) -> Callable[[S], S]:
    """A step (or a part of one) whose dialog shows refusals its own way, ``present``, wherever it is called
    from; the router shows the others with ``refused``."""

    def wrap(step: S) -> S:
        @functools.wraps(step)
        async def presented(ctx: Context, *args: Any, **kwargs: Any) -> None:
            try:
                await step(ctx, *args, **kwargs)
            except REFUSALS as refusal:
                _log_refusal(ctx, refusal)
                await present(ctx, refusal)

        return presented  # type: ignore[return-value]

    return wrap


def _log_refusal(ctx: Context, refusal: Any) -> None:
    log.info("refused %s for %s:%s in state %r", refusal.key, ctx.event.channel, ctx.event.user_id, ctx.state)


def worded(ctx: Context, params: dict[str, object]) -> dict[str, Any]:
    """A refusal's parameters as shown: a message key in the user's language, a date as the region writes it."""
    return {name: ctx.t(value) if isinstance(value, Key) else dates.day(value) if isinstance(value, date) else value
            for name, value in params.items()}


async def said(ctx: Context, refusal: Any) -> None:
    """The reason as a message, nothing more (no toast even for a press)."""
    ctx.say(refusal.key, **worded(ctx, refusal.params))


async def refused(ctx: Context, refusal: Any) -> None:
    """The plain polite no: the reason as a message and, for a press, as the button's toast (what the step did
    before stays done). Buttons a step attached to the refusal (``handlers.experts.base.way_on``) stay under it."""
    params = worded(ctx, refusal.params)
    ctx.say(refusal.key, buttons=getattr(refusal, "buttons", None), **params)
    if ctx.event.is_button:
        ctx.toast(refusal.key, **params)


@dataclass
class ButtonRoute:
    step: Step
    states: frozenset[str] | None  # None: valid in any state


@dataclass
class Router:
    commands: dict[str, Step] = field(default_factory=dict)
    buttons: dict[str, ButtonRoute] = field(default_factory=dict)
    inputs: dict[str, Step] = field(default_factory=dict)
    prompts: dict[str, Step] = field(default_factory=dict)
    idle: Step | None = None
    stale: Step | None = None
    before: list[Callable[[Context], Awaitable[bool]]] = field(default_factory=list)

    def command(self, name: str, step: Step) -> None:
        self.commands[name] = step

    def button(self, verb: str, step: Step, states: set[str] | None = None) -> None:
        self.buttons[verb] = ButtonRoute(step, frozenset(states) if states is not None else None)

    def state(self, name: str, on_input: Step, prompt: Step) -> None:
        self.inputs[name] = on_input
        self.prompts[name] = prompt

    async def prompt(self, ctx: Context) -> None:
        """Ask again what the current step needs: after a restart, a stale button, a hint."""
        step = self.prompts.get(ctx.state)
        if step is not None:
            await step(ctx)
        elif self.idle is not None:
            await self.idle(ctx)

    async def dispatch(self, ctx: Context) -> None:
        ctx.extras["router"] = self
        for check in self.before:
            if not await check(ctx):
                return
        event = ctx.event
        if event.payload is not None:
            await self._press(ctx)
            return
        command, _, argument = event.text.strip().partition(" ")
        if command.startswith("/") and not event.attachments:
            name = command[1:].split("@", 1)[0].lower()
            step = self.commands.get(name)
            if step is not None:
                ctx.extras["argument"] = argument.strip()
                await self._run(ctx, step)
                return
        on_input = self.inputs.get(ctx.state)
        if on_input is not None:
            await self._run(ctx, on_input)
        elif self.idle is not None:
            await self._run(ctx, self.idle)

    async def _run(self, ctx: Context, step: Step) -> None:
        """The step; a refusal from the services it calls is shown here, the one place (what the step did
        before it stays done: the update's transaction commits)."""
        try:
            await step(ctx)
        except REFUSALS as refusal:
            _log_refusal(ctx, refusal)
            await refused(ctx, refusal)

    async def _press(self, ctx: Context) -> None:
        payload = parse(ctx.event.payload)
        route = self.buttons.get(payload.verb) if payload is not None else None
        if payload is None or route is None or (route.states is not None and ctx.state not in route.states):
            log.info("stale or unknown button %s from %s:%s in state %r", describe(ctx.event.payload, self.buttons),
                     ctx.event.channel, ctx.event.user_id, ctx.state)
            if self.stale is not None:
                await self._run(ctx, self.stale)
            return
        ctx.payload = payload
        await self._run(ctx, route.step)


def is_transient(exc: BaseException) -> bool:
    """Whether handling failed because the database was away (locked beyond the busy timeout, restarting,
    a lost connection), so that the same update will succeed later, rather than because of a bug."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, sa_exc.DBAPIError):
            if current.connection_invalidated:
                return True
            state = str(getattr(current.orig, "sqlstate", None) or getattr(current.orig, "pgcode", None) or "")
            if state and state.startswith(TRANSIENT_SQLSTATES):
                return True
            if isinstance(current, sa_exc.InterfaceError):
                return True
            if isinstance(current, sa_exc.OperationalError):
                return not any(mistake in str(current.orig).lower() for mistake in SCHEMA_MISTAKES)
        if isinstance(current, sa_exc.TimeoutError | ConnectionError):  # the pool's wait; a dropped socket
            return True
        current = current.__cause__ or current.__context__
    return False
