"""Scoring retrieval *predictions* as XTREME's evaluate.py does (the `retrieve` command computes these
from embeddings itself; these functions score submission files and exported predictions).

- Tatoeba: accuracy of the predicted index of the English sentence, line by line.
- BUCC: precision / recall / F1 of the predicted set of (source id, target id) pairs against the gold
  set; XTREME reports all three as 0 when no pair is right.
- Ranking (Mewsli-X, LAReQA): mAP@k with XTREME-R's semantics (`utils_lareqa.average_precision_at_k`):
  per query, the precision at each gold candidate among the first k predictions (a candidate repeated
  in the ranking counts once), summed and divided by min(number of gold, k); the mean over queries. A
  query without predictions scores 0. With one gold candidate per query this is MRR@k, which
  `utils_mewslix.evaluate` computes for Mewsli-X. Languages are macro-averaged by the caller.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from stilt_cli.core.model.metrics.classification import accuracy


def tatoeba_accuracy(pred: list[str], gold: list[str]) -> float:
    return accuracy(pred, gold)


def bucc_prf(pred: Iterable[tuple[str, str]], gold: Iterable[tuple[str, str]]) -> dict[str, float]:
    pred_set, gold_set = set(map(tuple, pred)), set(map(tuple, gold))
    correct = len(pred_set & gold_set)
    if correct == 0:
        return {"precision": 0.0, "recall": 0.0, "f1": 0.0}
    precision, recall = correct / len(pred_set), correct / len(gold_set)
    return {"precision": precision, "recall": recall, "f1": 2 * precision * recall / (precision + recall)}


def average_precision_at_k(gold: Iterable[str], ranked: Sequence[str], k: int) -> float:
    """AP@k of one query: `gold` its correct candidate ids, `ranked` its predictions, best first."""
    targets = set(gold)
    if not targets:
        raise ValueError("a query without gold candidates has no average precision")
    hits, total, seen = 0, 0.0, set()
    for position, candidate in enumerate(ranked[:k], start=1):
        if candidate in targets and candidate not in seen:
            hits += 1
            total += hits / position
        seen.add(candidate)
    return total / min(len(targets), k)


def map_at_k(gold: Mapping[str, Iterable[str]], predictions: Mapping[str, Sequence[str]], k: int) -> float:
    """mAP@k over the queries of `gold` ({query id: gold ids}); missing predictions score 0."""
    if not gold:
        raise ValueError("no queries to score")
    return sum(average_precision_at_k(g, predictions.get(q, ()), k) for q, g in gold.items()) / len(gold)
