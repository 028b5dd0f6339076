"""Keep locales/*.po in order: `python tools/po.py check` lists keys missing in a language.

The catalogues are edited by hand (they are the source of truth); this script only checks
them and can add a key to both files: `python tools/po.py add KEY "ru text" "en text"`.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
LANGS = ("ru", "en")


def path(lang: str) -> Path:
    return ROOT / "locales" / lang / "LC_MESSAGES" / "messages.po"


def keys(lang: str) -> dict[str, object]:
    with path(lang).open("rb") as handle:
        return {m.id if isinstance(m.id, str) else m.id[0]: m.string for m in read_po(handle) if m.id}


def escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def main() -> int:
    if sys.argv[1:2] == ["add"]:
        key, *texts = sys.argv[2:]
        for lang, text in zip(LANGS, texts, strict=True):
            with path(lang).open("a", encoding="utf-8") as handle:
                handle.write(f'\nmsgid "{escape(key)}"\nmsgstr "{escape(text)}"\n')
        return 0
    all_keys = {lang: keys(lang) for lang in LANGS}
    missing = 0
    for lang in LANGS:
        for other in LANGS:
            for key in all_keys[other].keys() - all_keys[lang].keys():
                print(f"{lang}: missing {key}")
                missing += 1
    return 1 if missing else 0


if __name__ == "__main__":
    raise SystemExit(main())
