"""Measured CPU peak memory of short `stilt target` runs against `stilt plan memory`'s estimate (BENCH=memory).

Three random-initialised encoders of real shapes (XLM-R layers; a tiny tokenizer padded to the vocabulary size,
so the embedding matrix has the real shape): multilingual-e5-small's (12 x 384, 250k vocabulary), XLM-R base's
(12 x 768, 250k) and XLM-R Large's (24 x 1024, 250k) — the target is met on these — and a toy shape (4 x 256,
4k vocabulary) that shows the limit: there a fixed ~30 MiB of the CPU runtime (autograd, kernel scratch), which
the planner does not model, is a fifth of the growth. Each runs the real target stage (`core/training/stages.run`:
data, model, the loop, saving) for a few steps in a fresh process, full fine-tuning and `--peft lora`, one run at
a time.
Measured: the process's resident high-water mark from the start of `loop.train` (`VmHWM`, reset through
`/proc/self/clear_refs`) minus the resident set just before it — what training adds over the loaded model.
Three things keep that figure about tensors, the quantity the planner estimates (and `torch.cuda.
max_memory_allocated` reports on a GPU), rather than about the CPU allocator or the page cache:
- every weight is read before the baseline is taken: loaded weights can still be pages of the mapped
  safetensors file, which the first forward pass would otherwise bring in and count as growth;
- the run's process has glibc's mmap threshold fixed (`MALLOC_MMAP_THRESHOLD_=65536`): by default glibc raises
  it as large blocks are freed and then keeps freed activations in its heap, so the resident set grows from
  step to step (measured: +300, +230, +210, +180 MiB over four steps of the base shape's LoRA run);
- every training row is at least `length` tokens long (the text repeated), so each batch is batch x length,
  as the estimate assumes (length-grouped batches of shorter rows peak lower).
Estimated: the planner's peak for the same shape, batch, length and precision on one CPU process (no CUDA
context; attention scores stored, as torch's CPU path does with attention dropout), minus its weights,
which were resident before training. The target: within 20 %.

Heavy: XLM-R Large's full fine-tuning needs ~10 GB of memory. Run it on an otherwise idle machine.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import tempfile
from pathlib import Path
from typing import Any

from stilt_cli.bench import lora_bench
from stilt_cli.bench.workload import xnli_pairs

SHAPES = {"toy": {"hidden": 256, "layers": 4, "heads": 4, "ffn": 1024, "vocab_size": 4000},
          "e5-small": {"hidden": 384, "layers": 12, "heads": 12, "ffn": 1536, "vocab_size": 4000,
                       "vocab_padded_to": 250037},
          "base": {"hidden": 768, "layers": 12, "heads": 12, "ffn": 3072, "vocab_size": 4000,
                   "vocab_padded_to": 250002},
          "xlmr-large": {"hidden": 1024, "layers": 24, "heads": 16, "ffn": 4096, "vocab_size": 4000,
                         "vocab_padded_to": 250002}}
TOLERANCE = 0.20


ALLOCATOR = {"MALLOC_MMAP_THRESHOLD_": "65536"}


def _measure(args: dict[str, Any]) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=lora_bench.measured_stage, args=(args, queue))
    saved = {key: os.environ.get(key) for key in ALLOCATOR}
    os.environ.update(ALLOCATOR)  # read by glibc when the spawned interpreter starts
    try:
        process.start()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    measured = queue.get(timeout=7200)
    process.join()
    if process.exitcode:
        raise RuntimeError(f"the memory run {args['output']} failed (exit {process.exitcode})")
    return measured


def _checkpoint(work: Path, name: str) -> Path:
    """A stilt checkpoint of the shape: the tiny builder's Hugging Face folder, through pretrain-load."""
    from stilt_cli.core.encoders import tiny
    from stilt_cli.core.encoders.pretrain import PretrainConfig, run

    folder, out = work / f"{name}-hf", work / name
    model, tokenizer, _size = tiny.source_model("xlmr", seed=0, sizes=dict(SHAPES[name], max_positions=512))
    model.save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    del model
    run(PretrainConfig(source=str(folder), output=out, if_exists="skip"))
    return out


def run(shapes: tuple[str, ...] = tuple(SHAPES), steps: int = 4, batch: int = 8, length: int = 128) -> dict[str, Any]:
    from stilt_cli.core.planning import memory, models

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        pairs, source = xnli_pairs(200, seed=1)
        pairs = [dict(p, text_a=" ".join([p["text_a"]] * 8)) for p in pairs]  # every row >= length tokens
        train = work / "train.jsonl"
        train.write_text("".join(json.dumps(p) + "\n" for p in pairs), encoding="utf-8")
        for name in shapes:
            checkpoint = _checkpoint(work, name)
            config = json.loads((checkpoint / "encoder" / "config.json").read_text(encoding="utf-8"))
            shape = models.from_config(config, name)
            for arm in ("full", "lora"):
                settings = {"max_steps": steps, "batch_size": batch, "max_length": length, "eval_every": 0,
                            "seed": 0, "device": "cpu", "precision": "fp32"}
                if arm == "lora":
                    settings["peft"] = "lora"
                measured = _measure({"checkpoint": str(checkpoint), "output": str(work / f"{name}-{arm}"),
                                     "train": str(train), "settings": settings, "read_weights_first": True})
                setup = memory.Setup(strategy=arm if arm == "lora" else "ddp", precision="fp32", batch_size=batch,
                                     max_length=length, gpus=1, gpu=False, attention_matrix=True)
                estimate = memory.estimate(shape, setup)
                expected = (estimate["peak_gib"] - estimate["weights_gib"]) * 1024
                growth = measured["peak_mib"] - measured["rss_before_mib"]
                rows.append({"shape": name, "arm": arm, "parameters": estimate["parameters"],
                             "measured_growth_mib": round(growth), "estimated_mib": round(expected),
                             "ratio": round(expected / growth, 3), "within": abs(expected / growth - 1) <= TOLERANCE,
                             **measured})
    return {"data": f"{source}, premise repeated 8 times", "allocator": ALLOCATOR, "steps": steps,
            "batch_size": batch, "max_length": length, "rows": rows,
            "note": "growth = VmHWM from the start of loop.train minus the resident set before it (weights read "
                    "first); estimate = "
                    "plan memory's peak minus its weights (resident before training), CPU, fp32"}
