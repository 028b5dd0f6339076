"""The console as the registry knows it: no settings, no secrets; run by `appeals-bot console` only."""

from __future__ import annotations

from typing import Any

from bot.channels.base import Channel, ChannelPlugin, Limits, Runtime
from bot.events import ConversationHandler


class ConsolePlugin(ChannelPlugin):
    name = "console"
    limits = Limits(per_second=1000, per_chat_interval_s=0.0)
    served = False

    def enabled(self, section: Any) -> bool:
        return False

    def invite_hint(self, section: Any, code: str) -> str | None:
        return f"appeals-bot console --user NAME, then /start {code}"

    def build(self, section: Any, handler: ConversationHandler, runtime: Runtime) -> Channel:
        raise NotImplementedError("the console runs as `appeals-bot console` (bot.runner.run_console)")


PLUGIN = ConsolePlugin()
