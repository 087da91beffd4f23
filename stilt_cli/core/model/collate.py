"""Collation: rows of tokenized features -> padded tensors (dynamic padding: each batch as wide as its longest
row), shared by training (`core/training/batching.py` decides which rows go together), prediction
(`predict.py`) and the dual-encoder tower of ranking (`core/retrieval/rank.py`)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from stilt_cli.core.data.features import IGNORE, Features


def sorted_batches(lengths: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Evaluation batches: longest first (the first batch shows the peak memory), no randomness."""
    order = np.argsort(-np.asarray(lengths), kind="stable")
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]


def row(column: Any, i: int) -> list:
    """Row `i` of a feature column as a list."""
    value = column[int(i)]
    return value.tolist() if hasattr(value, "tolist") else list(value)


def pad(rows: list[list[int]], value: int, width: int | None = None) -> torch.Tensor:
    """A (rows, width) tensor of the rows, right-padded with `value` (width: the longest row by default)."""
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
    ids = [row(cols["input_ids"], i) for i in rows]
    types = [row(cols["token_type_ids"], i) for i in rows] if "token_type_ids" in cols else None
    if kind == "multiple-choice":
        return _collate_choices(cols, rows, ids, types, pad_id)
    batch = {"input_ids": pad(ids, pad_id)}
    batch["attention_mask"] = (pad([[1] * len(r) for r in ids], 0))
    if types is not None:
        batch["token_type_ids"] = pad(types, 0)
    if kind == "classification":
        batch["labels"] = torch.tensor([int(cols["label"][i]) for i in rows], dtype=torch.long)
    elif kind == "tagging":
        batch["labels"] = pad([row(cols["labels"], i) for i in rows], IGNORE, batch["input_ids"].shape[1])
    elif kind == "qa":
        batch["start_positions"] = torch.tensor([int(cols["start_position"][i]) for i in rows], dtype=torch.long)
        batch["end_positions"] = torch.tensor([int(cols["end_position"][i]) for i in rows], dtype=torch.long)
    elif kind == "dual-encoder":  # each query's positive candidate; the other rows' are its negatives
        candidates = [row(cols["cand_input_ids"], i) for i in rows]
        batch["cand_input_ids"] = pad(candidates, pad_id)
        batch["cand_attention_mask"] = pad([[1] * len(r) for r in candidates], 0)
        if "cand_token_type_ids" in cols:
            batch["cand_token_type_ids"] = pad([row(cols["cand_token_type_ids"], i) for i in rows], 0)
    return batch


def _collate_choices(cols: dict[str, Any], rows: np.ndarray, ids: list[list[int]], types: list[list[int]] | None,
                     pad_id: int) -> dict[str, torch.Tensor]:
    """(B, C, L) tensors; examples with fewer choices get masked-out empty choices."""
    per_example = [row(cols["choice_lengths"], i) for i in rows]
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


def to_device(batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    """Every tensor of a batch on `device` (non-blocking where the source is pinned)."""
    return {k: v.to(device, non_blocking=True) for k, v in batch.items()}
