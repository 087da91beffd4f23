"""`stilt plan memory`: per-GPU peak memory by part, and what fits."""

from __future__ import annotations

from typing import Annotated

import typer

from stilt_cli.commands._common import Format, Quiet, guard, one_of, setup

PRECISIONS = ("bf16", "fp32")


def command(
    model: Annotated[str, typer.Argument(help="A known encoder (xlmr-large, xlmr-xl, xlmr-xxl, mt5-xxl, ...), a hub id "
                                              "(facebook/xlm-roberta-xxl; from the table, else its config in the local "
                                              "cache), tiny:KIND, or a folder holding config.json (a stilt checkpoint "
                                              "too).")],
    strategy: Annotated[list[str] | None, typer.Option(
        "--strategy", callback=one_of("stilt_cli.core.planning.memory:STRATEGIES"),
        help="ddp, fsdp, lora (LoRA, unsharded) or fsdp-lora (repeatable; default all).")] = None,
    precision: Annotated[str, typer.Option("--precision", callback=one_of(PRECISIONS),
                                           help="bf16 (default) or fp32.")] = "bf16",
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Effective batch per optimizer step.")] = 32,
    max_length: Annotated[int, typer.Option("--max-length", min=1, help="Tokens per input.")] = 256,
    grad_accum: Annotated[int, typer.Option("--grad-accum", min=1, help="Micro-batches per step.")] = 1,
    gradient_checkpointing: Annotated[bool, typer.Option("--gradient-checkpointing/--no-gradient-checkpointing",
                                                         help="Recompute activations in the backward pass.")] = False,
    gpus_per_node: Annotated[int, typer.Option("--gpus-per-node", min=1, help="GPUs per node.")] = 1,
    nodes: Annotated[int, typer.Option("--nodes", min=1, help="Nodes.")] = 1,
    gpu_memory: Annotated[float, typer.Option("--gpu-memory", min=0.1, help="Memory per GPU in GiB (80 for an "
                                                                            "A100/H100 80GB).")] = 80.0,
    fmt: Format = "table",
    quiet: Quiet = False,
) -> None:
    """Per-GPU peak memory of a training run by part (weights, gradients, optimizer state, activations,
    workspace) for each strategy, before a GPU is touched, and which configurations fit. When nothing fits,
    one line names the smallest configuration that would (exit 2)."""
    setup(quiet)
    with guard():
        from stilt_cli.core.console import emit, info, put
        from stilt_cli.core.planning import memory

        base = memory.Setup(precision=precision, batch_size=batch_size, max_length=max_length, grad_accum=grad_accum,
                            gradient_checkpointing=gradient_checkpointing, gpus=gpus_per_node * nodes)
        rows, verdict = memory.plan(model, base, list(strategy or memory.STRATEGIES), gpu_memory)
        columns = ["strategy", "gpus", "micro_batch", "weights_gib", "gradients_gib", "optimizer_gib",
                   "activations_gib", "workspace_gib", "peak_gib", "fits", "min_gpus"]
        emit(rows, fmt, columns=columns if fmt == "table" else None)
        if fmt == "table":
            put(verdict + "\n")  # the answer, under the table it summarises
        else:
            info(verdict)
