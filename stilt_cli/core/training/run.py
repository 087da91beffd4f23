"""What one training run holds, shared by the loop's step (`loop.py`) and its callbacks (`callbacks.py`):
the tasks and their batches, the runtime (device, processes, where the resumable state goes), the optimizer,
schedule and gradient scaler, and the progress that a resumable state saves."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from stilt_cli.core.data.features import Features
from stilt_cli.core.device import DeviceChoice
from stilt_cli.core.model import heads
from stilt_cli.core.tasks.spec import TaskSpec
from stilt_cli.core.training import batching, trainstate
from stilt_cli.core.training.config import Resolved
from stilt_cli.core.training.distributed import Dist


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
    parallel: str = "ddp"  # --parallel: ddp | fsdp (core/training/parallel.py), used when WORLD_SIZE > 1


@dataclass
class Progress:
    step: int = 0
    best: float | None = None
    best_step: int | None = None
    bad_evals: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    examples: int = 0
    stopped_early: bool = False


@dataclass
class Run:
    """What one run holds, shared by the step and the callbacks."""

    model: heads.Model
    runner: Any  # parallel.Applied: the model as the step calls it, DDP or FSDP applied before the loop
    tasks: list[TrainTask]
    cfg: Resolved
    rt: Runtime
    streams: list[batching.TaskStream]
    plan: np.ndarray  # the task of each step
    position: np.ndarray  # the batch of its task each step trains on
    total: int
    warmup: int
    optimizer: torch.optim.Optimizer
    scheduler: Any
    scaler: Any
    state: Progress = field(default_factory=Progress)
    best_weights: dict[str, torch.Tensor] | None = None

    def save(self, rng: dict[str, Any] | None = None) -> None:
        meta = {"config_key": self.rt.config_key, "total_steps": self.total, "progress": self.state.__dict__}
        trainstate.save(self.rt.state_dir, model=self.model, optimizer=self.optimizer, scheduler=self.scheduler,
                        scaler=self.scaler, info_json=meta, best=self.best_weights, dist=self.rt.dist, rng=rng)


@dataclass
class StepResult:
    task: TrainTask
    rows: np.ndarray
    loss: float
    lr: float  # the rate this step used
    grad_norm: Any
    scale: float  # the fp16 loss scale the step ran with
    skipped: bool  # fp16: inf/NaN gradients, the scaler skipped AdamW
    rate: float = 0.0  # examples per second (callbacks.Reporter)
    elapsed: float = 0.0
    evaluated: bool = False  # dev scores of this step are in the history (callbacks.DevSelection)
