"""Checks of what a citizen types. Each returns None when fine, or the message key of the problem."""

from __future__ import annotations

import codecs
import dataclasses
import math
import re
import unicodedata
from pathlib import PurePath

from bot.config import Limits
from bot.events import FILE_HEAD_BYTES, Attachment, Incoming

PHONE_DIGITS_MIN = 10
PHONE_DIGITS_MAX = 15
# After NFKC ("＋７ ９１２" is "+7 912"): ASCII digits only ("٩" is a digit to \\d, not to a phone line).
PHONE_RE = re.compile(r"^\+?[0-9\s\-()]+$", re.ASCII)
NAME_MIN_LENGTH = 2
# Row ids are INTEGER columns: 32-bit on PostgreSQL. A larger number is nobody's id, not a database error.
MAX_ID = 2**31 - 1
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


def parse_id(value: object) -> int | None:
    """An id typed or carried in a button: ASCII digits only ('²' and '٣' are digits to str.isdigit, and
    int() takes the latter), within the column's range; None for anything else."""
    text = str(value if value is not None else "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(MAX_ID)):
        return None
    number = int(text)
    return number if number <= MAX_ID else None


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
    """'+7 (912) 345-67-89' -> '+79123456789'; None when it is not a phone number.

    A number typed with "+" is international and kept as typed ('+81 3 1234 5678' stays Japanese);
    without it, 8 912 ... and 912 ... are Russian numbers written the domestic way."""
    raw = unicodedata.normalize("NFKC", text).strip()
    if not PHONE_RE.match(raw):
        return None
    digits = re.sub(r"[^0-9]", "", raw)
    if not PHONE_DIGITS_MIN - 1 <= len(digits) <= PHONE_DIGITS_MAX:
        return None
    if raw.startswith("+"):
        return "+" + digits
    if len(digits) < PHONE_DIGITS_MIN:
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
    if len(attachment.ref) > REF_MAX:
        return "error.attachment_type"  # not a reference any messenger gives: not a file we could fetch
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


def check_location(latitude: float, longitude: float) -> str | None:
    """A point on Earth: a forged update may carry 1000, NaN or infinity."""
    if not (math.isfinite(latitude) and math.isfinite(longitude)):
        return "error.location_invalid"
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return "error.location_invalid"
    return None


# --- what arrives: NUL bytes out, lengths within the columns ---------------------------------------

# The columns' sizes (storage/models.py): a name or a MIME type that does not fit is cut here, where
# nothing is lost but excess; a reference that does not fit is not a file we can fetch (check_attachment).
FILE_NAME_MAX = 255
MIME_MAX = 127
REF_MAX = 512
USER_NAME_MAX = 200


def without_nul(text: str) -> str:
    """PostgreSQL refuses NUL in text and SQLite keeps it silently: it goes, everywhere, on the way in."""
    return text.replace("\x00", "") if "\x00" in text else text


def _file_name(name: str) -> str:
    name = without_nul(name)
    if len(name) <= FILE_NAME_MAX:
        return name
    suffix = PurePath(name).suffix[:16]
    return name[:FILE_NAME_MAX - len(suffix)] + suffix


def sanitized(event: Incoming) -> Incoming:
    """The event as it may be stored: NUL bytes removed, names and MIME types cut to their columns."""
    if "\x00" not in event.text and len(event.user_name) <= USER_NAME_MAX and not event.attachments \
            and "\x00" not in event.user_name and "\x00" not in (event.phone or ""):
        return event  # the usual message: nothing to change, nothing copied
    attachments = tuple(dataclasses.replace(a, name=_file_name(a.name), mime=without_nul(a.mime)[:MIME_MAX],
                                            ref=without_nul(a.ref)) for a in event.attachments)
    return dataclasses.replace(event, text=without_nul(event.text), attachments=attachments,
                               user_name=without_nul(event.user_name)[:USER_NAME_MAX],
                               phone=without_nul(event.phone) if event.phone is not None else None)


# --- documents by their content ------------------------------------------------------------------

SNIFF_BYTES = FILE_HEAD_BYTES
_MAGIC = (
    (b"%PDF-", "pdf"),
    (b"PK\x03\x04", "zip"),  # DOCX, XLSX, ODT, ODS: ZIP containers
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "ole"),  # DOC, XLS: OLE2
    (b"{\\rtf", "rtf"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
)
_KIND = {"pdf": "pdf", "zip": "office", "ole": "office", "rtf": "rtf", "jpeg": "image", "png": "image",
         "tiff": "image", "webp": "image", "heic": "image", "text": "text"}
# The names each format goes by; the first is added to a name that says otherwise. ZIP and OLE2 are not
# here: their first 64 bytes do not tell a DOCX from an XLSX, so such a file keeps its name.
_SUFFIXES = {"pdf": (".pdf",), "rtf": (".rtf",), "text": (".txt",), "jpeg": (".jpg", ".jpeg"), "png": (".png",),
             "tiff": (".tif", ".tiff"), "webp": (".webp",), "heic": (".heic",)}


def document_content(head: bytes) -> str | None:
    """What the first bytes of a file say it is (pdf, office, rtf, image, text); None: not a document we take,
    whatever its name says (an executable named "акт.pdf")."""
    found = _format(head)
    return _KIND[found] if found is not None else None


def named_by_content(name: str, head: bytes) -> str:
    """The name a document whose content we know is kept under: its own when its extension fits the content,
    else with the content's extension added ("скан" or "скан.bin" holding a PDF: "скан.pdf", "скан.bin.pdf").
    The content decides what we take, not the name; the ministry then opens the file by the right program."""
    suffixes = _SUFFIXES.get(_format(head) or "")
    if not suffixes or PurePath(name).suffix.lower() in suffixes:
        return name
    return _file_name((name or "document") + suffixes[0])


def _format(head: bytes) -> str | None:
    for magic, found in _MAGIC:
        if head.startswith(magic):
            return found
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"mif1", b"msf1"):
        return "heic"
    text = _as_text(head)
    if text and all(ch.isprintable() or ch in "\r\n\t" for ch in text) and not text.lstrip().startswith("<"):
        return "text"  # a plain-text letter; markup (HTML, SVG) could run in a browser
    return None


def _as_text(head: bytes) -> str | None:
    try:
        # Incremental: the first bytes may end inside a UTF-8 character, which is held back, not an error.
        return codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        pass
    try:
        return head.decode("cp1251")
    except UnicodeDecodeError:
        return None
