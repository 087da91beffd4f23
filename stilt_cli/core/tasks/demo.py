"""The offline demo tasks, as data. Their examples are built by `stilt data demo` (`core/demo/builder.py`) from
text that installed packages ship (Babel's CLDR data, Django's translation catalogs); nothing here
needs a download, and nothing is imported at registry time.

- `demo-names` (target): classify a CLDR display name as the name of a language, a territory, a
  currency or a script. Trained on English names, tested zero-shot on every language's names of the
  same held-out CLDR keys (parallel across languages, disjoint from the training keys).
- `demo-name-tags` (target): the same names, each word BIO-tagged with what the name names (span F1).
- `demo-territory-pairs` (English intermediate): does this currency or language belong to this
  territory? A sentence-pair task, unlike the single-name target task (see `core/demo/pairs.py`).
- `demo-parallel` (retrieval): Django UI strings in English and each language, aligned by msgid,
  scored like Tatoeba (English queries the xx side, top-1 accuracy).

The paper's presets do not apply to these toy sizes, so every preset name maps to one CPU-sized preset.
"""

from __future__ import annotations

from stilt_cli.core.tasks.spec import TaskSpec

# ~20 languages from many families and scripts that both Django and CLDR cover well (>= ~500 Django
# strings each); `stilt data demo --langs` accepts any language both packages have.
DEMO_LANGS = ("ar", "bg", "de", "el", "es", "et", "eu", "fa", "fi", "fr", "he", "hi", "hu", "id", "ja", "ka", "ko",
              "ru", "sw", "th", "tr", "vi", "zh")
NAME_CLASSES = ("language", "territory", "currency", "script")
# the demo tasks' names, for their builders in core/demo/, and the part each plays in the demo
NAMES, NAME_TAGS, TERRITORY_PAIRS, PARALLEL = "demo-names", "demo-name-tags", "demo-territory-pairs", "demo-parallel"
ROLES = {NAMES: "target", NAME_TAGS: "target", TERRITORY_PAIRS: "intermediate", PARALLEL: "retrieval"}
PAIR_LABELS = ("related", "unrelated")

# names and UI strings are short: 32-64 tokens cover them; batch and lr sized for a few hundred CPU steps
_DEMO_CLS = {"lr": 5e-5, "adam_eps": 1e-8, "weight_decay": 0.01, "max_grad_norm": 1.0, "schedule": "linear",
             "warmup_ratio": 0.1, "batch_size": 16, "epochs": 3, "max_length": 32}
_DEMO_PAIR = dict(_DEMO_CLS, max_length=48, epochs=2)


def _presets(base: dict) -> dict:
    return {name: dict(base) for name in ("demo", "xstilts", "xtreme")}


_SOURCES_CLDR = ("Unicode CLDR via the babel package (installed; nothing downloaded)",)
_SOURCES_DJANGO = ("Django's translation catalogs (django/**/locale/*/LC_MESSAGES/django.mo; installed)",)

TASKS = [
    TaskSpec(
        name=NAMES, title="Demo: what does this CLDR name name? (language/territory/currency/script)",
        type="classification", role="demo", languages=("en",) + DEMO_LANGS, metrics=("accuracy",),
        labels=NAME_CLASSES, splits={"train": "labelled", "dev": "labelled", "test": "labelled"},
        protocol="stilt-demo-v1", hparams=_presets(_DEMO_CLS),
        files={"train": "demo-names/train.jsonl", "dev": "demo-names/dev.jsonl", "test": "demo-names/test.jsonl"},
        sources=_SOURCES_CLDR,
        notes="Built by `stilt data demo -o DIR` (files relative to DIR). train/dev: English names of disjoint "
              "CLDR keys, classes balanced; test: every language's names of the same held-out keys, minus names "
              "identical to the English one or to an English training name, and names ambiguous between classes.",
    ),
    TaskSpec(
        name=NAME_TAGS, title="Demo: BIO-tag each word of a CLDR name with what it names",
        type="tagging", role="demo", languages=("en",) + DEMO_LANGS, metrics=("f1",),
        labels=tuple(f"{p}-{c}" for c in NAME_CLASSES for p in "BI"), splits={"train": "labelled",
        "dev": "labelled", "test": "labelled"}, protocol="stilt-demo-v1", hparams=_presets(_DEMO_CLS),
        files={"train": "demo-name-tags/train.jsonl", "dev": "demo-name-tags/dev.jsonl",
               "test": "demo-name-tags/test.jsonl"},
        sources=_SOURCES_CLDR,
        notes="Derived from demo-names (same keys and splits): words split on whitespace, tagged B-/I-<type>; "
              "scored with XTREME's span F1. Names in scripts without spaces are one token.",
    ),
    TaskSpec(
        name=TERRITORY_PAIRS, title="Demo intermediate: does this currency or language belong to this "
        "territory?", type="pair-classification", role="demo", languages=("en",), metrics=("accuracy",),
        labels=PAIR_LABELS, splits={"train": "labelled", "dev": "labelled"}, protocol="stilt-demo-v1",
        hparams=_presets(_DEMO_PAIR),
        files={"train": "demo-territory-pairs/train.jsonl", "dev": "demo-territory-pairs/dev.jsonl"},
        sources=_SOURCES_CLDR,
        notes="English only. text_a: a territory; text_b: one of its currencies (legal tender 2000-2024) or "
              "official languages (CLDR), or a random one of another territory (50/50). Territories are split "
              "between train and dev; no name of a demo-names test key occurs.",
    ),
    TaskSpec(
        name=PARALLEL, title="Demo: parallel UI-string retrieval (Tatoeba-style, Django catalogs)",
        type="retrieval", role="demo", languages=DEMO_LANGS, metrics=("accuracy",), splits={"test": "labelled"},
        retrieval="search",
        protocol="stilt-demo-v1", files={"test": "demo-parallel/test.jsonl"}, sources=_SOURCES_DJANGO,
        notes="Per language: a few hundred Django UI strings (placeholders stripped) and their English msgids, "
              "gold = msgid alignment; untranslated (== English) and duplicate strings removed. Scored like "
              "Tatoeba: English queries the xx side (en2xx, as XTREME), top-1 accuracy.",
    ),
]
