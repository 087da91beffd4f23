"""`demo-name-tags`: the demo's token-tagging task, derived from `demo-names` (same keys, same splits).

Every word of a CLDR display name is tagged with the type of what the name names, in BIO form
(`Dominican Republic` -> B-territory I-territory): named-entity tagging of isolated entity names.
Words are split on whitespace, so names in scripts written without spaces (Chinese, Japanese, Thai)
are one token. Trained on English names, tested zero-shot on every language's names of the held-out
keys — like PAN-X, scored with XTREME's span F1.
"""

from __future__ import annotations

from typing import Any


def from_names(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        tokens = row["text_a"].split()
        kind = row["label"]
        tags = [f"B-{kind}"] + [f"I-{kind}"] * (len(tokens) - 1)
        out.append({"id": row["id"], "lang": row["lang"], "tokens": tokens, "tags": tags})
    return out


def build(names: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    return {split: from_names(rows) for split, rows in names.items()}
