"""What the cases of `make gpu-check` share: the run's context, a result row, the large-encoder config, and
freeing and measuring device memory (`gpu_check.py` runs the cases of `gpu_cases.py` and `gpu_lora.py`)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Context:
    device: str  # "cuda" or "cpu"
    work: Path

    @property
    def toy(self) -> bool:
        return self.device == "cpu"


def row(case: str, measure: str, value: Any, ok: bool | None = True, detail: str = "") -> dict[str, Any]:
    return {"case": case, "measure": measure, "value": value, "ok": ok, "detail": detail}


def large_config(toy: bool):
    from transformers import XLMRobertaConfig

    if toy:
        return XLMRobertaConfig(vocab_size=1000, hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
                                intermediate_size=128, max_position_embeddings=514, type_vocab_size=1)
    return XLMRobertaConfig(vocab_size=250002, hidden_size=1024, num_hidden_layers=24, num_attention_heads=16,
                            intermediate_size=4096, max_position_embeddings=514, type_vocab_size=1)


def free(ctx: Context) -> None:
    import gc

    gc.collect()
    if ctx.device == "cuda":
        import torch

        torch.cuda.empty_cache()


def peak_memory(ctx: Context, fresh: Any, choice: Any, batch: int, length: int) -> dict[str, Any]:
    """Peak device memory of training steps at the xstilts preset's batch and XNLI max length, every row full."""
    import torch

    from stilt_cli.core.model import heads

    model = fresh()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5, fused=ctx.device == "cuda")
    vocab = model.encoder.config.vocab_size
    data = {"input_ids": torch.randint(5, vocab, (batch, length)),
            "attention_mask": torch.ones(batch, length, dtype=torch.long),
            "labels": torch.randint(0, 3, (batch,))}
    data = {k: v.to(choice.torch_device()) for k, v in data.items()}
    if ctx.device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    for _ in range(2):
        with choice.autocast():
            loss = heads.loss_sum("classification", model("xnli", data), data) / batch
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    if ctx.device == "cuda":
        torch.cuda.synchronize()
        peak, what = torch.cuda.max_memory_allocated() / 2**30, "torch.cuda.max_memory_allocated"
    else:
        import resource

        peak, what = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, "process peak RSS (CPU mode)"
    del model, optimizer
    free(ctx)
    return row("large", f"peak memory, batch {batch} x {length} tokens (GiB)", round(peak, 2),
               math.isfinite(float(loss.detach())),
               f"{what}; AdamW, {choice.describe()}")
