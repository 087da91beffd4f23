"""Tiny, learnable canonical examples for the training tests (made up here, written by the tests).

Each task has a signal a 2-layer random model picks up in a few dozen steps: an NLI label that is
visible from the hypothesis, entity tags from a fixed word list, an answer right after a marker
word, the choice that repeats the context. Retrieval examples are sentences with their gold links.
Writing them to files: `tests.helpers.write_jsonl`.
"""

from __future__ import annotations

import random

WORDS = ("cat dog house tree river sun moon car book water light green small big old new red blue "
         "bird fish stone road hill door").split()
CITIES = ("paris berlin rome madrid vienna prague lisbon oslo").split()


def _sentence(rng: random.Random, low: int = 3, high: int = 8) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(low, high)))


def nli(n: int, seed: int = 0, lang: str = "en") -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        premise = _sentence(rng, 2, 4)
        label = ("entailment", "neutral", "contradiction")[i % 3]
        hypothesis = {"entailment": premise, "contradiction": "not " + premise}.get(label) or _sentence(rng, 2, 4)
        rows.append({"id": f"{lang}-{seed}-{i}", "lang": lang, "text_a": premise, "text_b": hypothesis, "label": label})
    return rows


def sentiment(n: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        label = str(i % 2)
        text = ("good " if label == "1" else "bad ") + _sentence(rng, 1, 3)
        rows.append({"id": f"s-{seed}-{i}", "lang": "en", "text_a": text, "label": label})
    return rows


def entities(n: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        tokens = [rng.choice(WORDS + CITIES) for _ in range(rng.randint(4, 9))]
        tags = ["B-LOC" if t in CITIES else "O" for t in tokens]
        rows.append({"id": f"t-{seed}-{i}", "lang": "en", "tokens": tokens, "tags": tags})
    return rows


def questions(n: int, seed: int = 0, context_words: int = 12) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        before = _sentence(rng, 2, context_words)
        answer = rng.choice(CITIES)
        context = f"{before} in {answer} {_sentence(rng, 2, 6)}"
        start = len(before) + 4
        assert context[start:start + len(answer)] == answer
        rows.append({"id": f"q-{seed}-{i}", "lang": "en", "context": context, "question": "where is it?",
                     "answers": [{"text": answer, "start": start}]})
    return rows


def choices(n: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        context = rng.choice(CITIES)
        wrong = [rng.choice(WORDS) for _ in range(2)]
        label = i % 3
        options = wrong[:label] + [f"{context}"] + wrong[label:]
        rows.append({"id": f"m-{seed}-{i}", "lang": "en", "context": f"the city is {context}", "question": None,
                     "choices": options, "label": label})
    return rows


def parallel(lang: str, src: list[str], tgt: list[str], links: list[tuple[int, int]], split: str | None = None
             ) -> list[dict]:
    """Retrieval examples: `lang` sentences (ids LANG:i), English ones (en:i) and the gold links between them."""
    rows = [{"id": f"{lang}:{i}", "lang": lang, "side": "src", "text": t} for i, t in enumerate(src)]
    rows += [{"id": f"en:{i}", "lang": lang, "side": "tgt", "text": t} for i, t in enumerate(tgt)]
    rows += [{"lang": lang, "link": [f"{lang}:{s}", f"en:{t}"]} for s, t in links]
    if split:
        for row in rows:
            row["split"] = split
    return rows


def text_lines(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [_sentence(rng, 4, 10) for _ in range(n)]


def ranking(n: int, seed: int = 0) -> list[dict]:
    """Ranking pairs: each query names the key word its candidate starts with (30 keys, so a batch holds a
    few repeats: the loss falls, but not to zero)."""
    rng = random.Random(seed)
    keys = WORDS + CITIES
    rows = []
    for i in range(n):
        key = keys[i % len(keys)]
        rows.append({"id": f"c-{seed}-{i}", "lang": "en", "side": "candidate", "text": f"{key} {_sentence(rng, 2, 4)}"})
        rows.append({"id": f"q-{seed}-{i}", "lang": "en", "side": "query", "text": f"where is the {key}?",
                     "gold": [f"c-{seed}-{i}"]})
    return rows
