"""Ranking retrieval, the `rank` mode of a retrieval spec (Mewsli-X, LAReQA): every query ranks one pool
of candidates shared by all languages; scored as mAP@k (`metrics/retrieval.py`), per query language.

A ranking set is built from canonical rows (`core/data/examples.py`): queries `{"side": "query", "text",
"gold": [candidate ids]}` grouped by language, and one pool of candidates `{"side": "candidate", "text",
"context"?}`. A candidate with a context (a LAReQA sentence and its paragraph) is encoded as the one
string sentence + paragraph, as `evaluate_retrieval.py` writes it (newlines dropped).

Vectors come from either
- an encoder with no task training (`stilt retrieve`): pooled hidden states of one layer (default:
  mean pooling at the family's retrieval layer) through the embedding cache; or
- a trained dual-encoder head (`stilt evaluate`, through `core/evaluation/ranking.py`): the head's unit
  vectors, the same tower for both sides.
Ranking is exact cosine search (`search.py`: FAISS `IndexFlatIP`, on the GPUs with faiss-gpu), top k =
the k of the task's `map@k`. Candidates are embedded once, then each language's queries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from stilt_cli.core import console, records
from stilt_cli.core.errors import DataError
from stilt_cli.core.model.metrics.retrieval import map_at_k
from stilt_cli.core.retrieval.search import search

DEFAULT_LENGTH = 512


@dataclass
class RankSet:
    split: str
    queries: dict[str, list[dict[str, Any]]]  # language -> query rows, in source order
    candidates: list[dict[str, Any]]

    @property
    def candidate_ids(self) -> list[str]:
        return [c["id"] for c in self.candidates]

    def candidate_texts(self) -> list[str]:
        return [candidate_text(c) for c in self.candidates]

    def candidate_langs(self) -> list[str]:
        return sorted({c["lang"] for c in self.candidates})


def candidate_text(row: dict[str, Any]) -> str:
    """What a candidate is encoded as: its text, followed by its context where it has one."""
    context = row.get("context")
    return (row["text"] + context).replace("\n", "") if context else row["text"]


def build(rows: list[dict[str, Any]], task: str, split: str, limit: int | None = None) -> RankSet:
    """The ranking set of canonical rows; `limit` keeps the first N queries of each language."""
    queries: dict[str, list[dict[str, Any]]] = {}
    candidates: list[dict[str, Any]] = []
    for row in rows:
        if row.get("side") == "candidate":
            candidates.append(row)
        elif row.get("side") == "query":
            queries.setdefault(row["lang"], []).append(row)
        else:
            raise DataError(f"{task} {split}: row {row.get('id')} is not a query or a candidate",
                            "a ranking set has side 'query' and side 'candidate' rows")
    if not candidates or not queries:
        raise DataError(f"{task} {split}: a ranking set needs queries and candidates "
                        f"(found {sum(map(len, queries.values()))} queries, {len(candidates)} candidates)")
    known: set[str] = set()
    for row in candidates:
        if row["id"] in known:
            raise DataError(f"{task} {split}: candidate id '{row['id']}' occurs twice")
        known.add(row["id"])
    for lang, mine in queries.items():
        seen: set[str] = set()
        for query in mine:
            if query["id"] in seen:
                raise DataError(f"{task} {split} {lang}: query id '{query['id']}' occurs twice")
            seen.add(query["id"])
            absent = [g for g in query.get("gold") or [] if g not in known]
            if absent:
                raise DataError(f"{task} {split} {lang}: query {query['id']} names gold candidate '{absent[0]}', "
                                "which is not among the candidates", "gold ids must name candidate rows")
    if limit is not None:
        queries = {lang: mine[:limit] for lang, mine in queries.items()}
    return RankSet(split, dict(sorted(queries.items())), candidates)


def lengths(spec: Any, max_length: int | None, query_length: int | None = None) -> tuple[int, int]:
    """(query, candidate) token limits: as given, else XTREME-R's (the task's `xtreme` preset: LAReQA 96 and
    256, Mewsli-X 64 and 64), else 512."""
    preset = spec.hparams.get("xtreme", {})
    candidate = max_length or preset.get("max_length") or DEFAULT_LENGTH
    return query_length or (max_length if max_length else preset.get("query_length")) or candidate, candidate


def top_k(queries: np.ndarray, candidates: np.ndarray, k: int) -> tuple[np.ndarray, str]:
    _, indices, backend = search(np.asarray(queries, dtype=np.float32), np.asarray(candidates, dtype=np.float32), k)
    return indices, backend


def scored(queries: list[dict[str, Any]], ranked: list[list[str]], k: int) -> tuple[float | None, int]:
    """(mAP@k over the queries with gold, how many) — (None, 0) when none has gold (an unlabelled set)."""
    gold = {q["id"]: q["gold"] for q in queries if q.get("gold")}
    if not gold:
        return None, 0
    predicted = {q["id"]: r for q, r in zip(queries, ranked)}
    return map_at_k(gold, predicted, k), len(gold)


def result_record(spec: Any, lang: str, value: float, n: int, base: dict[str, Any], params: dict[str, Any],
            details: dict[str, Any]) -> dict[str, Any]:
    return records.make("retrieval", lang=lang, metric=spec.main_metric, value=value, n=n, **base, params=params,
                        details=details)


# ---- an encoder with no task training (`stilt retrieve`) -------------------------------------------

def score_encoder(rankset: RankSet, embedder: Any, spec: Any, embed_specs: tuple[Any, Any], *,
                  base: dict[str, Any], params: dict[str, Any], cache: bool) -> list[dict[str, Any]]:
    """map@k records per language and layer; `embed_specs` = (queries', candidates') EmbedSpec."""
    from stilt_cli.core.retrieval import embed_cache

    query_spec, candidate_spec = embed_specs
    k = spec.rank_k
    pool = embed_cache.embed(embedder, rankset.candidate_texts(), candidate_spec, cache=cache,
                             label=f"{base['task']} candidates")
    ids = rankset.candidate_ids
    details = {"candidates": len(ids), "candidate_langs": rankset.candidate_langs()}
    rows: list[dict[str, Any]] = []
    for lang, queries in rankset.queries.items():
        vectors = embed_cache.embed(embedder, [q["text"] for q in queries], query_spec, cache=cache,
                                    label=f"{base['task']} {lang} queries")
        for slot, layer in enumerate(query_spec.layers or (None,)):
            indices, backend = top_k(vectors[slot], pool[slot], k)
            value, n = scored(queries, [[ids[i] for i in row] for row in indices], k)
            if value is None:
                console.warn(f"{base['task']} {rankset.split} {lang}: no gold, so there is nothing to score")
                continue
            rows.append(result_record(spec, lang, value, n, base, {**params, "layer": layer},
                                {**details, "search": backend}))
            console.info(f"{base['task']} {lang} layer {layer}: {spec.main_metric} {value:.4f} (n={n})")
    return rows


# ---- a trained dual-encoder head (`stilt evaluate`) ---------------------------------------------------

@dataclass
class HeadEncoder:
    """A checkpoint's encoder with its dual-encoder head, on its device."""

    model: Any
    head: str
    tokenizer: Any
    device: Any
    dim: int
    batch_tokens: int = 16384

    def encode(self, texts: list[str], max_length: int) -> np.ndarray:
        import torch

        from stilt_cli.core.data import caps
        from stilt_cli.core.model import collate
        from stilt_cli.core.retrieval.extract import length_batches

        encoded = self.tokenizer(caps.texts(texts, max_length), truncation=True, max_length=max_length,
                                 return_attention_mask=False, return_token_type_ids=False)["input_ids"]
        sizes = np.fromiter((len(ids) for ids in encoded), dtype=np.int64, count=len(encoded))
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        pad = self.tokenizer.pad_token_id or 0
        self.model.eval()
        with torch.inference_mode(), self.device.autocast():
            for rows in length_batches(sizes, self.batch_tokens, 256):
                ids = collate.pad([encoded[i] for i in rows], pad)
                mask = collate.pad([[1] * len(encoded[i]) for i in rows], 0)
                batch = collate.to_device({"input_ids": ids, "attention_mask": mask}, self.device.torch_device())
                out[rows] = self.model.embed(self.head, batch).float().cpu().numpy()
        return out
