"""Every user-visible message exists in both languages, and Russian plurals are right."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot.i18n import LANGUAGES, catalogue_path, translator

ROOT = Path(__file__).resolve().parent.parent
KEY_CALL = re.compile(
    r"""(?:ctx\.say|ctx\.t|ctx\.button|ctx\.toast|complain\(ctx,|\bt)\(\s*["']([a-z_]+\.[a-z_.]+)["']""")


def catalogue(language: str) -> dict[str, object]:
    with catalogue_path(language).open("rb") as handle:
        return {(m.id if isinstance(m.id, str) else m.id[0]): m.string for m in read_po(handle) if m.id}


def test_every_key_has_a_translation_in_every_language() -> None:
    catalogues = {language: catalogue(language) for language in LANGUAGES}
    all_keys = set().union(*catalogues.values())
    for language, messages in catalogues.items():
        missing = sorted(all_keys - messages.keys())
        empty = sorted(k for k, v in messages.items() if not v or (isinstance(v, tuple) and not all(v)))
        assert not missing, f"{language} lacks {missing}"
        assert not empty, f"{language} has empty {empty}"


def test_every_key_used_in_code_exists() -> None:
    known = catalogue("ru").keys()
    used = set()
    for path in [*ROOT.glob("handlers/*.py"), *ROOT.glob("bot/**/*.py")]:
        used |= set(KEY_CALL.findall(path.read_text(encoding="utf-8")))
    assert used, "the scan found no keys: the pattern is broken"
    assert not sorted(used - known)


def test_placeholders_match_between_languages() -> None:
    ru, en = catalogue("ru"), catalogue("en")
    for key, text in ru.items():
        fields = set(re.findall(r"\{(\w+)\}", str(text)))
        assert fields == set(re.findall(r"\{(\w+)\}", str(en[key]))), key


@pytest.mark.parametrize(("count", "word"), [
    (1, "обращение"), (2, "обращения"), (4, "обращения"), (5, "обращений"), (11, "обращений"),
    (12, "обращений"), (14, "обращений"), (21, "обращение"), (22, "обращения"), (25, "обращений"),
    (101, "обращение"), (111, "обращений"),
])
def test_russian_plural_forms(count: int, word: str) -> None:
    assert translator("ru").plural("my.header", count).endswith(f"({count} {word}):")


def test_english_plural_forms() -> None:
    assert translator("en").plural("my.header", 1).endswith("(1 appeal):")
    assert translator("en").plural("my.header", 3).endswith("(3 appeals):")


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_key_is_written_twice(language: str) -> None:
    """Branches add keys at the end of the catalogues, merged as a union: the same key twice would let the
    later text win silently."""
    text = catalogue_path(language).read_text(encoding="utf-8")
    ids = [line for line in text.splitlines() if line.startswith('msgid "') and line != 'msgid ""']
    assert sorted({i for i in ids if ids.count(i) > 1}) == []
