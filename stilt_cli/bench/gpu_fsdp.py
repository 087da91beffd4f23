"""The `fsdp` case of `make gpu-check`: the XLM-R-Large-shaped encoder (random weights, 24 x 1024, 250k
vocabulary) sharded by stilt's `--parallel fsdp` (`core/training/parallel.py`) over every visible GPU
(`torchrun --nproc-per-node <GPUs>`, NCCL, bf16 parameters with fp32 reduction), two AdamW steps at the
xstilts batch (32, split over the GPUs) and XNLI max length (256); the measured per-GPU peak
(`torch.cuda.max_memory_allocated`, the largest over ranks) against `stilt plan memory`'s estimate for the
same configuration (without the CUDA context, which the allocator does not count): ok within 20 %.

In CPU mode (GPU_CHECK_DEVICE=cpu) the same worker runs in this process as a world of one (gloo) at toy
sizes: the sharding path, the steps and the planner call are checked, not the memory figures.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from typing import Any

from stilt_cli.bench.gpu_common import Context, row

TOLERANCE = 0.20


def fsdp(ctx: Context) -> list[dict[str, Any]]:
    if ctx.toy:
        result = _in_process(ctx)
    else:
        import torch

        gpus = torch.cuda.device_count()
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(gpus),
                   "-m", "stilt_cli.bench.gpu_fsdp", "cuda"]
        done = subprocess.run(command, capture_output=True, text=True, timeout=480)
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        if done.returncode or not lines:
            tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
            return [row("fsdp", "ran", None, False, f"torchrun exit {done.returncode}: {tail}")]
        result = json.loads(lines[-1])
    shape = f"{result['layers']} x {result['hidden']}, vocab {result['vocab']}"
    rows = [row("fsdp", f"{result['world']} process(es): loss of step 2", round(result["loss"], 4),
                math.isfinite(result["loss"]), f"{shape}; {result['describe']}; parameters per rank "
                f"{result['local_params']:,} of {result['params']:,}")]
    measured, estimated = result["peak_gib"], result["estimate_gib"]
    ratio = estimated / measured if measured else math.nan
    ok = None if ctx.toy else abs(ratio - 1) <= TOLERANCE
    rows.append(row("fsdp", f"plan memory estimate / measured peak per GPU (batch {result['batch']} x "
                    f"{result['length']})", round(ratio, 2), ok,
                    f"estimate {estimated:.2f} GiB, measured {measured:.2f} GiB ({result['what']})"))
    return rows


def _in_process(ctx: Context) -> dict[str, Any]:
    import socket

    import torch.distributed as dist

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=0, world_size=1)
    try:
        from stilt_cli.core.training.distributed import Dist

        return worker("cpu", Dist(rank=0, world=1, active=True))
    finally:
        dist.destroy_process_group()


def worker(device: str, dist: Any) -> dict[str, Any]:
    """Shard, train two steps, measure; -> the figures (every rank computes them; rank 0 reports)."""
    import torch
    from transformers import AutoModel

    from stilt_cli.bench import gpu_common, train_bench
    from stilt_cli.core.device import choose
    from stilt_cli.core.model import heads
    from stilt_cli.core.planning import memory, models
    from stilt_cli.core.training import parallel

    toy = device == "cpu"
    config = gpu_common.large_config(toy)
    batch, length = (8, 64) if toy else (32, 256)
    choice = choose(device, "fp32" if toy else "bf16", local_rank=None if toy else dist.local_rank)
    spec = heads.HeadSpec(name="xnli", type="classification", task="xnli", labels=list(train_bench.LABELS),
                          hidden_size=config.hidden_size, pooling="first", dropout=0.1)
    torch.manual_seed(0)
    model = heads.Model(AutoModel.from_config(config, add_pooling_layer=False), {"xnli": spec},
                        {"xnli": heads.build_head(spec)}).to(choice.torch_device())
    params = sum(p.numel() for p in model.parameters())
    runner = parallel.apply(model, "fsdp", dist, choice)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
    rows = max(1, batch // dist.world)
    data = {"input_ids": torch.randint(5, config.vocab_size, (rows, length)),
            "attention_mask": torch.ones(rows, length, dtype=torch.long), "labels": torch.randint(0, 3, (rows,))}
    data = {k: v.to(choice.torch_device()) for k, v in data.items()}
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    loss = torch.zeros(())
    for _ in range(2):
        with choice.autocast():
            loss = heads.loss_sum("classification", runner("xnli", data), data) / rows
        loss.backward()
        runner.clip(model, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    if device == "cuda":
        torch.cuda.synchronize()
        peak = max(dist.gather(torch.cuda.max_memory_allocated())) / 2**30
        what = "torch.cuda.max_memory_allocated, largest rank"
    else:
        import resource

        peak, what = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, "process peak RSS (CPU mode)"
    shape = models.from_config(config.to_dict(), "xlmr-large-shaped")
    setup = memory.Setup(strategy="fsdp", precision="fp32" if toy else "bf16", batch_size=batch, max_length=length,
                         gpus=dist.world, gpu=not toy)
    estimate = memory.estimate(shape, setup)["peak_gib"] - (0 if toy else memory.CONTEXT_GIB)
    return {"world": dist.world, "loss": float(loss.detach()), "peak_gib": peak, "estimate_gib": estimate, "what": what,
            "batch": batch, "length": length, "layers": config.num_hidden_layers, "hidden": config.hidden_size,
            "vocab": config.vocab_size, "params": params, "local_params": parallel.local_size(model.parameters()),
            "describe": choice.describe()}


def main() -> None:
    from stilt_cli.core.training import distributed

    os.environ.setdefault("STILT_QUIET", "1")
    dist = distributed.from_env()
    try:
        result = worker(sys.argv[1] if len(sys.argv) > 1 else "cuda", dist)
        if dist.is_main:
            print(json.dumps(result), flush=True)
    finally:
        distributed.shutdown(dist)


if __name__ == "__main__":
    main()
