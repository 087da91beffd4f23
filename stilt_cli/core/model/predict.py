"""Inference per head type: the predictions that model selection (and `evaluate`) score.

Batches are sorted by length and padded dynamically; the model runs in inference mode with bf16
autocast on CUDA. Results stream: each batch is turned into per-example answers at once, so memory
stays flat however many examples or languages follow (no logits are kept).

Predictions are keyed by example index (the position in `examples`):
- classification: the label name; multiple choice: the choice index;
- tagging: one tag per word (words whose first sub-token fell past the max length get `fallback_tag`);
- QA: the answer text, read from the context through the window offsets: the best span over all
  stride windows among the `n_best` start and end positions, at most `max_answer_length` tokens;
  with `null_answer` (SQuAD 2.0) the empty answer wins when the first position outscores every span.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from stilt_cli.core.data.features import Features
from stilt_cli.core.model import collate


@dataclass
class Options:
    batch_size: int = 64
    max_answer_length: int = 30
    n_best: int = 20
    null_answer: bool = False


def fallback_tag(labels: list[str]) -> str:
    for tag in ("O", "X"):
        if tag in labels:
            return tag
    return labels[0]


def _rows_of(features: Features, examples: Iterable[int] | None) -> np.ndarray:
    """Feature rows of the given example indices (QA windows follow their example)."""
    if examples is None:
        return np.arange(features.rows)
    wanted = np.asarray(sorted(examples), dtype=np.int64)
    if features.head_type == "qa":
        owners = np.asarray(features.columns["example"])
        return np.nonzero(np.isin(owners, wanted))[0]
    return wanted


def predict(model: Any, name: str, features: Features, examples: list[dict], *, device: Any,
            options: Options | None = None, only: Iterable[int] | None = None, pad_id: int = 0) -> dict[int, Any]:
    """Predictions for every example (or those listed in `only`), keyed by example index."""
    options = options or Options()
    spec = model.specs[name]
    rows = _rows_of(features, only)
    lengths = features.lengths()[rows]
    was_training = model.training
    model.eval()
    out: dict[int, Any] = {}
    qa_best: dict[int, tuple[float, str]] = {}
    qa_null: dict[int, float] = {}
    torch_device = device.torch_device()
    try:
        with torch.inference_mode(), device.autocast():
            for order in collate.sorted_batches(lengths, options.batch_size):
                batch_rows = rows[order]
                batch = collate.to_device(collate.collate(features, batch_rows, pad_id), torch_device)
                logits = model(name, batch).float().cpu()
                if spec.type == "classification":
                    for row, index in zip(batch_rows, logits.argmax(-1).tolist()):
                        out[int(row)] = spec.labels[index]
                elif spec.type == "multiple-choice":
                    for row, index in zip(batch_rows, logits.argmax(-1).tolist()):
                        out[int(row)] = int(index)
                elif spec.type == "tagging":
                    _tags(features, batch_rows, logits, examples, spec.labels, out)
                elif spec.type == "qa":
                    _spans(features, batch_rows, logits, batch["attention_mask"].cpu(), examples,
                           options, qa_best, qa_null)
    finally:
        model.train(was_training)
    if spec.type == "qa":
        for example in {int(i) for i in np.asarray(features.columns["example"])[rows]}:
            score, text = qa_best.get(example, (-np.inf, ""))
            if options.null_answer and qa_null.get(example, -np.inf) > score:
                text = ""
            out[example] = text
    return out


def _tags(features: Features, rows: np.ndarray, logits: torch.Tensor, examples: list[dict], labels: list[str],
          out: dict[int, Any]) -> None:
    best = logits.argmax(-1).tolist()
    fallback = fallback_tag(labels)
    for b, row in enumerate(rows):
        words = [fallback] * len(examples[int(row)]["tokens"])
        starts = collate.row(features.columns["word_ids"], row)
        for position, word in enumerate(starts):
            if word >= 0:
                words[word] = labels[best[b][position]]
        out[int(row)] = words


def _spans(features: Features, rows: np.ndarray, logits: torch.Tensor, mask: torch.Tensor, examples: list[dict],
           options: Options, best: dict[int, tuple[float, str]], null: dict[int, float]) -> None:
    starts_all, ends_all = logits[..., 0], logits[..., 1]
    k = min(options.n_best, logits.shape[1])
    for b, row in enumerate(rows):
        example = int(features.columns["example"][row])
        offsets = np.asarray(collate.row(features.columns["offsets"], row)).reshape(-1, 2)
        length = int(mask[b].sum())
        start_logits, end_logits = starts_all[b, :length], ends_all[b, :length]
        null_score = float(start_logits[0] + end_logits[0])
        null[example] = min(null.get(example, np.inf), null_score)  # SQuAD 2.0: the most confident window decides
        top_starts = torch.topk(start_logits, min(k, length)).indices.tolist()
        top_ends = torch.topk(end_logits, min(k, length)).indices.tolist()
        context = examples[example]["context"]
        for s in top_starts:
            if offsets[s][0] < 0:
                continue
            for e in top_ends:
                if e < s or e - s + 1 > options.max_answer_length or offsets[e][0] < 0:
                    continue
                score = float(start_logits[s] + end_logits[e])
                if score > best.get(example, (-np.inf, ""))[0]:
                    best[example] = (score, context[offsets[s][0]:offsets[e][1]])
