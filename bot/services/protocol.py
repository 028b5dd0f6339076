"""Moved to ``bot.services.meetings.document``; this old path is the same module."""

import sys

from bot.services.meetings import document

sys.modules[__name__] = document
