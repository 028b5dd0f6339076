"""Property-based: arbitrary text, payloads and update sequences never break a conversation.

Whatever a person (or a forger) sends, in whatever order: no unhandled error (the apology
would show it), always an answer, and /cancel always leads back to a working /new.
"""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import App, build_app
from bot.config import load
from bot.events import Attachment, Incoming, Location, Reply
from bot.i18n import translator
from tests.conftest import ROOT

VERBS = ["new", "my", "open", "consent", "prev", "skip", "sector", "cat", "back", "done", "confirm", "edit",
         "field", "cancel", "lang", "help", "sugg", "clreply", "op", "opdone", "opsend", "rto", "xdays", "reas",
         "rate", "reopen"]
ARGS = ["", "yes", "no", "housing", "heating", "roads", "text", "attachments", "phone", "address", "name",
        "1", "2", "0", "-1", "99999999999999", "ru", "en", "take", "ans", "back", "10d", "x" * 30]
COMMANDS = ["/start", "/new", "/cancel", "/my", "/help", "/lang", "/queue", "/appeal ЦУР-2026-000001",
            "/start ABCDEFGHJK", "/overdue", "/new нет воды"]

payloads = st.one_of(
    st.text(max_size=80),
    st.builds(lambda v, a, b: ":".join(["1", v, a, b]).rstrip(":"), st.sampled_from(VERBS), st.sampled_from(ARGS),
              st.sampled_from(ARGS)),
)
steps = st.one_of(
    st.tuples(st.just("text"), st.text(max_size=400)),
    st.tuples(st.just("command"), st.sampled_from(COMMANDS)),
    st.tuples(st.just("payload"), payloads),
    st.tuples(st.just("press"), st.integers(min_value=0, max_value=30)),
    st.tuples(st.just("file"), st.tuples(st.sampled_from(["photo", "document"]), st.text(max_size=40),
                                         st.integers(min_value=0, max_value=50 * 2**20))),
    st.tuples(st.just("location"), st.tuples(st.floats(-90, 90), st.floats(-180, 180))),
    st.tuples(st.just("phone"), st.text(max_size=20)),
    st.tuples(st.just("unsupported"), st.sampled_from(["sticker", "voice", "video"])),
)
_keys = itertools.count()
_users = itertools.count(10_000)


def event(user: str, kind: str, value: object, shown: list[Reply]) -> Incoming:
    base = {"channel": "console", "chat_id": user, "user_id": user, "update_key": f"prop:{next(_keys)}"}
    if kind == "press":
        buttons = [b for r in shown for row in r.buttons for b in row if b.payload]
        payload = buttons[int(value) % len(buttons)].payload if buttons else "2:appeal.new"  # type: ignore[call-overload]
        return Incoming(**base, payload=payload)
    if kind == "payload":
        return Incoming(**base, payload=str(value))
    if kind == "file":
        file_kind, name, size = value  # type: ignore[misc]
        return Incoming(**base, attachments=(Attachment(file_kind, f"ref-{size}", "console", name, size),))
    if kind == "location":
        return Incoming(**base, location=Location(*value))  # type: ignore[misc]
    if kind == "phone":
        return Incoming(**base, phone=str(value))
    if kind == "unsupported":
        return Incoming(**base, unsupported=str(value))
    return Incoming(**base, text=str(value))


async def converse(app: App, sequence: list[tuple[str, object]]) -> None:
    user = str(next(_users))
    apologies = {translator(language)("error.internal") for language in ("ru", "en")}
    shown: list[Reply] = []
    for kind, value in sequence:
        replies = await app.conversations.handle(event(user, kind, value, shown))
        assert replies, f"silence after {kind} {value!r}"
        assert not apologies & {r.text for r in replies}, f"an error after {kind} {value!r}"
        shown = [r for r in replies if r.buttons] or shown
    for text in ("/cancel", "/new"):
        replies = await app.conversations.handle(event(user, "command", text, shown))
        assert replies and not apologies & {r.text for r in replies}
    last = "\n".join(r.text for r in replies)
    assert any(word in last for word in ("Как к вам обращаться", "What is your name", "персональные данные",
                                         "personal data")), last


def test_no_sequence_of_inputs_breaks_the_conversation(tmp_path: Path) -> None:
    config = load(ROOT / "config.toml", environ={})
    config.database.url = f"sqlite+aiosqlite:///{tmp_path / 'prop.db'}"
    loop = asyncio.new_event_loop()
    app = loop.run_until_complete(build_app(config))

    @settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(steps, min_size=1, max_size=12))
    def run(sequence: list[tuple[str, object]]) -> None:
        loop.run_until_complete(converse(app, sequence))

    try:
        run()
    finally:
        loop.run_until_complete(app.close())
        loop.close()
