"""Batches: which rows go together (length-grouped, seeded), how an effective batch splits into
micro-batches and DDP shards, and dynamic padding into tensors.

An epoch's batch order is a pure function of (seed, task, epoch), so a resumed run re-creates
exactly the batches an uninterrupted one would have seen, from the step number alone.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from stilt_cli.core.data.features import IGNORE, Features

GROUP = 50  # batches per length-sorted "megabatch": enough to group lengths, little enough to stay random


def length_grouped_batches(lengths: np.ndarray, batch_size: int, seed: Any, group: int = GROUP) -> list[np.ndarray]:
    """Shuffle, sort by length inside megabatches of `group` batches, cut, shuffle the batches.

    Batches hold rows of similar length (little padding) while the epoch stays random."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(lengths))
    batches: list[np.ndarray] = []
    mega = batch_size * group
    for start in range(0, len(order), mega):
        chunk = order[start:start + mega]
        chunk = chunk[np.argsort(-lengths[chunk], kind="stable")]
        batches.extend(chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size))
    return [batches[i] for i in rng.permutation(len(batches))]


def sorted_batches(lengths: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Evaluation batches: longest first (the first batch shows the peak memory), no randomness."""
    order = np.argsort(-np.asarray(lengths), kind="stable")
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]


def micro_batches(rows: np.ndarray, accumulation: int) -> list[np.ndarray]:
    """Split an effective batch into `accumulation` micro-batches (rows arrive length-sorted, so
    contiguous pieces keep similar lengths together)."""
    return [part for part in np.array_split(rows, accumulation) if len(part)]


def shard(rows: np.ndarray, rank: int, world: int) -> np.ndarray:
    """This process's share of a micro-batch under DDP (strided, so lengths stay balanced)."""
    return rows[rank::world]


class TaskStream:
    """The endless sequence of training batches of one task: batch k of the run is batch
    k mod n of epoch k div n; each epoch has its own seeded order."""

    def __init__(self, features: Features, batch_size: int, seed: int, task_index: int):
        self.features = features
        self.batch_size = batch_size
        self.seed = seed
        self.task_index = task_index
        self.lengths = features.lengths()
        self.per_epoch = max(1, -(-features.rows // batch_size))
        self._epoch: int | None = None
        self._batches: list[np.ndarray] = []

    def batch(self, k: int) -> np.ndarray:
        epoch, position = divmod(k, self.per_epoch)
        if epoch != self._epoch:
            self._batches = length_grouped_batches(self.lengths, self.batch_size, [self.seed, self.task_index, epoch])
            self._epoch = epoch
        return self._batches[position]


def _row(column: Any, i: int) -> list:
    value = column[int(i)]
    return value.tolist() if hasattr(value, "tolist") else list(value)


def _pad(rows: list[list[int]], value: int, width: int | None = None) -> torch.Tensor:
    width = width or max((len(r) for r in rows), default=1) or 1
    out = torch.full((len(rows), width), value, dtype=torch.long)
    for i, r in enumerate(rows):
        if r:
            out[i, : len(r)] = torch.tensor(r, dtype=torch.long)
    return out


def collate(features: Features, rows: np.ndarray, pad_id: int) -> dict[str, torch.Tensor]:
    """Rows -> CPU tensors padded to the longest row of this batch (dynamic padding)."""
    cols = features.columns
    kind = features.head_type
    ids = [_row(cols["input_ids"], i) for i in rows]
    types = [_row(cols["token_type_ids"], i) for i in rows] if "token_type_ids" in cols else None
    if kind == "multiple-choice":
        return _collate_choices(cols, rows, ids, types, pad_id)
    batch = {"input_ids": _pad(ids, pad_id)}
    batch["attention_mask"] = (_pad([[1] * len(r) for r in ids], 0))
    if types is not None:
        batch["token_type_ids"] = _pad(types, 0)
    if kind == "classification":
        batch["labels"] = torch.tensor([int(cols["label"][i]) for i in rows], dtype=torch.long)
    elif kind == "tagging":
        batch["labels"] = _pad([_row(cols["labels"], i) for i in rows], IGNORE, batch["input_ids"].shape[1])
    elif kind == "qa":
        batch["start_positions"] = torch.tensor([int(cols["start_position"][i]) for i in rows], dtype=torch.long)
        batch["end_positions"] = torch.tensor([int(cols["end_position"][i]) for i in rows], dtype=torch.long)
    elif kind == "dual-encoder":  # each query's positive candidate; the other rows' are its negatives
        candidates = [_row(cols["cand_input_ids"], i) for i in rows]
        batch["cand_input_ids"] = _pad(candidates, pad_id)
        batch["cand_attention_mask"] = _pad([[1] * len(r) for r in candidates], 0)
        if "cand_token_type_ids" in cols:
            batch["cand_token_type_ids"] = _pad([_row(cols["cand_token_type_ids"], i) for i in rows], 0)
    return batch


def _collate_choices(cols: dict[str, Any], rows: np.ndarray, ids: list[list[int]], types: list[list[int]] | None,
                     pad_id: int) -> dict[str, torch.Tensor]:
    """(B, C, L) tensors; examples with fewer choices get masked-out empty choices."""
    per_example = [_row(cols["choice_lengths"], i) for i in rows]
    choices = max(len(c) for c in per_example)
    width = max(max(c) for c in per_example)
    out_ids = torch.full((len(rows), choices, width), pad_id, dtype=torch.long)
    mask = torch.zeros_like(out_ids)
    out_types = torch.zeros_like(out_ids)
    choice_mask = torch.zeros((len(rows), choices), dtype=torch.bool)
    for b, (flat, lengths) in enumerate(zip(ids, per_example)):
        start = 0
        for c, length in enumerate(lengths):
            out_ids[b, c, :length] = torch.tensor(flat[start:start + length])
            mask[b, c, :length] = 1
            if types is not None:
                out_types[b, c, :length] = torch.tensor(types[b][start:start + length])
            choice_mask[b, c] = True
            start += length
        mask[b, len(lengths):, 0] = 1  # padded choices attend to one token: no all-masked rows (NaN)
    batch = {"input_ids": out_ids, "attention_mask": mask, "choice_mask": choice_mask,
             "labels": torch.tensor([int(cols["label"][i]) for i in rows], dtype=torch.long)}
    if types is not None:
        batch["token_type_ids"] = out_types
    return batch


def mask_tokens(batch: dict[str, torch.Tensor], mask_id: int, vocab_size: int, special_ids: list[int],
                probability: float) -> dict[str, torch.Tensor]:
    """BERT-style dynamic masking on CPU with torch's global RNG (saved and restored on resume):
    `probability` of the real tokens are predicted; of those 80 % -> mask, 10 % -> random, 10 % kept."""
    ids = batch["input_ids"].clone()
    labels = ids.clone()
    candidates = batch["attention_mask"].bool() & ~torch.isin(ids, torch.tensor(special_ids, dtype=torch.long))
    chosen = torch.bernoulli(torch.full(ids.shape, probability)).bool() & candidates
    labels[~chosen] = IGNORE
    replace = torch.bernoulli(torch.full(ids.shape, 0.8)).bool() & chosen
    ids[replace] = mask_id
    randomize = torch.bernoulli(torch.full(ids.shape, 0.5)).bool() & chosen & ~replace
    ids[randomize] = torch.randint(vocab_size, ids.shape, dtype=torch.long)[randomize]
    return {**batch, "input_ids": ids, "labels": labels}


def to_device(batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    return {k: v.to(device, non_blocking=True) for k, v in batch.items()}
