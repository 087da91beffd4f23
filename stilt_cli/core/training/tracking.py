"""What a training run reports as it goes: the checkpoint's `train_log.jsonl` always, and with
`--report-to` the experiment trackers researchers watch (TensorBoard, Weights & Biases, MLflow).

The loop hands one row per optimizer step to `Tracker.log` (`core/training/trainlog.py` documents the
row); each reporter turns it into its own library's calls, through that library's public API:

- `tensorboard`: `torch.utils.tensorboard.SummaryWriter`, events in `DIR/tensorboard/NAME/`
  (`tensorboard --logdir DIR/tensorboard` shows every run of a grid side by side); a resumed run
  purges the events after the step it resumes from.
- `wandb`: `wandb.init(project=$WANDB_PROJECT or "stilt", dir=DIR)`, offline unless `WANDB_MODE` says
  otherwise (compute nodes rarely have network: `wandb sync DIR/wandb/offline-run-*` uploads later).
- `mlflow`: `$MLFLOW_TRACKING_URI` when set, else a local store in DIR (`sqlite:///DIR/mlflow.db` where
  the installed mlflow has SQLAlchemy, else the file store `DIR/mlruns`); experiment
  `$MLFLOW_EXPERIMENT_NAME` or "stilt".

DIR is `--tracking-dir` (default: `tracking/` beside the output checkpoint). A resumed run continues the
TensorBoard run and the train log; in wandb and MLflow it is a new run of the same name. Every run is named after its
output directory and logs the resolved config as its parameters. Only rank 0 reports (the stage builds no
tracker on other ranks). A reporter whose package is missing is refused before anything loads
(`check_installed`): one line naming the package, exit 1.
"""

from __future__ import annotations

import importlib.util
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stilt_cli.core.errors import DataError, UsageError, comma_list
from stilt_cli.core.training import trainlog

REPORTERS = ("none", "tensorboard", "wandb", "mlflow")
# reporter -> (module that must import, what to pip install)
PACKAGES = {"tensorboard": ("tensorboard", "tensorboard"), "wandb": ("wandb", "wandb"),
            "mlflow": ("mlflow", "mlflow-skinny")}


def parse(values: list[str] | str | None) -> list[str]:
    """`--report-to` (repeatable, each a comma list) -> the reporters, in order; [] for none."""
    given = [values] if isinstance(values, str) else list(values or [])
    names: list[str] = []
    for value in given:
        names += comma_list(value, "--report-to", choices=REPORTERS, what="--report-to", all_word=None) or []
    names = list(dict.fromkeys(names))
    if "none" in names and len(names) > 1:
        raise UsageError(f"--report-to none cannot be combined with {', '.join(n for n in names if n != 'none')}",
                         "give none alone, or only the trackers to report to")
    return [n for n in names if n != "none"]


def check_installed(names: list[str]) -> None:
    """Refuse a reporter whose library is missing: one line naming the package (exit 1)."""
    for name in names:
        module, package = PACKAGES[name]
        if importlib.util.find_spec(module) is None:
            raise DataError(f"--report-to {name} needs the {package} package, which is not installed",
                            f"pip install {package} (or pip install 'stilt[tracking]' for every tracker)")


def flat_params(config: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """The resolved config as one flat table of parameters (`tasks.xnli.batch_size`), without the
    layer each value came from (the manifest keeps that)."""
    out: dict[str, Any] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        else:
            out[prefix] = ",".join(map(str, value)) if isinstance(value, (list, tuple)) else value

    walk("", {k: v for k, v in config.items() if k != "sources"})
    walk("stilt", extra)
    return out


def metrics_of(row: dict[str, Any], multitask: bool) -> dict[str, float]:
    """A train-log row as tracker metrics (train/…, dev/…), the values that are numbers only."""
    metrics = {f"train/{key}": row.get(key) for key in ("loss", "lr", "grad_norm", "examples_per_s")}
    if multitask:
        metrics[f"train/loss/{row['task']}"] = row.get("loss")
    for task, value in (row.get("dev") or {}).items():
        metrics[f"dev/{task}"] = value
    if "dev_mean" in row:
        metrics["dev/mean"] = row["dev_mean"]
    return {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float)) and v == v
            and abs(v) != float("inf")}


@dataclass
class RunInfo:
    name: str  # the output directory's name
    directory: Path  # --tracking-dir
    params: dict[str, Any]
    tags: dict[str, str] = field(default_factory=dict)


class TensorBoard:
    def __init__(self, run: RunInfo):
        self.run, self.writer = run, None

    def open(self, step: int) -> None:
        from torch.utils.tensorboard import SummaryWriter

        folder = self.run.directory / "tensorboard" / self.run.name
        # purge_step: a resumed run drops the events a previous attempt wrote after the saved state
        self.writer = SummaryWriter(log_dir=str(folder), purge_step=step + 1 if step else None)
        self.writer.add_text("config", "```json\n" + json.dumps(self.run.params, indent=2, default=str) + "\n```", 0)

    def log(self, step: int, metrics: dict[str, float]) -> None:
        for key, value in metrics.items():
            self.writer.add_scalar(key, value, step)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


class WandB:
    def __init__(self, run: RunInfo):
        self.run, self.handle = run, None

    def open(self, step: int) -> None:
        os.environ.setdefault("WANDB_SILENT", "true")  # its banners would go to stdout, which carries data only
        import wandb

        self.run.directory.mkdir(parents=True, exist_ok=True)
        try:
            self.handle = wandb.init(project=os.environ.get("WANDB_PROJECT", "stilt"), name=self.run.name,
                                     dir=str(self.run.directory), config=self.run.params,
                                     mode=os.environ.get("WANDB_MODE", "offline"),
                                     tags=[f"{k}={v}" for k, v in self.run.tags.items()],
                                     settings=wandb.Settings(silent=True, console="off"))
        except Exception as exc:  # wandb's own errors (no API key online, a bad mode) are one line here
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise DataError(f"--report-to wandb: wandb.init failed: {first}",
                            "set WANDB_MODE=offline, or log in with `wandb login`") from None

    def log(self, step: int, metrics: dict[str, float]) -> None:
        self.handle.log(metrics, step=step)

    def close(self) -> None:
        if self.handle is not None:
            self.handle.finish()


def mlflow_uri(directory: Path) -> str:
    """The tracking URI: $MLFLOW_TRACKING_URI, else a local store the installed mlflow supports."""
    if os.environ.get("MLFLOW_TRACKING_URI"):
        return os.environ["MLFLOW_TRACKING_URI"]
    if importlib.util.find_spec("sqlalchemy") and importlib.util.find_spec("alembic"):
        return f"sqlite:///{(directory / 'mlflow.db').resolve()}"
    # mlflow-skinny has no database backend; its file store now needs an explicit opt-in
    os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    return (directory / "mlruns").resolve().as_uri()


class MLflow:
    def __init__(self, run: RunInfo):
        self.run, self.client, self.run_id = run, None, None

    def open(self, step: int) -> None:
        from mlflow.tracking import MlflowClient

        self.run.directory.mkdir(parents=True, exist_ok=True)
        self.client = MlflowClient(tracking_uri=mlflow_uri(self.run.directory))
        name = os.environ.get("MLFLOW_EXPERIMENT_NAME", "stilt")
        experiment = self.client.get_experiment_by_name(name)
        experiment_id = experiment.experiment_id if experiment else self.client.create_experiment(name)
        created = self.client.create_run(experiment_id, run_name=self.run.name, tags=self.run.tags)
        self.run_id = created.info.run_id
        from mlflow.entities import Param

        params = [Param(k, str(v)) for k, v in self.run.params.items()]
        for start in range(0, len(params), 100):  # the REST API takes at most 100 params a batch
            self.client.log_batch(self.run_id, params=params[start:start + 100])

    def log(self, step: int, metrics: dict[str, float]) -> None:
        import time

        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        self.client.log_batch(self.run_id, metrics=[Metric(k, v, now, step) for k, v in metrics.items()])

    def close(self) -> None:
        if self.client is not None and self.run_id is not None:
            self.client.set_terminated(self.run_id)


_CLASSES = {"tensorboard": TensorBoard, "wandb": WandB, "mlflow": MLflow}


class Tracker:
    """The train log plus the chosen reporters; `start(step)` once the loop knows where it starts."""

    def __init__(self, log_path: Path, reporters: list[str], run: RunInfo, multitask: bool = False):
        self.train_log = trainlog.Writer(log_path)
        self.reporters = [_CLASSES[name](run) for name in reporters]
        self.multitask = multitask

    def start(self, step: int) -> None:
        self.train_log.start(step)
        for reporter in self.reporters:
            reporter.open(step)

    def log(self, row: dict[str, Any]) -> None:
        self.train_log.log(row)
        metrics = metrics_of(row, self.multitask)
        for reporter in self.reporters:
            reporter.log(row["step"], metrics)

    def close(self) -> None:
        """Idempotent: the stage closes the tracker before renaming OUT.partial, its exit stack again."""
        self.train_log.close()
        reporters, self.reporters = self.reporters, []
        for reporter in reporters:
            reporter.close()

    def __enter__(self) -> Tracker:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
