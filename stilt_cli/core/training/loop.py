"""THE training loop: one screen or two, top to bottom.

Every optimizer step trains one task (the seeded plan of `core/training/sampling.py`) on one effective batch
of `batch_size` rows: split into `grad_accum` micro-batches, each split across DDP processes, the
loss of each normalised by the item count of the whole effective batch, so that accumulation and
DDP give the same update as one big batch. Then: unscale (fp16), clip, AdamW, linear schedule; a step
the fp16 gradient scaler skips (an overflow) does not advance the schedule.

Periodic evaluation on the English dev sets keeps the best weights (mean main metric over tasks)
and stops early after `patience` evaluations without improvement. Mixed precision comes from
`core/device.py` (autocast on the chosen device type: bf16, or fp16 + GradScaler; fp32 unless asked on CPU,
where bf16 and fp16 run the same code path as on CUDA); on CPU a large word-embedding
matrix gets its gradient through one persistent buffer (`core/training/embedgrad.py`). The resumable state
is saved every `save_every` steps and when a signal arrives; a NaN/inf loss or running out of GPU memory
stops the run with the last good state kept. Each step's loss, learning rate, gradient norm, throughput and dev scores go to
the tracker (`core/training/tracking.py`: the checkpoint's train log, and any `--report-to` trackers).
"""

from __future__ import annotations

import math
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from stilt_cli.core.console import info, progress
from stilt_cli.core.data.features import Features
from stilt_cli.core.device import DeviceChoice
from stilt_cli.core.errors import DataError, Interrupted
from stilt_cli.core.model import heads, predict
from stilt_cli.core.tasks.spec import TaskSpec
from stilt_cli.core.training import batching, sampling, trainstate
from stilt_cli.core.training.config import Resolved
from stilt_cli.core.training.distributed import Dist
from stilt_cli.core.training.embedgrad import SparseEmbeddingGrad


@dataclass
class DevSet:
    spec: TaskSpec  # the task whose metric scores it
    examples: list[dict]
    features: Features


@dataclass
class TrainTask:
    name: str  # head name in the model
    task: str  # task name (several tasks may share a head, e.g. ANLI+ components)
    head_type: str
    features: Features
    batch_size: int
    epochs: int
    dev: DevSet | None = None


@dataclass
class Runtime:
    device: DeviceChoice
    dist: Dist
    state_dir: Path
    config_key: str
    resume: bool = False
    save_every: int | None = None
    pad_id: int = 0
    mlm: dict[str, Any] = field(default_factory=dict)  # mask_id, vocab_size, special_ids, probability
    resumable: bool = True  # False when the input came from stdin
    tracker: Any = None  # tracking.Tracker on rank 0; None elsewhere


def build_optimizer(model: torch.nn.Module, cfg: Resolved, device: torch.device) -> torch.optim.Optimizer:
    """AdamW; no weight decay on biases and norm weights (1-d tensors); fused where torch has it."""
    decay = [p for p in model.parameters() if p.requires_grad and p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.dim() < 2]
    groups = [{"params": decay, "weight_decay": cfg["weight_decay"]}, {"params": no_decay, "weight_decay": 0.0}]
    try:
        return torch.optim.AdamW(groups, lr=cfg["lr"], eps=cfg["adam_eps"], fused=device.type in ("cuda", "cpu"))
    except (RuntimeError, TypeError):
        return torch.optim.AdamW(groups, lr=cfg["lr"], eps=cfg["adam_eps"])


def linear_schedule(optimizer: torch.optim.Optimizer, warmup: int, total: int) -> torch.optim.lr_scheduler.LambdaLR:
    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / (warmup + 1)
        return max(0.0, (total - step) / max(1, total - warmup))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def evaluate(model: heads.Model, tasks: list[TrainTask], cfg: Resolved, rt: Runtime) -> dict[str, float]:
    """Main dev metric per task (English dev only), predictions gathered across DDP processes."""
    from stilt_cli.core.model import metrics

    scores = {}
    for task in tasks:
        if task.dev is None:
            continue
        mine = range(rt.dist.rank, len(task.dev.examples), rt.dist.world)
        options = predict.Options(batch_size=cfg["eval_batch_size"], max_answer_length=cfg["max_answer_length"],
                                  null_answer=task.dev.spec.null_answers)
        local = predict.predict(model, task.name, task.dev.features, task.dev.examples, device=rt.device,
                                options=options, only=mine, pad_id=rt.pad_id)
        merged: dict[int, Any] = {}
        for part in rt.dist.gather(local):
            merged.update(part)
        predictions = [merged[i] for i in range(len(task.dev.examples))]
        result = metrics.compute(task.dev.spec, predictions, task.dev.examples, "en")
        scores[task.task] = float(result[task.dev.spec.main_metric])
    return scores


@dataclass
class Progress:
    step: int = 0
    best: float | None = None
    best_step: int | None = None
    bad_evals: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    examples: int = 0
    stopped_early: bool = False


def train(model: heads.Model, tasks: list[TrainTask], cfg: Resolved, rt: Runtime) -> Progress:
    device = rt.device.torch_device()
    model.to(device)
    model.train()
    if cfg["gradient_checkpointing"]:
        model.encoder.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    streams = [batching.TaskStream(t.features, t.batch_size, cfg["seed"], i) for i, t in enumerate(tasks)]
    sizes = [s.per_epoch * t.epochs for s, t in zip(streams, tasks)]
    total = cfg["max_steps"] or sum(sizes)
    plan = sampling.schedule(sizes, total, cfg["sampling"], cfg["temperature"], cfg["seed"])
    position = sampling.positions(plan)
    warmup = cfg["warmup_steps"] if cfg["warmup_steps"] is not None else int(cfg["warmup_ratio"] * total)
    optimizer = build_optimizer(model, cfg, device)
    scheduler = linear_schedule(optimizer, warmup, total)
    scaler = rt.device.grad_scaler()
    runner: Any = model
    if rt.dist.active:
        from torch.nn.parallel import DistributedDataParallel

        runner = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None,
                                         find_unused_parameters=len(model.heads) > 1)
    has_dev = any(t.dev is not None for t in tasks)
    eval_every = cfg["eval_every"] if cfg["eval_every"] is not None else sum(s.per_epoch for s in streams)
    state = Progress()
    best_weights: dict[str, torch.Tensor] | None = None
    if rt.resume and trainstate.exists(rt.state_dir):
        meta, best_weights = trainstate.load(rt.state_dir, model=model, optimizer=optimizer, scheduler=scheduler,
                                             scaler=scaler, config_key=rt.config_key, dist=rt.dist)
        state = Progress(**meta["progress"])
        info(f"resumed from step {state.step} of {total} ({rt.state_dir})")
    elif rt.resume:
        info(f"no resumable state in {rt.state_dir}: starting from the beginning")
    if rt.tracker is not None:
        rt.tracker.start(state.step)  # a resumed run's log keeps the steps up to its saved state
    info(f"training {', '.join(t.task for t in tasks)}: {total} steps, warmup {warmup}, "
         f"{rt.dist.world} process(es), {rt.device.describe()}")

    def save(rng: dict[str, Any] | None = None) -> None:
        meta = {"config_key": rt.config_key, "total_steps": total, "progress": state.__dict__}
        trainstate.save(rt.state_dir, model=model, optimizer=optimizer, scheduler=scheduler, scaler=scaler,
                        info_json=meta, best=best_weights, dist=rt.dist, rng=rng)

    def stop(message: str, hint: str, rng: dict[str, Any]) -> None:
        """The weights are still those of the last good step: keep that state (resumable) and stop."""
        optimizer.zero_grad(set_to_none=True)
        kept = "not kept (stdin input)"
        if rt.resumable:
            save(rng)
            kept = f"kept in {rt.state_dir}"
        raise DataError(f"{message}; stopped. The last good state (step {state.step}) is {kept}", hint)

    started, seen_at_start = time.perf_counter(), state.examples
    catcher = trainstate.Signals(rt.state_dir if rt.resumable else None)
    embed_grad = SparseEmbeddingGrad(model, model.encoder, rt.device, rt.dist.active)
    with catcher as signals, embed_grad, progress("training", total=total, unit="step") as advance:
        advance(state.step)
        while state.step < total:
            task_index = int(plan[state.step])
            task = tasks[task_index]
            rows = streams[task_index].batch(int(position[state.step]))
            rng_before = trainstate.rng_state()  # the last good state, should this step's loss be NaN
            try:
                loss = _step(runner, task, rows, cfg, rt, scaler)
            except torch.OutOfMemoryError:
                loss = None  # handled outside the except block, so the failed step's tensors are freed
            if loss is None:
                rt.device.free_cached_memory()
                stop(out_of_memory(task, rows, cfg, rt, state.step), OOM_HINT, rng_before)
            if not math.isfinite(loss):
                stop(f"the training loss became {loss} at step {state.step + 1} (task {task.task})",
                     "lower --lr, check the data, or use --precision fp32", rng_before)
            embed_grad.densify()
            scaler.unscale_(optimizer)
            grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg["max_grad_norm"])
            lr = scheduler.get_last_lr()[0]  # the rate this step used
            scale = scaler.get_scale()
            scaler.step(optimizer)
            scaler.update()
            skipped = scaler.get_scale() < scale  # fp16: inf/NaN gradients, the scaler skipped AdamW
            if not skipped:
                scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            state.step += 1
            state.examples += len(rows)
            rate = (state.examples - seen_at_start) / max(1e-9, time.perf_counter() - started)
            advance(1, loss=f"{loss:.4f}", ex_per_s=f"{rate:.1f}")
            if state.step % max(1, total // 10) == 0 or state.step == total:
                info(f"step {state.step}/{total} loss {loss:.4f} ({task.task}) {rate:.1f} examples/s")
            due = has_dev and eval_every > 0 and (state.step % eval_every == 0 or state.step == total)
            if due:
                best_weights = _select(model, tasks, cfg, rt, state, best_weights)
            if rt.tracker is not None:
                dev = {"dev": state.history[-1]["dev"], "dev_mean": state.history[-1]["mean"]} if due else {}
                amp = {"loss_scale": scale, "skipped": skipped} if scaler.is_enabled() else {}
                rt.tracker.log({"step": state.step, "task": task.task, "loss": loss, "lr": lr,
                                "grad_norm": float(grad_norm), "examples": state.examples, "examples_per_s": rate,
                                "elapsed_s": round(time.perf_counter() - started, 3), **amp, **dev})
            if rt.dist.any(signals.received is not None):  # every process must take part in the vote
                if not rt.resumable:
                    raise DataError(f"interrupted at step {state.step} of {total}; the input came from stdin, so "
                                    "no resumable state was kept", "save the input to a file to make runs resumable")
                save()
                raise Interrupted(f"interrupted ({signals.received or 'signal on another process'}) at step "
                                  f"{state.step} of {total}; resumable state saved in {rt.state_dir}",
                                  "run the same command again with --resume")
            if state.stopped_early:
                break
            if rt.resumable and rt.save_every and state.step % rt.save_every == 0 and state.step < total:
                save()
                info(f"saved resumable state at step {state.step}")
            trainstate.pause_point(state.step)  # a no-op unless a test sets STILT_PAUSE_AT_STEP
    if best_weights is not None:
        unexpected = model.load_state_dict(best_weights, strict=False).unexpected_keys  # frozen weights never changed
        if unexpected:
            raise RuntimeError(f"keep-best weights name {len(unexpected)} tensors the model lacks ({unexpected[0]})")
        info(f"kept the best weights: step {state.best_step}, dev {state.best:.4f}")
    return state


def _step(runner: Any, task: TrainTask, rows: np.ndarray, cfg: Resolved, rt: Runtime, scaler: Any) -> float:
    """Forward + backward over the effective batch; returns its mean loss (over all processes)."""
    device = rt.device.torch_device()
    parts = []
    for micro in batching.micro_batches(rows, cfg["grad_accum"]):
        mine = batching.shard(micro, rt.dist.rank, rt.dist.world)
        weight = 1.0 if len(mine) else 0.0  # a process without rows runs one with zero weight (DDP needs it)
        batch = batching.collate(task.features, mine if len(mine) else micro[:1], rt.pad_id)
        if task.head_type == "mlm":
            batch = batching.mask_tokens(batch, **rt.mlm)
        parts.append((batch, weight))
    items = rt.dist.sum(sum(heads.loss_items(task.head_type, b) * w for b, w in parts))
    total = torch.zeros((), device=device)
    for i, (batch, weight) in enumerate(parts):
        batch = batching.to_device(batch, device)
        sync = rt.dist.active and i < len(parts) - 1
        with runner.no_sync() if sync else nullcontext(), rt.device.autocast():
            summed = heads.loss_sum(task.head_type, runner(task.name, batch), batch) * weight
        # DDP averages gradients over processes: scale by the world size so the update is the
        # sum over the whole effective batch divided by its item count
        scaler.scale(summed * rt.dist.world / max(items, 1.0)).backward()
        total += summed.detach()
    return rt.dist.sum(float(total)) / max(items, 1.0)


OOM_HINT = ("a larger --grad-accum (same effective batch, smaller micro-batches) or a smaller --batch-size; "
            "--gradient-checkpointing or a lower --max-length also help (changed options start over: --resume "
            "continues the kept state only with the same options)")


def out_of_memory(task: TrainTask, rows: np.ndarray, cfg: Resolved, rt: Runtime, step: int) -> str:
    """What ran out of memory, in the options' words."""
    width = int(task.features.lengths()[rows].max()) if len(rows) else 0
    micro = -(-len(rows) // (cfg["grad_accum"] * rt.dist.world))
    return (f"out of {'GPU' if rt.device.is_cuda else 'device'} memory at step {step + 1} (task {task.task}): "
            f"--batch-size {task.batch_size} with --grad-accum {cfg['grad_accum']} over {rt.dist.world} process(es) "
            f"is {micro} rows per micro-batch, the longest {width} tokens "
            f"(--max-length {cfg.tasks.get(task.task, cfg.values).get('max_length')})")


def _snapshot(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A CPU copy of what training can change: the trainable parameters and the buffers. Frozen weights
    (the whole base encoder under LoRA, the word embeddings with --freeze-embeddings) are not copied:
    they equal the model's own, so keep-best costs the adapters' size, not the encoder's."""
    keep = {name for name, p in model.named_parameters() if p.requires_grad} | {name for name, _ in model.named_buffers()}
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items() if k in keep}


def _select(model: heads.Model, tasks: list[TrainTask], cfg: Resolved, rt: Runtime, state: Progress,
            best: dict[str, torch.Tensor] | None) -> dict[str, torch.Tensor] | None:
    """Evaluate; keep the best weights (mean main metric); count evaluations without improvement."""
    scores = evaluate(model, tasks, cfg, rt)
    mean = sum(scores.values()) / len(scores)
    state.history.append({"step": state.step, "dev": scores, "mean": mean})
    info(f"dev at step {state.step}: " + ", ".join(f"{k} {v:.4f}" for k, v in scores.items()))
    if state.best is None or mean > state.best:
        state.best, state.best_step, state.bad_evals = mean, state.step, 0
        return _snapshot(model)
    state.bad_evals += 1
    if cfg["patience"] is not None and state.bad_evals >= cfg["patience"]:
        info(f"early stop: no dev improvement in {state.bad_evals} evaluations")
        state.stopped_early = True
    return best
