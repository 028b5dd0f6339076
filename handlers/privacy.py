"""The citizen's rights in the chat, not only an admin's at a shell (152-ФЗ art. 14 and art. 9 p. 2).

/mydata sends everything stored about the person as a JSON document; /withdraw, after a confirmation,
withdraws their open appeals (the ministry is told), records the withdrawal and erases their data.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

from bot.events import Attachment, Reply
from bot.payloads import make
from bot.services import exports, privacy, staff, users
from handlers import cards, operator
from handlers.context import Context
from handlers.router import Router


def setup(router: Router) -> None:
    router.command("mydata", send_my_data)
    router.command("withdraw", ask_withdrawal)
    router.button("withdraw", answer_withdrawal)


def _write_private(path: Path, text: str) -> None:
    """Readable by the bot's own user only: the file holds a person's data until it is uploaded."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text)


async def send_my_data(ctx: Context) -> None:
    data = await privacy.export(ctx.repo, ctx.user)
    base = ctx.extras.get("exports_dir")
    path = exports.new_file(exports.exports_dir(Path(base) if base else None), "mydata", ".json")
    await asyncio.to_thread(_write_private, path, json.dumps(data, ensure_ascii=False, indent=2))
    ctx.replies.append(Reply(text=ctx.t("privacy.export_ready"), attachments=[
        Attachment(kind="document", ref=str(path.resolve()), channel="local", name=ctx.t("privacy.export_file"),
                   mime="application/json")]))


async def ask_withdrawal(ctx: Context) -> None:
    open_appeals = await privacy.open_appeals(ctx.repo, ctx.user)
    ctx.say("privacy.withdraw_ask", buttons=[
        [ctx.button("privacy.withdraw_yes", make("withdraw", "yes"))],
        [ctx.button("privacy.withdraw_no", make("withdraw", "no"))]])
    if open_appeals:
        ctx.replies[-1].text += "\n\n" + ctx.t.plural("privacy.withdraw_open", len(open_appeals))


async def answer_withdrawal(ctx: Context) -> None:
    assert ctx.payload is not None
    if ctx.payload.arg(0) != "yes":
        ctx.say("privacy.withdraw_kept", replace=True)
        return
    withdrawn = await privacy.withdraw_appeals(ctx.repo, ctx.user, ctx.now)
    await users.record_consent(ctx.repo, ctx.user, False, ctx.settings.region.operator_name, ctx.now)
    await staff.revoke(ctx.repo, ctx.user)
    await privacy.erase(ctx.repo, ctx.user)
    # After the erasure, so that these carry nothing but the number (and edit away the old cards' text).
    for appeal in withdrawn:
        await operator.notify_ministry(ctx, appeal, "privacy.appeal_withdrawn", f"withdrawn:{appeal.id}")
        await cards.publish_card(ctx.repo, ctx.settings, appeal, ctx.now)
    ctx.say("privacy.withdrawn", replace=True, count=len(withdrawn))
