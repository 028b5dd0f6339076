"""The channels there are: every package in bot/channels/ with a ``plugin`` module defining ``PLUGIN``.

The config loader, the runner, the outbox and the CLI iterate this; nothing outside bot/channels/
names a messenger. A channel name the registry does not know (in a ministry's ``staff_chat``, in an
outbox row) is a configuration error, not a silent default.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

from bot.channels.base import ChannelPlugin, Limits

PACKAGE = "bot.channels"


class UnknownChannel(LookupError):
    """A channel name no package in bot/channels/ provides."""

    def __init__(self, name: str) -> None:
        known = ", ".join(names()) or "none"
        super().__init__(f"unknown channel {name!r} (known: {known})")
        self.name = name


@cache
def _plugins() -> dict[str, ChannelPlugin]:
    package = importlib.import_module(PACKAGE)
    found: dict[str, ChannelPlugin] = {}
    for module in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if not module.ispkg:
            continue
        try:
            plugin_module = importlib.import_module(f"{PACKAGE}.{module.name}.plugin")
        except ModuleNotFoundError as exc:
            if exc.name == f"{PACKAGE}.{module.name}.plugin":
                continue  # a helper package, not a channel
            raise
        plugin: ChannelPlugin = plugin_module.PLUGIN
        if plugin.name != module.name:
            raise RuntimeError(f"{PACKAGE}.{module.name}: PLUGIN.name is {plugin.name!r}, must be the package name")
        found[plugin.name] = plugin
    return found


def plugins() -> Iterator[ChannelPlugin]:
    yield from _plugins().values()


def names() -> list[str]:
    return list(_plugins())


def plugin(name: str) -> ChannelPlugin:
    try:
        return _plugins()[name]
    except KeyError:
        raise UnknownChannel(name) from None


def is_known(name: str) -> bool:
    return name in _plugins()


def limits(name: str) -> Limits:
    return plugin(name).limits


def is_group_chat(channel: str, chat_id: str) -> bool:
    return plugin(channel).is_group_chat(chat_id)


def invite_hints(settings: Any, code: str) -> list[tuple[str, str]]:
    """(channel, how to redeem the invite code there) for `appeals-bot staff invite` and `groups invite`."""
    hints = []
    for each in plugins():
        hint = each.invite_hint(settings.channel(each.name), code)
        if hint:
            hints.append((each.name, hint))
    return hints


def names_from(package: str, modules: tuple[str, ...]) -> Callable[[str], Any]:
    """A channel package's module ``__getattr__``: its modules' names, each module imported on first use,
    so the registry reads the package's ``plugin`` without loading the messenger's library."""

    def find(name: str) -> Any:
        if not name.startswith("__"):
            for module in modules:
                found = importlib.import_module(f"{package}.{module}")
                if name in vars(found):
                    return vars(found)[name]
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return find
