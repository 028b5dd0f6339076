"""The domain's one way of saying no."""

from __future__ import annotations


class Refusal(Exception):
    """A polite no: ``key`` is the message to show, ``params`` fill it in. A parameter that is a message key
    (``bot.services.meetings.Key``) or a date is worded by whoever shows the refusal (handlers.router)."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params
