"""VK constants (the API's limits and error codes) shared by the modules of the channel."""

from __future__ import annotations

import logging
from typing import TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

CHANNEL = "vk"
VK_METHOD_URL = "https://api.vk.ru/method/"  # hard-coded in vk_api.VkApi.method
CHAT_PEER_START = 2_000_000_000  # peer_id of a group chat is 2e9 + chat id
TEXT_LIMIT = 4096  # messages.send: "message" up to 4096 characters
LABEL_LIMIT = 40  # keyboard: a button label is at most 40 characters
SNACKBAR_LIMIT = 90  # sendMessageEventAnswer: show_snackbar text up to 90 characters
INLINE_MAX_BUTTONS = 10  # keyboard docs: inline 5x6 grid, at most 10 buttons
STANDARD_MAX_BUTTONS = 40  # keyboard docs: standard 5x10 grid, at most 40 buttons
ATTACHMENTS_PER_MESSAGE = 10
CONTINUATION = "…"  # VK refuses an empty message: a keyboard page of its own carries this
START_COMMAND = {"command": "start"}  # the payload of VK's own "Начать" button

# Error codes, https://dev.vk.com/ru/reference/errors. Rate limits: wait, retry, then let the
# outbox retry later (the value is its retry_after hint, seconds).
RATE_LIMITS = {6: 1.0, 9: 10.0, 29: 60.0}
TRANSIENT = {1, 10}  # unknown error, internal server error
# A person or chat we may not write to: 7 permission denied (privacy), 18 deleted or banned,
# 900 blacklisted the community, 901 did not allow messages, 902 privacy settings,
# 917 no access to the chat, 936 contact not found, 945 chat disabled, 946 chat not supported.
UNREACHABLE = {7, 18, 900, 901, 902, 917, 936, 945, 946}
# Photo sizes from smallest to largest when an old photo has no dimensions,
# https://dev.vk.com/ru/reference/objects/photo-sizes
PHOTO_SIZE_RANK = {"s": 1, "m": 2, "x": 3, "o": 3, "p": 3, "q": 3, "r": 3, "y": 4, "z": 5, "w": 6, "base": 7}
LANGUAGE_BY_LANG_ID = {0: "ru", 3: "en"}  # client_info.lang_id
# Uploads for messages (https://dev.vk.com/ru/api/upload/overview): a photo is JPG, PNG or GIF of up to
# 50 MB; anything else (or a larger picture) goes as a document, up to 200 MB.
PHOTO_FORMATS = frozenset({".jpg", ".jpeg", ".png", ".gif"})
PHOTO_UPLOAD_LIMIT = 50 * 1024 * 1024
DOCUMENT_UPLOAD_LIMIT = 200 * 1024 * 1024
