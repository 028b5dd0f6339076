"""Telegram as the registry knows it: the [telegram] section, its secrets and limits. No aiogram here."""

from __future__ import annotations

from typing import Literal

from pydantic import SecretStr

from bot.channels.base import Channel, ChannelPlugin, Limits, Runtime
from bot.config import Section
from bot.events import ConversationHandler


class Telegram(Section):
    enabled: bool = True
    mode: Literal["polling", "webhook"] = "polling"
    api_base: str = ""
    bot_username: str = ""
    webhook_host: str = "127.0.0.1"
    webhook_port: int = 8080
    webhook_path: str = "/telegram"
    webhook_url: str = ""
    token: SecretStr | None = None
    webhook_secret: SecretStr | None = None


class TelegramPlugin(ChannelPlugin):
    name = "telegram"
    settings_model = Telegram
    secrets = {"token": "TELEGRAM_BOT_TOKEN", "webhook_secret": "TELEGRAM_WEBHOOK_SECRET"}
    # https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this
    limits = Limits(per_second=30, per_chat_interval_s=1.0, group_per_minute=20)

    def is_group_chat(self, chat_id: str) -> bool:
        return chat_id.startswith("-")  # groups and supergroups have negative ids

    def missing(self, section: Telegram) -> str | None:
        return None if section.token is not None else "TELEGRAM_BOT_TOKEN is not set"

    def setup_hint(self) -> str:
        return "set the TELEGRAM_BOT_TOKEN environment variable (from @BotFather) and keep [telegram] enabled = true"

    def invite_hint(self, section: Telegram, code: str) -> str | None:
        if section.bot_username:
            return f"https://t.me/{section.bot_username}?start={code}"
        return f"send /start {code} to the bot (set [telegram] bot_username in config.toml for a link)"

    def build(self, section: Telegram, handler: ConversationHandler, runtime: Runtime) -> Channel:
        from bot.channels.telegram.channel import TelegramChannel

        return TelegramChannel(section, handler, runtime=runtime, shutdown_grace=runtime.shutdown_grace)


PLUGIN = TelegramPlugin()
