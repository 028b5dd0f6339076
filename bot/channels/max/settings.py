"""The ``[max]`` table of config.toml; the token and the webhook secret come from the environment."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import SecretStr, field_validator

from bot.config import Section

DEFAULT_API_BASE = "https://platform-api2.max.ru"  # the host has moved three times: keep it a setting
SECRET_SHAPE = re.compile(r"^[A-Za-z0-9_-]{5,256}$")  # POST /subscriptions refuses any other secret


class MaxSettings(Section):
    enabled: bool = False
    api_base: str = DEFAULT_API_BASE
    # Long polling is for development (MAX caps it at 2 requests/s); production takes a webhook.
    mode: Literal["webhook", "longpoll"] = "longpoll"
    # For the staff invite link https://max.ru/<bot_username>?start=CODE (GET /me tells it too).
    bot_username: str = ""
    # A PEM file of extra roots to trust besides the system's (the Russian Минцифры root), or "".
    ca_bundle: str = ""
    webhook_host: str = "127.0.0.1"
    webhook_port: int = 8100
    webhook_path: str = "/max"
    # The public HTTPS address MAX posts to (port 443 only), e.g. https://bot.example.ru/max
    webhook_url: str = ""
    token: SecretStr | None = None
    webhook_secret: SecretStr | None = None

    @field_validator("webhook_secret")
    @classmethod
    def _secret_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not SECRET_SHAPE.match(value.get_secret_value()):
            raise ValueError("MAX_WEBHOOK_SECRET: 5 to 256 characters of A-Z, a-z, 0-9, _ and -")
        return value

    def problem(self) -> str | None:
        """What stops the channel from running, in words for the operator; None when it can run."""
        if self.token is None:
            return "set the MAX_BOT_TOKEN environment variable (the bot's token from business.max.ru)"
        if self.mode == "webhook":
            if self.webhook_secret is None:
                return "max.mode = \"webhook\" needs MAX_WEBHOOK_SECRET (5-256 of A-Z a-z 0-9 _ -)"
            if not self.webhook_url.startswith("https://"):
                return "max.webhook_url: the public https:// address MAX posts updates to (port 443)"
        return None
