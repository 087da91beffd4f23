"""What the training loop does around its step, one concern per object, each called at a fixed point.

`core/training/loop.py` runs forward → backward → unscale / clip → optimizer step → schedule and nothing
else; after every step it calls each callback's `on_step_end(run, result)` in the order `standard()` lists
them, and once after the last step `on_train_end(run)`. The order is part of the contract (the train log
of a step carries the dev scores of that step; a signal is answered before a periodic save):

1. `Reporter`     the progress bar and a log line every tenth of the run (throughput measured here)
2. `DevSelection` English-dev evaluation every `eval_every` steps, keep-best weights, early stopping
3. `TrackerLog`   the step's row in the train log and the `--report-to` trackers
4. `SignalStop`   SIGINT / SIGTERM / SIGUSR1 on any process: save the resumable state and stop (exit 75)
5. `PeriodicSave` the resumable state every `save_every` steps
6. `PausePoint`   a no-op unless a test sets STILT_PAUSE_AT_STEP

`Guard` is the one concern inside the step: out of memory, or a NaN / inf loss, stops the run with the
last good state kept.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import torch

from stilt_cli.core.console import info
from stilt_cli.core.errors import DataError, Interrupted
from stilt_cli.core.training import trainstate
from stilt_cli.core.training.run import Run, StepResult

OOM_HINT = ("a larger --grad-accum (same effective batch, smaller micro-batches) or a smaller --batch-size; "
            "--gradient-checkpointing or a lower --max-length also help (changed options start over: --resume "
            "continues the kept state only with the same options)")


class Callback:
    def on_step_end(self, run: Run, result: StepResult) -> None:
        pass

    def on_train_end(self, run: Run) -> None:
        pass


def stop(run: Run, message: str, hint: str, rng: dict[str, Any]) -> None:
    """The weights are still those of the last good step: keep that state (resumable) and stop."""
    run.optimizer.zero_grad(set_to_none=True)
    kept = "not kept (stdin input)"
    if run.rt.resumable:
        run.save(rng)
        kept = f"kept in {run.rt.state_dir}"
    raise DataError(f"{message}; stopped. The last good state (step {run.state.step}) is {kept}", hint)


class Guard:
    """Forward + backward under watch: running out of memory or a non-finite loss stops the run."""

    def __init__(self, run: Run):
        self.run = run

    def forward_backward(self, step: Callable[[], float], task: Any, rows: Any) -> float:
        rng_before = trainstate.rng_state()  # the last good state, should this step's loss be NaN
        try:
            loss = step()
        except torch.OutOfMemoryError:
            loss = None  # handled outside the except block, so the failed step's tensors are freed
        run = self.run
        if loss is None:
            run.rt.device.free_cached_memory()
            stop(run, out_of_memory(run, task, rows), OOM_HINT, rng_before)
        if not math.isfinite(loss):
            stop(run, f"the training loss became {loss} at step {run.state.step + 1} (task {task.task})",
                 "lower --lr, check the data, or use --precision fp32", rng_before)
        return loss


def out_of_memory(run: Run, task: Any, rows: Any) -> str:
    """What ran out of memory, in the options' words."""
    cfg, rt, step = run.cfg, run.rt, run.state.step
    width = int(task.features.lengths()[rows].max()) if len(rows) else 0
    micro = -(-len(rows) // (cfg["grad_accum"] * rt.dist.world))
    return (f"out of {'GPU' if rt.device.is_cuda else 'device'} memory at step {step + 1} (task {task.task}): "
            f"--batch-size {task.batch_size} with --grad-accum {cfg['grad_accum']} over {rt.dist.world} process(es) "
            f"is {micro} rows per micro-batch, the longest {width} tokens "
            f"(--max-length {cfg.tasks.get(task.task, cfg.values).get('max_length')})")


class Reporter(Callback):
    def __init__(self, run: Run, advance: Callable[..., None]):
        self.advance = advance
        self.started, self.seen_at_start = time.perf_counter(), run.state.examples

    def on_step_end(self, run: Run, result: StepResult) -> None:
        state, total = run.state, run.total
        result.rate = (state.examples - self.seen_at_start) / max(1e-9, time.perf_counter() - self.started)
        result.elapsed = time.perf_counter() - self.started
        self.advance(1, loss=f"{result.loss:.4f}", ex_per_s=f"{result.rate:.1f}")
        if state.step % max(1, total // 10) == 0 or state.step == total:
            info(f"step {state.step}/{total} loss {result.loss:.4f} ({result.task.task}) {result.rate:.1f} examples/s")


class DevSelection(Callback):
    """Evaluate on the English dev sets; keep the best weights (mean main metric); stop early after
    `patience` evaluations without improvement; put the best weights back at the end."""

    def __init__(self, run: Run, evaluate: Callable[[], dict[str, float]]):
        has_dev = any(t.dev is not None for t in run.tasks)
        per_epoch = sum(s.per_epoch for s in run.streams)
        self.every = (run.cfg["eval_every"] if run.cfg["eval_every"] is not None else per_epoch) if has_dev else 0
        self.evaluate = evaluate

    def on_step_end(self, run: Run, result: StepResult) -> None:
        step = run.state.step
        result.evaluated = self.every > 0 and (step % self.every == 0 or step == run.total)
        if result.evaluated:
            run.best_weights = self._select(run)

    def _select(self, run: Run) -> dict[str, torch.Tensor] | None:
        state, cfg = run.state, run.cfg
        scores = self.evaluate()
        mean = sum(scores.values()) / len(scores)
        state.history.append({"step": state.step, "dev": scores, "mean": mean})
        info(f"dev at step {state.step}: " + ", ".join(f"{k} {v:.4f}" for k, v in scores.items()))
        if state.best is None or mean > state.best:
            state.best, state.best_step, state.bad_evals = mean, state.step, 0
            return snapshot(run.model)
        state.bad_evals += 1
        if cfg["patience"] is not None and state.bad_evals >= cfg["patience"]:
            info(f"early stop: no dev improvement in {state.bad_evals} evaluations")
            state.stopped_early = True
        return run.best_weights

    def on_train_end(self, run: Run) -> None:
        if run.best_weights is None:
            return
        unexpected = run.model.load_state_dict(run.best_weights, strict=False).unexpected_keys  # frozen: unchanged
        if unexpected:
            raise RuntimeError(f"keep-best weights name {len(unexpected)} tensors the model lacks ({unexpected[0]})")
        info(f"kept the best weights: step {run.state.best_step}, dev {run.state.best:.4f}")


def snapshot(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A CPU copy of what training can change: the trainable parameters and the buffers. Frozen weights
    (the whole base encoder under LoRA, the word embeddings with --freeze-embeddings) are not copied:
    they equal the model's own, so keep-best costs the adapters' size, not the encoder's."""
    keep = ({name for name, p in model.named_parameters() if p.requires_grad}
            | {name for name, _ in model.named_buffers()})
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items() if k in keep}


class TrackerLog(Callback):
    def on_step_end(self, run: Run, result: StepResult) -> None:
        if run.rt.tracker is None:
            return
        state = run.state
        dev = {"dev": state.history[-1]["dev"], "dev_mean": state.history[-1]["mean"]} if result.evaluated else {}
        amp = {"loss_scale": result.scale, "skipped": result.skipped} if run.scaler.is_enabled() else {}
        run.rt.tracker.log({"step": state.step, "task": result.task.task, "loss": result.loss, "lr": result.lr,
                            "grad_norm": float(result.grad_norm), "examples": state.examples,
                            "examples_per_s": result.rate, "elapsed_s": round(result.elapsed, 3), **amp, **dev})


class SignalStop(Callback):
    def __init__(self, signals: Any):
        self.signals = signals

    def on_step_end(self, run: Run, result: StepResult) -> None:
        received = self.signals.received
        if not run.rt.dist.any(received is not None):  # every process must take part in the vote
            return
        step, total = run.state.step, run.total
        if not run.rt.resumable:
            raise DataError(f"interrupted at step {step} of {total}; the input came from stdin, so "
                            "no resumable state was kept", "save the input to a file to make runs resumable")
        run.save()
        raise Interrupted(f"interrupted ({received or 'signal on another process'}) at step "
                          f"{step} of {total}; resumable state saved in {run.rt.state_dir}",
                          "run the same command again with --resume")


class PeriodicSave(Callback):
    def on_step_end(self, run: Run, result: StepResult) -> None:
        rt, step = run.rt, run.state.step
        if run.state.stopped_early or not (rt.resumable and rt.save_every):
            return
        if step % rt.save_every == 0 and step < run.total:
            run.save()
            info(f"saved resumable state at step {step}")


class PausePoint(Callback):
    def on_step_end(self, run: Run, result: StepResult) -> None:
        if not run.state.stopped_early:
            trainstate.pause_point(run.state.step)  # a no-op unless a test sets STILT_PAUSE_AT_STEP


def standard(run: Run, signals: Any, advance: Callable[..., None], evaluate: Callable[[], dict[str, float]]
             ) -> list[Callback]:
    """The callbacks of every run, in the order they are called."""
    return [Reporter(run, advance), DevSelection(run, evaluate), TrackerLog(), SignalStop(signals), PeriodicSave(),
            PausePoint()]
