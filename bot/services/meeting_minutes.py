"""Moved to ``bot.services.meetings.minutes``; this old path is the same module."""

import sys

from bot.services.meetings import minutes

sys.modules[__name__] = minutes
