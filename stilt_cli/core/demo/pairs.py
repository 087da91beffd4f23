"""`demo-territory-pairs`: the demo's English intermediate task. Does this currency or language belong
to this territory?

Why this task: X-STILTs' intermediate tasks are mostly English sentence-pair tasks (NLI, QQP) that differ
from the target task, and so is this one: the target (`demo-names`) classifies one name by kind, while
this task relates two names (text_a = a territory, text_b = a currency or a language) and never labels a
name's kind. The pairs come from CLDR's territory data in Babel: currencies that were legal tender
there between the fixed dates of `demo_names`, and languages that are official there or spoken by at
least `MIN_PERCENT` of its population. Each related pair gets one unrelated pair with the same territory
and a random item of the same kind that CLDR does not connect with it at all (never a currency once
used there, never a language listed there, however small), so labels are balanced 50/50 and text_b's
kind does not give the answer away.

Territories are split between train and dev, so dev asks about unseen territories. A pair naming any
`demo-names` test key is left out: intermediate training never sees a string of the target test set
(English side).
"""

from __future__ import annotations

import random
from typing import Any

from stilt_cli.core.data import offline_text
from stilt_cli.core.demo.names import TENDER_FROM, TENDER_TO, fold, rank
from stilt_cli.core.tasks import demo as demo_tasks

TASK = demo_tasks.TERRITORY_PAIRS
MIN_PERCENT = 1.0
OFFICIAL = ("official", "de_facto_official")
RELATED, UNRELATED = "related", "unrelated"


def relations(keys: dict[str, dict[str, str]]) -> dict[str, dict[str, tuple[list[str], set[str]]]]:
    """territory -> kind -> (related keys, every key CLDR connects with the territory), for usable keys."""
    found: dict[str, dict[str, tuple[list[str], set[str]]]] = {}
    for territory in keys["territory"]:
        currencies = set(offline_text.territory_currencies(territory, TENDER_FROM, TENDER_TO))
        spoken = offline_text.territory_languages(territory)
        languages = {code for code, (percent, status) in spoken.items() if percent >= MIN_PERCENT or status in OFFICIAL}
        related = {"currency": sorted(currencies & set(keys["currency"])),
                   "language": sorted(languages & set(keys["language"]))}
        if related["currency"] or related["language"]:
            found[territory] = {"currency": (related["currency"], currencies),
                                "language": (related["language"], set(spoken))}
    return found


def build(keys: dict[str, dict[str, str]], excluded_names: set[str], seed: int = 0, dev_fraction: float = 0.2,
          ) -> dict[str, list[dict[str, Any]]]:
    """split -> canonical pair-classification examples (English). `keys`: demo_names.english_keys()."""
    related = relations(keys)
    pool = {kind: sorted({k for rel in related.values() for k in rel[kind][0]}) for kind in ("currency", "language")}
    territories = sorted(related, key=lambda t: rank(seed, TASK, t))
    n_dev = round(len(territories) * dev_fraction)
    split_of = {t: ("dev" if i < n_dev else "train") for i, t in enumerate(territories)}
    out: dict[str, list[dict[str, Any]]] = {"train": [], "dev": []}

    def name(kind: str, key: str) -> str:
        return keys[kind][key]

    for territory in sorted(related):
        rng = random.Random(rank(seed, TASK + ":negatives", territory))
        for kind in ("currency", "language"):
            mine, connected = related[territory][kind]
            others = [k for k in pool[kind] if k not in connected]
            negatives = rng.sample(others, len(mine))  # distinct, so every id is unique
            for key, negative in zip(mine, negatives, strict=True):
                texts = (name("territory", territory), name(kind, key), name(kind, negative))
                if any(fold(text) in excluded_names for text in texts):
                    continue
                for label, item in ((RELATED, key), (UNRELATED, negative)):
                    out[split_of[territory]].append({
                        "id": f"en:{territory}:{kind}:{item}", "lang": "en", "text_a": texts[0],
                        "text_b": name(kind, item), "label": label,
                    })
    return {split: sorted(rows, key=lambda r: rank(seed, split, r["id"])) for split, rows in out.items()}
