"""Metrics: plain functions on predictions and gold, equal to the official scorers XTREME uses.

`compute(spec, predictions, examples, lang)` picks the metric from the task spec:

| task type                       | metric                                                           |
|---------------------------------|------------------------------------------------------------------|
| pair-/classification            | accuracy; + binary F1/precision/recall where the spec lists f1 (QQP) |
| multiple-choice                 | accuracy of the chosen index                                     |
| tagging, main metric f1         | span F1 with seqeval-0.0.12 semantics (UDPOS, PAN-X) + P/R       |
| tagging, main metric accuracy   | token accuracy (CCG)                                             |
| qa                              | MLQA's scorer for mlqa, SQuAD v2.0 for squad_v2, else SQuAD v1.1 |

Values are fractions in [0, 1]; the result also holds `n` (examples scored). `predictions` is either a
mapping example id -> prediction or a sequence aligned with `examples`; a prediction is a label (or a
choice index), a list of tags, or an answer string.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from stilt_cli.core.errors import DataError
from stilt_cli.core.model.metrics import classification, qa, retrieval, tagging
from stilt_cli.core.tasks.spec import TaskSpec

__all__ = ["classification", "compute", "qa", "retrieval", "tagging"]
GOLD_FIELD = {"pair-classification": "label", "classification": "label", "multiple-choice": "label", "tagging": "tags"}


def _aligned(predictions: Mapping[str, Any] | Sequence[Any], examples: Sequence[dict[str, Any]]) -> list[Any]:
    if isinstance(predictions, Mapping):
        missing = [ex["id"] for ex in examples if ex["id"] not in predictions]
        if missing:
            raise DataError(f"no prediction for {len(missing)} of {len(examples)} examples (first id: {missing[0]})")
        return [predictions[ex["id"]] for ex in examples]
    if len(predictions) != len(examples):
        raise DataError(f"{len(predictions)} predictions for {len(examples)} examples")
    return list(predictions)


def _gold(examples: Sequence[dict[str, Any]], field: str, spec: TaskSpec) -> list[Any]:
    gold = [ex.get(field) for ex in examples]
    if any(g is None for g in gold):
        raise DataError(f"{spec.name}: some examples have no gold '{field}' (an unlabelled split)",
                        "predictions can be written, but no score is possible")
    return gold


def compute(spec: TaskSpec, predictions: Mapping[str, Any] | Sequence[Any], examples: Sequence[dict[str, Any]],
            lang: str) -> dict[str, float]:
    """Score predictions for one task and language with the task's official metric(s)."""
    if not examples:
        raise DataError(f"{spec.name} {lang}: no examples to score")
    kind = spec.type
    if kind in ("pair-classification", "classification", "multiple-choice"):
        gold = _gold(examples, "label", spec)
        pred = _aligned(predictions, examples)
        if kind != "multiple-choice":  # canonical labels are strings; models may hand back ints
            gold, pred = [str(g) for g in gold], [str(p) for p in pred]
        result: dict[str, float] = {"accuracy": classification.accuracy(pred, gold)}
        if "f1" in spec.metrics:
            positive = "1" if not spec.labels or "1" in spec.labels else spec.labels[-1]
            result.update(classification.binary_prf(pred, gold, positive))
    elif kind == "tagging":
        gold = _gold(examples, "tags", spec)
        pred = [list(p) for p in _aligned(predictions, examples)]
        if spec.main_metric == "f1":
            result = tagging.span_prf(pred, gold)
        else:
            result = {"accuracy": tagging.token_accuracy(pred, gold)}
    elif kind == "qa":
        pred_by_id = (dict(predictions) if isinstance(predictions, Mapping)
                      else {ex["id"]: p for ex, p in zip(examples, _aligned(predictions, examples))})
        gold_by_id = {ex["id"]: [a["text"] for a in ex.get("answers") or []] for ex in examples}
        result = qa.score(spec.qa_scorer, pred_by_id, gold_by_id, lang)  # the official scorer the spec names
        missing = int(result.pop("missing", 0))
        result.pop("n", None)
        if missing:
            from stilt_cli.core.console import warn

            warn(f"{spec.name} {lang}: no prediction for {missing} of {len(gold_by_id)} questions; they score 0 "
                 "as in the official script")
    else:
        raise DataError(f"task {spec.name} ({kind}) is not scored from predictions here",
                        "retrieval is scored by `stilt retrieve`, MLM by its loss")
    result["n"] = len(examples)
    return result
