"""The peer a user would pick instead of stilt: transformers' `Trainer` on the same pairs — dynamic padding
(pad to the batch's longest row, as `DataCollatorWithPadding` does), length-grouped sampling, AdamW with the
same learning rate, bf16 where the device runs it. Used by `make bench` (CPU, fp32) and `make gpu-check`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import sys
import tempfile
import time
from typing import Any

import numpy as np


class _Pairs:
    """A map-style dataset of tokenized rows (the Trainer's LengthGroupedSampler reads `input_ids`)."""

    def __init__(self, ids: list[list[int]], labels: list[int]) -> None:
        self.ids, self.labels = ids, labels

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return {"input_ids": list(self.ids[i]), "labels": int(self.labels[i])}


def _collator(pad_id: int):
    def collate(rows: list[dict[str, Any]]) -> dict[str, Any]:
        import torch

        width = max(len(r["input_ids"]) for r in rows)
        ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, r in enumerate(rows):
            ids[i, :len(r["input_ids"])] = torch.tensor(r["input_ids"])
            mask[i, :len(r["input_ids"])] = 1
        return {"input_ids": ids, "attention_mask": mask, "labels": torch.tensor([r["labels"] for r in rows])}

    return collate


def classifier_from(encoder_config: Any, num_labels: int, seed: int = 0):
    """The model class a Trainer user takes: AutoModelForSequenceClassification of the same encoder config."""
    import torch
    from transformers import AutoModelForSequenceClassification

    config = encoder_config.__class__.from_dict({**encoder_config.to_dict(), "num_labels": num_labels})
    torch.manual_seed(seed)
    return AutoModelForSequenceClassification.from_config(config)


def train_seconds(model: Any, features: Any, steps: int, batch: int, pad_id: int, device: str = "cpu",
                  bf16: bool = False, lr: float = 2e-5) -> float:
    """Seconds of `trainer.train()` for `steps` optimizer steps of `batch` rows (after a 2-step warm-up run)."""
    from transformers import Trainer, TrainingArguments

    data = _Pairs(features.columns["input_ids"], list(np.asarray(features.columns["label"])))
    names = {f.name for f in dataclasses.fields(TrainingArguments)}
    grouping = ({"train_sampling_strategy": "group_by_length"} if "train_sampling_strategy" in names
                else {"group_by_length": True})
    with tempfile.TemporaryDirectory() as out:
        def trainer(max_steps: int) -> Any:
            args = TrainingArguments(output_dir=out, per_device_train_batch_size=batch, max_steps=max_steps,
                                     learning_rate=lr, weight_decay=0.01, warmup_steps=max(1, max_steps // 10),
                                     max_grad_norm=1.0,
                                     bf16=bf16, use_cpu=device == "cpu", logging_strategy="no", save_strategy="no",
                                     report_to="none", dataloader_num_workers=0, disable_tqdm=True, seed=0,
                                     **grouping)
            return Trainer(model=model, args=args, train_dataset=data, data_collator=_collator(pad_id))

        with contextlib.redirect_stdout(sys.stderr):  # the Trainer prints its metrics: stdout carries data only
            trainer(2).train()  # warm-up: kernels, allocator
            run = trainer(steps)
            _sync(device)
            start = time.perf_counter()
            run.train()
            _sync(device)
        return time.perf_counter() - start


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()
