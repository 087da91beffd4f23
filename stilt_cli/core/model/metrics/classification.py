"""Classification metrics: accuracy (XNLI, PAWS-X, XCOPA, every multiple-choice task) and binary F1 (QQP).

Labels are compared as given (XTREME compares the stripped strings of its label files); callers
normalise types first (e.g. "1" vs 1).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from stilt_cli.core.errors import DataError


def _check(pred: Sequence[Any], gold: Sequence[Any]) -> None:
    if len(pred) != len(gold):
        raise DataError(f"{len(pred)} predictions but {len(gold)} gold labels")
    if not gold:
        raise DataError("no examples to score")


def accuracy(pred: Sequence[Any], gold: Sequence[Any]) -> float:
    """Share of exact matches, as a fraction in [0, 1]."""
    _check(pred, gold)
    return sum(p == g for p, g in zip(pred, gold)) / len(gold)


def binary_prf(pred: Sequence[Any], gold: Sequence[Any], positive: Any = "1") -> dict[str, float]:
    """Precision, recall and F1 of the positive class (GLUE's QQP F1, positive = duplicate = "1")."""
    _check(pred, gold)
    true_pos = sum(p == positive and g == positive for p, g in zip(pred, gold))
    predicted = sum(p == positive for p in pred)
    actual = sum(g == positive for g in gold)
    precision = true_pos / predicted if predicted else 0.0
    recall = true_pos / actual if actual else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def f1(pred: Sequence[Any], gold: Sequence[Any], positive: Any = "1") -> float:
    return binary_prf(pred, gold, positive)["f1"]
