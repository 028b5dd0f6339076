"""Moved to ``bot.services.meetings.agenda``; this old path is the same module."""

import sys

from bot.services.meetings import agenda

sys.modules[__name__] = agenda
