"""Message catalogues: gettext .po files in locales/, read with Babel at start-up.

The .po files are compiled in memory, so a fresh checkout needs no build step. Message
ids are keys ("appeal.registered"); the text lives only in the catalogues.
"""

from __future__ import annotations

import gettext
import io
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
LANGUAGES = ("ru", "en")
DOMAIN = "messages"


def catalogue_path(language: str, locales_dir: Path = LOCALES_DIR) -> Path:
    return locales_dir / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def _translations(language: str, locales_dir: Path = LOCALES_DIR) -> gettext.GNUTranslations:
    with catalogue_path(language, locales_dir).open("rb") as po_file:
        catalog = read_po(po_file, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


class Translator:
    """Texts in one language. ``t("key", name=...)`` formats ``{name}`` placeholders."""

    def __init__(self, language: str) -> None:
        self.language = language if language in LANGUAGES else LANGUAGES[0]
        self._gnu = _translations(self.language)

    def __call__(self, key: str, **params: object) -> str:
        text = self._gnu.gettext(key)
        return text.format(**params) if params else text

    def plural(self, key: str, count: int, **params: object) -> str:
        """Russian needs three forms (1 обращение, 2 обращения, 5 обращений): the catalogue's rule picks."""
        text = self._gnu.ngettext(key, key, count)
        return text.format(count=count, **params)


@cache
def translator(language: str) -> Translator:
    return Translator(language)
