"""Scoring retrieval *predictions* as XTREME's evaluate.py does (the `retrieve` command computes these
from embeddings itself; these functions score submission files and exported predictions).

- Tatoeba: accuracy of the predicted index of the English sentence, line by line.
- BUCC: precision / recall / F1 of the predicted set of (source id, target id) pairs against the gold
  set; XTREME reports all three as 0 when no pair is right.
"""

from __future__ import annotations

from collections.abc import Iterable

from stilt_cli.core.evaluation.metrics.classification import accuracy


def tatoeba_accuracy(pred: list[str], gold: list[str]) -> float:
    return accuracy(pred, gold)


def bucc_prf(pred: Iterable[tuple[str, str]], gold: Iterable[tuple[str, str]]) -> dict[str, float]:
    pred_set, gold_set = set(map(tuple, pred)), set(map(tuple, gold))
    correct = len(pred_set & gold_set)
    if correct == 0:
        return {"precision": 0.0, "recall": 0.0, "f1": 0.0}
    precision, recall = correct / len(pred_set), correct / len(gold_set)
    return {"precision": precision, "recall": recall, "f1": 2 * precision * recall / (precision + recall)}
