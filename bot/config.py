"""Loads and validates config.toml; secrets come from the environment only.

The sections' models are in bot/config_sections.py; their names are imported here, so
``from bot.config import Sector`` (and every other section) keeps working.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError, model_validator

from bot.config_sections import (
    DURATION_RE,
    MIN_CATEGORIES,
    TRIAGE,
    Calendar,
    Category,
    Database,
    Deadlines,
    Duration,
    ExpertGroup,
    Limits,
    Ministry,
    Ops,
    Privacy,
    Ranking,
    Ratings,
    Region,
    Routing,
    Section,
    Sector,
    Staff,
)

__all__ = [
    "CONFIG_ENV", "DEFAULT_CONFIG", "DURATION_RE", "MIN_CATEGORIES", "TRIAGE", "Calendar", "Category",
    "ConfigError", "Database", "Deadlines", "Duration", "ExpertGroup", "Limits", "Ministry", "Ops", "Privacy",
    "Ranking", "Ratings", "Region", "Routing", "Section", "Sector", "Settings", "Staff", "load", "resolve_path",
]

DEFAULT_CONFIG = Path("config.toml")
CONFIG_ENV = "APPEALS_BOT_CONFIG"


class ConfigError(Exception):
    """A broken configuration: the message names the key and the problem."""


class Settings(Section):
    region: Region
    database: Database = Database()
    limits: Limits = Limits()
    deadlines: Deadlines = Deadlines()
    calendar: Calendar = Calendar()
    # Each messenger's section ([telegram], [vk], ...), validated by its plugin (bot/channels/registry.py).
    channels: dict[str, Any] = {}
    staff: Staff = Staff()
    routing: Routing = Routing()
    ops: Ops = Ops()
    privacy: Privacy = Privacy()
    ratings: Ratings = Ratings()
    ranking: Ranking = Ranking()
    ministries: dict[str, Ministry]
    sectors: dict[str, Sector]
    groups: dict[str, ExpertGroup] = {}
    # Sections that later features add are accepted as free tables until they get a model.
    extra: dict[str, dict] = {}

    @model_validator(mode="before")
    @classmethod
    def _channel_sections(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        from bot.channels import registry

        data = dict(data)
        channels = dict(data.get("channels") or {})
        for plugin in registry.plugins():
            model = plugin.settings_model
            if model is None:
                continue
            raw = channels.get(plugin.name, data.pop(plugin.name, {}))
            data.pop(plugin.name, None)
            try:
                channels[plugin.name] = raw if isinstance(raw, model) else model.model_validate(raw)
            except ValidationError as exc:
                problems = "; ".join(f"{plugin.name}.{'.'.join(str(p) for p in error['loc'])}: {error['msg']}"
                                     for error in exc.errors())
                raise ValueError(problems) from None
        data["channels"] = channels
        return data

    def __getattr__(self, name: str) -> Any:
        # settings.telegram, settings.vk ...: each channel's section by its name.
        channels = self.__dict__.get("channels")
        if channels is not None and name in channels:
            return channels[name]
        return super().__getattr__(name)  # type: ignore[misc]

    def channel(self, name: str) -> Any:
        """A channel's section (None for a channel without settings, such as the console)."""
        return self.channels.get(name)

    @model_validator(mode="after")
    def _staff_chats_name_channels(self) -> Settings:
        from bot.channels import registry

        for ministry_id, ministry in self.ministries.items():
            for channel in ministry.staff_chat:
                if not registry.is_known(channel):
                    raise ValueError(f"ministries.{ministry_id}.staff_chat: unknown channel {channel!r} "
                                     f"(known: {', '.join(registry.names())})")
        return self

    @model_validator(mode="after")
    def _sectors_have_ministries(self) -> Settings:
        if TRIAGE in self.ministries:
            raise ValueError(f"ministries.{TRIAGE}: the id is reserved for the ЦУР's triage")
        for sector_id, sector in self.sectors.items():
            if not sector.triage and sector.ministry not in self.ministries:
                known = ", ".join(sorted(self.ministries))
                raise ValueError(
                    f"sectors.{sector_id}.ministry: unknown ministry {sector.ministry!r} (known: {known})"
                )
        if not self.sectors:
            raise ValueError("sectors: at least one sector is needed")
        return self

    def sector(self, sector_id: str) -> Sector | None:
        return self.sectors.get(sector_id)


def _format_error(exc: ValidationError, path: Path) -> str:
    lines = [f"{path}: the configuration is not valid:"]
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"]) or "(top level)"
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "missing":
            message = "this key is required"
        elif error["type"] == "extra_forbidden":
            message = "unknown key (check the spelling)"
        lines.append(f"  {key}: {message}")
    return "\n".join(lines)


def resolve_path(explicit: str | Path | None) -> Path:
    if explicit:
        return Path(explicit)
    return Path(os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG)


def load(path: str | Path | None = None, environ: dict[str, str] | None = None) -> Settings:
    """Read the TOML file, overlay secrets from the environment, validate."""
    config_path = resolve_path(path)
    env = os.environ if environ is None else environ
    try:
        raw = tomllib.loads(config_path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{config_path}: no such configuration file (use --config PATH or {CONFIG_ENV})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{config_path}: not valid TOML: {exc}") from exc
    from bot.channels import registry

    known = (set(Settings.model_fields) - {"extra"}) | set(registry.names())
    raw["extra"] = {key: raw.pop(key) for key in list(raw) if key not in known and isinstance(raw[key], dict)}
    _overlay_secrets(raw, env)
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_format_error(exc, config_path)) from exc
    knowledge = Path(settings.routing.knowledge)
    if not knowledge.is_absolute():
        beside = config_path.resolve().parent / knowledge
        # A config kept elsewhere (/etc/...) still finds the knowledge shipped with the project.
        shipped = Path(__file__).resolve().parent.parent / knowledge
        settings.routing.knowledge = str(beside if beside.is_file() or not shipped.is_file() else shipped)
    return settings


def _overlay_secrets(raw: dict, env: dict[str, str] | os._Environ[str]) -> None:
    from bot.channels import registry

    for plugin in registry.plugins():
        if not plugin.secrets:
            continue
        section = raw.setdefault(plugin.name, {})
        if not isinstance(section, dict):
            continue  # the section's validation says what is wrong
        for key, variable in plugin.secrets.items():
            if key in section:
                raise ConfigError(f"{plugin.name}.{key}: secrets must not be in the config file; "
                                  f"set {variable} in the environment")
            if env.get(variable):
                section[key] = env[variable]
    if env.get("APPEALS_BOT_DATABASE_URL"):
        raw.setdefault("database", {})["url"] = env["APPEALS_BOT_DATABASE_URL"]


def __getattr__(name: str) -> Any:
    # The channels' section models live with their channels (bot/channels/<name>/plugin.py); the old
    # names (bot.config.Telegram, bot.config.Vk) still resolve, through the registry.
    from bot.channels import registry

    for plugin in registry.plugins():
        if plugin.settings_model is not None and plugin.settings_model.__name__ == name:
            return plugin.settings_model
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
