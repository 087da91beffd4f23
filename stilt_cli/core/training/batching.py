"""Batches: which rows go together (length-grouped, seeded), how an effective batch splits into
micro-batches and DDP shards; padding into tensors is `core/model/collate.py`.

An epoch's batch order is a pure function of (seed, task, epoch), so a resumed run re-creates
exactly the batches an uninterrupted one would have seen, from the step number alone.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from stilt_cli.core.data.features import IGNORE, Features
from stilt_cli.core.model.collate import collate, sorted_batches, to_device  # noqa: F401 (batching's API)

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
