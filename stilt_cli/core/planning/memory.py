"""Per-GPU peak memory of a training run, by part, before a GPU is touched — and which configurations fit.

A model is its shape (`models.Shape`: layers, hidden and feed-forward sizes, heads, vocabulary), named as for
`stilt plan hours` — the table of known encoders in `throughput.json` (`xlmr-large`, `mt5-xxl`, ...), a
`config.json` (a local folder, a stilt checkpoint), `tiny:KIND` — or a hub id in the local cache. For a
strategy, precision, batch, length, gradient checkpointing and number of GPUs the estimate is, per GPU, in bytes:

- weights: fp32 master weights (all of them under ddp; 1/N under fsdp; LoRA's frozen base too);
- gradients: fp32, of the trainable parameters only (1/N under fsdp);
- optimizer: AdamW's two fp32 moments per trainable parameter (1/N under fsdp);
- activations: what the backward pass keeps for one micro-batch of ceil(batch / (grad_accum x N)) rows,
  per layer after Korthikanti et al. (2022, "Reducing activation recomputation"), the residual stream and
  layer norms in fp32 and matrix-multiply outputs in the compute dtype; with gradient checkpointing, one
  fp32 layer input per layer plus one layer recomputed; the s x s attention scores only where attention is
  not fused (`attention_matrix`: CPU training with attention dropout takes torch's math path);
- workspace: DDP's gradient buckets (a second copy of the gradients), FSDP's gathered units (two layers'
  parameters in the compute dtype and their unsharded fp32 gradients), autocast's bf16 weight copies
  (unsharded runs), the CUDA context (~0.6 GiB on a GPU), plus 5 % for the allocator; on one CPU process
  with a trainable embedding, its dense gradient buffer, kept across steps (`core/training/embedgrad.py`;
  "gradients" are then the other parameters' only).

Gradients and activations are not alive at their maxima together (backward frees a layer's activations
as its gradients appear, and the 250k-row embedding gradient comes last), so the peak is weights +
optimizer + workspace + the larger of the two. `make bench` (`bench/memory.py`) measures CPU peaks of
short `target` runs against this estimate; the README gives the figures.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any

from stilt_cli.core.errors import UsageError
from stilt_cli.core.planning.models import Shape, from_config, resolve

GIB = 1024**3
STRATEGIES = ("ddp", "fsdp", "lora", "fsdp-lora")
MAX_GPUS = 4096
SPARSE_EMBEDDING_MIN = 1 << 22  # = core/training/embedgrad.MIN_VALUES (a test keeps them equal; no torch here)
CONTEXT_GIB = 0.6  # CUDA context + cuBLAS workspace, measured on recent GPUs


def shape_of(model: str) -> Shape:
    """A model as `stilt plan hours` names it (`models.resolve`: a table name or hub id, a folder holding a
    config.json, `tiny:KIND`), else a hub id already in the local cache (never a download)."""
    try:
        return resolve(model)
    except UsageError as unknown_model:
        try:
            from transformers import AutoConfig

            config = AutoConfig.from_pretrained(model, local_files_only=True).to_dict()
        except Exception:
            raise unknown_model from None
        return from_config(config, model)


def layer_params(s: Shape) -> int:
    """Every parameter of one layer (biases and layer norms too)."""
    attention = 3 * s.hidden * s.inner + s.inner * s.hidden + (3 * s.inner + s.hidden if s.bias else 0)
    ffn = (3 if s.gated else 2) * s.hidden * s.ffn + ((s.ffn + s.hidden) if s.bias else 0)
    norms = 4 * s.hidden if s.bias else 2 * s.hidden
    return attention + ffn + norms


def embedding_params(s: Shape) -> int:
    positions = (s.positions + 1) * s.hidden if s.positions else 0  # + token types
    return s.vocab * s.hidden + positions + 2 * s.hidden


def total_params(s: Shape) -> int:
    return embedding_params(s) + s.layers * layer_params(s) + s.hidden * s.hidden + 4 * s.hidden  # + a head


def lora_params(s: Shape, rank: int = 8) -> int:
    """Adapters on the attention and feed-forward projections (stilt's default targets), plus the head."""
    attention = 3 * rank * (s.hidden + s.inner) + rank * (s.inner + s.hidden)
    ffn = (3 if s.gated else 2) * rank * (s.hidden + s.ffn)
    return s.layers * (attention + ffn) + s.hidden * s.hidden + 4 * s.hidden


@dataclass(frozen=True)
class Setup:
    strategy: str = "fsdp"  # ddp | fsdp | lora (one process or DDP) | fsdp-lora
    precision: str = "bf16"  # bf16 | fp32
    batch_size: int = 32
    max_length: int = 256
    grad_accum: int = 1
    gradient_checkpointing: bool = False
    gpus: int = 1
    gpu: bool = True  # False: a CPU run (no CUDA context)
    attention_matrix: bool = False  # the s x s scores are stored (CPU math path; eager attention)
    lora_rank: int = 8


def activations(s: Shape, setup: Setup, rows: int) -> float:
    """Bytes the backward pass keeps for one micro-batch (see the module docstring)."""
    tokens, e = rows * setup.max_length, (2 if setup.precision == "bf16" else 4)
    h, inner, ff = s.hidden, s.inner, s.ffn
    scores = rows * s.heads * setup.max_length ** 2 * (2 * e + 1) if setup.attention_matrix else 0
    attention = tokens * (4 * h + 3 * e * inner + 2 * e * inner + h) + scores  # input, q k v, context, mask
    mlp = tokens * (e * h + (3 if s.gated else 2) * e * ff + h)  # input, up (+ gate) and activation, mask
    norms = tokens * 2 * 4 * h
    layer = attention + mlp + norms
    embedding = tokens * 4 * h * 2
    if setup.gradient_checkpointing:
        return s.layers * tokens * 4 * h + layer + embedding
    return s.layers * layer + embedding


def estimate(s: Shape, setup: Setup) -> dict[str, Any]:
    """Per-GPU peak memory by part, in GiB, for one configuration."""
    sharded = setup.strategy.startswith("fsdp") and setup.gpus > 1  # one process: a plain run
    n = setup.gpus if sharded else 1
    lora = setup.strategy.endswith("lora")
    total = total_params(s)
    trainable = lora_params(s, setup.lora_rank) if lora else total
    everything = total + (trainable if lora else 0)
    rows = math.ceil(setup.batch_size / (setup.grad_accum * setup.gpus))
    e = 2 if setup.precision == "bf16" else 4
    parts = {"weights": 4 * everything / n, "gradients": 4 * trainable / n, "optimizer": 8 * trainable / n,
             "activations": activations(s, setup, rows)}
    work = 0.0
    if not setup.gpu and not lora and setup.gpus == 1 and s.vocab * s.hidden >= SPARSE_EMBEDDING_MIN:
        # one CPU process: the word-embedding gradient lives in one persistent dense buffer across steps
        # (core/training/embedgrad.py), while the other gradients come and go with each backward pass
        buffer = 4 * s.vocab * s.hidden
        work += buffer
        parts["gradients"] -= buffer
    if sharded:
        work += 2 * layer_params(s) * (e + (0 if lora else 4)) + embedding_params(s) * e  # gathered units
    elif setup.strategy == "ddp" and setup.gpus > 1:
        work += 4 * trainable  # DDP's gradient buckets
    if setup.precision == "bf16" and not lora and not sharded:
        work += 2 * s.layers * layer_params(s)  # autocast's cached bf16 copies of the trainable matrices
    peak = parts["weights"] + parts["optimizer"] + work + max(parts["activations"], parts["gradients"])
    work += 0.05 * peak + (CONTEXT_GIB * GIB if setup.gpu else 0)
    parts["workspace"] = work
    peak = parts["weights"] + parts["optimizer"] + work + max(parts["activations"], parts["gradients"])
    return {"model": s.name, "parameters": total, "trainable": trainable, **asdict(setup), "micro_batch": rows,
            **{f"{k}_gib": round(v / GIB, 2) for k, v in parts.items()}, "peak_gib": round(peak / GIB, 2)}


def smallest_fit(s: Shape, base: Setup, memory_gib: float, max_gpus: int = 4096) -> dict[str, Any] | None:
    """The configuration with the fewest GPUs that fits (then: no checkpointing, LoRA last, larger micro-batches)."""
    gpus = 1
    while gpus <= max_gpus:
        for strategy in ("ddp", "fsdp", "lora", "fsdp-lora"):
            for checkpointing in sorted({base.gradient_checkpointing, True}):
                accum = base.grad_accum
                while True:
                    setup = replace(base, strategy=strategy, gpus=gpus, gradient_checkpointing=checkpointing,
                                    grad_accum=accum)
                    result = estimate(s, setup)
                    if result["peak_gib"] <= memory_gib:
                        return result
                    if result["micro_batch"] <= 1:
                        break
                    accum *= 2
        gpus *= 2
    return None


def describe(result: dict[str, Any], memory_gib: float) -> str:
    """One configuration in words, e.g. "fsdp over 8 x 80 GiB GPU(s), micro-batch 4 (--grad-accum 1): ..."."""
    extra = ", gradient checkpointing" if result["gradient_checkpointing"] else ""
    return (f"{result['strategy']} over {result['gpus']} x {memory_gib:g} GiB GPU(s){extra}, micro-batch "
            f"{result['micro_batch']} (--grad-accum {result['grad_accum']}): {result['peak_gib']} GiB per GPU")


def fewest_gpus(s: Shape, setup: Setup, memory_gib: float, max_gpus: int) -> int | None:
    """The fewest GPUs (powers of two, up to `max_gpus`) on which `setup` fits, all else unchanged."""
    gpus = 1
    while gpus <= max_gpus:
        if estimate(s, replace(setup, gpus=gpus))["peak_gib"] <= memory_gib:
            return gpus
        gpus *= 2
    return None


def plan(model: str, base: Setup, strategies: list[str], memory_gib: float) -> tuple[list[dict[str, Any]], str]:
    """One row per strategy at `base.gpus` GPUs (with `fits` and `min_gpus`), and the verdict in one line.
    Nothing fitting any strategy on `base.gpus` GPUs is a UsageError naming the smallest configuration that
    would fit (more GPUs, gradient checkpointing, a larger --grad-accum), or saying none does."""
    shape = shape_of(model)
    rows, verdicts = [], []
    for strategy in strategies:
        setup = replace(base, strategy=strategy)
        row = estimate(shape, setup)
        fewest = fewest_gpus(shape, setup, memory_gib, MAX_GPUS)
        row.update(gpu_memory_gib=memory_gib, fits=row["peak_gib"] <= memory_gib, min_gpus=fewest)
        rows.append(row)
        verdicts.append(f"{strategy} does not fit (even on {MAX_GPUS} GPUs)" if fewest is None else
                        f"{strategy} fits one {memory_gib:g} GiB GPU" if fewest == 1 else
                        f"{strategy} over >= {fewest} x {memory_gib:g} GiB GPUs")
    title = (f"{model}, {base.precision}, {base.batch_size} x {base.max_length}"
             f"{', gradient checkpointing' if base.gradient_checkpointing else ''}")
    if not any(r["fits"] for r in rows):
        best = smallest_fit(shape, base, memory_gib)
        hint = (f"smallest that fits: {describe(best, memory_gib)}" if best
                else f"none fits on {MAX_GPUS} GPUs: a smaller model")
        raise UsageError(f"{title}: nothing fits {base.gpus} x {memory_gib:g} GiB GPU(s)", hint)
    return rows, f"{title}: " + "; ".join(verdicts)
