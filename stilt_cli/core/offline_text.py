"""Real multilingual text that ships inside PyPI packages, so stilt has material with no network.

- Django's translation catalogs (`django/**/locale/<lang>/LC_MESSAGES/django.mo`): ~1,000 UI
  sentences, parallel by their English msgid, in up to ~98 languages.
- Babel's CLDR data: names of languages, territories, currencies … in ~300 locales, parallel by key.

Nothing here is stilt's own text: every string comes from those packages at run time.
"""

from __future__ import annotations

import gettext
import os
import re
from functools import cache, lru_cache
from pathlib import Path

# Django locale folder names that are not a plain ISO 639-1 code
_DJANGO_LOCALES = {"zh": "zh_Hans", "nb": "nb", "pt": "pt", "sr": "sr"}
_PLACEHOLDER = re.compile(r"%\([^)]*\)[sdifr]|%[sdifr]|\{[^}]*\}")


@lru_cache(maxsize=1)
def _django_root() -> Path:
    import django

    return Path(os.path.dirname(django.__file__))


@lru_cache(maxsize=1)
def django_languages() -> tuple[str, ...]:
    root = _django_root()
    names = {p.parent.parent.name for p in root.glob("**/locale/*/LC_MESSAGES/django.mo")}
    codes = {name for name in names if len(name) == 2}
    if "zh_Hans" in names:
        codes.add("zh")
    return tuple(sorted(codes))


@cache
def django_catalog(lang: str) -> dict[str, str]:
    """English msgid -> translation, merged over every Django app; singular forms only."""
    folder = _DJANGO_LOCALES.get(lang, lang)
    catalog: dict[str, str] = {}
    for mo in sorted(_django_root().glob(f"**/locale/{folder}/LC_MESSAGES/django.mo")):
        with open(mo, "rb") as handle:
            translations = gettext.GNUTranslations(handle)
        for key, value in translations._catalog.items():  # noqa: SLF001 - the parsed .mo table
            if isinstance(key, tuple):  # plural: (msgid, index); keep the singular form
                key, index = key
                if index != 0:
                    continue
            if not key or not value or "\x04" in key:  # skip the header and context-qualified ids
                continue
            catalog.setdefault(key, value)
    return catalog


def strip_placeholders(text: str) -> str:
    return " ".join(_PLACEHOLDER.sub("", text).split())


@cache
def cldr_names(lang: str) -> dict[str, str]:
    """CLDR key -> localized name (languages and territories) for one locale."""
    from babel import Locale, UnknownLocaleError

    try:
        locale = Locale.parse(lang)
    except (UnknownLocaleError, ValueError):
        return {}
    names: dict[str, str] = {}
    for key, value in locale.languages.items():
        names[f"language:{key}"] = value
    for key, value in locale.territories.items():
        names[f"territory:{key}"] = value
    return names


def tokenizer_corpus(langs: list[str], per_lang: int = 2000) -> list[str]:
    """Sentences and names in many languages, to train a small tokenizer offline."""
    lines: list[str] = []
    for lang in langs:
        catalog = django_catalog(lang) if lang in django_languages() else {}
        texts = [strip_placeholders(v) for v in catalog.values()]
        texts += list(cldr_names(lang).values())
        lines.extend(t for t in texts[:per_lang] if t)
    return lines
