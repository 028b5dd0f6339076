"""The domain's one way of saying no."""

from __future__ import annotations


class Refusal(Exception):
    """A polite no: ``key`` is the message to show, ``params`` fill it in; nothing has changed.

    Same shape as ``bot.services.meetings.Refusal``, which this one is meant to replace.
    """

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params
