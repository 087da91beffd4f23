"""The `lora` case of `make gpu-check`: the XLM-R-Large-shaped encoder of the `large` case (random weights,
24 x 1024, 250k vocabulary) trained by stilt's loop with full fine-tuning and with `--peft lora`'s default
adapters (r 8 on every attention and feed-forward projection, word embeddings frozen): samples/s of each,
and the peak device memory of each at the xstilts batch (32) and XNLI max length (256), optimizer state
included. In CPU mode the sizes are toys and the peak is the process's, so only the path is checked."""

from __future__ import annotations

import math
from typing import Any

from stilt_cli.bench.gpu_common import Context, free, large_config, peak_memory, row


def lora(ctx: Context) -> list[dict[str, Any]]:
    import torch
    from transformers import AutoModel

    from stilt_cli.bench import train_bench
    from stilt_cli.core.device import choose
    from stilt_cli.core.model import heads
    from stilt_cli.core.training import lora as peft_lora

    config = large_config(ctx.toy)
    steps, batch = (6, 8) if ctx.toy else (30, 32)
    choice = choose(ctx.device, "bf16")
    features, source = train_bench.recorded_features(2000 if ctx.toy else 8000, config.vocab_size)
    spec = heads.HeadSpec(name="xnli", type="classification", task="xnli", labels=list(train_bench.LABELS),
                          hidden_size=config.hidden_size, pooling="cls", dropout=0.1)
    plan = peft_lora.default_plan(config)

    def fresh(arm: str):
        torch.manual_seed(0)
        encoder = AutoModel.from_config(config, add_pooling_layer=False)
        head = heads.build_head(spec)
        if arm == "lora":
            encoder = peft_lora.apply(encoder, plan)
        return heads.Model(encoder, {"xnli": spec}, {"xnli": head}).to(choice.torch_device())

    seconds, trainable, peaks = {}, {}, {}
    for arm in ("full", "lora"):
        model = fresh(arm)
        trainable[arm] = sum(p.numel() for p in model.parameters() if p.requires_grad)
        train_bench._stilt_loop(model, features, 2, batch, None, ctx.work / f"warm-{arm}", choice)
        seconds[arm] = train_bench._stilt_loop(model, features, steps, batch, None, ctx.work / arm, choice)
        del model
        free(ctx)
        peaks[arm] = peak_memory(ctx, lambda arm=arm: fresh(arm), choice, batch, 256 if not ctx.toy else 64)
    shape = f"{config.num_hidden_layers} x {config.hidden_size}, vocab {config.vocab_size}; {source}"
    rows = [row("lora", f"{arm}: samples/s", round(steps * batch / seconds[arm], 1), math.isfinite(seconds[arm]),
                f"trainable {trainable[arm]:,}; {shape}") for arm in seconds]
    rows.append(row("lora", "LoRA / full: step time", round(seconds["lora"] / seconds["full"], 2), True,
                    f"targets {', '.join(plan.targets)}, r {plan.r}; same steps, batch and data"))
    for arm, peak in peaks.items():
        rows.append({**peak, "case": "lora", "measure": f"{arm}: {peak['measure']}"})
    rows.append(row("lora", "LoRA / full: peak memory", round(peaks["lora"]["value"] / peaks["full"]["value"], 2),
                    None if ctx.toy else True, "CPU mode: process peak RSS, monotonic, not a comparison" if ctx.toy
                    else "torch.cuda.max_memory_allocated of each"))
    return rows
