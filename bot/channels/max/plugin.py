"""MAX as the rest of the bot knows it: its settings, secrets, limits and how to build it."""

from __future__ import annotations

from typing import Any, ClassVar

from bot.channels.base import Channel, ChannelPlugin, Limits, Runtime
from bot.channels.max.settings import MaxSettings
from bot.events import ConversationHandler


class MaxPlugin(ChannelPlugin):
    name = "max"
    settings_model = MaxSettings
    secrets: ClassVar[dict[str, str]] = {"token": "MAX_BOT_TOKEN", "webhook_secret": "MAX_WEBHOOK_SECRET"}
    # 30 requests/s for the whole bot (dev.max.ru); MAX names no per-chat pace, so a short one keeps
    # a burst of notices to one staff chat from taking the whole second.
    limits = Limits(per_second=25, per_chat_interval_s=0.0, group_per_minute=None)

    def is_group_chat(self, chat_id: str) -> bool:
        return chat_id.startswith("-")  # group chats have negative ids, dialogs positive

    def missing(self, section: Any) -> str | None:
        return section.problem() if isinstance(section, MaxSettings) else "no [max] settings"

    def setup_hint(self) -> str:
        return "set MAX_BOT_TOKEN, and in config.toml set [max] enabled = true"

    def invite_hint(self, section: Any, code: str) -> str | None:
        username = getattr(section, "bot_username", "")
        if username:
            return f"https://max.ru/{username}?start={code}"
        return f"send {code} as a message to the bot (set [max] bot_username for a link)"

    def build(self, section: Any, handler: ConversationHandler, runtime: Runtime) -> Channel:
        from bot.channels.max.channel import MaxChannel

        return MaxChannel(section, handler, runtime)


PLUGIN = MaxPlugin()
