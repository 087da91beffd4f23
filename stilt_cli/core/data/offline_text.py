"""Real multilingual text that ships inside PyPI packages, so stilt has material with no network.

- Django's translation catalogs (`django/**/locale/<lang>/LC_MESSAGES/django.mo`): ~1,000 UI
  sentences, parallel by their English msgid, in up to ~98 languages.
- Babel's CLDR data: names of languages, territories, currencies, scripts in ~300 locales, parallel
  by key; and which currencies and languages belong to which territory.

`core/demo*.py` builds the `stilt data demo` tasks from these.

Nothing here is stilt's own text: every string comes from those packages at run time.
"""

from __future__ import annotations

import gettext
import os
import re
from datetime import date
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


@lru_cache(maxsize=1)
def django_msgids() -> tuple[str, ...]:
    """Django's current English source strings (the `en` .po files), singular, without context; sorted.

    Some catalogs still carry translations of msgids Django no longer uses; this list leaves those out.
    Empty if an install dropped the .po files.
    """
    from babel.messages.pofile import read_po

    msgids: set[str] = set()
    for po in sorted(_django_root().glob("**/locale/en/LC_MESSAGES/django.po")):
        with open(po, "rb") as handle:
            for message in read_po(handle):
                msgid = message.id[0] if isinstance(message.id, (tuple, list)) else message.id
                if msgid and not message.context:
                    msgids.add(msgid)
    return tuple(sorted(msgids))


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


CLDR_KINDS = ("language", "territory", "currency", "script")


@cache
def cldr_display_names(lang: str, kind: str) -> dict[str, str]:
    """CLDR key -> this locale's display name for one kind of thing (see CLDR_KINDS), whitespace-normalised.

    Only what the locale itself defines: a name CLDR does not translate is absent, not English.
    """
    from babel import Locale, UnknownLocaleError

    if kind not in CLDR_KINDS:
        raise ValueError(f"unknown CLDR kind {kind!r}")
    try:
        locale = Locale.parse(lang)
    except (UnknownLocaleError, ValueError):
        return {}
    table = {"language": locale.languages, "territory": locale.territories, "currency": locale.currencies,
             "script": locale.scripts}[kind]
    names = {key: " ".join(str(value).split()) for key, value in table.items() if value}
    return {key: names[key] for key in sorted(names) if names[key]}


@lru_cache(maxsize=1)
def cldr_locales() -> frozenset[str]:
    from babel.localedata import locale_identifiers

    return frozenset(locale_identifiers())


def territory_currencies(territory: str, start: date, end: date) -> tuple[str, ...]:
    """ISO 4217 codes that were legal tender in `territory` at some point between two fixed dates (CLDR)."""
    from babel.numbers import get_territory_currencies

    return tuple(get_territory_currencies(territory, start_date=start, end_date=end, tender=True))


def territory_languages(territory: str) -> dict[str, tuple[float, str | None]]:
    """Language code (script suffix dropped) -> (percent of the population, official status) in `territory`,
    for every language CLDR lists there."""
    from babel.languages import get_territory_language_info

    languages: dict[str, tuple[float, str | None]] = {}
    for code, data in get_territory_language_info(territory).items():
        code = code.split("_")[0]
        percent, status = float(data.get("population_percent") or 0.0), data.get("official_status")
        old_percent, old_status = languages.get(code, (0.0, None))
        languages[code] = (max(percent, old_percent), status or old_status)
    return languages


def package_versions() -> dict[str, str]:
    """Versions of the packages whose text this module serves: the data changes only when these do."""
    import babel
    import django
    from babel.core import get_cldr_version

    return {"babel": babel.__version__, "cldr": str(get_cldr_version()), "django": django.__version__}


def tokenizer_corpus(langs: list[str], per_lang: int = 2000) -> list[str]:
    """Sentences and names in many languages, to train a small tokenizer offline."""
    lines: list[str] = []
    for lang in langs:
        catalog = django_catalog(lang) if lang in django_languages() else {}
        texts = [strip_placeholders(v) for v in catalog.values()]
        texts += list(cldr_names(lang).values())
        lines.extend(t for t in texts[:per_lang] if t)
    return lines
