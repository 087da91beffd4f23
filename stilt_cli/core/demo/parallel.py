"""`demo-parallel`: a Tatoeba-style retrieval set from Django's translation catalogs.

Django ships each UI string as an English msgid plus its translation per language, so the catalogs are
a small parallel corpus aligned by msgid. Only Django's current msgids count (some catalogs still translate retired
ones). Per language: translated strings with placeholders
(`%(name)s`, `%d`, `{obj}`) stripped, strings with HTML markup or more than `MAX_WORDS` English words
left out, multi-word strings first (they read like Tatoeba's sentences) then single words, up to
`per_lang`. Left out, so the gold is unambiguous
and really cross-lingual: untranslated strings (translation == English), and any string whose English or
translated text repeats an earlier one in that language.

Ids are parallel across languages: `de:0042` and `fr:0042` are translations of the same msgid, whose
English side is `de:0042:en` and `fr:0042:en`. Canonical retrieval form: sentence records
{"id", "lang", "side": "src" (the language) | "tgt" (English), "text"} and gold {"lang", "link": [src, tgt]}.
"""

from __future__ import annotations

from typing import Any

from stilt_cli.core.data import offline_text
from stilt_cli.core.demo.names import fold, rank
from stilt_cli.core.tasks import demo as demo_tasks

TASK = demo_tasks.PARALLEL
# Tatoeba's sentences are short; the few paragraph-long help texts would also dominate embedding time
MAX_WORDS = 12


def _english(msgid: str) -> str:
    return offline_text.strip_placeholders(msgid)


def msgid_order(langs: list[str], seed: int) -> list[str]:
    """Django's current English msgids in one seeded order, multi-word strings first. The order (and so
    the parallel index) does not depend on `langs` unless the install lacks the English .po files."""
    msgids = set(offline_text.django_msgids()) or {m for lang in langs for m in offline_text.django_catalog(lang)}
    usable = [m for m in msgids if "<" not in m and any(ch.isalpha() for ch in _english(m))
              and len(_english(m).split()) <= MAX_WORDS]
    return sorted(usable, key=lambda m: (len(_english(m).split()) < 2, rank(seed, TASK, m)))


def pairs(lang: str, order: list[str], per_lang: int) -> list[tuple[int, str, str]]:
    """(parallel index, translation, English) for one language, at most `per_lang`."""
    catalog = offline_text.django_catalog(lang)
    chosen: list[tuple[int, str, str]] = []
    seen: set[str] = set()
    for index, msgid in enumerate(order):
        if msgid not in catalog:
            continue
        english, text = _english(msgid), offline_text.strip_placeholders(catalog[msgid])
        if not text or fold(text) == fold(english) or fold(text) in seen or fold(english) in seen:
            continue
        seen.update((fold(text), fold(english)))
        chosen.append((index, text, english))
        if len(chosen) == per_lang:
            break
    return chosen


def build(langs: list[str], seed: int = 0, per_lang: int = 300) -> list[dict[str, Any]]:
    """Canonical retrieval records for every language: its sentences, their English sides, the gold links."""
    order = msgid_order(langs, seed)
    rows: list[dict[str, Any]] = []
    for lang in langs:
        chosen = pairs(lang, order, per_lang)
        rows += [{"id": f"{lang}:{i:04d}", "lang": lang, "side": "src", "text": text} for i, text, _ in chosen]
        rows += [{"id": f"{lang}:{i:04d}:en", "lang": lang, "side": "tgt", "text": en} for i, _, en in chosen]
        rows += [{"lang": lang, "link": [f"{lang}:{i:04d}", f"{lang}:{i:04d}:en"]} for i, _, _ in chosen]
    return rows
