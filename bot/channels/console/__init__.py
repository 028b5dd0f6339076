"""The console channel (``appeals-bot console``): the same conversations in a terminal."""

from bot.channels.console.channel import CHANNEL, LOCAL_FILES, ConsoleChannel

__all__ = ["CHANNEL", "LOCAL_FILES", "ConsoleChannel"]
