"""Checks of what a citizen types. Each returns None when fine, or the message key of the problem."""

from __future__ import annotations

import re
from pathlib import PurePath

from bot.config import Limits
from bot.events import Attachment

PHONE_DIGITS_MIN = 10
PHONE_DIGITS_MAX = 15
PHONE_RE = re.compile(r"^\+?[\d\s\-()]+$")
NAME_MIN_LENGTH = 2
# A full name: surname and name, maybe a patronymic (and "оглы"/"кызы"); letters, hyphens,
# apostrophes, initials with a dot. More words, digits or a preposition make it a sentence.
NAME_WORD_RE = re.compile(r"^[^\W\d_]+(?:[-'’][^\W\d_]+)*\.?$")
NAME_WORDS = (2, 5)
NOT_NAME_WORDS = frozenset({
    "в", "во", "на", "с", "со", "у", "к", "по", "за", "из", "от", "до", "о", "об", "не", "и", "а", "но", "что",
    "я", "мы", "меня", "мне", "нас", "это", "как", "где", "когда", "прошу", "здравствуйте", "добрый", "день",
    "проблема", "помогите", "in", "on", "at", "the", "my", "is", "a", "an", "to", "of", "and", "please", "hello",
})
DOCUMENT_EXTENSIONS = frozenset({
    ".pdf", ".doc", ".docx", ".odt", ".rtf", ".txt", ".xls", ".xlsx", ".ods",
    ".jpg", ".jpeg", ".png", ".heic", ".webp", ".tif", ".tiff",
})


def check_name(text: str, limits: Limits) -> str | None:
    name = " ".join(text.split())
    if len(name) < NAME_MIN_LENGTH or not any(ch.isalpha() for ch in name):
        return "error.name_invalid"
    if len(name) > limits.name_max_length:
        return "error.name_too_long"
    words = name.split()
    if not NAME_WORDS[0] <= len(words) <= NAME_WORDS[1] or any(
            not NAME_WORD_RE.match(word) or word.casefold() in NOT_NAME_WORDS for word in words):
        return "error.name_not_full"
    return None


def normalize_phone(text: str) -> str | None:
    """'+7 (912) 345-67-89' -> '+79123456789'; None when it is not a phone number."""
    raw = text.strip()
    if not PHONE_RE.match(raw):
        return None
    digits = re.sub(r"\D", "", raw)
    if not PHONE_DIGITS_MIN <= len(digits) <= PHONE_DIGITS_MAX:
        return None
    if len(digits) == 11 and digits[0] == "8":
        # Russian numbers written the domestic way: 8 912 ... is +7 912 ...
        digits = "7" + digits[1:]
    elif len(digits) == PHONE_DIGITS_MIN:
        digits = "7" + digits
    return "+" + digits


def check_text_part(current_length: int, part: str, limits: Limits) -> str | None:
    if not part.strip():
        return "error.text_empty"
    if current_length + len(part) > limits.text_max_length:
        return "error.text_too_long"
    return None


def check_text_complete(text: str, limits: Limits) -> str | None:
    if len(text.strip()) < limits.text_min_length:
        return "error.text_too_short"
    return None


def check_attachment(attachment: Attachment, already: int, limits: Limits) -> str | None:
    if already >= limits.attachments_max_count:
        return "error.attachments_too_many"
    if attachment.size is not None and attachment.size > limits.attachment_max_size_mb * 1024 * 1024:
        return "error.attachment_too_large"
    if attachment.kind == "document":
        suffix = PurePath(attachment.name or "").suffix.lower()
        if suffix not in DOCUMENT_EXTENSIONS:
            return "error.attachment_type"
    return None


def check_address(text: str, limits: Limits) -> str | None:
    address = text.strip()
    if len(address) < 3:
        return "error.address_invalid"
    if len(address) > limits.address_max_length:
        return "error.address_too_long"
    return None
