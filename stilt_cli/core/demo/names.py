"""`demo-names`: the demo's target task. Which kind of thing does a CLDR display name name?

Classes: language, territory, currency, script (Babel's `Locale.languages/territories/currencies/
scripts`). CLDR translates the same keys into every locale, so one key gives one parallel example per
language. The held-out test keys are the ones CLDR names in most demo languages (so every language's
test set is close to balanced); train and dev are English names of other keys, classes balanced.

What is dropped, and why:
- special codes (unknown / multiple / pseudo languages, regions and scripts) and non-tender currencies
  (gold, testing codes): they are not names of real things of that kind;
- any name with a digit: historical currencies carry their years ("… (1993–2006)"), a give-away;
- names shared by two classes in one language ("Georgian" language vs script): the gold is ambiguous;
- in a non-English test set, a name identical to the English name of the same key ("Canada"), or to an
  English training name: that would test English again, not transfer.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from datetime import date
from typing import Any

from stilt_cli.core.data import offline_text
from stilt_cli.core.tasks import demo as demo_tasks
from stilt_cli.core.tasks.demo import DEMO_LANGS, NAME_CLASSES

TASK = demo_tasks.NAMES
# ISO 639 special-purpose codes: not languages
_SPECIAL_LANGUAGES = frozenset({"mis", "mul", "und", "zxx"})
_KEY_SHAPE = {"language": re.compile(r"[a-z]{2,3}"), "territory": re.compile(r"[A-Z]{2}"),
              "currency": re.compile(r"[A-Z]{3}"), "script": re.compile(r"[A-Z][a-z]{3}")}
# fixed dates, so the selection depends on the installed CLDR data only, never on today's date
TENDER_FROM, TENDER_TO = date(1800, 1, 1), date(2024, 1, 1)
_DIGIT = re.compile(r"\d")


def rank(seed: int, salt: str, key: str) -> str:
    """A seeded, platform-independent sort key (Python's hash() is salted per process)."""
    return hashlib.sha256(f"{seed}\0{salt}\0{key}".encode()).hexdigest()


def fold(text: str) -> str:
    return " ".join(text.casefold().split())


def tender_currencies() -> frozenset[str]:
    """Currencies that were legal tender in some territory between the fixed dates."""
    codes: set[str] = set()
    for territory in offline_text.cldr_display_names("en", "territory"):
        if _KEY_SHAPE["territory"].fullmatch(territory):
            codes.update(offline_text.territory_currencies(territory, TENDER_FROM, TENDER_TO))
    return frozenset(codes)


def _real_key(kind: str, key: str, tender: frozenset[str]) -> bool:
    if not _KEY_SHAPE[kind].fullmatch(key):
        return False
    if kind == "language":
        return key not in _SPECIAL_LANGUAGES
    if kind == "territory":  # a real territory has (had) a currency; EU, UN, ZZ, pseudo-locales have none
        return bool(offline_text.territory_currencies(key, TENDER_FROM, TENDER_TO))
    if kind == "currency":
        return key in tender
    return key[0] not in "QZ"  # ISO 15924 reserves Qaaa-Qabx and Z*** for special purposes


def english_keys() -> dict[str, dict[str, str]]:
    """class -> {key: English name}: real keys with unambiguous, digit-free English names."""
    tender = tender_currencies()
    candidates = {kind: {key: name for key, name in offline_text.cldr_display_names("en", kind).items()
                         if _real_key(kind, key, tender) and not _DIGIT.search(name)}
                  for kind in NAME_CLASSES}
    classes_of: dict[str, set[str]] = {}
    for kind, names in candidates.items():
        for name in names.values():
            classes_of.setdefault(fold(name), set()).add(kind)
    keys: dict[str, dict[str, str]] = {}
    for kind, names in candidates.items():
        seen: set[str] = set()
        keys[kind] = {}
        for key, name in names.items():  # sorted by key: the first key keeps a name two keys share
            if len(classes_of[fold(name)]) == 1 and fold(name) not in seen:
                seen.add(fold(name))
                keys[kind][key] = name
    return keys


def _usable(name: str | None, english: str, lang: str) -> bool:
    return bool(name) and not _DIGIT.search(name) and (lang == "en" or fold(name) != fold(english))


def split_keys(keys: dict[str, dict[str, str]], seed: int, test_per_class: int, dev_per_class: int,
               ) -> dict[str, dict[str, list[str]]]:
    """split -> class -> keys. Test: the keys named in most demo languages; train balanced across classes."""
    splits: dict[str, dict[str, list[str]]] = {"train": {}, "dev": {}, "test": {}}
    for kind, names in keys.items():
        def coverage(key: str, kind: str = kind, names: dict[str, str] = names) -> int:
            return sum(_usable(offline_text.cldr_display_names(lang, kind).get(key), names[key], lang)
                       for lang in DEMO_LANGS)

        by_coverage = sorted(names, key=lambda k: (-coverage(k), rank(seed, TASK, k)))
        splits["test"][kind] = by_coverage[:test_per_class]
        rest = sorted(by_coverage[test_per_class:], key=lambda k: rank(seed, TASK + ":rest", k))
        splits["dev"][kind] = rest[:dev_per_class]
        splits["train"][kind] = rest[dev_per_class:]
    smallest = min(len(v) for v in splits["train"].values())
    splits["train"] = {kind: v[:smallest] for kind, v in splits["train"].items()}
    return splits


def _example(lang: str, kind: str, key: str, text: str) -> dict[str, Any]:
    return {"id": f"{lang}:{kind}:{key}", "lang": lang, "text_a": text, "label": kind}


def _drop_ambiguous(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Within one language: drop names given to two classes, keep the first of same-class duplicates."""
    classes_of: dict[str, set[str]] = {}
    for row in rows:
        classes_of.setdefault(fold(row["text_a"]), set()).add(row["label"])
    kept, seen = [], set()
    for row in rows:
        name = fold(row["text_a"])
        if len(classes_of[name]) == 1 and name not in seen:
            seen.add(name)
            kept.append(row)
    return kept


def build(langs: list[str], seed: int = 0, test_per_class: int = 50, dev_per_class: int = 20,
          ) -> dict[str, list[dict[str, Any]]]:
    """split -> canonical classification examples. Test holds English first, then each of `langs`."""
    keys = english_keys()
    splits = split_keys(keys, seed, test_per_class, dev_per_class)
    out: dict[str, list[dict[str, Any]]] = {}
    for split in ("train", "dev"):
        rows = [_example("en", kind, key, keys[kind][key]) for kind in NAME_CLASSES for key in splits[split][kind]]
        out[split] = sorted(rows, key=lambda r: rank(seed, split, r["id"]))
    english_train = {fold(r["text_a"]) for r in out["train"] + out["dev"]}
    test_keys = sorted(((kind, key) for kind in NAME_CLASSES for key in splits["test"][kind]),
                       key=lambda kk: rank(seed, "test", f"{kk[0]}:{kk[1]}"))
    out["test"] = []
    for lang in ["en"] + [lang for lang in langs if lang != "en"]:
        rows = []
        for kind, key in test_keys:
            name = offline_text.cldr_display_names(lang, kind).get(key)
            english = keys[kind][key]
            if _usable(name, english, lang) and (lang == "en" or fold(name) not in english_train):
                rows.append(_example(lang, kind, key, name))
        out["test"].extend(_drop_ambiguous(rows))
    return out


def class_balance(rows: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """lang -> label -> count, labels in the task's order."""
    counts: dict[str, Counter] = {}
    for row in rows:
        counts.setdefault(row["lang"], Counter())[row["label"]] += 1
    return {lang: {label: c[label] for label in NAME_CLASSES} for lang, c in counts.items()}
