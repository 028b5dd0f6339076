"""VK as the registry knows it: the [vk] section, its secrets and limits. No vk-api here."""

from __future__ import annotations

from typing import Literal

from pydantic import SecretStr

from bot.channels.base import Channel, ChannelPlugin, Limits, Runtime
from bot.config import Section
from bot.events import ConversationHandler

CHAT_PEER_START = 2_000_000_000  # peer_id of a group chat is 2e9 + chat id


class Vk(Section):
    enabled: bool = False
    group_id: int = 0
    mode: Literal["longpoll", "callback"] = "longpoll"
    api_base: str = ""
    api_version: str = "5.199"
    callback_host: str = "127.0.0.1"
    callback_port: int = 8090
    callback_path: str = "/vk"
    token: SecretStr | None = None
    callback_secret: SecretStr | None = None
    confirmation: str = ""


class VkPlugin(ChannelPlugin):
    name = "vk"
    settings_model = Vk
    secrets = {"token": "VK_GROUP_TOKEN", "callback_secret": "VK_CALLBACK_SECRET"}
    # 20 requests/s per community token (https://dev.vk.com/ru/api/api-requests#Ограничения и рекомендации)
    limits = Limits(per_second=20, per_chat_interval_s=0.0)

    def is_group_chat(self, chat_id: str) -> bool:
        return chat_id.isdigit() and int(chat_id) >= CHAT_PEER_START

    def missing(self, section: Vk) -> str | None:
        if section.token is None:
            return "VK_GROUP_TOKEN is not set"
        return None if section.group_id else "[vk] group_id is not set"

    def setup_hint(self) -> str:
        return "set VK_GROUP_TOKEN, and in config.toml set [vk] enabled = true and group_id"

    def invite_hint(self, section: Vk, code: str) -> str | None:
        return f"send {code} as a message to the community"

    def build(self, section: Vk, handler: ConversationHandler, runtime: Runtime) -> Channel:
        from bot.channels.vk.channel import VkChannel

        return VkChannel(section, handler, runtime=runtime)


PLUGIN = VkPlugin()
