"""Retrieval sets: per language, the xx side (src), the English side (tgt) and the gold links between them.

Built from canonical retrieval examples (`{"side": "src"|"tgt", "id", "text"}` and `{"link": [src, tgt]}`
records), whatever source they came from (`core/data/sources.py`); shared by search, mining and alignment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from stilt_cli.core.errors import DataError, UsageError


@dataclass
class Group:
    """One language of a retrieval set: the xx side (src), the English side (tgt), gold links by index."""

    lang: str
    src_ids: list[str] = field(default_factory=list)
    src_texts: list[str] = field(default_factory=list)
    tgt_ids: list[str] = field(default_factory=list)
    tgt_texts: list[str] = field(default_factory=list)
    links: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), dtype=np.int64))


def load_groups(spec: Any, given: str | None, langs: list[str] | None, data_dir: Path | None,
                data_file: str | None) -> tuple[str, dict[str, Group]]:
    """The split and its groups: --split `given`, else the one split a --data file names, else the task's default."""
    from stilt_cli.core.data import sources

    if data_dir is not None and data_file is not None:
        raise UsageError("give either --data or --data-dir, not both")
    split = given or spec.default_split
    rows = sources.load_examples(spec, split, langs, data_file=data_file, data_dir=data_dir)
    if data_file is not None:  # a canonical file may hold several splits; untagged rows belong to any
        split, rows = sources.split_of_file(rows, given, split)
    return split, groups_from_examples(rows, spec.name, split)


def groups_from_examples(rows: list[dict[str, Any]], task: str, split: str) -> dict[str, Group]:
    groups: dict[str, Group] = {}
    pending: dict[str, list[tuple[str, str]]] = {}
    for row in rows:
        lang = row["lang"]
        group = groups.setdefault(lang, Group(lang))
        if "link" in row:
            pending.setdefault(lang, []).append((str(row["link"][0]), str(row["link"][1])))
        elif row.get("side") == "src":
            group.src_ids.append(str(row["id"]))
            group.src_texts.append(row["text"])
        else:
            group.tgt_ids.append(str(row["id"]))
            group.tgt_texts.append(row["text"])
    if not groups:
        raise DataError(f"no {task} {split} examples")
    for lang, group in groups.items():
        for side, ids, texts in (("src", group.src_ids, group.src_texts), ("tgt", group.tgt_ids, group.tgt_texts)):
            if not texts:
                raise DataError(f"{task} {split} {lang}: no '{side}' sentences",
                                "a retrieval set needs both sides: side 'src' (the language) and 'tgt' (English)")
            if len(set(ids)) != len(ids):
                duplicate = next(i for i in ids if ids.count(i) > 1)
                raise DataError(f"{task} {split} {lang}: id '{duplicate}' occurs twice on the {side} side")
        src_index = {ident: i for i, ident in enumerate(group.src_ids)}
        tgt_index = {ident: i for i, ident in enumerate(group.tgt_ids)}
        links = []
        for src, tgt in pending.get(lang, []):
            if src not in src_index or tgt not in tgt_index:
                missing = src if src not in src_index else tgt
                raise DataError(f"{task} {split} {lang}: gold link [{src}, {tgt}] names id '{missing}', "
                                "which is not among the sentences", "gold ids must exist on their side")
            links.append((src_index[src], tgt_index[tgt]))
        group.links = np.asarray(links, dtype=np.int64).reshape(-1, 2)
    return dict(sorted(groups.items()))


def require_gold(group: Group, task: str, split: str) -> None:
    if len(group.links) == 0:
        raise DataError(f"{task} {split} {group.lang}: no gold alignment, so there is nothing to score",
                        "Tatoeba: use LASER's original tatoeba.<xxx>-eng.* files or XTREME's labels file; "
                        "--data: add {\"lang\", \"link\": [src_id, tgt_id]} records")
