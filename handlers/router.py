"""Dispatch of one event: a command, a button press, or input for the current dialog step."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sqlalchemy import exc as sa_exc

from bot.payloads import describe, parse
from handlers.context import Context

log = logging.getLogger(__name__)

# PostgreSQL errors that pass: connection exceptions (class 08), the server shutting down or starting
# (57P01-57P03), too many connections, serialization failures and deadlocks (retrying is the remedy).
TRANSIENT_SQLSTATES = ("08", "57P01", "57P02", "57P03", "53300", "40001", "40P01")
# An OperationalError that is a mistake of ours, not the database being away (SQLite words it so).
SCHEMA_MISTAKES = ("no such table", "no such column", "has no column", "syntax error")

Step = Callable[[Context], Awaitable[None]]
Guard = Callable[[Context], bool]


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
                await step(ctx)
                return
        on_input = self.inputs.get(ctx.state)
        if on_input is not None:
            await on_input(ctx)
        elif self.idle is not None:
            await self.idle(ctx)

    async def _press(self, ctx: Context) -> None:
        payload = parse(ctx.event.payload)
        route = self.buttons.get(payload.verb) if payload is not None else None
        if payload is None or route is None or (route.states is not None and ctx.state not in route.states):
            log.info("stale or unknown button %s from %s:%s in state %r", describe(ctx.event.payload, self.buttons),
                     ctx.event.channel, ctx.event.user_id, ctx.state)
            if self.stale is not None:
                await self.stale(ctx)
            return
        ctx.payload = payload
        await route.step(ctx)


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
