"""aiogram imported through bot.channels.lazy_aiogram: types built when first used, and still right.

In a fresh interpreter, as `python -m bot run` starts: an aiogram upgrade that defeats the deferral
would silently cost every instance ~110 MB again (bench/memory.py), so it fails here instead.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROGRAM = """
import gc
import weakref
import bot.channels.lazy_aiogram as lazy
from aiogram.methods.base import Response
from aiogram.types import Message, Poll, Update

assert lazy.deferred(), "aiogram was imported before lazy_aiogram"
assert not Poll.__pydantic_complete__, "aiogram built every type at import again"

update = Update.model_validate({"update_id": 7, "callback_query": {
    "id": "q", "chat_instance": "c", "data": "1:consent:yes", "from": {"id": 5, "is_bot": False, "first_name": "A"},
    "message": {"message_id": 3, "date": 0, "chat": {"id": 5, "type": "private"}, "text": "hi"}}})
assert type(update.callback_query.message).__name__ == "Message"
assert update.callback_query.message.chat.id == 5

reply = {"ok": True, "result": {"message_id": 4, "date": 0, "chat": {"id": 5, "type": "private"}, "text": "ok",
                                "reply_markup": {"inline_keyboard": [[{"text": "a", "callback_data": "b"}]]}}}
first = Response[Message]
gc.collect()
assert Response[Message] is first, "a collection threw the built Response class away"
parsed = first.model_validate(reply)
assert parsed.result.reply_markup.inline_keyboard[0][0].callback_data == "b"
assert not Poll.__pydantic_complete__, "validating a message built unrelated types"

# Parametrized after Message is built and inside a function (at module level pydantic would keep the class
# in the module's globals), as aiogram's check_response does at every answerCallbackQuery and editMessageText.
def parametrize(returning):
    return weakref.ref(Response[returning])

for returning in (bool, Message | bool):
    made = parametrize(returning)
    gc.collect()
    assert made() is not None, f"a collection threw Response[{returning}] away"
print("ok")
"""


def test_aiogram_types_are_built_when_used_and_parse_updates_and_replies() -> None:
    done = subprocess.run([sys.executable, "-c", PROGRAM], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
