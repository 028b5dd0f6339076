"""Moved to ``bot.domain.meeting_rules`` (pure rules, no services); this old path is the same module."""

import sys

from bot.domain import meeting_rules

sys.modules[__name__] = meeting_rules
