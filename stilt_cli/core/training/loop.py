"""THE training loop: one screen or two, top to bottom.

Every optimizer step trains one task (the seeded plan of `core/training/sampling.py`) on one effective batch
of `batch_size` rows: split into `grad_accum` micro-batches, each split across DDP processes, the
loss of each normalised by the item count of the whole effective batch, so that accumulation and
DDP give the same update as one big batch. Then: unscale (fp16), clip, AdamW, linear schedule; a step
the fp16 gradient scaler skips (an overflow) does not advance the schedule.

Mixed precision comes from `core/device.py` (autocast on the chosen device type: bf16, or fp16 +
GradScaler; fp32 unless asked on CPU, where bf16 and fp16 run the same code path as on CUDA); on CPU a large
word-embedding matrix gets its gradient through one persistent buffer (`core/training/embedgrad.py`).
Parallelism is applied to the model before the loop (`prepare`: DDP under several processes), so the step
does not branch per strategy.

Everything else hangs off fixed points of the loop as callbacks (`core/training/callbacks.py`): the
out-of-memory / NaN guard around forward + backward; after each step the progress and log lines, English-dev
evaluation with keep-best and early stopping, the train log and trackers, signals (save the resumable state,
exit 75), periodic saves, and the tests' pause point.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from stilt_cli.core.console import info, progress
from stilt_cli.core.model import heads, predict
from stilt_cli.core.training import batching, callbacks, parallel, sampling, trainstate
from stilt_cli.core.training.config import Resolved
from stilt_cli.core.training.embedgrad import SparseEmbeddingGrad
from stilt_cli.core.training.run import DevSet, Progress, Run, Runtime, StepResult, TrainTask  # noqa: F401 (the loop's API)


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
        # sharded weights are gathered in collectives: every process must run the same forward passes
        lockstep = rt.parallel == "fsdp" and rt.dist.active
        mine = range(len(task.dev.examples)) if lockstep else range(rt.dist.rank, len(task.dev.examples), rt.dist.world)
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


def train(model: heads.Model, tasks: list[TrainTask], cfg: Resolved, rt: Runtime) -> Progress:
    run = prepare(model, tasks, cfg, rt)
    catcher = trainstate.Signals(rt.state_dir if rt.resumable else None)
    embed_grad = SparseEmbeddingGrad(model, model.encoder, rt.device, rt.dist.active)
    with catcher as signals, embed_grad, progress("training", total=run.total, unit="step") as advance:
        hooks = callbacks.standard(run, signals, advance, lambda: evaluate(model, tasks, cfg, rt))
        guard = callbacks.Guard(run)
        advance(run.state.step)
        while run.state.step < run.total:
            result = optimizer_step(run, guard, embed_grad)
            for hook in hooks:
                hook.on_step_end(run, result)
            if run.state.stopped_early:
                break
    for hook in hooks:
        hook.on_train_end(run)
    return run.state


def optimizer_step(run: Run, guard: callbacks.Guard, embed_grad: SparseEmbeddingGrad) -> StepResult:
    """One step: forward + backward over the effective batch, unscale, clip, AdamW, schedule."""
    state, optimizer, scaler = run.state, run.optimizer, run.scaler
    task_index = int(run.plan[state.step])
    task = run.tasks[task_index]
    rows = run.streams[task_index].batch(int(run.position[state.step]))
    loss = guard.forward_backward(lambda: _step(run.runner, task, rows, run.cfg, run.rt, scaler), task, rows)
    embed_grad.densify()
    scaler.unscale_(optimizer)
    grad_norm = run.runner.clip(run.model, run.cfg["max_grad_norm"])
    lr = run.scheduler.get_last_lr()[0]
    scale = scaler.get_scale()
    scaler.step(optimizer)
    scaler.update()
    skipped = scaler.get_scale() < scale
    if not skipped:
        run.scheduler.step()
    optimizer.zero_grad(set_to_none=True)
    state.step += 1
    state.examples += len(rows)
    return StepResult(task, rows, loss, lr, grad_norm, scale, skipped)


def prepare(model: heads.Model, tasks: list[TrainTask], cfg: Resolved, rt: Runtime) -> Run:
    """Model on its device, the seeded batch plan, optimizer and schedule, parallelism; resumed state."""
    device = rt.device.torch_device()
    model.to(device)
    model.train()
    if cfg["gradient_checkpointing"]:
        model.encoder.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    streams = [batching.TaskStream(t.features, t.batch_size, cfg["seed"], i) for i, t in enumerate(tasks)]
    sizes = [s.per_epoch * t.epochs for s, t in zip(streams, tasks)]
    total = cfg["max_steps"] or sum(sizes)
    plan = sampling.schedule(sizes, total, cfg["sampling"], cfg["temperature"], cfg["seed"])
    warmup = cfg["warmup_steps"] if cfg["warmup_steps"] is not None else int(cfg["warmup_ratio"] * total)
    runner = parallel.apply(model, rt.parallel, rt.dist, rt.device)  # DDP or FSDP: before the optimizer
    optimizer = build_optimizer(model, cfg, device)
    scheduler = linear_schedule(optimizer, warmup, total)
    run = Run(model, runner, tasks, cfg, rt, streams, plan, sampling.positions(plan),
              total, warmup, optimizer, scheduler, rt.device.grad_scaler())
    _resume(run)
    if rt.tracker is not None:
        rt.tracker.start(run.state.step)  # a resumed run's log keeps the steps up to its saved state
    info(f"training {', '.join(t.task for t in tasks)}: {total} steps, warmup {warmup}, "
         f"{rt.dist.world} process(es), {rt.device.describe()}")
    return run


def _resume(run: Run) -> None:
    rt = run.rt
    if rt.resume and trainstate.exists(rt.state_dir):
        meta, run.best_weights = trainstate.load(rt.state_dir, model=run.model, optimizer=run.optimizer,
                                                 scheduler=run.scheduler, scaler=run.scaler,
                                                 config_key=rt.config_key, dist=rt.dist)
        run.state = Progress(**meta["progress"])
        info(f"resumed from step {run.state.step} of {run.total} ({rt.state_dir})")
    elif rt.resume:
        info(f"no resumable state in {rt.state_dir}: starting from the beginning")


def _step(runner: parallel.Applied, task: TrainTask, rows: np.ndarray, cfg: Resolved, rt: Runtime,
          scaler: Any) -> float:
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
        with runner.accumulating(i < len(parts) - 1), rt.device.autocast():
            summed = heads.loss_sum(task.head_type, runner(task.name, batch), batch) * weight
        # DDP and FSDP average gradients over processes: scale by the world size so the update is the
        # sum over the whole effective batch divided by its item count
        scaler.scale(summed * rt.dist.world / max(items, 1.0)).backward()
        total += summed.detach()
    return rt.dist.sum(float(total)) / max(items, 1.0)

